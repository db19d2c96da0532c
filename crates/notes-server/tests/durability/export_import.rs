//! `notes-server export` and `import` move every user and note between
//! store kinds, and `import` rejects a non-empty store and a file that is
//! not an export.

use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

use crate::client::{User, note_id};
use crate::process::Deployment;

/// Fills a store through the API: two users, creates, versioned and
/// unversioned updates and a delete. Returns the users and the final
/// `GET /api/notes`.
async fn fill_through_api(deployment: &Deployment) -> (Vec<User>, Vec<Value>) {
    let server = deployment.start().await;
    let api = server.api.clone();
    let alice = api.register("alice").await;
    let bob = api.register("bob").await;

    let groceries = note_id(&api.create_note(&alice.token, "Groceries", "milk").await);
    let ideas = note_id(&api.create_note(&alice.token, "Ideas", "tabs\tand \"quotes\" and ünïcödé 📝").await);
    let scratch = note_id(&api.create_note(&alice.token, "Scratch", "to be deleted").await);
    let plan = note_id(&api.create_note(&bob.token, "Bob's plan", "").await);
    api.create_note(&bob.token, "Bob's list", "one\ntwo").await;

    for (user, id, content, version) in [
        (&alice, &groceries, "milk, eggs", Some(1)),
        (&alice, &groceries, "milk, eggs, bread", Some(2)),
        (&alice, &ideas, "rewritten without a version", None),
        (&bob, &plan, "step one", Some(1)),
    ] {
        let response = api.update_note(&user.token, id, "updated", content, version).await;
        assert_eq!(response.status(), StatusCode::OK, "update {id} to {content:?}");
    }
    let response = api.delete_note(&alice.token, &scratch).await;
    assert_eq!(response.status(), StatusCode::OK, "delete {scratch}");

    let notes = api.list_notes(&alice.token).await;
    assert_eq!(notes.len(), 4);
    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    (vec![alice, bob], notes)
}

/// Checks that a server on `deployment` serves exactly `notes` and lets
/// every user log in with the password from before.
async fn check_serves_same_data(deployment: &Deployment, users: &[User], notes: &[Value]) {
    let server = deployment.start().await;
    let api = server.api.clone();
    for user in users {
        let body = api.login_ok(user).await;
        assert_eq!(body["user"]["id"], user.id.as_str(), "imported user {} keeps its id", user.email);
        let token = body["token"].as_str().expect("login returns a token");
        assert_eq!(api.list_notes(token).await, notes, "imported notes, read by {}", user.email);
    }
    let response = api.login(&users[0].email, "not-the-password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "login with a wrong password after the import");

    // The imported store takes new writes, and an imported note keeps
    // counting versions from where it was.
    let token = api.login_ok(&users[0]).await["token"].as_str().expect("login returns a token").to_owned();
    let created = api.create_note(&token, "After the import", "").await;
    assert_eq!(created["version"], 1);
    let imported =
        notes.iter().find(|note| note["user_id"] == users[0].id.as_str()).expect("the first user has a note");
    let version = imported["version"].as_u64().expect("note has a version");
    let response = api.update_note(&token, &note_id(imported), "after import", "", Some(version)).await;
    assert_eq!(response.status(), StatusCode::OK, "update of an imported note with its imported version");
    let updated: Value = response.json().await.expect("update returns JSON");
    assert_eq!(updated["version"], version + 1);

    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

fn write_file(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write a file in the temporary directory");
    path
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Checks that `import` succeeded.
fn assert_imported(output: &Output, into: &str) {
    assert!(output.status.success(), "import into {into} failed with {}: {}", output.status, stderr_of(output));
    assert!(stderr_of(output).contains("import finished"), "import into {into} logs its end: {}", stderr_of(output));
}

/// Checks that `import` failed with a non-zero exit and an error that
/// contains `message`.
fn assert_import_failed(output: &Output, case: &str, message: &str) {
    assert!(!output.status.success(), "import of {case} succeeded; stderr: {}", stderr_of(output));
    assert_eq!(output.status.code(), Some(1), "exit code of the import of {case}");
    let stderr = stderr_of(output);
    assert!(stderr.contains(message), "error of the import of {case} contains {message:?}; stderr: {stderr}");
}

/// Parses an export and checks its header and counts.
fn parse_export(text: &str, users: usize, notes: usize) -> Value {
    let export: Value = serde_json::from_str(text).unwrap_or_else(|error| panic!("export is JSON ({error}): {text}"));
    assert_eq!(export["format"], "notes-export");
    assert_eq!(export["version"], 1);
    assert_eq!(export["users"].as_array().map(Vec::len), Some(users), "users in the export");
    assert_eq!(export["notes"].as_array().map(Vec::len), Some(notes), "notes in the export");
    export
}

#[tokio::test]
async fn export_import_between_sqlite_and_postgres() {
    let files = tempfile::tempdir().expect("create a temporary directory");

    let sqlite = Deployment::sqlite();
    let (users, notes) = fill_through_api(&sqlite).await;
    let sqlite_text = sqlite.export().await;
    let sqlite_export = parse_export(&sqlite_text, 2, 4);
    for user in &users {
        assert!(!sqlite_text.contains(&user.password), "the export holds hashes, not the password of {}", user.email);
    }
    let sqlite_file = write_file(&files, "from-sqlite.json", &sqlite_text);

    let postgres = Deployment::postgres().await;
    assert_imported(&postgres.import(&sqlite_file).await, "PostgreSQL");
    let postgres_text = postgres.export().await;
    assert_eq!(parse_export(&postgres_text, 2, 4), sqlite_export, "PostgreSQL exports what SQLite exported");
    let postgres_file = write_file(&files, "from-postgres.json", &postgres_text);
    check_serves_same_data(&postgres, &users, &notes).await;

    let sqlite_again = Deployment::sqlite();
    assert_imported(&sqlite_again.import(&postgres_file).await, "a fresh SQLite store");
    assert_eq!(
        parse_export(&sqlite_again.export().await, 2, 4),
        sqlite_export,
        "the round trip keeps every user and note"
    );
    check_serves_same_data(&sqlite_again, &users, &notes).await;

    for (deployment, kind) in [(&postgres, "PostgreSQL"), (&sqlite_again, "SQLite")] {
        let before = deployment.export().await;
        let output = deployment.import(&sqlite_file).await;
        assert_import_failed(&output, &format!("an export into a non-empty {kind} store"), "the store is not empty");
        assert_eq!(deployment.export().await, before, "a rejected import leaves the {kind} store as it was");
    }
}

#[tokio::test]
async fn import_rejects_files_that_are_not_exports() {
    let files = tempfile::tempdir().expect("create a temporary directory");
    let deployment = Deployment::sqlite();
    let valid_header = r#""users": [], "notes": []"#;

    // The log writes the error as a quoted string, so the expected parts
    // avoid quote characters.
    let cases: [(&str, PathBuf, &[&str]); 6] = [
        ("plain text", write_file(&files, "notes.txt", "these are my notes\n"), &["is not a notes export file"]),
        ("an empty file", write_file(&files, "empty.json", ""), &["is not a notes export file"]),
        (
            "JSON of another shape",
            write_file(&files, "other.json", r#"{"hello": "world"}"#),
            &["is not a notes export file"],
        ),
        (
            "another format",
            write_file(
                &files,
                "format.json",
                &format!(r#"{{"format": "other-export", "version": 1, {valid_header}}}"#),
            ),
            &["has format", "other-export", "version 1;", "this program reads"],
        ),
        (
            "a newer format version",
            write_file(
                &files,
                "version.json",
                &format!(r#"{{"format": "notes-export", "version": 2, {valid_header}}}"#),
            ),
            &["has format", "notes-export", "version 2;", "this program reads"],
        ),
        ("a missing file", files.path().join("missing.json"), &["failed to read"]),
    ];
    for (case, path, messages) in &cases {
        let output = deployment.import(path).await;
        for message in *messages {
            assert_import_failed(&output, case, message);
        }
        assert!(stderr_of(&output).contains(&display(path)), "error of the import of {case} names the file");
    }

    let export = parse_export(&deployment.export().await, 0, 0);
    assert_eq!(export["users"], Value::Array(Vec::new()), "rejected imports leave the store empty");
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test]
async fn import_creates_a_missing_data_directory() {
    let source = Deployment::sqlite();
    let (users, notes) = fill_through_api(&source).await;
    let files = tempfile::tempdir().expect("create a temporary directory");
    let backup = write_file(&files, "backup.json", &source.export().await);

    // A restore onto a new machine: the data directory does not exist yet.
    let target = Deployment::sqlite();
    let new_dir = files.path().join("new").join("data");
    let mut command = target.command();
    command.env("NOTES_DATA_DIR", &new_dir).arg("import").arg(&backup);
    let output = tokio::task::spawn_blocking(move || command.output().expect("run notes-server import"))
        .await
        .expect("the thread that runs notes-server did not panic");
    assert_imported(&output, "a missing data directory");
    assert!(new_dir.join("notes.db").is_file(), "the store file is in the new data directory");

    let restored = target.command().env("NOTES_DATA_DIR", &new_dir).arg("export").output().expect("run export");
    assert!(restored.status.success(), "export after the restore: {}", stderr_of(&restored));
    parse_export(&String::from_utf8_lossy(&restored.stdout), users.len(), notes.len());
}
