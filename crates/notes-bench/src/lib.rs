//! Shared parts of the benchmark binaries: process resource readings,
//! latency summaries and the WebSocket buffer sizes.
//!
//! `notes-load` drives a server over HTTP and WebSocket and prints one JSON
//! line of results. `notes-floor` is the minimal broadcast server that the
//! fanout and connection figures are compared against.

pub mod stats;
pub mod system;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read buffer per WebSocket connection, in bytes. tokio-tungstenite 0.30
/// allocates 128 KiB by default, which would dominate the memory of
/// thousands of idle connections. Every message in this protocol that a
/// benchmark sends or receives fits in a few reads of this size.
pub const WS_READ_BUFFER_BYTES: usize = 4 * 1024;

/// Returns the WebSocket configuration that both binaries use.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(WS_READ_BUFFER_BYTES).write_buffer_size(0)
}
