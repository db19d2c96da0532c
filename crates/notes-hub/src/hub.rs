//! The hub actor: orders committed events and fans them out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix::{Actor, ActorFutureExt, Addr, AsyncContext, Context, Handler, WrapFuture};
use bytestring::ByteString;
use notes_core::{ChangeEvent, Seq};
use tracing::{debug, error, info, warn};

use crate::messages::{CloseAll, Evict, Join, Leave, Publish, SessionId};
use crate::relay::{AddMember, Deliver, Relay, RemoveAll, RemoveMember};
use crate::session::{Outbound, Session};
use crate::stats::HubStats;
use crate::{CLOSE_RESYNC, CLOSE_TOO_SLOW, GAP_FETCH_DELAY, GAP_TIMEOUT, RECENT_EVENTS};

/// A future that returns committed events from durable storage.
pub type FetchFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<ChangeEvent>, String>> + Send>>;

/// The source of events that never reached the hub through [`Publish`]:
/// the store's change log. The server implements it over its store, so the
/// hub does not depend on the store crate.
pub trait ChangeFeed: Send + Sync + 'static {
    /// Returns up to `limit` committed events with a sequence number above
    /// `after`, oldest first.
    fn changes_since(&self, after: Seq, limit: usize) -> FetchFuture;
}

/// Maximum events fetched from the change feed at once.
const FETCH_LIMIT: usize = 1000;

/// One serialized event, shared by every session that receives it.
#[derive(Clone)]
struct Frame {
    seq: Seq,
    text: ByteString,
}

struct Member {
    addr: Addr<Session>,
    /// The relay on the session's worker thread, which delivers its events.
    relay: Addr<Relay>,
}

/// The fan-out actor. Start one per process, in its own arbiter, with the
/// store's current sequence number.
///
/// Events may arrive out of order, because concurrent requests commit in one
/// order and call [`Publish`] in another. The hub delivers event `n + 1`
/// only after event `n`: later ones wait in `pending`. A missing event that
/// has not arrived after [`GAP_FETCH_DELAY`] is read from the [`ChangeFeed`],
/// when there is one. One still missing after [`GAP_TIMEOUT`] (gone from a
/// bounded change log, or no feed) is skipped, and every session is closed
/// with [`CLOSE_RESYNC`] so its client takes a fresh snapshot.
pub struct Hub {
    members: HashMap<SessionId, Member>,
    /// One relay per worker thread with sessions; each gets every event once.
    relays: Vec<Addr<Relay>>,
    /// The last sequence number delivered in order.
    last_seq: Seq,
    /// Events ahead of a gap, by sequence number.
    pending: BTreeMap<Seq, Frame>,
    /// When the current gap was first seen.
    gap_since: Option<Instant>,
    /// The newest delivered events, for sessions that join with an older snapshot.
    recent: VecDeque<Frame>,
    stats: Arc<HubStats>,
    /// The change log to fill gaps from, if the server provides one.
    feed: Option<Arc<dyn ChangeFeed>>,
    /// Whether a fetch from the feed is running.
    fetching: bool,
    /// How often to read the feed for writes made by other processes.
    poll_interval: Option<Duration>,
}

impl Hub {
    /// Creates a hub whose next expected event is `current_seq + 1`.
    pub fn new(current_seq: Seq, stats: Arc<HubStats>) -> Self {
        Self {
            members: HashMap::new(),
            relays: Vec::new(),
            last_seq: current_seq,
            pending: BTreeMap::new(),
            gap_since: None,
            recent: VecDeque::with_capacity(RECENT_EVENTS),
            stats,
            feed: None,
            fetching: false,
            poll_interval: None,
        }
    }

    /// Reads the feed every `interval` for events that were committed by
    /// other server processes sharing the database, which never publish to
    /// this hub. Needs a feed (see [`Hub::with_feed`]).
    pub fn with_polling(mut self, interval: Duration) -> Self {
        self.poll_interval = Some(interval);
        self
    }

    /// Sets the change log that gaps are filled from.
    pub fn with_feed(mut self, feed: Arc<dyn ChangeFeed>) -> Self {
        self.feed = Some(feed);
        self
    }

    /// Accepts one committed event, from a request or from the feed.
    fn accept(&mut self, event: &ChangeEvent) {
        let seq = event.seq;
        if seq <= self.last_seq || self.pending.contains_key(&seq) {
            debug!(seq, last_seq = self.last_seq, "ignoring an event that was already published");
            return;
        }
        let Some(frame) = Self::serialize(event) else { return };

        if seq == self.last_seq + 1 {
            self.deliver(frame);
            self.drain_pending();
        } else {
            self.pending.insert(seq, frame);
            self.gap_since.get_or_insert_with(Instant::now);
        }
    }

    /// Reads the events after `last_seq` from the feed, once the current gap
    /// has lasted [`GAP_FETCH_DELAY`].
    fn fill_gap(&mut self, ctx: &mut Context<Self>) {
        let Some(since) = self.gap_since else { return };
        if since.elapsed() >= GAP_FETCH_DELAY {
            self.fetch_after_last(ctx);
        }
    }

    /// Reads the events after `last_seq` from the feed and accepts them,
    /// unless a read is already running.
    fn fetch_after_last(&mut self, ctx: &mut Context<Self>) {
        let Some(feed) = &self.feed else { return };
        if self.fetching {
            return;
        }
        self.fetching = true;
        let after = self.last_seq;
        let fetch = feed.changes_since(after, FETCH_LIMIT);
        ctx.spawn(fetch.into_actor(self).map(move |result, hub, _| {
            hub.fetching = false;
            match result {
                Ok(events) => {
                    if !events.is_empty() {
                        debug!(after, count = events.len(), "read events from the change log");
                    }
                    for event in &events {
                        hub.accept(event);
                    }
                }
                Err(cause) => warn!(after, error = %cause, "reading events from the change log failed; will retry"),
            }
        }));
    }

    fn serialize(event: &ChangeEvent) -> Option<Frame> {
        match serde_json::to_string(event) {
            Ok(text) => Some(Frame { seq: event.seq, text: ByteString::from(text) }),
            Err(cause) => {
                // serde_json fails only on maps with non-string keys or failing Serialize
                // impls, and change events contain neither.
                error!(seq = event.seq, error = %cause, "BUG: change event could not be serialized");
                None
            }
        }
    }

    /// Sends one in-order frame to every relay, which offer it to their
    /// sessions, and records it in `recent`.
    fn deliver(&mut self, frame: Frame) {
        self.relays.retain(Addr::connected);
        for relay in &self.relays {
            relay.do_send(Deliver { seq: frame.seq, text: frame.text.clone() });
        }
        HubStats::add(&self.stats.events_broadcast, 1);

        self.last_seq = frame.seq;
        if self.recent.len() == RECENT_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(frame);
    }

    /// Delivers every pending frame that directly follows `last_seq`.
    fn drain_pending(&mut self) {
        while let Some(frame) = self.pending.remove(&(self.last_seq + 1)) {
            self.deliver(frame);
        }
        self.gap_since = if self.pending.is_empty() { None } else { self.gap_since.or(Some(Instant::now())) };
    }

    fn remove(&mut self, id: SessionId) -> Option<Member> {
        let member = self.members.remove(&id)?;
        member.relay.do_send(RemoveMember { id });
        self.stats.live_sessions.fetch_sub(1, Ordering::Relaxed);
        Some(member)
    }

    /// Evicts every session with `code`, for a shutdown or a lost event.
    fn evict_all(&mut self, code: u16, reason: &'static str) -> usize {
        let count = self.members.len();
        for (_, member) in self.members.drain() {
            member.addr.do_send(Evict { code, reason });
        }
        for relay in &self.relays {
            relay.do_send(RemoveAll);
        }
        self.stats.live_sessions.store(0, Ordering::Relaxed);
        count
    }

    /// Gives up on a sequence gap that has lasted longer than [`GAP_TIMEOUT`].
    fn check_gap(&mut self) {
        let Some(since) = self.gap_since else { return };
        if since.elapsed() < GAP_TIMEOUT {
            return;
        }
        let Some(&next) = self.pending.keys().next() else {
            self.gap_since = None;
            return;
        };

        error!(
            missing_from = self.last_seq + 1,
            missing_to = next - 1,
            sessions = self.members.len(),
            "change events never arrived; asking every client to resynchronize"
        );
        HubStats::add(&self.stats.sequence_gaps, 1);
        self.evict_all(CLOSE_RESYNC, "missed events; resynchronize");
        self.recent.clear();
        self.last_seq = next - 1;
        self.drain_pending();
    }
}

impl Actor for Hub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        info!(seq = self.last_seq, "hub started");
        let interval = (GAP_FETCH_DELAY / 2).max(Duration::from_millis(10));
        ctx.run_interval(interval, |hub, ctx| {
            hub.fill_gap(ctx);
            hub.check_gap();
        });
        if let Some(poll_interval) = self.poll_interval {
            ctx.run_interval(poll_interval, |hub, ctx| hub.fetch_after_last(ctx));
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        info!(sessions = self.members.len(), "hub stopped");
    }
}

impl Handler<Publish> for Hub {
    type Result = ();

    fn handle(&mut self, message: Publish, _: &mut Self::Context) {
        self.accept(&message.event);
    }
}

impl Handler<Join> for Hub {
    type Result = ();

    fn handle(&mut self, join: Join, _: &mut Self::Context) {
        // Events after the snapshot that the hub has already delivered to
        // others are sent now, from `recent`, before any newer event.
        if join.after_seq < self.last_seq {
            let oldest = self.recent.front().map_or(self.last_seq + 1, |frame| frame.seq);
            if join.after_seq + 1 < oldest {
                warn!(session_id = %join.id, user_id = %join.user_id, after_seq = join.after_seq, oldest, "snapshot is older than the replay window; asking the client to resynchronize");
                join.addr.do_send(Evict { code: CLOSE_RESYNC, reason: "snapshot too old; resynchronize" });
                return;
            }
            for frame in self.recent.iter().filter(|frame| frame.seq > join.after_seq) {
                if join.outbox.try_send(Outbound::Text(frame.text.clone())).is_err() {
                    warn!(session_id = %join.id, user_id = %join.user_id, "client fell behind while joining; closing with 4008");
                    HubStats::add(&self.stats.slow_client_closes, 1);
                    join.addr.do_send(Evict { code: CLOSE_TOO_SLOW, reason: "client too slow" });
                    return;
                }
            }
        }

        // The relay learns of the session after the replay above and before
        // any newer event, because the hub sends both through its mailbox.
        if !self.relays.contains(&join.relay) {
            self.relays.push(join.relay.clone());
        }
        join.relay.do_send(AddMember {
            id: join.id,
            user_id: join.user_id,
            after_seq: join.after_seq.max(self.last_seq),
            outbox: join.outbox,
            addr: join.addr.clone(),
            stats: Arc::clone(&self.stats),
        });
        let member = Member { addr: join.addr, relay: join.relay };
        if self.members.insert(join.id, member).is_none() {
            self.stats.live_sessions.fetch_add(1, Ordering::Relaxed);
        }
        info!(session_id = %join.id, user_id = %join.user_id, after_seq = join.after_seq, live = self.members.len(), "session joined the hub");
    }
}

impl Handler<Leave> for Hub {
    type Result = ();

    fn handle(&mut self, leave: Leave, _: &mut Self::Context) {
        if self.remove(leave.id).is_some() {
            info!(session_id = %leave.id, live = self.members.len(), "session left the hub");
        }
    }
}

impl Handler<CloseAll> for Hub {
    type Result = usize;

    fn handle(&mut self, message: CloseAll, _: &mut Self::Context) -> usize {
        let count = self.evict_all(message.code, message.reason);
        info!(sessions = count, code = message.code, "closing every session");
        count
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;

    use notes_core::{ChangeKind, NoteId};

    use super::*;

    fn deleted(seq: Seq) -> ChangeEvent {
        ChangeEvent { kind: ChangeKind::NoteDeleted { id: NoteId::new() }, seq }
    }

    /// A change log that returns the events it holds after `after`.
    struct FakeFeed(Mutex<Vec<ChangeEvent>>);

    impl ChangeFeed for FakeFeed {
        fn changes_since(&self, after: Seq, limit: usize) -> FetchFuture {
            let events: Vec<ChangeEvent> =
                self.0.lock().unwrap().iter().filter(|event| event.seq > after).take(limit).cloned().collect();
            Box::pin(async move { Ok(events) })
        }
    }

    async fn broadcast_count(stats: &HubStats, expected: u64, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let count = stats.events_broadcast.load(Ordering::Relaxed);
            if count >= expected || Instant::now() > deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[actix_web::test]
    async fn out_of_order_events_are_delivered_in_order() {
        let stats = Arc::new(HubStats::default());
        let hub = Hub::new(0, stats.clone()).start();
        hub.send(Publish { event: deleted(2) }).await.unwrap();
        assert_eq!(stats.events_broadcast.load(Ordering::Relaxed), 0);

        hub.send(Publish { event: deleted(1) }).await.unwrap();
        assert_eq!(stats.events_broadcast.load(Ordering::Relaxed), 2);

        // A repeated event is ignored.
        hub.send(Publish { event: deleted(2) }).await.unwrap();
        assert_eq!(stats.events_broadcast.load(Ordering::Relaxed), 2);
    }

    #[actix_web::test]
    async fn missing_event_is_read_from_the_feed() {
        let stats = Arc::new(HubStats::default());
        let feed = Arc::new(FakeFeed(Mutex::new(vec![deleted(1), deleted(2)])));
        let hub = Hub::new(0, stats.clone()).with_feed(feed).start();

        // Event 1 is committed but never published.
        hub.send(Publish { event: deleted(2) }).await.unwrap();
        assert_eq!(broadcast_count(&stats, 2, GAP_TIMEOUT).await, 2);
        assert_eq!(stats.sequence_gaps.load(Ordering::Relaxed), 0);
    }

    #[actix_web::test]
    async fn polling_reads_writes_of_other_processes() {
        let stats = Arc::new(HubStats::default());
        let feed = Arc::new(FakeFeed(Mutex::new(Vec::new())));
        let hub = Hub::new(0, stats.clone()).with_feed(feed.clone()).with_polling(Duration::from_millis(20)).start();

        // Another process commits two events; this hub never sees a Publish.
        feed.0.lock().unwrap().extend([deleted(1), deleted(2)]);
        assert_eq!(broadcast_count(&stats, 2, Duration::from_secs(2)).await, 2);
        drop(hub);
    }

    #[actix_web::test]
    async fn gap_without_feed_is_skipped_after_timeout() {
        let stats = Arc::new(HubStats::default());
        let hub = Hub::new(0, stats.clone()).start();

        hub.send(Publish { event: deleted(2) }).await.unwrap();
        assert_eq!(broadcast_count(&stats, 1, GAP_TIMEOUT * 3).await, 1);
        assert_eq!(stats.sequence_gaps.load(Ordering::Relaxed), 1);
    }
}
