-- Each area's adult population (18 and over) by year, from the ONS mid-year estimates, so
-- the uptake report can give rates per 100,000 adults and a small area can be compared with
-- a large one. The source is stated with every figure.
CREATE TABLE area_populations (
    area_id TEXT NOT NULL REFERENCES areas(id),
    year INTEGER NOT NULL,
    adults BIGINT NOT NULL,
    source TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (area_id, year)
);
