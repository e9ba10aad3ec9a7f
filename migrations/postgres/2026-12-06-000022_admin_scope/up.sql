-- Administrators are scoped to their organisation and areas like everyone else; a
-- service-wide administrator (every organisation and area) is made only on the command line.
ALTER TABLE users ADD COLUMN service_wide BOOLEAN NOT NULL DEFAULT FALSE;
-- Administrators made before this are scoped from now on: a service-wide one is named with
-- `mhtr-pathway user service-wide --email ...` (docs: SECURITY.md, Administrators).
-- A new intake mailbox takes mail only once someone at that address confirms it.
ALTER TABLE areas ADD COLUMN pending_intake_email TEXT;
ALTER TABLE areas ADD COLUMN pending_intake_token_hash TEXT;
ALTER TABLE areas ADD COLUMN pending_intake_expires_at TIMESTAMP;
