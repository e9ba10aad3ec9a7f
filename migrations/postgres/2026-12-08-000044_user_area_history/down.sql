DROP TRIGGER user_area_history_report_version ON user_area_history;
DROP TABLE user_area_history;
