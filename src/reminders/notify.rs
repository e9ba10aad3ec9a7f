//! A small client for the GOV.UK Notify REST API (v2), as Notify documents it: each request
//! carries a JSON Web Token signed with HS256 by the API key's secret, whose issuer is the
//! service id and whose `iat` is the time of the request. Sends text messages, emails and
//! letters through templates that take the wording as personalisation, finds a message by
//! its reference (so a retry after a crash never sends twice) and reads a message's status.
//!
//! Errors say what Notify said by status code only: Notify's own text may repeat the phone
//! number or address.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::reminders::Channel;
pub use crate::reminders::key::ApiKey;
use crate::reminders::model::Reminder;

/// Why Notify did not take a message: a fixed description with the status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyError {
    pub summary: String,
    /// Sending it again will not help (400: the number or address is not valid; 403: the key).
    pub permanent: bool,
}

impl NotifyError {
    fn transient(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            permanent: false,
        }
    }

    fn permanent(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            permanent: true,
        }
    }
}

/// What Notify says of one message.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub id: String,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Notifications {
    notifications: Vec<Notification>,
}

pub struct Client {
    http: reqwest::Client,
    base_url: String,
    key: ApiKey,
    sms_template: String,
    email_template: String,
    letter_template: String,
}

fn status_error(status: reqwest::StatusCode) -> NotifyError {
    match status.as_u16() {
        400 => NotifyError::permanent(
            "Notify refused the message as not valid (400): check the number or address",
        ),
        403 => NotifyError::permanent(
            "Notify refused the API key (403): check reminders.notify.api_key",
        ),
        429 => NotifyError::transient("Notify's rate limit was reached (429)"),
        s if s >= 500 => NotifyError::transient(format!("Notify had a server error ({s})")),
        s => NotifyError::permanent(format!("Notify answered {s}")),
    }
}

/// Where the client sends and with what: the service's base address, its API key, the
/// ids of the three templates that take the wording, and the most a request may take.
pub struct Connection<'a> {
    pub base_url: &'a str,
    pub api_key: &'a str,
    pub sms_template: &'a str,
    pub email_template: &'a str,
    pub letter_template: &'a str,
    pub timeout_secs: u64,
}

impl Client {
    pub fn new(to: &Connection<'_>) -> Result<Self, String> {
        let key = ApiKey::parse(to.api_key)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(to.timeout_secs.max(1)))
            .user_agent(concat!("mhtr-pathway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client could not be built: {e}"))?;
        Ok(Self {
            http,
            base_url: to.base_url.trim_end_matches('/').to_owned(),
            key,
            sms_template: to.sms_template.trim().to_owned(),
            email_template: to.email_template.trim().to_owned(),
            letter_template: to.letter_template.trim().to_owned(),
        })
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.key.token(chrono::Utc::now().timestamp()))
    }

    /// The request body for `r`: the template, where it goes, and the wording.
    pub fn body_of(&self, r: &Reminder) -> (&'static str, Value) {
        match r.channel {
            Channel::Sms => (
                "sms",
                json!({
                    "phone_number": r.recipient,
                    "template_id": self.sms_template,
                    "personalisation": { "body": r.body },
                    "reference": r.id,
                }),
            ),
            Channel::Email => (
                "email",
                json!({
                    "email_address": r.recipient,
                    "template_id": self.email_template,
                    "personalisation": { "subject": r.subject, "body": r.body },
                    "reference": r.id,
                }),
            ),
            Channel::Letter => {
                let mut personalisation = serde_json::Map::new();
                for (i, line) in r.recipient.lines().take(7).enumerate() {
                    personalisation.insert(format!("address_line_{}", i + 1), json!(line));
                }
                personalisation.insert("subject".into(), json!(r.subject));
                personalisation.insert("body".into(), json!(r.body));
                (
                    "letter",
                    json!({
                        "template_id": self.letter_template,
                        "personalisation": personalisation,
                        "reference": r.id,
                    }),
                )
            }
        }
    }

    /// Sends `r`; returns Notify's id for it.
    pub async fn send(&self, r: &Reminder) -> Result<String, NotifyError> {
        let (path, body) = self.body_of(r);
        let res = self
            .http
            .post(format!("{}/v2/notifications/{path}", self.base_url))
            .header("Authorization", self.bearer())
            .json(&body)
            .send()
            .await
            .map_err(|e| NotifyError::transient(connection_error(&e)))?;
        if res.status() != reqwest::StatusCode::CREATED {
            return Err(status_error(res.status()));
        }
        let n: Notification = res
            .json()
            .await
            .map_err(|_| NotifyError::transient("Notify's answer could not be read"))?;
        Ok(n.id)
    }

    /// A GET of `path` (with `query`), read as JSON.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, NotifyError> {
        let res = self
            .http
            .get(format!("{}{path}", self.base_url))
            .query(query)
            .header("Authorization", self.bearer())
            .send()
            .await
            .map_err(|e| NotifyError::transient(connection_error(&e)))?;
        if !res.status().is_success() {
            return Err(status_error(res.status()));
        }
        res.json()
            .await
            .map_err(|_| NotifyError::transient("Notify's answer could not be read"))
    }

    /// The message Notify holds with this reference, if any.
    pub async fn find(&self, reference: &str) -> Result<Option<Notification>, NotifyError> {
        let list: Notifications = self
            .read("/v2/notifications", &[("reference", reference)])
            .await?;
        Ok(list
            .notifications
            .into_iter()
            .find(|n| n.reference.as_deref() == Some(reference)))
    }

    /// What Notify says of message `id`.
    pub async fn status(&self, id: &str) -> Result<Notification, NotifyError> {
        self.read(&format!("/v2/notifications/{id}"), &[]).await
    }
}

fn connection_error(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "Notify did not answer in time"
    } else if e.is_connect() {
        "Notify could not be reached"
    } else {
        "the request to Notify failed"
    }
}
