//! Treatment sessions: the 12-session plan, the diary, attendance, outcome measures.
pub mod calendar;
pub mod capacity;
pub mod closures;
pub mod codes;
pub mod diary;
pub mod feeds;
pub mod ics;
pub mod measures;
pub mod plan;
