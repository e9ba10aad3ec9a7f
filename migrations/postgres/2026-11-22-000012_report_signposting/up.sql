-- The service types a referral was signposted onward to (sorted, distinct, comma-separated
-- codes; empty for none), so the uptake report can count signposting by service type from
-- the facts alone. Facts of referrals already signposted are dropped here and recomputed by
-- the backfill that runs after migrations.
ALTER TABLE report_facts ADD COLUMN signposted_types TEXT NOT NULL DEFAULT '';
DELETE FROM report_facts WHERE referral_id IN (SELECT referral_id FROM signpostings);
