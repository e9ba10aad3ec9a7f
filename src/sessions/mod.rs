//! Treatment sessions: the 12-session plan, the diary, attendance, outcome measures.
pub mod codes;
