//! The built web app: static files, cache headers and the SPA fallback.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::HttpResponse;
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::header::{self, HeaderValue};

/// Shown at `/` when the web app has not been built.
const NOT_BUILT_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>notes</title></head>
<body><h1>notes</h1>
<p>The server is running, but the web app has not been built.</p>
<p>Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, or start everything with <code>cargo xtask run</code>.</p>
<p>The HTTP API is under <code>/api</code> and the WebSocket at <code>/ws</code>.</p>
</body></html>"#;

/// Returns the service that serves the app from `dir`, or a page explaining
/// how to build it when `dir/index.html` is missing.
///
/// Files under `assets/` have content hashes in their names, so they are
/// cached for a year. Every other path that is not a file gets `index.html`,
/// so client-side routes survive a reload; `index.html` itself is never
/// cached, so a new build is picked up at once.
pub fn service(dir: &Path) -> Files {
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(web_dir = %dir.display(), "web app not built; serving a placeholder page at /");
    }
    let fallback_index = index.clone();
    Files::new("/", dir).index_file("index.html").use_etag(true).default_handler(fn_service(
        move |request: ServiceRequest| {
            let index: PathBuf = fallback_index.clone();
            async move {
                let (request, _) = request.into_parts();
                let response = match NamedFile::open_async(&index).await {
                    Ok(file) => {
                        let mut response = file.into_response(&request);
                        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                        response
                    }
                    Err(_) => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(NOT_BUILT_PAGE),
                };
                Ok(ServiceResponse::new(request, response))
            }
        },
    ))
}

/// Sets `Cache-Control` on static responses: hashed assets for a year,
/// everything else revalidated on each use.
pub fn cache_control(path: &str) -> HeaderValue {
    if path.starts_with("/assets/") {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_static("no-cache")
    }
}
