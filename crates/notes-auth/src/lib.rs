//! Password hashing and session tokens for the notes service.
//!
//! - [`PasswordHasher`]: bcrypt hashing and verification at a configured cost,
//!   with a dummy verification for unknown accounts so a login for an email
//!   that does not exist costs the same time as a wrong password.
//! - [`TokenKeys`]: HS256 JSON Web Tokens whose `sub` is the user id, with a
//!   required `exp`, a small explicit leeway and a configured lifetime.
//! - [`JwtSecret`]: the signing secret, at least [`MIN_SECRET_BYTES`] long, with
//!   `Debug` that hides it.
//!
//! This crate is pure: it depends on `notes-core` only among the workspace
//! crates and has no HTTP types and no async runtime. bcrypt is slow on
//! purpose (about 250 ms at cost 12 on one core), so callers must run
//! [`PasswordHasher::hash`] and [`PasswordHasher::verify`] on a blocking
//! thread pool, never on an async worker.

mod password;
mod token;

pub use password::{DEFAULT_BCRYPT_COST, PasswordHasher};
pub use token::{Claims, DEFAULT_TOKEN_TTL, IssuedToken, JwtSecret, LEEWAY, MIN_SECRET_BYTES, TokenKeys, unix_now};

/// Why a password or token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token is missing a required claim, expired, not yet valid, signed
    /// with another key or algorithm, or not a JWT at all. Callers answer
    /// every one of these the same way and log the detail at debug level.
    #[error("invalid token: {0}")]
    InvalidToken(#[source] jsonwebtoken::errors::Error),

    /// The signing secret is shorter than [`MIN_SECRET_BYTES`].
    #[error("the token signing secret must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
    WeakSecret(usize),

    /// The bcrypt cost is outside 4 to 31.
    #[error("bcrypt cost must be between 4 and 31, got {0}")]
    InvalidCost(u32),

    /// No JWT crypto backend is available, so signing would panic.
    #[error("no JWT crypto provider is installed; build jsonwebtoken with the rust_crypto feature")]
    NoCryptoProvider,

    /// Hashing or token encoding failed for another reason.
    #[error("{0}")]
    Internal(String),
}
