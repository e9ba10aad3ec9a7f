ALTER TABLE areas DROP COLUMN pending_intake_expires_at;
ALTER TABLE areas DROP COLUMN pending_intake_token_hash;
ALTER TABLE areas DROP COLUMN pending_intake_email;
ALTER TABLE users DROP COLUMN service_wide;
