DROP INDEX referrals_area_status;
CREATE INDEX referrals_area_status ON referrals (area_id, status);
