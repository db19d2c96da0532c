//! Integration tests: the real server on an ephemeral port, driven by real
//! HTTP and WebSocket clients. One test binary, one module per area.

mod helpers;

mod lifecycle;
mod websocket;
