//! Typed messages and their rendering from `templates/emails/<name>/{subject.txt,body.txt,body.html}`.
//! Plain-text templates are not escaped; the HTML body is (Tera escapes `.html` templates).

use std::sync::Arc;

use serde::Serialize;

use crate::coded_enum;
use crate::error::AppError;

coded_enum! {
    /// What an email is about. Urgent kinds always go; the others can be turned off by the
    /// person receiving them, on their account page.
    pub enum MessageKind {
        Welcome = ("welcome", "Invitation to set up an account"),
        PasswordReset = ("password_reset", "Password reset link"),
        MfaReset = ("mfa_reset", "Two-factor reset link"),
        VettingExpiring = ("vetting_expiring", "Your vetting is about to expire"),
        VettingExpiringAdmin = ("vetting_expiring_admin", "Vetting of someone you administer is about to expire"),
    }
}

impl MessageKind {
    /// Kinds a person may turn off. Everything else is about their own account and always goes.
    pub const OPTIONAL: &'static [MessageKind] = &[MessageKind::VettingExpiringAdmin];

    pub fn is_optional(self) -> bool {
        Self::OPTIONAL.contains(&self)
    }
}

/// A rendered email, ready for [`crate::notifications::enqueue`].
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: MessageKind,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

/// One kind of email: its template folder and what the templates see.
pub trait Email: Serialize {
    const KIND: MessageKind;
    /// The folder under `templates/emails/`.
    const TEMPLATE: &'static str;
}

/// A welcome, password reset or two-factor reset link, sent to the person it is for.
#[derive(Debug, Serialize)]
pub struct AccountLink<'a> {
    #[serde(skip)]
    pub kind: MessageKind,
    pub name: &'a str,
    pub link: &'a str,
    pub expires: &'a str,
}

/// Renders typed messages; cheap to clone into a database closure.
#[derive(Clone)]
pub struct Emails {
    templates: Arc<tera::Tera>,
    base_url: String,
}

impl Emails {
    pub fn new(templates: Arc<tera::Tera>, base_url: &str) -> Self {
        Self {
            templates,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// An absolute link to a path of the service.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn render(
        &self,
        kind: MessageKind,
        template: &str,
        to: &str,
        ctx: &tera::Context,
    ) -> Result<Message, AppError> {
        let part = |file: &str| {
            self.templates
                .render(&format!("emails/{template}/{file}"), ctx)
                .map_err(AppError::from)
        };
        Ok(Message {
            kind,
            to: to.to_owned(),
            subject: part("subject.txt")?.trim().to_owned(),
            text_body: part("body.txt")?,
            html_body: part("body.html")?,
        })
    }

    /// A single-use account link for `to`.
    pub fn account_link(&self, to: &str, email: &AccountLink<'_>) -> Result<Message, AppError> {
        let template = match email.kind {
            MessageKind::Welcome => "welcome",
            MessageKind::PasswordReset => "password_reset",
            MessageKind::MfaReset => "mfa_reset",
            _ => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "{} is not an account link",
                    email.kind
                )));
            }
        };
        let mut ctx = tera::Context::from_serialize(email)?;
        ctx.insert("service_name", crate::web::SERVICE_NAME);
        self.render(email.kind, template, to, &ctx)
    }

    /// Sends `E` to `to`.
    pub fn typed<E: Email>(&self, to: &str, email: &E) -> Result<Message, AppError> {
        let mut ctx = tera::Context::from_serialize(email)?;
        ctx.insert("service_name", crate::web::SERVICE_NAME);
        self.render(E::KIND, E::TEMPLATE, to, &ctx)
    }
}

/// To the person whose vetting expires: a date and a link to their account.
#[derive(Debug, Serialize)]
pub struct VettingExpiring {
    pub expires: String,
    pub link: String,
}

impl Email for VettingExpiring {
    const KIND: MessageKind = MessageKind::VettingExpiring;
    const TEMPLATE: &'static str = "vetting_expiring";
}

/// To administrators: the person's initials and reference, the date and a link.
#[derive(Debug, Serialize)]
pub struct VettingExpiringAdmin {
    pub initials: String,
    pub reference: String,
    pub expires: String,
    pub link: String,
}

impl Email for VettingExpiringAdmin {
    const KIND: MessageKind = MessageKind::VettingExpiringAdmin;
    const TEMPLATE: &'static str = "vetting_expiring_admin";
}

/// "Robin Ash" → "R. A.": enough for an administrator to recognise, not a name in an inbox.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphabetic()))
        .flat_map(char::to_uppercase)
        .map(|c| format!("{c}."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A short, non-identifying reference to a record: the first eight characters of its id.
pub fn reference(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .take(8)
        .collect::<String>()
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails() -> Emails {
        Emails::new(
            Arc::new(crate::startup::load_templates().unwrap()),
            "https://mhtr.example.org/",
        )
    }

    #[test]
    fn initials_keep_one_letter_per_word() {
        assert_eq!(initials("Robin  ash-Smith"), "R. A.");
        assert_eq!(initials("Émile O'Neil"), "É. O.");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn welcome_emails_carry_the_link_and_escape_the_name_in_html() {
        let m = emails()
            .account_link(
                "robin@example.org",
                &AccountLink {
                    kind: MessageKind::Welcome,
                    name: "Robin <b>Ash</b>",
                    link: "https://mhtr.example.org/invitation/abc",
                    expires: "29 November 2026",
                },
            )
            .unwrap();
        assert!(
            m.text_body
                .contains("https://mhtr.example.org/invitation/abc")
        );
        assert!(
            m.text_body.contains("Robin <b>Ash</b>"),
            "plain text is not escaped"
        );
        assert!(m.html_body.contains("Robin &lt;b&gt;Ash&lt;&#x2F;b&gt;"));
        assert!(!m.html_body.contains("<img"));
        assert!(!m.subject.contains('\n'));
    }

    #[test]
    fn administrators_copy_names_nobody() {
        let m = emails()
            .typed(
                "admin@example.org",
                &VettingExpiringAdmin {
                    initials: "R. A.".into(),
                    reference: "0193A1B2".into(),
                    expires: "1 December 2026".into(),
                    link: "https://mhtr.example.org/admin/users/x/vetting".into(),
                },
            )
            .unwrap();
        assert!(m.text_body.contains("R. A."));
        assert!(m.subject.contains("0193A1B2"));
    }

    #[test]
    fn only_the_administrators_copy_is_optional() {
        assert!(MessageKind::VettingExpiringAdmin.is_optional());
        for k in [
            MessageKind::Welcome,
            MessageKind::PasswordReset,
            MessageKind::MfaReset,
            MessageKind::VettingExpiring,
        ] {
            assert!(!k.is_optional());
        }
    }
}
