CREATE TABLE import_rows_rowid (
    source_system TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    batch_id TEXT NOT NULL REFERENCES import_batches (id),
    target_table TEXT NOT NULL,
    target_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (source_system, kind, source_id)
);
INSERT INTO import_rows_rowid
    SELECT source_system, kind, source_id, batch_id, target_table, target_id, outcome
    FROM import_rows;
DROP TABLE import_rows;
ALTER TABLE import_rows_rowid RENAME TO import_rows;
CREATE INDEX import_rows_batch ON import_rows (batch_id);
CREATE INDEX import_rows_target ON import_rows (target_table, target_id);
