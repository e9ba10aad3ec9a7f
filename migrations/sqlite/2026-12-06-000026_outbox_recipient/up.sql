-- The administrators' outbox search: the emails to one address, newest first.
CREATE INDEX outbox_messages_recipient ON outbox_messages (recipient, created_at);
