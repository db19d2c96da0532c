//! The relay actor: the hub's fan-out on one worker thread.
//!
//! The hub runs on an arbiter of its own, and every session runs on the
//! worker thread that accepted its connection. If the hub offered each event
//! to every session itself, each offer would wake a task on another thread:
//! a lock and often a system call to unpark that thread, 15,000 times per
//! event at 15,000 clients. Instead, each worker thread has one relay per
//! hub. The hub sends each event once to every relay, and a relay offers it
//! to the sessions of its own thread, where waking a task is a push onto a
//! local queue.
//!
//! The hub stays the one owner of membership and order. It sends a relay
//! [`AddMember`] for a session only after replaying the events that the
//! session's snapshot missed. Events and membership changes reach a relay
//! through the same mailbox, so the relay receives them in the hub's order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use actix::{Actor, Addr, Context, Handler, Message, WeakAddr};
use bytestring::ByteString;
use notes_core::{Seq, UserId};
use tokio::sync::mpsc::{self, error::TrySendError};
use tracing::{debug, warn};

use crate::CLOSE_TOO_SLOW;
use crate::hub::Hub;
use crate::messages::{Evict, SessionId};
use crate::session::{Outbound, Session};
use crate::stats::HubStats;

thread_local! {
    /// The relay of each hub on this thread. A hub is held weakly, so a
    /// stopped hub does not stay alive through this list.
    static RELAYS: RefCell<Vec<(WeakAddr<Hub>, Addr<Relay>)>> = const { RefCell::new(Vec::new()) };
}

/// Returns the relay of `hub` on the current thread, starting one on the
/// current arbiter the first time.
pub(crate) fn local_relay(hub: &Addr<Hub>) -> Addr<Relay> {
    RELAYS.with(|relays| {
        let mut relays = relays.borrow_mut();
        relays.retain(|(known, relay)| known.upgrade().is_some() && relay.connected());
        if let Some((_, relay)) = relays.iter().find(|(known, _)| known.upgrade().as_ref() == Some(hub)) {
            return relay.clone();
        }
        let relay = Relay { members: HashMap::new(), stats: None }.start();
        relays.push((hub.downgrade(), relay.clone()));
        relay
    })
}

struct RelayMember {
    user_id: UserId,
    /// Events up to this sequence number are in the session's snapshot or
    /// were replayed by the hub, and are skipped.
    after_seq: Seq,
    outbox: mpsc::Sender<Outbound>,
    addr: Addr<Session>,
}

/// The sessions of one hub on one worker thread.
pub(crate) struct Relay {
    members: HashMap<SessionId, RelayMember>,
    /// The hub's counters, set by the first [`AddMember`].
    stats: Option<Arc<HubStats>>,
}

impl Actor for Relay {
    type Context = Context<Self>;
}

/// From the hub: start delivering to this session.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct AddMember {
    pub id: SessionId,
    pub user_id: UserId,
    pub after_seq: Seq,
    pub outbox: mpsc::Sender<Outbound>,
    pub addr: Addr<Session>,
    pub stats: Arc<HubStats>,
}

/// From the hub: stop delivering to this session.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct RemoveMember {
    pub id: SessionId,
}

/// From the hub: forget every session, because the hub has evicted them all.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct RemoveAll;

/// From the hub: one in-order event for every session of this relay.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Deliver {
    pub seq: Seq,
    pub text: ByteString,
}

impl Handler<AddMember> for Relay {
    type Result = ();

    fn handle(&mut self, add: AddMember, _: &mut Self::Context) {
        let member = RelayMember { user_id: add.user_id, after_seq: add.after_seq, outbox: add.outbox, addr: add.addr };
        self.members.insert(add.id, member);
        self.stats.get_or_insert(add.stats);
    }
}

impl Handler<RemoveMember> for Relay {
    type Result = ();

    fn handle(&mut self, remove: RemoveMember, _: &mut Self::Context) {
        self.members.remove(&remove.id);
    }
}

impl Handler<RemoveAll> for Relay {
    type Result = ();

    fn handle(&mut self, _: RemoveAll, _: &mut Self::Context) {
        self.members.clear();
    }
}

impl Handler<Deliver> for Relay {
    type Result = ();

    /// Offers the event to every session without waiting. A session whose
    /// outbox is full is closed with 4008 and no longer receives events.
    /// The hub removes it when the session leaves.
    fn handle(&mut self, frame: Deliver, _: &mut Self::Context) {
        let mut delivered = 0u64;
        let mut slow = 0u64;
        let mut removed = Vec::new();
        for (id, member) in &self.members {
            if frame.seq <= member.after_seq {
                continue;
            }
            match member.outbox.try_send(Outbound::Text(frame.text.clone())) {
                Ok(()) => delivered += 1,
                Err(TrySendError::Full(_)) => {
                    slow += 1;
                    warn!(session_id = %id, user_id = %member.user_id, seq = frame.seq, "client fell behind; closing with 4008");
                    member.addr.do_send(Evict { code: CLOSE_TOO_SLOW, reason: "client too slow" });
                    removed.push(*id);
                }
                Err(TrySendError::Closed(_)) => {
                    debug!(session_id = %id, seq = frame.seq, "session outbox closed; no longer delivering to it");
                    removed.push(*id);
                }
            }
        }

        if let Some(stats) = &self.stats {
            HubStats::add(&stats.deliveries, delivered);
            HubStats::add(&stats.deliveries_dropped, removed.len() as u64);
            HubStats::add(&stats.slow_client_closes, slow);
        }
        for id in removed {
            self.members.remove(&id);
        }
    }
}
