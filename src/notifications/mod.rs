//! Email notifications. A change that causes an email writes it to the outbox table in the
//! same transaction ([`enqueue`]), so the email exists exactly when the change does; the
//! [`worker::Worker`] delivers it afterwards, retrying until the mail server accepts it.
//!
//! Emails carry no special-category or offence data: a reference, initials, a date and a
//! link. Invitation and reset emails also carry the single-use link and the person's own name.

pub mod digest;
pub mod messages;
pub mod model;
pub mod referrals;
pub mod service;
pub mod sessions;
pub mod transport;
pub mod vetting;
pub mod web;
pub mod worker;

pub use messages::{Emails, Message, MessageKind};
pub use model::enqueue;
