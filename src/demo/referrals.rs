//! Demo referrals in varied states across the demo areas, so every referral page has
//! something to show. Each is made once, keyed by a fixed idempotency key, so loading the
//! demo again changes nothing.

use chrono::{Duration, NaiveDate};

use crate::audit::Actor;
use crate::clock::now;
use crate::db::DbConn;
use crate::error::AppError;
use crate::form::RawForm;
use crate::referrals::access::Ctx;
use crate::referrals::codes::*;
use crate::referrals::forms::{self, AssessmentReport, TransitionInput};
use crate::referrals::model::Viewer;
use crate::referrals::service::{self, CreateOutcome, PersonChoice};
use crate::referrals::state::Action;
use crate::users::model::{self as users, User};

/// The whole pathway in order; most demo referrals have gone some way along it.
const PATHWAY: &[Action] = &[
    Action::Accept,
    Action::BookAssessment,
    Action::RecordAssessment,
    Action::RecordSuitable,
    Action::RecordConsent,
    Action::SendReport,
    Action::AwaitSentence,
    Action::RecordMhtrMade,
    Action::RecordInduction,
    Action::AllocateAp,
    Action::StartTreatment,
    Action::EndTreatment,
    Action::Close,
];

struct DemoPerson {
    given: &'static str,
    family: &'static str,
    born: (i32, u32, u32),
    area: &'static str,
    crn: &'static str,
    entry: EntryPoint,
    /// How far along the pathway the referral has gone.
    steps: &'static [Action],
    /// Sessions planned five weeks ago and recorded since (after allocation).
    sessions: bool,
    /// A Drug Rehabilitation Requirement running beside the MHTR, with some activity.
    drr: bool,
}

const PEOPLE: &[DemoPerson] = &[
    DemoPerson {
        given: "Daniel",
        family: "Hughes",
        born: (1991, 3, 14),
        area: "Melton",
        crn: "M204113",
        entry: EntryPoint::Probation,
        steps: &[],
        sessions: false,
        drr: false,
    },
    DemoPerson {
        given: "Aisha",
        family: "Rahman",
        born: (1987, 9, 2),
        area: "Rutland",
        crn: "",
        entry: EntryPoint::Arrest,
        steps: PATHWAY.split_at(1).0,
        sessions: false,
        drr: false,
    },
    DemoPerson {
        given: "Kieran",
        family: "Walsh",
        born: (1979, 12, 30),
        area: "Harborough",
        crn: "H310987",
        entry: EntryPoint::Probation,
        steps: PATHWAY.split_at(2).0,
        sessions: false,
        drr: false,
    },
    DemoPerson {
        given: "Sophie",
        family: "Turner",
        born: (1995, 6, 21),
        area: "Rutland",
        crn: "R118542",
        entry: EntryPoint::Probation,
        steps: PATHWAY.split_at(7).0,
        sessions: false,
        drr: false,
    },
    DemoPerson {
        given: "Marcus",
        family: "Bailey",
        born: (1983, 1, 8),
        area: "Melton",
        crn: "M998102",
        entry: EntryPoint::Probation,
        steps: PATHWAY.split_at(8).0,
        sessions: false,
        drr: false,
    },
    DemoPerson {
        given: "Priti",
        family: "Mistry",
        born: (1990, 11, 17),
        area: "Rutland",
        crn: "R552310",
        entry: EntryPoint::Probation,
        steps: PATHWAY.split_at(10).0,
        sessions: true,
        drr: true,
    },
    DemoPerson {
        given: "Liam",
        family: "O'Connor",
        born: (1976, 4, 5),
        area: "Harborough",
        crn: "H771204",
        entry: EntryPoint::Probation,
        steps: PATHWAY.split_at(13).0,
        sessions: false,
        drr: false,
    },
    DemoPerson {
        given: "Grace",
        family: "Adeyemi",
        born: (1998, 8, 29),
        area: "Melton",
        crn: "M430015",
        entry: EntryPoint::Probation,
        steps: &[Action::Accept, Action::Withdraw],
        sessions: false,
        drr: false,
    },
    DemoPerson {
        given: "Ryan",
        family: "Cooper",
        born: (1985, 2, 11),
        area: "Rutland",
        crn: "",
        entry: EntryPoint::Arrest,
        steps: &[Action::Decline],
        sessions: false,
        drr: false,
    },
    DemoPerson {
        given: "Ellie",
        family: "Watson",
        born: (1993, 5, 9),
        area: "Rutland",
        crn: "R640981",
        entry: EntryPoint::Probation,
        steps: PATHWAY.split_at(10).0,
        sessions: false,
        drr: false,
    },
    // Daniel Hughes's CRN typed for someone else: the referral gets a person of its own and
    // the clinical lead is asked to confirm or split the match.
    DemoPerson {
        given: "Jordan",
        family: "Ellis",
        born: (1987, 11, 2),
        area: "Melton",
        crn: "M204113",
        entry: EntryPoint::Probation,
        steps: &[],
        sessions: false,
        drr: false,
    },
];

fn viewer_of(c: &mut DbConn, u: &User) -> Result<Viewer, AppError> {
    Ok(Viewer {
        user_id: u.id.clone(),
        name: u.name.clone(),
        role: u.role,
        organisation_id: u.organisation_id.clone(),
        area_ids: users::area_ids(c, &u.id)?,
        service_wide: u.service_wide,
        police_cleared: u.police_cleared(crate::clock::today()),
    })
}

fn answers(p: &DemoPerson, area_id: &str, today: NaiveDate) -> RawForm {
    let mut r = RawForm::default();
    let pairs: &[(&str, &str)] = &[
        ("entry_point", p.entry.as_str()),
        ("given_name", p.given),
        ("family_name", p.family),
        (
            "sex",
            if matches!(p.given, "Aisha" | "Sophie" | "Priti" | "Grace") {
                "female"
            } else {
                "male"
            },
        ),
        ("gender_identity", "same_as_sex"),
        (
            "ethnicity",
            if p.given == "Priti" {
                "asian_indian"
            } else if p.given == "Grace" {
                "black_african"
            } else {
                "white_british"
            },
        ),
        ("crn", p.crn),
        ("area_id", area_id),
        ("interpreter_needed", "no"),
        (
            "offence_category",
            if p.entry == EntryPoint::Arrest {
                "public_order"
            } else {
                "theft"
            },
        ),
        (
            "substance_misuse",
            if p.given == "Marcus" { "yes" } else { "no" },
        ),
        (
            "drr_atr",
            if p.given == "Marcus" {
                "drr_proposed"
            } else {
                "none"
            },
        ),
        ("rosh_level", "low"),
        ("risk_to_staff", "no"),
        (
            "urgency",
            if p.given == "Aisha" {
                "urgent"
            } else {
                "routine"
            },
        ),
        ("session_mode", "in_person"),
        ("preferred_times", "Weekday mornings"),
        ("location_kind", "custody_suite"),
        ("location", "Euston Street custody suite, Leicester"),
        ("ld_practitioner", "Amira Hussain"),
        // Aisha Rahman did not consent to share with criminal justice agencies: probation
        // sees her referral without its health information.
        (
            "consent_to_share",
            if p.given == "Aisha" { "no" } else { "yes" },
        ),
        ("court", "Leicester Magistrates' Court"),
    ];
    for (k, v) in pairs {
        r.set(k, *v);
    }
    r.set_all("needs", vec!["anxiety".into(), "depression".into()]);
    r.set_all(
        "vulnerabilities",
        vec!["mental_health".into(), "housing".into()],
    );
    r.set_date(
        "date_of_birth",
        NaiveDate::from_ymd_opt(p.born.0, p.born.1, p.born.2),
    );
    r.set_date("hearing_date", Some(today + Duration::days(28)));
    r
}

/// Makes the demo referrals that do not exist yet. Call inside the demo's write transaction.
pub fn load(c: &mut DbConn) -> Result<(), AppError> {
    let by_email =
        |c: &mut DbConn, email: &str| users::by_email(c, email)?.ok_or(AppError::NotFound);
    let po = by_email(c, "priya.shah@probation.demo.example")?;
    let ap = by_email(c, "tom.walker@turningpoint.demo.example")?;
    let cl = by_email(c, "helen.carter@turningpoint.demo.example")?;
    let ld = by_email(c, "amira.hussain@nhs-ld.demo.example")?;
    let (po_v, ap_v, cl_v) = (viewer_of(c, &po)?, viewer_of(c, &ap)?, viewer_of(c, &cl)?);
    let ld_v = viewer_of(c, &ld)?;
    let actor = |v: &Viewer| Actor::user(&v.user_id, &v.name, None);
    let today = crate::clock::today();
    crate::demo::signposting::load_directory(c)?;
    for (i, p) in PEOPLE.iter().enumerate() {
        let area = crate::areas::find_area(c, p.area)?.ok_or(AppError::NotFound)?;
        let raw = answers(p, &area.id, today);
        let input = forms::parse_referral(&raw, &po_v.area_ids, today)
            .map_err(|e| AppError::Config(format!("demo referral {i} is invalid: {e:?}")))?;
        let key = format!("demo:{i}");
        // Arrest referrals come from the Liaison and Diversion practitioner.
        let referrer = if p.entry == EntryPoint::Arrest {
            &ld_v
        } else {
            &po_v
        };
        let created = service::create(
            c,
            referrer,
            &actor(referrer),
            &input,
            &PersonChoice::New,
            Some(&key),
            None,
            None,
        )?;
        let referral = match created {
            CreateOutcome::Created(r) => r,
            // Already loaded earlier.
            CreateOutcome::Repeated(_) | CreateOutcome::PossibleDuplicates(_) => continue,
        };
        let mut version = referral.version;
        let days_ago = |n: i64| Some(today - Duration::days(n));
        for action in p.steps {
            let (viewer, t) = match action {
                Action::Accept => (&cl_v, TransitionInput::default()),
                Action::Decline => (&cl_v, TransitionInput { text: Some("Needs are above the primary-care threshold: referred to the community mental health team".into()), ..Default::default() }),
                Action::BookAssessment => (&cl_v, TransitionInput { date: days_ago(-3).filter(|_| p.steps.len() == 2).or(days_ago(60)), user_id: Some(ap.id.clone()), ..Default::default() }),
                Action::RecordAssessment => (&ap_v, TransitionInput { date: days_ago(58), ..Default::default() }),
                Action::RecordSuitable => (&cl_v, TransitionInput::default()),
                Action::RecordConsent => (&ap_v, TransitionInput { date: days_ago(58), ..Default::default() }),
                Action::SendReport => (&cl_v, TransitionInput {
                    date: days_ago(55),
                    report: Some(AssessmentReport {
                        formulation: "Low mood and anxiety, kept going by isolation, poor sleep and rumination about the offence; motivated to change. A structured, time-limited psychological intervention fits.".into(),
                        recommendation: "A Mental Health Treatment Requirement of 12 weekly sessions with the community order".into(),
                        proposed_start: days_ago(40).unwrap_or(today),
                        proposed_sessions: 12,
                        proposed_mode: crate::sessions::codes::Mode::InPerson,
                    }),
                    ..Default::default()
                }),
                Action::AwaitSentence => (&po_v, TransitionInput { date: days_ago(-10).filter(|_| p.steps.len() == 7).or(days_ago(45)), ..Default::default() }),
                Action::RecordMhtrMade => (&po_v, TransitionInput {
                    order_type: Some(OrderType::Community),
                    sentence_date: days_ago(45),
                    requirement_end_date: days_ago(-140),
                    court: Some("Leicester Magistrates' Court".into()),
                    user_id: Some(cl.id.clone()),
                    combined_with: Some(if p.drr { CombinedWith::Drr } else { CombinedWith::None }),
                    ..Default::default()
                }),
                Action::RecordInduction => (&po_v, TransitionInput { date: days_ago(42), ..Default::default() }),
                Action::AllocateAp => (&cl_v, TransitionInput { user_id: Some(ap.id.clone()), ..Default::default() }),
                Action::StartTreatment => (&ap_v, TransitionInput { date: days_ago(35), ..Default::default() }),
                // The demo's ended referrals carry no session history: a clinical decision ends them.
                Action::EndTreatment => (&ap_v, TransitionInput { date: days_ago(2), end_outcome: Some(EndOutcome::CompletedEarly), text: Some("Treatment goals met; relapse-prevention plan agreed".into()), ..Default::default() }),
                Action::Withdraw => (&po_v, TransitionInput { withdrawal_reason: Some(WithdrawalReason::PersonDeclined), ..Default::default() }),
                _ => (&cl_v, TransitionInput::default()),
            };
            if *action == Action::Close {
                // A referral closes once onward support is settled.
                crate::demo::signposting::signpost_ended(c, &ap_v, &referral.id, today, true)?;
            }
            let t = TransitionInput { version, ..t };
            let moved =
                service::follow(c, viewer, &actor(viewer), &referral.id, *action, &t, None)?;
            version = moved.version;
        }
        if p.sessions {
            demo_sessions(c, &ap_v, &po_v, &referral.id, today)?;
            crate::demo::signposting::follow_up_due(c, &ap_v, &referral.id, today)?;
        }
        if p.drr {
            demo_drr(c, &po_v, &ap_v, &referral.id, today)?;
        }
    }
    Ok(())
}

/// A weekly plan that began five weeks ago: the first four sessions recorded — an
/// unacceptable absence, for which the responsible officer gave a warning, then a failure to
/// comply within 12 months of it (so the referral waits for the officer's decision, breach
/// action expected), then an absence awaiting evidence — and the last one past still to
/// record; PHQ-9 and GAD-7 at the first session, with the risk item answered.
fn demo_sessions(
    c: &mut DbConn,
    ap: &Viewer,
    po: &Viewer,
    referral_id: &str,
    today: NaiveDate,
) -> Result<(), AppError> {
    use crate::sessions::codes::{Mode, Outcome, Stage};
    use crate::sessions::forms::{Attendance, AttendanceInput, MeasureInput, PlanInput};
    use crate::sessions::measures::{Instrument, Scores};
    use crate::sessions::{calendar, plan, service as sessions};
    use chrono::Datelike;
    let acting = Ctx::new(ap.clone(), Actor::user(&ap.user_id, &ap.name, None), now());
    let mut first = today - Duration::days(35);
    while first.weekday().number_from_monday() > 5 || calendar::is_bank_holiday(first) {
        first += Duration::days(1);
    }
    let input = PlanInput {
        first: first.and_hms_opt(10, 0, 0).unwrap_or_default(),
        cadence: plan::Cadence::Weekly,
        minutes: plan::DEFAULT_MINUTES,
        mode: Mode::InPerson,
        location: Some("Oakham Probation Office, interview room 2".into()),
        measures: crate::sessions::codes::MeasureSchedule::EverySession,
    };
    let made = sessions::make_plan(c, &acting, referral_id, &input, None)?;
    // The second absence awaits evidence, with days left to give it.
    let outcomes = [
        Attendance::of(Outcome::Attended),
        Attendance::of(Outcome::UnacceptableAbsence),
        Attendance::of(Outcome::FailedToComply),
        Attendance {
            evidence_due: Some(today + Duration::days(3)),
            ..Attendance::of(Outcome::AwaitingEvidence)
        },
    ];
    let past = made.iter().filter(|s| s.starts_at.date() < today);
    for (s, attendance) in past.zip(outcomes) {
        let outcome = attendance.outcome;
        let notes = outcome
            .attended()
            .then(|| "Engaged well; worked on a sleep diary and grounding techniques.".to_owned());
        sessions::record_attendance(
            c,
            &acting,
            &s.id,
            &AttendanceInput {
                version: s.version,
                attendance,
                engagement_notes: notes,
                summary_for_ro: outcome
                    .attended()
                    .then(|| "Attended and engaged.".to_owned()),
            },
            None,
        )?;
        if outcome == Outcome::UnacceptableAbsence {
            demo_warning(c, po, &s.id, s.starts_at.date() + Duration::days(1))?;
        }
    }
    let measures = [
        (Instrument::Phq9, vec![2, 2, 1, 2, 1, 1, 1, 0, 1]),
        (Instrument::Gad7, vec![2, 2, 1, 1, 1, 1, 1]),
    ];
    for (instrument, answers) in measures {
        let scores = Scores::from_answers(instrument, &answers)
            .map_err(|e| AppError::Config(format!("demo measure is invalid: {e}")))?;
        sessions::record_measure(
            c,
            &acting,
            &made[0].id,
            &MeasureInput {
                stage: Stage::First,
                scores,
            },
            None,
        )?;
    }
    demo_contact(c, &acting, referral_id)
}

/// The responsible officer's warning, given on `on`, for the failure at `session_id`.
fn demo_warning(
    c: &mut DbConn,
    po: &Viewer,
    session_id: &str,
    on: NaiveDate,
) -> Result<(), AppError> {
    use crate::sessions::codes::EnforcementDecision;
    let review = crate::sessions::model::review_of_session(c, session_id)?
        .ok_or_else(|| AppError::Config("the demo absence has no enforcement review".into()))?;
    let acting = Ctx::new(po.clone(), Actor::user(&po.user_id, &po.name, None), now());
    crate::sessions::enforcement::decide_review(
        c,
        &acting,
        &review.id,
        &crate::sessions::forms::DecisionInput {
            decision: EnforcementDecision::Warning,
            action_on: Some(on),
            note: Some(
                "Warning letter sent; the requirement and its sessions explained again".into(),
            ),
        },
    )?;
    Ok(())
}

/// How the demo reminds the person: written and logged, never sent.
pub fn demo_reminders() -> crate::settings::ReminderSettings {
    crate::settings::ReminderSettings {
        transport: crate::settings::ReminderTransport::Log,
        provider: DEMO_PROVIDER.into(),
        ..Default::default()
    }
}

/// Who the demo's appointments are with, as its messages say.
pub const DEMO_PROVIDER: &str = "Rutland Wellbeing Service";

/// The person agreed to text reminders in English, with an address for letters; their
/// sessions still to come get their reminders.
fn demo_contact(c: &mut DbConn, acting: &Ctx, referral_id: &str) -> Result<(), AppError> {
    use crate::reminders::contact::{self, ContactInput};
    use diesel::prelude::*;
    let person: String = crate::db::schema::referrals::table
        .find(referral_id)
        .select(crate::db::schema::referrals::person_id)
        .first(c)?;
    if contact::of_person(c, &person)?.is_some() {
        return Ok(());
    }
    let input = ContactInput {
        // Ofcom's range for drama: never a real phone.
        mobile: Some("07700900982".into()),
        email: None,
        address: Some("Flat 2\n14 High Street\nOakham\nLE15 6AB".into()),
        channel: crate::reminders::Channel::Sms,
        language: crate::reminders::Language::English,
        consent: true,
        do_not_contact: false,
        do_not_contact_reason: None,
        version: None,
    };
    contact::save(c, acting, &demo_reminders(), referral_id, &input)?;
    Ok(())
}

/// A DRR with a drug service, running in parallel since the order was made: active, with
/// appointments kept and missed, a review, and a court review to come.
fn demo_drr(
    c: &mut DbConn,
    po: &Viewer,
    ap: &Viewer,
    referral_id: &str,
    today: NaiveDate,
) -> Result<(), AppError> {
    use crate::linked::codes::{
        ActivityKind, EnteredVia, RequirementKind, RequirementStatus, Sequencing,
    };
    use crate::linked::forms::{ActivityInput, RequirementInput};
    use crate::linked::service as linked;
    let acting = |v: &Viewer| Ctx::new(v.clone(), Actor::user(&v.user_id, &v.name, None), now());
    let (po, ap) = (acting(po), acting(ap));
    let drr = linked::add(
        c,
        &po,
        referral_id,
        &RequirementInput {
            kind: RequirementKind::Drr,
            provider: "Rutland Drug and Alcohol Service".into(),
            treatment_director: "Dr Morgan Reid".into(),
            key_contact: Some("Sam Patel, keyworker, 01572 000 000".into()),
            start_date: today - Duration::days(45),
            end_date: today - Duration::days(45) + Duration::days(365),
            sequencing: Sequencing::Parallel,
            status: RequirementStatus::Active,
        },
    )?;
    let entries = [
        (
            &po,
            -38,
            ActivityKind::AppointmentAttended,
            "Assessment with the keyworker; prescribing plan agreed.",
        ),
        (
            &po,
            -24,
            ActivityKind::AppointmentMissed,
            "Did not attend; keyworker rebooked for the following week.",
        ),
        (
            &ap,
            -17,
            ActivityKind::ReviewHeld,
            "Three-way review with probation and the MHTR practitioner.",
        ),
        (
            &po,
            20,
            ActivityKind::CourtReview,
            "First DRR court review, Leicester Magistrates' Court.",
        ),
    ];
    for (acting, days, kind, note) in entries {
        linked::add_activity(
            c,
            acting,
            &drr.id,
            &ActivityInput {
                on_date: today + Duration::days(days),
                kind,
                note: note.into(),
            },
            EnteredVia::Page,
        )?;
    }
    Ok(())
}
