//! The OpenAPI 3 document, generated from the handlers' annotations so it cannot drift from
//! the code. Every API route in `routes.rs` must appear here (a test checks).

use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "MHTR Pathway API", version = "1", description = "JSON API of the MHTR Pathway service. Errors are {\"error\": code, \"message\": text, \"fields\": {field: message}}."),
    paths(
        crate::auth::api::issue_token,
        crate::auth::api::revoke_token,
        crate::auth::api::me,
        crate::referrals::api::list,
        crate::referrals::api::create,
        crate::referrals::api::get,
        crate::referrals::api::amend,
        crate::referrals::api::identity,
        crate::referrals::api::transition,
        crate::sessions::api::list,
        crate::sessions::api::plan,
        crate::sessions::api::add,
        crate::sessions::api::reschedule,
        crate::sessions::api::cancel,
        crate::sessions::api::attendance,
        crate::sessions::api::correct,
        crate::sessions::api::evidence,
        crate::sessions::api::worklist,
        crate::sessions::api::notes,
        crate::sessions::api::write_notes,
        crate::sessions::api::measure,
        crate::sessions::api::report,
        crate::sessions::api::acknowledge,
        crate::sessions::api::decide,
        crate::reports::api::uptake,
        crate::linked::api::list,
        crate::linked::api::create,
        crate::linked::api::get,
        crate::linked::api::status,
        crate::linked::api::activity,
        crate::signposting::api::list,
        crate::signposting::api::signpost,
        crate::signposting::api::update,
        crate::signposting::api::no_onward,
        crate::signposting::api::end_summary,
        crate::signposting::api::write_summary,
        crate::signposting::api::directory_list,
        crate::signposting::api::directory_create,
        crate::signposting::api::directory_update,
    ),
    components(schemas(
        crate::error::ErrorBody,
        crate::reports::uptake::Report,
        crate::reports::uptake::Section,
        crate::reports::uptake::Row,
        crate::reports::uptake::Figure,
        crate::reports::uptake::TargetStatus,
        crate::reports::uptake::History,
        crate::referrals::views::ReferralJson,
        crate::referrals::views::ReferralSummary,
        crate::referrals::views::TimelineItem,
        crate::referrals::api::ReferralPage,
        crate::referrals::api::DuplicateBody,
        crate::referrals::api::PossibleDuplicate,
        crate::referrals::api::AmendRequest,
        crate::referrals::api::IdentityRequest,
        crate::referrals::service::IdentityView,
        crate::sessions::api::TreatmentJson,
        crate::sessions::api::PlanJson,
        crate::sessions::api::SessionJson,
        crate::sessions::api::SessionsJson,
        crate::sessions::api::MeasureJson,
        crate::sessions::api::RiskAlertJson,
        crate::sessions::api::ReportJson,
        crate::sessions::api::EnforcementReviewJson,
        crate::sessions::api::ReportRequest,
        crate::sessions::api::AcknowledgeRequest,
        crate::sessions::api::DecisionRequest,
        crate::sessions::api::DoneJson,
        crate::sessions::api::PlanRequest,
        crate::sessions::api::PlanPreview,
        crate::sessions::api::AddRequest,
        crate::sessions::api::MoveRequest,
        crate::sessions::api::CancelRequest,
        crate::sessions::api::CancelledJson,
        crate::sessions::api::AttendanceRequest,
        crate::sessions::api::RecordedJson,
        crate::sessions::api::CorrectionRequest,
        crate::sessions::api::CorrectedJson,
        crate::sessions::api::CorrectionJson,
        crate::sessions::api::EvidenceRequest,
        crate::sessions::worklist::Worklist,
        crate::sessions::api::NotesJson,
        crate::sessions::api::NoteVersionJson,
        crate::sessions::api::NotesRequest,
        crate::sessions::api::NoteWrittenJson,
        crate::sessions::worklist::Section,
        crate::sessions::worklist::Item,
        crate::sessions::api::MeasureRequest,
        crate::linked::views::LinkedRequirementJson,
        crate::linked::views::LinkedRequirementsJson,
        crate::linked::views::LinkedRequirementDetailJson,
        crate::linked::views::ActivityJson,
        crate::linked::views::CourtReviewJson,
        crate::linked::api::CreateRequest,
        crate::linked::api::StatusRequest,
        crate::linked::api::ActivityRequest,
        crate::signposting::views::DirectoryServiceJson,
        crate::signposting::views::SignpostingJson,
        crate::signposting::views::NoOnwardSupportJson,
        crate::signposting::views::OnwardSupportJson,
        crate::signposting::views::MeasureChangeJson,
        crate::signposting::views::EndSummaryJson,
        crate::signposting::api::SignpostRequest,
        crate::signposting::api::SignpostUpdateRequest,
        crate::signposting::api::NoOnwardRequest,
        crate::signposting::api::EndSummaryRequest,
        crate::signposting::api::DirectoryRequest,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Bearer tokens (password and second factor)"),
        (name = "referrals", description = "Referrals: list, make, read, amend, move along the pathway"),
        (name = "sessions", description = "Treatment sessions: the 12-session plan, moves, cancellations, attendance, outcome measures"),
        (name = "linked requirements", description = "DRRs and ATRs beside the MHTR: status, activity and court reviews, on the referral's combined timeline"),
        (name = "onward support", description = "Ending treatment and onward support: signposting to the service directory, the end-of-treatment summary, and the directory itself")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
