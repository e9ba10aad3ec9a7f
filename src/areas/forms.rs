//! Input from the areas page, parsed into checked values.

use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;
pub use crate::users::forms::Email;

/// The intake mailbox field as typed: an email address, or blank to clear it.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct IntakeForm {
    #[serde(default)]
    pub intake_email: String,
}

impl IntakeForm {
    /// `Ok(None)` when the field is blank (clear the mailbox).
    pub fn parse(&self) -> Result<Option<Email>, FieldErrors> {
        if self.intake_email.trim().is_empty() {
            return Ok(None);
        }
        Email::parse(&self.intake_email)
            .map(Some)
            .map_err(|m| FieldErrors::single("intake_email", m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> IntakeForm {
        IntakeForm {
            intake_email: s.into(),
        }
    }

    #[test]
    fn a_blank_mailbox_clears_and_an_address_is_normalised() {
        assert_eq!(form("  ").parse().unwrap(), None);
        assert_eq!(
            form(" Intake@Provider.Example ").parse().unwrap().unwrap(),
            Email::parse("intake@provider.example").unwrap()
        );
    }

    #[test]
    fn a_malformed_mailbox_is_refused_on_its_field() {
        for bad in ["intake", "intake@provider", "a b@provider.example"] {
            let e = form(bad).parse().unwrap_err();
            assert!(e.get("intake_email").unwrap().contains("correct format"));
        }
    }
}
