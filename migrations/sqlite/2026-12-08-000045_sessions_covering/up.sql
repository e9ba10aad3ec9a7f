-- The capacity page reads this week's live bookings of every practitioner in view (a few
-- thousand at a large provider) and, for each order waiting, whether any session was
-- attended. Both asked the table row of each session for its status or outcome; with them
-- in the indexes both are answered from the indexes alone.
DROP INDEX treatment_sessions_ap;
CREATE INDEX treatment_sessions_ap ON treatment_sessions (ap_user_id, starts_at, status);
DROP INDEX treatment_sessions_referral;
CREATE INDEX treatment_sessions_referral ON treatment_sessions (referral_id, starts_at, status, outcome);
