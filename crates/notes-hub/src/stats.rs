//! Counters that the hub and sessions keep for monitoring.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of the hub, shared with the server for metrics and health.
/// All counters only grow, except `live_sessions`.
#[derive(Debug, Default)]
pub struct HubStats {
    /// Sessions currently joined to the hub.
    pub live_sessions: AtomicU64,
    /// Events the hub has delivered in order.
    pub events_broadcast: AtomicU64,
    /// Messages handed to session outboxes.
    pub deliveries: AtomicU64,
    /// Messages not delivered because a session's outbox was full or closed.
    pub deliveries_dropped: AtomicU64,
    /// Sessions closed because they fell behind.
    pub slow_client_closes: AtomicU64,
    /// Times the hub gave up waiting for a missing sequence number.
    pub sequence_gaps: AtomicU64,
}

impl HubStats {
    /// Returns the number of sessions currently joined.
    pub fn live(&self) -> u64 {
        self.live_sessions.load(Ordering::Relaxed)
    }

    pub(crate) fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }
}
