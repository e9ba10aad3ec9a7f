-- The uptake report's inputs' version: one counter, moved on by every write to a table the
-- report reads, in the same transaction as the write. A report built in one read snapshot
-- with the version read in it is the report for that version, so it may be kept and
-- shown again while the version stands (reports::cache): every figure still equals a
-- recount, because any write that could change one moves the version on. (Of users and
-- areas, only the columns the report reads: a sign-in does not move it.)
--
-- On PostgreSQL the counter is moved by a deferred constraint trigger, once a transaction
-- (a transaction-local setting remembers it), at commit: its row lock is then the last a
-- transaction takes, so writers never wait on it while holding another lock (no deadlock),
-- and a large import moves it once.
CREATE TABLE report_version (
    id INTEGER PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);
-- It starts at a random number, so two databases (say, two test databases in one process)
-- are never at the same version.
INSERT INTO report_version (id, version) VALUES (1, floor(random() * 1e12)::bigint);
CREATE FUNCTION report_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('mhtr.report_version_moved', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('mhtr.report_version_moved', 'yes', true);
    UPDATE report_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER report_facts_report_version AFTER INSERT OR UPDATE OR DELETE ON report_facts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER report_cube_report_version AFTER INSERT OR UPDATE OR DELETE ON report_cube DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER report_cube_waits_report_version AFTER INSERT OR UPDATE OR DELETE ON report_cube_waits DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER report_area_months_report_version AFTER INSERT OR UPDATE OR DELETE ON report_area_months DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER reminders_report_version AFTER INSERT OR UPDATE OR DELETE ON reminders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER treatment_sessions_report_version AFTER INSERT OR UPDATE OR DELETE ON treatment_sessions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER users_report_version AFTER INSERT OR UPDATE OF role, created_at, disabled_at OR DELETE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER user_areas_report_version AFTER INSERT OR UPDATE OR DELETE ON user_areas DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER practitioner_capacity_history_report_version AFTER INSERT OR UPDATE OR DELETE ON practitioner_capacity_history DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER practitioner_leave_report_version AFTER INSERT OR UPDATE OR DELETE ON practitioner_leave DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER service_closures_report_version AFTER INSERT OR UPDATE OR DELETE ON service_closures DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER area_populations_report_version AFTER INSERT OR UPDATE OR DELETE ON area_populations DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
CREATE CONSTRAINT TRIGGER areas_report_version AFTER INSERT OR UPDATE OF name, active OR DELETE ON areas DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
