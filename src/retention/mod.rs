//! Retention: the policy that brings closed referrals up for review some years after they
//! closed, the review queue, and each decision on it: keep the record until a next review, or
//! erase the person's data while the anonymous report figures stay. The policy is in
//! `policy`, the queries (through the referrals scope chokepoint) in `model`, the rules and
//! the one transaction of each decision in `service`, and what erasure blanks in `erase`.

pub mod erase;
pub mod forms;
pub mod model;
pub mod policy;
pub mod service;
pub mod web;
