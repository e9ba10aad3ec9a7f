//! Raw input from the admin pages and the command line, parsed into checked values.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::error::FieldErrors;
use crate::form::parse_date;
use crate::users::model::{Role, VettingLevel};

/// An email address, trimmed and lower-cased, plausibly deliverable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let e = raw.trim().to_lowercase();
        if e.is_empty() {
            return Err("Enter an email address".into());
        }
        let valid = e.len() <= 254
            && !e.chars().any(char::is_whitespace)
            && e.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            });
        if valid {
            Ok(Self(e))
        } else {
            Err("Enter an email address in the correct format, like name@example.org".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An HCPC registration number of a practitioner psychologist: "PYL" and six digits.
pub fn parse_hcpc(raw: &str) -> Result<String, String> {
    let v: String = raw
        .trim()
        .to_uppercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let ok = v.len() == 9 && v.starts_with("PYL") && v[3..].chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(v)
    } else {
        Err("Enter the HCPC registration number in the correct format, like PYL012345".into())
    }
}

/// The user form as sent by the admin pages (checkbox areas arrive as repeated fields).
#[derive(Debug, Default, Deserialize, Clone)]
pub struct UserFormRaw {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub organisation_id: String,
    #[serde(default)]
    pub areas: Vec<String>,
    #[serde(default)]
    pub hcpc_number: String,
    #[serde(default)]
    pub vetting_level: String,
    #[serde(default)]
    pub vetting_expires_on_day: String,
    #[serde(default)]
    pub vetting_expires_on_month: String,
    #[serde(default)]
    pub vetting_expires_on_year: String,
}

/// A checked new or edited user.
#[derive(Debug, Clone)]
pub struct UserInput {
    pub name: String,
    pub email: Email,
    pub role: Role,
    pub organisation_id: String,
    pub area_ids: Vec<String>,
    pub hcpc_number: Option<String>,
    pub vetting: Option<(VettingLevel, NaiveDate)>,
}

#[derive(Debug, Clone)]
pub struct VettingInput {
    pub level: VettingLevel,
    pub expires_on: NaiveDate,
}

pub fn parse_vetting(
    raw: &UserFormRaw,
    today: NaiveDate,
    errors: &mut FieldErrors,
) -> Option<VettingInput> {
    let level = match raw.vetting_level.parse::<VettingLevel>() {
        Ok(l) => Some(l),
        Err(()) => {
            errors.add("vetting_level", "Select the vetting level");
            None
        }
    };
    let expires = match parse_date(
        &raw.vetting_expires_on_day,
        &raw.vetting_expires_on_month,
        &raw.vetting_expires_on_year,
        "vetting expiry date",
    ) {
        Ok(d) if d < today => {
            errors.add(
                "vetting_expires_on",
                "The vetting expiry date must be today or in the future",
            );
            None
        }
        Ok(d) => Some(d),
        Err(m) => {
            errors.add("vetting_expires_on", m);
            None
        }
    };
    Some(VettingInput {
        level: level?,
        expires_on: expires?,
    })
}

/// The confirmation that every session but the administrator's own should end.
pub fn parse_end_all(raw: &crate::form::RawForm) -> Result<(), FieldErrors> {
    if raw.get("confirm") == "yes" {
        Ok(())
    } else {
        Err(FieldErrors::single(
            "confirm",
            "Confirm that every session but yours should end",
        ))
    }
}

/// Parses the whole user form of a new user, vetting included; `known_areas` and
/// `known_orgs` are the valid ids.
pub fn parse_user(
    raw: &UserFormRaw,
    known_orgs: &[String],
    known_areas: &[String],
    today: NaiveDate,
) -> Result<UserInput, FieldErrors> {
    parse_fields(raw, known_orgs, known_areas, Some(today))
}

/// Parses the edit form of an existing user: vetting has its own page, so it is neither
/// read nor checked here (expired vetting must not stop an administrator correcting
/// someone's name).
pub fn parse_details(
    raw: &UserFormRaw,
    known_orgs: &[String],
    known_areas: &[String],
) -> Result<UserInput, FieldErrors> {
    parse_fields(raw, known_orgs, known_areas, None)
}

fn parse_fields(
    raw: &UserFormRaw,
    known_orgs: &[String],
    known_areas: &[String],
    vetting_from: Option<NaiveDate>,
) -> Result<UserInput, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = raw.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", "Enter the user's full name");
    } else if name.chars().count() > 100 {
        errors.add("name", "Full name must be 100 characters or fewer");
    }
    let email = Email::parse(&raw.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    let role = raw
        .role
        .parse::<Role>()
        .map_err(|_| errors.add("role", "Select a role"))
        .ok();
    if !known_orgs.contains(&raw.organisation_id) {
        errors.add("organisation_id", "Select an organisation");
    }
    let mut area_ids: Vec<String> = raw
        .areas
        .iter()
        .filter(|a| known_areas.contains(a))
        .cloned()
        .collect();
    area_ids.sort();
    area_ids.dedup();
    if area_ids.is_empty() {
        errors.add("areas", "Select at least one area");
    }
    let hcpc_number = match role {
        Some(Role::ClinicalLead) => parse_hcpc(&raw.hcpc_number)
            .map_err(|m| errors.add("hcpc_number", m))
            .ok(),
        _ if !raw.hcpc_number.trim().is_empty() => parse_hcpc(&raw.hcpc_number)
            .map_err(|m| errors.add("hcpc_number", m))
            .ok(),
        _ => None,
    };
    let vetting = vetting_from.and_then(|today| parse_vetting(raw, today, &mut errors));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(UserInput {
        name,
        email: email.expect("no error recorded"),
        role: role.expect("no error recorded"),
        organisation_id: raw.organisation_id.clone(),
        area_ids,
        hcpc_number,
        vetting: vetting.map(|v| (v.level, v.expires_on)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ann.Lee@Probation.Example ")
                .unwrap()
                .as_str(),
            "ann.lee@probation.example"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.org",
            "ann@x",
            "ann lee@x.org",
            "a@b@c.org",
            "ann@x..org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hcpc_numbers_need_pyl_and_six_digits() {
        assert_eq!(parse_hcpc("pyl 012345").unwrap(), "PYL012345");
        assert!(parse_hcpc("PYL1234").is_err());
        assert!(parse_hcpc("ABC012345").is_err());
    }

    #[test]
    fn dates_name_the_missing_part() {
        assert!(
            parse_date("", "", "", "expiry date")
                .unwrap_err()
                .contains("Enter the expiry date")
        );
        assert!(
            parse_date("1", "", "2027", "expiry date")
                .unwrap_err()
                .contains("must include a month")
        );
        assert!(
            parse_date("31", "2", "2027", "expiry date")
                .unwrap_err()
                .contains("real date")
        );
        assert_eq!(
            parse_date("1", "3", "2027", "x").unwrap(),
            NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()
        );
    }
}
