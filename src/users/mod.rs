//! Staff accounts: who they are, their role, organisation, areas and vetting, and the
//! administrator's pages and command-line tools that manage them.

pub mod forms;
pub mod model;
pub mod service;
pub mod web;
