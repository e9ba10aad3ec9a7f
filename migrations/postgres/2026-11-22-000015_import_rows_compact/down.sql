CREATE INDEX import_rows_batch ON import_rows (batch_id);
CREATE INDEX import_rows_target ON import_rows (target_table, target_id);
