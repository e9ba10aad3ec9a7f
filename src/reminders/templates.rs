//! The wording of the messages to the person, one subject and body for each kind and
//! language. Shipped wording is used until an administrator changes it on
//! `/admin/reminders`; a change is checked (known placeholders only, the date and time
//! present, short enough for three text messages), previewed, audited and kept.
//!
//! The messages never say what the appointment is for: they name who it is with
//! (`reminders.provider`), when and where.

use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::reminder_templates;
use crate::error::{AppError, FieldErrors};
use crate::form::{RawForm, text};
use crate::reminders::{Language, ReminderKind};
use crate::sessions::codes::Mode;
use crate::users::model::Role;

/// What a placeholder may be: `((name))`.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("provider", "who the appointment is with"),
    (
        "date",
        "the appointment's day, like Tuesday 12 January (in Welsh, after \"ar\": ddydd Mawrth 12 Ionawr)",
    ),
    ("time", "the appointment's time, like 2:30pm"),
    (
        "place",
        "where: \"at\" the place, or by phone or video call",
    ),
];

/// Three text messages' worth: Notify charges by the 160-character part.
pub const MOST_BODY: usize = 459;
const MOST_SUBJECT: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wording {
    pub subject: String,
    pub body: String,
}

/// The shipped wording.
pub fn shipped(kind: ReminderKind, language: Language) -> Wording {
    let (subject, body) = match (kind, language) {
        (ReminderKind::Booked, Language::English) => (
            "Your appointments with ((provider))",
            "Your next appointment with ((provider)) is on ((date)) at ((time)), ((place)). We will remind you before each appointment.",
        ),
        (ReminderKind::Moved, Language::English) => (
            "Your appointment with ((provider)) has moved",
            "Your appointment with ((provider)) has moved. It is now on ((date)) at ((time)), ((place)).",
        ),
        (ReminderKind::Upcoming, Language::English) => (
            "Reminder: appointment with ((provider))",
            "Reminder: you have an appointment with ((provider)) on ((date)) at ((time)), ((place)).",
        ),
        (ReminderKind::Cancelled, Language::English) => (
            "Your appointment with ((provider)) is cancelled",
            "Your appointment with ((provider)) on ((date)) at ((time)) is cancelled, so you do not need to attend. We will tell you when your next appointment is.",
        ),
        (ReminderKind::Booked, Language::Welsh) => (
            "Eich apwyntiadau gyda ((provider))",
            "Mae eich apwyntiad nesaf gyda ((provider)) ar ((date)) am ((time)), ((place)). Byddwn yn eich atgoffa cyn pob apwyntiad.",
        ),
        (ReminderKind::Moved, Language::Welsh) => (
            "Mae eich apwyntiad gyda ((provider)) wedi symud",
            "Mae eich apwyntiad gyda ((provider)) wedi symud. Mae nawr ar ((date)) am ((time)), ((place)).",
        ),
        (ReminderKind::Upcoming, Language::Welsh) => (
            "Nodyn atgoffa: apwyntiad gyda ((provider))",
            "Nodyn atgoffa: mae gennych apwyntiad gyda ((provider)) ar ((date)) am ((time)), ((place)).",
        ),
        (ReminderKind::Cancelled, Language::Welsh) => (
            "Mae eich apwyntiad gyda ((provider)) wedi'i ganslo",
            "Mae eich apwyntiad gyda ((provider)) ar ((date)) am ((time)) wedi'i ganslo, felly does dim angen i chi ddod. Byddwn yn dweud wrthych pryd mae eich apwyntiad nesaf.",
        ),
    };
    Wording {
        subject: subject.into(),
        body: body.into(),
    }
}

/// The wording in use: an administrator's, or the shipped one.
pub fn wording(
    c: &mut DbConn,
    kind: ReminderKind,
    language: Language,
) -> Result<(Wording, bool), AppError> {
    let stored: Option<(String, String)> = reminder_templates::table
        .find((kind.as_str(), language.as_str()))
        .select((reminder_templates::subject, reminder_templates::body))
        .first(c)
        .optional()?;
    Ok(match stored {
        Some((subject, body)) => (Wording { subject, body }, true),
        None => (shipped(kind, language), false),
    })
}

/// The values a message fills in.
#[derive(Debug, Clone)]
pub struct Values {
    pub provider: String,
    /// UK wall-clock time of the appointment.
    pub starts_at: NaiveDateTime,
    pub mode: Mode,
    pub location: Option<String>,
}

/// Welsh day and month names (English ones come from chrono).
const WELSH_DAYS: [&str; 7] = [
    "ddydd Llun",
    "ddydd Mawrth",
    "ddydd Mercher",
    "ddydd Iau",
    "ddydd Gwener",
    "ddydd Sadwrn",
    "ddydd Sul",
];
const WELSH_MONTHS: [&str; 12] = [
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
];

/// "Tuesday 12 January" / "ddydd Mawrth 12 Ionawr": in Welsh, mutated as it follows "ar"
/// ("on"), as every Welsh template writes it.
pub fn date_words(at: NaiveDateTime, language: Language) -> String {
    match language {
        Language::English => at.format("%A %-d %B").to_string(),
        Language::Welsh => format!(
            "{} {} {}",
            WELSH_DAYS[at.weekday().num_days_from_monday() as usize],
            at.day(),
            WELSH_MONTHS[at.month0() as usize]
        ),
    }
}

/// "2:30pm" / "2:30yp" (GOV.UK and the Welsh Government's style).
pub fn time_words(at: NaiveDateTime, language: Language) -> String {
    let (pm, hour) = at.hour12();
    let suffix = match (language, pm) {
        (Language::English, false) => "am",
        (Language::English, true) => "pm",
        (Language::Welsh, false) => "yb",
        (Language::Welsh, true) => "yp",
    };
    format!("{hour}:{:02}{suffix}", at.minute())
}

fn place_words(mode: Mode, location: Option<&str>, language: Language) -> String {
    match (mode, language) {
        (Mode::InPerson, Language::English) => {
            format!("at {}", location.unwrap_or("the usual place"))
        }
        (Mode::InPerson, Language::Welsh) => format!("yn {}", location.unwrap_or("y lle arferol")),
        (Mode::Phone, Language::English) => "by phone".into(),
        (Mode::Phone, Language::Welsh) => "dros y ffôn".into(),
        (Mode::Video, Language::English) => "by video call".into(),
        (Mode::Video, Language::Welsh) => "dros alwad fideo".into(),
    }
}

/// `text` with each `((name))` replaced by its value.
pub fn fill(text: &str, values: &Values, language: Language) -> String {
    let mut out = text.to_owned();
    for (name, value) in [
        ("provider", values.provider.clone()),
        ("date", date_words(values.starts_at, language)),
        ("time", time_words(values.starts_at, language)),
        (
            "place",
            place_words(values.mode, values.location.as_deref(), language),
        ),
    ] {
        out = out.replace(&format!("(({name}))"), &value);
    }
    out
}

/// The message for `values` in the wording in use.
pub fn render(
    c: &mut DbConn,
    kind: ReminderKind,
    language: Language,
    values: &Values,
) -> Result<Wording, AppError> {
    let (w, _) = wording(c, kind, language)?;
    Ok(Wording {
        subject: fill(&w.subject, values, language),
        body: fill(&w.body, values, language),
    })
}

/// The placeholders in `text`, or what is wrong with them.
fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("((") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("))") else {
            return Err("A placeholder is not closed: write it as ((date))".into());
        };
        let name = &after[..close];
        if !PLACEHOLDERS.iter().any(|(n, _)| *n == name) {
            return Err(format!(
                "(({name})) is not a placeholder this service fills in: use {}",
                PLACEHOLDERS
                    .iter()
                    .map(|(n, _)| format!("(({n}))"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        found.push(name);
        rest = &after[close + 2..];
    }
    Ok(found)
}

/// Reads an administrator's wording.
pub fn parse(raw: &RawForm) -> Result<Wording, FieldErrors> {
    let mut e = FieldErrors::new();
    let subject = text(
        raw,
        &mut e,
        "subject",
        "The subject",
        Some("Enter the subject (the email's subject and the letter's heading)"),
        MOST_SUBJECT,
    );
    let body = text(
        raw,
        &mut e,
        "body",
        "The message",
        Some("Enter the message"),
        MOST_BODY,
    );
    if let Some(s) = &subject
        && let Err(msg) = placeholders(s)
    {
        e.add("subject", msg);
    }
    if let Some(b) = &body {
        match placeholders(b) {
            Err(msg) => e.add("body", msg),
            Ok(found) => {
                if !found.contains(&"date") || !found.contains(&"time") {
                    e.add(
                        "body",
                        "The message must give the appointment's ((date)) and ((time))",
                    );
                }
            }
        }
    }
    match (subject, body) {
        (Some(subject), Some(body)) if e.is_empty() => Ok(Wording { subject, body }),
        _ => Err(e),
    }
}

/// A message as it would read, for the preview: a session next Tuesday at 2:30pm in person.
pub fn preview(wording: &Wording, language: Language, provider: &str) -> Wording {
    let today = crate::clock::today();
    let mut day = today + chrono::Duration::days(1);
    while day.weekday() != Weekday::Tue {
        day += chrono::Duration::days(1);
    }
    let values = Values {
        provider: if provider.trim().is_empty() {
            "(your service's name)".into()
        } else {
            provider.to_owned()
        },
        starts_at: day.and_hms_opt(14, 30, 0).unwrap_or_default(),
        mode: Mode::InPerson,
        location: Some("Oakham Community Hub".into()),
    };
    Wording {
        subject: fill(&wording.subject, &values, language),
        body: fill(&wording.body, &values, language),
    }
}

/// One template as the administrators' page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateRow {
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub language: &'static str,
    pub language_label: &'static str,
    pub subject: String,
    pub body: String,
    pub changed: bool,
}

fn admin_only(role: Role) -> Result<(), AppError> {
    if role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Every template, for administrators.
pub fn list(c: &mut DbConn, role: Role) -> Result<Vec<TemplateRow>, AppError> {
    admin_only(role)?;
    let mut out = Vec::new();
    for kind in ReminderKind::ALL {
        for language in Language::ALL {
            let (w, changed) = wording(c, *kind, *language)?;
            out.push(TemplateRow {
                kind: kind.as_str(),
                kind_label: kind.label(),
                language: language.as_str(),
                language_label: language.label(),
                subject: w.subject,
                body: w.body,
                changed,
            });
        }
    }
    Ok(out)
}

/// The wording in use of one template, for administrators.
pub fn for_admin(
    c: &mut DbConn,
    role: Role,
    kind: ReminderKind,
    language: Language,
) -> Result<(Wording, bool), AppError> {
    admin_only(role)?;
    wording(c, kind, language)
}

/// The kind and language named in a path, or not found.
pub fn named(kind: &str, language: &str) -> Result<(ReminderKind, Language), AppError> {
    match (kind.parse(), language.parse()) {
        (Ok(k), Ok(l)) => Ok((k, l)),
        _ => Err(AppError::NotFound),
    }
}

/// Saves an administrator's wording, audited with what it was. The wording goes to every
/// person the service reminds, so only a service-wide administrator changes it.
pub fn save(
    c: &mut DbConn,
    role: Role,
    service_wide: bool,
    actor: &Actor,
    kind: ReminderKind,
    language: Language,
    wording: &Wording,
) -> Result<(), AppError> {
    admin_only(role)?;
    if !service_wide {
        return Err(AppError::Forbidden);
    }
    let (before, _) = self::wording(c, kind, language)?;
    diesel::delete(reminder_templates::table.find((kind.as_str(), language.as_str())))
        .execute(c)?;
    diesel::insert_into(reminder_templates::table)
        .values((
            reminder_templates::kind.eq(kind.as_str()),
            reminder_templates::language.eq(language.as_str()),
            reminder_templates::subject.eq(&wording.subject),
            reminder_templates::body.eq(&wording.body),
            reminder_templates::updated_by.eq(actor.user_id.clone().unwrap_or_default()),
            reminder_templates::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Administration, "reminders.template_changed")
            .record("reminder_template", &format!("{kind}/{language}"))
            .details(serde_json::json!({
                "before": before,
                "after": wording,
            })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn dates_and_times_read_in_english_and_welsh() {
        let t = at("2027-01-12 14:30");
        assert_eq!(date_words(t, Language::English), "Tuesday 12 January");
        assert_eq!(date_words(t, Language::Welsh), "ddydd Mawrth 12 Ionawr");
        assert_eq!(time_words(t, Language::English), "2:30pm");
        assert_eq!(time_words(t, Language::Welsh), "2:30yp");
        assert_eq!(
            time_words(at("2027-01-12 09:05"), Language::Welsh),
            "9:05yb"
        );
        assert_eq!(
            time_words(at("2027-01-12 12:00"), Language::English),
            "12:00pm"
        );
    }

    #[test]
    fn shipped_wording_passes_its_own_checks_and_never_names_the_treatment() {
        for kind in ReminderKind::ALL {
            for language in Language::ALL {
                let w = shipped(*kind, *language);
                let mut raw = RawForm::default();
                raw.set("subject", w.subject.clone());
                raw.set("body", w.body.clone());
                assert_eq!(parse(&raw), Ok(w.clone()), "{kind} {language}");
                let all = format!("{} {}", w.subject, w.body).to_lowercase();
                for word in [
                    "mental",
                    "health",
                    "treatment",
                    "psycholog",
                    "probation",
                    "court",
                    "iechyd",
                ] {
                    assert!(!all.contains(word), "{kind} {language}: {word}");
                }
            }
        }
    }

    #[test]
    fn unknown_or_open_placeholders_and_a_missing_date_are_refused() {
        let check = |subject: &str, body: &str| {
            let mut raw = RawForm::default();
            raw.set("subject", subject);
            raw.set("body", body);
            parse(&raw)
        };
        let e = check("Hi ((name))", "On ((date)) at ((time))").unwrap_err();
        assert!(e.get("subject").unwrap().contains("((name))"));
        let e = check("Hi", "On ((date at ((time))").unwrap_err();
        assert!(e.get("body").is_some());
        let e = check("Hi", "On ((date))").unwrap_err();
        assert!(e.get("body").unwrap().contains("((time))"));
        let e = check("Hi", &"x".repeat(MOST_BODY + 1)).unwrap_err();
        assert!(e.get("body").unwrap().contains("459"));
    }

    #[test]
    fn a_message_is_filled_in() {
        let v = Values {
            provider: "Turning Point".into(),
            starts_at: at("2027-01-12 14:30"),
            mode: Mode::Phone,
            location: None,
        };
        assert_eq!(
            fill(
                &shipped(ReminderKind::Upcoming, Language::English).body,
                &v,
                Language::English
            ),
            "Reminder: you have an appointment with Turning Point on Tuesday 12 January at 2:30pm, by phone."
        );
        assert_eq!(
            fill(
                &shipped(ReminderKind::Moved, Language::Welsh).body,
                &v,
                Language::Welsh
            ),
            "Mae eich apwyntiad gyda Turning Point wedi symud. Mae nawr ar ddydd Mawrth 12 Ionawr am 2:30yp, dros y ffôn."
        );
    }
}
