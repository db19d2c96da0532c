//! Lost-update protection: two sessions of the owner update one version of a
//! note at the same moment.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_silent, next_json, spawn_app};
use crate::support::assert_error_body;

/// Rounds of two simultaneous updates.
const ROUNDS: usize = 10;

/// Signs the user in again, which gives a second, independent session token.
async fn second_session(app: &TestApp, user: &TestUser) -> String {
    let response = app
        .client
        .post(app.url("/api/login"))
        .json(&json!({"email": user.email, "password": user.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// Sends one update of `id` at `version` from `client`, through the item
/// route on even rounds and the collection route on odd ones.
async fn update(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    id: &str,
    version: u64,
    content: &str,
    round: usize,
) -> (StatusCode, Value) {
    let request = if round.is_multiple_of(2) {
        client
            .put(app.url(&format!("/api/notes/{id}")))
            .json(&json!({"title": "shared", "content": content, "version": version}))
    } else {
        client
            .put(app.url("/api/notes"))
            .json(&json!({"id": id, "title": "shared", "content": content, "version": version}))
    };
    let response = request.bearer_auth(token).send().await.expect("send update");
    let status = response.status();
    (status, response.json().await.expect("update body is JSON"))
}

#[actix_web::test]
async fn simultaneous_updates_of_one_version_conflict() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let first_token = alice.token.clone();
    // Tokens carry no session id, so two sign-ins within one second may get
    // the same token. The sessions differ in their login and connection.
    let second_token = second_session(&app, &alice).await;

    let second_client = reqwest::Client::new();
    let created = app.create_note(&alice, "shared", "start").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (mut watcher, snapshot) = app.connect_with_snapshot(&app.register("watcher").await).await;
    let mut view: HashMap<String, Value> = snapshot["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| (note["id"].as_str().unwrap().to_owned(), note.clone()))
        .collect();

    for round in 0..ROUNDS {
        let response =
            app.client.get(app.url(&format!("/api/notes/{id}"))).bearer_auth(&first_token).send().await.unwrap();
        let current: Value = response.json().await.unwrap();
        let version = current["version"].as_u64().unwrap();
        assert_eq!(version, round as u64 + 1, "round {round}: one update applied per round");

        let first_content = format!("first session, round {round}");
        let second_content = format!("second session, round {round}");
        let ((first_status, first_body), (second_status, second_body)) = tokio::join!(
            update(&app, &app.client, &first_token, &id, version, &first_content, round),
            update(&app, &second_client, &second_token, &id, version, &second_content, round),
        );

        let statuses = [first_status, second_status];
        assert!(statuses.contains(&StatusCode::OK), "round {round}: one update wins: {statuses:?}");
        assert!(
            statuses.contains(&StatusCode::CONFLICT),
            "round {round}: the other conflicts: {statuses:?} {first_body} {second_body}"
        );
        let (winner, loser) =
            if first_status == StatusCode::OK { (&first_body, &second_body) } else { (&second_body, &first_body) };
        assert_eq!(winner["version"], version + 1, "round {round}: the winner bumps the version");

        assert_error_body(loser, "version_conflict", None);
        let stored: Value = app
            .client
            .get(app.url(&format!("/api/notes/{id}")))
            .bearer_auth(&first_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(loser["error"]["current"], stored, "round {round}: the conflict carries the stored note");
        assert_eq!(&stored, winner, "round {round}: the stored note is the winner's");

        let event = next_json(&mut watcher).await;
        assert_eq!(event["type"], "note_updated", "round {round}: one event per applied update");
        assert_eq!(&event["data"], winner, "round {round}: the event carries the winner's note");
        view.insert(id.clone(), event["data"].clone());
    }

    // The losing updates sent no events, and the watcher's view matches the list.
    assert_silent(&mut watcher, Duration::from_millis(300)).await;
    let listed = app.list_notes(&alice).await;
    let listed: HashMap<String, Value> =
        listed.into_iter().map(|note| (note["id"].as_str().unwrap().to_owned(), note)).collect();
    assert_eq!(view, listed, "the WebSocket view equals GET /api/notes");
    app.assert_healthy().await;
}
