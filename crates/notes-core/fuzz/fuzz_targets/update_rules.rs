//! Fuzz target for the ownership and version rule of [`Note::apply_update`]
//! and [`Note::check_delete`].
//!
//! The input is decoded with `arbitrary` into a stored note, an acting user
//! and an update. Only the owner may update or delete. An update that carries
//! a version other than the stored one is a conflict that returns the stored
//! note unchanged. A successful update raises the version by exactly 1 and
//! keeps the id, owner, author and creation time.

#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use notes_core::{MAX_VERSION, Note, NoteId, NoteUpdate, RuleError, UserId};
use uuid::Uuid;

#[derive(Arbitrary, Debug)]
struct Case {
    note_id: u128,
    owner: u128,
    actor: Actor,
    author: String,
    title: String,
    content: String,
    created_micros: i64,
    updated_micros: i64,
    version: u64,
    update_title: String,
    update_content: String,
    expected_version: ExpectedVersion,
}

#[derive(Arbitrary, Debug)]
enum Actor {
    Owner,
    Other(u128),
}

/// The version an update carries. `Current` and `Stale` make the two cases
/// of the version rule common, which a plain `Option<u64>` would not.
#[derive(Arbitrary, Debug)]
enum ExpectedVersion {
    Omitted,
    Current,
    Stale,
    Any(u64),
}

fuzz_target!(|case: Case| {
    let (Some(created_at), Some(updated_at)) = (
        DateTime::<Utc>::from_timestamp_micros(case.created_micros),
        DateTime::from_timestamp_micros(case.updated_micros),
    ) else {
        return;
    };

    // Versions start at 1. Those at or above `MAX_VERSION` are kept, so the
    // limit rule is checked too.
    let version = case.version.max(1);

    let owner = UserId::from_uuid(Uuid::from_u128(case.owner));
    let note = Note {
        id: NoteId::from_uuid(Uuid::from_u128(case.note_id)),
        user_id: owner,
        author: case.author,
        title: case.title,
        content: case.content,
        created_at,
        updated_at,
        version,
    };
    let actor = match case.actor {
        Actor::Owner => owner,
        Actor::Other(id) => UserId::from_uuid(Uuid::from_u128(id)),
    };
    let expected_version = match case.expected_version {
        ExpectedVersion::Omitted => None,
        ExpectedVersion::Current => Some(note.version),
        ExpectedVersion::Stale => Some(note.version.wrapping_add(1)),
        ExpectedVersion::Any(version) => Some(version),
    };

    // The rule never looks at the text, so the update is built directly
    // instead of through `NoteUpdate::new`, and any strings reach it.
    let update = NoteUpdate { title: case.update_title, content: case.update_content, expected_version };
    let result = note.apply_update(actor, update.clone());

    if actor != owner {
        assert_eq!(result, Err(RuleError::NotOwner), "a user other than the owner updated a note");
        assert_eq!(note.check_delete(actor), Err(RuleError::NotOwner), "a user other than the owner may delete");
        return;
    }
    assert_eq!(note.check_delete(actor), Ok(()), "the owner may not delete");

    if let Some(expected) = expected_version
        && expected != note.version
    {
        let conflict = RuleError::VersionConflict { expected, current: Box::new(note.clone()) };
        assert_eq!(result, Err(conflict), "a stale version was not rejected with the stored note");
        return;
    }

    if note.version >= MAX_VERSION {
        assert_eq!(result, Err(RuleError::VersionLimit), "a note at the highest version was changed");
        return;
    }

    let updated = match result {
        Ok(updated) => updated,
        Err(error) => panic!("the owner's update with version {expected_version:?} was rejected: {error}"),
    };
    assert_eq!(updated.version, note.version + 1, "a successful update must raise the version by exactly 1");
    assert_eq!(updated.id, note.id);
    assert_eq!(updated.user_id, note.user_id);
    assert_eq!(updated.author, note.author);
    assert_eq!(updated.created_at, note.created_at);
    assert_eq!(updated.title, update.title);
    assert_eq!(updated.content, update.content);
    assert!(updated.updated_at >= note.updated_at, "an update moved updated_at back");
});
