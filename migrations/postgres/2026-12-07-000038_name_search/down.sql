DROP INDEX people_merged_into;
DROP VIEW people_names;
DROP INDEX people_names_trgm;
