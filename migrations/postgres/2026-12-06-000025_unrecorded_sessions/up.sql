-- When the responsible officer was told that a session past its time has no recorded
-- outcome (once per session; set in the same transaction as the email is queued).
ALTER TABLE treatment_sessions ADD COLUMN unrecorded_notified_at TIMESTAMP;
