//! What every handler can reach: settings, the database, the password hasher and the
//! templates, built once at start-up and passed explicitly.

use std::sync::Arc;

use crate::auth::password::Hasher;
use crate::auth::session_cache::SessionCache;
use crate::db::Db;
use crate::notifications::Emails;
use crate::settings::Settings;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    /// Audit entries of views that stand alone, group-committed.
    pub views: crate::audit::appender::Views,
    pub hasher: Hasher,
    pub templates: Arc<tera::Tera>,
    pub emails: Emails,
    /// Signed-in sessions recently read, for requests that change nothing.
    pub sessions: SessionCache,
    /// The proxies whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    pub proxies: crate::web::proxy::TrustedProxies,
}

pub type State = actix_web::web::Data<AppState>;
