ALTER TABLE person_merges DROP COLUMN contact_moved;
