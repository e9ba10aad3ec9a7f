-- Whether a merge moved the merged person's contact details to the person kept (the kept
-- record had none), so that reminders still reach the person, and an undo moves them back.
ALTER TABLE person_merges ADD COLUMN contact_moved BOOLEAN NOT NULL DEFAULT FALSE;
