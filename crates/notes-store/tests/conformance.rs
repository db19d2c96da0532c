//! One conformance suite for every store backend.
//!
//! Each test is an `async fn` that takes a fresh, empty store. The
//! `conformance!` macro instantiates every test for one backend, so a new
//! backend gets the whole suite by adding one macro call.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use notes_core::{ChangeKind, Email, NewNote, NoteUpdate, PasswordHash, RuleError, StoredUser, User};
use notes_store::{Store, StoreError};

fn stored_user(name: &str, email: &str) -> StoredUser {
    let email = Email::parse(email).expect("test email is valid");
    StoredUser::new(name.to_owned(), &email, PasswordHash::new("$2b$04$not.a.real.hash".to_owned()))
}

async fn register(store: &dyn Store, name: &str) -> User {
    let user = stored_user(name, &format!("{name}@example.com"));
    store.create_user(user.clone()).await.expect("create user");
    user.user
}

fn new_note(title: &str, content: &str) -> NewNote {
    NewNote::new(title, content).expect("test note is valid")
}

pub async fn user_lookup_by_email_and_id(store: Arc<dyn Store>) {
    let alice = stored_user("alice", "Alice.Smith@Example.COM");
    store.create_user(alice.clone()).await.unwrap();

    let by_email = store.user_by_email(&Email::parse("alice.smith@example.com").unwrap()).await.unwrap();
    assert_eq!(by_email, Some(alice.clone()));

    let by_id = store.user_by_id(alice.user.id).await.unwrap();
    assert_eq!(by_id, Some(alice.user.clone()));

    let unknown = store.user_by_email(&Email::parse("bob@example.com").unwrap()).await.unwrap();
    assert_eq!(unknown, None);
}

pub async fn duplicate_email_is_conflict(store: Arc<dyn Store>) {
    store.create_user(stored_user("alice", "alice@example.com")).await.unwrap();

    let second = store.create_user(stored_user("alice2", " ALICE@example.com ")).await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");

    let dump = store.export().await.unwrap();
    assert_eq!(dump.users.len(), 1);
}

pub async fn simultaneous_registrations_one_wins(store: Arc<dyn Store>) {
    for round in 0..3 {
        let email = format!("race{round}@example.com");
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            let barrier = barrier.clone();
            let user = stored_user(&format!("racer{i}"), &email);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store.create_user(user).await
            }));
        }

        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => created += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(created, 1, "round {round}");
    }
    assert_eq!(store.export().await.unwrap().users.len(), 3);
}

pub async fn create_note_assigns_seq_and_version(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    assert_eq!(store.current_seq().await.unwrap(), 0);

    let committed = store.create_note(&alice, new_note("Groceries", "milk\neggs")).await.unwrap();
    assert_eq!(committed.event.seq, 1);
    assert_eq!(committed.note.version, 1);
    assert_eq!(committed.note.author, "alice");
    assert_eq!(committed.event.kind, ChangeKind::NoteCreated(committed.note.clone()));

    let stored = store.get_note(committed.note.id).await.unwrap();
    assert_eq!(stored, committed.note);
    assert_eq!(store.current_seq().await.unwrap(), 1);
}

pub async fn list_is_newest_first(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let first = store.create_note(&alice, new_note("first", "")).await.unwrap().note;
    let second = store.create_note(&alice, new_note("second", "")).await.unwrap().note;
    let third = store.create_note(&alice, new_note("third", "")).await.unwrap().note;

    // Updating the first note moves it to the top.
    let update = NoteUpdate::new("first, edited", "", Some(1)).unwrap();
    store.update_note(alice.id, first.id, update).await.unwrap();

    let titles: Vec<String> = store.list_notes().await.unwrap().into_iter().map(|note| note.title).collect();
    assert_eq!(titles, ["first, edited", "third", "second"]);

    let snapshot = store.snapshot().await.unwrap();
    assert_eq!(snapshot.seq, 4);
    assert_eq!(snapshot.notes.len(), 3);
    assert_eq!(snapshot.notes[1].id, third.id);
    assert_eq!(snapshot.notes[2].id, second.id);
}

pub async fn pages_cover_the_listing_once(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    for i in 0..7 {
        store.create_note(&alice, new_note(&format!("n{i}"), "")).await.unwrap();
    }
    let all = store.list_notes().await.unwrap();

    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_notes_page(cursor, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        cursor = Some(notes_store::PageCursor::after(last));
        paged.extend(page);
    }
    assert_eq!(paged, all);
    assert!(store.list_notes_page(None, 0).await.unwrap().is_empty());
    assert_eq!(store.list_notes_page(None, 100).await.unwrap(), all);
}

pub async fn owner_update_bumps_version(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let note = store.create_note(&alice, new_note("Plan", "v1")).await.unwrap().note;

    let update = NoteUpdate::new("Plan", "v2", Some(1)).unwrap();
    let committed = store.update_note(alice.id, note.id, update).await.unwrap();
    assert_eq!(committed.note.version, 2);
    assert_eq!(committed.event.seq, 2);
    assert_eq!(committed.event.kind, ChangeKind::NoteUpdated(committed.note.clone()));
    assert!(committed.note.updated_at >= note.updated_at);
    assert_eq!(committed.note.created_at, note.created_at);

    let without_version = NoteUpdate::new("Plan", "v3", None).unwrap();
    let committed = store.update_note(alice.id, note.id, without_version).await.unwrap();
    assert_eq!(committed.note.version, 3);
    assert_eq!(store.get_note(note.id).await.unwrap(), committed.note);
}

pub async fn stale_version_is_rejected(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let note = store.create_note(&alice, new_note("Plan", "v1")).await.unwrap().note;
    store.update_note(alice.id, note.id, NoteUpdate::new("Plan", "v2", Some(1)).unwrap()).await.unwrap();

    let stale = NoteUpdate::new("Plan", "lost?", Some(1)).unwrap();
    match store.update_note(alice.id, note.id, stale).await {
        Err(StoreError::Rule(RuleError::VersionConflict { expected, current })) => {
            assert_eq!(expected, 1);
            assert_eq!(current.version, 2);
            assert_eq!(current.content, "v2");
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }

    // A rejected write consumes no sequence number.
    assert_eq!(store.current_seq().await.unwrap(), 2);
    assert_eq!(store.get_note(note.id).await.unwrap().content, "v2");
}

pub async fn other_user_cannot_change_note(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let bob = register(&*store, "bob").await;
    let note = store.create_note(&alice, new_note("Mine", "")).await.unwrap().note;

    let update = store.update_note(bob.id, note.id, NoteUpdate::new("Bob's", "", None).unwrap()).await;
    assert!(matches!(update, Err(StoreError::Rule(RuleError::NotOwner))), "{update:?}");

    let delete = store.delete_note(bob.id, note.id).await;
    assert!(matches!(delete, Err(StoreError::Rule(RuleError::NotOwner))), "{delete:?}");

    assert_eq!(store.get_note(note.id).await.unwrap(), note);
    assert_eq!(store.current_seq().await.unwrap(), 1);
}

pub async fn delete_removes_note(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let note = store.create_note(&alice, new_note("Old plan", "")).await.unwrap().note;

    let committed = store.delete_note(alice.id, note.id).await.unwrap();
    assert_eq!(committed.note.id, note.id);
    assert_eq!(committed.event.seq, 2);
    assert_eq!(committed.event.kind, ChangeKind::NoteDeleted { id: note.id });

    assert!(matches!(store.get_note(note.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_note(alice.id, note.id).await, Err(StoreError::NotFound)));
    let update = store.update_note(alice.id, note.id, NoteUpdate::new("x", "", None).unwrap()).await;
    assert!(matches!(update, Err(StoreError::NotFound)));
    assert!(store.list_notes().await.unwrap().is_empty());
}

pub async fn concurrent_updates_one_wins(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let note = store.create_note(&alice, new_note("Shared", "v1")).await.unwrap().note;

    let barrier = Arc::new(tokio::sync::Barrier::new(10));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        let barrier = barrier.clone();
        let update = NoteUpdate::new("Shared", &format!("writer {i}"), Some(1)).unwrap();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.update_note(alice.id, note.id, update).await
        }));
    }

    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(committed) => winners.push(committed.note),
            Err(StoreError::Rule(RuleError::VersionConflict { .. })) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(store.get_note(note.id).await.unwrap(), winners[0]);
    assert_eq!(winners[0].version, 2);
}

pub async fn concurrent_creates_have_gap_free_seq(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let alice = alice.clone();
        tasks.push(tokio::spawn(async move { store.create_note(&alice, new_note(&format!("n{i}"), "")).await }));
    }

    let mut seqs = BTreeSet::new();
    for task in tasks {
        seqs.insert(task.await.unwrap().unwrap().event.seq);
    }
    assert_eq!(seqs, (1..=50).collect::<BTreeSet<_>>());
    assert_eq!(store.snapshot().await.unwrap().notes.len(), 50);
}

pub async fn changes_since_replays_in_order(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let note = store.create_note(&alice, new_note("a", "")).await.unwrap().note;
    store.update_note(alice.id, note.id, NoteUpdate::new("b", "", None).unwrap()).await.unwrap();
    store.delete_note(alice.id, note.id).await.unwrap();

    let all = store.changes_since(0, 100).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(matches!(all[0].kind, ChangeKind::NoteCreated(_)));
    assert!(matches!(all[1].kind, ChangeKind::NoteUpdated(ref n) if n.title == "b"));
    assert_eq!(all[2].kind, ChangeKind::NoteDeleted { id: note.id });

    let tail = store.changes_since(1, 1).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].seq, 2);
    assert!(store.changes_since(3, 100).await.unwrap().is_empty());
}

pub async fn unicode_content_round_trips(store: Arc<dyn Store>) {
    let stored_alice = stored_user("Zoë \u{1F469}\u{200D}\u{1F4BB}", "zoe@example.com");
    store.create_user(stored_alice.clone()).await.unwrap();
    let alice = stored_alice.user;
    let content = "line one\nline two\r\n\ttabbed \u{1F600} e\u{0301} \u{7F}";
    let note = store.create_note(&alice, new_note("\u{1F4DD} título", content)).await.unwrap().note;

    let stored = store.get_note(note.id).await.unwrap();
    assert_eq!(stored.content, content);
    assert_eq!(stored.title, "\u{1F4DD} título");
    assert_eq!(stored.author, alice.username);
}

pub async fn snapshot_matches_seq_during_writes(store: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;

    // Each write creates one note, so a consistent snapshot has exactly as
    // many notes as its sequence number.
    let writer = {
        let store = store.clone();
        let alice = alice.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                store.create_note(&alice, new_note(&format!("n{i}"), "")).await.expect("create note");
            }
        })
    };
    for _ in 0..40 {
        let snapshot = store.snapshot().await.unwrap();
        assert_eq!(snapshot.notes.len() as u64, snapshot.seq);
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();

    let last = store.snapshot().await.unwrap();
    assert_eq!(last.seq, 40);
    assert_eq!(last.notes.len(), 40);
}

pub async fn export_import_round_trip(store: Arc<dyn Store>, fresh: Arc<dyn Store>) {
    let alice = register(&*store, "alice").await;
    let bob = register(&*store, "bob").await;
    let note = store.create_note(&alice, new_note("a", "content")).await.unwrap().note;
    store.create_note(&bob, new_note("b", "")).await.unwrap();
    store.update_note(alice.id, note.id, NoteUpdate::new("a2", "more", None).unwrap()).await.unwrap();

    let dump = store.export().await.unwrap();
    assert_eq!(dump.users.len(), 2);
    assert_eq!(dump.notes.len(), 2);

    // A version that no store can hold is refused before anything is written.
    for version in [0, notes_store::MAX_VERSION + 1, u64::MAX] {
        let mut bad = dump.clone();
        bad.notes[0].version = version;
        let result = fresh.import(bad).await;
        assert!(matches!(result, Err(StoreError::InvalidDump(_))), "version {version}: {result:?}");
        let empty = fresh.export().await.unwrap();
        assert!(empty.users.is_empty(), "version {version} left users behind");
        assert!(empty.notes.is_empty(), "version {version} left notes behind");
    }

    fresh.import(dump.clone()).await.unwrap();
    assert_eq!(fresh.export().await.unwrap(), dump);
    assert_eq!(fresh.get_note(note.id).await.unwrap().version, 2);

    let login = fresh.user_by_email(&Email::parse("alice@example.com").unwrap()).await.unwrap().unwrap();
    assert_eq!(login.password_hash, dump.users.iter().find(|u| u.user.id == alice.id).unwrap().password_hash);

    // Import refuses a store that has data.
    assert!(matches!(store.import(dump).await, Err(StoreError::NotEmpty)));
}

/// A note imported at the highest version cannot change again, the store
/// returns the reason, and the writes after it still succeed.
pub async fn update_at_highest_version_is_rejected(store: Arc<dyn Store>, source: Arc<dyn Store>) {
    let alice = register(&*source, "alice").await;
    let note = source.create_note(&alice, new_note("last", "")).await.unwrap().note;
    let mut dump = source.export().await.unwrap();
    dump.notes[0].version = notes_store::MAX_VERSION;
    store.import(dump).await.unwrap();

    let update = store.update_note(alice.id, note.id, NoteUpdate::new("again", "", None).unwrap()).await;
    assert!(matches!(update, Err(StoreError::Rule(RuleError::VersionLimit))), "{update:?}");
    assert_eq!(store.get_note(note.id).await.unwrap().version, notes_store::MAX_VERSION);

    let next = store.create_note(&alice, new_note("next", "")).await.unwrap();
    assert_eq!(next.note.version, 1);
}

/// Instantiates every conformance test for one backend. `$make` is an async
/// expression that returns a fresh, empty `Arc<dyn Store>`.
#[macro_export]
macro_rules! conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let store: Arc<dyn Store> = $make.await;
                        super::$name(store).await;
                    }
                };
            }

            case!(user_lookup_by_email_and_id);
            case!(duplicate_email_is_conflict);
            case!(simultaneous_registrations_one_wins);
            case!(create_note_assigns_seq_and_version);
            case!(list_is_newest_first);
            case!(owner_update_bumps_version);
            case!(pages_cover_the_listing_once);
            case!(stale_version_is_rejected);
            case!(other_user_cannot_change_note);
            case!(delete_removes_note);
            case!(concurrent_updates_one_wins);
            case!(concurrent_creates_have_gap_free_seq);
            case!(changes_since_replays_in_order);
            case!(unicode_content_round_trips);
            case!(snapshot_matches_seq_during_writes);

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn export_import_round_trip() {
                let store: Arc<dyn Store> = $make.await;
                let fresh: Arc<dyn Store> = $make.await;
                super::export_import_round_trip(store, fresh).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn update_at_highest_version_is_rejected() {
                let store: Arc<dyn Store> = $make.await;
                let source: Arc<dyn Store> = $make.await;
                super::update_at_highest_version_is_rejected(store, source).await;
            }
        }
    };
}

conformance!(memory, support::memory());
#[cfg(feature = "sqlite")]
conformance!(sqlite, support::sqlite());
#[cfg(feature = "postgres")]
conformance!(postgres, support::postgres());
