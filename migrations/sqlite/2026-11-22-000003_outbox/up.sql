-- Email notifications: the transactional outbox, per-user opt-outs of non-urgent kinds and
-- a record of vetting reminders already queued (at most one per user per expiry date).
CREATE TABLE outbox_messages (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_messages_due ON outbox_messages (status, next_attempt_at);

CREATE TABLE notification_opt_outs (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE vetting_reminders (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_on DATE NOT NULL,
    queued_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, expires_on)
);
