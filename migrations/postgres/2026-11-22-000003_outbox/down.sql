DROP TABLE vetting_reminders;
DROP TABLE notification_opt_outs;
DROP TABLE outbox_messages;
