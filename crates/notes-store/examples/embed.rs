//! Embedding the notes rules and a store in another Rust program, without
//! the HTTP server: the same validation, ownership and version rules apply.
//!
//! Run with `cargo run --example embed --package notes-store`.

use notes_core::{Email, NewNote, NoteUpdate, PasswordHash, RuleError, StoredUser};
use notes_store::{MemoryStore, Store, StoreError};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any store works here: `notes_store::open("sqlite://notes.db", &Default::default())`
    // returns the durable one behind the same trait.
    let store = MemoryStore::new();

    // The hash would come from notes_auth::PasswordHasher in a real program.
    let email = Email::parse("  Ada@Example.com ")?;
    let ada = StoredUser::new("ada".into(), &email, PasswordHash::new("$2b$12$...".into()));
    store.create_user(ada.clone()).await?;

    let created = store.create_note(&ada.user, NewNote::new("Plan", "first draft")?).await?;
    println!("created {:?} at seq {}", created.note.title, created.event.seq);

    let update = NoteUpdate::new("Plan", "second draft", Some(created.note.version))?;
    let updated = store.update_note(ada.user.id, created.note.id, update).await?;
    println!("updated to version {} at seq {}", updated.note.version, updated.event.seq);

    // A second edit based on the old version is a conflict, not a lost update.
    let stale = NoteUpdate::new("Plan", "based on the first draft", Some(created.note.version))?;
    match store.update_note(ada.user.id, created.note.id, stale).await {
        Err(StoreError::Rule(RuleError::VersionConflict { current, .. })) => {
            println!("conflict: the stored note is at version {}", current.version);
        }
        other => return Err(format!("expected a version conflict, got {other:?}").into()),
    }

    // Validation errors name the field.
    if let Err(error) = NewNote::new("", "no title") {
        println!("rejected: {error}");
    }
    Ok(())
}
