//! HS256 JSON Web Tokens.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use notes_core::UserId;
use serde::{Deserialize, Serialize};

use crate::AuthError;

/// The shortest accepted signing secret. HS256 uses a 256-bit key, and a
/// shorter secret makes brute-forcing a captured token cheaper.
pub const MIN_SECRET_BYTES: usize = 32;

/// How long a token is valid by default.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Clock difference tolerated when checking `exp` and `nbf`. jsonwebtoken
/// defaults to 60 seconds, which would keep an expired token working for a
/// minute, so the leeway is set here explicitly.
pub const LEEWAY: Duration = Duration::from_secs(5);

/// The token signing secret. `Debug` hides the bytes.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    /// Accepts a secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, AuthError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(AuthError::WeakSecret(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// Creates a random secret of 32 bytes from the operating system's
    /// random source, written as 64 hexadecimal characters so it can be kept
    /// in a text file.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        Self(hex.into_bytes())
    }

    /// Returns the secret bytes, for storing them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtSecret(<{} bytes redacted>)", self.0.len())
    }
}

/// The claims of a session token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: UserId,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
}

/// A freshly signed token and when it expires.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The encoded JWT.
    pub token: String,
    /// Expiry, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Issues and validates session tokens with one secret and lifetime.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Creates the keys and checks that a crypto provider is installed by
    /// signing and validating one token, so a missing backend fails at start
    /// instead of at the first login.
    pub fn new(secret: &JwtSecret, ttl: Duration) -> Result<Self, AuthError> {
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            return Err(AuthError::NoCryptoProvider);
        }

        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);

        let keys = Self {
            encoding: EncodingKey::from_secret(secret.expose())
                .map_err(|error| AuthError::Internal(format!("invalid signing key: {error}")))?,
            decoding: DecodingKey::from_secret(secret.expose())
                .map_err(|error| AuthError::Internal(format!("invalid signing key: {error}")))?,
            validation,
            ttl,
        };
        let probe = keys.issue(UserId::new())?;
        keys.validate(&probe.token)?;
        Ok(keys)
    }

    /// Returns the configured token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a token for a user that expires after the configured lifetime.
    pub fn issue(&self, user: UserId) -> Result<IssuedToken, AuthError> {
        let now = unix_now();
        let claims = Claims { sub: user, iat: now, exp: now + self.ttl.as_secs() };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| AuthError::Internal(format!("token signing failed: {error}")))?;
        Ok(IssuedToken { token, expires_at: claims.exp })
    }

    /// Checks a token's signature, algorithm, `exp` and `nbf`, and returns
    /// its claims.
    pub fn validate(&self, token: &str) -> Result<Claims, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(AuthError::InvalidToken)
    }
}

/// Returns the seconds since the Unix epoch. A clock before 1970 reads as 0.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret() -> JwtSecret {
        JwtSecret::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(&secret(), DEFAULT_TOKEN_TTL).unwrap()
    }

    fn sign(claims: serde_json::Value, algorithm: Algorithm) -> String {
        let key = EncodingKey::from_secret(secret().expose()).unwrap();
        jsonwebtoken::encode(&Header::new(algorithm), &claims, &key).unwrap()
    }

    #[test]
    fn issued_token_validates() {
        let keys = keys();
        let user = UserId::new();
        let issued = keys.issue(user).unwrap();
        let claims = keys.validate(&issued.token).unwrap();
        assert_eq!(claims.sub, user);
        assert_eq!(claims.exp, issued.expires_at);
        assert_eq!(claims.exp - claims.iat, DEFAULT_TOKEN_TTL.as_secs());
    }

    #[test]
    fn short_secret_is_rejected() {
        assert!(matches!(JwtSecret::new(vec![b'a'; 31]), Err(AuthError::WeakSecret(31))));
    }

    #[test]
    fn generated_secret_is_long_enough() {
        let generated = JwtSecret::generate();
        assert_eq!(generated.expose().len(), 64);
        assert!(JwtSecret::new(generated.expose().to_vec()).is_ok());
        assert_ne!(generated.expose(), JwtSecret::generate().expose());
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert!(!format!("{:?}", secret()).contains("0123"));
    }

    #[test]
    fn expired_token_is_rejected_beyond_leeway() {
        let now = unix_now();
        let sub = UserId::new().to_string();
        let expired = sign(json!({"sub": sub, "iat": now - 100, "exp": now - LEEWAY.as_secs() - 2}), Algorithm::HS256);
        assert!(keys().validate(&expired).is_err());

        let within_leeway = sign(json!({"sub": sub, "iat": now - 100, "exp": now - 1}), Algorithm::HS256);
        assert!(keys().validate(&within_leeway).is_ok());
    }

    #[test]
    fn malformed_claims_are_rejected() {
        let now = unix_now();
        let sub = UserId::new().to_string();
        let cases = [
            ("no exp", json!({"sub": sub, "iat": now})),
            ("exp as text", json!({"sub": sub, "iat": now, "exp": "tomorrow"})),
            ("nbf in the future", json!({"sub": sub, "iat": now, "exp": now + 3600, "nbf": now + 600})),
            ("no sub", json!({"iat": now, "exp": now + 3600})),
            ("sub not a uuid", json!({"sub": "admin", "iat": now, "exp": now + 3600})),
        ];
        for (name, claims) in cases {
            let token = sign(claims, Algorithm::HS256);
            assert!(keys().validate(&token).is_err(), "{name}");
        }
    }

    #[test]
    fn other_algorithms_and_keys_are_rejected() {
        let now = unix_now();
        let claims = json!({"sub": UserId::new().to_string(), "iat": now, "exp": now + 3600});
        assert!(keys().validate(&sign(claims.clone(), Algorithm::HS512)).is_err());

        let other_key = EncodingKey::from_secret(&[7u8; 32]).unwrap();
        let forged = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &other_key).unwrap();
        assert!(keys().validate(&forged).is_err());

        // An unsigned token with "alg": "none".
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.";
        assert!(keys().validate(unsigned).is_err());
        assert!(keys().validate("").is_err());
        assert!(keys().validate(&"a".repeat(100_000)).is_err());
    }
}
