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
SELECT ua.user_id, ua.area_id, date(u.created_at), NULL
FROM user_areas ua JOIN users u ON u.id = ua.user_id;
CREATE TRIGGER user_area_history_report_version_insert AFTER INSERT ON user_area_history BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_area_history_report_version_update AFTER UPDATE ON user_area_history BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_area_history_report_version_delete AFTER DELETE ON user_area_history BEGIN UPDATE report_version SET version = version + 1 WHERE id = 1; END;
