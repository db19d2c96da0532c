//! Fresh PostgreSQL databases for the tests, named like those of the
//! notes-store tests, `notes_test_<uuid>_<unix time>`, so that either test
//! suite drops the databases that a killed run of the other left behind.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};

/// The server the tests use unless `NOTES_TEST_POSTGRES_URL` names another.
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Test databases older than this, in seconds, are left over from killed
/// runs, and the next run drops them.
const STALE_AFTER_SECONDS: u64 = 3600;

fn admin_url() -> String {
    std::env::var("NOTES_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}

/// Connects to the admin database, failing the test with the command that
/// starts PostgreSQL when the server is down.
pub async fn connect_admin() -> PgConnection {
    let url = admin_url();
    match PgConnection::connect(&url).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "cannot connect to PostgreSQL at {} ({error}). The PostgreSQL durability tests need a running server: \
             start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
             or set NOTES_TEST_POSTGRES_URL to a server where this user may create databases",
            notes_store::redact_url(&url)
        ),
    }
}

async fn drop_stale_databases(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'notes\\_test\\_%'")
            .fetch_all(&mut *admin)
            .await
            .expect("list the test databases");
    let now = unix_seconds();
    for name in names {
        let created = name.rsplit('_').next().and_then(|seconds| seconds.parse::<u64>().ok());
        if created.is_some_and(|created| now.saturating_sub(created) > STALE_AFTER_SECONDS) {
            // Another test run may drop the same database at the same time.
            let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// A fresh, empty database, dropped when this value is dropped.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
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

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on a
        // future, so the statement runs on a thread with its own runtime.
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let admin = admin_url();
        let dropper = std::thread::spawn(move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                let mut connection = PgConnection::connect(&admin).await?;
                sqlx::query(AssertSqlSafe(statement)).execute(&mut connection).await?;
                connection.close().await?;
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
