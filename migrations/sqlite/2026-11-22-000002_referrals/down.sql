DROP TABLE referral_drafts;
DROP TABLE person_merges;
DROP TABLE referral_amendments;
DROP TABLE referral_status_history;
DROP TABLE referrals;
DROP TABLE people;
