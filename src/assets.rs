//! Front-end assets embedded into the binary: the compiled GOV.UK Frontend /
//! MoJ Frontend stylesheet, our ES module, the GOV.UK and MoJ Frontend
//! JavaScript bundles, icons and images. `build.rs` produces them; this module
//! owns looking them up and serving them at `GET /assets/{path:.*}`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

/// One embedded file, served at `/assets/{path}`.
#[derive(Debug)]
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The asset at `path` (relative to `/assets/`), if there is one.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|asset| asset.path.cmp(path))
        .ok()
        .map(|i| &ASSETS[i])
}

/// Handler for `GET /assets/{path:.*}`.
///
/// A request carrying `?v=ASSETS_VERSION` may be cached for a year, since the
/// version changes whenever any asset does; without it, for an hour.
pub async fn serve(path: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let Some(asset) = find(&path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Not found");
    };

    let etag = format!("\"{ASSETS_VERSION}\"");
    let versioned = req
        .query_string()
        .split('&')
        .any(|pair| pair.strip_prefix("v=") == Some(ASSETS_VERSION));
    let cache_control = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };

    let not_modified = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(etag.as_str()));

    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::ETAG, etag))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    if not_modified {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;

    #[test]
    fn assets_are_sorted_and_unique() {
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
        assert_eq!(ASSETS_VERSION.len(), 8);
    }

    #[test]
    fn finds_existing_and_missing_assets() {
        let css = find("application.css").expect("application.css is embedded");
        assert_eq!(css.content_type, "text/css; charset=utf-8");
        for path in [
            "application.mjs",
            "govuk/govuk-frontend.min.js",
            "moj/moj-frontend.min.js",
            "manifest.json",
            "images/favicon.ico",
            "images/favicon.svg",
            "images/govuk-icon-mask.svg",
            "images/govuk-icon-180.png",
        ] {
            assert!(
                find(path).is_some_and(|a| !a.body.is_empty()),
                "{path} is missing"
            );
        }
        assert_eq!(
            find("application.mjs").unwrap().content_type,
            "text/javascript; charset=utf-8"
        );
        assert!(find("nope.css").is_none());
        assert!(find("").is_none());
        assert!(find("../Cargo.toml").is_none());
    }

    #[test]
    fn css_is_present_and_uses_no_gds_transport() {
        let css = std::str::from_utf8(find("application.css").unwrap().body).unwrap();
        assert!(css.len() > 10_000, "application.css looks too small");
        assert!(css.contains(".govuk-button"));
        assert!(css.contains(".moj-timeline"));
        assert!(css.contains(".app-timeout-dialog"));
        assert!(!css.contains("GDS Transport"));
        assert!(!css.contains("@font-face"));
    }

    #[test]
    fn every_css_url_resolves_to_an_embedded_asset() {
        let css = std::str::from_utf8(find("application.css").unwrap().body).unwrap();
        let mut count = 0;
        for piece in css.split("url(").skip(1) {
            let url = piece[..piece.find(')').unwrap()]
                .trim()
                .trim_matches(['"', '\'']);
            if url.starts_with("data:") || url.starts_with('#') {
                continue;
            }
            let path = url
                .strip_prefix("/assets/")
                .unwrap_or_else(|| panic!("{url} is outside /assets/"));
            assert!(find(path).is_some(), "{url} is not embedded");
            count += 1;
        }
        assert!(count > 0, "expected some url() references");
    }

    #[test]
    fn manifest_icons_are_embedded() {
        let manifest = std::str::from_utf8(find("manifest.json").unwrap().body).unwrap();
        for piece in manifest.split("\"src\"").skip(1) {
            let src = piece.split('"').nth(1).unwrap();
            assert!(
                find(src).is_some(),
                "manifest.json icon {src} is not embedded"
            );
        }
    }

    #[test]
    fn javascript_imports_resolve() {
        let js = std::str::from_utf8(find("application.mjs").unwrap().body).unwrap();
        for piece in js.split(" from './").skip(1) {
            let target = &piece[..piece.find('\'').unwrap()];
            assert!(
                find(target).is_some(),
                "application.mjs imports missing ./{target}"
            );
        }
        // Both bundles must be ES modules exporting initAll.
        for bundle in ["govuk/govuk-frontend.min.js", "moj/moj-frontend.min.js"] {
            let body = std::str::from_utf8(find(bundle).unwrap().body).unwrap();
            assert!(
                body.contains("export{") && body.contains("initAll"),
                "{bundle} is not an ES module"
            );
            assert!(
                !body.contains("sourceMappingURL"),
                "{bundle} points at a missing source map"
            );
        }
    }

    async fn get(uri: &str, path: &str, if_none_match: Option<&str>) -> HttpResponse {
        let mut req = TestRequest::get().uri(uri);
        if let Some(tag) = if_none_match {
            req = req.insert_header((header::IF_NONE_MATCH, tag));
        }
        serve(web::Path::from(path.to_owned()), req.to_http_request()).await
    }

    fn header_of(res: &HttpResponse, name: header::HeaderName) -> &str {
        res.headers().get(name).unwrap().to_str().unwrap()
    }

    #[actix_web::test]
    async fn serves_assets_with_caching_headers() {
        let res = get("/assets/application.css", "application.css", None).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            header_of(&res, header::CONTENT_TYPE),
            "text/css; charset=utf-8"
        );
        assert_eq!(
            header_of(&res, header::CACHE_CONTROL),
            "public, max-age=3600"
        );
        assert_eq!(
            header_of(&res, header::ETAG),
            format!("\"{ASSETS_VERSION}\"")
        );
        assert_eq!(header_of(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        let body = to_bytes(res.into_body()).await.unwrap();
        assert_eq!(&body[..], find("application.css").unwrap().body);

        let uri = format!("/assets/application.css?v={ASSETS_VERSION}");
        let res = get(&uri, "application.css", None).await;
        assert_eq!(
            header_of(&res, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );

        let res = get("/assets/application.css?v=stale", "application.css", None).await;
        assert_eq!(
            header_of(&res, header::CACHE_CONTROL),
            "public, max-age=3600"
        );
    }

    #[actix_web::test]
    async fn answers_304_for_a_matching_etag() {
        let etag = format!("\"{ASSETS_VERSION}\"");
        let res = get("/assets/application.mjs", "application.mjs", Some(&etag)).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&res, header::ETAG), etag);
        assert!(to_bytes(res.into_body()).await.unwrap().is_empty());

        let res = get(
            "/assets/application.mjs",
            "application.mjs",
            Some("\"other\""),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    #[actix_web::test]
    async fn answers_404_for_unknown_paths() {
        let res = get("/assets/missing.js", "missing.js", None).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            header_of(&res, header::CONTENT_TYPE),
            "text/plain; charset=utf-8"
        );
    }
}
