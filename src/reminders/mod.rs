//! Appointment reminders to the person on the order, through GOV.UK Notify.
//!
//! The person's contact details and preferences ([`contact`]) say how, in which language,
//! and whether they agreed to be reminded at all. When sessions are booked or moved, the
//! change's transaction writes a confirmation and the reminders before each session
//! ([`schedule`]) to the `reminders` table, a transactional outbox like the staff email's;
//! the [`worker`] sends each when it is due through Notify ([`notify`]), checks beforehand
//! that the session still stands at that time, never sends one twice (each message's id is
//! its Notify reference, looked up before a retry), and asks Notify how delivery went. The
//! wording is the administrators' ([`templates`]), in English and Welsh, and never says what
//! the appointment is for.

pub mod api;
pub mod contact;
pub mod details;
pub mod key;
pub mod model;
pub mod notify;
pub mod schedule;
pub mod templates;
pub mod web;
pub mod worker;

use serde::Serialize;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::coded_enum;
use crate::db::DbConn;
use crate::error::AppError;
use crate::settings::{ReminderSettings, ReminderTransport};
use crate::users::model::{AdminScope, Role};

coded_enum! {
    /// How a message reaches the person.
    pub enum Channel {
        Sms = ("sms", "Text message"),
        Email = ("email", "Email"),
        Letter = ("letter", "Letter"),
    }
}

coded_enum! {
    /// The language the person reads their messages in (the Welsh Language Standards apply
    /// to a provider acting for a public body in Wales).
    pub enum Language {
        English = ("en", "English"),
        Welsh = ("cy", "Welsh (Cymraeg)"),
    }
}

coded_enum! {
    /// What a message says.
    pub enum ReminderKind {
        Booked = ("booked", "Appointments booked"),
        Moved = ("moved", "Appointment moved"),
        Upcoming = ("upcoming", "Reminder before an appointment"),
        Cancelled = ("cancelled", "Appointment cancelled"),
    }
}

coded_enum! {
    /// Where a reminder is on its way out.
    pub enum ReminderStatus {
        Queued = ("queued", "Waiting to be sent"),
        Sending = ("sending", "Being sent"),
        Sent = ("sent", "Sent"),
        Dead = ("dead", "Failed"),
        Cancelled = ("cancelled", "Not sent"),
    }
}

coded_enum! {
    /// What Notify says became of a message it accepted.
    pub enum Delivery {
        Created = ("created", "Accepted by Notify"),
        Sending = ("sending", "On its way"),
        Pending = ("pending", "On its way"),
        Accepted = ("accepted", "Accepted for printing"),
        Received = ("received", "Posted"),
        Delivered = ("delivered", "Delivered"),
        PermanentFailure = ("permanent-failure", "Not delivered: the number or address is wrong"),
        TemporaryFailure = ("temporary-failure", "Not delivered: the phone was off or the inbox full"),
        TechnicalFailure = ("technical-failure", "Not delivered: a technical failure"),
        ValidationFailed = ("validation-failed", "Not delivered: the letter could not be printed"),
        Cancelled = ("cancelled", "Cancelled at Notify"),
        Logged = ("logged", "Logged only (reminders are not switched on)"),
    }
}

impl Delivery {
    /// Reached its end: nothing more will change.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            Delivery::Created | Delivery::Sending | Delivery::Pending | Delivery::Accepted
        )
    }

    /// The person did not get it.
    pub fn failed(self) -> bool {
        matches!(
            self,
            Delivery::PermanentFailure
                | Delivery::TemporaryFailure
                | Delivery::TechnicalFailure
                | Delivery::ValidationFailed
                | Delivery::Cancelled
        )
    }

    /// Reached the person (a letter: posted).
    pub fn delivered(self) -> bool {
        matches!(self, Delivery::Delivered | Delivery::Received)
    }

    /// Notify's status word, as its API writes it, or None for one this service does not know.
    pub fn from_notify(status: &str) -> Option<Delivery> {
        status.parse().ok().filter(|d| *d != Delivery::Logged)
    }
}

/// Whether reminders go, in words for the pages.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceStatus {
    /// `off`, `log` or `notify`: what actually happens (Notify without a key is off).
    pub mode: &'static str,
    pub on: bool,
    pub said: String,
}

pub fn service_status(settings: &ReminderSettings) -> ServiceStatus {
    let (mode, said) = match (settings.transport, settings.enabled()) {
        (ReminderTransport::Notify, true) => (
            "notify",
            "Reminders are on: they are sent through GOV.UK Notify".to_owned(),
        ),
        (ReminderTransport::Log, _) => (
            "log",
            "Reminders are written and logged but not sent: no GOV.UK Notify service is connected (reminders.transport is \"log\")".to_owned(),
        ),
        (ReminderTransport::Notify, false) => (
            "off",
            "Reminders are off: no GOV.UK Notify API key is set (reminders.notify.api_key)".to_owned(),
        ),
        (ReminderTransport::Off, _) => (
            "off",
            "Reminders are off: no GOV.UK Notify service is connected (reminders.transport is \"off\")".to_owned(),
        ),
    };
    ServiceStatus {
        mode,
        on: settings.enabled(),
        said,
    }
}

fn admin_areas(scope: &AdminScope) -> Option<&[String]> {
    (!scope.service_wide).then_some(scope.area_ids.as_slice())
}

/// The administrators' page: the wording, and the reminders that failed in their areas.
pub fn admin_overview(
    c: &mut DbConn,
    role: Role,
    scope: &AdminScope,
) -> Result<(Vec<templates::TemplateRow>, Vec<model::Reminder>), AppError> {
    let rows = templates::list(c, role)?;
    Ok((rows, failed(c, role, scope)?))
}

/// The reminders that failed in the administrator's areas, newest first.
pub fn failed(
    c: &mut DbConn,
    role: Role,
    scope: &AdminScope,
) -> Result<Vec<model::Reminder>, AppError> {
    if role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    model::dead_in(c, admin_areas(scope), 100)
}

/// Sends a failed reminder again, if it is in the administrator's areas and still failed.
pub fn retry(
    c: &mut DbConn,
    role: Role,
    scope: &AdminScope,
    actor: &Actor,
    id: &str,
) -> Result<(), AppError> {
    if role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    if !model::requeue(c, id, admin_areas(scope))? {
        return Err(AppError::NotFound);
    }
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "reminder.retried").record("reminder", id),
    )
}
