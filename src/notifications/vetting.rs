//! The vetting reminder: once per user per expiry date, when vetting expires within 30 days,
//! the user is emailed (always) and so is every active administrator who manages them (unless
//! they turned these off). Run from the housekeeping loop; running it again queues nothing new.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{users, vetting_reminders};
use crate::error::AppError;
use crate::notifications::messages::{self, Emails, VettingExpiring, VettingExpiringAdmin};
use crate::notifications::model::enqueue;
use crate::users::model::{self as users_model, Role, User};

pub const DAYS_AHEAD: i64 = 30;

/// Queues the reminders due on `today`; returns how many people were reminded. Call it in a
/// write transaction, so the record of a reminder and its emails commit together.
pub fn queue_reminders(
    conn: &mut DbConn,
    emails: &Emails,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let until = today + chrono::Duration::days(DAYS_AHEAD);
    let expiring =
        users_model::vetting_expiring(conn, &users_model::AdminScope::everywhere(), today, until)?;
    let mut reminded = 0;
    let mut admins: Option<Vec<(User, users_model::AdminScope)>> = None;
    for user in expiring {
        let Some(expires_on) = user.vetting_expires_on else {
            continue;
        };
        let already: i64 = vetting_reminders::table
            .filter(vetting_reminders::user_id.eq(&user.id))
            .filter(vetting_reminders::expires_on.eq(expires_on))
            .count()
            .get_result(conn)?;
        if already > 0 {
            continue;
        }
        // Another instance racing here fails on the primary key and rolls back its emails.
        diesel::insert_into(vetting_reminders::table)
            .values((
                vetting_reminders::user_id.eq(&user.id),
                vetting_reminders::expires_on.eq(expires_on),
                vetting_reminders::queued_at.eq(crate::clock::now()),
            ))
            .execute(conn)?;
        let expires = crate::web::format::date(expires_on);
        enqueue(
            conn,
            emails.typed(
                &user.email,
                &VettingExpiring {
                    expires: expires.clone(),
                    link: emails.link("/account"),
                },
            )?,
        )?;
        if admins.is_none() {
            admins = Some(active_admins(conn)?);
        }
        // The administrators who manage this user, by the one rule of the admin scope.
        let mut managers = Vec::new();
        for (admin, scope) in admins.iter().flatten() {
            if admin.id != user.id && users_model::manages(conn, scope, &user.id)? {
                managers.push(admin);
            }
        }
        for admin in managers {
            enqueue(
                conn,
                emails.typed(
                    &admin.email,
                    &VettingExpiringAdmin {
                        initials: messages::initials(&user.name),
                        reference: messages::reference(&user.id),
                        expires: expires.clone(),
                        link: emails.link(&format!("/admin/users/{}/vetting", user.id)),
                    },
                )?,
            )?;
        }
        reminded += 1;
    }
    Ok(reminded)
}

/// Every active administrator, with whom they manage.
fn active_admins(conn: &mut DbConn) -> Result<Vec<(User, users_model::AdminScope)>, AppError> {
    let admins: Vec<User> = users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::disabled_at.is_null())
        .select(User::as_select())
        .load(conn)?;
    admins
        .into_iter()
        .map(|a| {
            let scope = users_model::AdminScope::of(&a, users_model::area_ids(conn, &a.id)?);
            Ok((a, scope))
        })
        .collect()
}
