//! The integration tests: one binary, a fresh application and database for every test
//! (SQLite by default, PostgreSQL when `TEST_DATABASE_URL` is set).

mod helpers;

mod access;
mod admin_scope;
mod admin_users;
mod api_tokens;
mod area_intake;
mod assessment_report;
mod audit;
mod backup;
mod busy_database;
mod config;
mod control_characters;
mod crash_safety;
mod csrf;
mod email;
mod email_tls;
mod enforcement;
mod export;
mod headers;
mod health;
mod import;
mod import_page;
mod linked_requirements;
mod lost_connection;
mod mfa;
mod migrations;
mod order_changes;
mod passwords;
mod reasons;
mod referral_emails;
mod referrals;
mod reports;
mod retention;
mod session_cache;
mod session_notes;
mod sessions;
mod sign_in;
mod signposting;
mod synth;
mod throttling;
mod treatment_diary;
mod treatment_sessions;
mod weekly_digest;
mod worklist;
