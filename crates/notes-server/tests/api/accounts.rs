//! Account uniqueness: email letter case, surrounding spaces and
//! simultaneous sign-ups with one email, on the memory and SQLite stores.

use std::sync::Arc;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::helpers::{TestApp, spawn_app};
use crate::support::{assert_error_body, expect_error, login_status, spawn_sqlite_app};

/// Parallel registrations per round.
const RACERS: usize = 20;

async fn register(app: &TestApp, username: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/register"))
        .json(&json!({"username": username, "email": email, "password": password}))
        .send()
        .await
        .expect("send register")
}

#[actix_web::test]
async fn email_is_case_insensitive_and_trimmed() {
    let app = spawn_app().await;

    let response = register(&app, "alice", "Alice.Smith@Example.COM", "first-password").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["user"]["email"], "alice.smith@example.com", "the stored email is lowercase");

    let response = app
        .client
        .post(app.url("/api/login"))
        .json(&json!({"email": "alice.smith@example.com", "password": "first-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["user"]["id"], registered["user"]["id"], "the lowercase email signs in the same user");

    for (email, password) in
        [("ALICE.SMITH@example.com", "second-password"), (" alice.smith@example.com ", "third-password")]
    {
        let response = register(&app, "impostor", email, password).await;
        expect_error(response, StatusCode::CONFLICT, "email_taken", None).await;
        app.assert_healthy().await;
    }

    // Still exactly one account: only the first password signs in, under
    // every spelling of the address.
    for email in ["alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM", " Alice.Smith@Example.COM "] {
        assert_eq!(login_status(&app, email, "first-password").await, StatusCode::OK, "{email}");
        assert_eq!(login_status(&app, email, "second-password").await, StatusCode::UNAUTHORIZED, "{email}");
        assert_eq!(login_status(&app, email, "third-password").await, StatusCode::UNAUTHORIZED, "{email}");
    }
}

/// Releases [`RACERS`] registrations of one email at once, three times with
/// fresh emails, and checks that each round creates exactly one account.
async fn simultaneous_sign_ups_create_one_account(app: &TestApp, store: &str) {
    for round in 0..3 {
        let email = format!("race-{round}@example.com");
        let barrier = Arc::new(Barrier::new(RACERS));
        let attempts = (0..RACERS).map(|racer| {
            let barrier = barrier.clone();
            let email = email.clone();
            async move {
                let password = format!("password-{racer}");
                barrier.wait().await;
                let response = register(app, &format!("racer {racer}"), &email, &password).await;
                let status = response.status();
                let body: Value = response.json().await.expect("register body is JSON");
                (status, body)
            }
        });
        let results = join_all(attempts).await;

        let created: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, (status, _))| *status == StatusCode::CREATED)
            .map(|(racer, _)| racer)
            .collect();
        assert_eq!(created.len(), 1, "{store}, round {round}: exactly one registration succeeds: {results:?}");
        for (status, body) in results.iter().filter(|(status, _)| *status != StatusCode::CREATED) {
            assert_eq!(
                *status,
                StatusCode::CONFLICT,
                "{store}, round {round}: the others get 409, not {status}: {body}"
            );
            assert_error_body(body, "email_taken", None);
        }

        // Only the winner's password signs in.
        for racer in 0..RACERS {
            let expected = if racer == created[0] { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
            assert_eq!(
                login_status(app, &email, &format!("password-{racer}")).await,
                expected,
                "{store}, round {round}, racer {racer}"
            );
        }
        app.assert_healthy().await;
    }
}

#[actix_web::test]
async fn simultaneous_sign_ups_memory_store() {
    let app = spawn_app().await;
    simultaneous_sign_ups_create_one_account(&app, "memory").await;
}

#[actix_web::test]
async fn simultaneous_sign_ups_sqlite_store() {
    let app = spawn_sqlite_app().await;
    let health: Value = app.client.get(app.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["store"], "sqlite", "the test runs against SQLite");
    simultaneous_sign_ups_create_one_account(&app, "sqlite").await;
}
