-- The import's map of source ids is written a row per source row (a million in one import) and
-- read only by source system, when a run loads what earlier runs imported. It becomes one
-- B-tree keyed by (source_system, kind, source_id), WITHOUT ROWID, instead of four: the row,
-- its primary key, and indexes on batch_id and (target_table, target_id) that no query used.
-- (import_batches rows are never deleted, so the foreign key needs no index on batch_id.)
CREATE TABLE import_rows_compact (
    source_system TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    batch_id TEXT NOT NULL REFERENCES import_batches (id),
    target_table TEXT NOT NULL,
    target_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (source_system, kind, source_id)
) WITHOUT ROWID;
INSERT INTO import_rows_compact
    SELECT source_system, kind, source_id, batch_id, target_table, target_id, outcome
    FROM import_rows;
DROP TABLE import_rows;
ALTER TABLE import_rows_compact RENAME TO import_rows;
