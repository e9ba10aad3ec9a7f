//! Claiming the next due row of an outbox table (the staff email outbox, the person's
//! reminders) under a lease, so that several workers, on one server or many, share the work
//! and none sends a message another holds.

/// Defines `fn $name(conn, owner, due_by, lease) -> Result<Option<String>, AppError>`, which
/// takes the next row of table `$t` due by `due_by` (column `$due`): queued, or left in
/// `sending` by a worker whose lease has run out (it crashed or hung mid-send). The update is
/// conditional on the row still being claimable, so two workers racing for one row cannot
/// both win. Counts the attempt and returns the row's id. `$status` is the table's status
/// type, with `Queued` and `Sending`.
///
/// A pass passes its start time as `due_by`, so a row that fails during the pass (and is due
/// again at once when there is no backoff) waits for the next pass.
macro_rules! lease_claim {
    ($vis:vis fn $name:ident on $t:ident by $due:ident, $status:ident) => {
        $vis fn $name(
            conn: &mut $crate::db::DbConn,
            owner: &str,
            due_by: chrono::NaiveDateTime,
            lease: chrono::Duration,
        ) -> Result<Option<String>, $crate::error::AppError> {
            use diesel::prelude::*;
            let claimable = |now: chrono::NaiveDateTime| {
                $t::status
                    .eq($status::Queued)
                    .or($t::status
                        .eq($status::Sending)
                        .and($t::lease_expires_at.lt(now)))
                    .and($t::$due.le(due_by))
            };
            loop {
                let now = $crate::clock::now();
                let candidate: Option<String> = $t::table
                    .filter(claimable(now))
                    .select($t::id)
                    .order($t::$due.asc())
                    .first(conn)
                    .optional()?;
                let Some(id) = candidate else {
                    return Ok(None);
                };
                let claimed = diesel::update(
                    $t::table.filter($t::id.eq(&id)).filter(claimable(now)),
                )
                .set((
                    $t::status.eq($status::Sending),
                    $t::lease_owner.eq(Some(owner)),
                    $t::lease_expires_at.eq(Some(now + lease)),
                    $t::attempts.eq($t::attempts + 1),
                ))
                .execute(conn)?;
                if claimed == 1 {
                    return Ok(Some(id));
                }
                // Another worker took it between the read and the update: look again.
            }
        }
    };
}
pub(crate) use lease_claim;
