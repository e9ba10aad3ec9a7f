-- The list of whole areas (a clinical lead's) in its default order, newest first or oldest
-- first, read from the index alone. The list asks for the referrals of the lead's areas in
-- the tab's statuses, ordered by submission, a page at a time. With the submission time and
-- the id in the index, each area and status is a range already in that order: SQLite takes
-- the first page from the ranges without visiting the referrals themselves or sorting the
-- rest (BENCHMARKS.md, eighth run: the "Ended" tab of nine areas, 909,304 referrals, went
-- from 2.5 s to 0.2 s), and PostgreSQL can answer it with an index-only scan. The index
-- still serves everything the narrower one did (its leading columns are the same).
DROP INDEX referrals_area_status;
CREATE INDEX referrals_area_status ON referrals (area_id, status, submitted_at, id);
