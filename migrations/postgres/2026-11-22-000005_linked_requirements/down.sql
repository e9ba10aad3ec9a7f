DROP TABLE linked_activity;
DROP TABLE linked_requirements;
