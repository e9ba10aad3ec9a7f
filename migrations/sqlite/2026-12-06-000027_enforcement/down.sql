DROP TABLE attendance_corrections;
CREATE TABLE enforcement_reviews_old (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    area_id TEXT NOT NULL REFERENCES areas (id),
    first_session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    second_session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    flagged_at TIMESTAMP NOT NULL,
    decision TEXT,
    note TEXT,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP
);
INSERT INTO enforcement_reviews_old
SELECT id, referral_id, area_id, COALESCE(earlier_session_id, session_id), session_id,
       flagged_at, decision, note, decided_by, decided_at
FROM enforcement_reviews;
DROP TABLE enforcement_reviews;
ALTER TABLE enforcement_reviews_old RENAME TO enforcement_reviews;
CREATE INDEX enforcement_reviews_referral ON enforcement_reviews (referral_id);
CREATE INDEX enforcement_reviews_open ON enforcement_reviews (area_id, decided_at);
DROP INDEX treatment_sessions_evidence_due;
ALTER TABLE treatment_sessions DROP COLUMN evidence_due;
ALTER TABLE treatment_sessions DROP COLUMN absence_reason;
