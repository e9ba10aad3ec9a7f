-- How the person on the order is reminded of their appointments: their contact details
-- and preferences (one row per person, changed as amendments with history), the reminder
-- templates administrators edit (one per kind and language), and the reminders themselves,
-- written in the transaction of the change that causes them and sent through GOV.UK
-- Notify by a worker under a lease, like the staff email outbox.
CREATE TABLE contact_details (
    person_id TEXT PRIMARY KEY NOT NULL REFERENCES people(id),
    mobile TEXT,
    email TEXT,
    -- Postal address lines, one per line, the postcode last.
    address TEXT,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    do_not_contact BOOLEAN NOT NULL,
    do_not_contact_reason TEXT,
    -- The day the person agreed to reminders; empty while they have not.
    reminders_consent_on DATE,
    version BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE reminder_templates (
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, language)
);

CREATE TABLE reminders (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES treatment_sessions(id),
    referral_id TEXT NOT NULL REFERENCES referrals(id),
    person_id TEXT NOT NULL REFERENCES people(id),
    area_id TEXT NOT NULL REFERENCES areas(id),
    kind TEXT NOT NULL,
    -- Which of the session's messages this is: "confirm", or the reminder's offset.
    slot TEXT NOT NULL,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The session's start when the reminder was written: a moved session's reminders lapse.
    for_starts_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    due_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMP,
    last_error TEXT,
    provider_id TEXT,
    delivery TEXT,
    checked_at TIMESTAMP,
    fallback_of TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
-- Written once, however many changes race; a withdrawn one may be written again.
CREATE UNIQUE INDEX reminders_once ON reminders (session_id, slot, for_starts_at, channel)
    WHERE status <> 'cancelled';
CREATE INDEX reminders_due ON reminders (status, due_at);
CREATE INDEX reminders_referral ON reminders (referral_id);
CREATE INDEX reminders_person ON reminders (person_id);
-- The report's reminder coverage: an area's sessions in a period.
CREATE INDEX reminders_area_time ON reminders (area_id, for_starts_at);

-- The sessions a booking or moving confirmation has covered, so each is confirmed once.
CREATE TABLE reminder_confirmations (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES treatment_sessions(id),
    reminder_id TEXT,
    confirmed_at TIMESTAMP NOT NULL
);
