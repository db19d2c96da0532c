//! The notes HTTP and WebSocket server.
//!
//! A thin layer that wires the other crates together: configuration
//! ([`config`]), the HTTP routes ([`routes`]), the one mapping from errors to
//! HTTP responses ([`error`]), the authenticated-user extractor ([`auth`]),
//! and [`Application`], which builds and runs the server so that tests and
//! embedding programs start exactly what the binary starts.
//!
//! It depends on every other workspace crate: `notes-core` for the rules,
//! `notes-store` for persistence, `notes-auth` for passwords and tokens, and
//! `notes-hub` for real-time fan-out. Nothing depends on it. Business rules
//! do not live here; handlers parse, authenticate, call the layer below and
//! respond.

pub mod auth;
pub mod config;
pub mod error;
pub mod limits;
pub mod list_cache;
pub mod observability;
pub mod routes;
pub mod startup;
pub mod state;

pub use config::{Cli, Command, Config};
pub use startup::{Application, JSON_BODY_LIMIT, ShutdownHandle};
