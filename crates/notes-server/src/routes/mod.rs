//! HTTP handlers, one module per resource.

pub mod health;
pub mod metrics;
pub mod notes;
pub mod users;
pub mod web_app;
pub mod ws;
