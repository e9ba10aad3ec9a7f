-- The responsible officer may withdraw a warning or breach action they recorded (for
-- example, when the failure behind it was corrected): the decision is kept, with who
-- withdrew it, when and why, and a withdrawn warning no longer counts for the 12 months.
ALTER TABLE enforcement_reviews ADD COLUMN withdrawn_at TIMESTAMP;
ALTER TABLE enforcement_reviews ADD COLUMN withdrawn_by TEXT;
ALTER TABLE enforcement_reviews ADD COLUMN withdrawn_reason TEXT;
