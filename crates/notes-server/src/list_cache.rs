//! The serialized list of every note, cached by change sequence number.
//!
//! `GET /api/notes` without paging and every WebSocket snapshot send the
//! whole list, about 3 MB of JSON for 10,000 notes. Every write moves the
//! change sequence forward, so the JSON made for one sequence number stays
//! right until the next write, and readers between two writes share it.
//! The WebSocket snapshot message built around the list is shared the same
//! way, so a thousand clients that connect between two writes hold one copy
//! of it, not one each.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use actix_web::web::Bytes;
use bytestring::ByteString;
use notes_core::Seq;
use notes_store::Store;

use crate::error::ApiError;

/// The JSON array of every note at one sequence number.
#[derive(Clone)]
pub struct NotesJson {
    /// The serialized array, newest first.
    pub body: Bytes,
    /// The sequence number the array reflects.
    pub seq: Seq,
    /// The `initial_notes` message, made on first use.
    snapshot_message: Arc<OnceLock<ByteString>>,
}

impl NotesJson {
    /// Returns the `initial_notes` WebSocket message for this list:
    /// `{"type":"initial_notes","data":[...],"seq":N}`. It is built once per
    /// sequence number and shared by every session that receives it.
    pub fn snapshot_message(&self) -> ByteString {
        self.snapshot_message
            .get_or_init(|| {
                // The body came from serde_json, so it is valid UTF-8 and
                // the lossy conversion borrows it without a change.
                let list = String::from_utf8_lossy(&self.body);
                let mut message = String::with_capacity(list.len() + 64);
                message.push_str(r#"{"type":"initial_notes","data":"#);
                message.push_str(&list);
                message.push_str(&format!(r#","seq":{}}}"#, self.seq));
                ByteString::from(message)
            })
            .clone()
    }
}

/// A cache of [`NotesJson`] for the newest sequence number seen.
#[derive(Default)]
pub struct ListCache {
    latest: Mutex<Option<NotesJson>>,
}

impl ListCache {
    /// Returns the list as JSON, serializing it again only when a write has
    /// happened since the cached copy was made.
    ///
    /// The check costs one `current_seq` call. Readers that miss at the same
    /// time each build the list; the newest one is kept.
    pub async fn get(&self, store: &dyn Store) -> Result<NotesJson, ApiError> {
        let current = store.current_seq().await?;
        if let Some(cached) = self.cached().filter(|cached| cached.seq == current) {
            return Ok(cached);
        }

        let snapshot = store.snapshot().await?;
        let body = Bytes::from(serde_json::to_vec(&snapshot.notes).map_err(ApiError::internal)?);
        let fresh = NotesJson { body, seq: snapshot.seq, snapshot_message: Arc::default() };

        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        if latest.as_ref().is_none_or(|cached| cached.seq <= fresh.seq) {
            *latest = Some(fresh.clone());
        }
        Ok(fresh)
    }

    fn cached(&self) -> Option<NotesJson> {
        // A panic while the lock was held cannot leave a half-written value:
        // the slot is replaced in one assignment.
        self.latest.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[cfg(test)]
mod tests {
    use notes_core::{Email, NewNote, PasswordHash, StoredUser};
    use notes_store::MemoryStore;

    use super::*;

    #[tokio::test]
    async fn cache_is_reused_until_a_write() {
        let store = MemoryStore::new();
        let cache = ListCache::default();
        let email = Email::parse("ada@example.com").unwrap();
        let ada = StoredUser::new("ada".into(), &email, PasswordHash::new(String::new()));
        store.create_user(ada.clone()).await.unwrap();

        let empty = cache.get(&store).await.unwrap();
        assert_eq!(&empty.body[..], b"[]");
        assert_eq!(empty.seq, 0);

        store.create_note(&ada.user, NewNote::new("first", "").unwrap()).await.unwrap();
        let first = cache.get(&store).await.unwrap();
        assert_eq!(first.seq, 1);
        let notes: Vec<notes_core::Note> = serde_json::from_slice(&first.body).unwrap();
        assert_eq!(notes.len(), 1);

        // Without a write, the same buffer is shared.
        let again = cache.get(&store).await.unwrap();
        assert_eq!(again.body.as_ptr(), first.body.as_ptr());

        // The snapshot message wraps the same list and is built only once.
        let message = first.snapshot_message();
        let parsed: serde_json::Value = serde_json::from_str(&message).unwrap();
        assert_eq!(parsed["type"], "initial_notes");
        assert_eq!(parsed["seq"], 1);
        assert_eq!(parsed["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(again.snapshot_message().as_ptr(), message.as_ptr());
    }
}
