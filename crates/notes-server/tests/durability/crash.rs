//! SIGKILL or SIGTERM while clients write: every note whose create was
//! acknowledged with 201 is there after the restart, exactly as acknowledged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::client::{Api, by_id, note_id};
use crate::process::Deployment;

/// Number of concurrent writers.
const WRITERS: usize = 4;

/// Maximum creates per writer, so a writer stops even if the stop never
/// reaches it.
const MAX_CREATES_PER_WRITER: usize = 50_000;

/// How long the writers run before the stop, at least.
const WRITE_TIME: Duration = Duration::from_millis(1500);

/// Acknowledged creates to wait for before the stop, so that the check has
/// something to check on a slow machine too.
const MIN_ACKNOWLEDGED: usize = 20;

/// How the server is stopped while the writers run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stop {
    /// SIGKILL, as a crash or the OOM killer ends the process.
    Kill,
    /// SIGTERM, the graceful stop: requests in flight finish first.
    Terminate,
}

/// What one writer saw.
#[derive(Default)]
struct WriterLog {
    /// Every note whose create returned 201, with the returned JSON.
    acknowledged: Vec<Value>,
    /// Responses other than 201, and transport errors before the stop.
    unexpected: Vec<String>,
}

async fn write_until_stopped(
    api: Api,
    token: String,
    writer: usize,
    stopped: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
) -> WriterLog {
    let mut log = WriterLog::default();
    for index in 0..MAX_CREATES_PER_WRITER {
        if stopped.load(Ordering::SeqCst) {
            break;
        }
        let title = format!("writer {writer} note {index}");
        let content = format!("content of note {index} by writer {writer}\nsecond line");
        let response = match api.try_create_note(&token, &title, &content).await {
            Ok(response) => response,
            Err(error) => {
                if !stopped.load(Ordering::SeqCst) {
                    log.unexpected.push(format!("{title}: request failed before the stop: {error}"));
                }
                break;
            }
        };
        let status = response.status();
        // A body cut off by the stop is not an acknowledgment the client could use.
        let Ok(body) = response.text().await else { break };
        if status != StatusCode::CREATED {
            log.unexpected.push(format!("{title}: status {status}: {body}"));
            continue;
        }
        let note: Value = serde_json::from_str(&body)
            .unwrap_or_else(|error| panic!("create returned invalid JSON ({error}): {body}"));
        log.acknowledged.push(note);
        acknowledged.fetch_add(1, Ordering::SeqCst);
    }
    log
}

async fn check_stop_keeps_acknowledged_notes(deployment: &Deployment, stop: Stop) {
    let server = deployment.start().await;
    let api = server.api.clone();
    let users = [api.register("alice").await, api.register("bob").await];

    let stopped = Arc::new(AtomicBool::new(false));
    let acknowledged_count = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let token = users[writer % users.len()].token.clone();
            tokio::spawn(write_until_stopped(api.clone(), token, writer, stopped.clone(), acknowledged_count.clone()))
        })
        .collect();

    tokio::time::sleep(WRITE_TIME).await;
    for _ in 0..200 {
        if acknowledged_count.load(Ordering::SeqCst) >= MIN_ACKNOWLEDGED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The flag is set before the signal, so a writer whose request fails
    // afterwards does not report the failure as unexpected.
    stopped.store(true, Ordering::SeqCst);
    match stop {
        Stop::Kill => server.kill().await,
        Stop::Terminate => {
            let status = server.terminate().await;
            assert_eq!(status.code(), Some(0), "exit status after SIGTERM under load");
        }
    }

    let mut acknowledged = Vec::new();
    let mut unexpected = Vec::new();
    for writer in writers {
        let log = writer.await.expect("writer task did not panic");
        acknowledged.extend(log.acknowledged);
        unexpected.extend(log.unexpected);
    }
    assert!(unexpected.is_empty(), "unexpected results before the {stop:?}:\n{}", unexpected.join("\n"));
    assert!(
        acknowledged.len() >= MIN_ACKNOWLEDGED,
        "only {} creates were acknowledged before the {stop:?}",
        acknowledged.len()
    );

    let server = deployment.start().await;
    let stored_list = server.api.list_notes(&users[0].token).await;
    let stored = by_id(&stored_list);
    assert_eq!(stored.len(), stored_list.len(), "GET /api/notes lists each note once");

    let mut missing = Vec::new();
    for note in &acknowledged {
        match stored.get(&note_id(note)) {
            Some(found) => assert_eq!(found, note, "stored note equals the acknowledged one"),
            None => missing.push(note_id(note)),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged notes are missing after the {stop:?}: {missing:?}",
        missing.len(),
        acknowledged.len()
    );

    // Only creates ran, so the change sequence equals the number of stored
    // notes, provided that a note and its sequence number commit together.
    let (_socket, snapshot) = server.api.connect(&users[0].token).await;
    assert_eq!(snapshot["seq"], stored.len(), "snapshot seq after the {stop:?} equals the number of stored notes");

    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_keeps_acknowledged_notes() {
    check_stop_keeps_acknowledged_notes(&Deployment::sqlite(), Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_keeps_acknowledged_notes() {
    check_stop_keeps_acknowledged_notes(&Deployment::postgres().await, Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigterm_under_load_keeps_acknowledged_notes() {
    check_stop_keeps_acknowledged_notes(&Deployment::sqlite(), Stop::Terminate).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigterm_under_load_keeps_acknowledged_notes() {
    check_stop_keeps_acknowledged_notes(&Deployment::postgres().await, Stop::Terminate).await;
}
