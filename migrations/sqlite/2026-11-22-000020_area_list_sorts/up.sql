-- The list of whole areas (a clinical lead's) in its other orders, read from an index alone as
-- the default order is (migration 000018): by last update, by reference, and urgent first.
-- Each area and status is then a range of the index already in the order asked for, so the
-- database reads the sort keys and ids from the index instead of visiting every referral of
-- the lead's areas in the tab's statuses (BENCHMARKS.md, eighth run: a lead's Ended tab of
-- 909,304 referrals took 2.4-2.8 s sorted these ways).
CREATE INDEX referrals_area_status_updated ON referrals (area_id, status, updated_at, id);
CREATE INDEX referrals_area_status_reference ON referrals (area_id, status, reference, id);
CREATE INDEX referrals_area_status_urgency ON referrals (area_id, status, urgency, submitted_at, id);
