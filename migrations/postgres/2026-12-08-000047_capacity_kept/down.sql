DROP TABLE capacity_waiting;
DROP TABLE capacity_weeks;
DROP TABLE capacity_referral_weeks;
