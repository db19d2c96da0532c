//! Who may change what: note ownership, owner fields in bodies, WebSocket
//! origins and CORS.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{TestApp, TestUser, assert_silent, close, next_json, spawn_app, spawn_app_with};
use crate::support::{assert_error_body, assert_unchanged, expect_error};

#[actix_web::test]
async fn other_users_cannot_change_a_note() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let note = app.create_note(&alice, "alice's", "only alice edits this").await;
    let id = note["id"].as_str().unwrap();
    let before = app.list_notes(&bob).await;
    let (mut watcher, _) = app.connect_with_snapshot(&app.register("watcher").await).await;

    let attempts = [
        (
            "PUT item route",
            app.client
                .put(app.url(&format!("/api/notes/{id}")))
                .json(&json!({"title": "bob's now", "content": "", "version": 1})),
        ),
        (
            "PUT item route without version",
            app.client.put(app.url(&format!("/api/notes/{id}"))).json(&json!({"title": "bob's now"})),
        ),
        (
            "PUT collection route",
            app.client
                .put(app.url("/api/notes"))
                .json(&json!({"id": id, "title": "bob's now", "content": "", "version": 1})),
        ),
        ("DELETE item route", app.client.delete(app.url(&format!("/api/notes/{id}")))),
        ("DELETE query route", app.client.delete(app.url(&format!("/api/notes?id={id}")))),
    ];
    for (name, request) in attempts {
        let response = request.bearer_auth(&bob.token).send().await.unwrap();
        let body = expect_error(response, StatusCode::FORBIDDEN, "forbidden", None).await;
        assert!(body["error"].get("current").is_none(), "{name}: a 403 does not carry the note");
        assert_unchanged(&app, &bob, &before, name).await;
    }

    // A rejected change is not broadcast.
    assert_silent(&mut watcher, Duration::from_millis(300)).await;
    close(watcher).await;
}

#[actix_web::test]
async fn owner_and_id_fields_in_bodies_are_ignored() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let bobs_note = app.create_note(&bob, "bob's", "bob's content").await;
    let bobs_id = bobs_note["id"].as_str().unwrap();
    let (mut watcher, _) = app.connect_with_snapshot(&app.register("watcher").await).await;

    // A create cannot choose its id, owner, author or version.
    let response = app
        .client
        .post(app.url("/api/notes"))
        .bearer_auth(&alice.token)
        .json(&json!({
            "title": "mine", "content": "",
            "id": bobs_id, "user_id": bob.id, "author": "bob", "version": 99,
            "created_at": "2000-01-01T00:00:00Z",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_ne!(created["id"], bobs_id, "the body id is ignored");
    assert_eq!(created["user_id"], alice.id.as_str());
    assert_eq!(created["author"], "alice");
    assert_eq!(created["version"], 1);
    assert_ne!(created["created_at"], "2000-01-01T00:00:00Z");
    let created_id = created["id"].as_str().unwrap();
    let event = next_json(&mut watcher).await;
    assert_eq!(event["type"], "note_created");
    assert_eq!(event["data"], created);

    // An update through the item route: the path names the note, and the
    // owner fields of the body are ignored.
    let response = app
        .client
        .put(app.url(&format!("/api/notes/{created_id}")))
        .bearer_auth(&alice.token)
        .json(&json!({"title": "still mine", "content": "edited", "version": 1, "id": bobs_id, "user_id": bob.id, "author": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["id"], created_id, "the path id wins over the body id");
    assert_eq!(updated["user_id"], alice.id.as_str());
    assert_eq!(updated["author"], "alice");
    assert_eq!(updated["title"], "still mine");
    let event = next_json(&mut watcher).await;
    assert_eq!(event["type"], "note_updated");
    assert_eq!(event["data"], updated);

    // Bob's note was not touched by either request.
    let fetched: Value = app
        .client
        .get(app.url(&format!("/api/notes/{bobs_id}")))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, bobs_note);
    assert_silent(&mut watcher, Duration::from_millis(300)).await;
    app.assert_healthy().await;
}

/// Attempts a WebSocket upgrade with a valid token and the given `Origin`.
/// Returns the HTTP status (101 when the upgrade succeeds) and, for a
/// rejected upgrade, the error body.
async fn upgrade_with_origin(app: &TestApp, user: &TestUser, origin: Option<&str>) -> (u16, Option<Value>) {
    let mut request = app.ws_url().into_client_request().expect("valid ws url");
    request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {}", user.token)).unwrap());
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut socket, response)) => {
            let snapshot = next_json(&mut socket).await;
            assert_eq!(snapshot["type"], "initial_notes");
            close(socket).await;
            (response.status().as_u16(), None)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body =
                response.body().as_deref().map(|bytes| serde_json::from_slice(bytes).expect("rejection body is JSON"));
            (response.status().as_u16(), body)
        }
        Err(other) => panic!("expected a response to the upgrade, got {other}"),
    }
}

#[actix_web::test]
async fn websocket_checks_origin_before_upgrade() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    let foreign = [
        "https://evil.example".to_owned(),
        "null".to_owned(),
        format!("{}.evil.example", app.address),
        format!("http://evil.example/{}", app.address),
        format!("https://127.0.0.1:{}", app.port),
        format!("http://127.0.0.1:{}", app.port.wrapping_add(1)),
    ];
    for origin in &foreign {
        let (status, body) = upgrade_with_origin(&app, &alice, Some(origin)).await;
        assert_eq!(status, 403, "Origin {origin}");
        assert_error_body(&body.expect("rejection has a body"), "forbidden", None);
        app.assert_healthy().await;
    }

    let (status, _) = upgrade_with_origin(&app, &alice, Some(&app.address)).await;
    assert_eq!(status, 101, "the server's own origin");
    let (status, _) = upgrade_with_origin(&app, &alice, Some(&format!("http://localhost:{}", app.port))).await;
    assert_eq!(status, 101, "the server's own origin by name");

    // Browsers always send Origin on a WebSocket upgrade, so a request without
    // one comes from a program (a CLI, a test, a server). It is allowed: the
    // origin check protects browser sessions, and the token is still required.
    let (status, _) = upgrade_with_origin(&app, &alice, None).await;
    assert_eq!(status, 101, "no Origin header");
}

/// Sends a CORS preflight for `GET /api/notes` with an `Authorization` header.
async fn preflight(app: &TestApp, origin: &str) -> (StatusCode, HeaderMap) {
    let response = app
        .client
        .request(Method::OPTIONS, app.url("/api/notes"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    (response.status(), response.headers().clone())
}

/// Sends `GET /api/notes` with a token and an `Origin`.
async fn cross_origin_get(app: &TestApp, user: &TestUser, origin: &str) -> (StatusCode, HeaderMap) {
    let response =
        app.client.get(app.url("/api/notes")).bearer_auth(&user.token).header("origin", origin).send().await.unwrap();
    (response.status(), response.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.to_str().expect("ASCII header"))
}

/// Asserts the CORS headers that allow `origin` with credentials.
fn assert_allows(headers: &HeaderMap, origin: &str, context: &str) {
    assert_eq!(header(headers, "access-control-allow-origin"), Some(origin), "{context}: the origin is echoed exactly");
    assert_eq!(header(headers, "access-control-allow-credentials"), Some("true"), "{context}");
    let vary: Vec<&str> =
        headers.get_all("vary").iter().flat_map(|value| value.to_str().unwrap().split(',')).map(str::trim).collect();
    assert!(vary.iter().any(|name| name.eq_ignore_ascii_case("origin")), "{context}: Vary names Origin: {vary:?}");
}

#[actix_web::test]
async fn cors_allows_only_configured_origins() {
    let foreign = ["https://evil.example", "null", "https://app.example.com.evil.example", "http://app.example.com"];

    // Default configuration: only the server's own origin, which needs no CORS.
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    for origin in foreign.iter().copied().chain(["https://app.example.com"]) {
        let (status, headers) = preflight(&app, origin).await;
        assert!(!status.is_server_error(), "preflight from {origin}: {status}");
        assert!(headers.get("access-control-allow-origin").is_none(), "preflight from {origin}: {headers:?}");
        let (status, headers) = cross_origin_get(&app, &alice, origin).await;
        assert!(!status.is_server_error(), "GET from {origin}: {status}");
        assert!(headers.get("access-control-allow-origin").is_none(), "GET from {origin}: {headers:?}");
    }

    // A configured origin is echoed, never `*`.
    let app = spawn_app_with(&["--allowed-origins", "https://app.example.com"]).await;
    let alice = app.register("alice").await;
    let (status, headers) = preflight(&app, "https://app.example.com").await;
    assert_eq!(status, StatusCode::OK, "preflight from the allowed origin");
    assert_allows(&headers, "https://app.example.com", "preflight");
    let methods = header(&headers, "access-control-allow-methods").unwrap_or_default().to_ascii_uppercase();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(method), "preflight allows {method}: {methods}");
    }
    let allowed_headers = header(&headers, "access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(allowed_headers.contains("authorization"), "preflight allows Authorization: {allowed_headers}");

    let (status, headers) = cross_origin_get(&app, &alice, "https://app.example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert_allows(&headers, "https://app.example.com", "GET");

    for origin in foreign {
        let (_, headers) = preflight(&app, origin).await;
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "preflight from {origin} with an allow list: {headers:?}"
        );
        let (_, headers) = cross_origin_get(&app, &alice, origin).await;
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "GET from {origin} with an allow list: {headers:?}"
        );
    }
    app.assert_healthy().await;
}
