ALTER TABLE treatment_sessions DROP COLUMN unrecorded_notified_at;
