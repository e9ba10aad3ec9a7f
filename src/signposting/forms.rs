//! Input of the directory and signposting forms (and the API, through `RawForm::from_json`)
//! turned into checked values.

use chrono::NaiveDate;

use crate::error::FieldErrors;
use crate::form::{RawForm, choice, text};
use crate::signposting::codes::{ServiceType, SignpostStatus};

const NAME_MAX: usize = 200;
const CONTACT_MAX: usize = 300;
const REASON_MAX: usize = 2000;
const SUMMARY_MAX: usize = 4000;

/// A directory entry as typed. `area_ids` are among the areas the administrator works in.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryInput {
    pub name: String,
    pub service_type: ServiceType,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub area_ids: Vec<String>,
}

pub fn parse_directory(
    raw: &RawForm,
    allowed_areas: &[String],
) -> Result<DirectoryInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let name = text(
        raw,
        &mut e,
        "name",
        "Organisation",
        Some("Enter the name of the organisation"),
        NAME_MAX,
    );
    let service_type = choice(raw, &mut e, "service_type", "Select the type of service");
    let phone = text(raw, &mut e, "phone", "Phone", None, CONTACT_MAX);
    let email = text(raw, &mut e, "email", "Email", None, CONTACT_MAX);
    if let Some(m) = &email
        && !m.contains('@')
    {
        e.add(
            "email",
            "Enter an email address in the correct format, like name@example.com",
        );
    }
    let website = text(raw, &mut e, "website", "Website", None, CONTACT_MAX);
    let address = text(raw, &mut e, "address", "Address", None, CONTACT_MAX);
    if phone.is_none() && email.is_none() && website.is_none() && address.is_none() {
        e.add("phone", "Enter at least one way to contact the service");
    }
    let area_ids = raw.all("areas");
    if area_ids.is_empty() {
        e.add("areas", "Select the areas the service covers");
    } else if area_ids.iter().any(|a| !allowed_areas.contains(a)) {
        e.add("areas", "Select areas you work in");
    }
    match (name, service_type) {
        (Some(name), Some(service_type)) if e.is_empty() => Ok(DirectoryInput {
            name,
            service_type,
            phone,
            email,
            website,
            address,
            area_ids,
        }),
        _ => Err(e),
    }
}

/// A status with what it needs: a reason when not needed (optional when declined), and a
/// follow-up date while an answer is awaited.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusInput {
    pub status: SignpostStatus,
    pub reason: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
}

fn parse_status(
    raw: &RawForm,
    e: &mut FieldErrors,
    from: Option<NaiveDate>,
) -> Option<StatusInput> {
    let status: Option<SignpostStatus> =
        choice(raw, e, "status", "Select where the signposting stands");
    let reason = text(raw, e, "reason", "Reason", None, REASON_MAX);
    if status == Some(SignpostStatus::NotNeeded) && reason.is_none() && e.get("reason").is_none() {
        e.add("reason", "Enter why the service is not needed");
    }
    let awaiting = status.is_some_and(|s| !s.is_final());
    let follow_up_on = if raw.date_given("follow_up_date") || awaiting {
        match raw.date("follow_up_date", "follow-up date") {
            Ok(d) if from.is_some_and(|f| d < f) => {
                e.add(
                    "follow_up_date",
                    "The follow-up date must be on or after the date of the signposting",
                );
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                e.add("follow_up_date", m);
                None
            }
        }
    } else {
        None
    };
    Some(StatusInput {
        status: status?,
        reason,
        follow_up_on,
    })
}

/// A new signposting: which service, when, and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct SignpostInput {
    pub service_id: String,
    pub signposted_on: NaiveDate,
    pub status: StatusInput,
}

pub fn parse_signpost(raw: &RawForm, today: NaiveDate) -> Result<SignpostInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let service_id = raw.get("service_id").trim().to_owned();
    if service_id.is_empty() {
        e.add("service_id", "Select the service");
    }
    let signposted_on = match raw.date("signposted_date", "date of the signposting") {
        Ok(d) if d > today => {
            e.add(
                "signposted_date",
                "The date of the signposting must be today or in the past",
            );
            None
        }
        Ok(d) => Some(d),
        Err(m) => {
            e.add("signposted_date", m);
            None
        }
    };
    let status = parse_status(raw, &mut e, signposted_on);
    match (signposted_on, status) {
        (Some(signposted_on), Some(status)) if e.is_empty() => Ok(SignpostInput {
            service_id,
            signposted_on,
            status,
        }),
        _ => Err(e),
    }
}

/// A change of status, against the version the user saw.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateInput {
    pub version: i64,
    pub status: StatusInput,
}

pub fn parse_update(raw: &RawForm, signposted_on: NaiveDate) -> Result<UpdateInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let version = raw.get("version").trim().parse::<i64>().ok();
    if version.is_none() {
        e.add(
            "status",
            "The signposting version is missing: reload the page and try again",
        );
    }
    let status = parse_status(raw, &mut e, Some(signposted_on));
    match (version, status) {
        (Some(version), Some(status)) if e.is_empty() => Ok(UpdateInput { version, status }),
        _ => Err(e),
    }
}

/// Why no onward support is needed.
pub fn parse_no_onward(raw: &RawForm) -> Result<String, FieldErrors> {
    let mut e = FieldErrors::new();
    let reason = text(
        raw,
        &mut e,
        "reason",
        "Reason",
        Some("Enter why no onward support is needed"),
        REASON_MAX,
    );
    match reason {
        Some(r) if e.is_empty() => Ok(r),
        _ => Err(e),
    }
}

/// The practitioner's end-of-treatment summary for the responsible officer.
pub fn parse_summary(raw: &RawForm) -> Result<String, FieldErrors> {
    let mut e = FieldErrors::new();
    let summary = text(
        raw,
        &mut e,
        "summary",
        "Summary",
        Some("Enter the summary for the responsible officer"),
        SUMMARY_MAX,
    );
    match summary {
        Some(s) if e.is_empty() => Ok(s),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn raw(pairs: &[(&str, &str)]) -> RawForm {
        let mut r = RawForm::default();
        for (k, v) in pairs {
            r.set(k, *v);
        }
        r
    }

    #[test]
    fn awaiting_an_answer_needs_a_follow_up_date_and_not_needed_a_reason() {
        let today = day(2026, 11, 22);
        let mut r = raw(&[("service_id", "s1"), ("status", "referral_made")]);
        r.set_date("signposted_date", Some(today));
        let e = parse_signpost(&r, today).unwrap_err();
        assert_eq!(e.get("follow_up_date"), Some("Enter the follow-up date"));
        r.set("status", "not_needed");
        let e = parse_signpost(&r, today).unwrap_err();
        assert_eq!(e.get("reason"), Some("Enter why the service is not needed"));
        r.set("reason", "Already registered");
        let input = parse_signpost(&r, today).unwrap();
        assert_eq!(input.status.follow_up_on, None);
        r.set("status", "suggested");
        r.set_date("follow_up_date", Some(day(2026, 11, 21)));
        let e = parse_signpost(&r, today).unwrap_err();
        assert!(e.get("follow_up_date").unwrap().contains("on or after"));
    }

    #[test]
    fn a_directory_entry_needs_a_name_a_type_a_contact_and_the_admins_areas() {
        let allowed = vec!["a".to_owned()];
        let e = parse_directory(&RawForm::default(), &allowed).unwrap_err();
        for f in ["name", "service_type", "phone", "areas"] {
            assert!(e.get(f).is_some(), "{f}");
        }
        let mut r = raw(&[
            ("name", "Mind"),
            ("service_type", "peer_support"),
            ("phone", "0116 000"),
        ]);
        r.set_all("areas", vec!["b".into()]);
        assert_eq!(
            parse_directory(&r, &allowed).unwrap_err().get("areas"),
            Some("Select areas you work in")
        );
        r.set_all("areas", vec!["a".into()]);
        assert_eq!(parse_directory(&r, &allowed).unwrap().area_ids, ["a"]);
    }
}
