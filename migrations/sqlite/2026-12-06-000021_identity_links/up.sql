-- An exact CRN or PNC ID match that the referrer may not be shown: the person already known
-- is outside their scope, or what they typed (name, date of birth) disagrees with the record.
-- The new referral gets a person record of its own, from what the referrer typed, and this
-- row links it to the person already known, for a clinical lead of the referral's area to
-- confirm as the same person or to split as someone else.
CREATE TABLE identity_links (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    matched_person_id TEXT NOT NULL REFERENCES people (id),
    identifier TEXT NOT NULL,
    details_agree BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP,
    decision_reason TEXT
);
CREATE INDEX identity_links_referral ON identity_links (referral_id);
CREATE INDEX identity_links_matched ON identity_links (matched_person_id);
