//! Notes and the rule for changing them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::RuleError;
use crate::id::{NoteId, UserId};
use crate::input::{NewNote, NoteUpdate};
use crate::user::User;

/// The highest note version: the largest value of the signed 64-bit column
/// that the SQLite and PostgreSQL stores keep it in.
pub const MAX_VERSION: u64 = i64::MAX as u64;

/// A note as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The note's id.
    pub id: NoteId,
    /// The id of the owner, the only user who may change or delete the note.
    pub user_id: UserId,
    /// The owner's username at the time the note was created.
    pub author: String,
    /// The title, 1 to [`crate::TITLE_MAX_CHARS`] characters.
    pub title: String,
    /// The body text, up to [`crate::CONTENT_MAX_CHARS`] characters.
    pub content: String,
    /// When the note was created.
    #[serde(with = "crate::time")]
    pub created_at: DateTime<Utc>,
    /// When the note was last changed.
    #[serde(with = "crate::time")]
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one with each update.
    pub version: u64,
}

impl Note {
    /// Creates version 1 of a note owned by `owner`.
    pub fn create(owner: &User, input: NewNote) -> Self {
        let now = crate::now();
        Self {
            id: NoteId::new(),
            user_id: owner.id,
            author: owner.username.clone(),
            title: input.title,
            content: input.content,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Checks that `actor` may delete this note.
    pub fn check_delete(&self, actor: UserId) -> Result<(), RuleError> {
        if self.user_id == actor { Ok(()) } else { Err(RuleError::NotOwner) }
    }

    /// Returns the note after `actor` applies `update`, or the rule it breaks.
    ///
    /// A note at [`MAX_VERSION`] cannot change again ([`RuleError::VersionLimit`]).
    ///
    /// Only the owner may update. When the update carries an expected version
    /// that differs from the stored one, it is rejected with the current note.
    /// An update without a version applies to whatever is stored, which keeps
    /// clients that predate versions working. Stores call this while they hold
    /// the note exclusively, so the check and the write are one step.
    pub fn apply_update(&self, actor: UserId, update: NoteUpdate) -> Result<Note, RuleError> {
        self.check_delete(actor)?;

        if let Some(expected) = update.expected_version
            && expected != self.version
        {
            return Err(RuleError::VersionConflict { expected, current: Box::new(self.clone()) });
        }

        if self.version >= MAX_VERSION {
            return Err(RuleError::VersionLimit);
        }
        let version = self.version + 1;
        let updated_at = crate::now().max(self.updated_at);
        Ok(Note { title: update.title, content: update.content, updated_at, version, ..self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Email;
    use crate::user::{PasswordHash, StoredUser};

    fn user(name: &str) -> User {
        let email = Email::parse(&format!("{name}@example.com")).unwrap();
        StoredUser::new(name.into(), &email, PasswordHash::new(String::new())).user
    }

    fn note_of(owner: &User) -> Note {
        Note::create(owner, NewNote::new("Groceries", "milk").unwrap())
    }

    #[test]
    fn create_starts_at_version_one() {
        let alice = user("alice");
        let note = note_of(&alice);
        assert_eq!(note.version, 1);
        assert_eq!(note.user_id, alice.id);
        assert_eq!(note.author, "alice");
        assert_eq!(note.created_at, note.updated_at);
    }

    #[test]
    fn update_at_highest_version_is_rejected() {
        let alice = user("alice");
        let note = Note { version: MAX_VERSION, ..note_of(&alice) };
        let update = NoteUpdate::new("Groceries", "milk", None).unwrap();
        assert_eq!(note.apply_update(alice.id, update.clone()), Err(RuleError::VersionLimit));

        let below = Note { version: MAX_VERSION - 1, ..note_of(&alice) };
        assert_eq!(below.apply_update(alice.id, update).map(|note| note.version), Ok(MAX_VERSION));
    }

    #[test]
    fn owner_update_bumps_version() {
        let alice = user("alice");
        let note = note_of(&alice);
        let update = NoteUpdate::new("Groceries", "milk, eggs", Some(1)).unwrap();
        let updated = note.apply_update(alice.id, update).unwrap();
        assert_eq!(updated.version, 2);
        assert_eq!(updated.content, "milk, eggs");
        assert_eq!(updated.id, note.id);
        assert_eq!(updated.created_at, note.created_at);
    }

    #[test]
    fn update_without_version_applies() {
        let alice = user("alice");
        let note = note_of(&alice);
        let update = NoteUpdate::new("New", "", None).unwrap();
        assert_eq!(note.apply_update(alice.id, update).unwrap().version, 2);
    }

    #[test]
    fn stale_version_is_conflict() {
        let alice = user("alice");
        let note = note_of(&alice);
        let update = NoteUpdate::new("New", "", Some(5)).unwrap();
        match note.apply_update(alice.id, update) {
            Err(RuleError::VersionConflict { expected, current }) => {
                assert_eq!(expected, 5);
                assert_eq!(*current, note);
            }
            other => panic!("expected a version conflict, got {other:?}"),
        }
    }

    #[test]
    fn other_user_cannot_update_or_delete() {
        let alice = user("alice");
        let bob = user("bob");
        let note = note_of(&alice);
        let update = NoteUpdate::new("Mine now", "", Some(1)).unwrap();
        assert_eq!(note.apply_update(bob.id, update), Err(RuleError::NotOwner));
        assert_eq!(note.check_delete(bob.id), Err(RuleError::NotOwner));
        assert_eq!(note.check_delete(alice.id), Ok(()));
    }
}
