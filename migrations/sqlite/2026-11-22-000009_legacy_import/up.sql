-- Imports from a legacy case system. A batch is one run of `mhtr-pathway import` (or the admin
-- page); every source row it accepted is mapped to the record it became (or the existing
-- person it was merged into), keyed by source system, file kind and source id, so a second run
-- imports nothing twice and a resumed run carries on where the committed batches stopped.
CREATE TABLE import_batches (
    id TEXT PRIMARY KEY NOT NULL,
    source_system TEXT NOT NULL,
    mapping TEXT NOT NULL,
    checksum TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    summary TEXT NOT NULL
);

CREATE TABLE import_rows (
    source_system TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    batch_id TEXT NOT NULL REFERENCES import_batches (id),
    target_table TEXT NOT NULL,
    target_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (source_system, kind, source_id)
);

CREATE INDEX import_rows_batch ON import_rows (batch_id);
CREATE INDEX import_rows_target ON import_rows (target_table, target_id);
