//! Uptake and capacity reporting for councillors and clinical leads.
pub mod facts;
pub mod periods;
pub mod suppression;
pub mod trend;
