//! The service's log: human-readable lines by default, or one JSON object a line
//! (`APP_LOG__FORMAT=json`) for a log collector. A JSON line holds the time (UTC), level,
//! target and message, and any fields the line carries — the request log's request id,
//! method, route pattern, status and duration. Nothing logged names a person: requests are
//! logged by their route pattern, never their path or query string.
//!
//! The format is read from the environment, not the settings file, because the log starts
//! before the settings are read, so that a settings error is logged the same way.

use std::io::Write;

use log::kv::{Key, Value, VisitSource};

/// The environment variable choosing the format: `json`, or `text` (the default).
pub const FORMAT_VARIABLE: &str = "APP_LOG__FORMAT";

/// The format named by `raw` (from [`FORMAT_VARIABLE`]); `None` for anything unknown.
pub fn json_wanted(raw: Option<&str>) -> Option<bool> {
    match raw.map(str::trim) {
        None | Some("") | Some("text") => Some(false),
        Some("json") => Some(true),
        Some(_) => None,
    }
}

/// Starts the log: `RUST_LOG` filters it (info by default), [`FORMAT_VARIABLE`] chooses
/// the format. An unknown format is refused, so a typo does not silently change what a
/// collector receives.
pub fn init() -> Result<(), String> {
    let raw = std::env::var(FORMAT_VARIABLE).ok();
    let json = json_wanted(raw.as_deref()).ok_or_else(|| {
        format!(
            "{FORMAT_VARIABLE} must be \"text\" or \"json\", not {:?}",
            raw.unwrap_or_default()
        )
    })?;
    let mut builder = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,actix_server=warn"),
    );
    if json {
        builder.format(|buf, record| writeln!(buf, "{}", json_line(record)));
    }
    builder.init();
    Ok(())
}

/// One record as a JSON object on one line.
pub fn json_line(record: &log::Record<'_>) -> String {
    let mut line = serde_json::Map::new();
    line.insert(
        "time".into(),
        chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
            .into(),
    );
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    line.insert("message".into(), record.args().to_string().into());
    let mut fields = Fields(&mut line);
    // A field that cannot be read is left out rather than losing the line.
    let _ = record.key_values().visit(&mut fields);
    serde_json::Value::Object(line).to_string()
}

struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let v = if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(n) = value.to_i64() {
            n.into()
        } else if let Some(b) = value.to_bool() {
            b.into()
        } else if let Some(f) = value.to_f64() {
            serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
        } else {
            value.to_string().into()
        };
        // The record's own keys stay: a field cannot overwrite the time or level.
        self.0.entry(key.as_str().to_owned()).or_insert(v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_text_or_json_and_nothing_else() {
        assert_eq!(json_wanted(None), Some(false));
        assert_eq!(json_wanted(Some("text")), Some(false));
        assert_eq!(json_wanted(Some(" json ")), Some(true));
        assert_eq!(json_wanted(Some("JSON5")), None);
    }

    #[test]
    fn a_json_line_carries_the_fields_as_fields() {
        let kvs: &[(&str, Value<'_>)] = &[
            ("request_id", Value::from("abc123")),
            ("status", Value::from(503u16)),
            ("duration_ms", Value::from(1.5f64)),
            ("level", Value::from("forged")),
        ];
        let line = json_line(
            &log::Record::builder()
                .args(format_args!("GET /referrals/{{id}} 503"))
                .level(log::Level::Info)
                .target("mhtr_pathway::access")
                .key_values(&kvs)
                .build(),
        );
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "mhtr_pathway::access");
        assert_eq!(v["message"], "GET /referrals/{id} 503");
        assert_eq!(v["request_id"], "abc123");
        assert_eq!(v["status"], 503);
        assert_eq!(v["duration_ms"], 1.5);
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }
}
