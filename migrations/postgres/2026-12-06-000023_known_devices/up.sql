-- A browser a user has completed sign-in on (password and second factor), named by a
-- long-lived cookie whose hash is kept here. On a known device only that device's own
-- failures hold an account back: failures by others at a shared address, or with made-up
-- accounts, do not lock the owner out.
CREATE TABLE known_devices (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL
);
CREATE INDEX known_devices_user ON known_devices (user_id);
-- The known device an attempt came from (its token's hash), if any.
ALTER TABLE sign_in_attempts ADD COLUMN device TEXT;
