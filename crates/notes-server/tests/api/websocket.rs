//! WebSocket fan-out, ordering, snapshots and session life.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

/// Applies events to a map of notes the way a client would, checking that
/// each event's seq is exactly one more than the last.
fn apply(notes: &mut HashMap<String, Value>, last_seq: &mut u64, event: &Value) {
    let seq = event["seq"].as_u64().expect("event has a seq");
    assert_eq!(seq, *last_seq + 1, "events arrive in order without gaps: {event}");
    *last_seq = seq;
    match event["type"].as_str() {
        Some("note_created") | Some("note_updated") => {
            notes.insert(event["data"]["id"].as_str().unwrap().to_owned(), event["data"].clone());
        }
        Some("note_deleted") => {
            notes.remove(event["data"]["id"].as_str().unwrap());
        }
        other => panic!("unexpected event type {other:?}"),
    }
}

fn snapshot_state(snapshot: &Value) -> (HashMap<String, Value>, u64) {
    let notes = snapshot["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| (note["id"].as_str().unwrap().to_owned(), note.clone()))
        .collect();
    (notes, snapshot["seq"].as_u64().unwrap())
}

fn by_id(list: &[Value]) -> HashMap<String, Value> {
    list.iter().map(|note| (note["id"].as_str().unwrap().to_owned(), note.clone())).collect()
}

#[actix_web::test]
async fn snapshot_then_events_in_order() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let existing = app.create_note(&alice, "existing", "").await;

    let (mut first, snapshot) = app.connect_with_snapshot(&alice).await;
    assert_eq!(snapshot["seq"], 1);
    assert_eq!(snapshot["data"], json!([existing]));
    let (mut second, _) = app.connect_with_snapshot(&alice).await;

    let created = app.create_note(&alice, "new", "body").await;
    let id = created["id"].as_str().unwrap();
    let updated: Value = app
        .client
        .put(app.url(&format!("/api/notes/{id}")))
        .bearer_auth(&alice.token)
        .json(&json!({"title": "new", "content": "edited", "version": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.client.delete(app.url(&format!("/api/notes/{id}"))).bearer_auth(&alice.token).send().await.unwrap();

    for socket in [&mut first, &mut second] {
        let events = next_events(socket, 3).await;
        assert_eq!(events[0], json!({"type": "note_created", "data": created, "seq": 2}));
        assert_eq!(events[1], json!({"type": "note_updated", "data": updated, "seq": 3}));
        assert_eq!(events[2], json!({"type": "note_deleted", "data": {"id": id}, "seq": 4}));
        assert_silent(socket, Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn ten_clients_see_fifty_concurrent_creates() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(app.connect_with_snapshot(&alice).await);
    }

    let mut tasks = Vec::new();
    for i in 0..50 {
        let client = app.client.clone();
        let url = app.url("/api/notes");
        let token = alice.token.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"title": format!("note {i}"), "content": ""}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let stored = by_id(&app.list_notes(&alice).await);
    assert_eq!(stored.len(), 50);
    for (mut socket, snapshot) in sockets {
        let (mut notes, mut seq) = snapshot_state(&snapshot);
        for event in next_events(&mut socket, 50).await {
            assert_eq!(event["type"], "note_created");
            apply(&mut notes, &mut seq, &event);
        }
        assert_eq!(notes, stored);
        assert_silent(&mut socket, Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn client_joining_mid_stream_sees_each_note_once() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    let writer = {
        let client = app.client.clone();
        let url = app.url("/api/notes");
        let token = alice.token.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("n{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
            }
        })
    };

    // Connect several clients while the writer runs.
    let mut joined = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        joined.push(app.connect_with_snapshot(&alice).await);
    }
    writer.await.unwrap();

    let stored = by_id(&app.list_notes(&alice).await);
    assert_eq!(stored.len(), 200);
    for (mut socket, snapshot) in joined {
        let (mut notes, mut seq) = snapshot_state(&snapshot);
        let remaining = 200 - seq as usize;
        for event in next_events(&mut socket, remaining).await {
            let id = event["data"]["id"].as_str().unwrap().to_owned();
            assert!(!notes.contains_key(&id), "note {id} arrived twice");
            apply(&mut notes, &mut seq, &event);
        }
        assert_eq!(notes, stored);
        assert_silent(&mut socket, Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn stalled_client_is_closed_while_others_continue() {
    let app = spawn_app_with(&["--ws-outbox", "64"]).await;
    let alice = app.register("alice").await;

    let (mut stalled, _) = app.connect_with_snapshot(&alice).await;
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(app.connect_with_snapshot(&alice).await.0);
    }

    // 200 notes of about 60 KiB (12 MB) fill the stalled client's socket
    // buffers and then its outbox of 64 messages. The readers drain theirs,
    // and the same buffers give them a slack of well over 100 messages when
    // the test machine is busy.
    let content = "x".repeat(60 * 1024);
    let count = 200;
    let mut reader_tasks = Vec::new();
    for mut socket in readers {
        reader_tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for _ in 0..count {
                seqs.push(next_json(&mut socket).await["seq"].as_u64().unwrap());
            }
            seqs
        }));
    }
    for i in 0..count {
        app.create_note(&alice, &format!("big {i}"), &content).await;
    }
    for task in reader_tasks {
        let seqs = task.await.unwrap();
        assert_eq!(seqs, (1..=count as u64).collect::<Vec<_>>());
    }

    // The stalled client now reads: it finds fewer events than were sent,
    // then a close frame with code 4008.
    let mut received = 0;
    let frame = loop {
        match tokio::time::timeout(RECEIVE_TIMEOUT, stalled.next()).await.expect("stalled client gets a close in time")
        {
            Some(Ok(Message::Text(_))) => received += 1,
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close_code(&frame), Some(4008));
    assert!(received < count, "the stalled client was closed before receiving everything");

    // A fresh client gets a full snapshot and the next event.
    let (mut fresh, snapshot) = app.connect_with_snapshot(&alice).await;
    assert_eq!(snapshot["data"].as_array().unwrap().len(), count);
    app.create_note(&alice, "after", "").await;
    assert_eq!(next_json(&mut fresh).await["seq"], count as u64 + 1);
    app.assert_healthy().await;
}

#[actix_web::test]
async fn dead_connections_are_reaped_by_heartbeat() {
    let app = spawn_app_with(&["--heartbeat-interval", "100ms", "--client-timeout", "300ms"]).await;
    let alice = app.register("alice").await;

    // Raw TCP connections that complete the upgrade and then never answer a
    // ping: tungstenite answers pings only while it is read, so a socket that
    // is never read again behaves like a vanished peer.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(app.connect(&alice).await);
    }

    // Every silent session joins first; the heartbeat then drops them.
    let joined_by = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut peak = live_sessions(&app).await;
    while peak < 20 && tokio::time::Instant::now() < joined_by {
        tokio::time::sleep(Duration::from_millis(10)).await;
        peak = peak.max(live_sessions(&app).await);
    }
    assert!(peak > 0, "the silent sessions joined the hub before being dropped");

    let metrics_wait = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut live = usize::MAX;
    while tokio::time::Instant::now() < metrics_wait {
        live = live_sessions(&app).await;
        if live == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(live, 0, "every silent session was dropped");

    // A client that keeps reading (and so answers pings) stays connected.
    let (mut active, _) = app.connect_with_snapshot(&alice).await;
    let keep_reading = tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(900);
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, active.next()).await {
            assert!(!matches!(message, Message::Close(_)), "active client was closed");
        }
        active
    });
    let mut active = keep_reading.await.unwrap();
    assert_eq!(live_sessions(&app).await, 1);
    app.create_note(&alice, "still here", "").await;
    assert_eq!(next_json(&mut active).await["type"], "note_created");
    drop(silent);
}

/// Reads the live session count from `GET /metrics`.
async fn live_sessions(app: &TestApp) -> usize {
    let body = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    body.lines()
        .find_map(|line| line.strip_prefix("notes_ws_sessions "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as usize)
        .expect("metrics include notes_ws_sessions")
}

#[actix_web::test]
async fn socket_closes_with_4001_when_token_expires() {
    let app = spawn_app_with(&["--token-ttl", "2s"]).await;
    let alice = app.register("alice").await;
    let (mut socket, _) = app.connect_with_snapshot(&alice).await;

    let frame = expect_close(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(close_code(&frame), Some(4001));
}

#[actix_web::test]
async fn client_close_is_answered_and_session_leaves() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let (mut socket, _) = app.connect_with_snapshot(&alice).await;

    // The session joins the hub just after it queues the snapshot.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while live_sessions(&app).await != 1 {
        assert!(tokio::time::Instant::now() < deadline, "session joined the hub");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    socket.send(Message::Close(None)).await.unwrap();
    let frame = expect_close(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(close_code(&frame), Some(1000));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while live_sessions(&app).await != 0 {
        assert!(tokio::time::Instant::now() < deadline, "session left the hub");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn application_ping_gets_pong() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let (mut socket, _) = app.connect_with_snapshot(&alice).await;

    socket.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next_json(&mut socket).await, json!({"type": "pong"}));

    socket.send(Message::text("not json")).await.unwrap();
    assert_eq!(next_json(&mut socket).await["data"]["code"], "invalid_message");
}

#[actix_web::test]
async fn shutdown_closes_sockets_with_1001() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let (mut socket, _) = app.connect_with_snapshot(&alice).await;

    let shutdown = app.shutdown.clone();
    let stopping = actix_web::rt::spawn(async move { shutdown.shutdown().await });
    let frame = expect_close(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(close_code(&frame), Some(1001));
    stopping.await.unwrap();

    let after = app.client.get(app.url("/healthz")).send().await;
    assert!(after.is_err(), "server stopped accepting");
}

#[actix_web::test]
async fn large_note_and_snapshot_arrive_whole() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    // 100,000 two-byte characters: the largest content, 200 KB of UTF-8.
    let content = "é".repeat(100_000);
    for i in 0..12 {
        app.create_note(&alice, &format!("big {i}"), &content).await;
    }
    let (mut socket, snapshot) = app.connect_with_snapshot(&alice).await;
    let notes = snapshot["data"].as_array().unwrap();
    assert_eq!(notes.len(), 12);
    assert!(notes.iter().all(|note| note["content"] == content.as_str()));

    let created = app.create_note(&alice, "one more", &content).await;
    let event = next_json(&mut socket).await;
    assert_eq!(event["data"], created);
}

#[actix_web::test]
async fn events_have_unique_increasing_seq_across_kinds() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let (mut socket, snapshot) = app.connect_with_snapshot(&alice).await;
    let (mut notes, mut seq) = snapshot_state(&snapshot);

    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(app.create_note(&alice, &format!("n{i}"), "").await["id"].as_str().unwrap().to_owned());
    }
    for id in &ids[..5] {
        app.client.delete(app.url(&format!("/api/notes/{id}"))).bearer_auth(&alice.token).send().await.unwrap();
    }
    let mut seen = BTreeSet::new();
    for event in next_events(&mut socket, 15).await {
        assert!(seen.insert(event["seq"].as_u64().unwrap()));
        apply(&mut notes, &mut seq, &event);
    }
    assert_eq!(notes, by_id(&app.list_notes(&alice).await));
}

#[actix_web::test]
async fn slow_reader_gets_everything_or_a_close() {
    let app = spawn_app_with(&["--ws-outbox", "64"]).await;
    let alice = app.register("alice").await;
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(app.create_note(&alice, &format!("n{i}"), "").await["id"].as_str().unwrap().to_owned());
    }
    let (mut slow, snapshot) = app.connect_with_snapshot(&alice).await;
    let first_seq = snapshot["seq"].as_u64().unwrap();

    // 1,000 updates of 1 KiB, spread over the 50 notes, sent as fast as the
    // API allows by 8 writers.
    let content = "u".repeat(1024);
    let mut writers = Vec::new();
    for writer in 0..8 {
        let client = app.client.clone();
        let token = alice.token.clone();
        let urls: Vec<String> = ids.iter().map(|id| app.url(&format!("/api/notes/{id}"))).collect();
        let content = content.clone();
        writers.push(tokio::spawn(async move {
            for round in 0..125 {
                let url = &urls[(writer * 125 + round) % urls.len()];
                let body = json!({"title": format!("w{writer} r{round}"), "content": content});
                let response = client.put(url).bearer_auth(&token).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 200);
            }
        }));
    }

    // The reader takes one frame every 50 ms for 3 seconds, then reads at
    // full speed. It must either receive all 1,000 events in order, or be
    // closed with a close code that tells it to resynchronize; it must never
    // sit on an open socket that has stopped delivering.
    let mut expected = first_seq + 1;
    let slow_until = tokio::time::Instant::now() + Duration::from_secs(3);
    let outcome = loop {
        if tokio::time::Instant::now() < slow_until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let next = tokio::time::timeout(RECEIVE_TIMEOUT, slow.next()).await.expect("an open socket keeps delivering");
        match next {
            Some(Ok(Message::Text(text))) => {
                let event: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(event["seq"], expected, "events stay in order");
                expected += 1;
                if expected == first_seq + 1001 {
                    break "all delivered";
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let code = close_code(&frame);
                assert!(matches!(code, Some(4008 | 4009)), "closed with a resync code, got {code:?}");
                break "closed";
            }
            Some(Ok(_)) => {}
            other => panic!("unexpected end of the socket: {other:?}"),
        }
    };
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(["all delivered", "closed"].contains(&outcome));

    // Whatever happened to the slow reader, a fresh snapshot matches the store.
    let (_fresh, snapshot) = app.connect_with_snapshot(&alice).await;
    assert_eq!(snapshot["seq"], first_seq + 1000);
    assert_eq!(snapshot["data"].as_array().unwrap().len(), 50);
}
