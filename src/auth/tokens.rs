//! API bearer tokens: issued after both factors, stored as SHA-256, expiring, revocable.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::api_tokens;
use crate::error::AppError;

pub const PREFIX: &str = "mhtr_";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Issues a token; the plain value is returned once and never stored.
pub fn issue(conn: &mut DbConn, user_id: &str, hours: i64) -> Result<(String, ApiToken), AppError> {
    let token = format!("{PREFIX}{}", crate::ids::random_token(32));
    let now = crate::clock::now();
    let id = crate::ids::new_id();
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(&id),
            api_tokens::user_id.eq(user_id),
            api_tokens::token_hash.eq(crate::ids::sha256_hex(&token)),
            api_tokens::created_at.eq(now),
            api_tokens::expires_at.eq(now + Duration::hours(hours)),
        ))
        .execute(conn)?;
    let row = api_tokens::table
        .find(&id)
        .select(ApiToken::as_select())
        .first(conn)?;
    Ok((token, row))
}

/// The live token behind a bearer value, if any; marks it used (at most once a minute).
pub fn lookup(conn: &mut DbConn, token: &str) -> Result<Option<ApiToken>, AppError> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let now = crate::clock::now();
    let row = api_tokens::table
        .filter(api_tokens::token_hash.eq(crate::ids::sha256_hex(token)))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.gt(now))
        .select(ApiToken::as_select())
        .first(conn)
        .optional()?;
    if let Some(r) = &row
        && r.last_used_at
            .is_none_or(|t| now - t >= Duration::minutes(1))
    {
        diesel::update(api_tokens::table.find(&r.id))
            .set(api_tokens::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(row)
}

pub fn revoke(conn: &mut DbConn, token_id: &str) -> Result<bool, AppError> {
    let n = diesel::update(
        api_tokens::table
            .find(token_id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(crate::clock::now()))
    .execute(conn)?;
    Ok(n > 0)
}

/// A user's own token, revoked by id (the "your sessions" page).
pub fn revoke_own(conn: &mut DbConn, user_id: &str, token_id: &str) -> Result<bool, AppError> {
    let n = diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(token_id))
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(crate::clock::now()))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn revoke_all_for_user(conn: &mut DbConn, user_id: &str) -> Result<usize, AppError> {
    Ok(diesel::update(
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(crate::clock::now()))
    .execute(conn)?)
}

pub fn live_for_user(conn: &mut DbConn, user_id: &str) -> Result<Vec<ApiToken>, AppError> {
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.gt(crate::clock::now()))
        .order(api_tokens::created_at.desc())
        .select(ApiToken::as_select())
        .load(conn)?)
}
