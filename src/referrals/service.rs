//! Referral rules, each in one transaction with its audit entry: making a referral (with
//! duplicate detection and idempotency), viewing it (recorded as a consultation), moving it
//! along the pathway, amending it, and drafts. Every read and write finds the referral
//! through `model::scoped`, so a record outside the user's scope is simply not found.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Actor, AuditAction, Event};
use crate::db::DbConn;
use crate::db::schema::{
    contact_details, identity_links, people, person_merges, referral_amendments, referral_drafts,
    referral_status_history, referrals,
};
use crate::error::{AppError, FieldErrors};
use crate::form::RawForm;
use crate::notifications::{self, Emails};
use crate::referrals::access::{Ctx, view_event};
use crate::referrals::codes::*;
use crate::referrals::consent::{self, ShareConsent, Withheld};
use crate::referrals::forms::{
    self, Crn, PersonInput, PncId, ReferralDetails, ReferralInput, TransitionInput,
};
use crate::referrals::model::{
    self, AmendmentRow, Draft, HistoryRow, NewReferral, Person, PersonWrite, Referral, Viewer,
};
use crate::referrals::state::{self, Action, Refusal, Status};
use crate::users::model::Role;

/// Drafts never submitted are removed after this many days.
pub const DRAFT_RETENTION_DAYS: i64 = 90;

pub const STALE_MESSAGE: &str = "This referral has changed since you opened it. Reload the page to see the latest version and try again";

/// Which person a new referral is about, when the details may match someone already known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonChoice {
    /// Not asked yet: close matches are offered before anything is created.
    Undecided,
    /// Link to this existing person.
    Existing(String),
    /// Create a new person even though close matches exist.
    New,
}

#[derive(Debug)]
pub enum CreateOutcome {
    Created(Referral),
    /// The same submission was made before (same draft or idempotency key).
    Repeated(Referral),
    /// People with a close name and the same date of birth: the user chooses.
    PossibleDuplicates(Vec<Person>),
}

const REFERENCE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A human-friendly reference like `MH-7K3Q-PX4D`: no 0/O, 1/I/L or U, so it reads back
/// over the phone.
pub fn new_reference() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut part = || -> String {
        (0..4)
            .map(|_| REFERENCE_ALPHABET[rng.random_range(0..REFERENCE_ALPHABET.len())] as char)
            .collect()
    };
    format!("MH-{}-{}", part(), part())
}

pub(crate) fn normalise_name(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Same date of birth is checked by the query; here: family names within two edits and
/// given names starting alike, or the two names swapped.
pub fn close_name(a_given: &str, a_family: &str, b_given: &str, b_family: &str) -> bool {
    let (ag, af, bg, bf) = (
        normalise_name(a_given),
        normalise_name(a_family),
        normalise_name(b_given),
        normalise_name(b_family),
    );
    let family_close = edit_distance(&af, &bf) <= 2;
    let given_close = ag.chars().next() == bg.chars().next() || edit_distance(&ag, &bg) <= 2;
    (family_close && given_close) || (ag == bf && af == bg)
}

fn person_write<'a>(p: &'a PersonInput, now: chrono::NaiveDateTime) -> PersonWrite<'a> {
    PersonWrite {
        given_name: &p.given_name,
        family_name: &p.family_name,
        date_of_birth: p.date_of_birth,
        sex: p.sex,
        gender_identity: p.gender_identity,
        ethnicity: p.ethnicity,
        pnc_id: p.pnc_id.as_ref().map(PncId::as_str),
        crn: p.crn.as_ref().map(Crn::as_str),
        area_id: &p.area_id,
        gp_practice: p.gp_practice.as_deref(),
        communication_needs: p.communication_needs.as_deref(),
        interpreter_needed: p.interpreter_needed,
        language: p.language.as_deref(),
        updated_at: now,
    }
}

fn history_row(
    referral_id: &str,
    action: Action,
    from: Option<Status>,
    to: Status,
    viewer: &Viewer,
    summary: String,
    details: serde_json::Value,
) -> HistoryRow {
    HistoryRow {
        id: crate::ids::new_id(),
        referral_id: referral_id.to_owned(),
        action,
        from_status: from,
        to_status: to,
        actor_user_id: Some(viewer.user_id.clone()),
        actor_name: viewer.name.clone(),
        at: crate::clock::now(),
        summary,
        details: details.to_string(),
    }
}

/// Makes a referral. Call inside a write transaction: with `emails`, the clinical leads of
/// the referral's area are emailed in it too (`None` queues nothing, as for demo data).
#[allow(clippy::too_many_arguments)]
pub fn create(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    input: &ReferralInput,
    choice: &PersonChoice,
    idempotency_key: Option<&str>,
    draft_id: Option<&str>,
    emails: Option<&Emails>,
) -> Result<CreateOutcome, AppError> {
    if !state::Action::Submit.roles().contains(&viewer.role) {
        return Err(AppError::Forbidden);
    }
    if let Some(m) = forms::entry_refused(viewer.role, Some(input.entry_point)) {
        return Err(AppError::Validation(FieldErrors::single("entry_point", m)));
    }
    if let Some(key) = idempotency_key {
        let earlier = referrals::table
            .filter(referrals::created_by.eq(&viewer.user_id))
            .filter(referrals::idempotency_key.eq(key))
            .select(Referral::as_select())
            .first(c)
            .optional()?;
        if let Some(r) = earlier {
            return Ok(CreateOutcome::Repeated(r));
        }
    }
    if let Some(d) = draft_id
        && model::draft(c, &viewer.user_id, d)?.is_none()
    {
        // Sent twice: the first submission consumed the draft.
        return match submitted_from_draft(c, viewer, d)? {
            Some(r) => Ok(CreateOutcome::Repeated(r)),
            None => Err(AppError::NotFound),
        };
    }
    let p = &input.person;
    let now = crate::clock::now();

    // An exact PNC ID or CRN match is the same person only when the referrer may see that
    // person and what they typed agrees with the record; otherwise the referral gets a
    // person record of its own, from what was typed, linked to the one already known for a
    // clinical lead to confirm. A close name with the same date of birth is the user's call.
    let exact = exact_match(c, viewer, p)?;
    let mut link: Option<(String, &'static str, bool)> = None;
    let new_person = |c: &mut DbConn| -> Result<String, AppError> {
        let id = crate::ids::new_id();
        diesel::insert_into(people::table)
            .values((
                people::id.eq(&id),
                person_write(p, now),
                people::created_at.eq(now),
            ))
            .execute(c)?;
        Ok(id)
    };
    let person_id = if let Some(m) = &exact {
        if m.visible && m.agrees {
            m.person.id.clone()
        } else {
            link = Some((m.person.id.clone(), m.identifier, m.agrees));
            new_person(c)?
        }
    } else {
        let close: Vec<Person> = model::people_born_on(c, p.date_of_birth, &viewer.area_ids)?
            .into_iter()
            .filter(|o| close_name(&p.given_name, &p.family_name, &o.given_name, &o.family_name))
            .collect();
        match choice {
            PersonChoice::Existing(id) => match close.iter().find(|o| &o.id == id) {
                Some(o) => o.id.clone(),
                None => {
                    return Err(AppError::Validation(FieldErrors::single(
                        "person_choice",
                        "Select one of the people shown, or a new person",
                    )));
                }
            },
            PersonChoice::Undecided if !close.is_empty() => {
                return Ok(CreateOutcome::PossibleDuplicates(close));
            }
            _ => new_person(c)?,
        }
    };

    let details = serde_json::to_string(&input.details)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    let id = crate::ids::new_id();
    let mut reference = new_reference();
    for _ in 0..5 {
        let taken: i64 = referrals::table
            .filter(referrals::reference.eq(&reference))
            .count()
            .get_result(c)?;
        if taken == 0 {
            break;
        }
        reference = new_reference();
    }
    let key = idempotency_key
        .map(str::to_owned)
        .or_else(|| draft_id.map(|d| format!("draft:{d}")));
    // An arrest-stage referral waits for a probation officer to take it over; a probation
    // referral is held by the officer who makes it.
    let ro = (input.entry_point == EntryPoint::Probation).then_some(viewer.user_id.as_str());
    diesel::insert_into(referrals::table)
        .values(NewReferral {
            id: &id,
            reference: &reference,
            person_id: &person_id,
            area_id: &p.area_id,
            entry_point: input.entry_point,
            status: Status::Submitted,
            version: 1,
            created_by: &viewer.user_id,
            responsible_officer_id: ro,
            offence_category: input.offence_category,
            urgency: input.urgency,
            details: &details,
            idempotency_key: key.as_deref(),
            submitted_at: now,
            updated_at: now,
        })
        .execute(c)
        .map_err(|e| match e {
            // The same submission racing itself: the other one made the referral.
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => AppError::Conflict(
                "This referral has just been submitted. Open your referrals to find it".into(),
            ),
            other => other.into(),
        })?;
    diesel::insert_into(referral_status_history::table)
        .values(history_row(
            &id,
            Action::Submit,
            None,
            Status::Submitted,
            viewer,
            format!("{} referral", input.entry_point.label()),
            json!({ "entry_point": input.entry_point.as_str() }),
        ))
        .execute(c)?;
    if let Some(d) = draft_id {
        diesel::delete(referral_drafts::table.filter(referral_drafts::id.eq(d))).execute(c)?;
    }
    if let Some((matched, identifier, agrees)) = &link {
        let row = model::IdentityLink {
            id: crate::ids::new_id(),
            referral_id: id.clone(),
            person_id: person_id.clone(),
            matched_person_id: matched.clone(),
            identifier: (*identifier).to_owned(),
            details_agree: *agrees,
            status: if *agrees {
                LINK_LINKED
            } else {
                LINK_TO_CONFIRM
            }
            .to_owned(),
            created_by: viewer.user_id.clone(),
            created_at: now,
            decided_by: None,
            decided_at: None,
            decision_reason: None,
        };
        diesel::insert_into(identity_links::table)
            .values(&row)
            .execute(c)?;
        audit::record(
            c,
            actor,
            Event::new(AuditAction::Combination, "person.identity_linked")
                .record("referral", &id)
                .details(json!({
                    "link_id": row.id,
                    "person_id": person_id,
                    "matched_person_id": matched,
                    "identifier": identifier,
                    "details_agree": agrees,
                })),
        )?;
    }
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Collection, "referral.created")
            .record("referral", &id)
            .details(json!({
                "entry_point": input.entry_point.as_str(),
                "person_linked": exact.is_some() || matches!(choice, PersonChoice::Existing(_)),
            })),
    )?;
    let created: Referral = referrals::table
        .find(&id)
        .select(Referral::as_select())
        .first(c)?;
    if let Some(emails) = emails {
        notifications::referrals::submitted(c, emails, &created)?;
    }
    crate::reports::upkeep::refresh(c, &created.id)?;
    Ok(CreateOutcome::Created(created))
}

/// An identity link the clinical lead has not yet decided: the details typed agreed.
pub const LINK_LINKED: &str = "linked";
/// An identity link whose typed details disagree with the record matched.
pub const LINK_TO_CONFIRM: &str = "to_confirm";
pub const LINK_CONFIRMED: &str = "confirmed";
pub const LINK_SPLIT: &str = "split";

/// The person an exact identifier matched, and what the referrer may be told of them.
struct ExactMatch {
    person: Person,
    /// `crn` or `pnc_id`.
    identifier: &'static str,
    /// The referrer already sees a referral of this person.
    visible: bool,
    /// The names and date of birth typed are those of the record.
    agrees: bool,
}

/// The best exact PNC ID or CRN match for a new referral's person: one the referrer sees
/// and whose details agree, else one whose details agree, else any.
fn exact_match(
    c: &mut DbConn,
    viewer: &Viewer,
    p: &PersonInput,
) -> Result<Option<ExactMatch>, AppError> {
    let pnc = p.pnc_id.as_ref().map(PncId::as_str);
    let crn = p.crn.as_ref().map(Crn::as_str);
    let mut best: Option<(u8, ExactMatch)> = None;
    for found in model::people_by_identifier(c, pnc, crn)? {
        let identifier = if pnc.is_some() && found.pnc_id.as_deref() == pnc {
            "pnc_id"
        } else {
            "crn"
        };
        let visible = model::scoped(viewer, model::Purpose::Casework)
            .filter(referrals::person_id.eq(found.id.clone()))
            .count()
            .get_result::<i64>(c)?
            > 0;
        let agrees = found.date_of_birth == p.date_of_birth
            && close_name(
                &p.given_name,
                &p.family_name,
                &found.given_name,
                &found.family_name,
            );
        let rank = u8::from(agrees) * 2 + u8::from(visible);
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((
                rank,
                ExactMatch {
                    person: found,
                    identifier,
                    visible,
                    agrees,
                },
            ));
        }
    }
    Ok(best.map(|(_, m)| m))
}

/// The referral's answers as checked values again.
pub fn input_of(person: &Person, r: &Referral) -> Result<ReferralInput, AppError> {
    let details: ReferralDetails = serde_json::from_str(&r.details)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("referral details")))?;
    Ok(ReferralInput {
        entry_point: r.entry_point,
        offence_category: r.offence_category,
        urgency: r.urgency,
        person: PersonInput {
            given_name: person.given_name.clone(),
            family_name: person.family_name.clone(),
            date_of_birth: person.date_of_birth,
            sex: person.sex,
            gender_identity: person.gender_identity,
            ethnicity: person.ethnicity,
            pnc_id: person.pnc_id.as_deref().map(PncId::stored),
            crn: person.crn.as_deref().map(Crn::stored),
            area_id: r.area_id.clone(),
            gp_practice: person.gp_practice.clone(),
            communication_needs: person.communication_needs.clone(),
            interpreter_needed: person.interpreter_needed,
            language: person.language.clone(),
        },
        details,
    })
}

/// Everything a referral page or the API shows about one referral.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub referral: Referral,
    pub person: Person,
    pub input: ReferralInput,
    pub history: Vec<HistoryRow>,
    pub amendments: Vec<AmendmentRow>,
    /// Merges of this person's records (names of who merged and undid are in `names`).
    pub merges: Vec<model::Merge>,
    /// Exact identifier matches linked to this referral's person: clinical leads only.
    pub identity: Vec<IdentityView>,
    /// What the viewer may not see of the answers: police-linked ones
    /// ([`forms::POLICE_LINKED`]) when their vetting does not clear them, health ones
    /// ([`consent::HEALTH`]) when the person has not consented to share them with probation.
    pub withheld: Withheld,
    /// The person's consent to share with criminal justice agencies.
    pub share_consent: ShareConsent,
    /// Treatment activity for the timeline; clinical entries only for clinical roles.
    pub events: Vec<crate::sessions::model::EventRow>,
    pub names: std::collections::BTreeMap<String, String>,
    pub area_names: std::collections::BTreeMap<String, String>,
    /// Steps the referral's status allows that cannot succeed yet, each with why: "Close"
    /// while onward support is not settled, booking or allocating while no assistant
    /// psychologist works in the area, recording the order while no clinical lead there
    /// has an HCPC number. The page says why instead of offering them.
    pub blocked: Vec<(Action, String)>,
    /// The officer holding the referral has had their account disabled: another may take
    /// it over.
    pub holder_disabled: bool,
}

/// For the API: loads a referral in scope, once [`Ctx::open`] allows it, and records the
/// view (consultation) with the reason for it, in one write transaction.
pub fn view(c: &mut DbConn, ctx: &Ctx, id: &str) -> Result<Loaded, AppError> {
    let (_, reason) = ctx.open(c, id)?;
    load_viewed(c, &ctx.viewer, &ctx.actor, id, reason.as_deref())
}

/// Loads a referral in scope and records its view, with the reason for it if any: for an
/// answer that shows the whole referral, such as the API's after a change (whose own
/// entry, an alteration, names only what changed).
pub fn load_viewed(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    id: &str,
    reason: Option<&str>,
) -> Result<Loaded, AppError> {
    let loaded = load(c, viewer, id)?;
    audit::record(c, actor, view_event(id, reason))?;
    Ok(loaded)
}

/// Like [`view`], for the referral's own pages: the referral with the reason given this
/// session for looking at it (when it is off the viewer's caseload), or
/// [`AppError::ReasonRequired`]. Records nothing, so it can run in a read transaction: the
/// page records [`view_event`] (with the reason) before it shows anything.
pub fn load_for_page(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
) -> Result<(Loaded, Option<String>), AppError> {
    let (_, reason) = ctx.open(c, id)?;
    Ok((load(c, &ctx.viewer, id)?, reason))
}

/// What an action's form offers and starts with.
pub struct ActionForm {
    /// The people to choose from (id, label), when the action names someone: for booking
    /// an assessment and allocating, each assistant psychologist with their sessions booked
    /// against capacity this week and next.
    pub staff: Option<Vec<(String, String)>>,
    /// The answers the service already knows: today for what is done today, the booked
    /// assessment's date, the last hearing's date and the referral's court for the order,
    /// the assessing assistant psychologist for allocation.
    pub prefill: RawForm,
}

/// The form of `action` on referral `l`, as of `today` (UK).
pub fn action_form(
    c: &mut DbConn,
    l: &Loaded,
    action: Action,
    today: chrono::NaiveDate,
) -> Result<ActionForm, AppError> {
    let r = &l.referral;
    let names_someone = forms::action_user(action).is_some() || action == Action::Accept;
    let staff: Option<Vec<(String, String)>> = match names_someone {
        false => None,
        true => {
            let role = match action {
                Action::RecordMhtrMade => Role::ClinicalLead,
                Action::HandOver => Role::ProbationOfficer,
                _ => Role::AssistantPsychologist,
            };
            let holder = r.holder();
            let people: Vec<(String, String, Option<String>)> =
                model::staff_in_area(c, role, &r.area_id)?
                    .into_iter()
                    .filter(|(_, _, hcpc)| role != Role::ClinicalLead || hcpc.is_some())
                    .filter(|(id, _, _)| action != Action::HandOver || id != holder)
                    .collect();
            let load = if role == Role::AssistantPsychologist {
                let ids: Vec<String> = people.iter().map(|(id, _, _)| id.clone()).collect();
                crate::sessions::capacity::allocation_load(c, &ids, today)?
            } else {
                Default::default()
            };
            Some(
                people
                    .into_iter()
                    .map(|(id, name, hcpc)| {
                        let label = match (hcpc, load.get(&id)) {
                            (Some(h), _) if role == Role::ClinicalLead => format!("{name} ({h})"),
                            (_, Some(load)) => format!("{name}: {load}"),
                            _ => name,
                        };
                        (id, label)
                    })
                    .collect(),
            )
        }
    };
    let mut prefill = RawForm::default();
    // The date a step of the history recorded, the latest such step first.
    let recorded = |actions: &[Action]| -> Option<chrono::NaiveDate> {
        l.history
            .iter()
            .filter(|h| actions.contains(&h.action))
            .max_by_key(|h| h.at)
            .and_then(|h| serde_json::from_str::<serde_json::Value>(&h.details).ok())
            .and_then(|d| d["date"].as_str().and_then(|s| s.parse().ok()))
    };
    if let Some((name, _, future_ok)) = forms::action_date(action)
        && !future_ok
    {
        let known = match action {
            Action::RecordAssessment => recorded(&[Action::BookAssessment]).filter(|d| *d <= today),
            _ => None,
        };
        prefill.set_date(name, Some(known.unwrap_or(today)));
    }
    match action {
        Action::AllocateAp => {
            let assessor = r.allocated_ap_id.clone().or_else(|| r.assessor_id.clone());
            if let (Some(a), Some(staff)) = (assessor, &staff)
                && staff.iter().any(|(id, _)| *id == a)
            {
                prefill.set("ap_id", a);
            }
        }
        Action::RecordMhtrMade => {
            let hearing =
                recorded(&[Action::AwaitSentence, Action::RecordAdjourned]).filter(|d| *d <= today);
            prefill.set_date("sentence_date", hearing);
            let details = &l.input.details;
            if let Some(court) = details.court.clone().or_else(|| details.location.clone()) {
                prefill.set("court", court);
            }
        }
        _ => {}
    }
    Ok(ActionForm { staff, prefill })
}

/// Loads a referral in scope without recording a view (used before a change).
pub fn load(c: &mut DbConn, viewer: &Viewer, id: &str) -> Result<Loaded, AppError> {
    let referral = model::find(c, viewer, id)?;
    let person = model::person(c, &referral.person_id)?;
    let input = input_of(&person, &referral)?;
    let history = model::history(c, id)?;
    let share_consent = consent::current(c, &referral)?;
    let withheld = Withheld {
        police: !viewer.police_cleared,
        health: consent::withholds_health(viewer.role, share_consent),
    };
    let mut amendments = model::amendments(c, id)?;
    for a in amendments.iter_mut() {
        if let Some(why) = withheld.text(&a.field) {
            a.old_value = why.to_owned();
            a.new_value = why.to_owned();
        }
    }
    let merges = model::merges_of_person(c, &referral.person_id)?;
    let identity = identity_views(c, viewer, &referral.id)?;
    let clinical = matches!(
        viewer.role,
        Role::ClinicalLead | Role::AssistantPsychologist
    );
    let events = crate::sessions::model::events_of(c, id)?
        .into_iter()
        .filter(|e| clinical || !e.clinical)
        .collect();
    let mut names = std::collections::BTreeMap::new();
    for uid in [
        Some(&referral.created_by),
        referral.responsible_officer_id.as_ref(),
        referral.assessor_id.as_ref(),
        referral.allocated_ap_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    .chain(merges.iter().map(|m| &m.merged_by))
    .chain(merges.iter().filter_map(|m| m.undone_by.as_ref()))
    {
        names.insert(uid.clone(), model::user_name(c, uid)?);
    }
    let area_names = crate::areas::active_areas(c)?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let blocked = blocked_steps(c, &referral, share_consent)?;
    let holder_disabled = model::holder_disabled(c, &referral)?;
    Ok(Loaded {
        referral,
        person,
        input,
        history,
        amendments,
        merges,
        identity,
        withheld,
        share_consent,
        events,
        names,
        area_names,
        blocked,
        holder_disabled,
    })
}

impl Loaded {
    /// The steps offered to `role` (user `me`) on this referral: those its status allows
    /// that can succeed now (not [`Loaded::blocked`]); taking over only an arrest referral
    /// or one whose officer's account is disabled, and not by the officer holding it;
    /// handing over only by the officer holding it. The pages and the API offer the same.
    pub fn offered(&self, role: Role, me: &str) -> Vec<Action> {
        let r = &self.referral;
        state::available(role, r.status)
            .into_iter()
            .filter(|a| !self.blocked.iter().any(|(b, _)| b == a))
            .filter(|a| match a {
                Action::TakeOver => {
                    (r.entry_point == EntryPoint::Arrest || self.holder_disabled)
                        && r.responsible_officer_id.as_deref() != Some(me)
                }
                Action::HandOver | Action::VaryOrder | Action::EndOrder => r.holder() == me,
                Action::GiveShareConsent => self.share_consent != ShareConsent::Given,
                Action::WithdrawShareConsent => self.share_consent == ShareConsent::Given,
                _ => true,
            })
            .collect()
    }
}

/// The steps `r`'s status allows that cannot succeed yet, with why (see
/// [`Loaded::blocked`]); `share` is the person's consent to share, as loaded.
fn blocked_steps(
    c: &mut DbConn,
    r: &Referral,
    share: ShareConsent,
) -> Result<Vec<(Action, String)>, AppError> {
    let mut out = Vec::new();
    let allows = |a: Action| a.target(r.status).is_some();
    if allows(Action::Close) {
        match crate::signposting::settled::settled(c, &r.id) {
            Err(AppError::Conflict(why)) => out.push((Action::Close, why)),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
    if allows(Action::BookAssessment) || allows(Action::AllocateAp) {
        let aps = model::staff_in_area(c, Role::AssistantPsychologist, &r.area_id)?;
        if aps.is_empty() {
            let why = "No assistant psychologist works in this referral's area yet: ask an administrator to add one".to_owned();
            for a in [Action::BookAssessment, Action::AllocateAp] {
                if allows(a) {
                    out.push((a, why.clone()));
                }
            }
        }
    }
    if allows(Action::SendReport) && share != ShareConsent::Given {
        out.push((Action::SendReport, SHARE_FIRST.to_owned()));
    }
    if allows(Action::RecordMhtrMade) {
        let leads = model::staff_in_area(c, Role::ClinicalLead, &r.area_id)?;
        if !leads.iter().any(|(_, _, hcpc)| hcpc.is_some()) {
            out.push((
                Action::RecordMhtrMade,
                "The order names a treatment director, who must be a clinical lead in this referral's area with an HCPC registration number, and none has one recorded: ask an administrator to record it".into(),
            ));
        }
    }
    Ok(out)
}

fn refusal(r: Refusal, action: Action, status: Status) -> AppError {
    match r {
        Refusal::WrongRole => AppError::Forbidden,
        Refusal::NotNow => AppError::Conflict(r.message(action, status)),
    }
}

/// A named colleague of the right role in the referral's area, or a field error.
fn colleague(
    c: &mut DbConn,
    role: Role,
    area_id: &str,
    user_id: &str,
    field: &str,
    message: &str,
) -> Result<(String, Option<String>), AppError> {
    model::staff_in_area(c, role, area_id)?
        .into_iter()
        .find(|(id, _, _)| id == user_id)
        .map(|(_, name, hcpc)| (name, hcpc))
        .ok_or_else(|| AppError::Validation(FieldErrors::single(field, message)))
}

/// Takes an action a user chose (on the pages or through the API). Actions the service takes
/// itself when something else happens are refused here: treatment starts when the first
/// session is recorded as attended ([`Action::by_hand`]). Call inside a write transaction.
pub fn transition(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    action: Action,
    t: &TransitionInput,
    emails: Option<&Emails>,
) -> Result<Referral, AppError> {
    if !action.by_hand() {
        return Err(AppError::Validation(FieldErrors::single(
            "action",
            "Treatment starts when the first session is recorded as attended: record the session's attendance instead",
        )));
    }
    ctx.open(c, id)?;
    let moved = follow(c, &ctx.viewer, &ctx.actor, id, action, t, emails)?;
    // Accepted and booked for assessment at one sitting: the second step in the same
    // transaction, so both are taken or neither.
    match (action, &t.book_assessment) {
        (Action::Accept, Some((date, assessor))) => {
            let booking = TransitionInput {
                version: moved.version,
                date: Some(*date),
                user_id: Some(assessor.clone()),
                ..TransitionInput::default()
            };
            follow(
                c,
                &ctx.viewer,
                &ctx.actor,
                id,
                Action::BookAssessment,
                &booking,
                emails,
            )
        }
        _ => Ok(moved),
    }
}

/// Moves a referral along the pathway. Call inside a write transaction. Refuses, changing
/// nothing, when the role may not take the action, the referral is not at a step where it
/// applies, or it has changed since the user loaded it. With `emails`, whoever the step
/// concerns is emailed in the same transaction (`None` queues nothing, as for demo data).
pub(crate) fn follow(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    id: &str,
    action: Action,
    t: &TransitionInput,
    emails: Option<&Emails>,
) -> Result<Referral, AppError> {
    let r = model::find(c, viewer, id)?;
    // A role that may never take this action is refused first; then a stale version (someone
    // else moved the referral since it was loaded) is named as such, rather than as an action
    // not possible at the new step, so the loser of a race is told to reload. The update
    // below compares the version again inside this write transaction.
    let checked = state::check(viewer.role, action, r.status);
    if matches!(checked, Err(state::Refusal::WrongRole)) {
        return Err(AppError::Forbidden);
    }
    if t.version != r.version {
        return Err(AppError::Conflict(STALE_MESSAGE.into()));
    }
    let to = checked.map_err(|e| refusal(e, action, r.status))?;
    let date = t.date.map(crate::web::format::date).unwrap_or_default();
    let mut ro = r.responsible_officer_id.clone();
    let mut assessor = r.assessor_id.clone();
    let mut ap = r.allocated_ap_id.clone();
    let mut details = json!({});
    let mut order_dates = None;
    let mut new_end = None;
    let summary = match action {
        Action::TakeOver => {
            if r.entry_point != EntryPoint::Arrest && !model::holder_disabled(c, &r)? {
                return Err(AppError::Conflict(
                    "Only a referral made at the point of arrest, or one whose responsible officer's account is disabled, can be taken over: ask its responsible officer to hand it over".into(),
                ));
            }
            if r.responsible_officer_id.as_deref() == Some(viewer.user_id.as_str()) {
                return Err(AppError::Conflict(
                    "You are already the responsible officer for this referral".into(),
                ));
            }
            ro = Some(viewer.user_id.clone());
            format!("{} is now the responsible officer", viewer.name)
        }
        Action::HandOver => {
            if r.holder() != viewer.user_id {
                return Err(AppError::Conflict(
                    "Only the referral's responsible officer can hand it over".into(),
                ));
            }
            let chosen = t.user_id.clone().unwrap_or_default();
            if chosen == viewer.user_id {
                return Err(AppError::Validation(FieldErrors::single(
                    "officer_id",
                    "Select another probation officer: you already hold this referral",
                )));
            }
            let (name, _) = colleague(
                c,
                Role::ProbationOfficer,
                &r.area_id,
                &chosen,
                "officer_id",
                "Select a probation officer who works in the person's area",
            )?;
            ro = Some(chosen.clone());
            details = json!({ "officer_id": chosen });
            format!("Handed over by {} to {name}", viewer.name)
        }
        Action::BookAssessment => {
            let chosen = match (&t.user_id, viewer.role) {
                (Some(u), _) => u.clone(),
                (None, Role::AssistantPsychologist) => viewer.user_id.clone(),
                (None, _) => {
                    return Err(AppError::Validation(FieldErrors::single(
                        "assessor_id",
                        "Select the assistant psychologist who will assess",
                    )));
                }
            };
            if viewer.role == Role::AssistantPsychologist && chosen != viewer.user_id {
                return Err(AppError::Forbidden);
            }
            let (name, _) = colleague(
                c,
                Role::AssistantPsychologist,
                &r.area_id,
                &chosen,
                "assessor_id",
                "Select an assistant psychologist who works in the person's area",
            )?;
            assessor = Some(chosen.clone());
            details = json!({ "assessor_id": chosen });
            format!("Assessment on {date} with {name}")
        }
        Action::AllocateAp => {
            let chosen = t.user_id.clone().unwrap_or_default();
            let (name, _) = colleague(
                c,
                Role::AssistantPsychologist,
                &r.area_id,
                &chosen,
                "ap_id",
                "Select an assistant psychologist who works in the person's area",
            )?;
            if r.allocated_ap_id.as_deref() != Some(chosen.as_str()) {
                crate::sessions::upkeep::reassign(c, id, &chosen)?;
            }
            ap = Some(chosen.clone());
            details = json!({ "ap_id": chosen });
            format!("Allocated to {name}")
        }
        Action::RecordMhtrMade => {
            let director = t.user_id.clone().unwrap_or_default();
            let (name, hcpc) = colleague(
                c,
                Role::ClinicalLead,
                &r.area_id,
                &director,
                "treatment_director_id",
                "Select a clinical lead who works in the person's area as treatment director",
            )?;
            let Some(hcpc) = hcpc else {
                return Err(AppError::Validation(FieldErrors::single(
                    "treatment_director_id",
                    "The treatment director must have an HCPC registration number recorded",
                )));
            };
            let (Some(order), Some(sentence), Some(end), Some(combined)) = (
                t.order_type,
                t.sentence_date,
                t.requirement_end_date,
                t.combined_with,
            ) else {
                return Err(AppError::BadRequest("Order details are missing".into()));
            };
            order_dates = Some((sentence, end, combined));
            details = json!({
                "order_type": order.as_str(),
                "sentence_date": sentence.to_string(),
                "requirement_end_date": end.to_string(),
                "court": t.court,
                "treatment_director_id": director,
                "treatment_director_hcpc": hcpc,
                "combined_with": combined.as_str(),
            });
            format!(
                "{}, sentenced {} at {}, requirement ends {}. Treatment director {} ({}). {}",
                order.label(),
                crate::web::format::date(sentence),
                t.court.clone().unwrap_or_default(),
                crate::web::format::date(end),
                name,
                hcpc,
                combined.label()
            )
        }
        Action::EndTreatment => {
            let outcome = t.end_outcome.unwrap_or(EndOutcome::Completed);
            let attended = crate::sessions::upkeep::attended_count(c, id)?;
            let planned = crate::sessions::upkeep::planned_count(c, id)?;
            if outcome == EndOutcome::Completed && attended < planned {
                return Err(AppError::Validation(FieldErrors::single(
                    "end_outcome",
                    format!(
                        "Treatment is complete when all {planned} planned sessions are attended, and {attended} {} been. If it is clinically complete, select “{}” and give the reason",
                        if attended == 1 { "has" } else { "have" },
                        EndOutcome::CompletedEarly.label()
                    ),
                )));
            }
            details = json!({
                "end_outcome": outcome.as_str(),
                "end_reason": t.end_reason.map(|r| r.as_str()),
                "sessions_attended": attended,
            });
            let sessions = format!(
                "{attended} session{} attended",
                if attended == 1 { "" } else { "s" }
            );
            let ended = match outcome {
                EndOutcome::Completed => "Completed",
                EndOutcome::CompletedEarly => "Completed early by clinical decision",
                EndOutcome::EndedEarly => "Ended early",
            };
            match t.end_reason {
                Some(reason) => format!("{ended} on {date}: {}. {sessions}", reason.label()),
                None => format!("{ended} on {date}. {sessions} of {planned} planned"),
            }
        }
        Action::VaryOrder => {
            holds(&r, viewer)?;
            let outcome = t.court_outcome.unwrap_or(CourtOutcome::Amended);
            let old_end = r.requirement_end_date;
            let mut said = format!("{} on {date}", outcome.label());
            if let Some(end) = t.requirement_end_date {
                if r.sentence_date.is_some_and(|s| end <= s) {
                    return Err(AppError::Validation(FieldErrors::single(
                        "requirement_end_date",
                        "The new end date must be after the sentence date",
                    )));
                }
                if outcome == CourtOutcome::Extended && old_end.is_some_and(|o| end <= o) {
                    return Err(AppError::Validation(FieldErrors::single(
                        "requirement_end_date",
                        format!(
                            "An extension ends after the current end date, {}",
                            old_end.map(crate::web::format::date).unwrap_or_default()
                        ),
                    )));
                }
                new_end = Some(end);
                said.push_str(&format!(
                    ": the requirement now ends on {}{}",
                    crate::web::format::date(end),
                    old_end
                        .map(|o| format!(" (it ended on {})", crate::web::format::date(o)))
                        .unwrap_or_default()
                ));
            }
            details = json!({
                "court_outcome": outcome.as_str(),
                "old_requirement_end_date": old_end.map(|d| d.to_string()),
                "requirement_end_date": t.requirement_end_date.map(|d| d.to_string()),
            });
            said
        }
        Action::EndOrder => {
            holds(&r, viewer)?;
            let outcome = t.court_outcome.unwrap_or(CourtOutcome::Revoked);
            let attended = crate::sessions::upkeep::attended_count(c, id)?;
            details = json!({
                "court_outcome": outcome.as_str(),
                "end_outcome": EndOutcome::EndedEarly.as_str(),
                "end_reason": outcome.end_reason().map(|r| r.as_str()),
                "sessions_attended": attended,
            });
            format!(
                "{} on {date}: treatment ended. {attended} session{} attended",
                outcome.label(),
                if attended == 1 { "" } else { "s" }
            )
        }
        Action::Withdraw => {
            let reason = t.withdrawal_reason.unwrap_or(WithdrawalReason::Other);
            details = json!({ "withdrawal_reason": reason.as_str() });
            reason.label().to_owned()
        }
        Action::WithdrawConsent => {
            details = json!({ "withdrawal_reason": WithdrawalReason::ConsentWithdrawn.as_str() });
            "Consent withdrawn".to_owned()
        }
        Action::RecordConsent => {
            details = json!({ "consent_date": t.date.map(|d| d.to_string()) });
            format!("Consent given on {date}, recorded by {}", viewer.name)
        }
        Action::Decline | Action::RecordNotSuitable => t.text.clone().unwrap_or_default(),
        Action::RecordAssessment => format!("Assessed on {date}"),
        Action::GiveShareConsent | Action::WithdrawShareConsent => {
            let now_stands = consent::current(c, &r)?;
            let (to_be, word) = if action == Action::GiveShareConsent {
                (ShareConsent::Given, "given")
            } else {
                (ShareConsent::Withdrawn, "withdrawn")
            };
            if (now_stands == ShareConsent::Given) == (to_be == ShareConsent::Given) {
                return Err(AppError::Conflict(format!(
                    "The person's consent to share is already recorded as {}: reload the page to see it",
                    now_stands.label().to_lowercase()
                )));
            }
            details = json!({ "share_consent": to_be.as_str() });
            format!(
                "Consent to share with criminal justice agencies {word} on {date}, recorded by {}",
                viewer.name
            )
        }
        Action::SendReport => {
            if consent::current(c, &r)? != ShareConsent::Given {
                return Err(AppError::Conflict(SHARE_FIRST.into()));
            }
            let Some(report) = &t.report else {
                return Err(AppError::BadRequest(
                    "The report's content is missing".into(),
                ));
            };
            details = json!({ "report": report });
            format!(
                "Assessment and suitability report sent on {date}: {} sessions, {}, from {} proposed",
                report.proposed_sessions,
                report.proposed_mode.label().to_lowercase(),
                crate::web::format::date(report.proposed_start)
            )
        }
        Action::AwaitSentence => format!("Sentencing hearing on {date}"),
        Action::RecordAdjourned => format!("Adjourned to {date}"),
        Action::RecordInduction => format!("Inducted on {date}"),
        Action::StartTreatment => format!("First session on {date}"),
        Action::Close => {
            // Onward support must be settled before the referral closes.
            crate::signposting::settled::settled(c, id)?;
            String::new()
        }
        Action::Accept | Action::RecordSuitable | Action::RecordMhtrNotMade | Action::Submit => {
            String::new()
        }
    };
    let summary = match (&t.text, action) {
        (Some(note), a) if !matches!(a, Action::Decline | Action::RecordNotSuitable) => {
            if summary.is_empty() {
                note.clone()
            } else {
                format!("{summary}. {note}")
            }
        }
        _ => summary,
    };
    let mut summary = summary;
    // An arrest referral made by a Liaison and Diversion practitioner has no officer until
    // one takes it over; the officer who records its court steps becomes its responsible
    // officer, so the order is never held by someone who cannot enforce it.
    let court_step = matches!(
        action,
        Action::AwaitSentence
            | Action::RecordAdjourned
            | Action::RecordMhtrMade
            | Action::RecordMhtrNotMade
            | Action::RecordInduction
    );
    if court_step
        && ro.is_none()
        && model::user_role(c, &r.created_by)? == Some(Role::LiaisonDiversion)
    {
        ro = Some(viewer.user_id.clone());
        summary.push_str(&format!(". {} is now the responsible officer", viewer.name));
    }
    if let (Some(d), serde_json::Value::Object(m)) = (t.date, &mut details) {
        m.insert("date".into(), json!(d.to_string()));
    }
    let now = crate::clock::now();
    let changed = diesel::update(
        referrals::table
            .filter(referrals::id.eq(id))
            .filter(referrals::version.eq(r.version)),
    )
    .set((
        referrals::status.eq(to),
        referrals::version.eq(r.version + 1),
        referrals::responsible_officer_id.eq(ro),
        referrals::assessor_id.eq(assessor),
        referrals::allocated_ap_id.eq(ap),
        referrals::updated_at.eq(now),
        // The retention review counts from the moment a referral reaches its final status.
        referrals::closed_at.eq(to.is_final().then_some(now)),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(STALE_MESSAGE.into()));
    }
    if let Some((sentence, end, combined)) = order_dates {
        diesel::update(referrals::table.find(id))
            .set((
                referrals::sentence_date.eq(sentence),
                referrals::requirement_end_date.eq(end),
                referrals::combined_with.eq(combined),
            ))
            .execute(c)?;
    }
    if let Some(end) = new_end {
        diesel::update(referrals::table.find(id))
            .set(referrals::requirement_end_date.eq(end))
            .execute(c)?;
        // The plan follows the order: what is booked after its new end is cancelled.
        let cancelled = crate::sessions::upkeep::cancel_after(c, viewer, id, end)?;
        if cancelled > 0 {
            summary.push_str(&format!(
                ". {cancelled} booked session{} after it cancelled",
                if cancelled == 1 { "" } else { "s" }
            ));
        }
    }
    let mut entry = history_row(id, action, Some(r.status), to, viewer, summary, details);
    // The entry dates the change exactly as the referral records it (`closed_at` above).
    entry.at = now;
    diesel::insert_into(referral_status_history::table)
        .values(entry)
        .execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "referral.transition")
            .record("referral", id)
            .details(
                json!({ "action": action.as_str(), "from": r.status.as_str(), "to": to.as_str() }),
            ),
    )?;
    if matches!(
        action,
        Action::EndTreatment | Action::EndOrder | Action::Withdraw
    ) {
        // Appointments still booked are cancelled and the practitioner's time released.
        crate::sessions::upkeep::treatment_ended(c, viewer, id)?;
    }
    let moved: Referral = referrals::table
        .find(id)
        .select(Referral::as_select())
        .first(c)?;
    if let Some(emails) = emails {
        notifications::referrals::transitioned(c, emails, action, &moved, t.date)?;
        if r.responsible_officer_id.is_none() && moved.responsible_officer_id.is_some() {
            notifications::referrals::taken_over(c, emails, &moved)?;
        }
    }
    crate::reports::upkeep::refresh(c, id)?;
    Ok(moved)
}

/// Why the report cannot go to probation without consent to share.
const SHARE_FIRST: &str = "The person has not consented to share their information with criminal justice agencies: the report goes to probation only once their consent is recorded";

/// Only the officer holding a referral records what the court decided about its order.
fn holds(r: &Referral, viewer: &Viewer) -> Result<(), AppError> {
    if r.holder() == viewer.user_id {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "Only the referral's responsible officer records what the court decided about the order".into(),
        ))
    }
}

/// Whether `role` may amend a referral in `status`: the referrers (in their scope) and
/// clinical leads, until the referral's final status.
pub fn amendable(role: Role, status: Status) -> bool {
    matches!(
        role,
        Role::ProbationOfficer | Role::LiaisonDiversion | Role::ClinicalLead
    ) && !status.is_final()
}

/// Amends a submitted referral: `changes` overlays the current answers, the whole referral
/// is checked again, and each changed answer is kept with its old and new value, who, when
/// and why. Call inside a write transaction.
pub fn amend(
    c: &mut DbConn,
    ctx: &Ctx,
    id: &str,
    version: i64,
    changes: &RawForm,
    reason: &str,
) -> Result<Vec<AmendmentRow>, AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    ctx.open(c, id)?;
    // Amending shows and rewrites every answer, withheld ones too.
    if !amendable(viewer.role, Status::Submitted) || !viewer.police_cleared {
        return Err(AppError::Forbidden);
    }
    let loaded = load(c, viewer, id)?;
    if loaded.withheld.any() {
        return Err(AppError::Forbidden);
    }
    let r = &loaded.referral;
    if r.status.is_final() {
        return Err(AppError::Conflict(format!(
            "A referral that is {} cannot be amended",
            r.status.label().to_lowercase()
        )));
    }
    if version != r.version {
        return Err(AppError::Conflict(STALE_MESSAGE.into()));
    }
    let before = loaded.input.to_raw();
    let mut after = before.clone();
    after.merge(changes);
    // The person's area may stay one the user does not cover only if it is not changed.
    let mut areas = viewer.area_ids.clone();
    areas.push(r.area_id.clone());
    let parsed = forms::parse_referral_by(viewer.role, &after, &areas, crate::clock::today());
    let reason = reason.trim();
    let mut errors = match &parsed {
        Ok(_) => FieldErrors::new(),
        Err(e) => e.clone(),
    };
    if reason.is_empty() {
        errors.add("reason", "Enter the reason for the change");
    } else if reason.chars().count() > 1000 {
        errors.add("reason", "The reason must be 1000 characters or fewer");
    }
    errors.into_result()?;
    let Ok(input) = parsed else {
        return Err(AppError::Internal(anyhow::anyhow!("parse result lost")));
    };
    let canonical = input.to_raw();
    let area_name = |aid: &str| loaded.area_names.get(aid).cloned().unwrap_or_default();
    let now = crate::clock::now();
    let mut rows = Vec::new();
    for f in forms::fields() {
        let old = forms::display(&f, &before, &area_name);
        let new = forms::display(&f, &canonical, &area_name);
        if old != new {
            rows.push(AmendmentRow {
                id: crate::ids::new_id(),
                referral_id: id.to_owned(),
                field: f.name.to_owned(),
                field_label: f.label.to_owned(),
                old_value: old,
                new_value: new,
                reason: reason.to_owned(),
                actor_user_id: Some(viewer.user_id.clone()),
                actor_name: viewer.name.clone(),
                at: now,
            });
        }
    }
    if rows.is_empty() {
        return Err(AppError::Validation(FieldErrors::single(
            "changes",
            "Change at least one answer, or go back without amending",
        )));
    }
    let details = serde_json::to_string(&input.details)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    let changed = diesel::update(
        referrals::table
            .filter(referrals::id.eq(id))
            .filter(referrals::version.eq(r.version)),
    )
    .set((
        referrals::version.eq(r.version + 1),
        referrals::area_id.eq(&input.person.area_id),
        referrals::entry_point.eq(input.entry_point),
        referrals::offence_category.eq(input.offence_category),
        referrals::urgency.eq(input.urgency),
        referrals::details.eq(&details),
        referrals::updated_at.eq(now),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(STALE_MESSAGE.into()));
    }
    diesel::update(people::table.find(&r.person_id))
        .set(person_write(&input.person, now))
        .execute(c)?;
    for row in &rows {
        diesel::insert_into(referral_amendments::table)
            .values(row)
            .execute(c)?;
    }
    // The person record is shared by every referral of the person, whichever area it is in:
    // a change to it is an amendment on each of them, saying which referral it came through.
    let person_rows: Vec<&AmendmentRow> = rows
        .iter()
        .filter(|row| {
            forms::fields().iter().any(|f| {
                f.name == row.field && f.step == forms::Step::Person && f.name != "area_id"
            })
        })
        .collect();
    let mut others = Vec::new();
    if !person_rows.is_empty() {
        others = model::referral_ids_of_person(c, &r.person_id)?;
        others.retain(|other| other != id);
        let through = format!("{reason} (through referral {})", r.reference);
        let copies: Vec<AmendmentRow> = others
            .iter()
            .flat_map(|other| {
                person_rows.iter().map(|row| AmendmentRow {
                    id: crate::ids::new_id(),
                    referral_id: other.clone(),
                    reason: through.clone(),
                    ..(*row).clone()
                })
            })
            .collect();
        crate::db::bulk::bulk_insert!(c, referral_amendments::table, copies);
    }
    let fields: Vec<&str> = rows.iter().map(|r| r.field.as_str()).collect();
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Alteration, "referral.amended")
            .record("referral", id)
            .reason(reason)
            .details(json!({ "fields": fields, "also_on_referrals": others })),
    )?;
    // The person's details feed every one of their referrals' facts.
    let person_id: String = referrals::table
        .find(id)
        .select(referrals::person_id)
        .first(c)?;
    crate::reports::upkeep::refresh_person(c, &person_id)?;
    Ok(rows)
}

// ------------------------------------------------------------------ identity links

/// An identity link as a clinical lead of the referral's area sees it: nothing about the
/// person matched beyond the references of their referrals that the lead may see.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub id: String,
    /// `linked`, `to_confirm`, `confirmed` or `split`.
    pub status: String,
    pub status_label: String,
    /// `crn` or `pnc_id`.
    pub identifier: String,
    pub details_agree: bool,
    /// What the lead is told, in a sentence.
    pub text: String,
    /// The matched person's referrals in the lead's areas.
    pub matched_references: Vec<String>,
    /// Whether the lead may still confirm or split it.
    pub open: bool,
    /// Who decided, when and why, once decided.
    pub decision: Option<String>,
}

fn identity_views(
    c: &mut DbConn,
    viewer: &Viewer,
    referral_id: &str,
) -> Result<Vec<IdentityView>, AppError> {
    if viewer.role != Role::ClinicalLead {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for l in model::identity_links_of(c, referral_id)? {
        let matched_references: Vec<String> = model::scoped(viewer, model::Purpose::Casework)
            .filter(referrals::person_id.eq(l.matched_person_id.clone()))
            .order(referrals::submitted_at.asc())
            .select(referrals::reference)
            .limit(20)
            .load(c)?;
        let which = if l.identifier == "pnc_id" {
            "PNC ID"
        } else {
            "CRN"
        };
        let known = if matched_references.is_empty() {
            "a person known to the service outside your areas".to_owned()
        } else {
            format!("the person on {}", matched_references.join(", "))
        };
        let text = if l.details_agree {
            format!(
                "The {which} given matches {known}, with the same name and date of birth. The referrer was not shown that record."
            )
        } else {
            format!(
                "The {which} given matches {known}, but the name or date of birth given is different. Check whether the {which} was mistyped."
            )
        };
        let decision = match (&l.decided_by, l.decided_at) {
            (Some(by), Some(at)) => Some(format!(
                "{} by {} on {}: {}",
                identity_status_label(&l.status),
                model::user_name(c, by)?,
                crate::web::format::date_time(at),
                l.decision_reason.clone().unwrap_or_default()
            )),
            _ => None,
        };
        out.push(IdentityView {
            open: matches!(l.status.as_str(), LINK_LINKED | LINK_TO_CONFIRM),
            status_label: identity_status_label(&l.status).to_owned(),
            id: l.id,
            status: l.status,
            identifier: l.identifier,
            details_agree: l.details_agree,
            text,
            matched_references,
            decision,
        });
    }
    Ok(out)
}

fn identity_status_label(status: &str) -> &'static str {
    match status {
        LINK_LINKED => "Linked, not yet confirmed",
        LINK_TO_CONFIRM => "To confirm: details differ",
        LINK_CONFIRMED => "Confirmed as the same person",
        _ => "Split: a different person",
    }
}

/// What a clinical lead answers about an identity link: `confirm` or `split`, and why.
#[derive(Debug, Clone, Copy)]
pub struct IdentityDecision<'a> {
    pub decision: &'a str,
    pub reason: &'a str,
}

/// A clinical lead's decision on an identity link of a referral in their areas, once the
/// reason to look at it is given (pages: `grounds.given` is `None` and the reason comes from
/// the session; API: the `Access-Reason` header): `confirm`
/// (the same person) or `split` (someone else), with the reason. Recorded on the link and
/// in the audit log; joining the two records is then a merge (which needs every referral of
/// both in the lead's areas). Call inside a write transaction.
pub fn decide_identity(
    c: &mut DbConn,
    ctx: &Ctx,
    referral_id: &str,
    link_id: &str,
    answer: &IdentityDecision<'_>,
) -> Result<(IdentityView, Option<String>), AppError> {
    let (viewer, actor) = (&ctx.viewer, &ctx.actor);
    if viewer.role != Role::ClinicalLead {
        return Err(AppError::Forbidden);
    }
    let (r, looked) = ctx.open(c, referral_id)?;
    let (decision, reason) = (answer.decision, answer.reason);
    let link = model::identity_links_of(c, &r.id)?
        .into_iter()
        .find(|l| l.id == link_id)
        .ok_or(AppError::NotFound)?;
    let mut e = FieldErrors::new();
    let status = match decision {
        "confirm" => LINK_CONFIRMED,
        "split" => LINK_SPLIT,
        _ => {
            e.add("decision", "Select whether this is the same person");
            ""
        }
    };
    let reason = reason.trim();
    if reason.is_empty() {
        e.add("reason", "Enter the reason for your decision");
    } else if reason.chars().count() > 1000 {
        e.add("reason", "The reason must be 1000 characters or fewer");
    }
    e.into_result()?;
    let now = crate::clock::now();
    let changed = diesel::update(
        identity_links::table
            .filter(identity_links::id.eq(&link.id))
            .filter(identity_links::status.eq_any([LINK_LINKED, LINK_TO_CONFIRM])),
    )
    .set((
        identity_links::status.eq(status),
        identity_links::decided_by.eq(Some(&viewer.user_id)),
        identity_links::decided_at.eq(Some(now)),
        identity_links::decision_reason.eq(Some(reason)),
    ))
    .execute(c)?;
    if changed != 1 {
        return Err(AppError::Conflict(
            "This match has already been decided".into(),
        ));
    }
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Combination, "person.identity_decided")
            .record("referral", &r.id)
            .reason(reason)
            .details(json!({
                "link_id": link.id,
                "decision": status,
                "person_id": link.person_id,
                "matched_person_id": link.matched_person_id,
            })),
    )?;
    let view = identity_views(c, viewer, &r.id)?
        .into_iter()
        .find(|v| v.id == link.id)
        .ok_or(AppError::NotFound)?;
    Ok((view, looked))
}

// ------------------------------------------------------------------ merging people

/// Who may join and part records of a person: clinical leads and administrators.
fn may_merge(viewer: &Viewer) -> Result<(), AppError> {
    if matches!(viewer.role, Role::ClinicalLead | Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The merges this clinical lead or administrator made that are not undone, newest first:
/// the ones the merge page and the API offer to undo.
pub fn my_merges(c: &mut DbConn, viewer: &Viewer) -> Result<Vec<model::Merge>, AppError> {
    may_merge(viewer)?;
    model::live_merges_by(c, &viewer.user_id)
}

/// A merge made, with the referral kept, where the one who merged may open it (clinical
/// leads; administrators merge by reference and do not see referrals).
#[derive(Debug)]
pub struct Merged {
    pub merge: model::Merge,
    pub kept_referral_id: Option<String>,
}

/// Joins two records of one person: every referral of the person on `merge_reference` moves
/// to the person on `keep_reference`. Clinical leads and administrators, and only when every
/// referral moved is in their areas. Kept in `person_merges` so it can be undone. Call inside a write
/// transaction; a merge made at the same time from the same record answers a conflict.
pub fn merge_people(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    keep_reference: &str,
    merge_reference: &str,
    reason: &str,
) -> Result<Merged, AppError> {
    may_merge(viewer)?;
    let mut e = FieldErrors::new();
    let keep = model::find_by_reference(
        c,
        viewer,
        model::Purpose::MergePeople,
        keep_reference.trim().to_uppercase().as_str(),
    )?;
    if keep.is_none() {
        e.add(
            "keep_reference",
            "Enter the reference of a referral in your areas, like MH-7K3Q-PX4D",
        );
    }
    let merge = model::find_by_reference(
        c,
        viewer,
        model::Purpose::MergePeople,
        merge_reference.trim().to_uppercase().as_str(),
    )?;
    if merge.is_none() {
        e.add(
            "merge_reference",
            "Enter the reference of a referral in your areas, like MH-7K3Q-PX4D",
        );
    }
    let reason = reason.trim();
    if reason.is_empty() {
        e.add("reason", "Enter why these are the same person");
    }
    let (Some(keep), Some(merge)) = (keep, merge) else {
        return Err(AppError::Validation(e));
    };
    if keep.person_id == merge.person_id {
        e.add(
            "merge_reference",
            "These referrals are already for the same person",
        );
    }
    e.into_result()?;
    let all: Vec<String> = referrals::table
        .filter(referrals::person_id.eq(&merge.person_id))
        .select(referrals::id)
        .load(c)?;
    let in_scope: i64 = model::scoped(viewer, model::Purpose::MergePeople)
        .filter(referrals::person_id.eq(merge.person_id.clone()))
        .count()
        .get_result(c)?;
    if in_scope != all.len() as i64 {
        return Err(AppError::Validation(FieldErrors::single(
            "merge_reference",
            "This person has referrals outside your areas, so their records cannot be merged here",
        )));
    }
    let now = crate::clock::now();
    // Each write names the state it was read in, so a merge or undo that committed in
    // between (PostgreSQL reads at the start of each statement) is a conflict, not a mix.
    let moved = diesel::update(
        referrals::table
            .filter(referrals::id.eq_any(&all))
            .filter(referrals::person_id.eq(&merge.person_id)),
    )
    .set((
        referrals::person_id.eq(&keep.person_id),
        referrals::updated_at.eq(now),
    ))
    .execute(c)?;
    let marked = diesel::update(
        people::table
            .find(&merge.person_id)
            .filter(people::merged_into_id.is_null()),
    )
    .set((
        people::merged_into_id.eq(Some(&keep.person_id)),
        people::updated_at.eq(now),
    ))
    .execute(c)?;
    if moved != all.len() || marked != 1 {
        return Err(AppError::Conflict(
            "These records changed while you were merging them: look them up again".into(),
        ));
    }
    // Reminders reach a person by the contact details of their record: when only the merged
    // record has them, they go with its referrals (and come back on an undo).
    let contact_moved = move_contact_details(c, &merge.person_id, &keep.person_id)?;
    let row = model::Merge {
        id: crate::ids::new_id(),
        kept_person_id: keep.person_id.clone(),
        merged_person_id: merge.person_id.clone(),
        referral_ids: serde_json::to_string(&all).map_err(|e| AppError::Internal(e.into()))?,
        merged_by: viewer.user_id.clone(),
        merged_at: now,
        undone_by: None,
        undone_at: None,
        contact_moved,
    };
    diesel::insert_into(person_merges::table)
        .values(&row)
        .execute(c)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Combination, "person.merged")
            .record("person", &keep.person_id)
            .reason(reason)
            .details(json!({ "merge_id": row.id, "merged_person_id": merge.person_id, "referral_ids": all, "contact_moved": contact_moved })),
    )?;
    crate::reports::upkeep::refresh_person(c, &keep.person_id)?;
    let kept_referral_id = (viewer.role == Role::ClinicalLead).then_some(keep.id);
    Ok(Merged {
        merge: row,
        kept_referral_id,
    })
}

/// Moves a person's contact details to another person who has none; whether it did.
fn move_contact_details(c: &mut DbConn, from: &str, to: &str) -> Result<bool, AppError> {
    let to_has: bool =
        diesel::select(diesel::dsl::exists(contact_details::table.find(to))).get_result(c)?;
    if to_has {
        return Ok(false);
    }
    Ok(diesel::update(contact_details::table.find(from))
        .set(contact_details::person_id.eq(to))
        .execute(c)?
        == 1)
}

/// Undoes a merge: the referrals moved go back to the person they came from, and the
/// contact details the merge moved go back with them.
pub fn undo_merge(
    c: &mut DbConn,
    viewer: &Viewer,
    actor: &Actor,
    merge_id: &str,
) -> Result<model::Merge, AppError> {
    may_merge(viewer)?;
    let m: model::Merge = person_merges::table
        .find(merge_id)
        .select(model::Merge::as_select())
        .first(c)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let ids: Vec<String> =
        serde_json::from_str(&m.referral_ids).map_err(|e| AppError::Internal(e.into()))?;
    // Only someone who could have made the merge may undo it.
    let in_scope: i64 = model::scoped(viewer, model::Purpose::MergePeople)
        .filter(referrals::id.eq_any(ids.clone()))
        .count()
        .get_result(c)?;
    if in_scope != ids.len() as i64 {
        return Err(AppError::NotFound);
    }
    let now = crate::clock::now();
    // Marked undone first, and only if it is not yet: of two undos at once, one wins.
    let marked = diesel::update(
        person_merges::table
            .find(merge_id)
            .filter(person_merges::undone_at.is_null()),
    )
    .set((
        person_merges::undone_by.eq(Some(&viewer.user_id)),
        person_merges::undone_at.eq(Some(now)),
    ))
    .execute(c)?;
    if marked != 1 {
        return Err(AppError::Conflict(
            "This merge has already been undone".into(),
        ));
    }
    diesel::update(
        referrals::table
            .filter(referrals::id.eq_any(&ids))
            .filter(referrals::person_id.eq(&m.kept_person_id)),
    )
    .set((
        referrals::person_id.eq(&m.merged_person_id),
        referrals::updated_at.eq(now),
    ))
    .execute(c)?;
    diesel::update(people::table.find(&m.merged_person_id))
        .set((
            people::merged_into_id.eq(None::<String>),
            people::updated_at.eq(now),
        ))
        .execute(c)?;
    let contact_back =
        m.contact_moved && move_contact_details(c, &m.kept_person_id, &m.merged_person_id)?;
    audit::record(
        c,
        actor,
        Event::new(AuditAction::Combination, "person.merge_undone")
            .record("person", &m.kept_person_id)
            .details(json!({ "merge_id": m.id, "merged_person_id": m.merged_person_id, "referral_ids": ids, "contact_moved_back": contact_back })),
    )?;
    crate::reports::upkeep::refresh_person(c, &m.kept_person_id)?;
    crate::reports::upkeep::refresh_person(c, &m.merged_person_id)?;
    Ok(model::Merge {
        undone_by: Some(viewer.user_id.clone()),
        undone_at: Some(now),
        ..m
    })
}

// ------------------------------------------------------------------ drafts

pub fn new_draft(c: &mut DbConn, viewer: &Viewer) -> Result<String, AppError> {
    if !state::Action::Submit.roles().contains(&viewer.role) {
        return Err(AppError::Forbidden);
    }
    let now = crate::clock::now();
    let id = crate::ids::new_id();
    // A Liaison and Diversion practitioner refers at the point of arrest, as themselves.
    let mut start = RawForm::default();
    if viewer.role == Role::LiaisonDiversion {
        start.set("entry_point", EntryPoint::Arrest.as_str());
        start.set("ld_practitioner", &viewer.name);
    }
    diesel::insert_into(referral_drafts::table)
        .values(Draft {
            id: id.clone(),
            created_by: viewer.user_id.clone(),
            data: serde_json::to_string(&start).map_err(|e| AppError::Internal(e.into()))?,
            created_at: now,
            updated_at: now,
        })
        .execute(c)?;
    Ok(id)
}

/// The answers saved in one of the user's drafts.
pub fn draft_answers(c: &mut DbConn, viewer: &Viewer, id: &str) -> Result<RawForm, AppError> {
    let d = model::draft(c, &viewer.user_id, id)?.ok_or(AppError::NotFound)?;
    serde_json::from_str(&d.data).map_err(|e| AppError::Internal(e.into()))
}

/// Saves a page's answers into the draft.
pub fn save_draft(
    c: &mut DbConn,
    viewer: &Viewer,
    id: &str,
    page: &RawForm,
) -> Result<RawForm, AppError> {
    let mut answers = draft_answers(c, viewer, id)?;
    answers.merge(page);
    diesel::update(referral_drafts::table.find(id))
        .set((
            referral_drafts::data
                .eq(serde_json::to_string(&answers).map_err(|e| AppError::Internal(e.into()))?),
            referral_drafts::updated_at.eq(crate::clock::now()),
        ))
        .execute(c)?;
    Ok(answers)
}

/// The referral a submitted draft became, if it was submitted.
pub fn submitted_from_draft(
    c: &mut DbConn,
    viewer: &Viewer,
    draft_id: &str,
) -> Result<Option<Referral>, AppError> {
    Ok(referrals::table
        .filter(referrals::created_by.eq(&viewer.user_id))
        .filter(referrals::idempotency_key.eq(format!("draft:{draft_id}")))
        .select(Referral::as_select())
        .first(c)
        .optional()?)
}

/// Removes drafts not touched for [`DRAFT_RETENTION_DAYS`]. Run hourly by housekeeping.
pub fn purge_drafts(c: &mut DbConn) -> Result<usize, AppError> {
    let cutoff = crate::clock::now() - Duration::days(DRAFT_RETENTION_DAYS);
    let n = diesel::delete(referral_drafts::table.filter(referral_drafts::updated_at.lt(cutoff)))
        .execute(c)?;
    if n > 0 {
        audit::record(
            c,
            &Actor::system("housekeeping"),
            Event::new(AuditAction::Erasure, "referral_draft.purged")
                .details(json!({ "count": n, "older_than_days": DRAFT_RETENTION_DAYS })),
        )?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_use_only_unambiguous_characters() {
        for _ in 0..200 {
            let r = new_reference();
            assert_eq!(r.len(), 12);
            assert!(r.starts_with("MH-"));
            assert!(
                r[3..]
                    .chars()
                    .all(|c| c == '-' || REFERENCE_ALPHABET.contains(&(c as u8)))
            );
            assert!(!r[3..].contains(['0', 'O', '1', 'I', 'L']));
        }
    }

    #[test]
    fn close_names_are_spotted() {
        assert!(close_name("Alex", "Morgan", "alex", "Morgen"));
        assert!(close_name("Alex", "Morgan", "Alexander", "Morgan"));
        assert!(close_name("Alex", "Morgan", "Morgan", "Alex"));
        assert!(!close_name("Alex", "Morgan", "Sam", "Morgan"));
        assert!(!close_name("Alex", "Morgan", "Alex", "Patel"));
    }
}
