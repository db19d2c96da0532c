//! Shared state of the running server, handed to every handler.

use std::net::IpAddr;
use std::sync::Arc;

use actix::Addr;
use notes_auth::{PasswordHasher, TokenKeys};
use notes_hub::{Hub, HubStats, SessionSettings};
use notes_store::Store;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::limits::{Connections, RateLimits};
use crate::list_cache::ListCache;

/// Everything a handler needs. Cheap to clone: every field is shared.
#[derive(Clone)]
pub struct AppState {
    /// The store chosen by the database URL.
    pub store: Arc<dyn Store>,
    /// The fan-out actor.
    pub hub: Addr<Hub>,
    /// The hub's counters.
    pub hub_stats: Arc<HubStats>,
    /// Token signing and validation.
    pub tokens: Arc<TokenKeys>,
    /// Password hashing on a bounded pool.
    pub hashing: HashingPool,
    /// Origins allowed for WebSockets and CORS, exactly as browsers send them.
    pub allowed_origins: Arc<Vec<String>>,
    /// Heartbeat and queue settings for new WebSocket sessions.
    pub session_settings: SessionSettings,
    /// Rate limits of sign-ups, logins and note writes.
    pub rate_limits: Arc<RateLimits>,
    /// Open WebSocket sessions, limited in total and per user.
    pub connections: Arc<Connections>,
    /// Whether the client address comes from forwarding headers.
    pub trust_forwarded_for: bool,
    /// The serialized list of every note, shared by readers between writes.
    pub list_cache: Arc<ListCache>,
}

impl AppState {
    /// Returns the client address that rate limits apply to: the peer
    /// address, or with `trust_forwarded_for` the first address in
    /// `Forwarded` or `X-Forwarded-For`.
    pub fn client_ip(&self, request: &actix_web::HttpRequest) -> IpAddr {
        let forwarded = self
            .trust_forwarded_for
            .then(|| request.connection_info().realip_remote_addr().map(str::to_owned))
            .flatten();
        forwarded
            .and_then(|address| parse_ip(&address))
            .or_else(|| request.peer_addr().map(|address| address.ip()))
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }
}

/// Parses `1.2.3.4`, `1.2.3.4:5678`, `[::1]:5678` or `::1`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>().ok().or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|address| address.ip()))
}

/// Runs bcrypt work on tokio's blocking threads, at most `permits` at once.
///
/// bcrypt at cost 12 takes about a quarter of a second of CPU. Running it on
/// an async worker would stall every connection on that worker, and running
/// it unbounded on the blocking pool would let a login storm take every core.
/// The semaphore makes logins wait in line instead.
#[derive(Clone)]
pub struct HashingPool {
    hasher: Arc<PasswordHasher>,
    permits: Arc<Semaphore>,
}

impl HashingPool {
    /// Creates a pool that runs at most `concurrency` hashes at once.
    pub fn new(hasher: PasswordHasher, concurrency: usize) -> Self {
        Self { hasher: Arc::new(hasher), permits: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    /// Runs `work` with the hasher on a blocking thread, inside the caller's
    /// tracing span, once a permit is free.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&PasswordHasher) -> T + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let hasher = self.hasher.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| work(&hasher))).await.map_err(ApiError::internal)
    }
}
