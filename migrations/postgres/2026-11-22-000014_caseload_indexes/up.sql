-- Caseloads: a probation officer's referrals (made by them, or theirs as responsible
-- officer) and a practitioner's (assessing or allocated), by status and newest first, read
-- from the index alone instead of every referral of the area. They replace the one-column
-- indexes on the same people.
DROP INDEX referrals_created_by;
DROP INDEX referrals_ro;
DROP INDEX referrals_assessor;
DROP INDEX referrals_ap;
CREATE INDEX referrals_created_by_status ON referrals (created_by, status, submitted_at);
CREATE INDEX referrals_ro_status ON referrals (responsible_officer_id, status, submitted_at);
CREATE INDEX referrals_assessor_status ON referrals (assessor_id, status, submitted_at);
CREATE INDEX referrals_ap_status ON referrals (allocated_ap_id, status, submitted_at);
