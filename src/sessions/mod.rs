//! Treatment sessions: the 12-session plan, the diary, attendance, outcome measures.
pub mod calendar;
pub mod codes;
pub mod ics;
pub mod measures;
pub mod plan;
