//! Users, and the stored form that carries the password hash.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::UserId;
use crate::input::Email;

/// A registered user as every client sees it. The password hash is not part
/// of this type, so it cannot be serialized by mistake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The display name shown as the author of the user's notes.
    pub username: String,
    /// The email address in its canonical form (see [`Email`]).
    pub email: String,
    /// When the user registered.
    #[serde(with = "crate::time")]
    pub created: DateTime<Utc>,
}

/// A bcrypt hash in its modular crypt form (`$2b$12$…`).
///
/// `Debug` and `Display` print a placeholder, so a hash never reaches a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash string produced by the auth crate or read from storage.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// Returns the hash string, for verification and storage only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A user together with the password hash, as a store keeps it.
///
/// The serialized form is the one that export and import use; it contains the
/// hash, so an export file must be handled as a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUser {
    /// The public part of the user.
    #[serde(flatten)]
    pub user: User,
    /// The bcrypt hash of the user's password.
    pub password_hash: PasswordHash,
}

impl StoredUser {
    /// Builds the stored form of a new user from a validated registration
    /// whose password has already been hashed.
    pub fn new(username: String, email: &Email, password_hash: PasswordHash) -> Self {
        Self {
            user: User { id: UserId::new(), username, email: email.as_str().to_owned(), created: crate::now() },
            password_hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_debug_is_redacted() {
        let hash = PasswordHash::new("$2b$12$secretsecret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }

    #[test]
    fn user_json_has_no_hash() {
        let email = Email::parse("a@example.com").unwrap();
        let stored = StoredUser::new("alice".into(), &email, PasswordHash::new("$2b$x".into()));
        let json = serde_json::to_value(&stored.user).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 4);
        assert!(json.get("password_hash").is_none());
    }
}
