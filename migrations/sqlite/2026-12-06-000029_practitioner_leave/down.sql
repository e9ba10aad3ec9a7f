DROP TABLE practitioner_leave;
