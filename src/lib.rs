//! mhtr-pathway: carries a person from arrest or probation into a Mental Health Treatment
//! Requirement, through treatment, out to onward support, and reports uptake and capacity.

pub mod areas;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod form;
pub mod home;
pub mod ids;
pub mod import;
#[cfg(test)]
mod input_properties;
pub mod linked;
pub mod logging;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod operations;
pub mod paging;
pub mod quality;
pub mod referrals;
pub mod reminders;
pub mod reports;
pub mod retention;
pub mod routes;
pub mod sessions;
pub mod settings;
pub mod signposting;
pub mod spreadsheet;
pub mod startup;
pub mod state;
pub mod users;
pub mod web;
