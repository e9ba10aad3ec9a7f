//! The review decision as typed, turned into a checked value: keep until a next review date
//! (in the future, within the policy's limit) with a reason, or erase with a reason and an
//! explicit confirmation.

use chrono::NaiveDate;

use crate::error::FieldErrors;
use crate::form::{RawForm, choice, text};
use crate::retention::model::Decision;
use crate::retention::policy::add_years;

const REASON_MAX: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionInput {
    Retain {
        reason: String,
        next_review_on: NaiveDate,
    },
    Erase {
        reason: String,
    },
}

/// A decision against the referral version the reviewer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewInput {
    pub version: i64,
    pub decision: DecisionInput,
}

fn next_review(
    raw: &RawForm,
    e: &mut FieldErrors,
    today: NaiveDate,
    max_years: u32,
) -> Option<NaiveDate> {
    let latest = add_years(today, max_years);
    match raw.date("next_review_date", "next review date") {
        Ok(d) if d <= today => {
            e.add(
                "next_review_date",
                "The next review date must be in the future",
            );
            None
        }
        Ok(d) if d > latest => {
            e.add(
                "next_review_date",
                format!("The next review date must be within {max_years} years from today"),
            );
            None
        }
        Ok(d) => Some(d),
        Err(m) => {
            e.add("next_review_date", m);
            None
        }
    }
}

pub fn parse_review(
    raw: &RawForm,
    today: NaiveDate,
    max_years: u32,
) -> Result<ReviewInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let version = raw.get("version").trim().parse::<i64>().ok();
    if version.is_none() {
        e.add(
            "decision",
            "The referral version is missing: reload the page and try again",
        );
    }
    let decision: Option<Decision> = choice(
        raw,
        &mut e,
        "decision",
        "Select whether to keep the record or erase the personal data",
    );
    let reason = text(
        raw,
        &mut e,
        "reason",
        "Reason",
        Some("Enter the reason for the decision"),
        REASON_MAX,
    );
    let decision = match decision {
        Some(Decision::Retain) => next_review(raw, &mut e, today, max_years).zip(reason).map(
            |(next_review_on, reason)| DecisionInput::Retain {
                reason,
                next_review_on,
            },
        ),
        Some(Decision::Erase) => {
            if raw.get("confirm_erase") != "yes" {
                e.add(
                    "confirm_erase",
                    "Confirm that you understand the personal data cannot be recovered",
                );
            }
            reason.map(|reason| DecisionInput::Erase { reason })
        }
        None => None,
    };
    match (version, decision) {
        (Some(version), Some(decision)) if e.is_empty() => Ok(ReviewInput { version, decision }),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> RawForm {
        let mut raw = RawForm::default();
        for (k, v) in pairs {
            raw.set(k, *v);
        }
        raw
    }

    fn retain(day: &str, month: &str, year: &str) -> RawForm {
        form(&[
            ("version", "3"),
            ("decision", "retain"),
            ("reason", "Complaint still open"),
            ("next_review_date_day", day),
            ("next_review_date_month", month),
            ("next_review_date_year", year),
        ])
    }

    #[test]
    fn keeping_needs_a_reason_and_a_future_date_within_the_limit() {
        let ok = parse_review(&retain("1", "6", "2027"), today(), 5).unwrap();
        assert_eq!(
            ok.decision,
            DecisionInput::Retain {
                reason: "Complaint still open".into(),
                next_review_on: NaiveDate::from_ymd_opt(2027, 6, 1).unwrap()
            }
        );
        for (d, m, y) in [
            ("22", "11", "2026"),
            ("1", "1", "2020"),
            ("23", "11", "2031"),
        ] {
            let e = parse_review(&retain(d, m, y), today(), 5).unwrap_err();
            assert!(e.get("next_review_date").is_some(), "{d}/{m}/{y}");
        }
        let mut no_reason = retain("1", "6", "2027");
        no_reason.set("reason", "  ");
        assert!(
            parse_review(&no_reason, today(), 5)
                .unwrap_err()
                .get("reason")
                .is_some()
        );
    }

    #[test]
    fn erasing_needs_a_reason_and_the_confirmation() {
        let base = [
            ("version", "3"),
            ("decision", "erase"),
            ("reason", "Review period over"),
        ];
        let e = parse_review(&form(&base), today(), 5).unwrap_err();
        assert!(e.get("confirm_erase").is_some());
        let mut confirmed = form(&base);
        confirmed.set("confirm_erase", "yes");
        assert_eq!(
            parse_review(&confirmed, today(), 5).unwrap().decision,
            DecisionInput::Erase {
                reason: "Review period over".into()
            }
        );
    }

    #[test]
    fn no_decision_is_an_error_on_the_choice() {
        let e = parse_review(&form(&[("version", "1")]), today(), 5).unwrap_err();
        assert!(e.get("decision").is_some());
        assert!(e.get("reason").is_some());
    }
}
