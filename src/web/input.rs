//! The one input boundary for text: no request reaches a handler with a control character
//! (a NUL byte, an escape, a form feed…) in its path, query string, form or JSON body.
//! PostgreSQL cannot store a NUL in text at all and SQLite would store it silently, so such
//! input is refused here, the same way on both backends, with the fields named. Tab, line
//! feed and carriage return are ordinary text.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::error::{ApiError, AppError, FieldErrors};

/// The largest body checked; larger ones are refused by the extractors' own limits.
const BODY_LIMIT: usize = 256 * 1024;

const FIELD_MESSAGE: &str =
    "Remove the control character (such as a null byte) from this answer: it cannot be stored";

/// Whether `c` is a control character other than tab, line feed and carriage return.
pub fn is_forbidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{2028}' | '\u{2029}')
}

pub fn has_forbidden(s: &str) -> bool {
    s.chars().any(is_forbidden)
}

/// The fields of a form or query string holding a forbidden character.
fn urlencoded_fields(bytes: &[u8], errors: &mut FieldErrors) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).unwrap_or_default();
    for (name, value) in pairs {
        if has_forbidden(&value) || has_forbidden(&name) {
            errors.add(&clean_name(&name), FIELD_MESSAGE);
        }
    }
}

/// The fields of a JSON body holding a forbidden character, named by their own key (the
/// key of the list they are in, for list items).
fn json_fields(value: &serde_json::Value, field: &str, errors: &mut FieldErrors) {
    match value {
        serde_json::Value::String(s) if has_forbidden(s) => errors.add(field, FIELD_MESSAGE),
        serde_json::Value::Array(items) => {
            for item in items {
                json_fields(item, field, errors);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if has_forbidden(k) {
                    errors.add(&clean_name(k), FIELD_MESSAGE);
                }
                json_fields(v, k, errors);
            }
        }
        _ => {}
    }
}

/// A field name fit to show back: its forbidden characters dropped.
fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|c| !is_forbidden(*c))
        .take(100)
        .collect()
}

fn refusal(path: &str, errors: FieldErrors) -> actix_web::HttpResponse {
    if path.starts_with("/api/") {
        ApiError(AppError::Validation(errors)).error_response()
    } else {
        let names: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        AppError::BadRequest(format!(
            "What you sent holds a control character (such as a null byte), which cannot be stored, in: {}. Go back, remove it and try again.",
            names.join(", ")
        ))
        .error_response()
    }
}

pub async fn reject_control_characters(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // A path naming something with a control character names nothing.
    let path = percent_decoded(req.path());
    if has_forbidden(&path) {
        let (r, _) = req.into_parts();
        let res = AppError::NotFound.error_response();
        return Ok(ServiceResponse::new(r, res).map_into_right_body());
    }
    let mut errors = FieldErrors::new();
    urlencoded_fields(req.query_string().as_bytes(), &mut errors);

    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let is_form = kind.as_deref() == Some("application/x-www-form-urlencoded");
    let is_json = kind
        .as_deref()
        .is_some_and(|k| k == "application/json" || k.ends_with("+json"));
    if is_form || is_json {
        let body = req
            .extract::<web::Bytes>()
            .await
            .unwrap_or_else(|_| web::Bytes::new());
        if body.len() <= BODY_LIMIT {
            if is_form {
                urlencoded_fields(&body, &mut errors);
            } else if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) {
                json_fields(&value, "", &mut errors);
            }
        }
        req.set_payload(crate::auth::guard::bytes_payload(body));
    }
    if !errors.is_empty() {
        let path = req.path().to_owned();
        let (r, _) = req.into_parts();
        return Ok(ServiceResponse::new(r, refusal(&path, errors)).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// A path with its `%XX` escapes decoded (invalid UTF-8 replaced).
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_but_tab_and_newlines_are_forbidden() {
        assert!(has_forbidden("a\0b"));
        assert!(has_forbidden("\u{1b}[31m"));
        assert!(has_forbidden("\u{0c}"));
        assert!(has_forbidden("\u{7f}"));
        assert!(has_forbidden("\u{85}"));
        assert!(!has_forbidden("line one\r\nline two\tend"));
        assert!(!has_forbidden("Zoë Ó Súilleabháin – 😀"));
    }

    #[test]
    fn the_fields_holding_them_are_named() {
        let mut e = FieldErrors::new();
        urlencoded_fields(b"email=a%00b%40x.org&password=fine&notes=ok%0A", &mut e);
        assert_eq!(e.iter().map(|(f, _)| f).collect::<Vec<_>>(), vec!["email"]);
        let mut e = FieldErrors::new();
        json_fields(
            &serde_json::json!({"changes": {"family_name": "x\u{0}"}, "reason": "ok", "needs": ["a", "\u{1}"]}),
            "",
            &mut e,
        );
        let mut names: Vec<&str> = e.iter().map(|(f, _)| f).collect();
        names.sort_unstable();
        assert_eq!(names, vec!["family_name", "needs"]);
        assert_eq!(percent_decoded("/referrals/a%00b%2Fc"), "/referrals/a\0b/c");
    }
}
