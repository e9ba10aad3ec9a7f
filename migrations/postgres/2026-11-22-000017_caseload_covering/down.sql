DROP INDEX referrals_created_by_status;
DROP INDEX referrals_ro_status;
DROP INDEX referrals_assessor_status;
DROP INDEX referrals_ap_status;
CREATE INDEX referrals_created_by_status ON referrals (created_by, status, submitted_at);
CREATE INDEX referrals_ro_status ON referrals (responsible_officer_id, status, submitted_at);
CREATE INDEX referrals_assessor_status ON referrals (assessor_id, status, submitted_at);
CREATE INDEX referrals_ap_status ON referrals (allocated_ap_id, status, submitted_at);
