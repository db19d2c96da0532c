//! The store's error type.

use notes_core::RuleError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No note has the requested id.
    #[error("note not found")]
    NotFound,

    /// A uniqueness rule was broken, such as a second user with one email.
    /// The text names the rule.
    #[error("conflict: {0}")]
    Conflict(&'static str),

    /// The ownership or version rule rejected a write.
    #[error(transparent)]
    Rule(#[from] RuleError),

    /// Import was asked to load into a store that already has data.
    #[error("the store is not empty; import loads only into an empty store")]
    NotEmpty,

    /// Import was given a dump that breaks a rule every store keeps, such
    /// as a note version outside 1 to 2^63 - 1. The text names the rule.
    #[error("invalid dump: {0}")]
    InvalidDump(String),

    /// The database is newer than this program (it has migrations this
    /// program does not know), or otherwise unusable by it.
    #[error("incompatible database: {0}")]
    Incompatible(String),

    /// The backend failed: I/O, a lost connection, a corrupt row.
    #[error("storage backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}
