//! Shared state of the running server, handed to every handler.

use std::net::IpAddr;
use std::sync::Arc;

use actix::Addr;
use notes_auth::{PasswordHasher, TokenKeys};
use notes_hub::{Hub, HubStats, SessionSettings};
use notes_store::Store;

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

/// The nice value of the hashing threads. Linux gives a thread at nice 10
/// about a tenth of the CPU share of one at nice 0 when both want to run,
/// so bcrypt uses idle cores fully but yields to request handling and
/// WebSocket delivery.
const HASHING_NICE: libc::c_int = 10;

/// Runs bcrypt work on a pool of its own threads, at most `concurrency` at
/// once, at a lower CPU priority than everything else.
///
/// bcrypt at cost 12 takes about a quarter of a second of CPU. Running it on
/// an async worker would stall every connection on that worker, and running
/// it unbounded would let a login storm take every core. Here logins wait in
/// line for a hashing thread, and the threads run at [`HASHING_NICE`], so a
/// storm of sign-ins does not slow the delivery of changes to everyone else.
#[derive(Clone)]
pub struct HashingPool {
    hasher: Arc<PasswordHasher>,
    threads: Arc<rayon::ThreadPool>,
}

impl HashingPool {
    /// Creates a pool of `concurrency` hashing threads.
    pub fn new(hasher: PasswordHasher, concurrency: usize) -> anyhow::Result<Self> {
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(concurrency.max(1))
            .thread_name(|index| format!("bcrypt-{index}"))
            .start_handler(|_| lower_thread_priority())
            .build()?;
        Ok(Self { hasher: Arc::new(hasher), threads: Arc::new(threads) })
    }

    /// Runs `work` with the hasher on a hashing thread, inside the caller's
    /// tracing span. A request that is dropped while it waits (the client
    /// went away) is skipped instead of hashed.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&PasswordHasher) -> T + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let hasher = self.hasher.clone();
        let span = tracing::Span::current();
        self.threads.spawn(move || {
            if sender.is_closed() {
                return;
            }
            let _ = sender.send(span.in_scope(|| work(&hasher)));
        });
        receiver.await.map_err(ApiError::internal)
    }
}

/// Lowers the calling thread's CPU priority to [`HASHING_NICE`]. On Linux
/// the nice value belongs to each thread, so this changes no other thread.
fn lower_thread_priority() {
    // SAFETY: gettid has no preconditions, and setpriority only reads its
    // integer arguments.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, HASHING_NICE) };
    if result != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "could not lower the priority of a hashing thread; sign-in storms may slow other work"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// Returns the nice value of the calling thread.
    fn own_nice() -> libc::c_int {
        // SAFETY: gettid has no preconditions, and getpriority only reads
        // its integer arguments.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[tokio::test]
    async fn hashing_runs_at_lower_priority() {
        let caller_before = own_nice();
        let pool = HashingPool::new(PasswordHasher::new(4).unwrap(), 2).unwrap();

        let nice = pool.run(|_| own_nice()).await.unwrap();
        assert_eq!(nice, HASHING_NICE);

        // The caller's own thread keeps its priority.
        assert_eq!(own_nice(), caller_before);
    }

    #[test]
    fn one_core_is_left_for_other_work() {
        let threads = Config::default_hash_concurrency();
        assert!(threads >= 1);
        assert!(threads == 1 || threads < Config::cores());
    }
}
