//! Uptake and capacity reporting for councillors and clinical leads.
pub mod api;
pub mod cache;
pub mod catalogue;
pub mod charts;
pub mod cube;
pub mod evaluation;
pub mod facts;
pub mod interval;
pub mod periods;
pub mod query;
pub mod suppression;
pub mod tally;
pub mod trend;
pub mod upkeep;
pub mod uptake;
pub mod web;
