//! Referrals: a person comes to the MHTR pathway from the point of arrest (Liaison and
//! Diversion) or from probation, and moves through screening, assessment, consent, sentence
//! and treatment. The state machine is in `state`, the checked input in `forms`, the rules
//! and the one scope chokepoint in `service` and `model`.

pub mod access;
pub mod api;
pub mod codes;
pub mod consent;
pub mod extract;
pub mod forms;
pub mod model;
pub mod pages;
pub mod service;
pub mod state;
pub mod views;
pub mod web;
