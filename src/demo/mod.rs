//! Demo data for trying the service: the nine Leicester, Leicestershire and Rutland areas,
//! the partner organisations, one user per role with known credentials, and referrals in
//! varied states. Loading it again
//! changes nothing but resetting the demo users' credentials. Refused in production.

pub mod referrals;
pub mod signposting;
pub mod synth;

use chrono::Duration;
use diesel::prelude::*;

use crate::areas::{self, OrganisationKind};
use crate::audit::Actor;
use crate::auth::password::{Hasher, Password};
use crate::db::schema::users;
use crate::db::{DbConn, write_tx};
use crate::error::AppError;
use crate::users::forms::{Email, UserInput};
use crate::users::model::{self, MfaState, Role, VettingLevel};

pub const AREAS: &[(&str, &str)] = &[
    ("E06000016", "Leicester"),
    ("E06000017", "Rutland"),
    ("E07000129", "Blaby"),
    ("E07000130", "Charnwood"),
    ("E07000131", "Harborough"),
    ("E07000132", "Hinckley and Bosworth"),
    ("E07000133", "Melton"),
    ("E07000134", "North West Leicestershire"),
    ("E07000135", "Oadby and Wigston"),
];

/// Adults (18 and over) per demo area, rounded to the thousand: demo figures of about the
/// right size for trying the rates per 100,000 adults, not ONS estimates.
const DEMO_ADULTS: [i64; 9] = [
    280_000, 33_000, 80_000, 150_000, 79_000, 92_000, 42_000, 85_000, 47_000,
];

pub const ORGANISATIONS: &[(&str, OrganisationKind)] = &[
    (
        "Probation Service, Leicester, Leicestershire and Rutland",
        OrganisationKind::Probation,
    ),
    (
        "Leicestershire Partnership NHS Trust Liaison and Diversion",
        OrganisationKind::LiaisonDiversion,
    ),
    ("Turning Point MHTR service", OrganisationKind::MhtrProvider),
    ("Rutland County Council", OrganisationKind::Council),
    ("Leicestershire County Council", OrganisationKind::Council),
    ("Leicester City Council", OrganisationKind::Council),
];

/// A demo account as printed for the person trying the service.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub role: Role,
    pub name: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub totp_secret: &'static str,
}

pub const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        role: Role::ProbationOfficer,
        name: "Priya Shah",
        email: "priya.shah@probation.demo.example",
        password: "amber tractor quilt seventy",
        totp_secret: "QRHNNK7LIHHC5NXD2SNMP6FK2TYD5P62",
    },
    DemoAccount {
        role: Role::AssistantPsychologist,
        name: "Tom Walker",
        email: "tom.walker@turningpoint.demo.example",
        password: "velvet harbour cactus ninety",
        totp_secret: "YDZVZUAJCYYUIZZ5UFZIPU65VQYV4G7J",
    },
    DemoAccount {
        role: Role::ClinicalLead,
        name: "Dr Helen Carter",
        email: "helen.carter@turningpoint.demo.example",
        password: "copper meadow falcon eighty",
        totp_secret: "M42BBUB7P7UKZYZR2HQGRNJB2LE2QBMI",
    },
    DemoAccount {
        role: Role::Councillor,
        name: "Cllr Jo Bennett",
        email: "jo.bennett@rutland.demo.example",
        password: "silent orchard pepper forty",
        totp_secret: "FOCWUUS5DAYE5MYRQUBNFWVBIZB2MWA3",
    },
    DemoAccount {
        role: Role::Admin,
        name: "Sam Okafor",
        email: "sam.okafor@admin.demo.example",
        password: "lantern gravel mosaic sixty",
        totp_secret: "GMXJPAAE5UJ4XUVMOYEYUZPJQBTT2VKQ",
    },
    DemoAccount {
        role: Role::LiaisonDiversion,
        name: "Amira Hussain",
        email: "amira.hussain@nhs-ld.demo.example",
        password: "harvest pebble lagoon fifty",
        totp_secret: "FK6EO4OR6AWETR4SULXQC5C4YO5II74G",
    },
];

fn org_for(role: Role) -> &'static str {
    match role {
        Role::ProbationOfficer => ORGANISATIONS[0].0,
        Role::LiaisonDiversion => ORGANISATIONS[1].0,
        Role::AssistantPsychologist | Role::ClinicalLead => ORGANISATIONS[2].0,
        Role::Councillor => ORGANISATIONS[3].0,
        Role::Admin => ORGANISATIONS[4].0,
    }
}

fn areas_for(role: Role) -> &'static [&'static str] {
    match role {
        Role::ProbationOfficer | Role::LiaisonDiversion => &["Rutland", "Melton", "Harborough"],
        Role::Councillor => &["Rutland"],
        _ => &[
            "Leicester",
            "Rutland",
            "Blaby",
            "Charnwood",
            "Harborough",
            "Hinckley and Bosworth",
            "Melton",
            "North West Leicestershire",
            "Oadby and Wigston",
        ],
    }
}

/// Loads (or refreshes) the demo data. Returns the accounts to print.
pub fn load(conn: &mut DbConn, hasher: &Hasher) -> Result<&'static [DemoAccount], AppError> {
    // Hash outside the transaction: it is the slow part.
    let hashes: Vec<String> = ACCOUNTS
        .iter()
        .map(|a| hasher.hash_now(&Password::for_sign_in(a.password.to_owned())))
        .collect::<Result<_, _>>()?;
    write_tx(conn, |c| {
        let actor = Actor::system("demo loader");
        for ((code, name), adults) in AREAS.iter().zip(DEMO_ADULTS) {
            let id = match areas::find_area(c, code)? {
                Some(a) => a.id,
                None => areas::insert_area(c, code, name)?,
            };
            if areas::population::of_area(c, &id)?.is_empty() {
                let input = areas::population::PopulationInput {
                    year: chrono::Datelike::year(&crate::clock::today()) - 1,
                    adults,
                    source: "Demo figure, rounded: not an ONS estimate".into(),
                };
                let everywhere = crate::users::model::AdminScope::everywhere();
                areas::population::record(c, &everywhere, &actor, &id, &input)?;
            }
        }
        for (name, kind) in ORGANISATIONS {
            if areas::find_organisation(c, name)?.is_none() {
                areas::insert_organisation(c, name, *kind)?;
            }
        }
        let today = crate::clock::today();
        for (account, hash) in ACCOUNTS.iter().zip(&hashes) {
            let org =
                areas::find_organisation(c, org_for(account.role))?.ok_or(AppError::NotFound)?;
            let mut area_ids = Vec::new();
            for a in areas_for(account.role) {
                area_ids.push(areas::find_area(c, a)?.ok_or(AppError::NotFound)?.id);
            }
            let user = match model::by_email(c, account.email)? {
                Some(u) => u,
                None => {
                    let input = UserInput {
                        name: account.name.to_owned(),
                        email: Email::parse(account.email).map_err(AppError::Config)?,
                        role: account.role,
                        organisation_id: org.id.clone(),
                        area_ids,
                        hcpc_number: (account.role == Role::ClinicalLead)
                            .then(|| "PYL012345".to_owned()),
                        vetting: Some((VettingLevel::Nppv2, today + Duration::days(365))),
                    };
                    crate::users::service::create(
                        c,
                        &crate::users::model::AdminScope::everywhere(),
                        &actor,
                        &input,
                        Some(hash),
                    )?
                }
            };
            // Known credentials on every load, so the printed ones always work.
            diesel::update(users::table.find(&user.id))
                .set((
                    users::password_hash.eq(hash),
                    users::mfa_state.eq(MfaState::Enrolled),
                    users::totp_secret.eq(account.totp_secret),
                    users::totp_last_step.eq(None::<i64>),
                    users::disabled_at.eq(None::<chrono::NaiveDateTime>),
                    users::vetting_level.eq(Some(VettingLevel::Nppv2)),
                    users::vetting_expires_on.eq(Some(today + Duration::days(365))),
                    // The demo administrator is the one a first deployment makes on the
                    // command line: service-wide.
                    users::service_wide.eq(account.role == Role::Admin),
                ))
                .execute(c)?;
        }
        referrals::load(c)
    })?;
    Ok(ACCOUNTS)
}

/// The sign-in instructions printed by `demo` and `serve --demo`.
pub fn instructions(base_url: &str, accounts: &[DemoAccount]) -> String {
    let mut out = format!(
        "\nDemo data loaded. Sign in at {}/sign-in with any of these accounts:\n\n",
        base_url.trim_end_matches('/')
    );
    out.push_str(&format!(
        "  {:<24} {:<40} {:<30} {}\n",
        "ROLE", "EMAIL", "PASSWORD", "AUTHENTICATOR KEY"
    ));
    for a in accounts {
        out.push_str(&format!(
            "  {:<24} {:<40} {:<30} {}\n",
            a.role.label(),
            a.email,
            a.password,
            a.totp_secret
        ));
    }
    out.push_str(
        "\nEvery account uses two-factor sign-in. Add the key to an authenticator app, or get the\n\
         current 6-digit code in another terminal with:  cargo run -q -- totp KEY\n",
    );
    out
}
