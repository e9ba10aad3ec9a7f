-- Session notes in versions: each change is a new version with who wrote it and when; the
-- session keeps the current text. Clinical: never shown to probation or councillors.
CREATE TABLE session_notes (
    session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    version INTEGER NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    body TEXT,
    written_by TEXT NOT NULL REFERENCES users (id),
    written_at TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, version)
);
CREATE INDEX session_notes_referral ON session_notes (referral_id);
-- The notes written so far are each one's first version.
INSERT INTO session_notes (session_id, version, referral_id, body, written_by, written_at)
SELECT id, 1, referral_id, engagement_notes, recorded_by, recorded_at
FROM treatment_sessions
WHERE engagement_notes IS NOT NULL AND recorded_by IS NOT NULL AND recorded_at IS NOT NULL;
