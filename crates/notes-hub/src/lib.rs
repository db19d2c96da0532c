//! Real-time fan-out of note changes to WebSocket clients.
//!
//! Two kinds of actix actors:
//! - [`Hub`], one per server process. It receives committed change events
//!   ([`Publish`]), puts them back into sequence order, serializes each one
//!   once, and hands the shared bytes to one relay per worker thread, which
//!   offers them to the joined sessions of that thread.
//! - [`Session`], one per WebSocket connection. It reads the client's frames,
//!   answers pings and close frames, sends heartbeats, closes the connection
//!   when the client's token expires, and leaves the hub when it stops.
//!
//! How a session owns its connection: the server calls [`Session::start`] on
//! the worker thread that accepted the upgrade, because `actix_ws::MessageStream`
//! is not `Send`. The session feeds that stream to itself with
//! `ctx.add_stream`, and spawns a writer task on the same worker that owns
//! the `actix_ws::Session` sink. Everything sent to the client goes through
//! one bounded queue (the outbox, [`OUTBOX_CAPACITY`] messages) into that
//! writer task. The hub never waits on a client: its relays offer each
//! message with `try_send`, and a client whose outbox is full is closed with
//! [`CLOSE_TOO_SLOW`] and removed, so one stalled reader never delays the
//! others. Closing goes through a separate one-shot channel, so a close is
//! not stuck behind a full outbox.
//!
//! What stops a session: a close frame from the client, a protocol error
//! (oversized frame, invalid UTF-8), the end of the connection, no frame from
//! the client for the client timeout, the token expiring, the hub evicting it
//! as too slow, or the server shutting down. In every case the session sends
//! [`Leave`] to the hub from its `stopped` hook.
//!
//! This crate depends on `notes-core` only among the workspace crates, never
//! on the store or the server: the server gives each session its snapshot.

mod hub;
mod messages;
mod relay;
mod session;
mod stats;

use std::time::Duration;

pub use hub::{ChangeFeed, FetchFuture, Hub};
pub use messages::{CloseAll, Evict, Join, Leave, Publish, SessionId};
pub use session::{Session, SessionSettings};
pub use stats::HubStats;

/// How often the server pings each client.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// How long a client may send nothing (not even a pong) before the server
/// drops it.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Maximum messages waiting to be written to one client. A client that falls
/// this far behind is closed with [`CLOSE_TOO_SLOW`].
pub const OUTBOX_CAPACITY: usize = 256;

/// Maximum size of one inbound WebSocket message, in bytes, whether it comes
/// as one frame or as fragments. Larger messages close the connection with
/// 1009 (message too big).
pub const MAX_INBOUND_MESSAGE_BYTES: usize = 64 * 1024;

/// How long the hub waits for a missing sequence number to be published
/// before it reads it from the change log.
pub const GAP_FETCH_DELAY: Duration = Duration::from_millis(200);

/// How long the hub waits for a missing sequence number before it gives up
/// on it and asks every client to resynchronize.
pub const GAP_TIMEOUT: Duration = Duration::from_secs(2);

/// How many delivered events the hub keeps for sessions whose snapshot is
/// slightly older than the newest event.
pub const RECENT_EVENTS: usize = 1024;

/// How long a close handshake may take before the connection is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Close code: the session's token expired; the client must sign in again
/// instead of reconnecting.
pub const CLOSE_TOKEN_EXPIRED: u16 = 4001;

/// Close code: the client did not read fast enough and its outbox filled up.
/// The client should reconnect and take a new snapshot.
pub const CLOSE_TOO_SLOW: u16 = 4008;

/// Close code: the server lost track of the event order for this client. The
/// client should reconnect and take a new snapshot.
pub const CLOSE_RESYNC: u16 = 4009;
