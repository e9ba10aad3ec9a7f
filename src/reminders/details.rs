//! The person's contact details and reminder preferences as stored: one row per person.
//! Read by the reminder schedule and the worker; changed only through
//! [`contact::save`](crate::reminders::contact::save).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::contact_details;
use crate::error::AppError;
use crate::reminders::{Channel, Language};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contact_details, treat_none_as_null = true)]
pub struct ContactDetails {
    pub person_id: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub channel: Channel,
    pub language: Language,
    pub do_not_contact: bool,
    pub do_not_contact_reason: Option<String>,
    pub reminders_consent_on: Option<NaiveDate>,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

impl ContactDetails {
    /// Where a message by `channel` goes, if that detail is held.
    pub fn address_for(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Sms => self.mobile.as_deref(),
            Channel::Email => self.email.as_deref(),
            Channel::Letter => self.address.as_deref(),
        }
    }

    /// Whether reminders may go at all: agreed to, and not "do not contact".
    pub fn may_remind(&self) -> bool {
        self.reminders_consent_on.is_some() && !self.do_not_contact
    }

    /// The channel a reminder takes: the preferred one, or a letter where the preferred
    /// detail is not held.
    pub fn route(&self) -> Option<(Channel, &str)> {
        self.address_for(self.channel)
            .map(|to| (self.channel, to))
            .or_else(|| self.address.as_deref().map(|a| (Channel::Letter, a)))
    }
}

pub fn of_person(c: &mut DbConn, person_id: &str) -> Result<Option<ContactDetails>, AppError> {
    Ok(contact_details::table
        .find(person_id)
        .select(ContactDetails::as_select())
        .first(c)
        .optional()?)
}
