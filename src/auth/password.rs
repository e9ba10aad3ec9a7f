//! Passwords: the policy (length, breached and common lists, context words) and argon2id
//! hashing, run off the async workers and bounded so a burst of sign-ins cannot starve the
//! rest of the service.

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use crate::error::AppError;
use crate::settings::SecuritySettings;

pub const MIN_LENGTH: usize = 15;
pub const MAX_LENGTH: usize = 256;

/// A password exactly as typed: never trimmed or case-folded, never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password given at sign-in (no policy: the stored hash decides).
    pub fn for_sign_in(raw: String) -> Self {
        Self(raw)
    }

    /// Checks a new password against the policy. `context` holds words that must not make up
    /// the password: the service, partner, area and role names and the user's own details.
    pub fn new_checked(raw: String, context: &[String]) -> Result<Self, String> {
        let len = raw.chars().count();
        if raw.is_empty() {
            return Err("Enter a password".into());
        }
        if len < MIN_LENGTH {
            return Err(format!("Password must be {MIN_LENGTH} characters or more"));
        }
        if len > MAX_LENGTH {
            return Err(format!("Password must be {MAX_LENGTH} characters or fewer"));
        }
        if is_breached(&raw) {
            return Err(
                "This password has appeared in a data breach. Choose a different password".into(),
            );
        }
        if is_built_from_context(&raw, context) {
            return Err(
                "Password must not be made from the names of this service, its partners, areas, roles or your own details"
                    .into(),
            );
        }
        let inputs: Vec<&str> = context.iter().map(String::as_str).collect();
        // zxcvbn's cost grows quickly with length; the first 100 characters decide.
        let sample: String = raw.chars().take(100).collect();
        let strength = zxcvbn::zxcvbn(&sample, &inputs);
        if (strength.score() as u8) < 3 {
            return Err("Password is too easy to guess. Try three or four random words".into());
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The shipped list of common and breached passwords (Django's list of the 20,000 most
/// common passwords from breach corpora, BSD licence), compared case-insensitively.
static BREACHED: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect()
});

pub fn is_breached(password: &str) -> bool {
    BREACHED.contains(&password.to_lowercase())
}

/// True when, once every context word and every non-letter is taken out, fewer than six
/// letters remain: "RutlandProbation2026!" is only context.
fn is_built_from_context(password: &str, context: &[String]) -> bool {
    let mut rest = password.to_lowercase();
    let mut words: Vec<String> = context
        .iter()
        .flat_map(|c| {
            c.to_lowercase()
                .split(|ch: char| !ch.is_alphanumeric())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|w| w.chars().count() >= 3)
        .collect();
    // Longest first so "leicestershire" goes before "leicester".
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    for w in &words {
        rest = rest.replace(w.as_str(), "");
    }
    rest.chars().filter(|c| c.is_alphabetic()).count() < 6
}

/// The words every password is checked against, besides the user's own details.
pub fn service_context_words() -> Vec<String> {
    [
        "mhtr",
        "pathway",
        "mhtr-pathway",
        "mental health treatment requirement",
        "probation",
        "liaison diversion",
        "council",
        "councillor",
        "password",
        "assistant psychologist",
        "clinical lead",
        "administrator",
        "admin",
        "leicester",
        "leicestershire",
        "rutland",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The hash was made with other parameters: store a fresh one.
    pub needs_rehash: bool,
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// argon2id with the configured parameters, on a small pool of dedicated threads.
///
/// A fixed pool (rather than the shared blocking pool) bounds the work in flight to the
/// number of threads, keeps each hash's 19 MiB buffer on the same few threads (so memory does
/// not grow with every thread that ever hashed), and runs at a lower scheduling priority so
/// that pages keep their latency while a burst of sign-ins queues (see BENCHMARKS.md).
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    jobs: mpsc::Sender<Job>,
    /// A hash of a random password, verified against when the account does not exist so
    /// unknown and known emails take the same time.
    dummy_hash: Arc<String>,
}

impl Hasher {
    pub fn new(s: &SecuritySettings) -> Result<Self, AppError> {
        let params = Params::new(
            s.argon2_memory_kib,
            s.argon2_iterations,
            s.argon2_parallelism,
            None,
        )
        .map_err(|e| AppError::Config(format!("invalid argon2 parameters: {e}")))?;
        let dummy = hash_blocking(&params, &crate::ids::random_token(24))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..s.max_concurrent_hashes {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    lower_thread_priority();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| {
                    AppError::Config(format!("cannot start password hashing threads: {e}"))
                })?;
        }
        Ok(Self {
            params,
            jobs: tx,
            dummy_hash: Arc::new(dummy),
        })
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(work());
            }))
            .map_err(|_| {
                AppError::Internal(anyhow::anyhow!("password hashing threads have stopped"))
            })?;
        rx.await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("password hashing job was dropped")))
    }

    pub async fn hash(&self, password: &Password) -> Result<String, AppError> {
        let params = self.params.clone();
        let pw = password.clone();
        self.on_pool(move || hash_blocking(&params, pw.expose()))
            .await?
    }

    /// Checks `password` against `hash`; with no hash (unknown account, or no password set
    /// yet) it does the same work and answers not ok.
    pub async fn verify(
        &self,
        password: &Password,
        hash: Option<String>,
    ) -> Result<Verified, AppError> {
        let params = self.params.clone();
        let pw = password.clone();
        let real = hash.is_some();
        let stored = hash.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        self.on_pool(move || {
            let v = verify_blocking(&params, pw.expose(), &stored);
            Verified {
                ok: v.ok && real,
                needs_rehash: v.needs_rehash && real,
            }
        })
        .await
    }

    /// Synchronous hashing for the command line.
    pub fn hash_now(&self, password: &Password) -> Result<String, AppError> {
        hash_blocking(&self.params, password.expose())
    }
}

/// Hashing threads yield to request threads (Linux applies `nice` per thread).
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only changes the scheduling priority of the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password hashing failed: {e}")))
}

fn verify_blocking(params: &Params, password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified {
            ok: false,
            needs_rehash: false,
        };
    };
    let ok = argon(params)
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed).map(|p| {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        }) == Ok(true);
    Verified {
        ok,
        needs_rehash: ok && !current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Vec<String> {
        let mut c = service_context_words();
        c.push("Priya Shah".into());
        c
    }

    #[test]
    fn a_fifteen_character_passphrase_is_accepted() {
        assert!(Password::new_checked("ferret lamp okra".into(), &ctx()).is_ok());
    }

    #[test]
    fn short_passwords_are_refused_with_the_length_rule() {
        let err = Password::new_checked("Xk9!rT2#mQ".into(), &ctx()).unwrap_err();
        assert!(err.contains("15 characters"));
    }

    #[test]
    fn very_long_passwords_are_refused_past_256_characters() {
        assert!(Password::new_checked("correct horse ".repeat(19), &ctx()).is_err());
        let words =
            "quartz lemon fjord piano cobalt walrus tundra mango velvet oregano basalt kettle";
        let long: String = format!("{words} {words} {words} {words}")
            .chars()
            .take(256)
            .collect();
        assert_eq!(long.chars().count(), 256);
        assert!(Password::new_checked(long, &ctx()).is_ok());
    }

    #[test]
    fn a_password_on_the_breached_list_is_refused() {
        let err = Password::new_checked("1q2w3e4r5t6y7u8i9o0p".into(), &ctx()).unwrap_err();
        assert!(err.contains("data breach"), "{err}");
    }

    #[test]
    fn passwords_built_from_context_words_are_refused() {
        let err = Password::new_checked("RutlandProbation2026!".into(), &ctx()).unwrap_err();
        assert!(err.contains("names of this service"), "{err}");
        assert!(Password::new_checked("priyashah-mhtr-2026".into(), &ctx()).is_err());
    }

    #[test]
    fn leading_and_trailing_spaces_are_kept() {
        let p = Password::new_checked("  ferret lamp okra  ".into(), &ctx()).unwrap();
        assert_eq!(p.expose(), "  ferret lamp okra  ");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let p = Password::for_sign_in("ferret lamp okra".into());
        assert_eq!(format!("{p:?}"), "Password(***)");
    }

    #[test]
    fn hashes_verify_and_flag_old_parameters_for_rehash() {
        let weak = Params::new(1024, 1, 1, None).unwrap();
        let strong = Params::new(2048, 1, 1, None).unwrap();
        let h = hash_blocking(&weak, "ferret lamp okra").unwrap();
        assert_eq!(
            verify_blocking(&weak, "ferret lamp okra", &h),
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert_eq!(
            verify_blocking(&strong, "ferret lamp okra", &h),
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
        assert!(!verify_blocking(&weak, "ferret lamp okra ", &h).ok);
    }
}
