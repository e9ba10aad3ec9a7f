//! People and referrals: rows, writes and queries. Every query that reads or writes a
//! referral starts from [`scoped`], the one place the user's areas and caseload are applied.
//! Rules live in `service.rs`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    identity_links, people, person_merges, referral_amendments, referral_drafts,
    referral_status_history, referrals,
};
use crate::error::AppError;
use crate::referrals::codes::*;
use crate::referrals::state::{Action, Status};
use crate::users::model::Role;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = people)]
pub struct Person {
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub gender_identity: GenderIdentity,
    pub ethnicity: Option<Ethnicity>,
    pub pnc_id: Option<String>,
    pub crn: Option<String>,
    pub area_id: String,
    pub gp_practice: Option<String>,
    pub communication_needs: Option<String>,
    pub interpreter_needed: bool,
    pub language: Option<String>,
    pub merged_into_id: Option<String>,
    #[diesel(deserialize_as = crate::db::types::At)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::types::At)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = people, treat_none_as_null = true)]
pub struct PersonWrite<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub gender_identity: GenderIdentity,
    pub ethnicity: Option<Ethnicity>,
    pub pnc_id: Option<&'a str>,
    pub crn: Option<&'a str>,
    pub area_id: &'a str,
    pub gp_practice: Option<&'a str>,
    pub communication_needs: Option<&'a str>,
    pub interpreter_needed: bool,
    pub language: Option<&'a str>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = referrals)]
pub struct Referral {
    pub id: String,
    pub reference: String,
    pub person_id: String,
    pub area_id: String,
    pub entry_point: EntryPoint,
    pub status: Status,
    pub version: i64,
    pub created_by: String,
    pub responsible_officer_id: Option<String>,
    pub assessor_id: Option<String>,
    pub allocated_ap_id: Option<String>,
    pub offence_category: OffenceCategory,
    pub urgency: Urgency,
    pub details: String,
    pub idempotency_key: Option<String>,
    #[diesel(deserialize_as = crate::db::types::At)]
    pub submitted_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::types::At)]
    pub updated_at: NaiveDateTime,
    /// Set when the court makes the order.
    pub sentence_date: Option<NaiveDate>,
    pub requirement_end_date: Option<NaiveDate>,
    pub combined_with: Option<CombinedWith>,
}

impl Referral {
    /// The probation officer holding the referral: its responsible officer, or, with none
    /// yet (an arrest referral), the person who made it.
    pub fn holder(&self) -> &str {
        self.responsible_officer_id
            .as_deref()
            .unwrap_or(&self.created_by)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = referrals)]
pub struct NewReferral<'a> {
    pub id: &'a str,
    pub reference: &'a str,
    pub person_id: &'a str,
    pub area_id: &'a str,
    pub entry_point: EntryPoint,
    pub status: Status,
    pub version: i64,
    pub created_by: &'a str,
    pub responsible_officer_id: Option<&'a str>,
    pub offence_category: OffenceCategory,
    pub urgency: Urgency,
    pub details: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub submitted_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = referral_status_history)]
pub struct HistoryRow {
    pub id: String,
    pub referral_id: String,
    pub action: Action,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub actor_user_id: Option<String>,
    pub actor_name: String,
    #[diesel(deserialize_as = crate::db::types::At)]
    pub at: NaiveDateTime,
    pub summary: String,
    pub details: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = referral_amendments)]
pub struct AmendmentRow {
    pub id: String,
    pub referral_id: String,
    pub field: String,
    pub field_label: String,
    pub old_value: String,
    pub new_value: String,
    pub reason: String,
    pub actor_user_id: Option<String>,
    pub actor_name: String,
    #[diesel(deserialize_as = crate::db::types::At)]
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = referral_drafts)]
pub struct Draft {
    pub id: String,
    pub created_by: String,
    pub data: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Who is asking, as far as scope is concerned: role, user id and areas.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub organisation_id: String,
    pub area_ids: Vec<String>,
    /// A service-wide administrator (every area).
    pub service_wide: bool,
    /// Holds police vetting (NPPV) or an enhanced DBS check: may see police-linked and risk
    /// answers ([`crate::referrals::forms::POLICE_LINKED`]).
    pub police_cleared: bool,
}

impl Viewer {
    /// The viewer as an administrator: what users they manage (their organisation and
    /// areas, or everyone if service-wide).
    pub fn admin_scope(&self) -> crate::users::model::AdminScope {
        crate::users::model::AdminScope {
            user_id: self.user_id.clone(),
            organisation_id: self.organisation_id.clone(),
            area_ids: self.area_ids.clone(),
            service_wide: self.service_wide,
        }
    }
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A query of the referrals in some scope, still to be refined.
pub type Scoped<'a> = referrals::BoxedQuery<'a, crate::db::MultiBackend>;

/// Why a referral is being looked up: the scope depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Reading, listing, moving along or amending a referral.
    Casework,
    /// Joining two records of one person (clinical leads and administrators).
    MergePeople,
    /// Reviewing closed referrals under the retention policy: administrators in every area,
    /// clinical leads in theirs.
    Retention,
}

/// One way a person with a caseload reaches a referral (made it, holds it as responsible
/// officer, assesses it...), as a condition on its row.
type Way = Box<
    dyn BoxableExpression<
            referrals::table,
            crate::db::MultiBackend,
            SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
        >,
>;

/// What a viewer's scope is made of, for one purpose.
enum Reach {
    /// Every referral in every area.
    Everywhere,
    /// Every referral in the viewer's areas.
    Areas,
    /// The referrals in the viewer's areas that any of these ways reaches.
    Caseload(Vec<Way>),
    /// None at all.
    Nothing,
}

/// The scope rule itself: areas first (a tenant boundary); then probation officers reach
/// what they made or hold as responsible officer, plus arrest referrals in their areas still
/// waiting for one; Liaison and Diversion practitioners only what they made; assistant
/// psychologists what they assess or are allocated; clinical leads their areas.
/// Administrators reach referrals in their areas only to merge people's records, by
/// reference, every area's closed referrals for the retention review, and their own
/// organisation's referrals to check their data quality; councillors only the data-quality
/// shares of their areas, never a record (the data-quality service lists none for them).
fn reach(viewer: &Viewer, purpose: Purpose) -> Reach {
    let me = || viewer.user_id.clone();
    match (viewer.role, purpose) {
        (Role::Admin, Purpose::Retention) if viewer.service_wide => Reach::Everywhere,
        (Role::Admin, Purpose::Retention) => Reach::Areas,
        (Role::ClinicalLead, _) | (Role::Admin, Purpose::MergePeople) => Reach::Areas,
        (Role::ProbationOfficer, Purpose::Casework) => Reach::Caseload(officer_ways(
            me(),
            Some(Box::new(
                referrals::responsible_officer_id.eq_any(disabled_user_ids()),
            )),
        )),
        (Role::LiaisonDiversion, Purpose::Casework) => {
            Reach::Caseload(vec![Box::new(referrals::created_by.eq(me()).nullable())])
        }
        (Role::AssistantPsychologist, Purpose::Casework) => Reach::Caseload(vec![
            Box::new(referrals::assessor_id.eq(me())),
            Box::new(referrals::allocated_ap_id.eq(me())),
        ]),
        _ => Reach::Nothing,
    }
}

/// A probation officer's ways: what they made, what they hold as responsible officer,
/// arrest referrals in their areas still waiting for one, and `left`, the way to referrals
/// whose officer's account is disabled (they wait for another to take them over, so nothing
/// drops out of sight; none when no officer has left).
fn officer_ways(me: String, left: Option<Way>) -> Vec<Way> {
    let mut ways: Vec<Way> = vec![
        Box::new(referrals::created_by.eq(me.clone()).nullable()),
        Box::new(referrals::responsible_officer_id.eq(me)),
        Box::new(
            referrals::entry_point
                .eq(EntryPoint::Arrest)
                .and(referrals::responsible_officer_id.is_null())
                .nullable(),
        ),
    ];
    ways.extend(left);
    ways
}

/// [`reach`] for reading a caseload way by way: the disabled officers' referrals are asked
/// for by those officers' ids, read first (a short list, often empty, when the way is
/// left out), instead of by a subquery: SQLite cannot tell that subquery's few rows from
/// many, and read every referral of the officer's areas in the tab's statuses for it (0.2 s
/// at a million referrals, on every officer's list).
fn caseload_reach(conn: &mut DbConn, viewer: &Viewer, purpose: Purpose) -> Result<Reach, AppError> {
    if (viewer.role, purpose) != (Role::ProbationOfficer, Purpose::Casework) {
        return Ok(reach(viewer, purpose));
    }
    let disabled = disabled_ids(conn)?;
    let left: Option<Way> = (!disabled.is_empty())
        .then(|| Box::new(referrals::responsible_officer_id.eq_any(disabled)) as Way);
    Ok(Reach::Caseload(officer_ways(viewer.user_id.clone(), left)))
}

/// Whether the viewer's referrals are a caseload of their own (reached in [`reach`]'s ways),
/// rather than whole areas: a caseload's list is a short read, along its indexes.
pub fn has_caseload(viewer: &Viewer) -> bool {
    matches!(reach(viewer, Purpose::Casework), Reach::Caseload(_))
}

/// How many referrals are in each tab: every tab of a caseload (a few hundred referrals at
/// most, read along its indexes); for a clinical lead's whole areas, every tab but "Ended",
/// counted along the (area, status) index, so the cost follows the live work, not the
/// history. A tab left out has no count. `None` for a viewer with neither.
pub fn tab_counts(
    conn: &mut DbConn,
    viewer: &Viewer,
) -> Result<Option<std::collections::BTreeMap<crate::referrals::state::Tab, i64>>, AppError> {
    use crate::referrals::state::Tab;
    let mut counts = std::collections::BTreeMap::new();
    if let Reach::Caseload(ways) = caseload_reach(conn, viewer, Purpose::Casework)? {
        // Way by way, each along its own index, as `list` reads them.
        let mut statuses: std::collections::HashMap<String, Status> =
            std::collections::HashMap::new();
        for way in ways {
            statuses.extend(
                in_areas(viewer)
                    .filter(way)
                    .select((referrals::id, referrals::status))
                    .load::<(String, Status)>(conn)?,
            );
        }
        for t in Tab::ALL {
            counts.insert(*t, 0);
        }
        for s in statuses.into_values() {
            *counts.entry(s.tab()).or_insert(0) += 1;
        }
    } else if viewer.role == Role::ClinicalLead {
        // Range by range: counting every open tab in one query grouped by area and status
        // cost SQLite twice the instructions (an aggregate step a referral against a count
        // of each range) and took PostgreSQL 0.6 s at a million referrals (BENCHMARKS.md).
        for t in Tab::ALL.iter().copied().filter(|t| *t != Tab::Ended) {
            let tab = ListFilter {
                statuses: t.statuses(),
                ..Default::default()
            };
            counts.insert(t, count_ranges(conn, viewer, &tab, None)?);
        }
    } else {
        return Ok(None);
    }
    Ok(Some(counts))
}

fn in_areas<'a>(viewer: &Viewer) -> Scoped<'a> {
    referrals::table.into_boxed().filter(crate::db::any_of(
        referrals::area_id,
        viewer.area_ids.clone(),
    ))
}

/// THE scope chokepoint: the referrals `viewer` may see or touch, filtered in SQL, by the
/// rule in [`reach`].
pub fn scoped<'a>(viewer: &Viewer, purpose: Purpose) -> Scoped<'a> {
    match reach(viewer, purpose) {
        Reach::Everywhere => referrals::table.into_boxed(),
        Reach::Areas => in_areas(viewer),
        Reach::Caseload(ways) => match ways.into_iter().reduce(|a, b| Box::new(a.or(b))) {
            Some(any) => in_areas(viewer).filter(any),
            None => referrals::table
                .into_boxed()
                .filter(referrals::id.is_null()),
        },
        Reach::Nothing => referrals::table
            .into_boxed()
            .filter(referrals::id.is_null()),
    }
}

/// One referral in scope, or not found.
pub fn find(conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<Referral, AppError> {
    Ok(scoped(viewer, Purpose::Casework)
        .filter(referrals::id.eq(id.to_owned()))
        .select(Referral::as_select())
        .first(conn)?)
}

/// One referral in scope by its reference, or not found.
pub fn find_by_reference(
    conn: &mut DbConn,
    viewer: &Viewer,
    purpose: Purpose,
    reference: &str,
) -> Result<Option<Referral>, AppError> {
    Ok(scoped(viewer, purpose)
        .filter(referrals::reference.eq(reference.to_owned()))
        .select(Referral::as_select())
        .first(conn)
        .optional()?)
}

pub fn person(conn: &mut DbConn, id: &str) -> Result<Person, AppError> {
    Ok(people::table
        .find(id)
        .select(Person::as_select())
        .first(conn)?)
}

/// Filters of the case list and the API list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub statuses: Vec<Status>,
    pub area_id: Option<String>,
    pub entry_point: Option<EntryPoint>,
    pub ap_id: Option<String>,
    pub query: Option<String>,
    pub sort: Sort,
    /// Not found by PNC ID: police data, searched only by viewers with police vetting.
    pub without_pnc: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    Updated,
    Reference,
    /// The intake order: urgent referrals first, then the longest waiting.
    UrgentFirst,
}

impl Sort {
    pub fn parse(s: &str) -> Sort {
        match s {
            "oldest" => Sort::Oldest,
            "updated" => Sort::Updated,
            "reference" => Sort::Reference,
            "urgent" => Sort::UrgentFirst,
            _ => Sort::Newest,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Updated => "updated",
            Sort::Reference => "reference",
            Sort::UrgentFirst => "urgent",
        }
    }
}

/// A name as a search of the case list looks for it: lower case, commas (and the slash the
/// index keeps between the name's two orders) read as spaces, LIKE's wildcards dropped, spaces collapsed. Three characters or more are looked for anywhere in
/// a person's names; one or two, as a whole name ("Li", "Ng"), which the trigram index
/// serves as well (the needle padded with spaces is three or four characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSearch {
    needle: String,
}

impl NameSearch {
    /// The search for `text` as typed, or none when it holds no letters or digits.
    pub fn new(text: &str) -> Option<Self> {
        let cleaned: String = text
            .to_lowercase()
            .chars()
            .map(|c| if matches!(c, ',' | '/') { ' ' } else { c })
            .filter(|c| !matches!(c, '%' | '_' | '\\'))
            .collect();
        let words: Vec<&str> = cleaned.split_whitespace().collect();
        if !words.iter().any(|w| w.chars().any(char::is_alphanumeric)) {
            return None;
        }
        let joined = words.join(" ");
        let needle = if joined.chars().count() < 3 {
            format!(" {joined} ")
        } else {
            joined
        };
        Some(Self { needle })
    }

    /// The LIKE pattern for `people_names.name`.
    pub fn pattern(&self) -> String {
        format!("%{}%", self.needle)
    }

    /// Whether a person with these names is found: the same test as [`Self::pattern`] on
    /// the text `people_names` keeps (migration 000038), made here for a caseload's people.
    pub fn matches(&self, given_name: &str, family_name: &str) -> bool {
        name_text(given_name, family_name).contains(&self.needle)
    }
}

/// The text the names index keeps for a person: " given family / family given ", lower case.
pub fn name_text(given_name: &str, family_name: &str) -> String {
    format!(" {given_name} {family_name} / {family_name} {given_name} ").to_lowercase()
}

/// People whose CRN, or PNC ID unless `pnc` is empty, is the one searched for. No PNC ID is
/// stored empty, so "" matches none.
#[diesel::dsl::auto_type]
fn numbered(crn: String, pnc: String) -> _ {
    people::table.filter(people::crn.eq(crn).or(people::pnc_id.eq(pnc)))
}

/// The CRN and PNC ID a search asks [`numbered`] for: the search as typed, upper case; no
/// PNC ID for a viewer without police vetting.
fn numbers_sought(text: &str, without_pnc: bool) -> (String, String) {
    let upper = text.trim().to_uppercase();
    let pnc = if without_pnc {
        String::new()
    } else {
        upper.clone()
    };
    (upper, pnc)
}

/// Which of the referrals `ids` a search finds: by reference, or by their person's CRN, PNC
/// ID or name (a record merged into the person's included), as [`refine`] searches. A
/// caseload holds a few thousand referrals at most, so the caseload's own people are read
/// and matched here, a chunk at a time, rather than the search asked of every person.
fn search_within<'i>(
    conn: &mut DbConn,
    ids: impl Iterator<Item = &'i str>,
    text: &str,
    without_pnc: bool,
) -> Result<std::collections::HashSet<String>, AppError> {
    let upper = text.trim().to_uppercase();
    let name = NameSearch::new(text);
    let ids: Vec<&str> = ids.collect();
    let mut found = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        // IN lists, not `db::any_of`: its OR of equalities is for short lists.
        let rows: Vec<(String, String, String)> = referrals::table
            .filter(referrals::id.eq_any(chunk))
            .select((referrals::id, referrals::reference, referrals::person_id))
            .load(conn)?;
        let mut people_ids: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
        people_ids.sort_unstable();
        people_ids.dedup();
        type Named = (
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let records: Vec<Named> = people::table
            .filter(
                people::id
                    .eq_any(&people_ids)
                    .or(people::merged_into_id.eq_any(&people_ids)),
            )
            .select((
                people::id,
                people::merged_into_id,
                people::given_name,
                people::family_name,
                people::crn,
                people::pnc_id,
            ))
            .load(conn)?;
        let matching: std::collections::HashSet<String> = records
            .into_iter()
            .filter(|(_, _, given, family, crn, pnc)| {
                crn.as_deref() == Some(upper.as_str())
                    || (!without_pnc && pnc.as_deref() == Some(upper.as_str()))
                    || name.as_ref().is_some_and(|n| n.matches(given, family))
            })
            .map(|(id, merged_into, ..)| merged_into.unwrap_or(id))
            .collect();
        found.extend(
            rows.into_iter()
                .filter(|(_, reference, person)| *reference == upper || matching.contains(person))
                .map(|(id, _, _)| id),
        );
    }
    Ok(found)
}

/// What a list is ordered by, for each referral on it. Only the fields the chosen order
/// uses are read ([`sort_keys`]); the others keep their defaults.
#[derive(Debug, Clone)]
struct SortKey {
    id: String,
    submitted_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    reference: String,
    urgency: Urgency,
}

impl SortKey {
    fn of(id: String) -> Self {
        Self {
            id,
            submitted_at: NaiveDateTime::MIN,
            updated_at: NaiveDateTime::MIN,
            reference: String::new(),
            urgency: Urgency::Routine,
        }
    }
}

/// The sort keys of the referrals `q` finds, reading the columns `sort` orders by and no
/// others: a caseload tab holds a few hundred referrals, and each timestamp read is parsed.
fn sort_keys(conn: &mut DbConn, q: Scoped<'_>, sort: Sort) -> Result<Vec<SortKey>, AppError> {
    use crate::db::types::At;
    Ok(match sort {
        Sort::Newest | Sort::Oldest => q
            .select((referrals::id, referrals::submitted_at))
            .load::<(String, At)>(conn)?
            .into_iter()
            .map(|(id, at)| SortKey {
                submitted_at: at.0,
                ..SortKey::of(id)
            })
            .collect(),
        Sort::Updated => q
            .select((referrals::id, referrals::updated_at))
            .load::<(String, At)>(conn)?
            .into_iter()
            .map(|(id, at)| SortKey {
                updated_at: at.0,
                ..SortKey::of(id)
            })
            .collect(),
        Sort::Reference => q
            .select((referrals::id, referrals::reference))
            .load::<(String, String)>(conn)?
            .into_iter()
            .map(|(id, reference)| SortKey {
                reference,
                ..SortKey::of(id)
            })
            .collect(),
        Sort::UrgentFirst => q
            .select((referrals::id, referrals::urgency, referrals::submitted_at))
            .load::<(String, Urgency, At)>(conn)?
            .into_iter()
            .map(|(id, urgency, at)| SortKey {
                urgency,
                submitted_at: at.0,
                ..SortKey::of(id)
            })
            .collect(),
    })
}

/// What a list shows of one referral: a few of its columns and its person's name. Read in
/// one joined query, a page of these costs a fraction of its whole referral and person
/// rows (BENCHMARKS.md, load test, seventh run).
#[derive(Debug, Clone, Queryable)]
pub struct ListRow {
    pub id: String,
    pub reference: String,
    pub area_id: String,
    pub entry_point: EntryPoint,
    pub status: Status,
    pub urgency: Urgency,
    #[diesel(deserialize_as = crate::db::types::At)]
    pub submitted_at: NaiveDateTime,
    pub given_name: String,
    pub family_name: String,
    pub responsible_officer_id: Option<String>,
}

/// A whole-area list counts its referrals up to this many, and says "more than" past it:
/// counting every ended referral of nine areas (909,000 at a million) cost 0.15 s a page,
/// for a figure no one reads to the last digit.
pub const COUNTED: i64 = 1_000;

/// A name search lists the people it finds when there are at most this many; past it (a
/// common name on a large database, "Smith" names 50,000 people at a million referrals) the
/// list is read in its own order and each referral's person matched as it goes, a page at a
/// time, and not counted.
pub const NAMED: usize = 5_000;

/// How many referrals a list holds: `count`, or with `more`, more than `count`. A search
/// for a `common_name` is not counted: `count` is then the referrals up to this page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Total {
    pub count: i64,
    pub more: bool,
    pub common_name: bool,
}

impl Total {
    pub fn exact(count: i64) -> Self {
        Self {
            count,
            more: false,
            common_name: false,
        }
    }

    /// Whether a page follows page `page` (from 1) of `per`, which showed `shown`: by the
    /// count where it is exact; past a count, while the pages are full; for a common name,
    /// as the walk found.
    pub fn next_follows(&self, page: i64, per: i64, shown: usize) -> bool {
        match (self.more, self.common_name) {
            (false, _) => page * per < self.count,
            (true, true) => true,
            (true, false) => shown as i64 == per,
        }
    }
}

/// Where a page of a list starts. `offset` counts the referrals before it; `seek`, when
/// given, finds the page by a neighbouring referral instead (keyset paging: the list's own
/// index read from that referral's place, so page 2,000 costs what page 1 does). A seek from
/// a referral not in the viewer's scope, or not found, falls back to the offset, so a link
/// kept from a page still opens it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    pub offset: i64,
    pub seek: Option<Seek>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seek {
    /// The page after this referral (the "Next" link: the last one on the page before).
    After(String),
    /// The page before this referral (the "Previous" link: the first one on the page after).
    Before(String),
    /// The last page.
    Last,
}

impl Position {
    pub fn at(offset: i64) -> Self {
        Self { offset, seek: None }
    }

    /// The position a list's link asks for: page `page` (from 1) of `per` a page, and at
    /// most one of the referral after which or before which it starts, or the last page.
    pub fn asked(
        page: i64,
        per: i64,
        after: Option<&str>,
        before: Option<&str>,
        last: bool,
    ) -> Self {
        let seek = match (after, before) {
            (Some(a), _) if !a.is_empty() => Some(Seek::After(a.to_owned())),
            (_, Some(b)) if !b.is_empty() => Some(Seek::Before(b.to_owned())),
            _ if last => Some(Seek::Last),
            _ => None,
        };
        Self {
            offset: (page.max(1) - 1) * per,
            seek,
        }
    }
}

/// A page of referrals in scope, as a list shows them, and the total matching.
///
/// A caseload reached in several ways (a probation officer's own referrals, those they hold
/// as responsible officer, arrest referrals waiting for one) is read one way at a time, each
/// along its own index, and the ways' referrals are merged, counted and ordered here: asked
/// as one query with OR, the databases read every referral of the viewer's areas in the
/// chosen statuses instead, thousands of rows for a page of a few. Everyone else's list is
/// counted and ordered by the database.
pub fn list(
    conn: &mut DbConn,
    viewer: &Viewer,
    filter: &ListFilter,
    at: &Position,
    limit: i64,
) -> Result<(Vec<ListRow>, Total), AppError> {
    list_capped(conn, viewer, filter, at, limit, Caps::default())
}

/// How far a whole-area list counts, how many people a name search lists before it
/// matches as it reads instead, and how many it reads at a time then ([`COUNTED`],
/// [`NAMED`], [`WALKED`]; smaller in tests).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub counted: i64,
    pub named: usize,
    /// Referrals read a batch while a list is walked for a common name.
    pub walked: i64,
    /// Referrals read from each area's and status's range a batch while a page typed deep
    /// into the list is merged ([`first_merged`]).
    pub merged: i64,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            counted: COUNTED,
            named: NAMED,
            walked: WALKED,
            merged: MERGED,
        }
    }
}

/// [`list`] with its caps given.
pub fn list_capped(
    conn: &mut DbConn,
    viewer: &Viewer,
    filter: &ListFilter,
    at: &Position,
    limit: i64,
    caps: Caps,
) -> Result<(Vec<ListRow>, Total), AppError> {
    let limit = limit.max(1);
    let unvetted;
    let filter = if viewer.police_cleared {
        filter
    } else {
        unvetted = ListFilter {
            without_pnc: true,
            ..filter.clone()
        };
        &unvetted
    };
    let page: Vec<String>;
    let total: Total;
    let text = filter.query.as_deref().filter(|t| !t.trim().is_empty());
    let unsearched = ListFilter {
        query: None,
        ..filter.clone()
    };
    match caseload_reach(conn, viewer, Purpose::Casework)? {
        Reach::Caseload(ways) => {
            // A search is answered within the caseload (see `search_within`), not asked of
            // every person on the database.
            let mut keys: Vec<SortKey> = Vec::new();
            for way in ways {
                keys.extend(sort_keys(
                    conn,
                    refine(in_areas(viewer).filter(way), &unsearched),
                    filter.sort,
                )?);
            }
            if let Some(text) = text {
                let found = search_within(
                    conn,
                    keys.iter().map(|k| k.id.as_str()),
                    text,
                    filter.without_pnc,
                )?;
                keys.retain(|k| found.contains(&k.id));
            }
            (page, total) = page_of_keys(keys, filter.sort, at, limit);
        }
        _ => match (
            text,
            match text.and_then(NameSearch::new) {
                Some(name) => Some(named_people(conn, &name, caps.named)?),
                None => None,
            },
        ) {
            // A name too common to list its people: the list read in its order, a batch at
            // a time, each referral's person matched as it goes.
            (Some(text), Some(None)) => {
                let (ids, more) = walk(
                    conn,
                    viewer,
                    &unsearched,
                    (text, filter.without_pnc),
                    at,
                    limit,
                    caps.walked,
                )?;
                let count = if ids.is_empty() {
                    0
                } else {
                    at.offset.max(0) + ids.len() as i64
                };
                total = Total {
                    count,
                    more,
                    common_name: true,
                };
                page = ids;
            }
            // Any other search: the referrals it finds on the whole database (by reference,
            // CRN, PNC ID or the few people named so), then those in scope and filtered,
            // ordered here, each asked for by id: asked as one query with OR, the databases
            // may read every referral of the lead's areas instead.
            (Some(text), people) => {
                let people = people.flatten().unwrap_or_default();
                let found = found_anywhere(conn, text, filter.without_pnc, &people)?;
                let mut keys = Vec::new();
                for chunk in found.chunks(500) {
                    keys.extend(sort_keys(
                        conn,
                        refine(scoped(viewer, Purpose::Casework), &unsearched)
                            .filter(referrals::id.eq_any(chunk.to_vec())),
                        filter.sort,
                    )?);
                }
                (page, total) = page_of_keys(keys, filter.sort, at, limit);
            }
            (None, _) => {
                // Counted up to the cap and no further.
                let counted = count_ranges(conn, viewer, filter, Some(caps.counted))?;
                total = Total {
                    count: counted.min(caps.counted),
                    more: counted > caps.counted,
                    common_name: false,
                };
                let from = match &at.seek {
                    Some(Seek::After(id) | Seek::Before(id)) => cursor(conn, viewer, id)?,
                    _ => None,
                };
                page = match (&at.seek, from) {
                    (Some(Seek::After(_)), Some(k)) => {
                        first_of(conn, viewer, filter, Some(&k), false, limit)?
                    }
                    (Some(Seek::Before(_)), Some(k)) => {
                        first_of(conn, viewer, filter, Some(&k), true, limit)?
                    }
                    // The last page from the other end of the index, when it is known.
                    (Some(Seek::Last), _) if !total.more => {
                        let n = total.count
                            - last_page_start(total.count as usize, limit as usize) as i64;
                        first_of(conn, viewer, filter, None, true, n)?
                    }
                    _ => {
                        let skip = at.offset.max(0);
                        let mut ids =
                            first_merged(conn, viewer, filter, skip + limit, caps.merged)?;
                        ids.drain(..(skip as usize).min(ids.len()));
                        ids
                    }
                };
            }
        },
    }
    // What the page shows of each, with the person's name, in one query.
    let mut rows: Vec<ListRow> = referrals::table
        .inner_join(people::table)
        .filter(crate::db::any_of(referrals::id, page.clone()))
        .select((
            referrals::id,
            referrals::reference,
            referrals::area_id,
            referrals::entry_point,
            referrals::status,
            referrals::urgency,
            referrals::submitted_at,
            people::given_name,
            people::family_name,
            referrals::responsible_officer_id,
        ))
        .load(conn)?;
    rows.sort_by_key(|r| page.iter().position(|id| *id == r.id));
    Ok((rows, total))
}

/// Everyone else's list (whole areas) in the order asked for. Newest and oldest first, the
/// default, read the referrals of each area and status from `referrals_area_status` in
/// order, without visiting the rows (migration 000018; 000020 for the other orders).
pub fn in_order<'a>(viewer: &Viewer, filter: &ListFilter) -> Scoped<'a> {
    ordered(viewer, filter, false)
}

/// The list in its order, or `reversed` (for a page read from its far side).
fn ordered<'a>(viewer: &Viewer, filter: &ListFilter, reversed: bool) -> Scoped<'a> {
    let q = refine(scoped(viewer, Purpose::Casework), filter);
    // Whether the list climbs on its sort key (and on id, the tie-break).
    let up = |ascending: bool| ascending != reversed;
    macro_rules! by {
        ($col:expr, $ascending:expr) => {
            if up($ascending) {
                q.order(($col.asc(), referrals::id.asc()))
            } else {
                q.order(($col.desc(), referrals::id.desc()))
            }
        };
    }
    match filter.sort {
        Sort::Newest => by!(referrals::submitted_at, false),
        Sort::Oldest => by!(referrals::submitted_at, true),
        Sort::Updated => by!(referrals::updated_at, false),
        Sort::Reference => by!(referrals::reference, true),
        // "urgent" sorts after "routine", and comes first; then the longest waiting.
        Sort::UrgentFirst if reversed => q.order((
            referrals::urgency.asc(),
            referrals::submitted_at.desc(),
            referrals::id.desc(),
        )),
        Sort::UrgentFirst => q.order((
            referrals::urgency.desc(),
            referrals::submitted_at.asc(),
            referrals::id.asc(),
        )),
    }
}

/// A whole-area list's filter split into one filter per area and status: each is one range
/// of the list's indexes, which both databases read from the index alone.
fn ranges(viewer: &Viewer, filter: &ListFilter) -> Vec<ListFilter> {
    let areas: Vec<String> = match &filter.area_id {
        Some(a) => vec![a.clone()],
        None => viewer.area_ids.clone(),
    };
    let statuses: Vec<Vec<Status>> = if filter.statuses.is_empty() {
        vec![Vec::new()]
    } else {
        filter.statuses.iter().map(|s| vec![*s]).collect()
    };
    areas
        .iter()
        .flat_map(|area| {
            statuses.iter().map(move |status| ListFilter {
                area_id: Some(area.clone()),
                statuses: status.clone(),
                ..filter.clone()
            })
        })
        .collect()
}

/// How many referrals a whole-area list holds, counted range by range ([`ranges`]) up to
/// `cap` + 1 when a cap is given. One query over all the areas with OR had PostgreSQL
/// build a bitmap of every matching referral before counting, even to stop at 1,001.
fn count_ranges(
    conn: &mut DbConn,
    viewer: &Viewer,
    filter: &ListFilter,
    cap: Option<i64>,
) -> Result<i64, AppError> {
    let mut n = 0;
    for one in ranges(viewer, filter) {
        let q = refine(scoped(viewer, Purpose::Casework), &one);
        n += match cap {
            Some(cap) => q
                .select(referrals::id)
                .limit(cap + 1 - n)
                .load::<String>(conn)?
                .len() as i64,
            None => q.count().get_result::<i64>(conn)?,
        };
        if cap.is_some_and(|cap| n > cap) {
            break;
        }
    }
    Ok(n)
}

/// The first `n` referrals of a whole-area list in its order, after `from` when given
/// (`reversed`: the last `n` before it, or before the end), in the list's order. Each area
/// and status is read as its own range of the list's index, at most `n` from each, and
/// the ranges merged here: PostgreSQL does not merge an index's ranges for an ORDER BY
/// over IN lists, and read and sorted every ended referral of the lead's nine areas for a
/// page (0.3 s at a million referrals); SQLite merges them itself, and reads the same.
fn first_of(
    conn: &mut DbConn,
    viewer: &Viewer,
    filter: &ListFilter,
    from: Option<&SortKey>,
    reversed: bool,
    n: i64,
) -> Result<Vec<String>, AppError> {
    if n <= 0 {
        return Ok(Vec::new());
    }
    let mut keys: Vec<SortKey> = Vec::new();
    for one in ranges(viewer, filter) {
        let mut q = ordered(viewer, &one, reversed);
        if let Some(k) = from {
            q = beyond(q, filter.sort, k, reversed);
        }
        keys.extend(sort_keys(conn, q.limit(n), filter.sort)?);
    }
    order(&mut keys, filter.sort);
    let n = n as usize;
    let range = if reversed {
        keys.len().saturating_sub(n)..keys.len()
    } else {
        0..n.min(keys.len())
    };
    Ok(keys[range].iter().map(|k| k.id.clone()).collect())
}

/// The first `n` referrals of a whole-area list in its order, read as [`first_of`] reads
/// them but merged as they come: each area's and status's range a batch at a time (at most
/// `most`, fewer for a short page), the next batch of a range read from its last key only
/// when the merge has used its batch up. A page typed deep into the list (`?page=2000`)
/// reads about as many referrals as come before it, not that many from every range.
fn first_merged(
    conn: &mut DbConn,
    viewer: &Viewer,
    filter: &ListFilter,
    n: i64,
    most: i64,
) -> Result<Vec<String>, AppError> {
    struct Range {
        filter: ListFilter,
        read: std::collections::VecDeque<SortKey>,
        last: Option<SortKey>,
        done: bool,
    }
    let batch = n.min(most).max(1);
    let mut ranges: Vec<Range> = ranges(viewer, filter)
        .into_iter()
        .map(|filter| Range {
            filter,
            read: std::collections::VecDeque::new(),
            last: None,
            done: false,
        })
        .collect();
    let mut out = Vec::new();
    while (out.len() as i64) < n {
        for r in ranges.iter_mut().filter(|r| r.read.is_empty() && !r.done) {
            let mut q = ordered(viewer, &r.filter, false);
            if let Some(k) = &r.last {
                q = beyond(q, filter.sort, k, false);
            }
            let keys = sort_keys(conn, q.limit(batch), filter.sort)?;
            r.done = (keys.len() as i64) < batch;
            r.last = keys.last().cloned();
            r.read.extend(keys);
        }
        let next = ranges
            .iter_mut()
            .filter(|r| !r.read.is_empty())
            .min_by(|a, b| compare(&a.read[0], &b.read[0], filter.sort));
        match next.and_then(|r| r.read.pop_front()) {
            Some(k) => out.push(k.id),
            None => break,
        }
    }
    Ok(out)
}

/// Where the last page of `total` items, `per` a page, starts.
fn last_page_start(total: usize, per: usize) -> usize {
    total.saturating_sub(1) / per.max(1) * per.max(1)
}

/// The sort keys of the referral a page is sought from, if the viewer may see it.
fn cursor(conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<Option<SortKey>, AppError> {
    use crate::db::types::At;
    Ok(scoped(viewer, Purpose::Casework)
        .filter(referrals::id.eq(id.to_owned()))
        .select((
            referrals::id,
            referrals::submitted_at,
            referrals::updated_at,
            referrals::reference,
            referrals::urgency,
        ))
        .first::<(String, At, At, String, Urgency)>(conn)
        .optional()?
        .map(|(id, submitted, updated, reference, urgency)| SortKey {
            id,
            submitted_at: submitted.0,
            updated_at: updated.0,
            reference,
            urgency,
        }))
}

/// The referrals of `q` that come after `k` in the list's order (`reversed`: before it).
/// Each condition bounds the order's first key by `k`'s (`>=` or `<=`), so the database
/// starts reading the list's index at `k`'s place instead of counting up to it.
fn beyond<'a>(q: Scoped<'a>, sort: Sort, k: &SortKey, reversed: bool) -> Scoped<'a> {
    type Condition = Box<
        dyn BoxableExpression<
                referrals::table,
                crate::db::MultiBackend,
                SqlType = diesel::sql_types::Bool,
            >,
    >;
    let up = |ascending: bool| ascending != reversed;
    let id = k.id.clone();
    macro_rules! past {
        ($col:expr, $x:expr, $ascending:expr) => {
            if up($ascending) {
                Box::new(
                    $col.ge($x.clone())
                        .and($col.gt($x.clone()).or(referrals::id.gt(id.clone()))),
                ) as Condition
            } else {
                Box::new(
                    $col.le($x.clone())
                        .and($col.lt($x.clone()).or(referrals::id.lt(id.clone()))),
                ) as Condition
            }
        };
    }
    match sort {
        Sort::Newest => q.filter(past!(referrals::submitted_at, k.submitted_at, false)),
        Sort::Oldest => q.filter(past!(referrals::submitted_at, k.submitted_at, true)),
        Sort::Updated => q.filter(past!(referrals::updated_at, k.updated_at, false)),
        Sort::Reference => q.filter(past!(referrals::reference, k.reference, true)),
        Sort::UrgentFirst => {
            let u = k.urgency;
            // The longest waiting first within each urgency (`past!` turns it when reversed).
            if reversed {
                // Routine before urgent.
                q.filter(
                    referrals::urgency
                        .ge(u)
                        .and(referrals::urgency.gt(u).or(past!(
                            referrals::submitted_at,
                            k.submitted_at,
                            true
                        ))),
                )
            } else {
                q.filter(
                    referrals::urgency
                        .le(u)
                        .and(referrals::urgency.lt(u).or(past!(
                            referrals::submitted_at,
                            k.submitted_at,
                            true
                        ))),
                )
            }
        }
    }
}

/// Orders a caseload as the database orders everyone else's list.
fn order(keys: &mut [SortKey], sort: Sort) {
    keys.sort_unstable_by(|a, b| compare(a, b, sort));
}

/// Which of two referrals comes first in a list in `sort` order (ties by id).
fn compare(a: &SortKey, b: &SortKey, sort: Sort) -> std::cmp::Ordering {
    use std::cmp::Reverse;
    match sort {
        Sort::Newest => (Reverse(a.submitted_at), Reverse(&a.id))
            .cmp(&(Reverse(b.submitted_at), Reverse(&b.id))),
        Sort::Oldest => (a.submitted_at, &a.id).cmp(&(b.submitted_at, &b.id)),
        Sort::Updated => {
            (Reverse(a.updated_at), Reverse(&a.id)).cmp(&(Reverse(b.updated_at), Reverse(&b.id)))
        }
        Sort::Reference => (&a.reference, &a.id).cmp(&(&b.reference, &b.id)),
        // "urgent" sorts after "routine", and comes first.
        Sort::UrgentFirst => (Reverse(a.urgency.as_str()), a.submitted_at, &a.id).cmp(&(
            Reverse(b.urgency.as_str()),
            b.submitted_at,
            &b.id,
        )),
    }
}

/// The people a name search finds, when there are at most `most` of them ([`NAMED`]), read
/// from the names index (at most `most` + 1 rows, however common the name); `None` for more.
fn named_people(
    conn: &mut DbConn,
    name: &NameSearch,
    most: usize,
) -> Result<Option<Vec<String>>, AppError> {
    use crate::db::schema::people_names;
    let mut found: Vec<String> = people_names::table
        .filter(people_names::name.like(name.pattern()))
        .select(people_names::person_id)
        .limit(most as i64 + 1)
        .load(conn)?;
    if found.len() > most {
        return Ok(None);
    }
    found.sort_unstable();
    found.dedup();
    Ok(Some(found))
}

/// The referrals a search finds on the whole database, as [`refine`] searches: by
/// reference, by the CRN or PNC ID of their person or of a record merged into them, or
/// by `people` (the people the names index found).
fn found_anywhere(
    conn: &mut DbConn,
    text: &str,
    without_pnc: bool,
    people: &[String],
) -> Result<Vec<String>, AppError> {
    let (upper, pnc) = numbers_sought(text, without_pnc);
    let mut persons: Vec<String> = people.to_vec();
    for (id, merged_into) in numbered(upper.clone(), pnc)
        .select((people::id, people::merged_into_id))
        .load::<(String, Option<String>)>(conn)?
    {
        persons.push(id);
        persons.extend(merged_into);
    }
    persons.sort_unstable();
    persons.dedup();
    let mut found: Vec<String> = referrals::table
        .filter(referrals::reference.eq(upper))
        .select(referrals::id)
        .load(conn)?;
    for chunk in persons.chunks(500) {
        found.extend(
            referrals::table
                .filter(referrals::person_id.eq_any(chunk))
                .select(referrals::id)
                .load::<String>(conn)?,
        );
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Referrals read in a batch while a list is walked for a common name.
pub const WALKED: i64 = 1_000;

/// Referrals read from each range a batch while a deep page is merged ([`Caps::merged`]).
pub const MERGED: i64 = 1_000;

/// A page of a whole-area list searched for a name too common to list its people: the
/// list (`unsearched`) read in its order a batch at a time from the position asked, each
/// batch's referrals matched by [`search_within`], until the page is full. Returns the
/// page and whether more follow. A name on at least 1 in 200 people fills a page within a
/// few thousand referrals read.
fn walk(
    conn: &mut DbConn,
    viewer: &Viewer,
    unsearched: &ListFilter,
    (text, without_pnc): (&str, bool),
    at: &Position,
    limit: i64,
    batch_size: i64,
) -> Result<(Vec<String>, bool), AppError> {
    let (mut from, reversed, mut skip) = match &at.seek {
        Some(Seek::After(id)) => match cursor(conn, viewer, id)? {
            Some(k) => (Some(k), false, 0),
            None => (None, false, at.offset.max(0) as usize),
        },
        Some(Seek::Before(id)) => match cursor(conn, viewer, id)? {
            Some(k) => (Some(k), true, 0),
            None => (None, false, at.offset.max(0) as usize),
        },
        _ => (None, false, at.offset.max(0) as usize),
    };
    let want = limit as usize + 1;
    let mut page: Vec<String> = Vec::new();
    loop {
        // In the order walked: backwards from the cursor when `reversed`.
        let mut batch = first_of(
            conn,
            viewer,
            unsearched,
            from.as_ref(),
            reversed,
            batch_size,
        )?;
        if reversed {
            batch.reverse();
        }
        let found = search_within(conn, batch.iter().map(String::as_str), text, without_pnc)?;
        for id in batch.iter().filter(|id| found.contains(*id)) {
            if skip > 0 {
                skip -= 1;
            } else if page.len() < want {
                page.push(id.clone());
            }
        }
        if page.len() >= want || (batch.len() as i64) < batch_size {
            break;
        }
        from = match batch.last() {
            Some(last) => cursor(conn, viewer, last)?,
            None => None,
        };
    }
    let more = page.len() > limit as usize;
    page.truncate(limit as usize);
    if reversed {
        page.reverse();
    }
    Ok((page, more))
}

/// A page of a list whose sort keys are all read, ordered here: by the referral a page
/// follows or precedes (a seek from one not on the list falls back to the offset), or the
/// last page; and the whole list's count.
fn page_of_keys(
    mut keys: Vec<SortKey>,
    sort: Sort,
    at: &Position,
    limit: i64,
) -> (Vec<String>, Total) {
    keys.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    keys.dedup_by(|a, b| a.id == b.id);
    let total = Total::exact(keys.len() as i64);
    order(&mut keys, sort);
    let limit = limit as usize;
    let place = |id: &str| keys.iter().position(|k| k.id == id);
    let range = match &at.seek {
        Some(Seek::After(id)) => place(id).map(|i| i + 1..(i + 1 + limit).min(keys.len())),
        Some(Seek::Before(id)) => place(id).map(|i| i.saturating_sub(limit)..i),
        Some(Seek::Last) => Some(last_page_start(keys.len(), limit)..keys.len()),
        None => None,
    }
    .unwrap_or_else(|| {
        let from = (at.offset.max(0) as usize).min(keys.len());
        from..(from + limit).min(keys.len())
    });
    (keys[range].iter().map(|k| k.id.clone()).collect(), total)
}

/// The list's filters on a query of referrals.
fn refine<'a>(mut q: Scoped<'a>, filter: &ListFilter) -> Scoped<'a> {
    if !filter.statuses.is_empty() {
        q = q.filter(crate::db::any_of(
            referrals::status,
            filter.statuses.clone(),
        ));
    }
    if let Some(a) = &filter.area_id {
        q = q.filter(referrals::area_id.eq(a.clone()));
    }
    if let Some(e) = filter.entry_point {
        q = q.filter(referrals::entry_point.eq(e));
    }
    if let Some(ap) = &filter.ap_id {
        q = q.filter(
            referrals::allocated_ap_id
                .eq(ap.clone())
                .or(referrals::assessor_id.eq(ap.clone())),
        );
    }
    if let Some(text) = filter.query.as_deref().filter(|t| !t.trim().is_empty()) {
        use crate::db::schema::people_names;
        let (upper, pnc) = numbers_sought(text, filter.without_pnc);
        // By reference, or by the CRN or PNC ID of the person or of a record merged into
        // them.
        let numbered = referrals::reference
            .eq(upper.clone())
            .or(referrals::person_id
                .eq_any(numbered(upper.clone(), pnc.clone()).select(people::id)))
            .or(referrals::person_id
                .nullable()
                .eq_any(numbered(upper, pnc).select(people::merged_into_id)));
        q = match NameSearch::new(text) {
            // Or by name, through the trigram index.
            Some(name) => q.filter(
                numbered.or(referrals::person_id.eq_any(
                    people_names::table
                        .filter(people_names::name.like(name.pattern()))
                        .select(people_names::person_id),
                )),
            ),
            None => q.filter(numbered),
        };
    }
    q
}

/// No list is unbounded: a referral's timeline shows at most this many of each kind of entry.
pub const TIMELINE_LIMIT: i64 = 1000;

pub fn history(conn: &mut DbConn, referral_id: &str) -> Result<Vec<HistoryRow>, AppError> {
    Ok(referral_status_history::table
        .filter(referral_status_history::referral_id.eq(referral_id))
        .order(referral_status_history::at.asc())
        .limit(TIMELINE_LIMIT)
        .select(HistoryRow::as_select())
        .load(conn)?)
}

/// Whether `user_id` has moved referral `referral_id` along the pathway (screened it,
/// booked its assessment, allocated it…): one read along the history's referral index.
pub fn has_acted_on(conn: &mut DbConn, referral_id: &str, user_id: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        referral_status_history::table
            .filter(referral_status_history::referral_id.eq(referral_id))
            .filter(referral_status_history::actor_user_id.eq(user_id)),
    ))
    .get_result(conn)?)
}

/// The ids of the users whose accounts are disabled, as a subquery: whoever holds a
/// referral among them has left it to someone else.
#[diesel::dsl::auto_type]
pub fn disabled_user_ids() -> _ {
    crate::db::schema::users::table
        .filter(crate::db::schema::users::disabled_at.is_not_null())
        .select(crate::db::schema::users::id.nullable())
}

/// The ids of the disabled accounts, read first (a partial index holds them: migration
/// 000043), for a query to name them: asked for by a subquery instead, SQLite cannot tell
/// its few rows from many and reads every referral of the viewer's areas for it (0.6 s on
/// every probation officer's home page at a million referrals). Usually empty, and then the
/// query need not run.
pub fn disabled_ids(conn: &mut DbConn) -> Result<Vec<String>, AppError> {
    Ok(crate::db::schema::users::table
        .filter(crate::db::schema::users::disabled_at.is_not_null())
        .select(crate::db::schema::users::id)
        .load(conn)?)
}

/// The statuses after which nothing more happens to a referral.
pub fn final_statuses() -> Vec<Status> {
    Status::ALL
        .iter()
        .copied()
        .filter(|s| s.is_final())
        .collect()
}

/// Whether the officer holding `r` (its responsible officer, or with none its referrer)
/// has had their account disabled: the referral then waits for another to take it over.
pub fn holder_disabled(conn: &mut DbConn, r: &Referral) -> Result<bool, AppError> {
    use crate::db::schema::users;
    Ok(users::table
        .find(r.holder())
        .select(users::disabled_at.is_not_null())
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

/// The clinical lead named as treatment director when the MHTR was made (the latest order
/// recorded), kept with the step in the referral's history.
pub fn treatment_director(
    conn: &mut DbConn,
    referral_id: &str,
) -> Result<Option<String>, AppError> {
    let details: Option<String> = referral_status_history::table
        .filter(referral_status_history::referral_id.eq(referral_id))
        .filter(referral_status_history::action.eq(Action::RecordMhtrMade))
        .order(referral_status_history::at.desc())
        .select(referral_status_history::details)
        .first(conn)
        .optional()?;
    Ok(details
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|d| d["treatment_director_id"].as_str().map(str::to_owned)))
}

pub fn amendments(conn: &mut DbConn, referral_id: &str) -> Result<Vec<AmendmentRow>, AppError> {
    Ok(referral_amendments::table
        .filter(referral_amendments::referral_id.eq(referral_id))
        .order(referral_amendments::at.asc())
        .limit(TIMELINE_LIMIT)
        .select(AmendmentRow::as_select())
        .load(conn)?)
}

/// People with this PNC ID or CRN (exact, normalised).
pub fn people_by_identifier(
    conn: &mut DbConn,
    pnc: Option<&str>,
    crn: Option<&str>,
) -> Result<Vec<Person>, AppError> {
    if pnc.is_none() && crn.is_none() {
        return Ok(vec![]);
    }
    let mut q = people::table
        .filter(people::merged_into_id.is_null())
        .select(Person::as_select())
        .into_boxed();
    q = match (pnc, crn) {
        (Some(p), Some(c)) => q.filter(
            people::pnc_id
                .eq(p.to_owned())
                .or(people::crn.eq(c.to_owned())),
        ),
        (Some(p), None) => q.filter(people::pnc_id.eq(p.to_owned())),
        (None, Some(c)) => q.filter(people::crn.eq(c.to_owned())),
        (None, None) => q,
    };
    Ok(q.order(people::created_at.asc()).limit(5).load(conn)?)
}

/// People born on this date in these areas (the candidates for a close name match).
pub fn people_born_on(
    conn: &mut DbConn,
    dob: NaiveDate,
    area_ids: &[String],
) -> Result<Vec<Person>, AppError> {
    Ok(people::table
        .filter(people::date_of_birth.eq(dob))
        .filter(people::merged_into_id.is_null())
        .filter(people::area_id.eq_any(area_ids.to_vec()))
        .select(Person::as_select())
        .order(people::created_at.asc())
        .limit(50)
        .load(conn)?)
}

pub fn draft(conn: &mut DbConn, owner: &str, id: &str) -> Result<Option<Draft>, AppError> {
    Ok(referral_drafts::table
        .filter(referral_drafts::id.eq(id))
        .filter(referral_drafts::created_by.eq(owner))
        .select(Draft::as_select())
        .first(conn)
        .optional()?)
}

pub fn drafts_of(conn: &mut DbConn, owner: &str) -> Result<Vec<Draft>, AppError> {
    Ok(referral_drafts::table
        .filter(referral_drafts::created_by.eq(owner))
        .order(referral_drafts::updated_at.desc())
        .limit(20)
        .select(Draft::as_select())
        .load(conn)?)
}

/// Clinical leads (with an HCPC number) or assistant psychologists sharing an area, active.
pub fn staff_in_area(
    conn: &mut DbConn,
    role: Role,
    area_id: &str,
) -> Result<Vec<(String, String, Option<String>)>, AppError> {
    use crate::db::schema::{user_areas, users};
    Ok(users::table
        .inner_join(user_areas::table)
        .filter(user_areas::area_id.eq(area_id))
        .filter(users::role.eq(role))
        .filter(users::disabled_at.is_null())
        .select((users::id, users::name, users::hcpc_number))
        .order(users::name.asc())
        .limit(200)
        .load(conn)?)
}

/// The display names of users `ids`, by id.
pub fn user_names(
    conn: &mut DbConn,
    ids: impl IntoIterator<Item = String>,
) -> Result<std::collections::BTreeMap<String, String>, AppError> {
    use crate::db::schema::users;
    let ids: std::collections::BTreeSet<String> = ids.into_iter().collect();
    Ok(users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The role of user `id`, if there is such a user.
pub fn user_role(conn: &mut DbConn, id: &str) -> Result<Option<Role>, AppError> {
    use crate::db::schema::users;
    Ok(users::table
        .find(id)
        .select(users::role)
        .first(conn)
        .optional()?)
}

pub fn user_name(conn: &mut DbConn, id: &str) -> Result<String, AppError> {
    use crate::db::schema::users;
    Ok(users::table
        .find(id)
        .select(users::name)
        .first(conn)
        .optional()?
        .unwrap_or_else(|| "Unknown user".into()))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = person_merges)]
pub struct Merge {
    pub id: String,
    pub kept_person_id: String,
    pub merged_person_id: String,
    /// JSON array of the referral ids moved to the kept person.
    pub referral_ids: String,
    pub merged_by: String,
    pub merged_at: NaiveDateTime,
    pub undone_by: Option<String>,
    pub undone_at: Option<NaiveDateTime>,
    /// The merged person's contact details were moved to the person kept, who had none.
    pub contact_moved: bool,
}

/// Merges into this person that have not been undone, newest first.
pub fn live_merges_into(conn: &mut DbConn, person_id: &str) -> Result<Vec<Merge>, AppError> {
    Ok(person_merges::table
        .filter(person_merges::kept_person_id.eq(person_id))
        .filter(person_merges::undone_at.is_null())
        .order(person_merges::merged_at.desc())
        .limit(20)
        .select(Merge::as_select())
        .load(conn)?)
}

/// Merges this user made that have not been undone, newest first.
pub fn live_merges_by(conn: &mut DbConn, user_id: &str) -> Result<Vec<Merge>, AppError> {
    Ok(person_merges::table
        .filter(person_merges::merged_by.eq(user_id))
        .filter(person_merges::undone_at.is_null())
        .order(person_merges::merged_at.desc())
        .limit(10)
        .select(Merge::as_select())
        .load(conn)?)
}

/// Merges this person took part in, kept or merged, newest first.
pub fn merges_of_person(conn: &mut DbConn, person_id: &str) -> Result<Vec<Merge>, AppError> {
    Ok(person_merges::table
        .filter(
            person_merges::kept_person_id
                .eq(person_id)
                .or(person_merges::merged_person_id.eq(person_id)),
        )
        .order(person_merges::merged_at.desc())
        .limit(50)
        .select(Merge::as_select())
        .load(conn)?)
}

/// An exact identifier match the referrer was not shown: the referral's own person record,
/// linked to the person already known (see migration 000021).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = identity_links)]
pub struct IdentityLink {
    pub id: String,
    pub referral_id: String,
    pub person_id: String,
    pub matched_person_id: String,
    /// `crn` or `pnc_id`: which identifier matched.
    pub identifier: String,
    /// Whether the names and date of birth typed agreed with the record matched.
    pub details_agree: bool,
    /// `linked` (details agree), `to_confirm` (they disagree), `confirmed` or `split`.
    pub status: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_reason: Option<String>,
}

/// The identity links of one referral, newest first.
pub fn identity_links_of(
    conn: &mut DbConn,
    referral_id: &str,
) -> Result<Vec<IdentityLink>, AppError> {
    Ok(identity_links::table
        .filter(identity_links::referral_id.eq(referral_id))
        .order(identity_links::created_at.desc())
        .select(IdentityLink::as_select())
        .load(conn)?)
}

/// The referrals of one person (every area), for writing an amendment on each.
pub fn referral_ids_of_person(conn: &mut DbConn, person_id: &str) -> Result<Vec<String>, AppError> {
    Ok(referrals::table
        .filter(referrals::person_id.eq(person_id))
        .order(referrals::submitted_at.asc())
        .select(referrals::id)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(q: &str) -> Option<String> {
        NameSearch::new(q).map(|n| n.pattern())
    }

    #[test]
    fn a_search_is_made_ready_for_the_names_index() {
        assert_eq!(pattern("  SMITH "), Some("%smith%".into()));
        assert_eq!(pattern("Smith,  John"), Some("%smith john%".into()));
        // One or two characters: a whole name, which the trigram index still serves.
        assert_eq!(pattern("Ng"), Some("% ng %".into()));
        assert_eq!(pattern("j"), Some("% j %".into()));
        // LIKE's wildcards and escape are dropped, not passed on.
        assert_eq!(pattern("s%m_i\\th"), Some("%smith%".into()));
        assert_eq!(pattern("a%"), Some("% a %".into()));
        for nothing in ["", "   ", "%", "_%_", ",", " - "] {
            assert_eq!(pattern(nothing), None, "{nothing:?}");
        }
    }

    #[test]
    fn the_names_match_as_the_index_matches() {
        let n = |q: &str| NameSearch::new(q).unwrap();
        assert_eq!(name_text("Li", "Ng"), " li ng / ng li ");
        assert!(n("ng").matches("Li", "Ng"));
        assert!(!n("ng").matches("Lionel", "Ngata"));
        assert!(n("ngat").matches("Lionel", "Ngata"));
        assert!(n("Ngata, Lionel").matches("Lionel", "Ngata"));
        assert!(n("onel nga").matches("Lionel", "Ngata"));
        assert!(!n("ngata ngata").matches("Lionel", "Ngata"));
        // An erased person's blank names match nothing.
        assert!(!n("a").matches("", ""));
        assert!(
            NameSearch::new("/").is_none(),
            "the separator is not a name"
        );
        assert!(!n("ng / ng").matches("Li", "Ng"));
    }
}
