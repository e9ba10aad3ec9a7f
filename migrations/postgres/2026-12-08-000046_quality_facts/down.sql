DROP TABLE quality_conflicts;
DROP TABLE quality_month_counts;
DROP TABLE quality_counts;
DROP TABLE quality_facts;
