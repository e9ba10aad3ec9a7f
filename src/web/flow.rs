//! The flow every page form shares: the parsed input (or its errors) is written in one
//! transaction; then either the user is told what was done and sent on (post, redirect,
//! get), or the form is shown again with the GOV.UK error summary and the input kept.
//! A validation error raised by the write (a rule the service checks against stored
//! records) is shown the same way as one found by parsing.

use actix_web::HttpResponse;

use crate::auth::guard::CurrentUser;
use crate::auth::session::Flash;
use crate::db::DbConn;
use crate::error::{AppError, FieldErrors};
use crate::state::State;

/// Where a successful submission sends the user, and what it tells them there.
pub struct Then {
    flash: Flash,
    to: String,
}

impl Then {
    /// Go to `to` and say `text` in a success banner.
    pub fn success(text: impl Into<String>, to: impl Into<String>) -> Self {
        Self::with(Flash::success(text), to)
    }

    /// Go to `to` with the given banner.
    pub fn with(flash: Flash, to: impl Into<String>) -> Self {
        Self {
            flash,
            to: to.into(),
        }
    }
}

/// Writes parsed input with `write` in one write transaction. Parse errors skip the
/// write; a validation error from the write comes back beside them as `Ok(Err(_))`, for
/// the form to be shown again; any other error is the caller's to raise.
pub async fn submit<P, T, W>(
    state: &State,
    parsed: Result<P, FieldErrors>,
    write: W,
) -> Result<Result<T, FieldErrors>, AppError>
where
    P: Send + 'static,
    T: Send + 'static,
    W: FnOnce(&mut DbConn, P) -> Result<T, AppError> + Send + 'static,
{
    let input = match parsed {
        Ok(input) => input,
        Err(errors) => return Ok(Err(errors)),
    };
    split(state.db.write(move |c| write(c, input)).await)
}

/// Separates the validation errors of a result, which the form shows, from the errors the
/// caller raises.
pub fn split<T>(result: Result<T, AppError>) -> Result<Result<T, FieldErrors>, AppError> {
    match result {
        Ok(done) => Ok(Ok(done)),
        Err(AppError::Validation(errors)) => Ok(Err(errors)),
        Err(e) => Err(e),
    }
}

/// The whole flow of a page form: [`submit`], then on success the banner and redirect
/// that `then` makes of what was written, or else the page `again` draws with the
/// errors (it keeps the input it borrowed).
pub async fn post<P, T, W>(
    state: &State,
    user: &CurrentUser,
    parsed: Result<P, FieldErrors>,
    write: W,
    then: impl FnOnce(T) -> Then,
    again: impl AsyncFnOnce(FieldErrors) -> Result<HttpResponse, AppError>,
) -> Result<HttpResponse, AppError>
where
    P: Send + 'static,
    T: Send + 'static,
    W: FnOnce(&mut DbConn, P) -> Result<T, AppError> + Send + 'static,
{
    match submit(state, parsed, write).await? {
        Ok(done) => {
            let Then { flash, to } = then(done);
            super::flash_and_redirect(state, user, flash, &to).await
        }
        Err(errors) => again(errors).await,
    }
}

/// [`post`] for a form whose service parses the raw input itself: the write's own
/// validation errors are the form's errors.
pub async fn post_raw<T, W>(
    state: &State,
    user: &CurrentUser,
    write: W,
    then: impl FnOnce(T) -> Then,
    again: impl AsyncFnOnce(FieldErrors) -> Result<HttpResponse, AppError>,
) -> Result<HttpResponse, AppError>
where
    T: Send + 'static,
    W: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
{
    post(state, user, Ok(()), move |c, ()| write(c), then, again).await
}
