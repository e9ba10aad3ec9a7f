//! The close rule of onward support, below the signposting use cases so the referral service
//! can ask it when a referral is closed without depending on them.

use crate::db::DbConn;
use crate::error::AppError;
use crate::signposting::model;

/// The close rule: every signposting has a final status (a referral made still awaits its
/// answer), and there is at least one signposting or a record that no onward support is
/// needed. Refuses naming what is unsettled.
pub fn settled(c: &mut DbConn, referral_id: &str) -> Result<(), AppError> {
    let all = model::signpostings_of(c, referral_id)?;
    let mut open = Vec::new();
    for s in all.iter().filter(|s| !s.status.is_final()) {
        let service = model::service(c, &s.service_id)?;
        open.push(format!(
            "{} ({})",
            service.name,
            s.status.label().to_lowercase()
        ));
    }
    if !open.is_empty() {
        return Err(AppError::Conflict(format!(
            "The referral cannot be closed until onward support is settled: record whether {} accepted or declined the person, or that it is not needed",
            open.join(", ")
        )));
    }
    if all.is_empty() && model::no_onward_support_of(c, referral_id)?.is_none() {
        return Err(AppError::Conflict(
            "The referral cannot be closed until onward support is settled: signpost the person to a service, or record that no onward support is needed and why".into(),
        ));
    }
    Ok(())
}
