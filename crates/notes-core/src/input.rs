//! Validated input, and the limits it enforces.
//!
//! Every constructor here trims or checks its input and returns a
//! [`ValidationError`] naming the field. A value of these types is known to be
//! within the limits, so the layers above never check again.
//!
//! Lengths of names, titles and content are counted in Unicode scalar values
//! (Rust `char`s), never in bytes, as PostgreSQL's `char_length` counts them.
//! So "é" sent precomposed counts once, and "e" followed by a combining accent
//! counts twice. Passwords are the exception: bcrypt works on bytes, so their
//! limit is in bytes.

use std::fmt;

use email_address::{EmailAddress, Options};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Maximum username length in characters, after trimming.
pub const USERNAME_MAX_CHARS: usize = 64;
/// Maximum email length in characters, after trimming (the limit of RFC 5321).
pub const EMAIL_MAX_CHARS: usize = 254;
/// Minimum password length in bytes of UTF-8.
pub const PASSWORD_MIN_BYTES: usize = 8;
/// Maximum password length in bytes of UTF-8. bcrypt reads at most 72 bytes
/// and some implementations count a terminating zero among them, so anything
/// longer would be silently cut. Longer passwords are rejected instead.
pub const PASSWORD_MAX_BYTES: usize = 71;
/// Maximum title length in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Maximum content length in characters.
pub const CONTENT_MAX_CHARS: usize = 100_000;

/// A display name: trimmed, 1 to [`USERNAME_MAX_CHARS`] characters, with no
/// control characters and at least one visible character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Validates and trims a username.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        let length = name.chars().count();

        if length == 0 {
            return Err(ValidationError::new("username", "username is required"));
        }
        if length > USERNAME_MAX_CHARS {
            return Err(ValidationError::new(
                "username",
                format!("username must be at most {USERNAME_MAX_CHARS} characters, got {length}"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new("username", "username must not contain control characters"));
        }
        if name.chars().all(is_invisible) {
            return Err(ValidationError::new("username", "username must contain a visible character"));
        }
        Ok(Self(name.to_owned()))
    }

    /// Returns the trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the trimmed name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Reports whether a character renders as nothing: white space, or one of the
/// zero-width and filler characters that people use to fake an empty name.
///
/// The list is written out because the standard library exposes no Unicode
/// general category, and the format characters (category Cf) that matter for
/// names are few and stable.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'             // soft hyphen
            | '\u{034F}'           // combining grapheme joiner
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{180E}'           // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}' // zero-width space, joiners, direction marks
            | '\u{202A}'..='\u{202E}' // bidirectional embedding controls
            | '\u{2060}'..='\u{2064}' // word joiner and invisible operators
            | '\u{2066}'..='\u{2069}' // bidirectional isolates
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{FEFF}'           // zero-width no-break space
        )
}

/// An email address in canonical form: trimmed, syntax-checked and lowercased.
///
/// Two addresses that differ only in letter case are the same account. The
/// whole address is lowercased, including the local part: RFC 5321 lets a
/// server treat local parts case-sensitively, but no common mail provider
/// does, and people expect `Alice@Example.com` and `alice@example.com` to be
/// one login.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validates an address and returns its canonical form.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::new("email", "email is required"));
        }
        let length = trimmed.chars().count();
        if length > EMAIL_MAX_CHARS {
            return Err(ValidationError::new(
                "email",
                format!("email must be at most {EMAIL_MAX_CHARS} characters, got {length}"),
            ));
        }
        if !is_bare_address(trimmed) {
            return Err(ValidationError::new("email", "email is not a valid address like name@example.com"));
        }

        // Lowercasing can make an address longer: 'İ' (U+0130) becomes "i"
        // followed by U+0307, and 'Ⱥ' (2 bytes of UTF-8) becomes 'ⱥ' (3 bytes).
        // The canonical form is what is stored and compared, so it must meet
        // the same limits, and parsing it again must return it unchanged.
        let canonical = trimmed.to_lowercase();
        let canonical_length = canonical.chars().count();
        if canonical_length > EMAIL_MAX_CHARS {
            return Err(ValidationError::new(
                "email",
                format!("email must be at most {EMAIL_MAX_CHARS} characters in lowercase, got {canonical_length}"),
            ));
        }
        if !is_bare_address(&canonical) {
            return Err(ValidationError::new(
                "email",
                "email is not a valid address once converted to lowercase, the form in which it is stored",
            ));
        }
        Ok(Self(canonical))
    }

    /// Returns the canonical address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Reports whether `text` is a bare address: no "Name <address>" form, no
/// IP-literal domain, and at least one dot in the domain.
fn is_bare_address(text: &str) -> bool {
    let options = Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
        allow_long_local_parts: false,
    };
    EmailAddress::parse_with_options(text, options).is_ok()
}

/// A password within the bcrypt byte limits. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks the length of a new password.
    ///
    /// The password is not trimmed: spaces at either end are part of it.
    pub fn parse(raw: String) -> Result<Self, ValidationError> {
        let bytes = raw.len();
        if bytes < PASSWORD_MIN_BYTES {
            return Err(ValidationError::new(
                "password",
                format!("password must be at least {PASSWORD_MIN_BYTES} bytes"),
            ));
        }
        if bytes > PASSWORD_MAX_BYTES {
            return Err(ValidationError::new(
                "password",
                format!(
                    "password must be at most {PASSWORD_MAX_BYTES} bytes of UTF-8, got {bytes}, \
                     because bcrypt ignores everything after 72 bytes"
                ),
            ));
        }
        Ok(Self(raw))
    }

    /// Accepts a password offered at login.
    ///
    /// Only the upper limit is checked, because a password that is too long
    /// could never have been registered and would only cost hashing time. A
    /// short password is passed on, so it fails exactly like a wrong one.
    pub fn for_login(raw: String) -> Result<Self, ValidationError> {
        if raw.len() > PASSWORD_MAX_BYTES {
            return Err(ValidationError::new(
                "password",
                format!("password must be at most {PASSWORD_MAX_BYTES} bytes of UTF-8"),
            ));
        }
        Ok(Self(raw))
    }

    /// Returns the password, for hashing and verification only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A validated request to register a new user.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The display name.
    pub username: Username,
    /// The canonical email address, unique among users.
    pub email: Email,
    /// The password to hash.
    pub password: Password,
}

impl Registration {
    /// Validates all three fields, reporting the first one that fails.
    pub fn new(username: &str, email: &str, password: String) -> Result<Self, ValidationError> {
        Ok(Self {
            username: Username::parse(username)?,
            email: Email::parse(email)?,
            password: Password::parse(password)?,
        })
    }
}

/// A validated title and content for a new note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNote {
    /// The title, trimmed.
    pub title: String,
    /// The content, kept as sent, with its line breaks.
    pub content: String,
}

impl NewNote {
    /// Validates a title and content.
    pub fn new(title: &str, content: &str) -> Result<Self, ValidationError> {
        Ok(Self { title: validate_title(title)?, content: validate_content(content)? })
    }
}

/// A validated change to a note's title and content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteUpdate {
    /// The new title, trimmed.
    pub title: String,
    /// The new content.
    pub content: String,
    /// The version the client read before editing, if it sent one. A
    /// different stored version makes the update a conflict.
    pub expected_version: Option<u64>,
}

impl NoteUpdate {
    /// Validates a title and content.
    pub fn new(title: &str, content: &str, expected_version: Option<u64>) -> Result<Self, ValidationError> {
        Ok(Self { title: validate_title(title)?, content: validate_content(content)?, expected_version })
    }
}

fn validate_title(raw: &str) -> Result<String, ValidationError> {
    let title = raw.trim();
    let length = title.chars().count();
    if length == 0 {
        return Err(ValidationError::new("title", "title is required"));
    }
    if title.chars().any(char::is_control) {
        return Err(ValidationError::new("title", "title must be one line without control characters"));
    }
    if length > TITLE_MAX_CHARS {
        return Err(ValidationError::new(
            "title",
            format!("title must be at most {TITLE_MAX_CHARS} characters, got {length}"),
        ));
    }
    Ok(title.to_owned())
}

fn validate_content(raw: &str) -> Result<String, ValidationError> {
    // PostgreSQL text cannot hold U+0000, and no editor produces it.
    if raw.contains('\0') {
        return Err(ValidationError::new("content", "content must not contain NUL characters"));
    }
    let length = raw.chars().count();
    if length > CONTENT_MAX_CHARS {
        return Err(ValidationError::new(
            "content",
            format!("content must be at most {CONTENT_MAX_CHARS} characters, got {length}"),
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    // A family emoji is 7 scalar values (4 people joined by 3 zero-width joiners).
    const FAMILY: &str = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}";
    // "e" followed by a combining acute accent: 2 scalar values, 1 visible letter.
    const E_ACUTE_COMBINING: &str = "e\u{0301}";

    #[test]
    fn username_is_trimmed() {
        assert_eq!(Username::parse("  alice \n").unwrap().as_str(), "alice");
    }

    #[test]
    fn username_limit_counts_characters_not_bytes() {
        // 64 four-byte emoji are 256 bytes but 64 characters.
        let at_limit = "\u{1F600}".repeat(USERNAME_MAX_CHARS);
        assert!(Username::parse(&at_limit).is_ok());

        let over = "\u{1F600}".repeat(USERNAME_MAX_CHARS + 1);
        let error = Username::parse(&over).unwrap_err();
        assert_eq!(error.field, "username");
        assert!(error.message.contains("65"), "{}", error.message);
    }

    #[test]
    fn username_with_multi_scalar_emoji_at_limit() {
        // 57 letters plus a 7-scalar emoji is exactly 64 characters.
        let at_limit = format!("{}{FAMILY}", "a".repeat(USERNAME_MAX_CHARS - 7));
        assert!(Username::parse(&at_limit).is_ok());
        let over = format!("{}{FAMILY}", "a".repeat(USERNAME_MAX_CHARS - 6));
        assert!(Username::parse(&over).is_err());
    }

    #[test]
    fn username_with_combining_marks_at_limit() {
        // 32 combining pairs are 64 characters.
        assert!(Username::parse(&E_ACUTE_COMBINING.repeat(32)).is_ok());
        assert!(Username::parse(&format!("{}a", E_ACUTE_COMBINING.repeat(32))).is_err());
    }

    #[test]
    fn username_rejects_empty_control_and_invisible() {
        for bad in [
            "",
            "   ",
            "\u{200B}\u{200B}",
            "\u{3164}",
            "\u{FEFF} \u{2060}",
            "al\u{0000}ice",
            "bob\u{0007}",
            "a\u{009F}b",
        ] {
            let error = Username::parse(bad).unwrap_err();
            assert_eq!(error.field, "username", "input {bad:?}");
        }
    }

    #[test]
    fn username_allows_visible_with_joiners() {
        assert!(Username::parse(FAMILY).is_ok());
        assert!(Username::parse("Zoë").is_ok());
    }

    #[test]
    fn email_is_canonical_lowercase() {
        let email = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "alice.smith@example.com");
        assert_eq!(email, Email::parse("ALICE.SMITH@example.com").unwrap());
    }

    #[test]
    fn email_rejects_bad_syntax() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@localhost",
            "Alice <alice@example.com>",
            "a b@example.com",
            "alice@[127.0.0.1]",
        ] {
            let error = Email::parse(bad).unwrap_err();
            assert_eq!(error.field, "email", "input {bad:?}");
        }
    }

    #[test]
    fn email_rejects_overlong() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn email_canonical_form_within_limits() {
        // 32 dotted capital I are 64 bytes, the local part limit of
        // `email_address`, and lowercase to 96 bytes.
        let local_part_grows = format!("{}@example.com", "\u{130}".repeat(32));
        let error = Email::parse(&local_part_grows).unwrap_err();
        assert_eq!(error.field, "email");
        assert!(error.message.contains("lowercase"), "{}", error.message);

        // 10 dotted capital I and a 243-character domain are 254 characters,
        // and 264 in lowercase.
        let domain = vec!["a".repeat(60); 4].join(".");
        let total_grows = format!("{}@{domain}", "\u{130}".repeat(10));
        assert_eq!(total_grows.chars().count(), EMAIL_MAX_CHARS);
        let error = Email::parse(&total_grows).unwrap_err();
        assert!(error.message.contains("got 264"), "{}", error.message);

        let short = Email::parse("\u{130}@example.com").unwrap();
        assert_eq!(short.as_str(), "i\u{307}@example.com");
        assert_eq!(Email::parse(short.as_str()), Ok(short));
    }

    #[test]
    fn password_byte_limits() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("a".repeat(PASSWORD_MAX_BYTES)).is_ok());

        let error = Password::parse("a".repeat(PASSWORD_MAX_BYTES + 1)).unwrap_err();
        assert_eq!(error.field, "password");
        assert!(error.message.contains("72 bytes"), "{}", error.message);
    }

    #[test]
    fn password_limit_counts_bytes_of_emoji() {
        // 17 four-byte emoji are 68 bytes; 18 are 72 bytes.
        assert!(Password::parse("\u{1F600}".repeat(17)).is_ok());
        assert!(Password::parse("\u{1F600}".repeat(18)).is_err());
        // Two emoji are 8 bytes, enough for the minimum.
        assert!(Password::parse("\u{1F600}".repeat(2)).is_ok());
    }

    #[test]
    fn password_debug_is_redacted() {
        let password = Password::parse("hunter22secret".into()).unwrap();
        assert!(!format!("{password:?}").contains("hunter"));
    }

    #[test]
    fn login_password_rejects_only_overlong() {
        assert!(Password::for_login("short".into()).is_ok());
        assert!(Password::for_login("x".repeat(1 << 20)).is_err());
    }

    #[test]
    fn title_limits_count_characters() {
        assert_eq!(NewNote::new("  Plan  ", "").unwrap().title, "Plan");
        assert_eq!(NewNote::new("   ", "").unwrap_err().field, "title");

        let at_limit = "\u{1F600}".repeat(TITLE_MAX_CHARS);
        assert!(NewNote::new(&at_limit, "").is_ok());
        let over = format!("{at_limit}{E_ACUTE_COMBINING}");
        assert_eq!(NewNote::new(&over, "").unwrap_err().field, "title");

        let combining_at_limit = E_ACUTE_COMBINING.repeat(TITLE_MAX_CHARS / 2);
        assert!(NewNote::new(&combining_at_limit, "").is_ok());
    }

    #[test]
    fn content_limits_count_characters() {
        let at_limit = format!("{}{FAMILY}", "x".repeat(CONTENT_MAX_CHARS - 7));
        assert!(NewNote::new("t", &at_limit).is_ok());
        let over = format!("{at_limit}x");
        let error = NoteUpdate::new("t", &over, None).unwrap_err();
        assert_eq!(error.field, "content");

        // 100,000 emoji are 400,000 bytes but still within the limit.
        assert!(NewNote::new("t", &"\u{1F600}".repeat(CONTENT_MAX_CHARS)).is_ok());
    }

    #[test]
    fn title_rejects_control_characters() {
        for bad in ["two\nlines", "tab\there", "nul\0"] {
            assert_eq!(NewNote::new(bad, "").unwrap_err().field, "title", "input {bad:?}");
        }
    }

    #[test]
    fn content_rejects_nul() {
        assert_eq!(NewNote::new("t", "a\0b").unwrap_err().field, "content");
    }

    #[test]
    fn content_keeps_line_breaks_and_spaces() {
        let note = NewNote::new("t", "  line one\nline two\n").unwrap();
        assert_eq!(note.content, "  line one\nline two\n");
    }

    #[test]
    fn registration_reports_first_bad_field() {
        let error = Registration::new("alice", "not-an-email", "password1".into()).unwrap_err();
        assert_eq!(error.field, "email");
    }
}
