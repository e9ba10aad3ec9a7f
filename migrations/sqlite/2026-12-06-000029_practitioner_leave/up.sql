-- A practitioner's time away: no sessions are booked on its days, and the sessions already
-- booked on them are moved or covered in one go.
CREATE TABLE practitioner_leave (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP
);
CREATE INDEX practitioner_leave_user ON practitioner_leave (user_id, starts_on);
