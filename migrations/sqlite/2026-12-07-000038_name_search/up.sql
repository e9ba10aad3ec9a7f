-- Name search served by an index at any size: each person's names as one lower-case text,
-- " given family / family given ", in a full-text table with the trigram tokenizer, so a
-- search for any part of a name (three characters or more, or a whole word of one or two
-- padded with spaces) reads the index instead of comparing every person. The text is
-- found under the person whose referrals it leads to: a record merged into another leads
-- to the one it was merged into, so either record's name finds the merged referrals.
-- Triggers keep it in step with every write to people (new records, amendments, merges
-- and their undoing, erasure's blanking, imports), and 'secure-delete' makes an erased or
-- amended name leave nothing behind in the index.
--
-- The full-text table's row ids come from `people_name_keys`, whose key is an INTEGER
-- PRIMARY KEY: a VACUUM may renumber the people table's own row ids, but not these.
CREATE TABLE people_name_keys (
    key INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE people_names USING fts5(name, person_id UNINDEXED, tokenize = 'trigram');
INSERT INTO people_names (people_names, rank) VALUES ('secure-delete', 1);

INSERT INTO people_name_keys (person_id) SELECT id FROM people;
INSERT INTO people_names (rowid, name, person_id)
SELECT k.key,
       ' ' || lower(p.given_name || ' ' || p.family_name) || ' / '
           || lower(p.family_name || ' ' || p.given_name) || ' ',
       coalesce(p.merged_into_id, p.id)
FROM people p JOIN people_name_keys k ON k.person_id = p.id;

CREATE TRIGGER people_names_insert AFTER INSERT ON people BEGIN
    INSERT INTO people_name_keys (person_id) VALUES (new.id);
    INSERT INTO people_names (rowid, name, person_id)
    VALUES ((SELECT key FROM people_name_keys WHERE person_id = new.id),
            ' ' || lower(new.given_name || ' ' || new.family_name) || ' / '
                || lower(new.family_name || ' ' || new.given_name) || ' ',
            coalesce(new.merged_into_id, new.id));
END;

CREATE TRIGGER people_names_update AFTER UPDATE OF given_name, family_name, merged_into_id ON people BEGIN
    UPDATE people_names
    SET name = ' ' || lower(new.given_name || ' ' || new.family_name) || ' / '
                   || lower(new.family_name || ' ' || new.given_name) || ' ',
        person_id = coalesce(new.merged_into_id, new.id)
    WHERE rowid = (SELECT key FROM people_name_keys WHERE person_id = new.id);
END;

CREATE TRIGGER people_names_delete AFTER DELETE ON people BEGIN
    DELETE FROM people_names WHERE rowid = (SELECT key FROM people_name_keys WHERE person_id = old.id);
    DELETE FROM people_name_keys WHERE person_id = old.id;
END;

-- The records merged into a person, found without reading every person.
CREATE INDEX people_merged_into ON people (merged_into_id) WHERE merged_into_id IS NOT NULL;
