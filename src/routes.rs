//! The one route table: every path, its method, who may use it, and its handler. Reads like
//! a sitemap. Access is enforced by `auth::guard::enforce` wrapped around each entry, and a
//! test walks this table so no route can go undeclared.

use actix_web::http::Method;
use actix_web::{Route as ActixRoute, guard, web};

use crate::auth::guard::{ANY_ROLE, Access, enforce};
use crate::sessions::{capacity, closures, diary, feeds};
use crate::signposting::directory;
use crate::users::model::Role;
use crate::{
    areas, assets, audit, auth, home, import, linked, notifications, openapi, quality, referrals,
    reminders, reports, retention, sessions, signposting, users,
};

const ADMIN: &[Role] = &[Role::Admin];
/// Everyone who works with referrals. Councillors and administrators are not among them:
/// to them these routes do not exist for their role.
const CASEWORK: &[Role] = &[
    Role::ProbationOfficer,
    Role::ClinicalLead,
    Role::AssistantPsychologist,
];
/// Who makes referrals: probation officers, and Liaison and Diversion practitioners at the
/// point of arrest (the entry point checked in the service).
const REFERRERS: &[Role] = &[Role::ProbationOfficer, Role::LiaisonDiversion];
/// Everyone who reads referrals and moves them along: the casework roles, and Liaison and
/// Diversion practitioners, who reach only the referrals they made.
const REFERRAL_READERS: &[Role] = &[
    Role::ProbationOfficer,
    Role::LiaisonDiversion,
    Role::ClinicalLead,
    Role::AssistantPsychologist,
];
/// Who decides enforcement: the responsible officer (checked in the service).
const ENFORCERS: &[Role] = &[Role::ProbationOfficer];
const AMENDERS: &[Role] = &[
    Role::ProbationOfficer,
    Role::LiaisonDiversion,
    Role::ClinicalLead,
];
/// Those who plan, move, cancel and record treatment sessions.
const TREATERS: &[Role] = &[Role::AssistantPsychologist, Role::ClinicalLead];
const LEADS: &[Role] = &[Role::ClinicalLead];
/// Who decides the evidence for an absence awaiting it: the practitioner, a clinical lead or
/// the responsible officer (which of them, checked in the service).
const EVIDENCE: &[Role] = CASEWORK;
/// Who reads the uptake report: councillors (through disclosure control), clinical leads
/// and administrators.
const REPORT_READERS: &[Role] = &[Role::Councillor, Role::ClinicalLead, Role::Admin];
/// Who takes the evaluation return (one row a referral): clinical leads and administrators.
const EVALUATORS: &[Role] = &[Role::ClinicalLead, Role::Admin];
/// Those who record linked DRRs and ATRs and change their status (the holder of the
/// referral or a clinical lead, checked in the service).
const LINKERS: &[Role] = &[Role::ProbationOfficer, Role::ClinicalLead];
/// Clinical leads and administrators join two records of one person.
const MERGERS: &[Role] = &[Role::ClinicalLead, Role::Admin];
/// Who reviews closed referrals under the retention policy: administrators in every area,
/// clinical leads in theirs.
const RETENTION_REVIEWERS: &[Role] = &[Role::Admin, Role::ClinicalLead];
/// Who checks what partners record: clinical leads and administrators (records and shares),
/// councillors (shares per organisation only).
const QUALITY_READERS: &[Role] = &[Role::ClinicalLead, Role::Admin, Role::Councillor];
/// Those with a diary: assistant psychologists their own, clinical leads their teams'.
const DIARY: &[Role] = TREATERS;
/// Who sees a practitioner's capacity: the practitioner, their leads and administrators.
const CAPACITY_READERS: &[Role] = &[Role::AssistantPsychologist, Role::ClinicalLead, Role::Admin];
/// Who sets it: not the practitioner.
const CAPACITY_SETTERS: &[Role] = &[Role::ClinicalLead, Role::Admin];

pub struct Entry {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    route: ActixRoute,
}

fn get(path: &'static str, access: Access, route: ActixRoute) -> Entry {
    Entry {
        method: Method::GET,
        path,
        access,
        route,
    }
}

fn post(path: &'static str, access: Access, route: ActixRoute) -> Entry {
    Entry {
        method: Method::POST,
        path,
        access,
        route,
    }
}

fn delete(path: &'static str, access: Access, route: ActixRoute) -> Entry {
    Entry {
        method: Method::DELETE,
        path,
        access,
        route,
    }
}

pub fn table() -> Vec<Entry> {
    use Access::*;
    vec![
        // Service and information
        get("/healthz", Public, web::to(home::healthz)),
        get("/readyz", Public, web::to(crate::operations::readyz)),
        get("/assets/{path:.*}", Public, web::to(assets::serve)),
        get("/accessibility", Public, web::to(home::accessibility)),
        get("/privacy", Public, web::to(home::privacy)),
        get("/", Staff(ANY_ROLE), web::to(home::index)),
        // Sign-in
        get("/sign-in", Public, web::to(auth::web::sign_in_form)),
        post("/sign-in", Public, web::to(auth::web::sign_in)),
        get(
            "/sign-in/code",
            PendingSignIn,
            web::to(auth::web::code_form),
        ),
        post("/sign-in/code", PendingSignIn, web::to(auth::web::code)),
        get(
            "/sign-in/recovery-code",
            PendingSignIn,
            web::to(auth::web::recovery_form),
        ),
        post(
            "/sign-in/recovery-code",
            PendingSignIn,
            web::to(auth::web::recovery),
        ),
        get(
            "/sign-in/set-up-authenticator",
            PendingSignIn,
            web::to(auth::web::enrol_form),
        ),
        post(
            "/sign-in/set-up-authenticator",
            PendingSignIn,
            web::to(auth::web::enrol),
        ),
        get(
            "/invitation/{token}",
            Public,
            web::to(auth::web::invitation_form),
        ),
        post(
            "/invitation/{token}",
            Public,
            web::to(auth::web::invitation),
        ),
        get(
            "/intake-mailbox/{token}",
            Public,
            web::to(areas::web::confirm_form),
        ),
        post(
            "/intake-mailbox/{token}",
            Public,
            web::to(areas::web::confirm),
        ),
        post("/sign-out", Session, web::to(auth::web::sign_out)),
        get("/signed-out", Public, web::to(auth::web::signed_out)),
        post(
            "/session/keep-alive",
            Staff(ANY_ROLE),
            web::to(auth::web::keep_alive),
        ),
        // Your account
        get("/account", Staff(ANY_ROLE), web::to(auth::web::account)),
        post(
            "/account/sessions/end-others",
            Staff(ANY_ROLE),
            web::to(auth::web::end_other_sessions),
        ),
        post(
            "/account/sessions/{id}/end",
            Staff(ANY_ROLE),
            web::to(auth::web::end_session),
        ),
        post(
            "/account/tokens/{id}/revoke",
            Staff(ANY_ROLE),
            web::to(auth::web::revoke_token),
        ),
        get(
            "/account/password",
            Staff(ANY_ROLE),
            web::to(auth::web::password_form),
        ),
        post(
            "/account/password",
            Staff(ANY_ROLE),
            web::to(auth::web::change_password),
        ),
        post(
            "/account/notifications",
            Staff(ANY_ROLE),
            web::to(notifications::web::save_preferences),
        ),
        get("/account/calendar", Staff(DIARY), web::to(feeds::web::show)),
        post(
            "/account/calendar",
            Staff(DIARY),
            web::to(feeds::web::create_feed),
        ),
        post(
            "/account/calendar/revoke",
            Staff(DIARY),
            web::to(feeds::web::revoke_feed),
        ),
        // Administration
        get("/admin/users", Staff(ADMIN), web::to(users::web::list)),
        get(
            "/admin/users/new",
            Staff(ADMIN),
            web::to(users::web::new_form),
        ),
        post(
            "/admin/users/new",
            Staff(ADMIN),
            web::to(users::web::create),
        ),
        get("/admin/users/{id}", Staff(ADMIN), web::to(users::web::show)),
        get(
            "/admin/users/{id}/edit",
            Staff(ADMIN),
            web::to(users::web::edit_form),
        ),
        post(
            "/admin/users/{id}/edit",
            Staff(ADMIN),
            web::to(users::web::update),
        ),
        get(
            "/admin/users/{id}/vetting",
            Staff(ADMIN),
            web::to(users::web::vetting_form),
        ),
        post(
            "/admin/users/{id}/vetting",
            Staff(ADMIN),
            web::to(users::web::set_vetting),
        ),
        post(
            "/admin/users/{id}/{action}",
            Staff(ADMIN),
            web::to(users::web::action),
        ),
        get(
            "/admin/sessions/end-all",
            Staff(ADMIN),
            web::to(users::web::end_all_form),
        ),
        post(
            "/admin/sessions/end-all",
            Staff(ADMIN),
            web::to(users::web::end_all_sessions),
        ),
        get("/admin/vetting", Staff(ADMIN), web::to(users::web::vetting)),
        get("/admin/audit", Staff(ADMIN), web::to(audit::web::search)),
        get(
            "/admin/audit/{seq}",
            Staff(ADMIN),
            web::to(audit::web::entry),
        ),
        get("/admin/import", Staff(ADMIN), web::to(import::web::form)),
        post("/admin/import", Staff(ADMIN), web::to(import::web::upload)),
        post("/admin/import/run", Staff(ADMIN), web::to(import::web::run)),
        get(
            "/admin/import/report.csv",
            Staff(ADMIN),
            web::to(import::web::report_csv),
        ),
        post(
            "/admin/audit/export",
            Staff(ADMIN),
            web::to(audit::web::export),
        ),
        // Referrals
        get(
            "/referrals",
            Staff(REFERRAL_READERS),
            web::to(referrals::web::list::list),
        ),
        get(
            "/referrals/new",
            Staff(REFERRERS),
            web::to(referrals::web::making::start),
        ),
        post(
            "/referrals/new",
            Staff(REFERRERS),
            web::to(referrals::web::making::create_draft),
        ),
        get(
            "/referrals/drafts/{id}/check",
            Staff(REFERRERS),
            web::to(referrals::web::making::check_form),
        ),
        post(
            "/referrals/drafts/{id}/check",
            Staff(REFERRERS),
            web::to(referrals::web::making::submit),
        ),
        get(
            "/referrals/drafts/{id}/{step}",
            Staff(REFERRERS),
            web::to(referrals::web::making::step_form),
        ),
        post(
            "/referrals/drafts/{id}/{step}",
            Staff(REFERRERS),
            web::to(referrals::web::making::step_save),
        ),
        get(
            "/referrals/{id}",
            Staff(REFERRAL_READERS),
            web::to(referrals::web::show::show),
        ),
        get(
            "/referrals/{id}/reason",
            Staff(LEADS),
            web::to(referrals::web::reason::reason_form),
        ),
        post(
            "/referrals/{id}/reason",
            Staff(LEADS),
            web::to(referrals::web::reason::give_reason),
        ),
        get(
            "/referrals/{id}/contact",
            Staff(REFERRAL_READERS),
            web::to(reminders::web::contact_form),
        ),
        post(
            "/referrals/{id}/contact",
            Staff(REFERRAL_READERS),
            web::to(reminders::web::contact_save),
        ),
        get(
            "/referrals/{id}/amend",
            Staff(AMENDERS),
            web::to(referrals::web::amend::amend_form),
        ),
        post(
            "/referrals/{id}/amend",
            Staff(AMENDERS),
            web::to(referrals::web::amend::amend),
        ),
        get(
            "/referrals/{id}/actions/{action}",
            Staff(REFERRAL_READERS),
            web::to(referrals::web::actions::action_form),
        ),
        post(
            "/referrals/{id}/actions/{action}",
            Staff(REFERRAL_READERS),
            web::to(referrals::web::actions::act),
        ),
        get(
            "/referrals/{id}/identity/{link_id}",
            Staff(LEADS),
            web::to(referrals::web::identity::identity_form),
        ),
        post(
            "/referrals/{id}/identity/{link_id}",
            Staff(LEADS),
            web::to(referrals::web::identity::identity),
        ),
        get(
            "/people/merge",
            Staff(MERGERS),
            web::to(referrals::web::merge::merge_form),
        ),
        post(
            "/people/merge",
            Staff(MERGERS),
            web::to(referrals::web::merge::merge),
        ),
        post(
            "/people/merges/{id}/undo",
            Staff(MERGERS),
            web::to(referrals::web::merge::undo_merge),
        ),
        // Treatment sessions
        get(
            "/referrals/{id}/sessions/plan",
            Staff(TREATERS),
            web::to(sessions::web::plan_form),
        ),
        post(
            "/referrals/{id}/sessions/plan",
            Staff(TREATERS),
            web::to(sessions::web::plan),
        ),
        get(
            "/referrals/{id}/sessions/add",
            Staff(TREATERS),
            web::to(sessions::web::add_form),
        ),
        post(
            "/referrals/{id}/sessions/add",
            Staff(TREATERS),
            web::to(sessions::web::add),
        ),
        get(
            "/sessions/{id}/reschedule",
            Staff(TREATERS),
            web::to(sessions::web::move_form),
        ),
        post(
            "/sessions/{id}/reschedule",
            Staff(TREATERS),
            web::to(sessions::web::move_session),
        ),
        get(
            "/sessions/{id}/cancel",
            Staff(TREATERS),
            web::to(sessions::web::cancel_form),
        ),
        post(
            "/sessions/{id}/cancel",
            Staff(TREATERS),
            web::to(sessions::web::cancel),
        ),
        get(
            "/sessions/{id}/attendance",
            Staff(TREATERS),
            web::to(sessions::web::attendance_form),
        ),
        post(
            "/sessions/{id}/attendance",
            Staff(TREATERS),
            web::to(sessions::web::attendance),
        ),
        get(
            "/worklist",
            Staff(TREATERS),
            web::to(sessions::web::worklist),
        ),
        get(
            "/leave",
            Staff(TREATERS),
            web::to(sessions::web::leave_list),
        ),
        post(
            "/leave",
            Staff(TREATERS),
            web::to(sessions::web::leave_record),
        ),
        get(
            "/leave/{id}",
            Staff(TREATERS),
            web::to(sessions::web::leave_show),
        ),
        post(
            "/leave/{id}/arrange",
            Staff(TREATERS),
            web::to(sessions::web::leave_arrange),
        ),
        post(
            "/leave/{id}/cancel",
            Staff(TREATERS),
            web::to(sessions::web::leave_cancel),
        ),
        get(
            "/sessions/{id}/notes",
            Staff(TREATERS),
            web::to(sessions::web::notes_form),
        ),
        post(
            "/sessions/{id}/notes",
            Staff(TREATERS),
            web::to(sessions::web::notes),
        ),
        get(
            "/sessions/{id}/correction",
            Staff(TREATERS),
            web::to(sessions::web::correction_form),
        ),
        post(
            "/sessions/{id}/correction",
            Staff(TREATERS),
            web::to(sessions::web::correction),
        ),
        get(
            "/sessions/{id}/evidence",
            Staff(EVIDENCE),
            web::to(sessions::web::evidence_form),
        ),
        post(
            "/sessions/{id}/evidence",
            Staff(EVIDENCE),
            web::to(sessions::web::evidence),
        ),
        get(
            "/sessions/{id}/measures/{instrument}",
            Staff(TREATERS),
            web::to(sessions::web::measure_form),
        ),
        post(
            "/sessions/{id}/measures/{instrument}",
            Staff(TREATERS),
            web::to(sessions::web::measure),
        ),
        get(
            "/referrals/{id}/practitioner-report",
            Staff(TREATERS),
            web::to(sessions::web::report_form),
        ),
        post(
            "/referrals/{id}/practitioner-report",
            Staff(TREATERS),
            web::to(sessions::web::report),
        ),
        get(
            "/risk-alerts/{id}/acknowledge",
            Staff(LEADS),
            web::to(sessions::web::alert_form),
        ),
        post(
            "/risk-alerts/{id}/acknowledge",
            Staff(LEADS),
            web::to(sessions::web::alert),
        ),
        get(
            "/enforcement-reviews/{id}/decision",
            Staff(ENFORCERS),
            web::to(sessions::web::decision_form),
        ),
        post(
            "/enforcement-reviews/{id}/decision",
            Staff(ENFORCERS),
            web::to(sessions::web::decision),
        ),
        get(
            "/enforcement-reviews/{id}/withdrawal",
            Staff(ENFORCERS),
            web::to(sessions::web::withdrawal_form),
        ),
        post(
            "/enforcement-reviews/{id}/withdrawal",
            Staff(ENFORCERS),
            web::to(sessions::web::withdrawal),
        ),
        // Linked DRR and ATR requirements
        get(
            "/referrals/{id}/linked-requirements/new",
            Staff(LINKERS),
            web::to(linked::web::new_form),
        ),
        post(
            "/referrals/{id}/linked-requirements/new",
            Staff(LINKERS),
            web::to(linked::web::create),
        ),
        get(
            "/linked-requirements/{id}",
            Staff(CASEWORK),
            web::to(linked::web::show),
        ),
        get(
            "/linked-requirements/{id}/status",
            Staff(LINKERS),
            web::to(linked::web::status_form),
        ),
        post(
            "/linked-requirements/{id}/status",
            Staff(LINKERS),
            web::to(linked::web::status),
        ),
        get(
            "/linked-requirements/{id}/activity",
            Staff(CASEWORK),
            web::to(linked::web::activity_form),
        ),
        post(
            "/linked-requirements/{id}/activity",
            Staff(CASEWORK),
            web::to(linked::web::activity),
        ),
        get(
            "/reports/uptake",
            Staff(REPORT_READERS),
            web::to(reports::web::uptake),
        ),
        get(
            "/reports/uptake.csv",
            Staff(REPORT_READERS),
            web::to(reports::web::uptake_csv),
        ),
        get(
            "/reports/uptake.ods",
            Staff(REPORT_READERS),
            web::to(reports::web::uptake_ods),
        ),
        get(
            "/reports/evaluation",
            Staff(EVALUATORS),
            web::to(reports::web::evaluation),
        ),
        get(
            "/admin/identifier-extract",
            Staff(ADMIN),
            web::to(reports::web::identifier_extract_form),
        ),
        post(
            "/admin/identifier-extract",
            Staff(ADMIN),
            web::to(reports::web::identifier_extract),
        ),
        get("/admin/areas", Staff(ADMIN), web::to(areas::web::list)),
        get("/admin/areas/{id}", Staff(ADMIN), web::to(areas::web::edit)),
        post("/admin/areas/{id}", Staff(ADMIN), web::to(areas::web::save)),
        get(
            "/admin/areas/{id}/population",
            Staff(ADMIN),
            web::to(areas::web::population_form),
        ),
        post(
            "/admin/areas/{id}/population",
            Staff(ADMIN),
            web::to(areas::web::population_save),
        ),
        get(
            "/admin/reminders",
            Staff(ADMIN),
            web::to(reminders::web::admin),
        ),
        get(
            "/admin/reminders/templates/{kind}/{language}",
            Staff(ADMIN),
            web::to(reminders::web::template_form),
        ),
        post(
            "/admin/reminders/templates/{kind}/{language}",
            Staff(ADMIN),
            web::to(reminders::web::template_save),
        ),
        post(
            "/admin/reminders/{id}/retry",
            Staff(ADMIN),
            web::to(reminders::web::retry),
        ),
        get(
            "/admin/outbox",
            Staff(ADMIN),
            web::to(notifications::web::outbox),
        ),
        post(
            "/admin/outbox/{id}/retry",
            Staff(ADMIN),
            web::to(notifications::web::retry),
        ),
        // Ending treatment and onward support
        get(
            "/referrals/{id}/signposting/new",
            Staff(TREATERS),
            web::to(signposting::web::signpost_form),
        ),
        post(
            "/referrals/{id}/signposting/new",
            Staff(TREATERS),
            web::to(signposting::web::signpost),
        ),
        get(
            "/signposting/due",
            Staff(TREATERS),
            web::to(signposting::web::due),
        ),
        get(
            "/signposting/{id}/update",
            Staff(TREATERS),
            web::to(signposting::web::update_form),
        ),
        post(
            "/signposting/{id}/update",
            Staff(TREATERS),
            web::to(signposting::web::update),
        ),
        get(
            "/referrals/{id}/no-onward-support",
            Staff(TREATERS),
            web::to(signposting::web::no_onward_form),
        ),
        post(
            "/referrals/{id}/no-onward-support",
            Staff(TREATERS),
            web::to(signposting::web::no_onward),
        ),
        get(
            "/referrals/{id}/end-summary",
            Staff(TREATERS),
            web::to(signposting::web::summary_form),
        ),
        post(
            "/referrals/{id}/end-summary",
            Staff(TREATERS),
            web::to(signposting::web::write_summary),
        ),
        get(
            "/admin/directory",
            Staff(ADMIN),
            web::to(directory::web::list),
        ),
        get(
            "/admin/directory/new",
            Staff(ADMIN),
            web::to(directory::web::new_form),
        ),
        post(
            "/admin/directory/new",
            Staff(ADMIN),
            web::to(directory::web::create_page),
        ),
        get(
            "/admin/directory/{id}/edit",
            Staff(ADMIN),
            web::to(directory::web::edit_form),
        ),
        post(
            "/admin/directory/{id}/edit",
            Staff(ADMIN),
            web::to(directory::web::edit),
        ),
        post(
            "/admin/directory/{id}/deactivate",
            Staff(ADMIN),
            web::to(directory::web::deactivate),
        ),
        post(
            "/admin/directory/{id}/reactivate",
            Staff(ADMIN),
            web::to(directory::web::reactivate),
        ),
        // Diary, capacity and closures
        get("/diary", Staff(DIARY), web::to(diary::web::show)),
        get("/capacity", Staff(LEADS), web::to(capacity::web::overview)),
        get(
            "/practitioners/{id}/capacity",
            Staff(CAPACITY_READERS),
            web::to(capacity::web::settings_form),
        ),
        post(
            "/practitioners/{id}/capacity",
            Staff(CAPACITY_SETTERS),
            web::to(capacity::web::save_settings),
        ),
        get(
            "/admin/closures",
            Staff(ADMIN),
            web::to(closures::web::list),
        ),
        post(
            "/admin/closures",
            Staff(ADMIN),
            web::to(closures::web::create),
        ),
        post(
            "/admin/closures/{id}/delete",
            Staff(ADMIN),
            web::to(closures::web::delete),
        ),
        // Data quality: clinical leads, administrators and councillors (shares only)
        get(
            "/data-quality",
            Staff(QUALITY_READERS),
            web::to(quality::web::page),
        ),
        get(
            "/data-quality.csv",
            Staff(QUALITY_READERS),
            web::to(quality::web::csv),
        ),
        // Retention review
        get(
            "/retention",
            Staff(RETENTION_REVIEWERS),
            web::to(retention::web::queue),
        ),
        get(
            "/retention/{id}",
            Staff(RETENTION_REVIEWERS),
            web::to(retention::web::review_form),
        ),
        post(
            "/retention/{id}",
            Staff(RETENTION_REVIEWERS),
            web::to(retention::web::decide),
        ),
        // Calendar feeds: the secret in the address is the credential, so no session.
        get(
            "/calendar/{token}.ics",
            Public,
            web::to(feeds::web::ics_feed),
        ),
        // API
        get(
            "/api/v1/openapi.json",
            ApiPublic,
            web::to(openapi::document),
        ),
        post(
            "/api/v1/auth/token",
            ApiPublic,
            web::to(auth::api::issue_token),
        ),
        delete(
            "/api/v1/auth/token",
            Api(ANY_ROLE),
            web::to(auth::api::revoke_token),
        ),
        get("/api/v1/me", Api(ANY_ROLE), web::to(auth::api::me)),
        get("/api/v1/areas", Api(ADMIN), web::to(areas::api::list)),
        post(
            "/api/v1/areas/{id}/populations",
            Api(ADMIN),
            web::to(areas::api::record),
        ),
        get(
            "/api/v1/data-quality",
            Api(QUALITY_READERS),
            web::to(quality::web::api),
        ),
        get(
            "/api/v1/reports/uptake",
            Api(REPORT_READERS),
            web::to(reports::api::uptake),
        ),
        get(
            "/api/v1/reports/evaluation",
            Api(EVALUATORS),
            web::to(reports::api::evaluation),
        ),
        post(
            "/api/v1/reports/identifier-extract",
            Api(ADMIN),
            web::to(reports::api::identifier_extract),
        ),
        get(
            "/api/v1/referrals",
            Api(REFERRAL_READERS),
            web::to(referrals::api::list),
        ),
        post(
            "/api/v1/referrals",
            Api(REFERRERS),
            web::to(referrals::api::create),
        ),
        get(
            "/api/v1/referrals/{id}",
            Api(REFERRAL_READERS),
            web::to(referrals::api::get),
        ),
        get(
            "/api/v1/referrals/{id}/contact",
            Api(REFERRAL_READERS),
            web::to(reminders::api::contact_show),
        ),
        post(
            "/api/v1/referrals/{id}/contact",
            Api(REFERRAL_READERS),
            web::to(reminders::api::contact_save),
        ),
        get(
            "/api/v1/reminders/templates",
            Api(ADMIN),
            web::to(reminders::api::templates_list),
        ),
        post(
            "/api/v1/reminders/templates/{kind}/{language}",
            Api(ADMIN),
            web::to(reminders::api::template_save),
        ),
        get(
            "/api/v1/reminders/failed",
            Api(ADMIN),
            web::to(reminders::api::failed),
        ),
        post(
            "/api/v1/reminders/{id}/retry",
            Api(ADMIN),
            web::to(reminders::api::retry),
        ),
        post(
            "/api/v1/referrals/{id}/amend",
            Api(AMENDERS),
            web::to(referrals::api::amend),
        ),
        post(
            "/api/v1/referrals/{id}/identity/{link_id}",
            Api(LEADS),
            web::to(referrals::api::identity),
        ),
        get(
            "/api/v1/people/merges",
            Api(MERGERS),
            web::to(referrals::api::merges),
        ),
        post(
            "/api/v1/people/merges",
            Api(MERGERS),
            web::to(referrals::api::merge),
        ),
        post(
            "/api/v1/people/merges/{id}/undo",
            Api(MERGERS),
            web::to(referrals::api::undo_merge),
        ),
        post(
            "/api/v1/referrals/{id}/transitions",
            Api(REFERRAL_READERS),
            web::to(referrals::api::transition),
        ),
        get(
            "/api/v1/referrals/{id}/sessions",
            Api(CASEWORK),
            web::to(sessions::api::list),
        ),
        post(
            "/api/v1/referrals/{id}/sessions",
            Api(TREATERS),
            web::to(sessions::api::add),
        ),
        post(
            "/api/v1/referrals/{id}/sessions/plan",
            Api(TREATERS),
            web::to(sessions::api::plan),
        ),
        post(
            "/api/v1/sessions/{id}/reschedule",
            Api(TREATERS),
            web::to(sessions::api::reschedule),
        ),
        post(
            "/api/v1/sessions/{id}/cancel",
            Api(TREATERS),
            web::to(sessions::api::cancel),
        ),
        post(
            "/api/v1/sessions/{id}/attendance",
            Api(TREATERS),
            web::to(sessions::api::attendance),
        ),
        get(
            "/api/v1/leave",
            Api(TREATERS),
            web::to(sessions::api::list_leave),
        ),
        post(
            "/api/v1/leave",
            Api(TREATERS),
            web::to(sessions::api::record_leave),
        ),
        get(
            "/api/v1/leave/{id}",
            Api(TREATERS),
            web::to(sessions::api::show_leave),
        ),
        post(
            "/api/v1/leave/{id}/arrangements",
            Api(TREATERS),
            web::to(sessions::api::arrange_leave),
        ),
        post(
            "/api/v1/leave/{id}/cancel",
            Api(TREATERS),
            web::to(sessions::api::cancel_leave),
        ),
        get(
            "/api/v1/sessions/{id}/notes",
            Api(TREATERS),
            web::to(sessions::api::notes),
        ),
        post(
            "/api/v1/sessions/{id}/notes",
            Api(TREATERS),
            web::to(sessions::api::write_notes),
        ),
        get(
            "/api/v1/worklist",
            Api(TREATERS),
            web::to(sessions::api::worklist),
        ),
        post(
            "/api/v1/sessions/{id}/correction",
            Api(TREATERS),
            web::to(sessions::api::correct),
        ),
        post(
            "/api/v1/sessions/{id}/evidence",
            Api(EVIDENCE),
            web::to(sessions::api::evidence),
        ),
        post(
            "/api/v1/sessions/{id}/measures",
            Api(TREATERS),
            web::to(sessions::api::measure),
        ),
        post(
            "/api/v1/referrals/{id}/practitioner-reports",
            Api(TREATERS),
            web::to(sessions::api::report),
        ),
        post(
            "/api/v1/risk-alerts/{id}/acknowledge",
            Api(LEADS),
            web::to(sessions::api::acknowledge),
        ),
        post(
            "/api/v1/enforcement-reviews/{id}/decision",
            Api(ENFORCERS),
            web::to(sessions::api::decide),
        ),
        post(
            "/api/v1/enforcement-reviews/{id}/withdrawal",
            Api(ENFORCERS),
            web::to(sessions::api::withdraw),
        ),
        get(
            "/api/v1/referrals/{id}/linked-requirements",
            Api(CASEWORK),
            web::to(linked::api::list),
        ),
        post(
            "/api/v1/referrals/{id}/linked-requirements",
            Api(LINKERS),
            web::to(linked::api::create),
        ),
        get(
            "/api/v1/linked-requirements/{id}",
            Api(CASEWORK),
            web::to(linked::api::get),
        ),
        post(
            "/api/v1/linked-requirements/{id}/status",
            Api(LINKERS),
            web::to(linked::api::status),
        ),
        post(
            "/api/v1/linked-requirements/{id}/activity",
            Api(CASEWORK),
            web::to(linked::api::activity),
        ),
        get(
            "/api/v1/referrals/{id}/signposting",
            Api(CASEWORK),
            web::to(signposting::api::list),
        ),
        post(
            "/api/v1/referrals/{id}/signposting",
            Api(TREATERS),
            web::to(signposting::api::signpost),
        ),
        post(
            "/api/v1/signposting/{id}",
            Api(TREATERS),
            web::to(signposting::api::update),
        ),
        post(
            "/api/v1/referrals/{id}/no-onward-support",
            Api(TREATERS),
            web::to(signposting::api::no_onward),
        ),
        get(
            "/api/v1/referrals/{id}/end-summary",
            Api(CASEWORK),
            web::to(signposting::api::end_summary),
        ),
        post(
            "/api/v1/referrals/{id}/end-summary",
            Api(TREATERS),
            web::to(signposting::api::write_summary),
        ),
        get(
            "/api/v1/directory",
            Api(ADMIN),
            web::to(signposting::api::directory_list),
        ),
        post(
            "/api/v1/directory",
            Api(ADMIN),
            web::to(signposting::api::directory_create),
        ),
        post(
            "/api/v1/directory/{id}",
            Api(ADMIN),
            web::to(signposting::api::directory_update),
        ),
    ]
}

/// Registers every entry, each behind its access check. Resource-level method guards let
/// several entries share a path.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for entry in table() {
        let access = entry.access;
        let method_guard = guard::Method(entry.method.clone());
        cfg.service(
            web::resource(entry.path)
                .guard(method_guard)
                .route(entry.route)
                .wrap(actix_web::middleware::from_fn(move |req, next| {
                    enforce(access, req, next)
                })),
        );
    }
}

/// Method, path and access of every route, for tests and documentation.
pub fn declarations() -> Vec<(Method, &'static str, Access)> {
    table()
        .into_iter()
        .map(|e| (e.method, e.path, e.access))
        .collect()
}
