-- The capacity page, kept as sessions and referrals change (`sessions::capacity::upkeep`)
-- rather than read from every practitioner's sessions and every waiting order on each view.
--
-- Each referral's live sessions (booked or recorded) from the current week on, counted per
-- practitioner and week (by its Monday): what the referral adds to each count below, so a
-- change moves the counts by exactly the difference. Weeks before the current one are never
-- read; the hourly housekeeping removes them.
CREATE TABLE capacity_referral_weeks (
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    ap_user_id TEXT NOT NULL REFERENCES users (id),
    week DATE NOT NULL,
    booked INTEGER NOT NULL,
    PRIMARY KEY (referral_id, ap_user_id, week)
);
-- Live sessions per practitioner and week.
CREATE TABLE capacity_weeks (
    ap_user_id TEXT NOT NULL REFERENCES users (id),
    week DATE NOT NULL,
    booked INTEGER NOT NULL,
    PRIMARY KEY (ap_user_id, week)
);
-- Orders waiting for treatment (made, inducted or allocated, with no session attended yet),
-- with the date the wait started (the sentence, or the last change when none is recorded):
-- the waiting list in each area, longest waiting first.
CREATE TABLE capacity_waiting (
    referral_id TEXT PRIMARY KEY NOT NULL REFERENCES referrals (id),
    area_id TEXT NOT NULL REFERENCES areas (id),
    since DATE NOT NULL,
    reference TEXT NOT NULL
);
CREATE INDEX capacity_waiting_area ON capacity_waiting (area_id, since, reference);
