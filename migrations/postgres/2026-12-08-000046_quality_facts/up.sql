-- The data-quality page, kept as records change (`quality::upkeep`) rather than read from
-- every referral and person on each view.
--
-- One row per referral not erased: which of the fields the partnership may require apply to
-- it and which of those are missing (one bit per field, `quality::Field::bit`), and which
-- identifiers break their format (1 PNC ID, 2 CRN). The organisation is that of the user who
-- made the referral.
CREATE TABLE quality_facts (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    reference TEXT NOT NULL,
    area_id TEXT NOT NULL REFERENCES areas (id),
    organisation_id TEXT NOT NULL,
    month DATE NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id),
    applies INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    bad INTEGER NOT NULL
);
-- The records that break a standard whatever is required, in each area in reference order:
-- the page lists the first of them without reading the rest.
CREATE INDEX quality_facts_findings ON quality_facts (area_id, reference) WHERE missing <> 0 OR bad <> 0;
-- Every record of an area, for an area taken off the list (all of them are to fix).
CREATE INDEX quality_facts_area ON quality_facts (area_id, reference);
CREATE INDEX quality_facts_person ON quality_facts (person_id);

-- The same rows counted: per area, organisation and kind (which fields apply, which are
-- missing, which are malformed), for all time, and per month of referral.
CREATE TABLE quality_counts (
    area_id TEXT NOT NULL REFERENCES areas (id),
    organisation_id TEXT NOT NULL,
    applies INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    bad INTEGER NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (area_id, organisation_id, applies, missing, bad)
);
CREATE TABLE quality_month_counts (
    month DATE NOT NULL,
    area_id TEXT NOT NULL REFERENCES areas (id),
    organisation_id TEXT NOT NULL,
    applies INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    bad INTEGER NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (month, area_id, organisation_id, applies, missing, bad)
);

-- People who share a PNC ID or CRN with another person recorded with a different date of
-- birth, with the identifiers and date of birth they held when last checked (so a change can
-- check again everyone who shared them, and a view compares them without reading people).
-- Candidates only: the page compares the records in the viewer's scope.
CREATE TABLE quality_conflicts (
    person_id TEXT PRIMARY KEY NOT NULL REFERENCES people (id),
    pnc_id TEXT,
    crn TEXT,
    date_of_birth DATE NOT NULL
);
