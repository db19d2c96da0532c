//! Two server processes on one PostgreSQL database: a change made through
//! one reaches the WebSocket clients of the other.

use std::process::{Child, Stdio};
use std::time::Duration;

use crate::client::{Api, next_json, note_id};
use crate::process::{Deployment, free_port};

#[tokio::test]
async fn second_instance_delivers_changes_made_through_the_first() {
    let deployment = Deployment::postgres().await;
    let first = deployment.start().await;

    // The second process shares the database and the data directory (and so
    // the token secret), on a port of its own.
    let second_port = free_port();
    let mut command = deployment.command();
    command
        .env("NOTES_ADDR", format!("127.0.0.1:{second_port}"))
        .env("NOTES_POLL_INTERVAL", "200ms")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _second = KillOnDrop(command.spawn().expect("start the second notes-server"));
    let second_api = Api::new(second_port);
    second_api.wait_until_healthy().await;

    let alice = first.api.register("alice").await;
    let (mut socket, snapshot) = second_api.connect(&alice.token).await;
    assert_eq!(snapshot["seq"], 0);

    let created = first.api.create_note(&alice.token, "made on the first", "").await;
    let event = tokio::time::timeout(Duration::from_secs(10), next_json(&mut socket))
        .await
        .expect("the change reaches the second instance's client");
    assert_eq!(event["type"], "note_created");
    assert_eq!(event["seq"], 1);
    assert_eq!(event["data"], created);

    // A write through the second instance is numbered after it.
    let local = second_api.create_note(&alice.token, "made on the second", "").await;
    let event = next_json(&mut socket).await;
    assert_eq!(event["seq"], 2);
    assert_eq!(note_id(&event["data"]), note_id(&local));

    first.terminate().await;
}

/// Kills the child process it holds when dropped, also when a test fails.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
