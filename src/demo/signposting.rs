//! Demo directory entries for the demo areas, onward support for the demo referral whose
//! treatment has ended, and a follow-up due on one in treatment, so the directory and onward
//! support pages have something to show.

use chrono::{Duration, NaiveDate};

use crate::audit::Actor;
use crate::db::DbConn;
use crate::error::AppError;
use crate::referrals::access::Ctx;
use crate::referrals::model::Viewer;
use crate::signposting::codes::{ServiceType, SignpostStatus};
use crate::signposting::forms::{DirectoryInput, SignpostInput, StatusInput};
use crate::signposting::{directory, model, service};

/// (area, organisation, type, phone, website, active)
const SERVICES: &[(&str, &str, ServiceType, &str, &str, bool)] = &[
    (
        "Rutland",
        "Rutland Talking Therapies",
        ServiceType::TalkingTherapies,
        "0116 295 0000",
        "https://talking.demo.example",
        true,
    ),
    (
        "Rutland",
        "Rutland Housing Options",
        ServiceType::Housing,
        "01572 720 000",
        "https://housing.rutland.demo.example",
        true,
    ),
    (
        "Rutland",
        "Oakham Peer Support Group",
        ServiceType::PeerSupport,
        "01572 000 111",
        "https://peers.demo.example",
        false,
    ),
    (
        "Melton",
        "Melton Drug and Alcohol Service",
        ServiceType::DrugAlcohol,
        "0116 000 2222",
        "https://recovery.demo.example",
        true,
    ),
    (
        "Melton",
        "Melton Debt Advice",
        ServiceType::Debt,
        "01664 000 333",
        "https://debt.demo.example",
        true,
    ),
    (
        "Harborough",
        "Harborough Community Mental Health Team",
        ServiceType::CommunityMentalHealth,
        "01858 000 444",
        "https://cmht.demo.example",
        true,
    ),
    (
        "Harborough",
        "Harborough Jobs and Skills Hub",
        ServiceType::Employment,
        "01858 000 555",
        "https://jobs.demo.example",
        true,
    ),
    (
        "Harborough",
        "Harborough Domestic Abuse Service",
        ServiceType::DomesticAbuse,
        "0808 000 6666",
        "https://safe.demo.example",
        true,
    ),
];

/// Adds the demo services that are not there yet (by name).
pub fn load_directory(c: &mut DbConn) -> Result<(), AppError> {
    let actor = Actor::system("demo");
    for (area, name, service_type, phone, website, active) in SERVICES {
        let area = crate::areas::find_area(c, area)?.ok_or(AppError::NotFound)?;
        if model::services_in(c, std::slice::from_ref(&area.id), false)?
            .iter()
            .any(|s| s.name == *name)
        {
            continue;
        }
        let s = directory::create(
            c,
            &actor,
            &DirectoryInput {
                name: (*name).into(),
                service_type: *service_type,
                phone: Some((*phone).into()),
                email: None,
                website: Some((*website).into()),
                address: None,
                area_ids: vec![area.id.clone()],
            },
        )?;
        if !active {
            directory::set_active(c, &actor, &[area.id], &s.id, false)?;
        }
    }
    Ok(())
}

/// Onward support for a referral whose treatment has just ended: one service accepted the
/// person and another awaits an answer; the practitioner's summary is written. Closing
/// would be refused until the second is settled, so the demo settles it first when asked.
pub fn signpost_ended(
    c: &mut DbConn,
    ap: &Viewer,
    referral_id: &str,
    today: NaiveDate,
    settle: bool,
) -> Result<(), AppError> {
    let acting = Ctx::new(
        ap.clone(),
        Actor::user(&ap.user_id, &ap.name, None),
        crate::clock::now(),
    );
    let r = service::referral_to_manage(c, &acting, referral_id)?;
    let offered = service::offered_services(c, &r)?;
    for (i, s) in offered.iter().take(2).enumerate() {
        let status = if i == 0 || settle {
            StatusInput {
                status: SignpostStatus::Accepted,
                reason: None,
                follow_up_on: None,
            }
        } else {
            StatusInput {
                status: SignpostStatus::ReferralMade,
                reason: None,
                follow_up_on: Some(today),
            }
        };
        service::signpost(
            c,
            &acting,
            referral_id,
            &SignpostInput {
                service_id: s.id.clone(),
                signposted_on: today - Duration::days(1),
                status,
            },
        )?;
    }
    service::write_summary(
        c,
        &acting,
        referral_id,
        "Completed treatment and engaged well throughout. Mood and anxiety improved; relapse-prevention plan agreed. Signposted to the community mental health team and to the jobs hub.",
        None,
    )?;
    Ok(())
}

/// A signposting made during treatment whose follow-up is due today, so the practitioner's
/// home page and due list have something to show.
pub fn follow_up_due(
    c: &mut DbConn,
    ap: &Viewer,
    referral_id: &str,
    today: NaiveDate,
) -> Result<(), AppError> {
    let acting = Ctx::new(
        ap.clone(),
        Actor::user(&ap.user_id, &ap.name, None),
        crate::clock::now(),
    );
    let r = service::referral_to_manage(c, &acting, referral_id)?;
    let Some(first) = service::offered_services(c, &r)?.into_iter().next() else {
        return Ok(());
    };
    service::signpost(
        c,
        &acting,
        referral_id,
        &SignpostInput {
            service_id: first.id,
            signposted_on: today - Duration::days(14),
            status: StatusInput {
                status: SignpostStatus::ReferralMade,
                reason: None,
                follow_up_on: Some(today),
            },
        },
    )?;
    Ok(())
}
