-- The import's map of source ids is read only by source system, when a run loads what earlier
-- runs imported (the primary key serves it): the indexes on batch_id and (target_table,
-- target_id), which no query used, go, as each cost an index entry per source row. (SQLite also
-- stores the table WITHOUT ROWID; PostgreSQL has no such choice.)
DROP INDEX import_rows_batch;
DROP INDEX import_rows_target;
