//! `cargo xtask bench`: load scenarios against the release server, with the
//! `notes-floor` server from crates/notes-bench as the comparison point for
//! WebSocket fanout and connection costs.
//!
//! Every server runs on 127.0.0.1 on a free port with a fresh temporary data
//! directory (and a fresh PostgreSQL database for that store), and is stopped
//! with SIGTERM when its run ends. Every run is bounded in count and time.

mod auth;
mod broadcast;
mod load;
mod report;
mod resilience;
mod server;
mod stores;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use self::load::Endpoint;
use self::report::Report;
use self::server::{Binaries, RunningServer, ServerKind};
use crate::process::{cargo, run};
use crate::workspace_root;

/// Options of `cargo xtask bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Scenario to run. Without one, every scenario runs at its default size.
    #[arg(value_enum)]
    scenario: Option<Scenario>,

    /// WebSocket clients for fanout, connections (the maximum), the fanout
    /// part of auth and each soak wave. Without it, fanout runs 100, 1,000
    /// and 5,000 clients, and soak 1,000 per wave.
    #[arg(long)]
    clients: Option<usize>,

    /// Notes per second that the fanout writer creates (default 10).
    #[arg(long)]
    rate: Option<f64>,

    /// For store and http: notes stored before listing (default 10,000, and
    /// also 100,000 for http). For fanout and auth: notes created (default 200).
    #[arg(long)]
    notes: Option<u64>,

    /// Drive an already running server at this URL instead of building and
    /// starting one. The floor comparison and the store switch are skipped.
    #[arg(long)]
    base: Option<String>,

    /// For soak: seconds after which no new wave starts (default 600).
    #[arg(long)]
    seconds: Option<f64>,

    /// PID of the server at --base, to report its CPU time and memory.
    #[arg(long, requires = "base")]
    server_pid: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Creates per second and listing latency on the memory, SQLite and
    /// PostgreSQL stores.
    Store,
    /// Creates per second and listing latency with 10,000 and 100,000 notes,
    /// alone and with 16 concurrent readers, on the memory store.
    Http,
    /// Delivery latency of created notes to many WebSocket clients, against
    /// the floor server.
    Fanout,
    /// Server memory, handshake time and broadcast latency as connections
    /// grow in steps of 1,000 (to 15,000 by default), against the floor
    /// server; then one connection past the server's limit.
    Connections,
    /// Registrations and logins per second at bcrypt cost 12, and fanout
    /// latency while clients log in.
    Auth,
    /// Waves of 1,000 clients connecting and disconnecting while notes are
    /// created: lost events, session leaks and memory growth across waves.
    Soak,
    /// A burst of 5,000 notes of 1 KiB with one client that never reads and
    /// five that reset their connection: delivery to the others, the slow
    /// client's close and the server's memory.
    Slowclient,
}

impl Scenario {
    const ALL: [Scenario; 7] = [
        Scenario::Store,
        Scenario::Http,
        Scenario::Fanout,
        Scenario::Connections,
        Scenario::Auth,
        Scenario::Soak,
        Scenario::Slowclient,
    ];
}

/// What every scenario needs: the binaries, the server to drive when it is
/// not started here, and the size options.
pub struct Bench {
    binaries: Binaries,
    external: Option<Endpoint>,
    clients: Option<usize>,
    rate: Option<f64>,
    notes: Option<u64>,
    seconds: Option<f64>,
}

impl Bench {
    /// Runs `body` against a fresh server of `kind`, or against the --base
    /// server when one was given.
    fn with_server<T>(&self, kind: ServerKind, body: impl FnOnce(&Endpoint) -> anyhow::Result<T>) -> anyhow::Result<T> {
        self.with_server_env(kind, &[], body)
    }

    /// Runs `body` like [`Bench::with_server`], with extra environment
    /// variables for a server started here. A --base server keeps its own
    /// settings.
    fn with_server_env<T>(
        &self,
        kind: ServerKind,
        env: &[(&str, &str)],
        body: impl FnOnce(&Endpoint) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if let Some(endpoint) = &self.external {
            return body(endpoint);
        }
        let server = RunningServer::start(&self.binaries, kind, env)?;
        let endpoint = Endpoint { base: server.base.clone(), pid: Some(server.pid) };
        let result = body(&endpoint);
        drop(server);
        result
    }

    /// Runs `notes-load` against `endpoint`.
    fn load(&self, endpoint: &Endpoint, arguments: &[&str]) -> anyhow::Result<Value> {
        load::run(&self.binaries, endpoint, arguments)
    }

    /// Reports whether the floor comparison runs: only for servers started here.
    fn compares_with_floor(&self) -> bool {
        self.external.is_none()
    }
}

/// Builds the release binaries, runs the chosen scenarios and prints the report.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let root = workspace_root();
    let fd_limit = raise_fd_limit()?;

    let mut build = cargo(&root);
    build.args(["build", "--release", "--package", "notes-bench"]);
    if args.base.is_none() {
        build.args(["--package", "notes-server"]);
    }
    run(&mut build)?;

    let release_dir =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target")).join("release");
    let bench = Bench {
        binaries: Binaries {
            server: release_dir.join("notes-server"),
            floor: release_dir.join("notes-floor"),
            load: release_dir.join("notes-load"),
        },
        external: args.base.clone().map(|base| Endpoint { base, pid: args.server_pid }),
        clients: args.clients,
        rate: args.rate,
        notes: args.notes,
        seconds: args.seconds,
    };

    let scenarios = match args.scenario {
        Some(scenario) => vec![scenario],
        None => Scenario::ALL.to_vec(),
    };
    let mut report = Report::default();
    let started = std::time::Instant::now();
    for scenario in scenarios {
        eprintln!("xtask: scenario {scenario:?}");
        let result = match scenario {
            Scenario::Store => stores::store(&bench, &mut report),
            Scenario::Http => stores::http(&bench, &mut report),
            Scenario::Fanout => broadcast::fanout(&bench, &mut report),
            Scenario::Connections => broadcast::connections(&bench, &mut report),
            Scenario::Auth => auth::auth(&bench, &mut report),
            Scenario::Soak => resilience::soak(&bench, &mut report),
            Scenario::Slowclient => resilience::slow_client(&bench, &mut report),
        };
        result.with_context(|| format!("scenario {scenario:?} failed"))?;
    }

    let context = json!({
        "commit": git_commit(&root),
        "cpus": std::thread::available_parallelism().map(usize::from).unwrap_or(0),
        "fd_limit": fd_limit,
        "base": args.base,
        "seconds": started.elapsed().as_secs_f64(),
    });
    report.print(context);
    Ok(())
}

/// Raises RLIMIT_NOFILE, so this task and the servers and generator it
/// starts can hold tens of thousands of sockets. The hard limit is raised
/// to the kernel's `fs.nr_open` when the process may (as root); otherwise
/// the soft limit is raised to the hard one.
fn raise_fd_limit() -> anyhow::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable rlimit for the call to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        anyhow::bail!("getrlimit(RLIMIT_NOFILE) failed: {}", std::io::Error::last_os_error());
    }

    let kernel_maximum = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|text| text.trim().parse::<libc::rlim_t>().ok())
        .unwrap_or(limit.rlim_max);
    if kernel_maximum > limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: kernel_maximum, rlim_max: kernel_maximum };
        // SAFETY: `raised` is a valid rlimit; the call fails without
        // CAP_SYS_RESOURCE and then changes nothing.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(kernel_maximum);
        }
    }

    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid rlimit whose soft limit equals its hard limit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        anyhow::bail!("setrlimit(RLIMIT_NOFILE, {}) failed: {}", limit.rlim_max, std::io::Error::last_os_error());
    }
    Ok(limit.rlim_cur)
}

fn git_commit(root: &std::path::Path) -> Option<String> {
    let output =
        std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(root).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
