DROP TABLE reminder_confirmations;
DROP TABLE reminders;
DROP TABLE reminder_templates;
DROP TABLE contact_details;
