//! bcrypt password hashing.

use std::sync::OnceLock;

use notes_core::{Password, PasswordHash};

use crate::AuthError;

/// The default bcrypt cost: 2^12 rounds, about 250 ms per hash on one core
/// of a current server.
pub const DEFAULT_BCRYPT_COST: u32 = 12;

/// Hashes and verifies passwords at one bcrypt cost.
#[derive(Debug)]
pub struct PasswordHasher {
    cost: u32,
    /// A hash of a fixed string at `cost`, made on first use, that unknown
    /// accounts are verified against.
    dummy_hash: OnceLock<String>,
}

impl PasswordHasher {
    /// Creates a hasher. The cost must be within bcrypt's range of 4 to 31.
    pub fn new(cost: u32) -> Result<Self, AuthError> {
        if !(4..=31).contains(&cost) {
            return Err(AuthError::InvalidCost(cost));
        }
        Ok(Self { cost, dummy_hash: OnceLock::new() })
    }

    /// Returns the configured cost.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// Hashes a password with a fresh random salt. Blocking: see the crate docs.
    pub fn hash(&self, password: &Password) -> Result<PasswordHash, AuthError> {
        // The validated password is at most 71 bytes, so the non-truncating
        // variant never rejects it; it guards against a future limit change.
        bcrypt::non_truncating_hash(password.expose(), self.cost)
            .map(PasswordHash::new)
            .map_err(|error| AuthError::Internal(format!("bcrypt hashing failed: {error}")))
    }

    /// Checks a password against a stored hash. Blocking: see the crate docs.
    ///
    /// A malformed stored hash counts as a mismatch and is reported as an
    /// error, so the caller can log it.
    pub fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, AuthError> {
        bcrypt::verify(password.expose(), hash.expose())
            .map_err(|error| AuthError::Internal(format!("stored bcrypt hash is unreadable: {error}")))
    }

    /// Spends the same time as [`PasswordHasher::verify`] and returns `false`.
    ///
    /// Login calls this when no account has the email, so the response time
    /// does not tell whether an email is registered.
    pub fn verify_dummy(&self, password: &Password) -> bool {
        let dummy = self
            .dummy_hash
            .get_or_init(|| bcrypt::hash("dummy password for unknown accounts", self.cost).unwrap_or_default());
        let _ = bcrypt::verify(password.expose(), dummy);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> Password {
        Password::parse(text.to_owned()).unwrap()
    }

    #[test]
    fn hash_then_verify() {
        let hasher = PasswordHasher::new(4).unwrap();
        let hash = hasher.hash(&password("correct horse")).unwrap();
        assert!(hash.expose().starts_with("$2b$04$"));
        assert!(hasher.verify(&password("correct horse"), &hash).unwrap());
        assert!(!hasher.verify(&password("wrong horse"), &hash).unwrap());
    }

    #[test]
    fn same_password_gets_different_salts() {
        let hasher = PasswordHasher::new(4).unwrap();
        let first = hasher.hash(&password("correct horse")).unwrap();
        let second = hasher.hash(&password("correct horse")).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn cost_out_of_range_is_rejected() {
        assert!(matches!(PasswordHasher::new(3), Err(AuthError::InvalidCost(3))));
        assert!(matches!(PasswordHasher::new(32), Err(AuthError::InvalidCost(32))));
    }

    #[test]
    fn unreadable_hash_is_an_error() {
        let hasher = PasswordHasher::new(4).unwrap();
        let result = hasher.verify(&password("correct horse"), &PasswordHash::new("garbage".into()));
        assert!(result.is_err());
    }

    #[test]
    fn dummy_verification_never_matches() {
        let hasher = PasswordHasher::new(4).unwrap();
        assert!(!hasher.verify_dummy(&password("dummy password for unknown accounts")));
    }
}
