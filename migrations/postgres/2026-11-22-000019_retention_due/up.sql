-- The retention review queue at scale. A referral's review falls due some years after it
-- reached its final status (or on the next review date a decision to keep it set), so the
-- queue used to read every closed referral in scope and the history entry that closed each,
-- and work out in memory which were due: 20 s and more for a clinical lead or an
-- administrator with a million referrals (BENCHMARKS.md, eighth run). The time a referral
-- closed is now kept on the referral itself, set by the transition that closes it, and the
-- queue asks the database for the due ones a page at a time.
ALTER TABLE referrals ADD COLUMN closed_at TIMESTAMP;

-- A final status is reached once and never left: its one history entry dates the closure.
UPDATE referrals SET closed_at = (
    SELECT MAX(h.at) FROM referral_status_history h
    WHERE h.referral_id = referrals.id AND h.to_status = referrals.status
)
WHERE status IN ('declined', 'not_suitable', 'mhtr_not_made', 'withdrawn', 'closed');

-- Referrals waiting for their first review, by final status and closing time: the queue
-- reads each status's range in closing order (the oldest are the longest due) and filters
-- areas inside the index. Erased referrals and those a decision has kept are not in it.
CREATE INDEX referrals_retention_due ON referrals (status, closed_at, area_id)
    WHERE erased_at IS NULL AND retention_review_on IS NULL AND closed_at IS NOT NULL;
-- Referrals a decision has kept, by their next review date.
CREATE INDEX referrals_retention_review ON referrals (retention_review_on, area_id)
    WHERE erased_at IS NULL AND retention_review_on IS NOT NULL;
