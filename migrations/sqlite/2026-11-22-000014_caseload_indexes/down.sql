DROP INDEX referrals_created_by_status;
DROP INDEX referrals_ro_status;
DROP INDEX referrals_assessor_status;
DROP INDEX referrals_ap_status;
CREATE INDEX referrals_created_by ON referrals (created_by);
CREATE INDEX referrals_ro ON referrals (responsible_officer_id);
CREATE INDEX referrals_assessor ON referrals (assessor_id);
CREATE INDEX referrals_ap ON referrals (allocated_ap_id);
