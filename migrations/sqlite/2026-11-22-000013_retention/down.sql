DROP TABLE retention_decisions;
ALTER TABLE people DROP COLUMN erased_at;
ALTER TABLE referrals DROP COLUMN erased_by;
ALTER TABLE referrals DROP COLUMN erased_at;
ALTER TABLE referrals DROP COLUMN retention_review_on;
