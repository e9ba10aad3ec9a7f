-- The audit chain's head (how many entries, and the newest one's hash), kept apart from the
-- log and moved in the same transaction as every append: deleting the newest entries leaves
-- the chain itself valid, but no longer ending where the head says (`audit verify`).
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
INSERT INTO audit_head (id, seq, hash, at)
SELECT 1, seq, hash, at FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events);
