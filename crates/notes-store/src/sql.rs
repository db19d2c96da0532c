//! Pieces shared by the SQLite and PostgreSQL stores: the schema version
//! check, the change log payload, and conversions between domain values and
//! column values.

use notes_core::{ChangeEvent, ChangeKind};
use sqlx::migrate::{MigrateError, Migrator};

use crate::StoreError;

/// A stored value that cannot be turned back into a domain value, such as a
/// negative version or an id that is not a UUID.
#[derive(Debug, thiserror::Error)]
#[error("invalid value in column {column}: {message}")]
pub(crate) struct InvalidColumn {
    column: &'static str,
    message: String,
}

/// Builds the error for a column value that cannot be decoded.
pub(crate) fn invalid_column(column: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::backend(InvalidColumn { column, message: message.into() })
}

/// Converts a version or sequence number to the signed 64-bit integer that
/// both databases store.
pub(crate) fn to_db_int(value: u64, column: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| invalid_column(column, format!("{value} is above the maximum {}", i64::MAX)))
}

/// Converts a stored version or sequence number back to `u64`.
pub(crate) fn from_db_int(value: i64, column: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| invalid_column(column, format!("{value} is negative")))
}

/// Converts a `changes_since` bound to SQL parameters: `after` is clamped to
/// the largest stored value and `limit` to `i64::MAX`.
pub(crate) fn replay_bounds(after: u64, limit: usize) -> (i64, i64) {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    (after, limit)
}

/// Returns the value of the `kind` column for a change.
pub(crate) fn kind_name(kind: &ChangeKind) -> &'static str {
    match kind {
        ChangeKind::NoteCreated(_) => "note_created",
        ChangeKind::NoteUpdated(_) => "note_updated",
        ChangeKind::NoteDeleted { .. } => "note_deleted",
    }
}

/// Serializes an event for the `payload` column.
pub(crate) fn encode_event(event: &ChangeEvent) -> Result<String, StoreError> {
    serde_json::to_string(event).map_err(StoreError::backend)
}

/// Parses a `payload` column value back into an event.
pub(crate) fn decode_event(payload: &str) -> Result<ChangeEvent, StoreError> {
    serde_json::from_str(payload).map_err(StoreError::backend)
}

/// Reports whether a database error is a unique-constraint violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database_error) if database_error.is_unique_violation())
}

/// Maps a failed insert to [`StoreError::Conflict`] with `rule` when it broke
/// a unique constraint, and to [`StoreError::Backend`] otherwise.
pub(crate) fn conflict_or_backend(error: sqlx::Error, rule: &'static str) -> StoreError {
    if is_unique_violation(&error) { StoreError::Conflict(rule) } else { StoreError::backend(error) }
}

/// Returns the highest migration version that this program contains.
fn latest_known_version(migrator: &Migrator) -> i64 {
    migrator.iter().map(|migration| migration.version).max().unwrap_or(0)
}

/// Builds the error for a database that has a migration this program lacks.
fn unknown_migration(version: i64, migrator: &Migrator) -> StoreError {
    let latest = latest_known_version(migrator);
    if version > latest {
        StoreError::Incompatible(format!(
            "database schema version {version} is newer than this program supports (max {latest}); upgrade notes-server"
        ))
    } else {
        StoreError::Incompatible(format!(
            "database has schema migration {version}, which this program does not contain (its latest is {latest}); \
             use the notes-server release that created this database"
        ))
    }
}

/// Checks the versions listed in `_sqlx_migrations` against the migrations
/// built into this program, before any of them runs.
///
/// A database that a newer program has migrated is rejected with
/// [`StoreError::Incompatible`], because this program would misread tables
/// whose shape it does not know. Pending migrations are fine: the caller runs
/// them next.
pub(crate) fn check_applied_versions(applied: &[i64], migrator: &Migrator) -> Result<(), StoreError> {
    let unknown = applied.iter().copied().filter(|version| !migrator.version_exists(*version)).max();
    match unknown {
        Some(version) => Err(unknown_migration(version, migrator)),
        None => Ok(()),
    }
}

/// Maps an error of [`Migrator::run`].
///
/// `VersionMissing` still reaches here when a newer program migrates the
/// database between the version check and the run, so it gets the same
/// message as the check.
pub(crate) fn map_migrate_error(error: MigrateError, migrator: &Migrator) -> StoreError {
    match error {
        MigrateError::VersionMissing(version) => unknown_migration(version, migrator),
        other => StoreError::backend(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_bounds_clamp_large_values() {
        assert_eq!(replay_bounds(5, 10), (5, 10));
        assert_eq!(replay_bounds(u64::MAX, usize::MAX), (i64::MAX, i64::MAX));
    }

    #[test]
    fn negative_stored_version_is_invalid() {
        assert!(matches!(from_db_int(-1, "version"), Err(StoreError::Backend(_))));
        assert_eq!(from_db_int(7, "version").ok(), Some(7));
    }
}
