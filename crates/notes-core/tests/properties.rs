//! Property tests of validation and the update rule: random input, including
//! random Unicode, never panics and every accepted value is within the
//! documented limits. Failing inputs that proptest finds are kept in
//! `proptest-regressions/` and replayed first on every run.

use notes_core::{
    CONTENT_MAX_CHARS, Email, NewNote, Note, NoteUpdate, PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES, Password,
    PasswordHash, RuleError, StoredUser, TITLE_MAX_CHARS, USERNAME_MAX_CHARS, Username,
};
use proptest::prelude::*;

/// Strings of any Unicode scalar values, biased towards the characters that
/// break validation code: white space, zero-width and combining marks, emoji.
fn tricky_text(max_len: usize) -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just(' '),
        Just('\n'),
        Just('\u{0}'),
        Just('\u{200B}'),
        Just('\u{0301}'),
        Just('\u{FEFF}'),
        Just('\u{1F600}'),
        Just('é'),
        Just('a'),
        any::<char>(),
    ];
    prop::collection::vec(tricky, 0..max_len).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn username_accepts_only_within_limits(raw in tricky_text(80)) {
        if let Ok(name) = Username::parse(&raw) {
            let text = name.as_str();
            prop_assert_eq!(text, text.trim());
            let length = text.chars().count();
            prop_assert!((1..=USERNAME_MAX_CHARS).contains(&length));
            prop_assert!(!text.chars().any(char::is_control));
        }
    }

    #[test]
    fn email_canonical_form_is_stable(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-zA-Z0-9-]{1,20}", tld in "[a-zA-Z]{2,6}", padding in " {0,3}") {
        let raw = format!("{padding}{local}@{domain}.{tld}{padding}");
        if let Ok(email) = Email::parse(&raw) {
            let canonical = email.as_str().to_owned();
            prop_assert_eq!(canonical.clone(), canonical.to_lowercase());
            prop_assert_eq!(Email::parse(&canonical).map(|again| again.as_str().to_owned()), Ok(canonical.clone()));
            prop_assert_eq!(Email::parse(&raw.to_uppercase()).map(|upper| upper.as_str().to_owned()), Ok(canonical));
        }
    }

    #[test]
    fn email_never_panics(raw in tricky_text(300)) {
        let _ = Email::parse(&raw);
    }

    #[test]
    fn password_limits_are_in_bytes(raw in tricky_text(90)) {
        let bytes = raw.len();
        let accepted = Password::parse(raw).is_ok();
        prop_assert_eq!(accepted, (PASSWORD_MIN_BYTES..=PASSWORD_MAX_BYTES).contains(&bytes));
    }

    #[test]
    fn note_input_within_limits(title in tricky_text(220), content in tricky_text(300)) {
        if let Ok(note) = NewNote::new(&title, &content) {
            let length = note.title.chars().count();
            prop_assert!((1..=TITLE_MAX_CHARS).contains(&length));
            prop_assert!(!note.title.chars().any(char::is_control));
            prop_assert!(note.content.chars().count() <= CONTENT_MAX_CHARS);
            prop_assert!(!note.content.contains('\0'));
            prop_assert_eq!(note.content, content);
        }
    }

    #[test]
    fn update_rule_holds(stored_updates in 0u64..5, expected in proptest::option::of(0u64..8), same_owner in any::<bool>()) {
        let email = Email::parse("owner@example.com").unwrap();
        let owner = StoredUser::new("owner".into(), &email, PasswordHash::new(String::new())).user;
        let other = StoredUser::new("other".into(), &email, PasswordHash::new(String::new())).user;

        let mut note = Note::create(&owner, NewNote::new("t", "").unwrap());
        for _ in 0..stored_updates {
            note = note.apply_update(owner.id, NoteUpdate::new("t", "", None).unwrap()).unwrap();
        }
        let actor = if same_owner { owner.id } else { other.id };
        let result = note.apply_update(actor, NoteUpdate::new("new", "", expected).unwrap());

        match result {
            Ok(updated) => {
                prop_assert!(same_owner);
                prop_assert!(expected.is_none_or(|version| version == note.version));
                prop_assert_eq!(updated.version, note.version + 1);
                prop_assert_eq!(updated.id, note.id);
                prop_assert_eq!(updated.user_id, note.user_id);
                prop_assert!(updated.updated_at >= note.updated_at);
            }
            Err(RuleError::NotOwner) => prop_assert!(!same_owner),
            Err(RuleError::VersionConflict { current, .. }) => {
                prop_assert!(same_owner);
                prop_assert_ne!(expected, Some(note.version));
                prop_assert_eq!(*current, note);
            }
            // Versions here stay below 10, far from the limit.
            Err(RuleError::VersionLimit) => prop_assert!(false, "version {} hit the limit", note.version),
        }
    }
}
