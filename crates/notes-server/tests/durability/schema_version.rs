//! A database that a newer release has migrated is rejected at start with an
//! error about the newer schema, and is left unchanged.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::process::Deployment;

/// A migration version far above any this program contains.
const FUTURE_VERSION: i64 = 99_999;

/// How long a rejected start may take before the test gives up on it.
const REJECT_TIMEOUT: Duration = Duration::from_secs(30);

const INSERT_FUTURE_MIGRATION_SQLITE: &str = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
     VALUES (99999, 'added by a newer release', TRUE, X'00', 0)";

const INSERT_FUTURE_MIGRATION_POSTGRES: &str = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
     VALUES (99999, 'added by a newer release', TRUE, '\\x00'::bytea, 0)";

/// Starts the server once so that it creates and migrates the store, and
/// leaves a note in it.
async fn create_store(deployment: &Deployment) {
    let server = deployment.start().await;
    let alice = server.api.register("alice").await;
    server.api.create_note(&alice.token, "Kept", "still here").await;
    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

/// Starts the server on a store with a migration from the future and checks
/// that it exits non-zero with a message about the newer schema.
async fn check_start_rejected(deployment: &Deployment) {
    let output = deployment.run(&[], REJECT_TIMEOUT).await;

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "exit code of a start on a newer database; stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("database schema version {FUTURE_VERSION} is newer than this program supports")),
        "stderr says that the database schema is newer:\n{stderr}"
    );
    assert!(stderr.contains("upgrade notes-server"), "stderr says what to do:\n{stderr}");
    assert!(!stderr.contains("notes server listening on"), "the server never listened:\n{stderr}");
}

#[tokio::test]
async fn sqlite_newer_schema_is_rejected() {
    let deployment = Deployment::sqlite();
    create_store(&deployment).await;

    let options = SqliteConnectOptions::new().filename(deployment.sqlite_path()).create_if_missing(false);
    let mut connection = options.connect().await.expect("open the server's SQLite file");
    sqlx::query(INSERT_FUTURE_MIGRATION_SQLITE)
        .execute(&mut connection)
        .await
        .expect("insert a migration from the future");
    connection.close().await.expect("close the SQLite file");

    check_start_rejected(&deployment).await;

    let mut connection = options.connect().await.expect("reopen the server's SQLite file");
    let notes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notes").fetch_one(&mut connection).await.expect("count notes");
    assert_eq!(notes, 1, "the rejected start left the notes alone");
    let latest: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&mut connection)
        .await
        .expect("read migrations");
    assert_eq!(latest, FUTURE_VERSION, "the rejected start left the migrations alone");
}

#[tokio::test]
async fn postgres_newer_schema_is_rejected() {
    let deployment = Deployment::postgres().await;
    create_store(&deployment).await;

    let url = deployment.database.as_ref().expect("a PostgreSQL deployment has a database").url().to_owned();
    let mut connection = PgConnection::connect(&url).await.expect("connect to the test database");
    sqlx::query(INSERT_FUTURE_MIGRATION_POSTGRES)
        .execute(&mut connection)
        .await
        .expect("insert a migration from the future");

    check_start_rejected(&deployment).await;

    let notes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notes").fetch_one(&mut connection).await.expect("count notes");
    assert_eq!(notes, 1, "the rejected start left the notes alone");
    connection.close().await.expect("close the connection");
}
