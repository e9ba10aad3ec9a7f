//! Treatment sessions: the 12-session plan, the diary, attendance, outcome measures.
pub mod api;
pub mod calendar;
pub mod capacity;
pub mod closures;
pub mod codes;
pub mod diary;
pub mod feeds;
pub mod forms;
pub mod ics;
pub mod measures;
pub mod model;
pub mod plan;
pub mod service;
pub mod unrecorded;
pub mod upkeep;
pub mod views;
pub mod web;
