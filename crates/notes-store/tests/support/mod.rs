//! Factories of fresh, empty stores for the conformance suite and the
//! backend tests.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use notes_core::{ChangeEvent, Email, NewNote, Note, NoteId, NoteUpdate, Seq, StoredUser, User, UserId};
use notes_store::{Committed, Dump, MemoryStore, OpenOptions, PageCursor, Snapshot, Store, StoreError};

pub async fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

/// A store that keeps a resource alive as long as the store: the temporary
/// folder of a SQLite file, or the guard that drops a test database.
///
/// Fields drop in declaration order, so the store is dropped before the
/// resource.
pub struct Guarded<G: Send + Sync + 'static> {
    store: Arc<dyn Store>,
    _guard: G,
}

impl<G: Send + Sync + 'static> Guarded<G> {
    pub fn new(store: Arc<dyn Store>, guard: G) -> Self {
        Self { store, _guard: guard }
    }
}

#[async_trait]
impl<G: Send + Sync + 'static> Store for Guarded<G> {
    fn kind(&self) -> &'static str {
        self.store.kind()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }
    async fn create_user(&self, user: StoredUser) -> Result<(), StoreError> {
        self.store.create_user(user).await
    }
    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        self.store.user_by_email(email).await
    }
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.store.user_by_id(id).await
    }
    async fn list_notes(&self) -> Result<Vec<Note>, StoreError> {
        self.store.list_notes().await
    }
    async fn list_notes_page(&self, after: Option<PageCursor>, limit: usize) -> Result<Vec<Note>, StoreError> {
        self.store.list_notes_page(after, limit).await
    }
    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        self.store.snapshot().await
    }
    async fn get_note(&self, id: NoteId) -> Result<Note, StoreError> {
        self.store.get_note(id).await
    }
    async fn create_note(&self, owner: &User, input: NewNote) -> Result<Committed, StoreError> {
        self.store.create_note(owner, input).await
    }
    async fn update_note(&self, actor: UserId, id: NoteId, update: NoteUpdate) -> Result<Committed, StoreError> {
        self.store.update_note(actor, id, update).await
    }
    async fn delete_note(&self, actor: UserId, id: NoteId) -> Result<Committed, StoreError> {
        self.store.delete_note(actor, id).await
    }
    async fn current_seq(&self) -> Result<Seq, StoreError> {
        self.store.current_seq().await
    }
    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangeEvent>, StoreError> {
        self.store.changes_since(after, limit).await
    }
    async fn export(&self) -> Result<Dump, StoreError> {
        self.store.export().await
    }
    async fn import(&self, dump: Dump) -> Result<(), StoreError> {
        self.store.import(dump).await
    }
}

/// Returns the URL of `notes.db` in a folder.
#[cfg(feature = "sqlite")]
pub fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("notes.db").display())
}

/// Opens a SQLite store in a new temporary folder, which is removed when the
/// store is dropped.
#[cfg(feature = "sqlite")]
pub async fn sqlite() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("create a temporary folder for the SQLite file");
    let store = notes_store::open(&sqlite_url(dir.path()), &OpenOptions::default())
        .await
        .expect("open a SQLite store in a temporary folder");
    Arc::new(Guarded::new(store, dir))
}

#[cfg(feature = "postgres")]
#[allow(unused_imports)]
pub use postgres::{TestDatabase, postgres};

#[cfg(feature = "postgres")]
mod postgres {
    use std::str::FromStr;
    use std::sync::Arc;
    use std::time::{SystemTime, UNIX_EPOCH};

    use notes_store::{OpenOptions, Store};
    use sqlx::postgres::PgConnectOptions;
    use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};

    use super::Guarded;

    /// The server the tests use unless `NOTES_TEST_POSTGRES_URL` names another.
    const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// Test databases older than this are left over from runs that were
    /// killed, and the next run drops them.
    const STALE_AFTER_SECS: u64 = 3600;

    fn admin_url() -> String {
        std::env::var("NOTES_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
    }

    fn unix_seconds() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
    }

    async fn connect_admin() -> PgConnection {
        let url = admin_url();
        match PgConnection::connect(&url).await {
            Ok(conn) => conn,
            Err(error) => panic!(
                "cannot connect to PostgreSQL at {} ({error}). The SQL store tests need a running server: \
                 start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
                 or set NOTES_TEST_POSTGRES_URL to a server where this user may create databases",
                notes_store::redact_url(&url)
            ),
        }
    }

    /// Drops the test databases that a killed run left behind. Their names
    /// end in the Unix time of their creation.
    async fn drop_stale_databases(admin: &mut PgConnection) {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'notes\\_test\\_%'")
                .fetch_all(&mut *admin)
                .await
                .expect("list test databases");
        let now = unix_seconds();
        for name in names {
            let created = name.rsplit('_').next().and_then(|secs| secs.parse::<u64>().ok());
            if created.is_some_and(|created| now.saturating_sub(created) > STALE_AFTER_SECS) {
                let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                // Another test run may drop the same database at the same time.
                let _ = sqlx::query(AssertSqlSafe(statement)).execute(&mut *admin).await;
            }
        }
    }

    /// A fresh database on the test server, dropped when this value is.
    pub struct TestDatabase {
        name: String,
        url: String,
    }

    impl TestDatabase {
        /// Creates a database named `notes_test_<random>_<unix time>`.
        pub async fn create() -> Self {
            let mut admin = connect_admin().await;
            drop_stale_databases(&mut admin).await;

            let name = format!("notes_test_{}_{}", uuid::Uuid::new_v4().simple(), unix_seconds());
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut admin)
                .await
                .expect("create a test database");
            let _ = admin.close().await;

            let options = PgConnectOptions::from_str(&admin_url()).expect("NOTES_TEST_POSTGRES_URL is a valid URL");
            let url = options.database(&name).to_url_lossy().to_string();
            Self { name, url }
        }

        /// Returns the URL of the database.
        pub fn url(&self) -> &str {
            &self.url
        }
    }

    impl Drop for TestDatabase {
        fn drop(&mut self) {
            // Drop runs inside the test's runtime, where no future can be
            // blocked on, so a thread of its own runs the statement.
            let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            let admin = admin_url();
            let dropper = std::thread::spawn(move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async move {
                    let mut conn = PgConnection::connect(&admin).await?;
                    sqlx::query(AssertSqlSafe(statement)).execute(&mut conn).await?;
                    conn.close().await?;
                    Ok(())
                })
            });
            match dropper.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("failed to drop test database {}: {error}", self.name),
                Err(_) => eprintln!("the thread that drops test database {} panicked", self.name),
            }
        }
    }

    /// Opens a PostgreSQL store in a fresh database, which is dropped when
    /// the store is dropped.
    pub async fn postgres() -> Arc<dyn Store> {
        let database = TestDatabase::create().await;
        let store = notes_store::open(database.url(), &OpenOptions::default())
            .await
            .expect("open a PostgreSQL store in a fresh test database");
        Arc::new(Guarded::new(store, database))
    }
}
