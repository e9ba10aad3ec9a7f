//! A small client for the GOV.UK Notify REST API (v2), as Notify documents it: each request
//! carries a JSON Web Token signed with HS256 by the API key's secret, whose issuer is the
//! service id and whose `iat` is the time of the request. Sends text messages, emails and
//! letters through templates that take the wording as personalisation, finds a message by
//! its reference (so a retry after a crash never sends twice) and reads a message's status.
//!
//! Errors say what Notify said by status code only: Notify's own text may repeat the phone
//! number or address.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::reminders::Channel;
use crate::reminders::model::Reminder;
use crate::settings::NotifySettings;

/// An API key as Notify shows it: `{key name}-{service id}-{secret}`, both ids UUIDs.
#[derive(Clone)]
pub struct ApiKey {
    pub service_id: String,
    secret: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("service_id", &self.service_id)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    pub fn parse(key: &str) -> Result<Self, String> {
        let key = key.trim();
        let bad = || {
            "it must be the key exactly as Notify shows it: name, service id and secret key joined by dashes".to_owned()
        };
        if key.len() < 73 || !key.is_ascii() {
            return Err(bad());
        }
        let secret = &key[key.len() - 36..];
        let service_id = &key[key.len() - 73..key.len() - 37];
        if &key[key.len() - 37..key.len() - 36] != "-"
            || uuid::Uuid::parse_str(secret).is_err()
            || uuid::Uuid::parse_str(service_id).is_err()
        {
            return Err(bad());
        }
        Ok(Self {
            service_id: service_id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The bearer token for a request made at `iat` (seconds since 1970).
    pub fn token(&self, iat: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            json!({ "iss": self.service_id, "iat": iat })
                .to_string()
                .as_bytes(),
        );
        let signing_input = format!("{header}.{claims}");
        let signature =
            URL_SAFE_NO_PAD.encode(sign(self.secret.as_bytes(), signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn sign(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

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

impl Client {
    pub fn new(settings: &NotifySettings) -> Result<Self, String> {
        let key = ApiKey::parse(&settings.api_key)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .user_agent(concat!("mhtr-pathway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client could not be built: {e}"))?;
        Ok(Self {
            http,
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            key,
            sms_template: settings.sms_template_id.trim().to_owned(),
            email_template: settings.email_template_id.trim().to_owned(),
            letter_template: settings.letter_template_id.trim().to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "reminders-test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn the_key_splits_into_service_id_and_secret() {
        let k = ApiKey::parse(KEY).unwrap();
        assert_eq!(k.service_id, "26785a09-ab16-4eb0-8407-a37497a57506");
        assert_eq!(k.secret, "3d844edf-8d35-48ac-975b-e847b4f122b0");
        assert!(ApiKey::parse("not-a-key").is_err());
        assert!(ApiKey::parse(&KEY.replace("-3d844edf", "_3d844edf")).is_err());
        assert!(
            !format!("{k:?}").contains("3d844edf"),
            "the secret is not printed"
        );
    }

    #[test]
    fn the_token_is_an_hs256_jwt_with_the_service_as_issuer() {
        let k = ApiKey::parse(KEY).unwrap();
        let t = k.token(1_700_000_000);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"typ": "JWT", "alg": "HS256"}));
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims, json!({"iss": k.service_id, "iat": 1_700_000_000}));
        // Checked against an independent HMAC-SHA256 (RFC 4231 test case 2).
        assert_eq!(
            hex::encode(sign(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let expected = URL_SAFE_NO_PAD.encode(sign(
            k.secret.as_bytes(),
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
        ));
        assert_eq!(parts[2], expected);
    }
}
