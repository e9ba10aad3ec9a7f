DROP INDEX referrals_retention_review;
DROP INDEX referrals_retention_due;
ALTER TABLE referrals DROP COLUMN closed_at;
