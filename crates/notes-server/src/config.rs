//! Server configuration: one typed struct, read from flags and environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Command-line interface of `notes-server`.
#[derive(Debug, Parser)]
#[command(name = "notes-server", version, about = "Self-hosted real-time collaborative notes server")]
pub struct Cli {
    /// Server settings; each flag can also be set by its environment variable.
    #[command(flatten)]
    pub config: Config,

    /// What to do; without a command the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A task other than serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP and WebSocket server (the default).
    Serve,
    /// Write every user (with password hashes) and note as JSON to stdout.
    /// The output is as sensitive as the database: it contains password hashes.
    Export,
    /// Load a file written by `export` into an empty store.
    Import {
        /// The export file to load.
        file: PathBuf,
    },
}

/// Every server setting.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port; the log says which.
    #[arg(long, env = "NOTES_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory for the SQLite database and the generated token secret.
    /// Created on first start.
    #[arg(long, env = "NOTES_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Store to use: `sqlite://PATH`, `postgres://USER@HOST/DB`, or `memory:`
    /// (nothing survives a restart). Default: `notes.db` in the data directory.
    #[arg(long, env = "NOTES_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Maximum pooled database connections (PostgreSQL).
    #[arg(long, env = "NOTES_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// Number of change events kept for replay to reconnecting clients.
    #[arg(long, env = "NOTES_CHANGE_LOG_CAPACITY", default_value_t = notes_store::DEFAULT_CHANGE_LOG_CAPACITY)]
    pub change_log_capacity: usize,

    /// How often to read changes that other server processes sharing the
    /// database committed, for this server's WebSocket clients, such as
    /// `1s`; `0s` turns it off. Default: `1s` with PostgreSQL, off otherwise.
    #[arg(long, env = "NOTES_POLL_INTERVAL", value_parser = humantime::parse_duration)]
    pub poll_interval: Option<Duration>,

    /// Token signing secret, at least 32 bytes. Without it, a random secret
    /// is generated on first start and kept in the data directory.
    #[arg(long, env = "NOTES_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Lifetime of session tokens, for example `24h` or `30m`.
    #[arg(long, env = "NOTES_TOKEN_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,

    /// bcrypt cost factor (4 to 31); each step doubles the hashing time.
    #[arg(long, env = "NOTES_BCRYPT_COST", default_value_t = notes_auth::DEFAULT_BCRYPT_COST)]
    pub bcrypt_cost: u32,

    /// Password hashing threads, which run at a lower CPU priority (nice 10);
    /// further logins wait in line. Default: the number of CPU cores minus
    /// one, and at least one.
    #[arg(long, env = "NOTES_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// Origins allowed to open WebSockets and make cross-origin requests,
    /// comma-separated, such as `https://notes.example.com`. Default: the
    /// server's own origin.
    #[arg(long, env = "NOTES_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// How often the server pings each WebSocket client, for example `30s`.
    #[arg(long, env = "NOTES_HEARTBEAT_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub heartbeat_interval: Duration,

    /// How long a WebSocket client may send nothing before it is dropped.
    #[arg(long, env = "NOTES_CLIENT_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub client_timeout: Duration,

    /// Maximum messages queued for one WebSocket client before it is closed
    /// as too slow (close code 4008).
    #[arg(long, env = "NOTES_WS_OUTBOX", default_value_t = notes_hub::OUTBOX_CAPACITY)]
    pub ws_outbox: usize,

    /// Sign-ups and logins allowed per client address per minute; 0 turns
    /// the limit off. Requests over it get 429 with Retry-After.
    #[arg(long, env = "NOTES_AUTH_RATE_PER_MINUTE", default_value_t = 10)]
    pub auth_rate_per_minute: u32,

    /// Sign-ups and logins a client address may make at once before the
    /// per-minute rate applies.
    #[arg(long, env = "NOTES_AUTH_BURST", default_value_t = 5)]
    pub auth_burst: u32,

    /// Note creates, updates and deletes allowed per user per second; 0
    /// turns the limit off.
    #[arg(long, env = "NOTES_WRITE_RATE_PER_SECOND", default_value_t = 20)]
    pub write_rate_per_second: u32,

    /// Note writes a user may make at once before the per-second rate applies.
    #[arg(long, env = "NOTES_WRITE_BURST", default_value_t = 40)]
    pub write_burst: u32,

    /// WebSocket messages a client may send per second; 0 turns the limit
    /// off. A client over it is closed with 1008.
    #[arg(long, env = "NOTES_WS_MESSAGE_RATE_PER_SECOND", default_value_t = 10)]
    pub ws_message_rate_per_second: u32,

    /// WebSocket messages a client may send at once before the rate applies.
    #[arg(long, env = "NOTES_WS_MESSAGE_BURST", default_value_t = 20)]
    pub ws_message_burst: u32,

    /// Maximum open WebSocket connections; further upgrades get 503. 0 means
    /// no limit of its own. The server never allows more than its open file
    /// limit minus 256.
    #[arg(long, env = "NOTES_MAX_WS_CONNECTIONS", default_value_t = 10_000)]
    pub max_ws_connections: usize,

    /// Maximum open WebSocket connections per user; further upgrades get
    /// 429. 0 means no limit.
    #[arg(long, env = "NOTES_MAX_WS_PER_USER", default_value_t = 20)]
    pub max_ws_per_user: usize,

    /// Take the client address for rate limits from `Forwarded` or
    /// `X-Forwarded-For`. Set it only behind a reverse proxy that sets
    /// these headers, because clients can forge them.
    #[arg(long, env = "NOTES_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Directory of the built web app (`npm run build` in web/).
    #[arg(long, env = "NOTES_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,

    /// Number of HTTP worker threads. Default: the number of CPU cores.
    #[arg(long, env = "NOTES_WORKERS")]
    pub workers: Option<usize>,
}

impl Config {
    /// Returns the database URL, defaulting to `notes.db` in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("notes.db").display()),
        }
    }

    /// Returns the number of CPU cores, or 1 if it cannot be read.
    pub fn cores() -> usize {
        std::thread::available_parallelism().map(usize::from).unwrap_or(1)
    }

    /// Returns the default number of password hashing threads: one per core
    /// but one, and at least one. The core left over keeps request handling
    /// and WebSocket delivery fast during a storm of sign-ins. On two cores,
    /// hashing on both raised the fan-out p99 to 1.7 times its quiet value,
    /// and hashing on one kept it within 1.4 times.
    pub fn default_hash_concurrency() -> usize {
        Self::cores().saturating_sub(1).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let cli = Cli::try_parse_from(["notes-server"]).unwrap();
        assert_eq!(cli.config.addr.port(), 8080);
        assert_eq!(cli.config.token_ttl, Duration::from_secs(86_400));
        assert_eq!(cli.config.heartbeat_interval, Duration::from_secs(30));
        assert!(cli.config.allowed_origins.is_empty());
        assert!(cli.config.database_url().ends_with("notes.db"));
    }

    #[test]
    fn origins_split_on_commas() {
        let cli =
            Cli::try_parse_from(["notes-server", "--allowed-origins", "https://a.example,https://b.example"]).unwrap();
        assert_eq!(cli.config.allowed_origins, ["https://a.example", "https://b.example"]);
    }

    #[test]
    fn durations_take_units() {
        let cli = Cli::try_parse_from(["notes-server", "--heartbeat-interval", "250ms", "--token-ttl", "2s"]).unwrap();
        assert_eq!(cli.config.heartbeat_interval, Duration::from_millis(250));
        assert_eq!(cli.config.token_ttl, Duration::from_secs(2));
    }
}
