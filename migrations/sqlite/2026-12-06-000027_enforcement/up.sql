-- Attendance in the national probation vocabulary: an acceptable absence keeps its reason,
-- an absence awaiting evidence its deadline (after which it becomes unacceptable).
ALTER TABLE treatment_sessions ADD COLUMN absence_reason TEXT;
ALTER TABLE treatment_sessions ADD COLUMN evidence_due DATE;
CREATE INDEX treatment_sessions_evidence_due ON treatment_sessions (evidence_due)
    WHERE outcome = 'awaiting_evidence';

-- One enforcement review per unacceptable failure: the responsible officer gives a warning
-- (dated) or starts breach action. A failure within 12 months of a warning is flagged: the
-- law then asks for breach action. Reviews flagged under the earlier rule (a second absence
-- within 12 months of the first) keep that first absence.
CREATE TABLE enforcement_reviews_new (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    area_id TEXT NOT NULL REFERENCES areas (id),
    session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    earlier_session_id TEXT REFERENCES treatment_sessions (id),
    after_warning_id TEXT REFERENCES enforcement_reviews_new (id),
    flagged_at TIMESTAMP NOT NULL,
    decision TEXT,
    action_on DATE,
    note TEXT,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP
);
INSERT INTO enforcement_reviews_new
    (id, referral_id, area_id, session_id, earlier_session_id, flagged_at, decision, note,
     decided_by, decided_at)
SELECT id, referral_id, area_id, second_session_id, first_session_id, flagged_at, decision,
       note, decided_by, decided_at
FROM enforcement_reviews;
DROP TABLE enforcement_reviews;
ALTER TABLE enforcement_reviews_new RENAME TO enforcement_reviews;
CREATE INDEX enforcement_reviews_referral ON enforcement_reviews (referral_id);
CREATE INDEX enforcement_reviews_open ON enforcement_reviews (area_id, decided_at);
CREATE UNIQUE INDEX enforcement_reviews_session ON enforcement_reviews (session_id);

-- A recorded attendance corrected by its author or a clinical lead: the old value is kept.
CREATE TABLE attendance_corrections (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    old_outcome TEXT NOT NULL,
    old_absence_reason TEXT,
    new_outcome TEXT NOT NULL,
    new_absence_reason TEXT,
    reason TEXT,
    corrected_by TEXT NOT NULL REFERENCES users (id),
    corrected_at TIMESTAMP NOT NULL
);
CREATE INDEX attendance_corrections_session ON attendance_corrections (session_id);
