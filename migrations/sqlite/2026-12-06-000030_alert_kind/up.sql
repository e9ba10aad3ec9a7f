-- Why a risk alert was raised: a risk item answered above zero, or a reliable deterioration
-- on an outcome measure during treatment.
ALTER TABLE risk_alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'risk_item';
