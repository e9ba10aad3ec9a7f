//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps) and recovery
//! codes. A code is accepted for the previous, current or next step, and only for a step
//! later than the last one used, so no code works twice.

use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::AppError;

pub const ISSUER: &str = "MHTR Pathway";
const STEP_SECS: u64 = 30;

/// A new random 160-bit secret, base32 encoded as authenticator apps expect.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret_b32: &str) -> Result<TOTP, AppError> {
    let bytes = Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "stored authenticator secret is not base32: {e:?}"
            ))
        })?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECS, bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("authenticator secret refused: {e}")))
}

pub fn current_step(unix_secs: u64) -> i64 {
    (unix_secs / STEP_SECS) as i64
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The code for a time (for tests and the command-line helper).
pub fn code_at(secret_b32: &str, unix_secs: u64) -> Result<String, AppError> {
    Ok(totp(secret_b32)?.generate(unix_secs))
}

pub fn code_now(secret_b32: &str) -> Result<String, AppError> {
    code_at(secret_b32, unix_now())
}

/// Returns the step the code belongs to when it is valid now and newer than `last_step`.
pub fn verify(
    secret_b32: &str,
    code: &str,
    last_step: Option<i64>,
) -> Result<Option<i64>, AppError> {
    verify_at(secret_b32, code, last_step, unix_now())
}

pub fn verify_at(
    secret_b32: &str,
    code: &str,
    last_step: Option<i64>,
    unix_secs: u64,
) -> Result<Option<i64>, AppError> {
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret_b32)?;
    let now_step = current_step(unix_secs);
    for step in [now_step - 1, now_step, now_step + 1] {
        if step < 0 || last_step.is_some_and(|last| step <= last) {
            continue;
        }
        let expected = t.generate(step as u64 * STEP_SECS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(secret_b32: &str, account: &str) -> String {
    let label = format!("{}:{}", pct(ISSUER), pct(account));
    format!(
        "otpauth://totp/{label}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits=6&period=30",
        pct(ISSUER)
    )
}

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The QR code of `uri` as an SVG element drawn on the server.
pub fn qr_svg(uri: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code could not be drawn: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Drop the XML declaration so the SVG can sit inside the page.
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" focusable=\"false\"",
        1,
    ))
}

/// The secret grouped in fours, easier to type.
pub fn grouped(secret_b32: &str) -> String {
    secret_b32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Ten new recovery codes (about 98 bits each) as shown to the user once.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            let chars: Vec<char> = (0..20)
                .map(|_| {
                    RECOVERY_ALPHABET[(rng.next_u32() as usize) % RECOVERY_ALPHABET.len()] as char
                })
                .collect();
            chars
                .chunks(5)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// How a recovery code is stored: normalised (no dashes or spaces, lower case), then
/// SHA-256. The codes are random and long enough that a fast hash does not weaken them.
pub fn recovery_code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    crate::ids::sha256_hex(&normal)
}

/// A non-secret fingerprint of a secret, for audit details.
pub fn fingerprint(secret_b32: &str) -> String {
    let h = crate::ids::sha256_hex(secret_b32);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h.as_bytes()[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_verifies_once_per_step() {
        let s = new_secret();
        let t = 1_800_000_000u64;
        let code = code_at(&s, t).unwrap();
        let step = verify_at(&s, &code, None, t)
            .unwrap()
            .expect("fresh code accepted");
        assert_eq!(step, current_step(t));
        assert_eq!(
            verify_at(&s, &code, Some(step), t).unwrap(),
            None,
            "replay refused"
        );
    }

    #[test]
    fn codes_from_the_neighbouring_steps_are_accepted_but_not_older() {
        let s = new_secret();
        let t = 1_800_000_000u64;
        assert!(
            verify_at(&s, &code_at(&s, t - 30).unwrap(), None, t)
                .unwrap()
                .is_some()
        );
        assert!(
            verify_at(&s, &code_at(&s, t + 30).unwrap(), None, t)
                .unwrap()
                .is_some()
        );
        assert!(
            verify_at(&s, &code_at(&s, t - 90).unwrap(), None, t)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn malformed_codes_are_refused_without_error() {
        let s = new_secret();
        for bad in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
            assert_eq!(verify_at(&s, bad, None, 1_800_000_000).unwrap(), None);
        }
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_hash_the_same_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), 10);
        let c = &codes[0];
        assert_eq!(
            recovery_code_hash(c),
            recovery_code_hash(&c.to_uppercase().replace('-', " "))
        );
    }

    #[test]
    fn the_qr_code_is_an_svg_element() {
        let svg = qr_svg(&otpauth_uri(&new_secret(), "a@b.example")).unwrap();
        assert!(svg.starts_with("<svg role=\"img\""));
        assert!(!svg.contains("<?xml"));
    }

    #[test]
    fn the_uri_names_issuer_and_account() {
        let uri = otpauth_uri("JBSWY3DPEHPK3PXP", "ann.lee@probation.example");
        assert!(uri.starts_with(
            "otpauth://totp/MHTR%20Pathway:ann.lee@probation.example?secret=JBSWY3DPEHPK3PXP"
        ));
    }
}
