//! Rate limits and connection limits.

use std::time::Duration;

use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::*;
use crate::support::expect_error;

/// Starts a server whose configuration `adjust` changes first.
async fn spawn_adjusted(adjust: impl FnOnce(&mut notes_server::Config)) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&data_dir, &[]);
    adjust(&mut config);
    spawn_config(config, data_dir).await
}

/// Opens a WebSocket and returns the HTTP status of a rejected upgrade, or
/// 101 when it was accepted.
async fn upgrade_status(app: &TestApp, user: &TestUser) -> (u16, Option<Socket>) {
    let mut request = app.ws_url().into_client_request().unwrap();
    request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {}", user.token)).unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => (response.status().as_u16(), Some(socket)),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (response.status().as_u16(), None),
        Err(other) => panic!("unexpected websocket error {other}"),
    }
}

#[actix_web::test]
async fn login_storm_gets_429_with_retry_after() {
    let app = spawn_adjusted(|config| {
        config.auth_rate_per_minute = 10;
        config.auth_burst = 3;
    })
    .await;
    let alice = app.register("alice").await;

    // The registration used one of the three; two more logins pass.
    let login = json!({"email": alice.email, "password": alice.password});
    for _ in 0..2 {
        let response = app.client.post(app.url("/api/login")).json(&login).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    let response = app.client.post(app.url("/api/login")).json(&login).send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=6).contains(&retry_after), "Retry-After {retry_after}");
    expect_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests", None).await;

    let response = app
        .client
        .post(app.url("/api/register"))
        .json(&json!({"username": "bob", "email": "bob@example.com", "password": "bob-password"}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests", None).await;

    // Signed-in users are not affected.
    assert!(app.list_notes(&alice).await.is_empty());
    app.assert_healthy().await;
}

#[actix_web::test]
async fn note_writes_are_limited_per_user() {
    let app = spawn_adjusted(|config| {
        config.write_rate_per_second = 1;
        config.write_burst = 5;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;

    for i in 0..5 {
        app.create_note(&alice, &format!("n{i}"), "").await;
    }
    let response = app
        .client
        .post(app.url("/api/notes"))
        .bearer_auth(&alice.token)
        .json(&json!({"title": "one too many"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    expect_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests", None).await;

    // Another user has a budget of their own, and nothing extra was stored.
    app.create_note(&bob, "bob's", "").await;
    assert_eq!(app.list_notes(&bob).await.len(), 6);
}

#[actix_web::test]
async fn websocket_connection_limits() {
    let app = spawn_adjusted(|config| {
        config.max_ws_connections = 3;
        config.max_ws_per_user = 2;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;

    let (first, socket_a1) = upgrade_status(&app, &alice).await;
    let (second, _socket_a2) = upgrade_status(&app, &alice).await;
    assert_eq!((first, second), (101, 101));
    assert_eq!(upgrade_status(&app, &alice).await.0, 429);

    let (third, _socket_b1) = upgrade_status(&app, &bob).await;
    assert_eq!(third, 101);
    assert_eq!(upgrade_status(&app, &bob).await.0, 503);

    // Closing a connection frees its place.
    close(socket_a1.unwrap()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _socket) = upgrade_status(&app, &bob).await;
        if status == 101 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "a closed connection released its place");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.assert_healthy().await;
}

#[actix_web::test]
async fn websocket_message_flood_is_closed_with_1008() {
    let app = spawn_adjusted(|config| {
        config.ws_message_rate_per_second = 5;
        config.ws_message_burst = 5;
    })
    .await;
    let alice = app.register("alice").await;
    let (mut flooder, _) = app.connect_with_snapshot(&alice).await;
    let (mut bystander, _) = app.connect_with_snapshot(&alice).await;

    for _ in 0..50 {
        if flooder.send(Message::text(r#"{"type":"ping"}"#)).await.is_err() {
            break;
        }
    }
    let frame = expect_close(&mut flooder, Duration::from_secs(5)).await;
    assert_eq!(close_code(&frame), Some(1008));

    app.create_note(&alice, "still live", "").await;
    assert_eq!(next_json(&mut bystander).await["type"], "note_created");
    bystander.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next_json(&mut bystander).await, json!({"type": "pong"}));
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_time_the_store() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let note = app.create_note(&alice, "counted", "").await;
    let id = note["id"].as_str().unwrap();
    let response = app.client.get(app.url(&format!("/api/notes/{id}"))).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let body = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    // Other tests share the process-wide recorder, so only the presence of
    // this request's series is checked.
    let counted = body.lines().any(|line| {
        line.starts_with("notes_http_requests_total{")
            && line.contains(r#"method="GET""#)
            && line.contains(r#"route="/api/notes/{id}""#)
            && line.contains(r#"status="200""#)
    });
    assert!(counted, "a request counter for GET on the item route in:\n{body}");
    assert!(!body.contains(id), "note ids never become metric labels");
    assert!(body.contains("notes_http_request_duration_seconds_bucket{"), "latency histogram in:\n{body}");
    assert!(
        body.contains(r#"notes_store_operation_duration_seconds_count{operation="create_note",outcome="ok"}"#),
        "store latency in:\n{body}"
    );
    assert!(body.contains("notes_ws_sessions 0"), "hub gauge in:\n{body}");
}
