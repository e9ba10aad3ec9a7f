-- The uptake report's aggregates, kept in the transaction of every change to a referral's
-- facts: for each area and cohort month (the month the referral was made), every count the
-- report adds up (`indicator`, `n`), and exact histograms of the waits in days, so medians
-- and percentiles stay exact. A report reads a few thousand of these rows instead of every
-- referral; a recount from the facts must always give the same figures.
CREATE TABLE report_cube (
    area_id TEXT NOT NULL REFERENCES areas (id),
    month DATE NOT NULL,
    indicator TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (area_id, month, indicator)
);
CREATE INDEX report_cube_indicator ON report_cube (indicator, area_id);

CREATE TABLE report_cube_waits (
    area_id TEXT NOT NULL REFERENCES areas (id),
    month DATE NOT NULL,
    kind INTEGER NOT NULL,
    days INTEGER NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (area_id, month, kind, days)
);
