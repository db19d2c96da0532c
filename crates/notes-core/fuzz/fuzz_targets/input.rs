//! Fuzz target for input validation.
//!
//! Each input is read twice: as the raw value of a single field (when it is
//! UTF-8), and as the JSON body of each request that the HTTP API accepts.
//! The notes-core validators must never panic, must return values within the
//! documented limits, and must accept exactly the titles, content and
//! passwords that the documented rules allow.
//!
//! NOTE: libFuzzer's default maximum input length is 4096 bytes, so this target
//! never reaches the content limit of 100,000 characters. The unit tests in
//! `src/input.rs` cover that boundary.

#![no_main]

use libfuzzer_sys::fuzz_target;
use notes_core::input::EMAIL_MAX_CHARS;
use notes_core::{
    CONTENT_MAX_CHARS, Email, NewNote, NoteId, NoteUpdate, PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES, Password,
    Registration, TITLE_MAX_CHARS, USERNAME_MAX_CHARS, Username,
};
use serde::Deserialize;

// Copies of the request bodies in crates/notes-server/src/routes/users.rs and
// notes.rs, with the same serde attributes. The originals have private fields,
// and depending on notes-server would build actix into every fuzz target.
// NOTE: these copies must be changed by hand when a request body changes.

/// Body of `POST /api/register`.
#[derive(Deserialize)]
struct RegisterBody {
    username: String,
    email: String,
    password: String,
}

/// Body of `POST /api/login`.
#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

/// Body of `POST /api/notes`.
#[derive(Deserialize)]
struct CreateBody {
    title: String,
    #[serde(default)]
    content: String,
}

/// Body of `PUT /api/notes` and `PUT /api/notes/{id}`.
#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default)]
    id: Option<String>,
    title: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    version: Option<u64>,
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_username(text);
        check_email(text);
        check_password(text);
        check_login_password(text);
        check_title(text);
        check_content(text);
        check_note_id(text);
    }

    // actix-web's `web::Json` extractor decodes bodies with
    // `serde_json::from_slice`, so the same call receives the same inputs.
    if let Ok(body) = serde_json::from_slice::<RegisterBody>(data) {
        check_registration(&body);
    }
    if let Ok(body) = serde_json::from_slice::<LoginBody>(data) {
        check_email(&body.email);
        check_login_password(&body.password);
    }
    if let Ok(body) = serde_json::from_slice::<CreateBody>(data) {
        check_new_note(&body.title, &body.content);
    }
    if let Ok(body) = serde_json::from_slice::<UpdateBody>(data) {
        check_note_update(&body.title, &body.content, body.version);
        if let Some(id) = &body.id {
            check_note_id(id);
        }
    }
});

fn check_username(raw: &str) {
    let name = match Username::parse(raw) {
        Ok(name) => name,
        Err(error) => {
            assert_eq!(error.field, "username", "{error}");
            return;
        }
    };
    let text = name.as_str();
    assert_eq!(text, raw.trim(), "an accepted username is the trimmed input");

    let length = text.chars().count();
    assert!((1..=USERNAME_MAX_CHARS).contains(&length), "accepted username has {length} characters: {text:?}");
    assert!(!text.chars().any(char::is_control), "accepted username has a control character: {text:?}");
    assert!(!text.chars().all(char::is_whitespace), "accepted username is only white space: {text:?}");
    assert_eq!(Username::parse(text).as_ref(), Ok(&name), "parsing an accepted username again changes it");
}

fn check_email(raw: &str) {
    let email = match Email::parse(raw) {
        Ok(email) => email,
        Err(error) => {
            assert_eq!(error.field, "email", "{error}");
            return;
        }
    };
    let canonical = email.as_str();
    assert_eq!(canonical, raw.trim().to_lowercase(), "the canonical email is the trimmed input in lowercase");
    assert_eq!(canonical, canonical.trim(), "canonical email has white space at an end: {canonical:?}");

    let length = canonical.chars().count();
    assert!(length <= EMAIL_MAX_CHARS, "canonical email has {length} characters: {canonical:?}");
    assert!(canonical.contains('@'), "canonical email has no @: {canonical:?}");
    assert_eq!(Email::parse(canonical).as_ref(), Ok(&email), "parsing a canonical email again changes it");
}

fn check_password(raw: &str) {
    let allowed = (PASSWORD_MIN_BYTES..=PASSWORD_MAX_BYTES).contains(&raw.len());
    match Password::parse(raw.to_owned()) {
        Ok(password) => {
            assert!(allowed, "accepted a password of {} bytes", raw.len());
            assert_eq!(password.expose(), raw, "an accepted password is kept exactly as sent");
        }
        Err(error) => {
            assert!(!allowed, "rejected a password of {} bytes: {error}", raw.len());
            assert_eq!(error.field, "password", "{error}");
        }
    }
}

fn check_login_password(raw: &str) {
    let allowed = raw.len() <= PASSWORD_MAX_BYTES;
    match Password::for_login(raw.to_owned()) {
        Ok(password) => {
            assert!(allowed, "accepted a login password of {} bytes", raw.len());
            assert_eq!(password.expose(), raw, "a login password is kept exactly as sent");
        }
        Err(error) => {
            assert!(!allowed, "rejected a login password of {} bytes: {error}", raw.len());
            assert_eq!(error.field, "password", "{error}");
        }
    }
}

/// Returns whether a title meets the documented rule: after trimming, 1 to
/// [`TITLE_MAX_CHARS`] Unicode scalar values and no control characters.
fn is_allowed_title(raw: &str) -> bool {
    let title = raw.trim();
    (1..=TITLE_MAX_CHARS).contains(&title.chars().count()) && !title.chars().any(char::is_control)
}

/// Returns whether content meets the documented rule: no NUL and at most
/// [`CONTENT_MAX_CHARS`] Unicode scalar values.
fn is_allowed_content(raw: &str) -> bool {
    !raw.contains('\0') && raw.chars().count() <= CONTENT_MAX_CHARS
}

fn check_title(raw: &str) {
    let allowed = is_allowed_title(raw);
    match NewNote::new(raw, "") {
        Ok(note) => {
            assert!(allowed, "accepted title {raw:?}");
            assert_eq!(note.title, raw.trim(), "an accepted title is the trimmed input");
        }
        Err(error) => {
            assert!(!allowed, "rejected title {raw:?}: {error}");
            assert_eq!(error.field, "title", "{error}");
        }
    }
}

fn check_content(raw: &str) {
    let allowed = is_allowed_content(raw);
    match NewNote::new("title", raw) {
        Ok(note) => {
            assert!(allowed, "accepted content {raw:?}");
            assert_eq!(note.content, raw, "accepted content is kept exactly as sent");
        }
        Err(error) => {
            assert!(!allowed, "rejected content {raw:?}: {error}");
            assert_eq!(error.field, "content", "{error}");
        }
    }
}

/// Checks a note id as `PUT /api/notes` reads it from the body: trimmed, then
/// parsed as a UUID. An accepted id must survive a round trip through text.
fn check_note_id(raw: &str) {
    if let Ok(id) = raw.trim().parse::<NoteId>() {
        let text = id.to_string();
        assert_eq!(text.parse::<NoteId>().ok(), Some(id), "note id {text} does not parse back");
    }
}

/// Checks a whole registration: it succeeds exactly when each field is valid
/// alone, and a failure names the first invalid field in the order username,
/// email, password.
fn check_registration(body: &RegisterBody) {
    check_username(&body.username);
    check_email(&body.email);
    check_password(&body.password);

    let username = Username::parse(&body.username);
    let email = Email::parse(&body.email);
    let password = Password::parse(body.password.clone());
    let registration = Registration::new(&body.username, &body.email, body.password.clone());

    let first_invalid = [("username", username.is_err()), ("email", email.is_err()), ("password", password.is_err())]
        .into_iter()
        .find_map(|(field, invalid)| invalid.then_some(field));

    match (registration, first_invalid) {
        (Ok(registration), None) => {
            assert_eq!(Ok(&registration.username), username.as_ref());
            assert_eq!(Ok(&registration.email), email.as_ref());
            assert_eq!(Ok(&registration.password), password.as_ref());
        }
        (Ok(_), Some(field)) => panic!("registration accepted an invalid {field}"),
        (Err(error), None) => panic!("registration of valid fields rejected: {error}"),
        (Err(error), Some(field)) => assert_eq!(error.field, field, "{error}"),
    }
}

/// Checks a note body: it succeeds exactly when the title and the content are
/// valid, and the title is checked first.
fn check_new_note(title: &str, content: &str) {
    check_title(title);
    check_content(content);

    let expected_error_field = if !is_allowed_title(title) {
        Some("title")
    } else if !is_allowed_content(content) {
        Some("content")
    } else {
        None
    };
    match (NewNote::new(title, content), expected_error_field) {
        (Ok(note), None) => {
            assert_eq!(note.title, title.trim());
            assert_eq!(note.content, content);
        }
        (Ok(_), Some(field)) => panic!("note accepted an invalid {field}"),
        (Err(error), None) => panic!("note with a valid title and content rejected: {error}"),
        (Err(error), Some(field)) => assert_eq!(error.field, field, "{error}"),
    }
}

/// Checks an update body: the same rules as a new note, and the expected
/// version is passed through unchanged.
fn check_note_update(title: &str, content: &str, version: Option<u64>) {
    check_new_note(title, content);

    let new_note = NewNote::new(title, content);
    match NoteUpdate::new(title, content, version) {
        Ok(update) => {
            let new_note = new_note.expect("an update was accepted but the same new note was rejected");
            assert_eq!(update.title, new_note.title);
            assert_eq!(update.content, new_note.content);
            assert_eq!(update.expected_version, version);
        }
        Err(error) => {
            let new_note_error = new_note.expect_err("a new note was accepted but the same update was rejected");
            assert_eq!(error, new_note_error, "an update and a new note report different errors");
        }
    }
}
