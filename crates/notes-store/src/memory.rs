//! The in-memory store.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use notes_core::{ChangeEvent, ChangeKind, Email, NewNote, Note, NoteId, NoteUpdate, Seq, StoredUser, User, UserId};

use crate::{Committed, DEFAULT_CHANGE_LOG_CAPACITY, Dump, PageCursor, Snapshot, Store, StoreError, sort_newest_first};

/// A store that keeps everything in this process's memory.
///
/// `MemoryStore` is a cheap handle: clones share the same data. It holds
/// - `users`: user id to the user with its password hash,
/// - `emails`: canonical email to user id, the uniqueness index,
/// - `notes`: note id to note,
/// - `log`: the change sequence counter and the bounded change log.
///
/// Rule for every method: no DashMap guard is held across an `.await` or
/// across another call on the same map, because a DashMap shard lock taken
/// twice on one thread deadlocks. Writes to notes hold the `log` mutex while
/// they change the map, so sequence numbers follow commit order and a
/// snapshot taken under the same mutex matches its sequence number exactly.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    users: DashMap<UserId, StoredUser>,
    emails: DashMap<String, UserId>,
    notes: DashMap<NoteId, Note>,
    log: Mutex<ChangeLog>,
}

struct ChangeLog {
    seq: Seq,
    events: VecDeque<ChangeEvent>,
    capacity: usize,
}

impl ChangeLog {
    fn append(&mut self, kind: ChangeKind) -> ChangeEvent {
        self.seq += 1;
        let event = ChangeEvent { kind, seq: self.seq };
        if self.capacity > 0 {
            if self.events.len() == self.capacity {
                self.events.pop_front();
            }
            self.events.push_back(event.clone());
        }
        event
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// Creates an empty store that keeps the default number of change events.
    pub fn new() -> Self {
        Self::with_change_log_capacity(DEFAULT_CHANGE_LOG_CAPACITY)
    }

    /// Creates an empty store that keeps the last `capacity` change events.
    pub fn with_change_log_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                users: DashMap::new(),
                emails: DashMap::new(),
                notes: DashMap::new(),
                log: Mutex::new(ChangeLog { seq: 0, events: VecDeque::new(), capacity }),
            }),
        }
    }

    /// Locks the change log. A panic while the lock was held cannot leave the
    /// log half-written (every change to it is a single push or increment
    /// after the note map is updated), so a poisoned lock is taken over.
    fn log(&self) -> MutexGuard<'_, ChangeLog> {
        self.inner.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn all_notes(&self) -> Vec<Note> {
        let mut notes: Vec<Note> = self.inner.notes.iter().map(|entry| entry.value().clone()).collect();
        sort_newest_first(&mut notes);
        notes
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn create_user(&self, user: StoredUser) -> Result<(), StoreError> {
        let id = user.user.id;

        // The email index decides who wins: the entry lock makes the check and
        // the insert one step. The user is inserted after the guard is gone.
        match self.inner.emails.entry(user.user.email.clone()) {
            Entry::Occupied(_) => return Err(StoreError::Conflict("email already registered")),
            Entry::Vacant(slot) => {
                slot.insert(id);
            }
        }
        self.inner.users.insert(id, user);
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        let Some(id) = self.inner.emails.get(email.as_str()).map(|entry| *entry.value()) else {
            return Ok(None);
        };
        Ok(self.inner.users.get(&id).map(|entry| entry.value().clone()))
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.inner.users.get(&id).map(|entry| entry.value().user.clone()))
    }

    async fn list_notes(&self) -> Result<Vec<Note>, StoreError> {
        Ok(self.all_notes())
    }

    async fn list_notes_page(&self, after: Option<PageCursor>, limit: usize) -> Result<Vec<Note>, StoreError> {
        let notes = self.all_notes();
        Ok(notes.into_iter().filter(|note| after.is_none_or(|cursor| cursor.precedes(note))).take(limit).collect())
    }

    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let log = self.log();
        let notes = self.all_notes();
        Ok(Snapshot { notes, seq: log.seq })
    }

    async fn get_note(&self, id: NoteId) -> Result<Note, StoreError> {
        self.inner.notes.get(&id).map(|entry| entry.value().clone()).ok_or(StoreError::NotFound)
    }

    async fn create_note(&self, owner: &User, input: NewNote) -> Result<Committed, StoreError> {
        let note = Note::create(owner, input);

        let mut log = self.log();
        // A v4 id colliding with an existing one is practically impossible,
        // but the entry API makes even that case an error, not an overwrite.
        match self.inner.notes.entry(note.id) {
            Entry::Occupied(_) => return Err(StoreError::Conflict("note id already exists")),
            Entry::Vacant(slot) => {
                slot.insert(note.clone());
            }
        }
        let event = log.append(ChangeKind::NoteCreated(note.clone()));
        Ok(Committed { note, event })
    }

    async fn update_note(&self, actor: UserId, id: NoteId, update: NoteUpdate) -> Result<Committed, StoreError> {
        let mut log = self.log();
        let mut entry = self.inner.notes.get_mut(&id).ok_or(StoreError::NotFound)?;
        let updated = entry.apply_update(actor, update)?;
        *entry = updated.clone();
        drop(entry);

        let event = log.append(ChangeKind::NoteUpdated(updated.clone()));
        Ok(Committed { note: updated, event })
    }

    async fn delete_note(&self, actor: UserId, id: NoteId) -> Result<Committed, StoreError> {
        let mut log = self.log();
        let Entry::Occupied(entry) = self.inner.notes.entry(id) else {
            return Err(StoreError::NotFound);
        };
        entry.get().check_delete(actor)?;
        let (_, note) = entry.remove_entry();

        let event = log.append(ChangeKind::NoteDeleted { id });
        Ok(Committed { note, event })
    }

    async fn current_seq(&self) -> Result<Seq, StoreError> {
        Ok(self.log().seq)
    }

    async fn changes_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangeEvent>, StoreError> {
        let log = self.log();
        Ok(log.events.iter().filter(|event| event.seq > after).take(limit).cloned().collect())
    }

    async fn export(&self) -> Result<Dump, StoreError> {
        let _log = self.log();
        let mut users: Vec<StoredUser> = self.inner.users.iter().map(|entry| entry.value().clone()).collect();
        users.sort_by(|a, b| a.user.created.cmp(&b.user.created).then_with(|| a.user.id.cmp(&b.user.id)));
        Ok(Dump { users, notes: self.all_notes() })
    }

    async fn import(&self, dump: Dump) -> Result<(), StoreError> {
        dump.check()?;
        let _log = self.log();
        if !self.inner.users.is_empty() || !self.inner.notes.is_empty() {
            return Err(StoreError::NotEmpty);
        }
        for user in dump.users {
            if self.inner.emails.insert(user.user.email.clone(), user.user.id).is_some() {
                return Err(StoreError::Conflict("email already registered"));
            }
            self.inner.users.insert(user.user.id, user);
        }
        for note in dump.notes {
            self.inner.notes.insert(note.id, note);
        }
        Ok(())
    }
}
