-- The hourly search for booked sessions past with no outcome, whose officer has not been
-- told (sessions::unrecorded::tell_officers): without this it read every session on the
-- database inside a write transaction (13 s at eight million sessions, holding back every
-- write, sign-ins included). Partial on the two IS NULL conditions, which the query states
-- literally, so it holds only sessions still to be recorded.
CREATE INDEX treatment_sessions_unrecorded ON treatment_sessions (status, starts_at)
    WHERE outcome IS NULL AND unrecorded_notified_at IS NULL;
