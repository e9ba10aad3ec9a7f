DROP INDEX outbox_messages_recipient;
