//! A GOV.UK Notify API key and the JSON Web Token made from it for each request, as Notify
//! documents: HS256 with the key's secret, the service id as issuer, `iat` the time of the
//! request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

/// An API key as Notify shows it: `{key name}-{service id}-{secret}`, both ids UUIDs.
#[derive(Clone)]
pub struct ApiKey {
    pub service_id: String,
    secret: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("service_id", &self.service_id)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    pub fn parse(key: &str) -> Result<Self, String> {
        let key = key.trim();
        let bad = || {
            "it must be the key exactly as Notify shows it: name, service id and secret key joined by dashes".to_owned()
        };
        if key.len() < 73 || !key.is_ascii() {
            return Err(bad());
        }
        let secret = &key[key.len() - 36..];
        let service_id = &key[key.len() - 73..key.len() - 37];
        if &key[key.len() - 37..key.len() - 36] != "-"
            || uuid::Uuid::parse_str(secret).is_err()
            || uuid::Uuid::parse_str(service_id).is_err()
        {
            return Err(bad());
        }
        Ok(Self {
            service_id: service_id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The bearer token for a request made at `iat` (seconds since 1970).
    pub fn token(&self, iat: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            json!({ "iss": self.service_id, "iat": iat })
                .to_string()
                .as_bytes(),
        );
        let signing_input = format!("{header}.{claims}");
        let signature =
            URL_SAFE_NO_PAD.encode(sign(self.secret.as_bytes(), signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn sign(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const KEY: &str =
        "reminders-test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn the_key_splits_into_service_id_and_secret() {
        let k = ApiKey::parse(KEY).unwrap();
        assert_eq!(k.service_id, "26785a09-ab16-4eb0-8407-a37497a57506");
        assert_eq!(k.secret, "3d844edf-8d35-48ac-975b-e847b4f122b0");
        assert!(ApiKey::parse("not-a-key").is_err());
        assert!(ApiKey::parse(&KEY.replace("-3d844edf", "_3d844edf")).is_err());
        assert!(
            !format!("{k:?}").contains("3d844edf"),
            "the secret is not printed"
        );
    }

    #[test]
    fn the_token_is_an_hs256_jwt_with_the_service_as_issuer() {
        let k = ApiKey::parse(KEY).unwrap();
        let t = k.token(1_700_000_000);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"typ": "JWT", "alg": "HS256"}));
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims, json!({"iss": k.service_id, "iat": 1_700_000_000}));
        // Checked against an independent HMAC-SHA256 (RFC 4231 test case 2).
        assert_eq!(
            hex::encode(sign(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let expected = URL_SAFE_NO_PAD.encode(sign(
            k.secret.as_bytes(),
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
        ));
        assert_eq!(parts[2], expected);
    }
}
