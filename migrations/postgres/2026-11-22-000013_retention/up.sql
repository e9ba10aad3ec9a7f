-- The retention policy: each closed referral is reviewed some years after it closed (see
-- [retention] in the configuration). A review keeps the record until a next review date or
-- erases the person's data; the decisions are kept here, the next review date and the
-- erasure on the referral (and on the person once none of their referrals is left).
ALTER TABLE referrals ADD COLUMN retention_review_on DATE;
ALTER TABLE referrals ADD COLUMN erased_at TIMESTAMP;
ALTER TABLE referrals ADD COLUMN erased_by TEXT REFERENCES users (id);
ALTER TABLE people ADD COLUMN erased_at TIMESTAMP;

CREATE TABLE retention_decisions (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    next_review_on DATE,
    decided_by TEXT NOT NULL REFERENCES users (id),
    decided_at TIMESTAMP NOT NULL
);
CREATE INDEX retention_decisions_referral ON retention_decisions (referral_id, decided_at);
