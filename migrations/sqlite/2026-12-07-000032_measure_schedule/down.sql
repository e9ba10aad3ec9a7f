ALTER TABLE session_plans DROP COLUMN measures;
