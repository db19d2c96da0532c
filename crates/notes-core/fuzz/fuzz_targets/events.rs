//! Fuzz target for the JSON form of change events, the WebSocket message that
//! clients receive.
//!
//! Any input that parses as a [`ChangeEvent`] must serialize, the output must
//! parse back to the same event, and serializing again must give the same
//! text. Times are written with microsecond precision while reading accepts
//! any RFC 3339 time, so the event read back is compared with the original
//! truncated to whole microseconds.

#![no_main]

use chrono::SubsecRound;
use libfuzzer_sys::fuzz_target;
use notes_core::{ChangeEvent, ChangeKind, Note};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<ChangeEvent>(data) else {
        return;
    };

    let json = serde_json::to_string(&event).expect("a parsed event serializes");
    check_shape(&json);

    let reparsed: ChangeEvent = match serde_json::from_str(&json) {
        Ok(reparsed) => reparsed,
        Err(error) => panic!("serialized event does not parse back: {error}\n{json}"),
    };
    assert_eq!(reparsed, truncated_to_micros(event), "event changed in a round trip through {json}");

    let json_again = serde_json::to_string(&reparsed).expect("a parsed event serializes");
    assert_eq!(json_again, json, "serializing the same event twice gives different text");
});

/// Checks the documented message form: an object with exactly the keys
/// `type`, `data` and `seq`.
fn check_shape(json: &str) {
    let value: Value = serde_json::from_str(json).expect("serde_json writes valid JSON");
    let object = value.as_object().expect("an event serializes as a JSON object");

    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["data", "seq", "type"], "unexpected keys in {json}");
    assert!(object["seq"].is_u64(), "seq is not an unsigned integer in {json}");
    assert!(
        matches!(object["type"].as_str(), Some("note_created" | "note_updated" | "note_deleted")),
        "unknown type in {json}"
    );
}

fn truncated_to_micros(event: ChangeEvent) -> ChangeEvent {
    let kind = match event.kind {
        ChangeKind::NoteCreated(note) => ChangeKind::NoteCreated(note_truncated_to_micros(note)),
        ChangeKind::NoteUpdated(note) => ChangeKind::NoteUpdated(note_truncated_to_micros(note)),
        deleted @ ChangeKind::NoteDeleted { .. } => deleted,
    };
    ChangeEvent { kind, ..event }
}

fn note_truncated_to_micros(note: Note) -> Note {
    Note { created_at: note.created_at.trunc_subsecs(6), updated_at: note.updated_at.trunc_subsecs(6), ..note }
}
