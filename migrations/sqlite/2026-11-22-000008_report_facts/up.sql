-- Reporting facts: one row per referral with the milestones, counts and measures the uptake
-- report counts, kept up to date in the transaction of every change to the referral, and
-- treatment sessions counted per area and month (each referral's share kept so a change
-- moves the counters by exactly its difference). Reports read these, never person-level
-- tables, and a recount from the source tables must always give the same figures.
CREATE TABLE report_facts (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    area_id TEXT NOT NULL REFERENCES areas (id),
    entry_point TEXT NOT NULL,
    status TEXT NOT NULL,
    referred_on DATE NOT NULL,
    sex TEXT NOT NULL,
    ethnic_group TEXT,
    age_band TEXT NOT NULL,
    screened_on DATE,
    accepted BOOLEAN NOT NULL,
    assessed_on DATE,
    suitable BOOLEAN NOT NULL,
    consented_on DATE,
    sentenced_on DATE,
    order_made BOOLEAN NOT NULL,
    combined_with TEXT,
    first_session_on DATE,
    ended_on DATE,
    end_outcome TEXT,
    end_reason TEXT,
    withdrawn BOOLEAN NOT NULL,
    sessions_attended INTEGER NOT NULL,
    sessions_missed INTEGER NOT NULL,
    phq9_first INTEGER,
    phq9_last INTEGER,
    gad7_first INTEGER,
    gad7_last INTEGER,
    core10_first INTEGER,
    core10_last INTEGER
);
CREATE INDEX report_facts_referred ON report_facts (referred_on, area_id);
CREATE INDEX report_facts_area ON report_facts (area_id, referred_on);

-- A referral's sessions in one month: booked (live appointments), delivered (attended) and
-- missed (absences).
CREATE TABLE report_referral_months (
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    month DATE NOT NULL,
    area_id TEXT NOT NULL REFERENCES areas (id),
    booked INTEGER NOT NULL,
    delivered INTEGER NOT NULL,
    missed INTEGER NOT NULL,
    PRIMARY KEY (referral_id, month)
);

CREATE TABLE report_area_months (
    area_id TEXT NOT NULL REFERENCES areas (id),
    month DATE NOT NULL,
    booked INTEGER NOT NULL,
    delivered INTEGER NOT NULL,
    missed INTEGER NOT NULL,
    PRIMARY KEY (area_id, month)
);
