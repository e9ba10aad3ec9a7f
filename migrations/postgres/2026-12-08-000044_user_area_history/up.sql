-- Which areas each member of staff belonged to, and when: a row a spell in an area, from its
-- first day to its last (none while it lasts). The uptake report shares a practitioner's
-- capacity of a past day between the areas they belonged to that day, so last year's
-- capacity is last year's areas', not today's. Memberships held before this history began
-- count from the day the account was opened.
CREATE TABLE user_area_history (
    user_id TEXT NOT NULL REFERENCES users(id),
    area_id TEXT NOT NULL REFERENCES areas(id),
    from_date DATE NOT NULL,
    to_date DATE,
    PRIMARY KEY (user_id, area_id, from_date)
);
CREATE INDEX user_area_history_area ON user_area_history (area_id, from_date);
INSERT INTO user_area_history (user_id, area_id, from_date, to_date)
SELECT ua.user_id, ua.area_id, u.created_at::date, NULL
FROM user_areas ua JOIN users u ON u.id = ua.user_id;
CREATE CONSTRAINT TRIGGER user_area_history_report_version AFTER INSERT OR UPDATE OR DELETE ON user_area_history DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_version_bump();
