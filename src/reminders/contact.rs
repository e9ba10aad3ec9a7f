//! The person's contact details and reminder preferences: mobile number, email, postal
//! address, the channel and language they prefer, whether they agreed to reminders (and
//! when), and "do not contact" with its reason. Read and changed through a referral of
//! theirs, so the referral's scope and reason gate decide who may; every change is an
//! amendment in that referral's history, with the value before and after.

use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{contact_details, referral_amendments};
use crate::error::{AppError, FieldErrors};
use crate::form::{RawForm, choice, text};
use crate::referrals::access::Ctx;
use crate::referrals::model::{AmendmentRow, Referral, Viewer};
pub use crate::reminders::details::{ContactDetails, of_person};
use crate::reminders::{Channel, Language};
use crate::users::model::Role;

/// The details as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactInput {
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub channel: Channel,
    pub language: Language,
    pub consent: bool,
    pub do_not_contact: bool,
    pub do_not_contact_reason: Option<String>,
    /// The version the change was made from; none for the first details.
    pub version: Option<i64>,
}

/// A UK mobile number as `07…` (11 digits), from the ways people write one: spaces,
/// dashes, brackets, `+44`, `0044`.
pub fn uk_mobile(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let national = if let Some(rest) = kept.strip_prefix("+44") {
        format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
    } else if let Some(rest) = kept.strip_prefix("0044") {
        format!("0{rest}")
    } else {
        kept
    };
    (national.len() == 11
        && national.starts_with("07")
        && national.chars().all(|c| c.is_ascii_digit()))
    .then_some(national)
}

/// A UK postcode, upper case with one space before the inward code, or None.
pub fn uk_postcode(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if !(5..=7).contains(&s.len()) || !s.is_ascii() {
        return None;
    }
    let (outward, inward) = s.split_at(s.len() - 3);
    let inward_ok = inward.as_bytes()[0].is_ascii_digit()
        && inward[1..].chars().all(|c| c.is_ascii_alphabetic());
    let outward_ok = outward.as_bytes()[0].is_ascii_alphabetic()
        && outward.chars().all(|c| c.is_ascii_alphanumeric())
        && outward.chars().any(|c| c.is_ascii_digit());
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

/// Reads the form (or the API's body).
pub fn parse(raw: &RawForm) -> Result<ContactInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let mobile = match raw.get("mobile").trim() {
        "" => None,
        m => match uk_mobile(m) {
            Some(m) => Some(m),
            None => {
                e.add(
                    "mobile",
                    "Enter a UK mobile number, like 07700 900 982 or +44 7700 900 982",
                );
                None
            }
        },
    };
    let email = match raw.get("email").trim() {
        "" => None,
        m => match crate::users::forms::Email::parse(m) {
            Ok(m) => Some(m.as_str().to_owned()),
            Err(msg) => {
                e.add("email", msg);
                None
            }
        },
    };
    let lines: Vec<String> = raw
        .get("address")
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let address = match lines.len() {
        0 => None,
        n if !(3..=7).contains(&n) => {
            e.add(
                "address",
                "Enter the address on 3 to 7 lines, with the postcode on the last line",
            );
            None
        }
        _ if lines.iter().any(|l| l.chars().count() > 100) => {
            e.add(
                "address",
                "Each line of the address must be 100 characters or fewer",
            );
            None
        }
        n => match uk_postcode(&lines[n - 1]) {
            Some(postcode) => {
                let mut lines = lines;
                lines[n - 1] = postcode;
                Some(lines.join("\n"))
            }
            None => {
                e.add(
                    "address",
                    "Enter a UK postcode on the last line of the address, like LE15 6HP",
                );
                None
            }
        },
    };
    let channel: Option<Channel> = choice(
        raw,
        &mut e,
        "channel",
        "Select how the person prefers to be reminded",
    );
    let language: Option<Language> = choice(
        raw,
        &mut e,
        "language",
        "Select the language the person reads their messages in",
    );
    let consent = match raw.get("consent") {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            e.add(
                "consent",
                "Select whether the person agreed to appointment reminders",
            );
            None
        }
    };
    let do_not_contact = raw.get("do_not_contact") == "yes";
    let do_not_contact_reason = text(
        raw,
        &mut e,
        "do_not_contact_reason",
        "The reason",
        do_not_contact.then_some("Enter why the person must not be contacted"),
        500,
    )
    .filter(|_| do_not_contact);
    if let Some(ch) = channel
        && e.get("mobile").is_none()
        && e.get("email").is_none()
        && e.get("address").is_none()
    {
        let held = match ch {
            Channel::Sms => mobile.is_some(),
            Channel::Email => email.is_some(),
            Channel::Letter => address.is_some(),
        };
        if !held {
            let (field, msg) = match ch {
                Channel::Sms => (
                    "mobile",
                    "Enter a mobile number to remind the person by text",
                ),
                Channel::Email => (
                    "email",
                    "Enter an email address to remind the person by email",
                ),
                Channel::Letter => (
                    "address",
                    "Enter a postal address to remind the person by letter",
                ),
            };
            e.add(field, msg);
        }
    }
    let version = match raw.get("version").trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                e.add("version", "The version must be a whole number");
                None
            }
        },
    };
    match (channel, language, consent) {
        (Some(channel), Some(language), Some(consent)) if e.is_empty() => Ok(ContactInput {
            mobile,
            email,
            address,
            channel,
            language,
            consent,
            do_not_contact,
            do_not_contact_reason,
            version,
        }),
        _ => Err(e),
    }
}

/// The details as the form shows them.
pub fn to_raw(d: Option<&ContactDetails>) -> RawForm {
    let mut raw = RawForm::default();
    match d {
        None => {
            raw.set("channel", Channel::Sms.as_str());
            raw.set("language", Language::English.as_str());
        }
        Some(d) => {
            raw.set("mobile", d.mobile.clone().unwrap_or_default());
            raw.set("email", d.email.clone().unwrap_or_default());
            raw.set("address", d.address.clone().unwrap_or_default());
            raw.set("channel", d.channel.as_str());
            raw.set("language", d.language.as_str());
            raw.set(
                "consent",
                if d.reminders_consent_on.is_some() {
                    "yes"
                } else {
                    "no"
                },
            );
            if d.do_not_contact {
                raw.set("do_not_contact", "yes");
            }
            raw.set(
                "do_not_contact_reason",
                d.do_not_contact_reason.clone().unwrap_or_default(),
            );
            raw.set("version", d.version.to_string());
        }
    }
    raw
}

/// The casework roles that keep the person's contact details: the referral's holder
/// (responsible officer, or the referrer before there is one), its allocated assistant
/// psychologist, and the area's clinical leads. Others in scope may read them.
pub fn may_change(viewer: &Viewer, r: &Referral) -> bool {
    match viewer.role {
        Role::ClinicalLead => true,
        Role::AssistantPsychologist => r.allocated_ap_id.as_deref() == Some(&viewer.user_id),
        Role::ProbationOfficer | Role::LiaisonDiversion => r.holder() == viewer.user_id,
        Role::Councillor | Role::Admin => false,
    }
}

fn may_read(viewer: &Viewer) -> bool {
    !matches!(viewer.role, Role::Councillor | Role::Admin)
}

/// What the contact page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ContactView {
    pub referral_id: String,
    pub reference: String,
    pub can_change: bool,
    #[serde(skip)]
    pub details: Option<ContactDetails>,
}

/// The contact details of the person of referral `id`: opened through the referral's gate,
/// and the view recorded.
pub fn view(c: &mut DbConn, ctx: &Ctx, id: &str) -> Result<ContactView, AppError> {
    let (r, reason) = ctx.open(c, id)?;
    if !may_read(&ctx.viewer) {
        return Err(AppError::Forbidden);
    }
    crate::referrals::access::record_view(
        c,
        &ctx.actor,
        "referral.contact_viewed",
        &r.id,
        reason.as_deref(),
    )?;
    Ok(ContactView {
        can_change: may_change(&ctx.viewer, &r)
            && crate::retention::model::erased_at(c, &r.id)?.is_none(),
        details: of_person(c, &r.person_id)?,
        referral_id: r.id,
        reference: r.reference,
    })
}

fn shown(v: &Option<String>) -> String {
    v.clone().unwrap_or_default().replace('\n', ", ")
}

/// The fields an amendment names, with their values before and after.
fn differences(
    before: Option<&ContactDetails>,
    after: &ContactDetails,
) -> Vec<(&'static str, &'static str, String, String)> {
    let words = |d: Option<&ContactDetails>| -> [String; 7] {
        match d {
            None => Default::default(),
            Some(d) => [
                shown(&d.mobile),
                shown(&d.email),
                shown(&d.address),
                d.channel.label().to_owned(),
                d.language.label().to_owned(),
                d.reminders_consent_on
                    .map(|on| format!("Agreed on {}", crate::web::format::date(on)))
                    .unwrap_or_else(|| "Not agreed".into()),
                if d.do_not_contact {
                    format!("Do not contact: {}", shown(&d.do_not_contact_reason))
                } else {
                    String::new()
                },
            ],
        }
    };
    const FIELDS: [(&str, &str); 7] = [
        ("contact.mobile", "Mobile number"),
        ("contact.email", "Email address for reminders"),
        ("contact.address", "Postal address"),
        ("contact.channel", "Reminders by"),
        ("contact.language", "Language of messages"),
        ("contact.consent", "Agreed to appointment reminders"),
        ("contact.do_not_contact", "Do not contact"),
    ];
    let (old, new) = (words(before), words(Some(after)));
    FIELDS
        .iter()
        .zip(old.into_iter().zip(new))
        .filter(|(_, (o, n))| o != n)
        .map(|((f, l), (o, n))| (*f, *l, o, n))
        .collect()
}

/// Saves the person's details from `input`, through referral `id`: the viewer must keep
/// them (see [`may_change`]), the version must be the one they saw, and every changed field
/// is an amendment. Reminders already queued follow the new details: those that may no
/// longer go are cancelled, and the sessions booked are reminded by the new route.
pub fn save(
    c: &mut DbConn,
    ctx: &Ctx,
    settings: &crate::settings::ReminderSettings,
    id: &str,
    input: &ContactInput,
) -> Result<ContactDetails, AppError> {
    let (r, _) = ctx.open(c, id)?;
    if !may_change(&ctx.viewer, &r) {
        return Err(AppError::Forbidden);
    }
    if crate::retention::model::erased_at(c, &r.id)?.is_some() {
        return Err(AppError::Conflict(
            "This person's details have been erased".into(),
        ));
    }
    let before = of_person(c, &r.person_id)?;
    if before.as_ref().map(|d| d.version) != input.version {
        return Err(AppError::Conflict(
            "Someone else changed these contact details while you were editing them. Check them and make your change again".into(),
        ));
    }
    let now = crate::clock::now();
    let today = crate::clock::today();
    let after = ContactDetails {
        person_id: r.person_id.clone(),
        mobile: input.mobile.clone(),
        email: input.email.clone(),
        address: input.address.clone(),
        channel: input.channel,
        language: input.language,
        do_not_contact: input.do_not_contact,
        do_not_contact_reason: input.do_not_contact_reason.clone(),
        reminders_consent_on: match (input.consent, before.as_ref()) {
            (false, _) => None,
            (true, Some(b)) => b.reminders_consent_on.or(Some(today)),
            (true, None) => Some(today),
        },
        version: before.as_ref().map_or(1, |b| b.version + 1),
        updated_by: ctx.viewer.user_id.clone(),
        updated_at: now,
    };
    let changed = differences(before.as_ref(), &after);
    if changed.is_empty() {
        return Ok(before.unwrap_or(after));
    }
    match &before {
        None => {
            diesel::insert_into(contact_details::table)
                .values(&after)
                .execute(c)?;
        }
        Some(b) => {
            let n = diesel::update(
                contact_details::table
                    .find(&r.person_id)
                    .filter(contact_details::version.eq(b.version)),
            )
            .set(&after)
            .execute(c)?;
            if n != 1 {
                return Err(AppError::Conflict(
                    "Someone else changed these contact details while you were editing them. Check them and make your change again".into(),
                ));
            }
        }
    }
    let rows: Vec<AmendmentRow> = changed
        .iter()
        .map(|(field, label, old, new)| AmendmentRow {
            id: crate::ids::new_id(),
            referral_id: r.id.clone(),
            field: (*field).to_owned(),
            field_label: (*label).to_owned(),
            old_value: old.clone(),
            new_value: new.clone(),
            reason: "Contact details and reminder preferences changed".into(),
            actor_user_id: Some(ctx.viewer.user_id.clone()),
            actor_name: ctx.viewer.name.clone(),
            at: now,
        })
        .collect();
    for row in &rows {
        diesel::insert_into(referral_amendments::table)
            .values(row)
            .execute(c)?;
    }
    let fields: Vec<&str> = changed.iter().map(|(f, ..)| *f).collect();
    audit::record(
        c,
        &ctx.actor,
        Event::new(AuditAction::Alteration, "referral.contact_changed")
            .record("referral", &r.id)
            .details(serde_json::json!({ "fields": fields })),
    )?;
    crate::reminders::schedule::follow_contact(c, settings, &r.person_id)?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_mobiles_are_read_the_ways_people_write_them() {
        for ok in [
            "07700900982",
            "07700 900 982",
            "+44 7700 900982",
            "+44 (0)7700 900982",
            "0044 7700-900-982",
        ] {
            assert_eq!(uk_mobile(ok).as_deref(), Some("07700900982"), "{ok}");
        }
        for bad in [
            "0770090098",
            "077009009821",
            "01632 960 001",
            "+1 202 555 0100",
            "07700 9009a2",
        ] {
            assert_eq!(uk_mobile(bad), None, "{bad}");
        }
    }

    #[test]
    fn postcodes_are_checked_and_written_one_way() {
        assert_eq!(uk_postcode("le156hp").as_deref(), Some("LE15 6HP"));
        assert_eq!(uk_postcode("SW1A 1AA").as_deref(), Some("SW1A 1AA"));
        assert_eq!(uk_postcode("M1 1AE").as_deref(), Some("M1 1AE"));
        for bad in ["Oakham", "LE15", "12345", "LE15 6H", "ÖE15 6HP"] {
            assert_eq!(uk_postcode(bad), None, "{bad}");
        }
    }

    fn form(pairs: &[(&str, &str)]) -> RawForm {
        let mut raw = RawForm::default();
        for (k, v) in pairs {
            raw.set(k, *v);
        }
        raw
    }

    #[test]
    fn the_chosen_channel_needs_its_detail_and_do_not_contact_needs_a_reason() {
        let e = parse(&form(&[
            ("channel", "sms"),
            ("language", "cy"),
            ("consent", "yes"),
        ]))
        .unwrap_err();
        assert!(e.get("mobile").is_some());
        let e = parse(&form(&[
            ("channel", "letter"),
            ("language", "en"),
            ("consent", "yes"),
            ("address", "1 High Street\nOakham"),
        ]))
        .unwrap_err();
        assert!(e.get("address").is_some());
        let e = parse(&form(&[
            ("mobile", "07700900982"),
            ("channel", "sms"),
            ("language", "en"),
            ("consent", "no"),
            ("do_not_contact", "yes"),
        ]))
        .unwrap_err();
        assert!(e.get("do_not_contact_reason").is_some());
        let ok = parse(&form(&[
            ("mobile", "+447700900982"),
            ("address", "1 High Street\r\nOakham\r\nle15 6hp"),
            ("channel", "sms"),
            ("language", "cy"),
            ("consent", "yes"),
        ]))
        .unwrap();
        assert_eq!(ok.mobile.as_deref(), Some("07700900982"));
        assert_eq!(
            ok.address.as_deref(),
            Some("1 High Street\nOakham\nLE15 6HP")
        );
        assert_eq!(ok.language, Language::Welsh);
    }
}
