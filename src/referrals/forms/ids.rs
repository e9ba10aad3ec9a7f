//! Checked identifiers: a CRN, a PNC ID, and the reason a clinical lead gives for looking at a referral off their caseload.

use chrono::Datelike;
use serde::{Deserialize, Serialize};

/// An nDelius case reference number: one letter and six digits, e.g. `X123456`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crn(String);

impl Crn {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let mut chars = v.chars();
        let ok = v.len() == 7
            && chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_digit());
        if ok {
            Ok(Self(v))
        } else {
            Err(
                "Enter the CRN in the correct format: one letter and six digits, like X123456"
                    .into(),
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from the database, checked when it was written.
    pub(crate) fn stored(v: &str) -> Self {
        Self(v.to_owned())
    }
}

/// A Police National Computer person id, `YYYY/NNNNNNNA`: year, serial and check letter.
/// Serials given without leading zeros are accepted and stored zero-padded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PncId(String);

const PNC_CHECK: &[u8; 23] = b"ZABCDEFGHJKLMNPQRTUVWXY";

impl PncId {
    pub fn check_letter(year: u32, serial: u32) -> char {
        let n = u64::from(year % 100) * 10_000_000 + u64::from(serial);
        PNC_CHECK[(n % 23) as usize] as char
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let format_error =
            || "Enter the PNC ID in the correct format, like 2001/0012345H".to_owned();
        let v: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let (year, rest) = v.split_once('/').ok_or_else(format_error)?;
        if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
            return Err(format_error());
        }
        let Some(letter) = rest.chars().last().filter(char::is_ascii_uppercase) else {
            return Err(format_error());
        };
        let serial = &rest[..rest.len() - 1];
        if serial.is_empty() || serial.len() > 7 || !serial.chars().all(|c| c.is_ascii_digit()) {
            return Err(format_error());
        }
        let year: u32 = year.parse().map_err(|_| format_error())?;
        let serial: u32 = serial.parse().map_err(|_| format_error())?;
        if year < 1900 || year > crate::clock::today().year() as u32 {
            return Err("The year in the PNC ID must be a real year, like 2001".into());
        }
        if Self::check_letter(year, serial) != letter {
            return Err("The PNC ID check letter does not match: check the PNC ID".into());
        }
        Ok(Self(format!("{year:04}/{serial:07}{letter}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from the database, checked when it was written.
    pub(crate) fn stored(v: &str) -> Self {
        Self(v.to_owned())
    }
}

// ------------------------------------------------------------------ reason for access

/// The longest reason accepted for looking at a referral off one's caseload.
pub const ACCESS_REASON_MAX: usize = 500;

/// Why a clinical lead needs a referral that is not on their own caseload (DPA 2018 s.62):
/// trimmed, not empty, at most [`ACCESS_REASON_MAX`] characters. The reason page and the
/// API's `Access-Reason` header both go through [`AccessReason::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessReason(String);

impl AccessReason {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v = raw.trim();
        if v.is_empty() {
            Err("Enter why you need to see this referral, for example a safeguarding review".into())
        } else if v.chars().count() > ACCESS_REASON_MAX {
            Err(format!(
                "The reason must be {ACCESS_REASON_MAX} characters or fewer"
            ))
        } else {
            Ok(Self(v.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
