//! Errors of the domain rules.

use crate::note::Note;

/// Input that breaks a documented limit or format.
///
/// `field` is the JSON field name the client sent, so a form can show the
/// message beside the right input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The name of the offending field, as it appears in the request body.
    pub field: &'static str,
    /// A sentence that says what is wrong and what is allowed.
    pub message: String,
}

impl ValidationError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// A write that the ownership or version rule rejects.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// The acting user does not own the note.
    #[error("only the owner of a note may change or delete it")]
    NotOwner,

    /// The update carried a version other than the stored one. The current
    /// note is included so the client can show it beside its own text.
    #[error("note was changed by someone else: expected version {expected}, stored version {}", current.version)]
    VersionConflict {
        /// The version the client read before editing.
        expected: u64,
        /// The note as it is stored now.
        current: Box<Note>,
    },

    /// The note is at [`crate::MAX_VERSION`], the highest version that every
    /// store can hold, so it cannot change again.
    #[error("the note has reached the highest version ({}) and cannot be changed", crate::MAX_VERSION)]
    VersionLimit,
}
