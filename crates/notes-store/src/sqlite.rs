//! The SQLite store: one database file, for a single server process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use notes_core::{
    ChangeEvent, ChangeKind, Email, NewNote, Note, NoteId, NoteUpdate, PasswordHash, Seq, StoredUser, User, UserId,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::sql::{
    check_applied_versions, conflict_or_backend, decode_event, encode_event, from_db_int, invalid_column, kind_name,
    map_migrate_error, replay_bounds, to_db_int,
};
use crate::{Committed, Dump, OpenOptions, PageCursor, Snapshot, Store, StoreError};

/// The schema migrations in `migrations/sqlite/`, built into the program.
// The build script reruns the build when a file in migrations/ changes.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a connection waits for a lock on the file before it fails with
/// "database is locked". Within one process the single writer connection
/// never waits for another writer, so this covers other processes that open
/// the same file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Number of read connections. In WAL mode readers do not block each other
/// or the writer, so a few connections let reads run side by side.
const READ_CONNECTIONS: u32 = 4;

const SELECT_ALL_NOTES: &str = "SELECT id, user_id, author, title, content, created_at, updated_at, version \
     FROM notes ORDER BY updated_at DESC, id DESC";
const SELECT_NOTES_PAGE: &str = "SELECT id, user_id, author, title, content, created_at, updated_at, version \
     FROM notes WHERE (updated_at, id) < (?, ?) ORDER BY updated_at DESC, id DESC LIMIT ?";
const SELECT_FIRST_PAGE: &str = "SELECT id, user_id, author, title, content, created_at, updated_at, version \
     FROM notes ORDER BY updated_at DESC, id DESC LIMIT ?";
const SELECT_NOTE: &str =
    "SELECT id, user_id, author, title, content, created_at, updated_at, version FROM notes WHERE id = ?";

/// A store in one SQLite database file.
///
/// All writes go through a pool of exactly one connection, and each write
/// transaction starts with `BEGIN IMMEDIATE`. Writers of this process queue
/// for that connection instead of competing for SQLite's file lock, so they
/// do not see "database is locked". `BEGIN IMMEDIATE` takes the write lock at
/// the start, so a transaction never has to upgrade a read lock midway, a
/// step that SQLite may fail with `SQLITE_BUSY` without waiting. Note writes
/// are committed in groups by one task (see [`group_commit`]), so concurrent
/// writers share one disk sync. Reads use a separate pool and, in WAL mode,
/// see the last committed state without waiting for the writer.
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    /// Note writes, committed in groups by the task that [`group_commit`] runs.
    note_writes: mpsc::Sender<NoteWrite>,
}

/// Most note writes committed in one transaction.
const MAX_GROUP: usize = 64;

/// Note writes waiting for the group-commit task.
const NOTE_WRITE_QUEUE: usize = 1024;

/// One note write and where its result goes.
struct NoteWrite {
    operation: NoteOperation,
    reply: oneshot::Sender<Result<Committed, StoreError>>,
}

enum NoteOperation {
    Create(Note),
    Update { actor: UserId, id: NoteId, update: NoteUpdate },
    Delete { actor: UserId, id: NoteId },
}

impl SqliteStore {
    /// Opens the database at `path_or_url` and brings its schema up to date.
    ///
    /// Accepts a file path, `sqlite://PATH` or `sqlite:PATH`; the file is
    /// created when missing, but its folder must exist. Fails with
    /// [`StoreError::Incompatible`] for an in-memory database (use `memory:`
    /// instead) and for a database that a newer program has migrated.
    pub async fn open(path_or_url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let path = database_path(path_or_url)?;

        // synchronous=FULL makes every commit sync the WAL file before it
        // returns. With NORMAL, a commit survives a crash of this process but
        // the last commits can be lost on power loss or an OS crash, because
        // the WAL is only synced at checkpoints. An acknowledged write must
        // survive both, so FULL it is.
        let connect_options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect_options.clone())
            .await
            .map_err(StoreError::backend)?;
        migrate(&writer).await?;

        // The read pool opens only after the migrations, so that every read
        // connection sees the final schema.
        let readers = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(connect_options.create_if_missing(false))
            .await
            .map_err(StoreError::backend)?;

        let change_log_capacity = i64::try_from(options.change_log_capacity).unwrap_or(i64::MAX);
        let (note_writes, queue) = mpsc::channel(NOTE_WRITE_QUEUE);
        tokio::spawn(group_commit(writer.clone(), queue, change_log_capacity));
        tracing::info!(path = %path.display(), "opened SQLite store");
        Ok(Self { writer, readers, note_writes })
    }

    /// Closes every connection, after which each operation fails. Waits for
    /// running operations to finish.
    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::backend)
    }

    async fn begin_read(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.readers.begin().await.map_err(StoreError::backend)
    }

    /// Hands a note write to the group-commit task and waits for its result.
    async fn write_note(&self, operation: NoteOperation) -> Result<Committed, StoreError> {
        let (reply, result) = oneshot::channel();
        self.note_writes.send(NoteWrite { operation, reply }).await.map_err(|_| writer_gone())?;
        result.await.map_err(|_| writer_gone())?
    }
}

fn writer_gone() -> StoreError {
    StoreError::backend(std::io::Error::other("the SQLite writer task has stopped"))
}

/// Commits note writes in groups: it takes every write that is waiting (up
/// to [`MAX_GROUP`]), runs them in one `BEGIN IMMEDIATE` transaction and
/// commits once.
///
/// With `synchronous=FULL` each commit waits for the disk, so under
/// concurrent writes one sync serves the whole group instead of one each.
/// A write that a rule rejects (not found, not owner, stale version) is
/// rejected before it changes anything, so it takes no sequence number and
/// leaves the rest of its group alone. A database error fails the whole
/// group, and nothing of it is committed.
async fn group_commit(writer: SqlitePool, mut queue: mpsc::Receiver<NoteWrite>, capacity: i64) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let mut writes = group.drain(..);
        let mut pending: Vec<(oneshot::Sender<Result<Committed, StoreError>>, Committed)> = Vec::new();
        // The reply of the write whose backend error stopped the group.
        let mut failed = None;
        let outcome = async {
            let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::backend)?;
            for write in writes.by_ref() {
                match apply_note_write(&mut tx, write.operation).await {
                    Ok(committed) => pending.push((write.reply, committed)),
                    Err(StoreError::Backend(error)) => {
                        failed = Some(write.reply);
                        return Err(StoreError::Backend(error));
                    }
                    Err(rejected) => {
                        let _ = write.reply.send(Err(rejected));
                    }
                }
            }
            if let Some(last) = pending.last() {
                trim_change_log(&mut tx, last.1.event.seq, capacity).await?;
            }
            tx.commit().await.map_err(StoreError::backend)
        }
        .await;

        match outcome {
            Ok(()) => {
                for (reply, committed) in pending.drain(..) {
                    let _ = reply.send(Ok(committed));
                }
            }
            Err(error) => {
                // The transaction rolled back when it was dropped, so every
                // write of the group failed: those applied before the error,
                // the one that failed, and those not yet applied.
                let replies: Vec<_> = pending
                    .drain(..)
                    .map(|(reply, _)| reply)
                    .chain(failed.take())
                    .chain(writes.map(|write| write.reply))
                    .collect();
                let cause = error_chain(&error);
                tracing::error!(error = %cause, writes = replies.len(), "SQLite group commit failed; the group rolled back");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::backend(std::io::Error::other(cause.clone()))));
                }
            }
        }
    }
}

/// Returns an error's message followed by the messages of its sources.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn apply_note_write(conn: &mut SqliteConnection, operation: NoteOperation) -> Result<Committed, StoreError> {
    match operation {
        NoteOperation::Create(note) => create_note_in(conn, note).await,
        NoteOperation::Update { actor, id, update } => update_note_in(conn, actor, id, update).await,
        NoteOperation::Delete { actor, id } => delete_note_in(conn, actor, id).await,
    }
}

/// Returns the file path that a path or `sqlite:` URL names.
fn database_path(path_or_url: &str) -> Result<PathBuf, StoreError> {
    let stripped = path_or_url.strip_prefix("sqlite://").or_else(|| path_or_url.strip_prefix("sqlite:"));
    let path = stripped.unwrap_or(path_or_url);

    if path.is_empty() {
        return Err(StoreError::Incompatible(format!(
            "missing SQLite file path in {path_or_url:?}; expected sqlite://PATH"
        )));
    }
    if path.starts_with(":memory:") || path.contains("mode=memory") {
        return Err(StoreError::Incompatible(
            "in-memory SQLite databases are not supported; use memory: for a store that lives in this process".into(),
        ));
    }
    if stripped.is_some() && path.contains('?') {
        return Err(StoreError::Incompatible(format!(
            "query parameters in SQLite URL {path_or_url:?} are not supported; give only the file path"
        )));
    }
    Ok(PathBuf::from(path))
}

/// Rejects a database from a newer program, then runs pending migrations.
async fn migrate(writer: &SqlitePool) -> Result<(), StoreError> {
    let has_migrations_table: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(writer)
    .await
    .map_err(StoreError::backend)?;
    if has_migrations_table {
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(writer)
            .await
            .map_err(StoreError::backend)?;
        check_applied_versions(&applied, &MIGRATOR)?;
    }
    MIGRATOR.run(writer).await.map_err(|error| map_migrate_error(error, &MIGRATOR))
}

/// Opens the default database file, `notes.db`, in `data_dir`.
pub async fn open_in_dir(data_dir: &Path, options: &OpenOptions) -> Result<SqliteStore, StoreError> {
    let path = data_dir.join("notes.db");
    let path = path.to_str().ok_or_else(|| {
        StoreError::Incompatible(format!(
            "data folder {} is not valid UTF-8; choose another folder",
            data_dir.display()
        ))
    })?;
    SqliteStore::open(path, options).await
}

fn to_micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn from_micros(micros: i64, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| invalid_column(column, format!("{micros} microseconds is outside the supported time range")))
}

fn parse_uuid(text: &str, column: &'static str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|error| invalid_column(column, format!("{text:?} is not a UUID: {error}")))
}

fn get<'r, T>(row: &'r SqliteRow, column: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(StoreError::backend)
}

fn note_from_row(row: &SqliteRow) -> Result<Note, StoreError> {
    Ok(Note {
        id: NoteId::from_uuid(parse_uuid(get(row, "id")?, "id")?),
        user_id: UserId::from_uuid(parse_uuid(get(row, "user_id")?, "user_id")?),
        author: get(row, "author")?,
        title: get(row, "title")?,
        content: get(row, "content")?,
        created_at: from_micros(get(row, "created_at")?, "created_at")?,
        updated_at: from_micros(get(row, "updated_at")?, "updated_at")?,
        version: from_db_int(get(row, "version")?, "version")?,
    })
}

fn user_from_row(row: &SqliteRow) -> Result<StoredUser, StoreError> {
    Ok(StoredUser {
        user: User {
            id: UserId::from_uuid(parse_uuid(get(row, "id")?, "id")?),
            username: get(row, "username")?,
            email: get(row, "email")?,
            created: from_micros(get(row, "created")?, "created")?,
        },
        password_hash: PasswordHash::new(get(row, "password_hash")?),
    })
}

async fn insert_user(conn: &mut SqliteConnection, user: &StoredUser) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO users (id, username, email, password_hash, created) VALUES (?, ?, ?, ?, ?)")
        .bind(user.user.id.to_string())
        .bind(&user.user.username)
        .bind(&user.user.email)
        .bind(user.password_hash.expose())
        .bind(to_micros(user.user.created))
        .execute(conn)
        .await
        .map_err(|error| conflict_or_backend(error, "email already registered"))?;
    Ok(())
}

async fn insert_note(conn: &mut SqliteConnection, note: &Note) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notes (id, user_id, author, title, content, created_at, updated_at, version) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(note.id.to_string())
    .bind(note.user_id.to_string())
    .bind(&note.author)
    .bind(&note.title)
    .bind(&note.content)
    .bind(to_micros(note.created_at))
    .bind(to_micros(note.updated_at))
    .bind(to_db_int(note.version, "version")?)
    .execute(conn)
    .await
    .map_err(|error| conflict_or_backend(error, "note id already exists"))?;
    Ok(())
}

async fn select_notes(conn: &mut SqliteConnection) -> Result<Vec<Note>, StoreError> {
    let rows = sqlx::query(SELECT_ALL_NOTES).fetch_all(conn).await.map_err(StoreError::backend)?;
    rows.iter().map(note_from_row).collect()
}

async fn select_note(conn: &mut SqliteConnection, id: NoteId) -> Result<Option<Note>, StoreError> {
    let row = sqlx::query(SELECT_NOTE).bind(id.to_string()).fetch_optional(conn).await.map_err(StoreError::backend)?;
    row.as_ref().map(note_from_row).transpose()
}

async fn select_seq(conn: &mut SqliteConnection) -> Result<Seq, StoreError> {
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM change_seq WHERE id = 1")
        .fetch_one(conn)
        .await
        .map_err(StoreError::backend)?;
    from_db_int(seq, "seq")
}

/// Takes the next sequence number inside the current write transaction.
async fn next_seq(conn: &mut SqliteConnection) -> Result<Seq, StoreError> {
    let seq: i64 = sqlx::query_scalar("UPDATE change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(conn)
        .await
        .map_err(StoreError::backend)?;
    from_db_int(seq, "seq")
}

/// Appends an event to the change log.
async fn append_event(conn: &mut SqliteConnection, event: &ChangeEvent) -> Result<(), StoreError> {
    let seq = to_db_int(event.seq, "seq")?;
    sqlx::query("INSERT INTO change_log (seq, kind, note_id, payload, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(seq)
        .bind(kind_name(&event.kind))
        .bind(event.kind.note_id().to_string())
        .bind(encode_event(event)?)
        .bind(to_micros(notes_core::now()))
        .execute(conn)
        .await
        .map_err(StoreError::backend)?;
    Ok(())
}

/// Drops the change events that are more than `capacity` behind `newest`.
async fn trim_change_log(conn: &mut SqliteConnection, newest: Seq, capacity: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM change_log WHERE seq <= ?")
        .bind(to_db_int(newest, "seq")?.saturating_sub(capacity))
        .execute(conn)
        .await
        .map_err(StoreError::backend)?;
    Ok(())
}

/// Commits `tx` when `result` is a success and rolls it back otherwise, so a
/// rejected write releases the write lock at once.
async fn finish<T>(tx: Transaction<'static, Sqlite>, result: Result<T, StoreError>) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(StoreError::backend)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback_error) = tx.rollback().await {
                tracing::warn!(error = %rollback_error, "rollback of a rejected SQLite write failed");
            }
            Err(error)
        }
    }
}

async fn create_note_in(conn: &mut SqliteConnection, note: Note) -> Result<Committed, StoreError> {
    let seq = next_seq(conn).await?;
    insert_note(conn, &note).await?;
    let event = ChangeEvent { kind: ChangeKind::NoteCreated(note.clone()), seq };
    append_event(conn, &event).await?;
    Ok(Committed { note, event })
}

async fn update_note_in(
    conn: &mut SqliteConnection,
    actor: UserId,
    id: NoteId,
    update: NoteUpdate,
) -> Result<Committed, StoreError> {
    // The rules are checked before anything is written, so a rejected
    // update leaves the rest of its commit group untouched.
    let current = select_note(conn, id).await?.ok_or(StoreError::NotFound)?;
    let updated = current.apply_update(actor, update)?;
    let seq = next_seq(conn).await?;

    sqlx::query("UPDATE notes SET title = ?, content = ?, updated_at = ?, version = ? WHERE id = ?")
        .bind(&updated.title)
        .bind(&updated.content)
        .bind(to_micros(updated.updated_at))
        .bind(to_db_int(updated.version, "version")?)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::backend)?;

    let event = ChangeEvent { kind: ChangeKind::NoteUpdated(updated.clone()), seq };
    append_event(conn, &event).await?;
    Ok(Committed { note: updated, event })
}

async fn delete_note_in(conn: &mut SqliteConnection, actor: UserId, id: NoteId) -> Result<Committed, StoreError> {
    let note = select_note(conn, id).await?.ok_or(StoreError::NotFound)?;
    note.check_delete(actor)?;
    let seq = next_seq(conn).await?;

    sqlx::query("DELETE FROM notes WHERE id = ?")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::backend)?;

    let event = ChangeEvent { kind: ChangeKind::NoteDeleted { id }, seq };
    append_event(conn, &event).await?;
    Ok(Committed { note, event })
}

// NOTE: times finer than a microsecond are cut to whole microseconds, so a
// dump written by other software with such times does not export back equal.
async fn import_in(conn: &mut SqliteConnection, dump: Dump) -> Result<(), StoreError> {
    let has_data: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM notes)")
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::backend)?;
    if has_data {
        return Err(StoreError::NotEmpty);
    }
    for user in &dump.users {
        insert_user(conn, user).await?;
    }
    for note in &dump.notes {
        insert_note(conn, note).await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.readers).await.map_err(StoreError::backend)?;
        Ok(())
    }

    async fn create_user(&self, user: StoredUser) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await.map_err(StoreError::backend)?;
        insert_user(&mut conn, &user).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        let row = sqlx::query("SELECT id, username, email, password_hash, created FROM users WHERE email = ?")
            .bind(email.as_str())
            .fetch_optional(&self.readers)
            .await
            .map_err(StoreError::backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, username, email, password_hash, created FROM users WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.readers)
            .await
            .map_err(StoreError::backend)?;
        Ok(row.as_ref().map(user_from_row).transpose()?.map(|stored| stored.user))
    }

    async fn list_notes(&self) -> Result<Vec<Note>, StoreError> {
        let mut conn = self.readers.acquire().await.map_err(StoreError::backend)?;
        select_notes(&mut conn).await
    }

    async fn list_notes_page(&self, after: Option<PageCursor>, limit: usize) -> Result<Vec<Note>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let query = match after {
            Some(cursor) => sqlx::query(SELECT_NOTES_PAGE)
                .bind(to_micros(cursor.updated_at))
                .bind(cursor.id.to_string())
                .bind(limit),
            None => sqlx::query(SELECT_FIRST_PAGE).bind(limit),
        };
        let rows = query.fetch_all(&self.readers).await.map_err(StoreError::backend)?;
        rows.iter().map(note_from_row).collect()
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        // In WAL mode a read transaction sees one committed state from its
        // first read to its end, so the sequence number and the notes match.
        let mut tx = self.begin_read().await?;
        let seq = select_seq(&mut tx).await?;
        let notes = select_notes(&mut tx).await?;
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(Snapshot { notes, seq })
    }

    async fn get_note(&self, id: NoteId) -> Result<Note, StoreError> {
        let mut conn = self.readers.acquire().await.map_err(StoreError::backend)?;
        select_note(&mut conn, id).await?.ok_or(StoreError::NotFound)
    }

    async fn create_note(&self, owner: &User, input: NewNote) -> Result<Committed, StoreError> {
        self.write_note(NoteOperation::Create(Note::create(owner, input))).await
    }

    async fn update_note(&self, actor: UserId, id: NoteId, update: NoteUpdate) -> Result<Committed, StoreError> {
        self.write_note(NoteOperation::Update { actor, id, update }).await
    }

    async fn delete_note(&self, actor: UserId, id: NoteId) -> Result<Committed, StoreError> {
        self.write_note(NoteOperation::Delete { actor, id }).await
    }

    async fn current_seq(&self) -> Result<Seq, StoreError> {
        let mut conn = self.readers.acquire().await.map_err(StoreError::backend)?;
        select_seq(&mut conn).await
    }

    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangeEvent>, StoreError> {
        let (after, limit) = replay_bounds(after, limit);
        let payloads: Vec<String> =
            sqlx::query_scalar("SELECT payload FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(after)
                .bind(limit)
                .fetch_all(&self.readers)
                .await
                .map_err(StoreError::backend)?;
        payloads.iter().map(|payload| decode_event(payload)).collect()
    }

    async fn export(&self) -> Result<Dump, StoreError> {
        let mut tx = self.begin_read().await?;
        let rows = sqlx::query("SELECT id, username, email, password_hash, created FROM users ORDER BY created, id")
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        let users = rows.iter().map(user_from_row).collect::<Result<Vec<_>, _>>()?;
        let notes = select_notes(&mut tx).await?;
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(Dump { users, notes })
    }

    async fn import(&self, dump: Dump) -> Result<(), StoreError> {
        dump.check()?;
        let mut tx = self.begin_write().await?;
        let result = import_in(&mut tx, dump).await;
        finish(tx, result).await
    }
}

#[cfg(test)]
mod tests {
    use super::database_path;
    use crate::StoreError;

    #[test]
    fn database_path_accepts_url_forms() {
        for input in ["sqlite:///var/lib/notes.db", "sqlite:/var/lib/notes.db", "/var/lib/notes.db"] {
            let path = database_path(input).ok();
            assert_eq!(path.as_deref(), Some(std::path::Path::new("/var/lib/notes.db")), "input {input:?}");
        }
        assert_eq!(database_path("sqlite://notes.db").ok(), Some("notes.db".into()));
    }

    #[test]
    fn database_path_rejects_memory_and_empty() {
        for input in ["sqlite::memory:", "sqlite://:memory:", "sqlite:", "sqlite://", "sqlite://file.db?mode=memory"] {
            let result = database_path(input);
            assert!(matches!(result, Err(StoreError::Incompatible(_))), "input {input:?}: {result:?}");
        }
    }
}
