-- Sessions by outcome, then the last day for evidence: absences awaiting evidence are asked
-- for on every officer's and lead's home page and by the hourly lapse of overdue ones, and
-- without this each read every session with an evidence date (a second at eight million
-- sessions: every officer's home page, and a write lock held through it each hour).
CREATE INDEX IF NOT EXISTS treatment_sessions_outcome ON treatment_sessions (outcome, evidence_due);
