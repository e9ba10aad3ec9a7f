-- Name search served by an index at any size: each person's names as one lower-case text,
-- " given family / family given ", with a trigram index on it (pg_trgm, a trusted
-- extension: the database's owner may create it), so a search for any part of a name
-- (three characters or more, or a whole word of one or two padded with spaces) reads the
-- index instead of comparing every person. `people_names` is a view over people, so it
-- is in step with every write by construction (amendments, merges and their undoing,
-- erasure's blanking, imports); the text is found under the person whose referrals it
-- leads to: a record merged into another leads to the one it was merged into. (SQLite
-- keeps the same-named table with triggers and a full-text trigram index.)
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX people_names_trgm ON people USING gin (
    (' ' || lower(given_name || ' ' || family_name) || ' / '
         || lower(family_name || ' ' || given_name) || ' ') gin_trgm_ops
);
CREATE VIEW people_names AS
SELECT coalesce(merged_into_id, id) AS person_id,
       ' ' || lower(given_name || ' ' || family_name) || ' / '
           || lower(family_name || ' ' || given_name) || ' ' AS name
FROM people;

-- The records merged into a person, found without reading every person.
CREATE INDEX people_merged_into ON people (merged_into_id) WHERE merged_into_id IS NOT NULL;
