//! Durability tests: the real `notes-server` binary as a child process, on
//! SQLite and PostgreSQL, stopped with SIGTERM or killed with SIGKILL, and
//! driven by real HTTP and WebSocket clients.
//!
//! The PostgreSQL tests need the server at 127.0.0.1:5432 (or the one that
//! `NOTES_TEST_POSTGRES_URL` names) and fail, not skip, when it is down.

mod client;
mod postgres;
mod process;

mod concurrency;
mod crash;
mod export_import;
mod file_limit;
mod instances;
mod restart;
mod schema_version;
