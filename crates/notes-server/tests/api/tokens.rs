//! Token expiry and malformed claims, over HTTP and on the WebSocket upgrade.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::support::{UNKNOWN_UUID, assert_error_body, assert_unchanged, sign, unix_now, valid_claims};

/// The leeway the server allows on `exp` and `nbf`, in seconds.
const LEEWAY_SECONDS: u64 = 5;

/// Sends `GET /api/notes` with a bearer token and returns status and body.
async fn list_with(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let response = app.client.get(app.url("/api/notes")).bearer_auth(token).send().await.expect("send list");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

#[actix_web::test]
async fn malformed_claims_get_the_same_401() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let observer = app.register("observer").await;
    app.create_note(&alice, "kept", "").await;
    let before = app.list_notes(&observer).await;

    // A token signed here with valid claims works, so the rejections below
    // are about the claims and not about how the test signs.
    let (status, _) = list_with(&app, &sign(&valid_claims(&alice.id))).await;
    assert_eq!(status, StatusCode::OK, "a correctly signed test token is accepted");

    let no_token = app.client.get(app.url("/api/notes")).send().await.unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    let reference: Value = no_token.json().await.unwrap();
    assert_error_body(&reference, "unauthorized", None);

    let now = unix_now();
    let cases = [
        ("expired beyond the leeway", json!({"sub": alice.id, "iat": now - 3600, "exp": now - LEEWAY_SECONDS - 30})),
        ("no exp", json!({"sub": alice.id, "iat": now})),
        ("exp as text", json!({"sub": alice.id, "iat": now, "exp": "tomorrow"})),
        ("exp as a numeric string", json!({"sub": alice.id, "iat": now, "exp": format!("{}", now + 3600)})),
        ("nbf in the future", json!({"sub": alice.id, "iat": now, "exp": now + 3600, "nbf": now + 600})),
        ("no sub", json!({"iat": now, "exp": now + 3600})),
        ("sub not a UUID", json!({"sub": "admin", "iat": now, "exp": now + 3600})),
        ("sub a number", json!({"sub": 1, "iat": now, "exp": now + 3600})),
        ("sub a UUID of no user", json!({"sub": UNKNOWN_UUID, "iat": now, "exp": now + 3600})),
        ("claims an array", json!([alice.id, now + 3600])),
    ];
    for (name, claims) in cases {
        let (status, body) = list_with(&app, &sign(&claims)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(body, reference, "{name}: same body as a request without a token");
        assert_unchanged(&app, &observer, &before, name).await;
    }
}

#[actix_web::test]
async fn token_stops_working_after_ttl_and_leeway() {
    let app = spawn_app_with(&["--token-ttl", "1s"]).await;
    let alice = app.register("alice").await;

    let (status, _) = list_with(&app, &alice.token).await;
    assert_eq!(status, StatusCode::OK, "a fresh token works");

    // exp is whole seconds: 1 s of lifetime plus 5 s of leeway, plus margin
    // for the second boundary and a slow machine.
    tokio::time::sleep(Duration::from_millis(7_500)).await;

    let (status, body) = list_with(&app, &alice.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the token expired");
    assert_error_body(&body, "unauthorized", None);

    // Signing in again gives a working token.
    let response = app
        .client
        .post(app.url("/api/login"))
        .json(&json!({"email": alice.email, "password": alice.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let login: Value = response.json().await.unwrap();
    let (status, _) = list_with(&app, login["token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "a new token works");
}

/// Attempts a WebSocket upgrade with the server's origin and an optional
/// `Authorization` value and `?token=`, and returns the HTTP status and body
/// of the rejection. Panics if the upgrade succeeds.
async fn rejected_upgrade(app: &TestApp, authorization: Option<&str>, query_token: Option<&str>) -> (u16, Value) {
    let url = match query_token {
        Some(token) => format!("{}?token={token}", app.ws_url()),
        None => app.ws_url(),
    };
    let mut request = url.into_client_request().expect("valid ws url");
    request.headers_mut().insert("origin", HeaderValue::from_str(&app.address).unwrap());
    if let Some(value) = authorization {
        request.headers_mut().insert("authorization", HeaderValue::from_str(value).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => panic!("the upgrade succeeded, but it must be rejected"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(|bytes| serde_json::from_slice(bytes).expect("rejection body is JSON"))
                .unwrap_or(Value::Null);
            (status, body)
        }
        Err(other) => panic!("expected an HTTP rejection, got {other}"),
    }
}

#[actix_web::test]
async fn websocket_upgrade_without_valid_token_gets_401() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let now = unix_now();
    let expired = sign(&json!({"sub": alice.id, "iat": now - 3600, "exp": now - LEEWAY_SECONDS - 30}));

    let cases = [
        ("no token", None, None),
        ("expired bearer token", Some(format!("Bearer {expired}")), None),
        ("expired query token", None, Some(expired.clone())),
        ("garbage bearer token", Some("Bearer garbage".to_owned()), None),
        ("garbage query token", None, Some("garbage".to_owned())),
        ("token of no user", Some(format!("Bearer {}", sign(&valid_claims(UNKNOWN_UUID)))), None),
    ];
    for (name, authorization, query_token) in cases {
        let (status, body) = rejected_upgrade(&app, authorization.as_deref(), query_token.as_deref()).await;
        assert_eq!(status, 401, "{name}");
        assert_error_body(&body, "unauthorized", None);
        app.assert_healthy().await;
    }

    // The same user with a valid token still connects.
    let (_socket, snapshot) = app.connect_with_snapshot(&alice).await;
    assert_eq!(snapshot["data"], json!([]));
}
