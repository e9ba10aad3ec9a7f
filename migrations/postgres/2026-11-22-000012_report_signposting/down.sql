ALTER TABLE report_facts DROP COLUMN signposted_types;
