//! Starting and stopping the servers that a benchmark drives: our release
//! `notes-server` with a chosen store, or the `notes-floor` comparison server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;

/// How long a server may take from spawn to answering `GET /healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a server may take to exit after SIGTERM before it is killed.
/// Our server gives requests in flight up to 10 seconds.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Where a benchmark server keeps its notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Memory,
    Sqlite,
    Postgres,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::Sqlite => "sqlite",
            Store::Postgres => "postgres",
        }
    }
}

/// Which server to start.
#[derive(Clone, Copy, Debug)]
pub enum ServerKind {
    /// Our server with the given store and bcrypt cost.
    Notes { store: Store, bcrypt_cost: u32 },
    /// The minimal broadcast server from crates/notes-bench.
    Floor,
}

impl ServerKind {
    /// Our server on the memory store with the cheapest bcrypt cost, for
    /// workloads where password hashing is not what is measured.
    pub const NOTES_MEMORY: ServerKind = ServerKind::Notes { store: Store::Memory, bcrypt_cost: 4 };

    pub fn name(self) -> String {
        match self {
            ServerKind::Notes { store, bcrypt_cost } => {
                format!("notes-server ({}, bcrypt cost {bcrypt_cost})", store.name())
            }
            ServerKind::Floor => "notes-floor".to_owned(),
        }
    }
}

/// Paths of the release binaries.
pub struct Binaries {
    pub server: PathBuf,
    pub floor: PathBuf,
    pub load: PathBuf,
}

/// A server that this task started. Dropping it stops the process with
/// SIGTERM, then drops its PostgreSQL database, if any.
pub struct RunningServer {
    name: String,
    child: Child,
    pub base: String,
    pub pid: u32,
    data_dir: TempDir,
    database: Option<PostgresDatabase>,
}

impl RunningServer {
    /// Starts a server on a free port of 127.0.0.1 with a fresh data
    /// directory and waits until `GET /healthz` returns 200. `env` is set
    /// last, so it overrides the benchmark defaults.
    pub fn start(binaries: &Binaries, kind: ServerKind, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let data_dir =
            tempfile::Builder::new().prefix("notes-bench-").tempdir().context("failed to create a data directory")?;
        let port = free_port()?;
        let log_path = data_dir.path().join("server.log");
        let log =
            std::fs::File::create(&log_path).with_context(|| format!("failed to create {}", log_path.display()))?;

        let mut command = Command::new(match kind {
            ServerKind::Notes { .. } => &binaries.server,
            ServerKind::Floor => &binaries.floor,
        });
        // Settings of the calling shell must not change what is measured.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("NOTES_") {
                command.env_remove(key);
            }
        }
        // Warnings only: per-request logging would cost CPU in the measurement.
        command
            .env("RUST_LOG", "warn")
            .env("NOTES_ADDR", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);

        let mut database = None;
        if let ServerKind::Notes { store, bcrypt_cost } = kind {
            let url = match store {
                Store::Memory => "memory:".to_owned(),
                Store::Sqlite => format!("sqlite://{}", data_dir.path().join("notes.db").display()),
                Store::Postgres => {
                    let created = PostgresDatabase::create()?;
                    let url = created.url();
                    database = Some(created);
                    url
                }
            };
            command
                .env("NOTES_DATABASE_URL", url)
                .env("NOTES_DATA_DIR", data_dir.path())
                .env("NOTES_WEB_DIR", data_dir.path().join("no-web-app"))
                .env("NOTES_BCRYPT_COST", bcrypt_cost.to_string())
                // The benchmarks measure capacity, so the abuse limits are
                // off: every client is one user from one address, and a
                // rate limit would measure itself. Servers without these
                // settings ignore them.
                .env("NOTES_AUTH_RATE_PER_MINUTE", "0")
                .env("NOTES_WRITE_RATE_PER_SECOND", "0")
                .env("NOTES_MAX_WS_CONNECTIONS", "0")
                .env("NOTES_MAX_WS_PER_USER", "0");
        }

        command.envs(env.iter().copied());

        let child = command.spawn().with_context(|| format!("failed to start {}", kind.name()))?;
        let pid = child.id();
        eprintln!("xtask: started {} as process {pid} on port {port}", kind.name());
        let mut server =
            Self { name: kind.name(), child, base: format!("http://127.0.0.1:{port}"), pid, data_dir, database };
        server.wait_ready(port)?;
        Ok(server)
    }

    fn wait_ready(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited with {status} before it was ready; log:\n{}", self.name, self.log_tail());
            }
            if healthz_ok(port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{} did not answer GET /healthz within {START_TIMEOUT:?}; log:\n{}", self.name, self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill has no memory preconditions, and the PID is that of
            // our own child, which is not reaped until the wait below.
            unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Ok(None) = self.child.try_wait() {
                eprintln!(
                    "xtask: {} (process {}) ignored SIGTERM for {STOP_TIMEOUT:?}; killing it",
                    self.name, self.pid
                );
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        // The database is dropped after the server has stopped using it.
        self.database.take();
    }
}

/// Returns a port on 127.0.0.1 that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("failed to find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn healthz_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}

/// A fresh database on the local PostgreSQL (127.0.0.1:5432, user postgres,
/// trust authentication), dropped when this value is dropped.
struct PostgresDatabase {
    name: String,
}

impl PostgresDatabase {
    fn create() -> anyhow::Result<Self> {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let name = format!("notes_bench_{}_{nanos:x}", std::process::id());
        psql(&format!("CREATE DATABASE {name}"))
            .context("failed to create a PostgreSQL database on 127.0.0.1:5432 as user postgres")?;
        Ok(Self { name })
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if let Err(error) = psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("xtask: failed to drop PostgreSQL database {}: {error:#}", self.name);
        }
    }
}

fn psql(statement: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", statement])
        .stdin(Stdio::null())
        .output()
        .context("failed to run psql")?;
    if !output.status.success() {
        bail!(
            "psql -c '{statement}' failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
