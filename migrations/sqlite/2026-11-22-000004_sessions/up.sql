-- Treatment sessions: the order's dates on the referral, assistant psychologists' capacity,
-- service closure days, the plan, the appointments and the quarter-hour blocks they hold
-- (so the database itself refuses a double booking), outcome measures, risk alerts,
-- practitioner reports, enforcement reviews, calendar feeds and timeline events.

ALTER TABLE referrals ADD COLUMN sentence_date DATE;
ALTER TABLE referrals ADD COLUMN requirement_end_date DATE;
ALTER TABLE referrals ADD COLUMN combined_with TEXT;

UPDATE referrals SET
    sentence_date = (
        SELECT json_extract(h.details, '$.sentence_date') FROM referral_status_history h
        WHERE h.referral_id = referrals.id AND h.action = 'record_mhtr_made'
        ORDER BY h.at DESC LIMIT 1),
    requirement_end_date = (
        SELECT json_extract(h.details, '$.requirement_end_date') FROM referral_status_history h
        WHERE h.referral_id = referrals.id AND h.action = 'record_mhtr_made'
        ORDER BY h.at DESC LIMIT 1),
    combined_with = (
        SELECT json_extract(h.details, '$.combined_with') FROM referral_status_history h
        WHERE h.referral_id = referrals.id AND h.action = 'record_mhtr_made'
        ORDER BY h.at DESC LIMIT 1);

CREATE TABLE practitioner_capacity (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    sessions_per_week INTEGER NOT NULL,
    working_days TEXT NOT NULL,
    updated_by TEXT REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE service_closures (
    id TEXT PRIMARY KEY NOT NULL,
    day DATE NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE session_plans (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    cadence TEXT NOT NULL,
    minutes INTEGER NOT NULL,
    mode TEXT NOT NULL,
    location TEXT,
    target_sessions INTEGER NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- starts_at is the UK wall-clock time of the appointment.
CREATE TABLE treatment_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    area_id TEXT NOT NULL REFERENCES areas (id),
    ap_user_id TEXT NOT NULL REFERENCES users (id),
    starts_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL,
    mode TEXT NOT NULL,
    location TEXT,
    status TEXT NOT NULL,
    outcome TEXT,
    engagement_notes TEXT,
    summary_for_ro TEXT,
    recorded_by TEXT REFERENCES users (id),
    recorded_at TIMESTAMP,
    change_party TEXT,
    change_reason TEXT,
    cancel_reason TEXT,
    changed_by TEXT REFERENCES users (id),
    changed_at TIMESTAMP,
    replaces_id TEXT REFERENCES treatment_sessions (id),
    added_for_id TEXT REFERENCES treatment_sessions (id),
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX treatment_sessions_referral ON treatment_sessions (referral_id, starts_at);
CREATE INDEX treatment_sessions_ap ON treatment_sessions (ap_user_id, starts_at);
CREATE INDEX treatment_sessions_area ON treatment_sessions (area_id, starts_at);

-- One row per quarter hour an appointment holds: the primary key is what makes a double
-- booking impossible, whatever races.
CREATE TABLE ap_bookings (
    ap_user_id TEXT NOT NULL REFERENCES users (id),
    block_start TIMESTAMP NOT NULL,
    session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    PRIMARY KEY (ap_user_id, block_start)
);
CREATE INDEX ap_bookings_session ON ap_bookings (session_id);

CREATE TABLE outcome_measures (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    instrument TEXT NOT NULL,
    stage TEXT NOT NULL,
    answers TEXT NOT NULL,
    total INTEGER NOT NULL,
    risk BOOLEAN NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    UNIQUE (session_id, instrument)
);
CREATE INDEX outcome_measures_referral ON outcome_measures (referral_id, recorded_at);

CREATE TABLE risk_alerts (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    area_id TEXT NOT NULL REFERENCES areas (id),
    measure_id TEXT NOT NULL REFERENCES outcome_measures (id),
    raised_at TIMESTAMP NOT NULL,
    acknowledged_by TEXT REFERENCES users (id),
    acknowledged_at TIMESTAMP,
    action_taken TEXT
);
CREATE INDEX risk_alerts_open ON risk_alerts (area_id, acknowledged_at);
CREATE INDEX risk_alerts_referral ON risk_alerts (referral_id);

CREATE TABLE practitioner_reports (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    written_by TEXT NOT NULL REFERENCES users (id),
    written_at TIMESTAMP NOT NULL
);
CREATE INDEX practitioner_reports_referral ON practitioner_reports (referral_id, written_at);

-- A second unacceptable absence within 12 months of the first: the responsible officer
-- decides what follows.
CREATE TABLE enforcement_reviews (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    area_id TEXT NOT NULL REFERENCES areas (id),
    first_session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    second_session_id TEXT NOT NULL REFERENCES treatment_sessions (id),
    flagged_at TIMESTAMP NOT NULL,
    decision TEXT,
    note TEXT,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP
);
CREATE INDEX enforcement_reviews_referral ON enforcement_reviews (referral_id);
CREATE INDEX enforcement_reviews_open ON enforcement_reviews (area_id, decided_at);

CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX calendar_feeds_user ON calendar_feeds (user_id);

-- Treatment activity on a referral's timeline, beside its status history. Entries marked
-- clinical are shown to clinical roles only.
CREATE TABLE referral_events (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    kind TEXT NOT NULL,
    clinical BOOLEAN NOT NULL,
    actor_user_id TEXT REFERENCES users (id),
    actor_name TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX referral_events_referral ON referral_events (referral_id, at);
