//! The domain of the notes service: users, notes, their ids, validated input,
//! the change events that every write produces, and the rules that decide who
//! may change what.
//!
//! This crate is the bottom of the workspace. It depends on no other workspace
//! crate and does no I/O: no files, no network, no async runtime, no actix.
//! Stores, the hub and the HTTP server all build on it, and a program that
//! embeds the service gets the same rules as the HTTP API by calling into it.
//!
//! Modules:
//! - [`id`]: the UUID v4 newtypes [`UserId`] and [`NoteId`].
//! - [`user`]: [`User`] and the stored form with its password hash.
//! - [`note`]: [`Note`] and [`Note::apply_update`], the ownership and version rule.
//! - [`input`]: validated input ([`Registration`], [`NewNote`], [`NoteUpdate`]) and the limits.
//! - [`event`]: [`ChangeEvent`], the numbered record of one committed write.
//! - [`error`]: [`ValidationError`] and [`RuleError`].
//! - [`time`]: the JSON form of timestamps, RFC 3339 with six fractional digits.
//!
//! Limits: times are UTC with microsecond precision (the precision that the
//! SQL stores keep), and lengths are counted in Unicode scalar values.

pub mod error;
pub mod event;
pub mod id;
pub mod input;
pub mod note;
pub mod time;
pub mod user;

pub use error::{RuleError, ValidationError};
pub use event::{ChangeEvent, ChangeKind, Seq};
pub use id::{NoteId, UserId};
pub use input::{
    CONTENT_MAX_CHARS, Email, NewNote, NoteUpdate, PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES, Password, Registration,
    TITLE_MAX_CHARS, USERNAME_MAX_CHARS, Username,
};
pub use note::{MAX_VERSION, Note};
pub use user::{PasswordHash, StoredUser, User};

/// Returns the current UTC time truncated to whole microseconds.
///
/// Every timestamp that the service stores goes through this function, so a
/// note read back from SQLite or PostgreSQL compares equal to the one returned
/// when it was written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    let micros = now.timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or(now)
}
