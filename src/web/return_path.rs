//! Where the reason page sends a clinical lead back to: a page of a referral or of a record
//! of one, on this service, and the reason page's own address with it. The page kernel's
//! error handler sends a request that needs a reason here; the reason page reads it back.
//! Also the page someone asked for before signing in, and the cookie that remembers it.

use actix_web::cookie::{Cookie, SameSite};

/// The page a clinical lead was going to when they were asked why they need a referral:
/// the reason page sends them on to it once they have said. Only a page of a referral or
/// of a record of one, on this service, so the reason page cannot be made to send anyone
/// anywhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath(String);

const RETURN_PATH_PREFIXES: &[&str] = &[
    "/referrals/",
    "/sessions/",
    "/risk-alerts/",
    "/enforcement-reviews/",
    "/linked-requirements/",
    "/signposting/",
];

impl ReturnPath {
    pub fn parse(raw: &str) -> Option<Self> {
        let fits = raw.len() <= 300
            && RETURN_PATH_PREFIXES.iter().any(|p| raw.starts_with(p))
            && !raw.contains("//")
            && !raw.contains("..")
            && !raw.contains("/reason")
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-_.?=&%#".contains(c));
        fits.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The page someone asked for before they were signed in (a link in an email, a bookmark,
/// a page open when the session timed out): signing in goes on to it. Only a page of this
/// service, by its path; never the sign-in pages themselves, the API or assets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterSignIn(String);

const NOT_AFTER_SIGN_IN: &[&str] = &["/sign-in", "/sign-out", "/signed-out", "/api/", "/assets/"];

impl AfterSignIn {
    /// How long the page is remembered while the person signs in.
    pub const MINUTES: i64 = 15;

    pub fn parse(raw: &str) -> Option<Self> {
        let fits = raw.len() <= 300
            && raw.starts_with('/')
            && raw != "/"
            && !raw.starts_with("//")
            && !raw.contains("..")
            && !NOT_AFTER_SIGN_IN.iter().any(|p| raw.starts_with(p))
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-_.?=&%".contains(c));
        fits.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cookie that remembers this page while the person signs in.
    pub fn cookie(&self, settings: &crate::settings::Settings) -> Cookie<'static> {
        after_sign_in_cookie(settings, self.0.clone(), Self::MINUTES)
    }

    /// The cookie that forgets it, once signing in has gone on to it.
    pub fn forget(settings: &crate::settings::Settings) -> Cookie<'static> {
        after_sign_in_cookie(settings, String::new(), 0)
    }
}

fn after_sign_in_cookie(
    settings: &crate::settings::Settings,
    value: String,
    minutes: i64,
) -> Cookie<'static> {
    Cookie::build(settings.after_sign_in_cookie_name(), value)
        .path("/")
        .http_only(true)
        .secure(settings.security.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(minutes))
        .finish()
}

/// Where a page asked for without the reason its referral needs sends the person: the
/// referral's reason page, which brings them back to `going_to` once they have given it
/// (if that is a page of a referral or of a record of one; else to the referral).
pub fn reason_page_for(referral_id: &str, going_to: &str) -> String {
    let reason_page = format!("/referrals/{referral_id}/reason");
    match ReturnPath::parse(going_to) {
        Some(next) if next.as_str() != format!("/referrals/{referral_id}") => {
            match serde_urlencoded::to_string([("next", next.as_str())]) {
                Ok(query) => format!("{reason_page}?{query}"),
                Err(_) => reason_page,
            }
        }
        _ => reason_page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_page_of_this_service_is_gone_on_to_after_sign_in() {
        for ok in [
            "/referrals/abc",
            "/referrals?tab=ended&page=2",
            "/sessions/x/attendance",
        ] {
            assert_eq!(AfterSignIn::parse(ok).map(|p| p.0), Some(ok.to_owned()));
        }
        for bad in [
            "",
            "/",
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "/sign-in/code",
            "/signed-out?reason=timeout",
            "/api/v1/referrals",
            "/referrals/../admin",
            "/referrals/a b",
            "referrals/abc",
        ] {
            assert_eq!(AfterSignIn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_return_path_stays_on_the_pages_of_a_referral() {
        for good in [
            "/referrals/0b6c/actions/accept",
            "/sessions/9f1e-22/measures/phq9",
            "/linked-requirements/a1/status",
            "/referrals/0b6c?timeline=drr",
        ] {
            assert_eq!(ReturnPath::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "https://example.com/referrals/1",
            "//example.com/referrals/1",
            "/referrals//example.com",
            "/referrals/../admin/users",
            "/admin/users",
            "/referrals/1/reason",
            "/referrals/1\\evil",
            "/referrals/1 x",
            "/referrals/1\r\nSet-Cookie: a=b",
        ] {
            assert_eq!(ReturnPath::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            ReturnPath::parse(&format!("/referrals/{}", "a".repeat(300))),
            None
        );
    }
}
