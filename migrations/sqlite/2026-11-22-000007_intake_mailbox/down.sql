DROP TABLE weekly_digests;
ALTER TABLE areas DROP COLUMN intake_email;
