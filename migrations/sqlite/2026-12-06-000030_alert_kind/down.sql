ALTER TABLE risk_alerts DROP COLUMN kind;
