//! Users: rows, writes and queries. Rules live in `service.rs`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::coded_enum;
use crate::db::DbConn;
use crate::db::schema::{areas, organisations, user_areas, users};
use crate::error::AppError;

coded_enum! {
    /// What a user does in the service; every route declares the roles it admits.
    pub enum Role {
        ProbationOfficer = ("probation_officer", "Probation officer"),
        /// NHS Liaison and Diversion staff in police custody and the courts: they refer at
        /// the point of arrest and follow the referrals they made.
        LiaisonDiversion = ("liaison_diversion", "Liaison and Diversion practitioner"),
        AssistantPsychologist = ("assistant_psychologist", "Assistant psychologist"),
        ClinicalLead = ("clinical_lead", "Clinical lead"),
        Councillor = ("councillor", "Councillor"),
        Admin = ("admin", "Administrator"),
    }
}

coded_enum! {
    /// Police vetting or DBS check held by a user of police-linked data.
    pub enum VettingLevel {
        Nppv1 = ("nppv1", "NPPV level 1"),
        Nppv2 = ("nppv2", "NPPV level 2"),
        Nppv3 = ("nppv3", "NPPV level 3"),
        EnhancedDbs = ("enhanced_dbs", "Enhanced DBS"),
        PoliceOfficer = ("police_officer", "Police officer"),
        StandardDbs = ("standard_dbs", "Standard DBS"),
        BasicDbs = ("basic_dbs", "Basic DBS"),
    }
}

impl VettingLevel {
    /// Whether the level clears its holder to see police-linked and risk information (the
    /// seed report: NPPV level 1 or an enhanced DBS check at least).
    pub fn police_cleared(self) -> bool {
        !matches!(self, VettingLevel::StandardDbs | VettingLevel::BasicDbs)
    }
}

coded_enum! {
    /// Where a user stands with the second factor.
    pub enum MfaState {
        /// May set up an authenticator at the next sign-in with their password (accounts made
        /// on the command line by someone with server access).
        EnrolOnSignIn = ("enrol_on_sign_in", "Sets up two-factor at next sign-in"),
        Enrolled = ("enrolled", "Two-factor set up"),
        /// An administrator reset the second factor: only the single-use link sent to the
        /// user, with their password, lets them set it up again.
        ResetPending = ("reset_pending", "Waiting for the user to set up two-factor again"),
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation_id: String,
    pub hcpc_number: Option<String>,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<NaiveDateTime>,
    pub mfa_state: MfaState,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub vetting_level: Option<VettingLevel>,
    pub vetting_expires_on: Option<NaiveDate>,
    pub disabled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// An administrator of every organisation and area (made on the command line only).
    pub service_wide: bool,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// Holds unexpired vetting that clears them for police-linked and risk information.
    pub fn police_cleared(&self, today: NaiveDate) -> bool {
        !self.vetting_expired(today) && self.vetting_level.is_some_and(VettingLevel::police_cleared)
    }

    /// Vetting is required of everyone; a missing record counts as expired.
    pub fn vetting_expired(&self, today: NaiveDate) -> bool {
        match self.vetting_expires_on {
            Some(expires) => expires < today,
            None => true,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub organisation_id: &'a str,
    pub hcpc_number: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub password_changed_at: Option<NaiveDateTime>,
    pub mfa_state: MfaState,
    pub totp_secret: Option<&'a str>,
    pub totp_last_step: Option<i64>,
    pub vetting_level: Option<VettingLevel>,
    pub vetting_expires_on: Option<NaiveDate>,
    pub disabled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub service_wide: bool,
}

pub fn by_id(conn: &mut DbConn, id: &str) -> Result<User, AppError> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)?)
}

pub fn by_email(conn: &mut DbConn, email: &str) -> Result<Option<User>, AppError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The ids of the areas a user is scoped to.
pub fn area_ids(conn: &mut DbConn, user_id: &str) -> Result<Vec<String>, AppError> {
    Ok(user_areas::table
        .filter(user_areas::user_id.eq(user_id))
        .select(user_areas::area_id)
        .load(conn)?)
}

/// The names of a user's areas, alphabetical.
pub fn area_names(conn: &mut DbConn, user_id: &str) -> Result<Vec<String>, AppError> {
    Ok(user_areas::table
        .inner_join(areas::table)
        .filter(user_areas::user_id.eq(user_id))
        .select(areas::name)
        .order(areas::name.asc())
        .load(conn)?)
}

pub fn organisation_name(conn: &mut DbConn, organisation_id: &str) -> Result<String, AppError> {
    Ok(organisations::table
        .find(organisation_id)
        .select(organisations::name)
        .first(conn)?)
}

/// Makes `area_ids` the user's areas from `today`, and keeps the history of their areas
/// ([`area_history`]): a spell is opened for each area joined and closed (on the day before)
/// for each area left; a spell opened and closed on the same day is dropped. A membership
/// held before the history began is given its spell from the account's opening first.
pub fn set_areas(
    conn: &mut DbConn,
    user_id: &str,
    area_ids: &[String],
    today: NaiveDate,
) -> Result<(), AppError> {
    use crate::db::schema::user_area_history as h;
    let before = self::area_ids(conn, user_id)?;
    let open: Vec<String> = h::table
        .filter(h::user_id.eq(user_id))
        .filter(h::to_date.is_null())
        .select(h::area_id)
        .load(conn)?;
    let opened_on: Option<NaiveDateTime> = users::table
        .find(user_id)
        .select(users::created_at)
        .first(conn)
        .optional()?;
    for area in before.iter().filter(|a| !open.contains(a)) {
        let from = opened_on.map_or(today, |t| t.date().min(today));
        open_spell(conn, user_id, area, from)?;
    }
    for area in before.iter().filter(|a| !area_ids.contains(a)) {
        let spell = h::table
            .filter(h::user_id.eq(user_id))
            .filter(h::area_id.eq(area))
            .filter(h::to_date.is_null());
        diesel::delete(spell.filter(h::from_date.ge(today))).execute(conn)?;
        diesel::update(spell)
            .set(h::to_date.eq(today.pred_opt()))
            .execute(conn)?;
        diesel::delete(
            user_areas::table
                .filter(user_areas::user_id.eq(user_id))
                .filter(user_areas::area_id.eq(area)),
        )
        .execute(conn)?;
    }
    for area in area_ids.iter().filter(|a| !before.contains(a)) {
        diesel::insert_into(user_areas::table)
            .values((
                user_areas::user_id.eq(user_id),
                user_areas::area_id.eq(area),
            ))
            .execute(conn)?;
        // Rejoined on the day it was left: the spell left today goes on.
        let reopened = diesel::update(
            h::table
                .filter(h::user_id.eq(user_id))
                .filter(h::area_id.eq(area))
                .filter(h::to_date.eq(today.pred_opt())),
        )
        .set(h::to_date.eq(None::<NaiveDate>))
        .execute(conn)?;
        if reopened == 0 {
            open_spell(conn, user_id, area, today)?;
        }
    }
    Ok(())
}

/// Opens the user's spell in `area` from `from` (reopening one recorded from that day).
fn open_spell(
    conn: &mut DbConn,
    user_id: &str,
    area: &str,
    from: NaiveDate,
) -> Result<(), AppError> {
    use crate::db::schema::user_area_history as h;
    let reopened = diesel::update(h::table.find((user_id, area, from)))
        .set(h::to_date.eq(None::<NaiveDate>))
        .execute(conn)?;
    if reopened == 0 {
        diesel::insert_into(h::table)
            .values((
                h::user_id.eq(user_id),
                h::area_id.eq(area),
                h::from_date.eq(from),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One spell of a user in an area (its id; its name where [`area_history`] gives it): its
/// first day and its last (none while it lasts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaSpell {
    pub area: String,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

/// Each user's spells in areas, by area id, in any order: those recorded, and for a
/// membership with no open spell (held before the history began, or loaded from an export
/// made before it) one from the day the account was opened. The one reading of the
/// history, for the user's page and the uptake report's capacity.
pub fn spells(
    conn: &mut DbConn,
    user_ids: &[&String],
) -> Result<std::collections::BTreeMap<String, Vec<AreaSpell>>, AppError> {
    use crate::db::schema::user_area_history as h;
    let mut out: std::collections::BTreeMap<String, Vec<AreaSpell>> = Default::default();
    for (user, area, from, to) in h::table
        .filter(h::user_id.eq_any(user_ids))
        .select((h::user_id, h::area_id, h::from_date, h::to_date))
        .load::<(String, String, NaiveDate, Option<NaiveDate>)>(conn)?
    {
        out.entry(user)
            .or_default()
            .push(AreaSpell { area, from, to });
    }
    for (user, area, opened) in user_areas::table
        .inner_join(users::table)
        .filter(user_areas::user_id.eq_any(user_ids))
        .select((user_areas::user_id, user_areas::area_id, users::created_at))
        .load::<(String, String, NaiveDateTime)>(conn)?
    {
        let mine = out.entry(user).or_default();
        if !mine.iter().any(|s| s.area == area && s.to.is_none()) {
            mine.push(AreaSpell {
                area,
                from: opened.date(),
                to: None,
            });
        }
    }
    Ok(out)
}

/// The user's spells in areas ([`spells`]), named, newest first: what the user's page
/// lists.
pub fn area_history(conn: &mut DbConn, user_id: &str) -> Result<Vec<AreaSpell>, AppError> {
    let id = user_id.to_owned();
    let mut spells = spells(conn, &[&id])?.remove(user_id).unwrap_or_default();
    let names: std::collections::HashMap<String, String> = areas::table
        .filter(areas::id.eq_any(spells.iter().map(|s| s.area.clone()).collect::<Vec<_>>()))
        .select((areas::id, areas::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    for s in &mut spells {
        if let Some(name) = names.get(&s.area) {
            s.area = name.clone();
        }
    }
    spells
        .sort_by(|a, b| (b.to.is_none(), b.from, &a.area).cmp(&(a.to.is_none(), a.from, &b.area)));
    Ok(spells)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Whom an administrator manages: everyone (a service-wide administrator), or the users of
/// their own organisation all of whose areas are among the administrator's.
#[derive(Debug, Clone)]
pub struct AdminScope {
    pub user_id: String,
    pub organisation_id: String,
    pub area_ids: Vec<String>,
    pub service_wide: bool,
}

type UserFilter = Box<
    dyn BoxableExpression<users::table, crate::db::MultiBackend, SqlType = diesel::sql_types::Bool>,
>;

impl AdminScope {
    /// The scope of administrator `admin`, whose areas are `area_ids`.
    pub fn of(admin: &User, area_ids: Vec<String>) -> Self {
        Self {
            user_id: admin.id.clone(),
            organisation_id: admin.organisation_id.clone(),
            area_ids,
            service_wide: admin.service_wide,
        }
    }

    /// The command line and the system: everyone.
    pub fn everywhere() -> Self {
        Self {
            user_id: String::new(),
            organisation_id: String::new(),
            area_ids: Vec::new(),
            service_wide: true,
        }
    }

    /// THE user scope chokepoint, in SQL: every administrator read and write of a user
    /// goes through it.
    fn filter(&self) -> UserFilter {
        if self.service_wide {
            return Box::new(users::id.eq(users::id));
        }
        let outside = user_areas::table
            .filter(user_areas::area_id.ne_all(self.area_ids.clone()))
            .select(user_areas::user_id);
        Box::new(
            users::organisation_id
                .eq(self.organisation_id.clone())
                .and(users::id.ne_all(outside)),
        )
    }
}

/// Records where a user stands with the second factor.
pub fn set_mfa_state(conn: &mut DbConn, user_id: &str, mfa: MfaState) -> Result<(), AppError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::mfa_state.eq(mfa),
            users::updated_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the administrator manages this user.
pub fn manages(conn: &mut DbConn, scope: &AdminScope, id: &str) -> Result<bool, AppError> {
    match managed(conn, scope, id) {
        Ok(_) => Ok(true),
        Err(AppError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// One user the administrator manages, or not found.
pub fn managed(conn: &mut DbConn, scope: &AdminScope, id: &str) -> Result<User, AppError> {
    Ok(users::table
        .filter(users::id.eq(id.to_owned()))
        .filter(scope.filter())
        .select(User::as_select())
        .first(conn)?)
}

/// A page of users, ordered by name, optionally only those matching `query` in name or email.
pub fn page(
    conn: &mut DbConn,
    scope: &AdminScope,
    query: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<User>, i64), AppError> {
    let pattern = query.map(|q| format!("%{}%", q.trim().to_lowercase().replace(['%', '_'], "")));
    let mut q = users::table
        .select(User::as_select())
        .filter(scope.filter())
        .into_boxed();
    let mut count = users::table.count().filter(scope.filter()).into_boxed();
    if let Some(p) = &pattern {
        q = q.filter(
            users::email
                .like(p.clone())
                .or(lower(users::name).like(p.clone())),
        );
        count = count.filter(
            users::email
                .like(p.clone())
                .or(lower(users::name).like(p.clone())),
        );
    }
    let total: i64 = count.get_result(conn)?;
    let rows = q
        .order((users::name.asc(), users::id.asc()))
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((rows, total))
}

/// Active users whose vetting expires between today and `until` (inclusive).
pub fn vetting_expiring(
    conn: &mut DbConn,
    scope: &AdminScope,
    today: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<User>, AppError> {
    Ok(users::table
        .filter(scope.filter())
        .filter(users::disabled_at.is_null())
        .filter(users::vetting_expires_on.ge(today))
        .filter(users::vetting_expires_on.le(until))
        .order(users::vetting_expires_on.asc())
        .select(User::as_select())
        .load(conn)?)
}

/// Active users whose vetting has already expired or was never recorded.
pub fn vetting_lapsed(
    conn: &mut DbConn,
    scope: &AdminScope,
    today: NaiveDate,
) -> Result<Vec<User>, AppError> {
    Ok(users::table
        .filter(scope.filter())
        .filter(users::disabled_at.is_null())
        .filter(
            users::vetting_expires_on
                .lt(today)
                .or(users::vetting_expires_on.is_null()),
        )
        .order(users::name.asc())
        .select(User::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut DbConn) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}
