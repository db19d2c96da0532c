//! Change events: the numbered record of one committed write.
//!
//! The JSON form is the WebSocket message that clients receive, for example
//! `{"type":"note_deleted","data":{"id":"…"},"seq":42}`.

use serde::{Deserialize, Serialize};

use crate::id::NoteId;
use crate::note::Note;

/// A position in the change sequence. The first committed write gets 1, and
/// each later write gets the next number, with no gaps. 0 means "before any
/// write".
pub type Seq = u64;

/// What one committed write did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ChangeKind {
    /// A note was created; the data is the new note.
    NoteCreated(Note),
    /// A note was updated; the data is the note after the update.
    NoteUpdated(Note),
    /// A note was deleted.
    NoteDeleted {
        /// The id of the deleted note.
        id: NoteId,
    },
}

impl ChangeKind {
    /// Returns the id of the note this change is about.
    pub fn note_id(&self) -> NoteId {
        match self {
            ChangeKind::NoteCreated(note) | ChangeKind::NoteUpdated(note) => note.id,
            ChangeKind::NoteDeleted { id } => *id,
        }
    }
}

/// One committed write and its place in the change sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The change itself, flattened into `type` and `data`.
    #[serde(flatten)]
    pub kind: ChangeKind,
    /// The sequence number that the store assigned when it committed.
    pub seq: Seq,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_event_json_shape() {
        let id = NoteId::new();
        let event = ChangeEvent { kind: ChangeKind::NoteDeleted { id }, seq: 7 };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json, serde_json::json!({"type": "note_deleted", "data": {"id": id.to_string()}, "seq": 7}));

        let back: ChangeEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
