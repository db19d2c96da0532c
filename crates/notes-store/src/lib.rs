//! Storage for the notes service.
//!
//! [`Store`] is the one interface that the server, the hub wiring and any
//! embedding program use. Every implementation keeps users, notes and a
//! change log, and assigns each committed write the next number of a
//! gap-free change sequence ([`notes_core::Seq`]) in commit order.
//!
//! Implementations:
//! - [`MemoryStore`]: DashMap maps in this process. Nothing survives a restart;
//!   for tests and throwaway runs (`memory:`).
//! - `SqliteStore` (feature `sqlite`): one database file, for a single server
//!   process (`sqlite://PATH`).
//! - `PostgresStore` (feature `postgres`): a PostgreSQL database that several
//!   server processes may share (`postgres://…`).
//!
//! The SQL stores embed their schema migrations and apply the pending ones
//! when they open. They reject a database that a newer program has migrated.
//!
//! This crate depends on `notes-core` only among the workspace crates, and
//! never on actix, the hub or the server. The ownership and version rules are
//! `notes-core`'s ([`notes_core::Note::apply_update`]); stores apply them while
//! they hold the note exclusively, so check and write are one step.

mod error;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "sqlite")]
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use notes_core::{ChangeEvent, Email, NewNote, Note, NoteId, NoteUpdate, Seq, StoredUser, User, UserId};
use serde::{Deserialize, Serialize};

pub use error::StoreError;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// Default number of change events that a store keeps for replay.
pub const DEFAULT_CHANGE_LOG_CAPACITY: usize = 10_000;

/// The notes as of one point in the change sequence.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Every note, newest `updated_at` first.
    pub notes: Vec<Note>,
    /// The sequence number of the last write that `notes` reflects.
    pub seq: Seq,
}

/// A position in the newest-first listing: the sort key of the last note of
/// a page. The next page holds the notes that sort after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCursor {
    /// `updated_at` of the last note of the previous page.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// `id` of the last note of the previous page, which breaks ties.
    pub id: NoteId,
}

impl PageCursor {
    /// Returns the cursor that follows `note`.
    pub fn after(note: &Note) -> Self {
        Self { updated_at: note.updated_at, id: note.id }
    }

    /// Reports whether `note` sorts after this cursor in the newest-first order.
    pub fn precedes(&self, note: &Note) -> bool {
        (note.updated_at, note.id) < (self.updated_at, self.id)
    }
}

/// A committed write: the resulting note and the event that records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Committed {
    /// The note after the write.
    pub note: Note,
    /// The change event, already numbered.
    pub event: ChangeEvent,
}

/// Everything a store holds, in the form that export writes and import reads.
///
/// The users include their bcrypt hashes, so a dump is as sensitive as the
/// database itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dump {
    /// Every user with its password hash.
    pub users: Vec<StoredUser>,
    /// Every note, newest `updated_at` first.
    pub notes: Vec<Note>,
}

impl Dump {
    /// Checks the rules that every store keeps and that a dump file written
    /// by hand could break. Every store's `import` calls it first, so a bad
    /// dump changes nothing.
    pub fn check(&self) -> Result<(), StoreError> {
        if let Some(note) = self.notes.iter().find(|note| !(1..=MAX_VERSION).contains(&note.version)) {
            return Err(StoreError::InvalidDump(format!(
                "note {} has version {}; versions run from 1 to {MAX_VERSION}",
                note.id, note.version
            )));
        }
        Ok(())
    }
}

pub use notes_core::MAX_VERSION;

/// The storage interface of the notes service.
///
/// Every method is safe to call concurrently. Write methods return only after
/// the write is committed, and the event they return carries the sequence
/// number it was committed under.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Returns a short name of the backend for logs, such as `memory` or `sqlite`.
    fn kind(&self) -> &'static str;

    /// Checks that the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Adds a user. Fails with [`StoreError::Conflict`] when the email is taken.
    async fn create_user(&self, user: StoredUser) -> Result<(), StoreError>;

    /// Looks a user up by canonical email, with the password hash.
    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError>;

    /// Looks a user up by id.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// Returns every note, newest `updated_at` first, ties broken by id.
    async fn list_notes(&self) -> Result<Vec<Note>, StoreError>;

    /// Returns up to `limit` notes in the order of [`Store::list_notes`],
    /// starting after `after` (the last note of the previous page), or from
    /// the newest note when `after` is `None`.
    async fn list_notes_page(&self, after: Option<PageCursor>, limit: usize) -> Result<Vec<Note>, StoreError>;

    /// Returns every note together with the sequence number it reflects.
    async fn snapshot(&self) -> Result<Snapshot, StoreError>;

    /// Returns one note, or [`StoreError::NotFound`].
    async fn get_note(&self, id: NoteId) -> Result<Note, StoreError>;

    /// Creates a note owned by `owner`.
    async fn create_note(&self, owner: &User, input: NewNote) -> Result<Committed, StoreError>;

    /// Updates a note as `actor`, under the ownership and version rules.
    async fn update_note(&self, actor: UserId, id: NoteId, update: NoteUpdate) -> Result<Committed, StoreError>;

    /// Deletes a note as `actor`, under the ownership rule. Returns the
    /// deleted note (as it was) and the event.
    async fn delete_note(&self, actor: UserId, id: NoteId) -> Result<Committed, StoreError>;

    /// Returns the sequence number of the last committed write (0 if none).
    async fn current_seq(&self) -> Result<Seq, StoreError>;

    /// Returns up to `limit` events with a sequence number above `after`,
    /// oldest first. Events older than the bounded change log are gone, so a
    /// caller that finds the first returned `seq` above `after + 1` has missed
    /// events and must take a new snapshot instead.
    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangeEvent>, StoreError>;

    /// Returns every user and note.
    async fn export(&self) -> Result<Dump, StoreError>;

    /// Loads a dump into an empty store, keeping ids, times and versions.
    /// Fails with [`StoreError::NotEmpty`] when the store has any user or note.
    async fn import(&self, dump: Dump) -> Result<(), StoreError>;
}

/// Sorts notes newest `updated_at` first, ties broken by id, the order that
/// every listing uses.
pub fn sort_newest_first(notes: &mut [Note]) {
    notes.sort_unstable_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| b.id.cmp(&a.id)));
}

/// Settings that apply when a store is opened from a URL.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// How many change events to keep for replay.
    pub change_log_capacity: usize,
    /// Maximum number of pooled connections (PostgreSQL only).
    pub max_connections: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { change_log_capacity: DEFAULT_CHANGE_LOG_CAPACITY, max_connections: 10 }
    }
}

/// Opens the store that a database URL names.
///
/// Accepted forms:
/// - `memory:` for a store that lives in this process only;
/// - `sqlite://PATH` or `sqlite:PATH` for a SQLite file, created when missing
///   (`sqlite:///var/lib/notes/notes.db` is an absolute path). In-memory
///   SQLite (`sqlite::memory:`) is rejected: use `memory:`;
/// - `postgres://…` or `postgresql://…` for a PostgreSQL database.
///
/// A form whose backend feature is off in this build fails with
/// [`StoreError::Incompatible`], as does an unknown scheme.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    if url == "memory:" || url == "memory" {
        return Ok(Arc::new(MemoryStore::with_change_log_capacity(options.change_log_capacity)));
    }
    if url.starts_with("sqlite:") {
        return open_sqlite(url, options).await;
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return open_postgres(url, options).await;
    }
    Err(StoreError::Incompatible(format!(
        "unsupported database URL scheme in {}; expected memory:, sqlite://PATH or postgres://HOST/DATABASE",
        redact_url(url)
    )))
}

/// Opens `notes.db` in `data_dir` as a SQLite store, creating it when missing.
///
/// This is the same as [`open`] with `sqlite://{data_dir}/notes.db`.
#[cfg(feature = "sqlite")]
pub async fn open_default_sqlite(data_dir: &Path, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(sqlite::open_in_dir(data_dir, options).await?))
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqliteStore::open(url, options).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(url: &str, _options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    Err(StoreError::Incompatible(format!(
        "{} needs SQLite support, which this build lacks; rebuild notes-store with the feature sqlite",
        redact_url(url)
    )))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(PostgresStore::open(url, options).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(url: &str, _options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    Err(StoreError::Incompatible(format!(
        "{} needs PostgreSQL support, which this build lacks; rebuild notes-store with the feature postgres",
        redact_url(url)
    )))
}

/// Returns a URL with any password replaced by `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => rest.split_at(index),
        None => (rest, ""),
    };
    // Query parameters can carry a password too, so they are hidden whole.
    let path = match path.split_once('?') {
        Some((path, _query)) => format!("{path}?***"),
        None => path.to_owned(),
    };
    let url = format!("{scheme}://{authority}{path}");
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url,
        },
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redact_url_hides_password() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/notes"), "postgres://app:***@db:5432/notes");
        assert_eq!(redact_url("postgres://db/notes"), "postgres://db/notes");
        assert_eq!(redact_url("postgres://postgres@db/notes"), "postgres://postgres@db/notes");
        assert_eq!(redact_url("postgres://db/notes?password=s3cret"), "postgres://db/notes?***");
        assert_eq!(redact_url("sqlite:///var/lib/notes.db"), "sqlite:///var/lib/notes.db");
        assert_eq!(redact_url("memory:"), "memory:");
    }
}
