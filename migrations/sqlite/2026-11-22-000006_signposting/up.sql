-- Ending treatment and onward support: the service directory administrators keep per area,
-- the signpostings of a referral to those services, the record that no onward support is
-- needed, and the practitioner's end-of-treatment summary for the responsible officer.

CREATE TABLE directory_services (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    service_type TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    website TEXT,
    address TEXT,
    active BOOLEAN NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE directory_service_areas (
    service_id TEXT NOT NULL REFERENCES directory_services (id),
    area_id TEXT NOT NULL REFERENCES areas (id),
    PRIMARY KEY (service_id, area_id)
);
CREATE INDEX directory_service_areas_area ON directory_service_areas (area_id);

CREATE TABLE signpostings (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    service_id TEXT NOT NULL REFERENCES directory_services (id),
    signposted_on DATE NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    follow_up_on DATE,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX signpostings_referral ON signpostings (referral_id, signposted_on);
CREATE INDEX signpostings_follow_up ON signpostings (follow_up_on);

CREATE TABLE no_onward_support (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);

CREATE TABLE end_summaries (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    summary TEXT NOT NULL,
    written_by TEXT NOT NULL REFERENCES users (id),
    written_at TIMESTAMP NOT NULL
);
