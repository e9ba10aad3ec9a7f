ALTER TABLE enforcement_reviews DROP COLUMN withdrawn_reason;
ALTER TABLE enforcement_reviews DROP COLUMN withdrawn_by;
ALTER TABLE enforcement_reviews DROP COLUMN withdrawn_at;
