//! A graceful stop (SIGTERM) and a start on the same data directory and store
//! keep notes, users, tokens and the change sequence.

use reqwest::StatusCode;
use serde_json::Value;

use crate::client::{ClientView, next_json, note_id, note_version};
use crate::process::Deployment;

async fn check_restart_keeps_everything(deployment: &Deployment) {
    let server = deployment.start().await;
    let api = server.api.clone();
    let alice = api.register("alice").await;
    let bob = api.register("bob").await;

    let groceries = api.create_note(&alice.token, "Groceries", "milk").await;
    api.create_note(&alice.token, "Ideas", "line one\nline two, with ünïcödé").await;
    api.create_note(&bob.token, "Bob's plan", "").await;
    let response = api.update_note(&alice.token, &note_id(&groceries), "Groceries", "milk, eggs", Some(1)).await;
    assert_eq!(response.status(), StatusCode::OK, "update before the restart");
    let writes_before_restart = 4;

    let notes_before = api.list_notes(&alice.token).await;
    assert_eq!(notes_before.len(), 3);
    let me_before: Value = api.me(&alice.token).await.json().await.expect("GET /api/me returns JSON");

    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");

    let server = deployment.start().await;
    let api = server.api.clone();

    assert_eq!(
        api.list_notes(&alice.token).await,
        notes_before,
        "notes after the restart, read with a token issued before it"
    );
    assert_eq!(api.list_notes(&bob.token).await, notes_before, "notes after the restart, as the other user");

    let response = api.me(&alice.token).await;
    assert_eq!(response.status(), StatusCode::OK, "GET /api/me with a token issued before the restart");
    let me_after: Value = response.json().await.expect("GET /api/me returns JSON");
    assert_eq!(me_after, me_before);

    for user in [&alice, &bob] {
        let body = api.login_ok(user).await;
        assert_eq!(body["user"]["id"], user.id.as_str(), "login of {} after the restart", user.email);
    }
    let response = api.login(&alice.email, "not-the-password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "login with a wrong password after the restart");

    let (mut socket, snapshot) = api.connect(&alice.token).await;
    assert_eq!(snapshot["seq"], writes_before_restart, "snapshot seq after the restart counts the writes before it");
    let mut view = ClientView::from_snapshot(&snapshot);

    let created = api.create_note(&bob.token, "After the restart", "new").await;
    assert_eq!(note_version(&created), 1);
    let response = api.update_note(&alice.token, &note_id(&groceries), "Groceries", "milk, eggs, bread", Some(2)).await;
    assert_eq!(response.status(), StatusCode::OK, "update of a note written before the restart");
    let updated: Value = response.json().await.expect("update returns JSON");
    assert_eq!(note_version(&updated), 3);

    let created_event = next_json(&mut socket).await;
    assert_eq!(created_event["seq"], writes_before_restart + 1);
    assert_eq!(created_event["data"], created);
    view.apply(&created_event);
    let updated_event = next_json(&mut socket).await;
    assert_eq!(updated_event["seq"], writes_before_restart + 2);
    assert_eq!(updated_event["data"], updated);
    view.apply(&updated_event);

    let notes_after = api.list_notes(&alice.token).await;
    assert_eq!(view.notes, crate::client::by_id(&notes_after), "the WebSocket view matches GET /api/notes");

    drop(socket);
    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status after the second SIGTERM");
}

#[tokio::test]
async fn sqlite_restart_keeps_everything() {
    let deployment = Deployment::sqlite();
    check_restart_keeps_everything(&deployment).await;
    assert!(deployment.sqlite_path().is_file(), "the default store is notes.db in the data directory");
}

#[tokio::test]
async fn postgres_restart_keeps_everything() {
    check_restart_keeps_everything(&Deployment::postgres().await).await;
}
