-- The provider's intake mailbox per area: where "referral submitted" emails go (the area's
-- clinical leads hear of it when there is none). And the weekly digests already queued, one
-- per clinical lead per ISO week (by its Monday), so running the job again queues nothing.

ALTER TABLE areas ADD COLUMN intake_email TEXT;

CREATE TABLE weekly_digests (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    week_start DATE NOT NULL,
    queued_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, week_start)
);
