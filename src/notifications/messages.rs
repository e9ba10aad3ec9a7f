//! Typed messages and their rendering from `templates/emails/<name>/{subject.txt,body.txt,body.html}`.
//! Plain-text templates are not escaped; the HTML body is (Tera escapes `.html` templates).

use std::sync::Arc;

use serde::Serialize;

use crate::coded_enum;
use crate::error::AppError;

coded_enum! {
    /// What an email is about. Urgent kinds always go; the others can be turned off by the
    /// person receiving them, on their account page.
    pub enum MessageKind {
        Welcome = ("welcome", "Invitation to set up an account"),
        PasswordReset = ("password_reset", "Password reset link"),
        MfaReset = ("mfa_reset", "Two-factor reset link"),
        VettingExpiring = ("vetting_expiring", "Your vetting is about to expire"),
        VettingExpiringAdmin = ("vetting_expiring_admin", "Vetting of someone you administer is about to expire"),
        ReferralSubmitted = ("referral_submitted", "A referral is made in one of your areas"),
        ReferralScreened = ("referral_screened", "A referral you made is accepted or declined at screening"),
        ApAllocated = ("ap_allocated", "A referral is allocated to you for treatment"),
        ReferralHandedOver = ("referral_handed_over", "A referral is handed over to you as responsible officer"),
        ReferralTakenOver = ("referral_taken_over", "A probation officer becomes responsible officer for a referral you made"),
        ShareConsentChanged = ("share_consent_changed", "Consent to share is withdrawn or given again for a referral you hold"),
        TreatmentEnded = ("treatment_ended", "Treatment ends for a referral you are responsible for"),
        AssessmentReportSent = ("assessment_report_sent", "The assessment and suitability report is sent for a referral you hold"),
        EndSummaryWritten = ("end_summary_written", "The end-of-treatment summary is written for a referral you are responsible for"),
        OrderChanged = ("order_changed", "The court varies or ends an order you treat (or, before allocation, in your area)"),
        SessionPlan = ("session_plan", "Sessions are planned or changed for a referral you are responsible for"),
        Absence = ("absence", "An unacceptable absence or failure to comply at a treatment session"),
        SecondAbsence = ("second_absence", "An unacceptable failure within 12 months of a warning"),
        AbsenceAwaitingEvidence = ("absence_awaiting_evidence", "An absence from a treatment session awaiting evidence, with its last day"),
        AttendanceCorrected = ("attendance_corrected", "A recorded attendance you were told of is corrected"),
        SessionUnrecorded = ("session_unrecorded", "A treatment session past its time has no recorded outcome"),
        RiskAlert = ("risk_alert", "A risk item answered above zero, or a reliable deterioration, on an outcome measure"),
        PractitionerReport = ("practitioner_report", "A practitioner's report to the responsible officer"),
        WeeklyDigest = ("weekly_digest", "A weekly summary of your areas, on Monday morning"),
        IntakeConfirmation = ("intake_confirmation", "Confirm a new intake mailbox for an area"),
    }
}

impl MessageKind {
    /// Kinds a person may turn off. Everything else is about their own account and always goes.
    pub const OPTIONAL: &'static [MessageKind] = &[
        MessageKind::VettingExpiringAdmin,
        MessageKind::ReferralSubmitted,
        MessageKind::ReferralScreened,
        MessageKind::ReferralTakenOver,
        MessageKind::ApAllocated,
        MessageKind::TreatmentEnded,
        MessageKind::SessionPlan,
        MessageKind::WeeklyDigest,
    ];

    pub fn is_optional(self) -> bool {
        Self::OPTIONAL.contains(&self)
    }
}

/// A rendered email, ready for [`crate::notifications::enqueue`].
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: MessageKind,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

/// One kind of email: its template folder and what the templates see.
pub trait Email: Serialize {
    const KIND: MessageKind;
    /// The folder under `templates/emails/`.
    const TEMPLATE: &'static str;
}

/// A welcome, password reset or two-factor reset link, sent to the person it is for.
#[derive(Debug, Serialize)]
pub struct AccountLink<'a> {
    #[serde(skip)]
    pub kind: MessageKind,
    pub name: &'a str,
    pub link: &'a str,
    pub expires: &'a str,
}

/// Renders typed messages; cheap to clone into a database closure.
#[derive(Clone)]
pub struct Emails {
    templates: Arc<tera::Tera>,
    base_url: String,
    /// How the person on the order is reminded of their appointments: a change that books
    /// or moves sessions writes their reminders in its transaction, as it writes emails.
    reminders: Arc<crate::settings::ReminderSettings>,
}

impl Emails {
    pub fn new(templates: Arc<tera::Tera>, base_url: &str) -> Self {
        Self {
            templates,
            base_url: base_url.trim_end_matches('/').to_owned(),
            reminders: Arc::default(),
        }
    }

    /// With the reminder settings the service runs with.
    pub fn with_reminders(mut self, settings: &crate::settings::ReminderSettings) -> Self {
        self.reminders = Arc::new(settings.clone());
        self
    }

    pub fn reminders(&self) -> &crate::settings::ReminderSettings {
        &self.reminders
    }

    /// An absolute link to a path of the service.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn render(
        &self,
        kind: MessageKind,
        template: &str,
        to: &str,
        ctx: &tera::Context,
    ) -> Result<Message, AppError> {
        let part = |file: &str| {
            self.templates
                .render(&format!("emails/{template}/{file}"), ctx)
                .map_err(AppError::from)
        };
        Ok(Message {
            kind,
            to: to.to_owned(),
            subject: part("subject.txt")?.trim().to_owned(),
            text_body: part("body.txt")?,
            html_body: part("body.html")?,
        })
    }

    /// A single-use account link for `to`.
    pub fn account_link(&self, to: &str, email: &AccountLink<'_>) -> Result<Message, AppError> {
        let template = match email.kind {
            MessageKind::Welcome => "welcome",
            MessageKind::PasswordReset => "password_reset",
            MessageKind::MfaReset => "mfa_reset",
            _ => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "{} is not an account link",
                    email.kind
                )));
            }
        };
        let mut ctx = tera::Context::from_serialize(email)?;
        ctx.insert("service_name", crate::ids::SERVICE_NAME);
        self.render(email.kind, template, to, &ctx)
    }

    /// Sends `E` to `to`.
    pub fn typed<E: Email>(&self, to: &str, email: &E) -> Result<Message, AppError> {
        let mut ctx = tera::Context::from_serialize(email)?;
        ctx.insert("service_name", crate::ids::SERVICE_NAME);
        self.render(E::KIND, E::TEMPLATE, to, &ctx)
    }
}

/// To the person whose vetting expires: a date and a link to their account.
#[derive(Debug, Serialize)]
pub struct VettingExpiring {
    pub expires: String,
    pub link: String,
}

impl Email for VettingExpiring {
    const KIND: MessageKind = MessageKind::VettingExpiring;
    const TEMPLATE: &'static str = "vetting_expiring";
}

/// To a new intake mailbox: the area and the link that confirms the address.
#[derive(Debug, Serialize)]
pub struct IntakeConfirmation {
    pub area: String,
    pub link: String,
    pub expires: String,
}

impl Email for IntakeConfirmation {
    const KIND: MessageKind = MessageKind::IntakeConfirmation;
    const TEMPLATE: &'static str = "intake_confirmation";
}

/// To administrators: the person's initials and reference, the date and a link.
#[derive(Debug, Serialize)]
pub struct VettingExpiringAdmin {
    pub initials: String,
    pub reference: String,
    pub expires: String,
    pub link: String,
}

impl Email for VettingExpiringAdmin {
    const KIND: MessageKind = MessageKind::VettingExpiringAdmin;
    const TEMPLATE: &'static str = "vetting_expiring_admin";
}

/// What every referral email carries, and nothing more: no names, needs, offence or reasons.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralNotice {
    /// The referral's reference, like `MH-7K3Q-PX4D`.
    pub reference: String,
    /// The person's initials, like `R. A.`.
    pub initials: String,
    pub date: String,
    /// "accepted", "declined" or "ended", where the email is about an outcome.
    pub outcome: Option<&'static str>,
    /// An absolute link to the referral's page.
    pub link: String,
}

macro_rules! referral_email {
    ($($(#[$doc:meta])* $name:ident => $kind:ident, $template:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub ReferralNotice);

        impl Email for $name {
            const KIND: MessageKind = MessageKind::$kind;
            const TEMPLATE: &'static str = $template;
        }
    )*};
}

referral_email! {
    /// To the intake mailbox of the referral's area (else its clinical leads): a referral has been made.
    ReferralSubmitted => ReferralSubmitted, "referral_submitted";
    /// To the referrer: accepted or declined at screening.
    ReferralScreened => ReferralScreened, "referral_screened";
    /// To the assistant psychologist allocated for treatment.
    ApAllocated => ApAllocated, "ap_allocated";
    /// To the probation officer a referral is handed over to, or who takes one over.
    ReferralHandedOver => ReferralHandedOver, "referral_handed_over";
    /// To the referrer (a Liaison and Diversion practitioner, or the officer who made an
    /// arrest referral): a probation officer is now the referral's responsible officer.
    ReferralTakenOver => ReferralTakenOver, "referral_taken_over";
    /// To the responsible officer: the person withdrew consent to share with criminal
    /// justice agencies (`outcome` "withdrawn") or gave it again ("given").
    ShareConsentChanged => ShareConsentChanged, "share_consent_changed";
    /// To the responsible officer (or the referrer): treatment has ended.
    TreatmentEnded => TreatmentEnded, "treatment_ended";
    /// To the assistant psychologist treating (else the area's clinical leads): the court
    /// varied (`outcome` "varied") or ended ("ended") the order.
    OrderChanged => OrderChanged, "order_changed";
    /// To the responsible officer (or the referrer): the assessment and suitability report
    /// is sent, to read for the pre-sentence report.
    AssessmentReportSent => AssessmentReportSent, "assessment_report_sent";
    /// To the responsible officer: the end-of-treatment summary is written (`outcome`
    /// "changed" when it is rewritten).
    EndSummaryWritten => EndSummaryWritten, "end_summary_written";
    /// To the responsible officer: the session plan is made or changed.
    SessionPlanChanged => SessionPlan, "session_plan";
    /// To the responsible officer, at once: an unacceptable absence (`outcome` says
    /// "failed to comply" for a failure to comply, "no evidence" when the last day for
    /// evidence passed).
    Absence => Absence, "absence";
    /// To the responsible officer: a recorded attendance they were told of is corrected
    /// (`outcome` is what it is now).
    AttendanceCorrected => AttendanceCorrected, "attendance_corrected";
    /// To the responsible officer: a session's outcome is still not recorded after the grace period.
    SessionUnrecorded => SessionUnrecorded, "session_unrecorded";
    /// To the clinical leads of the area, at once: a risk item answered above zero.
    RiskAlert => RiskAlert, "risk_alert";
    /// To the responsible officer: the practitioner has reported.
    PractitionerReport => PractitionerReport, "practitioner_report";
}

/// A referral email with a second date: the last day for evidence, or the day of a warning.
#[derive(Debug, Serialize)]
pub struct DatedNotice {
    #[serde(flatten)]
    pub notice: ReferralNotice,
    pub second_date: String,
}

/// To the responsible officer and clinical leads: an unacceptable failure within 12 months of
/// a warning (`second_date`), when breach action is expected.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct SecondAbsence(pub DatedNotice);

impl Email for SecondAbsence {
    const KIND: MessageKind = MessageKind::SecondAbsence;
    const TEMPLATE: &'static str = "second_absence";
}

/// To the responsible officer: an absence awaiting evidence until `second_date`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct AbsenceAwaitingEvidence(pub DatedNotice);

impl Email for AbsenceAwaitingEvidence {
    const KIND: MessageKind = MessageKind::AbsenceAwaitingEvidence;
    const TEMPLATE: &'static str = "absence_awaiting_evidence";
}

/// To a clinical lead on Monday morning: counts for their areas, nothing that names anyone.
#[derive(Debug, Serialize)]
pub struct WeeklyDigest {
    /// The Monday the week begins, as a date.
    pub week: String,
    /// Referrals waiting for a first attended session.
    pub waiting: i64,
    /// The longest of those waits, in days; `None` when nobody is waiting.
    pub oldest_wait_days: Option<i64>,
    /// Risk alerts not yet acknowledged.
    pub risk_alerts: i64,
    /// Enforcement reviews with no decision recorded.
    pub enforcement_reviews: i64,
    /// Signposting follow-ups due (see [`crate::notifications::digest::due_follow_ups`]).
    pub follow_ups: i64,
    /// An absolute link to the service's home page.
    pub link: String,
}

impl Email for WeeklyDigest {
    const KIND: MessageKind = MessageKind::WeeklyDigest;
    const TEMPLATE: &'static str = "weekly_digest";
}

/// "Robin Ash" → "R. A.": enough for an administrator to recognise, not a name in an inbox.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphabetic()))
        .flat_map(char::to_uppercase)
        .map(|c| format!("{c}."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A short, non-identifying reference to a record: the first eight characters of its id.
pub fn reference(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .take(8)
        .collect::<String>()
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails() -> Emails {
        Emails::new(
            Arc::new(crate::startup::load_templates().unwrap()),
            "https://mhtr.example.org/",
        )
    }

    #[test]
    fn referral_emails_carry_the_reference_initials_date_outcome_and_link() {
        let notice = ReferralNotice {
            reference: "MH-7K3Q-PX4D".into(),
            initials: "R. A.".into(),
            date: "22 November 2026".into(),
            outcome: Some("declined"),
            link: "https://mhtr.example.org/referrals/abc".into(),
        };
        let e = emails();
        for m in [
            e.typed("a@example.org", &ReferralSubmitted(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &ReferralScreened(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &ApAllocated(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &TreatmentEnded(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &SessionPlanChanged(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &Absence(notice.clone())).unwrap(),
            e.typed("a@example.org", &SessionUnrecorded(notice.clone()))
                .unwrap(),
            e.typed(
                "a@example.org",
                &SecondAbsence(DatedNotice {
                    notice: notice.clone(),
                    second_date: "3 October 2026".into(),
                }),
            )
            .unwrap(),
            e.typed(
                "a@example.org",
                &AbsenceAwaitingEvidence(DatedNotice {
                    notice: notice.clone(),
                    second_date: "3 December 2026".into(),
                }),
            )
            .unwrap(),
            e.typed("a@example.org", &AttendanceCorrected(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &OrderChanged(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &EndSummaryWritten(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &AssessmentReportSent(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &RiskAlert(notice.clone()))
                .unwrap(),
            e.typed("a@example.org", &PractitionerReport(notice.clone()))
                .unwrap(),
        ] {
            assert!(m.subject.contains("MH-7K3Q-PX4D"), "{}", m.subject);
            assert!(!m.subject.contains('\n'));
            for body in [&m.text_body, &m.html_body] {
                assert!(body.contains("R. A."), "{body}");
                assert!(body.contains("22 November 2026"));
            }
            assert!(
                m.text_body
                    .contains("https://mhtr.example.org/referrals/abc")
            );
            assert!(m.html_body.contains("referrals&#x2F;abc"));
        }
        let screened = e.typed("a@example.org", &ReferralScreened(notice)).unwrap();
        assert!(screened.subject.contains("declined"));
        assert!(screened.text_body.contains("declined"));
    }

    #[test]
    fn initials_keep_one_letter_per_word() {
        assert_eq!(initials("Robin  ash-Smith"), "R. A.");
        assert_eq!(initials("Émile O'Neil"), "É. O.");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn welcome_emails_carry_the_link_and_escape_the_name_in_html() {
        let m = emails()
            .account_link(
                "robin@example.org",
                &AccountLink {
                    kind: MessageKind::Welcome,
                    name: "Robin <b>Ash</b>",
                    link: "https://mhtr.example.org/invitation/abc",
                    expires: "29 November 2026",
                },
            )
            .unwrap();
        assert!(
            m.text_body
                .contains("https://mhtr.example.org/invitation/abc")
        );
        assert!(
            m.text_body.contains("Robin <b>Ash</b>"),
            "plain text is not escaped"
        );
        assert!(m.html_body.contains("Robin &lt;b&gt;Ash&lt;&#x2F;b&gt;"));
        assert!(!m.html_body.contains("<img"));
        assert!(!m.subject.contains('\n'));
    }

    #[test]
    fn administrators_copy_names_nobody() {
        let m = emails()
            .typed(
                "admin@example.org",
                &VettingExpiringAdmin {
                    initials: "R. A.".into(),
                    reference: "0193A1B2".into(),
                    expires: "1 December 2026".into(),
                    link: "https://mhtr.example.org/admin/users/x/vetting".into(),
                },
            )
            .unwrap();
        assert!(m.text_body.contains("R. A."));
        assert!(m.subject.contains("0193A1B2"));
    }

    #[test]
    fn account_emails_are_not_optional_and_copies_and_referral_news_are() {
        for k in [
            MessageKind::VettingExpiringAdmin,
            MessageKind::ReferralSubmitted,
            MessageKind::ReferralScreened,
            MessageKind::ApAllocated,
            MessageKind::TreatmentEnded,
        ] {
            assert!(k.is_optional());
        }
        for k in [
            MessageKind::Welcome,
            MessageKind::PasswordReset,
            MessageKind::MfaReset,
            MessageKind::VettingExpiring,
        ] {
            assert!(!k.is_optional());
        }
    }
}
