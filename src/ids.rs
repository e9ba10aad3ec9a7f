//! Identifiers are generated in the application, never by the database, so both backends
//! behave alike. UUIDv7 keeps them roughly in creation order. Also the service's own name,
//! as every page and email shows it.

/// The service's name on every page and in every email.
pub const SERVICE_NAME: &str = "MHTR Pathway";

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A random secret of `n` bytes, URL-safe base64 without padding (session cookies, API
/// tokens, invitation links).
pub fn random_token(n: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    // ThreadRng is a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 in hex: how secrets that must be looked up (tokens) are stored.
pub fn sha256_hex(input: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(input.as_bytes()))
}
