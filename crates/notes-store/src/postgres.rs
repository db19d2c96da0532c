//! The PostgreSQL store: one database that several server processes may share.

use std::str::FromStr;

use async_trait::async_trait;
use notes_core::{
    ChangeEvent, ChangeKind, Email, NewNote, Note, NoteId, NoteUpdate, PasswordHash, Seq, StoredUser, User, UserId,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use crate::sql::{
    check_applied_versions, conflict_or_backend, decode_event, encode_event, from_db_int, kind_name, map_migrate_error,
    replay_bounds, to_db_int,
};
use crate::{Committed, Dump, OpenOptions, PageCursor, Snapshot, Store, StoreError, redact_url};

/// The schema migrations in `migrations/postgres/`, built into the program.
// The build script reruns the build when a file in migrations/ changes.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

const SELECT_ALL_NOTES: &str = "SELECT id, user_id, author, title, content, created_at, updated_at, version \
     FROM notes ORDER BY updated_at DESC, id DESC";
const SELECT_NOTES_PAGE: &str = "SELECT id, user_id, author, title, content, created_at, updated_at, version \
     FROM notes WHERE (updated_at, id) < ($1, $2) ORDER BY updated_at DESC, id DESC LIMIT $3";
const SELECT_FIRST_PAGE: &str = "SELECT id, user_id, author, title, content, created_at, updated_at, version \
     FROM notes ORDER BY updated_at DESC, id DESC LIMIT $1";
const SELECT_NOTE_FOR_UPDATE: &str =
    "SELECT id, user_id, author, title, content, created_at, updated_at, version FROM notes WHERE id = $1 FOR UPDATE";

/// A store in a PostgreSQL database.
///
/// Every write transaction first increments the single row of `change_seq`.
/// The row lock that this takes is held until commit, so writers commit one
/// at a time, in sequence order, even when several server processes share
/// the database.
pub struct PostgresStore {
    pool: PgPool,
    change_log_capacity: i64,
}

impl PostgresStore {
    /// Connects to the database that `url` names and brings its schema up to
    /// date.
    ///
    /// `url` is a `postgres://` or `postgresql://` URL. The pool keeps at most
    /// `options.max_connections` connections. Fails with
    /// [`StoreError::Incompatible`] for a database that a newer program has
    /// migrated.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let connect_options = PgConnectOptions::from_str(url).map_err(|error| {
            StoreError::Incompatible(format!("invalid PostgreSQL URL {}: {error}", redact_url(url)))
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect_options)
            .await
            .map_err(StoreError::backend)?;
        migrate(&pool).await?;

        let change_log_capacity = i64::try_from(options.change_log_capacity).unwrap_or(i64::MAX);
        tracing::info!(url = %redact_url(url), "opened PostgreSQL store");
        Ok(Self { pool, change_log_capacity })
    }

    /// Closes every connection, after which each operation fails. Waits for
    /// running operations to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(StoreError::backend)
    }

    /// Starts a read-only transaction whose reads all see one committed state.
    async fn begin_consistent_read(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await.map_err(StoreError::backend)
    }
}

/// Rejects a database from a newer program, then runs pending migrations.
/// sqlx holds an advisory lock while it migrates, so server processes that
/// start together apply each migration once.
async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let has_migrations_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(StoreError::backend)?;
    if has_migrations_table {
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(pool)
            .await
            .map_err(StoreError::backend)?;
        check_applied_versions(&applied, &MIGRATOR)?;
    }
    MIGRATOR.run(pool).await.map_err(|error| map_migrate_error(error, &MIGRATOR))
}

fn get<'r, T>(row: &'r PgRow, column: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(StoreError::backend)
}

fn note_from_row(row: &PgRow) -> Result<Note, StoreError> {
    Ok(Note {
        id: NoteId::from_uuid(get(row, "id")?),
        user_id: UserId::from_uuid(get(row, "user_id")?),
        author: get(row, "author")?,
        title: get(row, "title")?,
        content: get(row, "content")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: from_db_int(get(row, "version")?, "version")?,
    })
}

fn user_from_row(row: &PgRow) -> Result<StoredUser, StoreError> {
    Ok(StoredUser {
        user: User {
            id: UserId::from_uuid(get(row, "id")?),
            username: get(row, "username")?,
            email: get(row, "email")?,
            created: get(row, "created")?,
        },
        password_hash: PasswordHash::new(get(row, "password_hash")?),
    })
}

async fn insert_user(conn: &mut PgConnection, user: &StoredUser) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO users (id, username, email, password_hash, created) VALUES ($1, $2, $3, $4, $5)")
        .bind(user.user.id.as_uuid())
        .bind(&user.user.username)
        .bind(&user.user.email)
        .bind(user.password_hash.expose())
        .bind(user.user.created)
        .execute(conn)
        .await
        .map_err(|error| conflict_or_backend(error, "email already registered"))?;
    Ok(())
}

async fn insert_note(conn: &mut PgConnection, note: &Note) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notes (id, user_id, author, title, content, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(note.id.as_uuid())
    .bind(note.user_id.as_uuid())
    .bind(&note.author)
    .bind(&note.title)
    .bind(&note.content)
    .bind(note.created_at)
    .bind(note.updated_at)
    .bind(to_db_int(note.version, "version")?)
    .execute(conn)
    .await
    .map_err(|error| conflict_or_backend(error, "note id already exists"))?;
    Ok(())
}

async fn select_notes(conn: &mut PgConnection) -> Result<Vec<Note>, StoreError> {
    let rows = sqlx::query(SELECT_ALL_NOTES).fetch_all(conn).await.map_err(StoreError::backend)?;
    rows.iter().map(note_from_row).collect()
}

async fn select_seq(conn: &mut PgConnection) -> Result<Seq, StoreError> {
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM change_seq WHERE id = 1")
        .fetch_one(conn)
        .await
        .map_err(StoreError::backend)?;
    from_db_int(seq, "seq")
}

/// Takes the next sequence number and, with it, the lock that serializes
/// writers until this transaction ends.
async fn next_seq(conn: &mut PgConnection) -> Result<Seq, StoreError> {
    let seq: i64 = sqlx::query_scalar("UPDATE change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(conn)
        .await
        .map_err(StoreError::backend)?;
    from_db_int(seq, "seq")
}

/// Reads a note and locks its row until the transaction ends.
async fn select_note_for_update(conn: &mut PgConnection, id: NoteId) -> Result<Option<Note>, StoreError> {
    let row = sqlx::query(SELECT_NOTE_FOR_UPDATE)
        .bind(id.as_uuid())
        .fetch_optional(conn)
        .await
        .map_err(StoreError::backend)?;
    row.as_ref().map(note_from_row).transpose()
}

/// Appends an event to the change log and drops the events beyond capacity.
async fn append_event(conn: &mut PgConnection, event: &ChangeEvent, capacity: i64) -> Result<(), StoreError> {
    let seq = to_db_int(event.seq, "seq")?;
    sqlx::query("INSERT INTO change_log (seq, kind, note_id, payload) VALUES ($1, $2, $3, $4::jsonb)")
        .bind(seq)
        .bind(kind_name(&event.kind))
        .bind(event.kind.note_id().as_uuid())
        .bind(encode_event(event)?)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::backend)?;

    sqlx::query("DELETE FROM change_log WHERE seq <= $1")
        .bind(seq.saturating_sub(capacity))
        .execute(conn)
        .await
        .map_err(StoreError::backend)?;
    Ok(())
}

/// Commits `tx` when `result` is a success and rolls it back otherwise, so a
/// rejected write releases the sequence row lock at once.
async fn finish<T>(tx: Transaction<'static, Postgres>, result: Result<T, StoreError>) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(StoreError::backend)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback_error) = tx.rollback().await {
                tracing::warn!(error = %rollback_error, "rollback of a rejected PostgreSQL write failed");
            }
            Err(error)
        }
    }
}

async fn create_note_in(conn: &mut PgConnection, note: Note, capacity: i64) -> Result<Committed, StoreError> {
    let seq = next_seq(conn).await?;
    insert_note(conn, &note).await?;
    let event = ChangeEvent { kind: ChangeKind::NoteCreated(note.clone()), seq };
    append_event(conn, &event, capacity).await?;
    Ok(Committed { note, event })
}

async fn update_note_in(
    conn: &mut PgConnection,
    actor: UserId,
    id: NoteId,
    update: NoteUpdate,
    capacity: i64,
) -> Result<Committed, StoreError> {
    let seq = next_seq(conn).await?;
    let current = select_note_for_update(conn, id).await?.ok_or(StoreError::NotFound)?;
    let updated = current.apply_update(actor, update)?;

    sqlx::query("UPDATE notes SET title = $1, content = $2, updated_at = $3, version = $4 WHERE id = $5")
        .bind(&updated.title)
        .bind(&updated.content)
        .bind(updated.updated_at)
        .bind(to_db_int(updated.version, "version")?)
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::backend)?;

    let event = ChangeEvent { kind: ChangeKind::NoteUpdated(updated.clone()), seq };
    append_event(conn, &event, capacity).await?;
    Ok(Committed { note: updated, event })
}

async fn delete_note_in(
    conn: &mut PgConnection,
    actor: UserId,
    id: NoteId,
    capacity: i64,
) -> Result<Committed, StoreError> {
    let seq = next_seq(conn).await?;
    let note = select_note_for_update(conn, id).await?.ok_or(StoreError::NotFound)?;
    note.check_delete(actor)?;

    sqlx::query("DELETE FROM notes WHERE id = $1")
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::backend)?;

    let event = ChangeEvent { kind: ChangeKind::NoteDeleted { id }, seq };
    append_event(conn, &event, capacity).await?;
    Ok(Committed { note, event })
}

// NOTE: PostgreSQL rounds times finer than a microsecond, so a dump written
// by other software with such times does not export back equal.
async fn import_in(conn: &mut PgConnection, dump: Dump) -> Result<(), StoreError> {
    // The lock blocks registrations and note writes of every server process
    // until the import commits, so the emptiness check stays true.
    sqlx::query("LOCK TABLE users, notes IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await
        .map_err(StoreError::backend)?;
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
impl Store for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(StoreError::backend)?;
        Ok(())
    }

    async fn create_user(&self, user: StoredUser) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::backend)?;
        insert_user(&mut conn, &user).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        let row = sqlx::query("SELECT id, username, email, password_hash, created FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, username, email, password_hash, created FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(row.as_ref().map(user_from_row).transpose()?.map(|stored| stored.user))
    }

    async fn list_notes(&self) -> Result<Vec<Note>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::backend)?;
        select_notes(&mut conn).await
    }

    async fn list_notes_page(&self, after: Option<PageCursor>, limit: usize) -> Result<Vec<Note>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let query = match after {
            Some(cursor) => {
                sqlx::query(SELECT_NOTES_PAGE).bind(cursor.updated_at).bind(cursor.id.as_uuid()).bind(limit)
            }
            None => sqlx::query(SELECT_FIRST_PAGE).bind(limit),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::backend)?;
        rows.iter().map(note_from_row).collect()
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut tx = self.begin_consistent_read().await?;
        let seq = select_seq(&mut tx).await?;
        let notes = select_notes(&mut tx).await?;
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(Snapshot { notes, seq })
    }

    async fn get_note(&self, id: NoteId) -> Result<Note, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, author, title, content, created_at, updated_at, version FROM notes WHERE id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::backend)?;
        row.as_ref().map(note_from_row).transpose()?.ok_or(StoreError::NotFound)
    }

    async fn create_note(&self, owner: &User, input: NewNote) -> Result<Committed, StoreError> {
        let note = Note::create(owner, input);
        let mut tx = self.begin_write().await?;
        let result = create_note_in(&mut tx, note, self.change_log_capacity).await;
        finish(tx, result).await
    }

    async fn update_note(&self, actor: UserId, id: NoteId, update: NoteUpdate) -> Result<Committed, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = update_note_in(&mut tx, actor, id, update, self.change_log_capacity).await;
        finish(tx, result).await
    }

    async fn delete_note(&self, actor: UserId, id: NoteId) -> Result<Committed, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = delete_note_in(&mut tx, actor, id, self.change_log_capacity).await;
        finish(tx, result).await
    }

    async fn current_seq(&self) -> Result<Seq, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::backend)?;
        select_seq(&mut conn).await
    }

    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangeEvent>, StoreError> {
        let (after, limit) = replay_bounds(after, limit);
        let payloads: Vec<String> =
            sqlx::query_scalar("SELECT payload::text FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::backend)?;
        payloads.iter().map(|payload| decode_event(payload)).collect()
    }

    async fn export(&self) -> Result<Dump, StoreError> {
        let mut tx = self.begin_consistent_read().await?;
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
