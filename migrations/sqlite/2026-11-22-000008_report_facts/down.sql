DROP TABLE report_area_months;
DROP TABLE report_referral_months;
DROP TABLE report_facts;
