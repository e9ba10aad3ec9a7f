-- The uptake report's inputs' version: one counter, moved on by every write to a table the
-- report reads, in the same transaction as the write. A report built in one read snapshot
-- with the version read in it is the report for that version, so it may be kept and
-- shown again while the version stands (reports::cache): every figure still equals a
-- recount, because any write that could change one moves the version on. (Of users and
-- areas, only the columns the report reads: a sign-in does not move it.)
CREATE TABLE report_version (
    id INTEGER PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);
-- It starts at a random number, so two databases (say, two test databases in one process)
-- are never at the same version.
INSERT INTO report_version (id, version) VALUES (1, abs(random() % 1000000000000));
CREATE TRIGGER report_facts_report_version_insert AFTER INSERT ON report_facts BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_facts_report_version_update AFTER UPDATE ON report_facts BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_facts_report_version_delete AFTER DELETE ON report_facts BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_cube_report_version_insert AFTER INSERT ON report_cube BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_cube_report_version_update AFTER UPDATE ON report_cube BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_cube_report_version_delete AFTER DELETE ON report_cube BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_cube_waits_report_version_insert AFTER INSERT ON report_cube_waits BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_cube_waits_report_version_update AFTER UPDATE ON report_cube_waits BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_cube_waits_report_version_delete AFTER DELETE ON report_cube_waits BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_area_months_report_version_insert AFTER INSERT ON report_area_months BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_area_months_report_version_update AFTER UPDATE ON report_area_months BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER report_area_months_report_version_delete AFTER DELETE ON report_area_months BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER reminders_report_version_insert AFTER INSERT ON reminders BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER reminders_report_version_update AFTER UPDATE ON reminders BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER reminders_report_version_delete AFTER DELETE ON reminders BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER treatment_sessions_report_version_insert AFTER INSERT ON treatment_sessions BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER treatment_sessions_report_version_update AFTER UPDATE ON treatment_sessions BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER treatment_sessions_report_version_delete AFTER DELETE ON treatment_sessions BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_report_version_insert AFTER INSERT ON users BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_report_version_update AFTER UPDATE OF role, created_at, disabled_at ON users BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_report_version_delete AFTER DELETE ON users BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_areas_report_version_insert AFTER INSERT ON user_areas BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_areas_report_version_update AFTER UPDATE ON user_areas BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_areas_report_version_delete AFTER DELETE ON user_areas BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practitioner_capacity_history_report_version_insert AFTER INSERT ON practitioner_capacity_history BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practitioner_capacity_history_report_version_update AFTER UPDATE ON practitioner_capacity_history BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practitioner_capacity_history_report_version_delete AFTER DELETE ON practitioner_capacity_history BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practitioner_leave_report_version_insert AFTER INSERT ON practitioner_leave BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practitioner_leave_report_version_update AFTER UPDATE ON practitioner_leave BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER practitioner_leave_report_version_delete AFTER DELETE ON practitioner_leave BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_closures_report_version_insert AFTER INSERT ON service_closures BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_closures_report_version_update AFTER UPDATE ON service_closures BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_closures_report_version_delete AFTER DELETE ON service_closures BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER area_populations_report_version_insert AFTER INSERT ON area_populations BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER area_populations_report_version_update AFTER UPDATE ON area_populations BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER area_populations_report_version_delete AFTER DELETE ON area_populations BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER areas_report_version_insert AFTER INSERT ON areas BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER areas_report_version_update AFTER UPDATE OF name, active ON areas BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER areas_report_version_delete AFTER DELETE ON areas BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
