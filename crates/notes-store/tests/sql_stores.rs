//! Tests of the SQL stores beyond the conformance suite: data that survives a
//! reopen, the bounded change log, the schema version check, and writers
//! that compete for the database.
//!
//! Each test is an `async fn` that takes the URL of a fresh database, and the
//! `sql_store_tests!` macro instantiates them for one backend.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use notes_core::{Email, NewNote, NoteUpdate, PasswordHash, RuleError, StoredUser, User};
use notes_store::{OpenOptions, Store, StoreError};

fn options_with_capacity(change_log_capacity: usize) -> OpenOptions {
    OpenOptions { change_log_capacity, ..OpenOptions::default() }
}

async fn open(url: &str) -> Arc<dyn Store> {
    notes_store::open(url, &OpenOptions::default()).await.expect("open store")
}

async fn register(store: &dyn Store, name: &str) -> User {
    let email = Email::parse(&format!("{name}@example.com")).expect("test email is valid");
    let user = StoredUser::new(name.to_owned(), &email, PasswordHash::new(format!("$2b$04$hash.of.{name}")));
    store.create_user(user.clone()).await.expect("create user");
    user.user
}

fn new_note(title: &str) -> NewNote {
    NewNote::new(title, "content").expect("test note is valid")
}

pub async fn reopen_keeps_everything(url: String) {
    let store = open(&url).await;
    let alice = register(&*store, "alice").await;
    let bob = register(&*store, "bob").await;
    let edited_note = store.create_note(&alice, new_note("kept")).await.unwrap().note;
    let deleted_note = store.create_note(&bob, new_note("gone")).await.unwrap().note;
    store
        .update_note(alice.id, edited_note.id, NoteUpdate::new("kept, edited", "more", Some(1)).unwrap())
        .await
        .unwrap();
    store.delete_note(bob.id, deleted_note.id).await.unwrap();

    let dump = store.export().await.unwrap();
    let events = store.changes_since(0, 100).await.unwrap();
    drop(store);

    let reopened = open(&url).await;
    assert_eq!(reopened.export().await.unwrap(), dump);
    assert_eq!(reopened.current_seq().await.unwrap(), 4);
    assert_eq!(reopened.changes_since(0, 100).await.unwrap(), events);

    let login = reopened.user_by_email(&Email::parse("alice@example.com").unwrap()).await.unwrap();
    assert_eq!(login.map(|stored| stored.password_hash), Some(PasswordHash::new("$2b$04$hash.of.alice".into())));

    // The sequence continues from the last committed write.
    let next = reopened.create_note(&bob, new_note("after reopen")).await.unwrap();
    assert_eq!(next.event.seq, 5);
}

pub async fn change_log_trims_to_capacity(url: String) {
    let store = notes_store::open(&url, &options_with_capacity(3)).await.expect("open store");
    let alice = register(&*store, "alice").await;
    for i in 0..5 {
        store.create_note(&alice, new_note(&format!("n{i}"))).await.unwrap();
    }

    let seqs: Vec<u64> = store.changes_since(0, 100).await.unwrap().iter().map(|event| event.seq).collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert_eq!(store.current_seq().await.unwrap(), 5);
    drop(store);

    // A smaller capacity applies from the next write on.
    let store = notes_store::open(&url, &options_with_capacity(2)).await.expect("reopen store");
    store.create_note(&alice, new_note("n5")).await.unwrap();
    let seqs: Vec<u64> = store.changes_since(0, 100).await.unwrap().iter().map(|event| event.seq).collect();
    assert_eq!(seqs, [5, 6]);

    // A capacity of zero keeps no events, like the memory store.
    drop(store);
    let store = notes_store::open(&url, &options_with_capacity(0)).await.expect("reopen store");
    store.create_note(&alice, new_note("n6")).await.unwrap();
    assert!(store.changes_since(0, 100).await.unwrap().is_empty());
    assert_eq!(store.current_seq().await.unwrap(), 7);
}

/// Checks that a database with a migration from a newer program is rejected.
/// `add_future_migration` records migration 9999 as applied.
pub async fn newer_schema_is_rejected<F>(url: String, add_future_migration: impl FnOnce(String) -> F)
where
    F: Future<Output = ()>,
{
    let store = open(&url).await;
    let alice = register(&*store, "alice").await;
    store.create_note(&alice, new_note("before")).await.unwrap();
    drop(store);

    add_future_migration(url.clone()).await;

    match notes_store::open(&url, &OpenOptions::default()).await {
        Err(StoreError::Incompatible(message)) => {
            assert!(message.contains("schema version 9999"), "{message}");
            assert!(message.contains("max 1"), "{message}");
            assert!(message.contains("upgrade notes-server"), "{message}");
        }
        Err(other) => panic!("expected an incompatible database error, got {other:?}"),
        Ok(_) => panic!("a database from a newer program was opened"),
    }
}

pub async fn two_stores_share_one_sequence(url: String) {
    // Two stores on one database stand for two server processes.
    let first = open(&url).await;
    let second = open(&url).await;
    let alice = register(&*first, "alice").await;

    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { first.clone() } else { second.clone() };
        let alice = alice.clone();
        tasks.push(tokio::spawn(async move { store.create_note(&alice, new_note(&format!("n{i}"))).await }));
    }
    let mut seqs = BTreeSet::new();
    for task in tasks {
        let committed = task.await.unwrap().expect("create note");
        seqs.insert(committed.event.seq);
    }
    assert_eq!(seqs, (1..=40).collect::<BTreeSet<_>>());

    let replayed: Vec<u64> = second.changes_since(0, 100).await.unwrap().iter().map(|event| event.seq).collect();
    assert_eq!(replayed, (1..=40).collect::<Vec<_>>());
    assert_eq!(first.snapshot().await.unwrap().notes.len(), 40);
}

pub async fn concurrent_mixed_writes_fail_only_by_rule(url: String) {
    let store = open(&url).await;
    let alice = register(&*store, "alice").await;
    let bob = register(&*store, "bob").await;
    let mut notes = Vec::new();
    for i in 0..10 {
        notes.push(store.create_note(&alice, new_note(&format!("a{i}"))).await.unwrap().note);
    }
    let seq_before = store.current_seq().await.unwrap();

    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let barrier = barrier.clone();
        let (alice, bob) = (alice.clone(), bob.clone());
        let note = notes[i % notes.len()].clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            match i % 5 {
                0 => store.create_note(&bob, new_note(&format!("b{i}"))).await,
                1 => store.update_note(alice.id, note.id, NoteUpdate::new("v", "", Some(1)).unwrap()).await,
                2 => store.update_note(bob.id, note.id, NoteUpdate::new("bob", "", None).unwrap()).await,
                3 => store.delete_note(alice.id, note.id).await,
                _ => store.update_note(alice.id, note.id, NoteUpdate::new("w", "", None).unwrap()).await,
            }
        }));
    }

    let mut committed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => committed += 1,
            Err(StoreError::Rule(RuleError::NotOwner | RuleError::VersionConflict { .. })) => {}
            Err(StoreError::NotFound) => {}
            Err(other) => panic!("a write failed for a reason other than the note rules: {other:?}"),
        }
    }
    assert!(committed >= 10, "only {committed} writes committed");

    // Every committed write, and nothing else, took a sequence number.
    let seq_after = store.current_seq().await.unwrap();
    assert_eq!(seq_after - seq_before, committed);
    let replayed: Vec<u64> =
        store.changes_since(seq_before, 100).await.unwrap().iter().map(|event| event.seq).collect();
    assert_eq!(replayed, (seq_before + 1..=seq_after).collect::<Vec<_>>());
}

/// Instantiates every test of this file for one backend. `$url` is an async
/// expression that returns `(url, guard)`: the URL of a fresh database and a
/// value that keeps it alive.
macro_rules! sql_store_tests {
    ($backend:ident, $url:expr, $add_future_migration:path) => {
        mod $backend {
            use super::*;

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let (url, _guard) = $url.await;
                        super::$name(url).await;
                    }
                };
            }

            case!(reopen_keeps_everything);
            case!(change_log_trims_to_capacity);
            case!(two_stores_share_one_sequence);
            case!(concurrent_mixed_writes_fail_only_by_rule);

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn newer_schema_is_rejected() {
                let (url, _guard) = $url.await;
                super::newer_schema_is_rejected(url, $add_future_migration).await;
            }
        }
    };
}

#[cfg(feature = "sqlite")]
mod sqlite_support {
    use sqlx::{Connection, SqliteConnection};

    /// Returns the URL of a SQLite file in a new temporary folder, and the
    /// folder, which is removed when dropped.
    pub async fn fresh() -> (String, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        (super::support::sqlite_url(dir.path()), dir)
    }

    pub async fn add_future_migration(url: String) {
        let mut conn = SqliteConnection::connect(&url).await.expect("connect to the SQLite file");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from a newer program', TRUE, X'00', 0)",
        )
        .execute(&mut conn)
        .await
        .expect("record a future migration");
        conn.close().await.expect("close the SQLite connection");
    }
}

#[cfg(feature = "sqlite")]
sql_store_tests!(sqlite, sqlite_support::fresh(), sqlite_support::add_future_migration);

#[cfg(feature = "postgres")]
mod postgres_support {
    use sqlx::{Connection, PgConnection};

    use super::support::TestDatabase;

    /// Returns the URL of a fresh test database and its guard, which drops
    /// the database.
    pub async fn fresh() -> (String, TestDatabase) {
        let database = TestDatabase::create().await;
        (database.url().to_owned(), database)
    }

    pub async fn add_future_migration(url: String) {
        let mut conn = PgConnection::connect(&url).await.expect("connect to the test database");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from a newer program', TRUE, '\\x00'::bytea, 0)",
        )
        .execute(&mut conn)
        .await
        .expect("record a future migration");
        conn.close().await.expect("close the PostgreSQL connection");
    }
}

#[cfg(feature = "postgres")]
sql_store_tests!(postgres, postgres_support::fresh(), postgres_support::add_future_migration);

#[cfg(feature = "sqlite")]
mod sqlite_only {
    use sqlx::{Connection, SqliteConnection};

    use super::*;

    #[tokio::test]
    async fn open_rejects_in_memory_sqlite() {
        for url in ["sqlite::memory:", "sqlite://:memory:"] {
            let result = notes_store::open(url, &OpenOptions::default()).await;
            assert!(matches!(result, Err(StoreError::Incompatible(_))), "url {url}");
        }
    }

    #[tokio::test]
    async fn open_default_sqlite_creates_file() {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        let store = notes_store::open_default_sqlite(dir.path(), &OpenOptions::default()).await.expect("open store");
        assert_eq!(store.kind(), "sqlite");
        store.ping().await.unwrap();
        assert!(dir.path().join("notes.db").is_file());
    }

    #[tokio::test]
    async fn sqlite_file_uses_wal() {
        let (url, _dir) = sqlite_support::fresh().await;
        let store = open(&url).await;
        drop(store);

        // The journal mode is stored in the file, so a new connection sees it.
        let mut conn = SqliteConnection::connect(&url).await.expect("connect to the SQLite file");
        let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
        assert_eq!(journal_mode, "wal");
    }
}
