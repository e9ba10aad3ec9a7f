//! Ending treatment and onward support: the service directory administrators keep per area,
//! signposting a person on to those services with follow-ups, the record that no onward
//! support is needed, the rule that a referral closes only once that is settled, and the
//! end-of-treatment summary for the responsible officer.

pub mod api;
pub mod codes;
pub mod directory;
pub mod forms;
pub mod model;
pub mod service;
pub mod settled;
pub mod summary;
pub mod views;
pub mod web;
