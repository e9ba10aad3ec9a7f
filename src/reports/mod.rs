//! Uptake and capacity reporting for councillors and clinical leads.
pub mod facts;
