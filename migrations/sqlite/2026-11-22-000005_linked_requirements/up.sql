-- Drug Rehabilitation and Alcohol Treatment Requirements running beside a referral's MHTR,
-- each with its own provider and treatment director. activated_at is set the first time
-- one becomes active: an order counts as combined only for requirements that ran.
CREATE TABLE linked_requirements (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    treatment_director TEXT NOT NULL,
    key_contact TEXT,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    sequencing TEXT NOT NULL,
    status TEXT NOT NULL,
    activated_at TIMESTAMP,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX linked_requirements_referral ON linked_requirements (referral_id, created_at);

-- What happened on a linked requirement, by date. DRR court reviews are entries of kind
-- court_review, the only kind that may be dated ahead (a review the court has fixed).
CREATE TABLE linked_activity (
    id TEXT PRIMARY KEY NOT NULL,
    linked_requirement_id TEXT NOT NULL REFERENCES linked_requirements (id),
    on_date DATE NOT NULL,
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    entered_by TEXT NOT NULL REFERENCES users (id),
    entered_via TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX linked_activity_requirement ON linked_activity (linked_requirement_id, on_date);
