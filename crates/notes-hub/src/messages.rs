//! Messages between the server, the hub and the sessions.

use std::fmt;

use actix::{Addr, Message};
use notes_core::{ChangeEvent, Seq, UserId};
use tokio::sync::mpsc;

use crate::relay::Relay;
use crate::session::{Outbound, Session};

/// A number that identifies one WebSocket session in logs, unique within
/// one server process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Server to hub: a write was committed. Sent once per committed write, in
/// any order; the hub restores sequence order.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Publish {
    /// The committed event.
    pub event: ChangeEvent,
}

/// Session to hub: start delivering events to this session.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Join {
    /// The joining session.
    pub id: SessionId,
    /// The signed-in user of the session, for logs and per-user limits.
    pub user_id: UserId,
    /// The sequence number of the snapshot the session was given. The hub
    /// delivers exactly the events after it.
    pub after_seq: Seq,
    /// The session's outbox.
    pub(crate) outbox: mpsc::Sender<Outbound>,
    /// The session actor, told to close when it falls behind.
    pub(crate) addr: Addr<Session>,
    /// The relay on the session's worker thread, which delivers its events.
    pub(crate) relay: Addr<Relay>,
}

/// Session to hub: the session has stopped; forget it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The session that stopped.
    pub id: SessionId,
}

/// Hub or server to session: close the connection with this code and stop.
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct Evict {
    /// The WebSocket close code.
    pub code: u16,
    /// A short reason sent in the close frame and written to the log.
    pub reason: &'static str,
}

/// Server to hub: close every session, for example at shutdown. Returns the
/// number of sessions told to close.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct CloseAll {
    /// The WebSocket close code, such as 1001 (going away).
    pub code: u16,
    /// A short reason sent in the close frame.
    pub reason: &'static str,
}
