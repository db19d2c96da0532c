//! Request size limits: oversized bodies with and without a length, huge
//! declared lengths, long passwords and deeply nested JSON.

use std::time::Instant;

use notes_server::JSON_BODY_LIMIT;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::helpers::{TestApp, TestUser, spawn_app};
use crate::support::{
    HANG_LIMIT, RawResponse, assert_error_body, assert_unchanged, expect_error, login_status, raw_connect,
    read_raw_response, write_ignoring_close,
};

const MEBIBYTE: usize = 1024 * 1024;

/// Returns the head of a raw `POST /api/notes` with the given framing header.
fn raw_create_head(app: &TestApp, user: &TestUser, framing: &str) -> String {
    format!(
        "POST /api/notes HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n",
        app.port, user.token
    )
}

/// Encodes `body` with chunked transfer encoding, in 64 KiB chunks.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(body.len() + body.len() / 1000 + 16);
    for chunk in body.chunks(64 * 1024) {
        encoded.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        encoded.extend_from_slice(chunk);
        encoded.extend_from_slice(b"\r\n");
    }
    encoded.extend_from_slice(b"0\r\n\r\n");
    encoded
}

/// Sends `head` and then `body` on a raw connection, and returns the
/// response. The body is written by a separate task, so a server that
/// responds early is read while the client is still writing.
async fn raw_exchange(app: &TestApp, head: String, body: Vec<u8>) -> RawResponse {
    let stream = raw_connect(app).await;
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.expect("write the request head");
    let writing = actix_web::rt::spawn(async move {
        write_ignoring_close(&mut writer, &body).await;
        writer
    });

    let response =
        tokio::time::timeout(HANG_LIMIT, read_raw_response(&mut reader)).await.expect("the server responds in time");
    writing.abort();
    response
}

#[actix_web::test]
async fn oversized_note_bodies_get_413() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let observer = app.register("observer").await;
    app.create_note(&alice, "kept", "").await;
    let before = app.list_notes(&observer).await;
    let huge_note = json!({"title": "huge", "content": "a".repeat(3 * MEBIBYTE)}).to_string().into_bytes();

    // With Content-Length.
    let response = app
        .client
        .post(app.url("/api/notes"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body(huge_note.clone())
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None).await;
    assert_unchanged(&app, &observer, &before, "3 MiB with Content-Length").await;

    // Chunked, so the server only learns the size while reading.
    let response =
        raw_exchange(&app, raw_create_head(&app, &alice, "Transfer-Encoding: chunked"), chunked(&huge_note)).await;
    assert_eq!(response.status, 413, "3 MiB chunked");
    assert_error_body(&response.json(), "payload_too_large", None);
    assert_unchanged(&app, &observer, &before, "3 MiB chunked").await;

    // A declared length of 1 GB followed by a few bytes. The server must
    // respond based on the header alone instead of waiting for the body.
    let started = Instant::now();
    let response =
        raw_exchange(&app, raw_create_head(&app, &alice, "Content-Length: 1000000000"), br#"{"title":"#.to_vec()).await;
    assert_eq!(response.status, 413, "1 GB declared");
    assert!(started.elapsed() < HANG_LIMIT, "the 413 for a declared 1 GB arrives without the body");
    assert_error_body(&response.json(), "payload_too_large", None);
    assert_unchanged(&app, &observer, &before, "1 GB declared").await;

    // Just under the JSON limit, the body is read and validated as usual:
    // the content is too long, so the error is a validation error.
    let content = "a".repeat(JSON_BODY_LIMIT - 100);
    let body = json!({"title": "almost at the limit", "content": content});
    assert!(body.to_string().len() < JSON_BODY_LIMIT, "the body fits the JSON limit");
    let response = app.client.post(app.url("/api/notes")).bearer_auth(&alice.token).json(&body).send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "validation_failed", Some("content")).await;
    assert_unchanged(&app, &observer, &before, "body just under the limit").await;
}

#[actix_web::test]
async fn long_passwords_get_clean_errors() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    // Larger than the JSON limit: rejected by size before any hashing.
    let mebibyte_password = "p".repeat(MEBIBYTE);
    // Within the JSON limit but far over bcrypt's 72 bytes: rejected by validation.
    let long_password = "p".repeat(200 * 1024);
    let cases = [
        (&mebibyte_password, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
        (&long_password, StatusCode::BAD_REQUEST, "validation_failed", Some("password")),
    ];

    for (password, status, code, field) in cases {
        let length = password.len();
        let response = app
            .client
            .post(app.url("/api/register"))
            .json(&json!({"username": "mallory", "email": "mallory@example.com", "password": password}))
            .send()
            .await
            .unwrap();
        expect_error(response, status, code, field).await;
        app.assert_healthy().await;

        let response = app
            .client
            .post(app.url("/api/login"))
            .json(&json!({"email": alice.email, "password": password}))
            .send()
            .await
            .unwrap();
        expect_error(response, status, code, field).await;
        app.assert_healthy().await;

        assert_eq!(
            login_status(&app, "mallory@example.com", "mallory-password").await,
            StatusCode::UNAUTHORIZED,
            "no account after a {length}-byte password"
        );
    }
    assert_eq!(
        login_status(&app, &alice.email, &alice.password).await,
        StatusCode::OK,
        "the existing account still signs in"
    );
}

/// Sends a raw JSON body to `POST /api/notes` and returns the response and
/// how long it took.
async fn post_raw_note(app: &TestApp, user: &TestUser, body: String) -> (reqwest::Response, std::time::Duration) {
    assert!(body.len() < JSON_BODY_LIMIT, "the body fits the JSON limit, so the parser reads it");
    let started = Instant::now();
    let response = app
        .client
        .post(app.url("/api/notes"))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (response, started.elapsed())
}

#[actix_web::test]
async fn deeply_nested_json_is_handled_quickly() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let observer = app.register("observer").await;
    let depth = 100_000;

    // Nesting inside a known field fails at the first bracket, because the
    // field must be a string.
    let before = app.list_notes(&observer).await;
    let rejected = [
        (
            "100,000 nested arrays as the content",
            format!(r#"{{"title":"t","content":{}{}}}"#, "[".repeat(depth), "]".repeat(depth)),
        ),
        ("100,000 nested arrays as the title", format!(r#"{{"title":{}{}}}"#, "[".repeat(depth), "]".repeat(depth))),
        ("100,000 unclosed arrays", format!(r#"{{"title":"t","x":{}"#, "[".repeat(depth))),
        ("100,000 nested arrays as the whole body", format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
    ];
    for (name, body) in rejected {
        let (response, elapsed) = post_raw_note(&app, &alice, body).await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_json", None).await;
        assert!(elapsed < HANG_LIMIT, "{name}: the 400 arrives without a long parse");
        assert_unchanged(&app, &observer, &before, name).await;
    }

    // An unknown field is skipped, whatever it contains. serde_json skips a value
    // without recursion (one byte of heap per level), so depth costs neither
    // stack nor more than linear time, and the body limit bounds the memory.
    // The note is created from the known fields alone.
    let accepted = [
        (
            "100,000 nested arrays in an unknown field",
            format!(r#"{{"title":"arrays","x":{}{}}}"#, "[".repeat(depth), "]".repeat(depth)),
        ),
        (
            "40,000 nested objects in an unknown field",
            format!(r#"{{"title":"objects","x":{}1{}}}"#, r#"{"a":"#.repeat(40_000), "}".repeat(40_000)),
        ),
    ];
    for (name, body) in accepted {
        let before = app.list_notes(&observer).await;
        let (response, elapsed) = post_raw_note(&app, &alice, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{name}");
        assert!(elapsed < HANG_LIMIT, "{name}: the response arrives without a long parse");
        let created: serde_json::Value = response.json().await.unwrap();
        assert_eq!(created["content"], "", "{name}: only the known fields are stored");
        assert!(created.get("x").is_none(), "{name}: the unknown field is not stored");

        app.assert_healthy().await;
        let after = app.list_notes(&observer).await;
        assert_eq!(after.len(), before.len() + 1, "{name}: exactly one note added");
        assert_eq!(after[0], created, "{name}: the new note is listed first");
    }
}
