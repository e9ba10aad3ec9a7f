DROP INDEX treatment_sessions_referral;
CREATE INDEX treatment_sessions_referral ON treatment_sessions (referral_id, starts_at);
DROP INDEX treatment_sessions_ap;
CREATE INDEX treatment_sessions_ap ON treatment_sessions (ap_user_id, starts_at);
