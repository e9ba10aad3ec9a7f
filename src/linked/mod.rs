//! Linked requirements: the Drug Rehabilitation and Alcohol Treatment Requirements made beside
//! a referral's MHTR, with their provider, treatment director, status and activity. Their
//! changes go on the referral's timeline, the combined timeline of the order.
pub mod api;
pub mod codes;
pub mod forms;
pub mod model;
pub mod service;
pub mod views;
pub mod web;
