//! Many concurrent clients on the SQLite store: no request fails with a
//! server error or "database is locked", no update is lost, and a WebSocket
//! client ends with exactly the stored notes.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::watch;

use crate::client::{Api, ClientView, Socket, User, by_id, next_json, note_id, note_version};
use crate::process::Deployment;

/// Number of concurrent clients.
const CLIENTS: usize = 50;

/// Requests per client.
const OPERATIONS_PER_CLIENT: usize = 20;

/// Notes that every client of the same user may update, and that clients
/// of the other user try to change and get 403 for.
const SHARED_NOTES_PER_USER: usize = 10;

/// One kind of request, with the statuses it may get.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Operation {
    CreateOwn,
    UpdateOwnVersioned,
    UpdateOwnUnversioned,
    DeleteOwn,
    UpdateSharedVersioned,
    UpdateSharedUnversioned,
    DeleteShared,
}

impl Operation {
    /// Picks an operation. Deletes of shared notes are rare, so most of the
    /// shared notes stay for the contended updates.
    fn pick(rng: &mut StdRng) -> Self {
        match rng.random_range(0..100) {
            0..25 => Self::CreateOwn,
            25..40 => Self::UpdateOwnVersioned,
            40..50 => Self::UpdateOwnUnversioned,
            50..58 => Self::DeleteOwn,
            58..75 => Self::UpdateSharedVersioned,
            75..98 => Self::UpdateSharedUnversioned,
            _ => Self::DeleteShared,
        }
    }

    /// Returns the statuses this request may get. A client's own notes are
    /// written by that client only, so those requests always succeed. A
    /// shared note may belong to the other user (403), may have been deleted
    /// (404), and a versioned update may be stale (409).
    fn allowed_statuses(self) -> &'static [StatusCode] {
        match self {
            Self::CreateOwn => &[StatusCode::CREATED],
            Self::UpdateOwnVersioned | Self::UpdateOwnUnversioned | Self::DeleteOwn => &[StatusCode::OK],
            Self::UpdateSharedVersioned => {
                &[StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND, StatusCode::CONFLICT]
            }
            Self::UpdateSharedUnversioned | Self::DeleteShared => {
                &[StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND]
            }
        }
    }

    fn is_delete(self) -> bool {
        matches!(self, Self::DeleteOwn | Self::DeleteShared)
    }
}

/// One request and its response.
#[derive(Debug)]
struct Outcome {
    // Read only through Debug, in failure messages.
    #[allow(dead_code)]
    client: usize,
    operation: Operation,
    note_id: String,
    status: StatusCode,
    body: String,
}

impl Outcome {
    fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// Returns the note that a successful create or update returned.
    fn note(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("response is a note ({error}): {self:?}"))
    }
}

/// Runs one client: a seeded random mix of requests on its own notes and on
/// the shared notes.
async fn run_client(api: Api, client: usize, user: User, shared: Vec<String>) -> Vec<Outcome> {
    let mut rng = StdRng::seed_from_u64(client as u64);
    let mut own: Vec<(String, u64)> = Vec::new();
    let mut shared_versions: HashMap<String, u64> = shared.iter().map(|id| (id.clone(), 1)).collect();
    let mut outcomes = Vec::with_capacity(OPERATIONS_PER_CLIENT);

    for step in 0..OPERATIONS_PER_CLIENT {
        let mut operation = Operation::pick(&mut rng);
        let needs_own =
            matches!(operation, Operation::UpdateOwnVersioned | Operation::UpdateOwnUnversioned | Operation::DeleteOwn);
        if needs_own && own.is_empty() {
            operation = Operation::CreateOwn;
        }
        let title = format!("client {client} step {step}");
        let content = format!("written by client {client} at step {step}");

        let (note_id, response) = match operation {
            Operation::CreateOwn => {
                let response = api.try_create_note(&user.token, &title, &content).await.expect("send POST /api/notes");
                (String::new(), response)
            }
            Operation::UpdateOwnVersioned | Operation::UpdateOwnUnversioned | Operation::DeleteOwn => {
                let (id, version) = own[rng.random_range(0..own.len())].clone();
                let response = match operation {
                    Operation::UpdateOwnVersioned => {
                        api.update_note(&user.token, &id, &title, &content, Some(version)).await
                    }
                    Operation::UpdateOwnUnversioned => api.update_note(&user.token, &id, &title, &content, None).await,
                    _ => api.delete_note(&user.token, &id).await,
                };
                (id, response)
            }
            Operation::UpdateSharedVersioned | Operation::UpdateSharedUnversioned | Operation::DeleteShared => {
                let id = shared[rng.random_range(0..shared.len())].clone();
                let response = match operation {
                    Operation::UpdateSharedVersioned => {
                        let version = shared_versions[&id];
                        api.update_note(&user.token, &id, &title, &content, Some(version)).await
                    }
                    Operation::UpdateSharedUnversioned => {
                        api.update_note(&user.token, &id, &title, &content, None).await
                    }
                    _ => api.delete_note(&user.token, &id).await,
                };
                (id, response)
            }
        };

        let status = response.status();
        let body = response.text().await.expect("read the response body");
        let mut outcome = Outcome { client, operation, note_id, status, body };

        // Track the latest version of each note that this client has seen.
        if outcome.is_success() && !operation.is_delete() {
            let note = outcome.note();
            outcome.note_id = crate::client::note_id(&note);
            match operation {
                Operation::CreateOwn => own.push((outcome.note_id.clone(), note_version(&note))),
                Operation::UpdateOwnVersioned | Operation::UpdateOwnUnversioned => {
                    if let Some(entry) = own.iter_mut().find(|(id, _)| *id == outcome.note_id) {
                        entry.1 = note_version(&note);
                    }
                }
                _ => {
                    shared_versions.insert(outcome.note_id.clone(), note_version(&note));
                }
            }
        }
        if outcome.is_success() && operation == Operation::DeleteOwn {
            own.retain(|(id, _)| *id != outcome.note_id);
        }
        if status == StatusCode::CONFLICT {
            // A conflict carries the current note, as a client would use it.
            let body: Value = serde_json::from_str(&outcome.body).expect("a conflict body is JSON");
            shared_versions.insert(outcome.note_id.clone(), note_version(&body["error"]["current"]));
        }
        outcomes.push(outcome);
    }
    outcomes
}

/// Applies events until the target seq arrives over `target`, then returns
/// the view.
async fn follow_events(
    mut socket: Socket,
    mut view: ClientView,
    mut target: watch::Receiver<Option<u64>>,
) -> ClientView {
    loop {
        let reached = target.borrow().is_some_and(|target| view.seq >= target);
        if reached {
            return view;
        }
        tokio::select! {
            changed = target.changed() => changed.expect("the test keeps the target sender until the end"),
            event = next_json(&mut socket) => view.apply(&event),
        }
    }
}

/// The successful writes of one note.
#[derive(Default)]
struct NoteHistory {
    /// The note as each successful create and update returned it.
    versions: Vec<Value>,
    /// Number of successful deletes.
    deletes: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_fifty_clients_lose_nothing() {
    let deployment = Deployment::sqlite();
    let server = deployment.start().await;
    let api = server.api.clone();
    let users = [api.register("alice").await, api.register("bob").await];

    let mut histories: BTreeMap<String, NoteHistory> = BTreeMap::new();
    let mut shared = Vec::new();
    for user in &users {
        for index in 0..SHARED_NOTES_PER_USER {
            let note = api.create_note(&user.token, &format!("shared note {index}"), "first version").await;
            shared.push(note_id(&note));
            histories.entry(note_id(&note)).or_default().versions.push(note);
        }
    }

    let (socket, snapshot) = api.connect(&users[0].token).await;
    let view = ClientView::from_snapshot(&snapshot);
    let seq_at_connect = view.seq;
    let (target_sender, target_receiver) = watch::channel(None);
    let follower = tokio::spawn(follow_events(socket, view, target_receiver));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            tokio::spawn(run_client(api.clone(), client, users[client % users.len()].clone(), shared.clone()))
        })
        .collect();
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.expect("client task did not panic"));
    }
    assert_eq!(outcomes.len(), CLIENTS * OPERATIONS_PER_CLIENT);

    let server_errors: Vec<_> = outcomes.iter().filter(|outcome| outcome.status.is_server_error()).collect();
    assert!(
        server_errors.is_empty(),
        "{} requests failed with a server error: {server_errors:#?}",
        server_errors.len()
    );
    let locked: Vec<_> = outcomes.iter().filter(|outcome| outcome.body.to_lowercase().contains("locked")).collect();
    assert!(locked.is_empty(), "{} responses mention a lock: {locked:#?}", locked.len());
    let unexpected: Vec<_> =
        outcomes.iter().filter(|outcome| !outcome.operation.allowed_statuses().contains(&outcome.status)).collect();
    assert!(unexpected.is_empty(), "{} responses have an unexpected status: {unexpected:#?}", unexpected.len());
    assert!(
        !server.stderr().to_lowercase().contains("database is locked"),
        "server log mentions a locked database:\n{}",
        server.stderr()
    );

    let mut successful_writes = 0;
    for outcome in outcomes.iter().filter(|outcome| outcome.is_success()) {
        successful_writes += 1;
        let history = histories.entry(outcome.note_id.clone()).or_default();
        if outcome.operation.is_delete() {
            history.deletes += 1;
        } else {
            history.versions.push(outcome.note());
        }
    }

    let stored_list = api.list_notes(&users[0].token).await;
    let stored = by_id(&stored_list);
    assert_eq!(stored.len(), stored_list.len(), "GET /api/notes lists each note once");
    for id in stored.keys() {
        assert!(histories.contains_key(id), "stored note {id} was never created by this test");
    }
    for (id, history) in &mut histories {
        history.versions.sort_by_key(note_version);
        let versions: Vec<u64> = history.versions.iter().map(note_version).collect();
        let expected_versions: Vec<u64> = (1..=versions.len() as u64).collect();
        assert_eq!(
            versions, expected_versions,
            "note {id}: each successful write returned the next version, none twice"
        );
        assert!(history.deletes <= 1, "note {id} was deleted {} times", history.deletes);

        if history.deletes == 1 {
            assert!(!stored.contains_key(id), "note {id} was deleted but is still listed");
        } else {
            let last = history.versions.last().expect("a created note has version 1");
            assert_eq!(stored.get(id), Some(last), "note {id} is stored as its last successful write returned it");
        }
    }

    target_sender.send(Some(seq_at_connect + successful_writes)).expect("the follower is running");
    let view = follower.await.expect("the WebSocket follower did not panic");
    assert_eq!(view.seq, seq_at_connect + successful_writes, "one event per successful write");
    assert_eq!(view.notes, stored, "the WebSocket view matches GET /api/notes");

    let (_socket, snapshot) = api.connect(&users[1].token).await;
    assert_eq!(snapshot["seq"], view.seq, "a new snapshot has the seq of the last event");
    assert_eq!(ClientView::from_snapshot(&snapshot).notes, stored, "a new snapshot matches GET /api/notes");

    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}
