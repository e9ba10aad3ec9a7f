//! Treatment sessions: the 12-session plan, the diary, attendance, outcome measures.
pub mod api;
pub mod calendar;
pub mod codes;
pub mod forms;
pub mod ics;
pub mod measures;
pub mod model;
pub mod plan;
pub mod service;
