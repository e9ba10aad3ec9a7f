-- Each assistant psychologist's weekly sessions and working days from the day they were set,
-- so the capacity of a past period is worked out from the pattern in force then. A pattern
-- set before this history began counts from the day it was last changed; before any, the
-- service's default applied (15 sessions, Monday to Friday).
CREATE TABLE practitioner_capacity_history (
    user_id TEXT NOT NULL REFERENCES users(id),
    effective_from DATE NOT NULL,
    sessions_per_week INTEGER NOT NULL,
    working_days TEXT NOT NULL,
    PRIMARY KEY (user_id, effective_from)
);
INSERT INTO practitioner_capacity_history (user_id, effective_from, sessions_per_week, working_days)
SELECT user_id, date(updated_at), sessions_per_week, working_days FROM practitioner_capacity;
