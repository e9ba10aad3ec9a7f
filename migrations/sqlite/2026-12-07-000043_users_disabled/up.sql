-- Disabled accounts, asked for on every probation officer's case list (their referrals stay
-- in reach of the officers of their areas): without this each list read every user.
CREATE INDEX IF NOT EXISTS users_disabled ON users (disabled_at, id) WHERE disabled_at IS NOT NULL;
