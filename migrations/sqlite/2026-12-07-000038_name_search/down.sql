DROP INDEX people_merged_into;
DROP TRIGGER people_names_delete;
DROP TRIGGER people_names_update;
DROP TRIGGER people_names_insert;
DROP TABLE people_names;
DROP TABLE people_name_keys;
