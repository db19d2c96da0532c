//! Integration tests: the real server on an ephemeral port, driven by real
//! HTTP and WebSocket clients. One test binary, one module per area.

mod helpers;
mod support;

mod access;
mod accounts;
mod bad_input;
mod conflicts;
mod fuzz;
mod hardening;
mod lifecycle;
mod limits;
mod logging;
mod tokens;
mod websocket;
mod ws_protocol;
