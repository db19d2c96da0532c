//! `notes-load`: a load generator for any server that speaks the notes
//! protocol. Each command runs one bounded workload and prints one JSON line
//! of results on stdout; progress and errors go to stderr.
//!
//! With `--server-pid` it also reports the server's CPU time and resident
//! memory from `/proc`, beside its own CPU time.

mod api;
mod http_load;
mod slow_client;
mod ws_load;

use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::api::Api;

#[derive(Parser)]
#[command(name = "notes-load", about = "Load generator for servers that speak the notes protocol")]
struct Cli {
    /// Base URL of the server, such as http://127.0.0.1:8080.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    base: String,

    /// PID of the server process, to report its CPU time and memory.
    #[arg(long, global = true)]
    server_pid: Option<u32>,

    /// Seconds after which the run is abandoned and the process exits with
    /// status 2.
    #[arg(long, global = true, default_value_t = 600)]
    time_limit: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create notes with concurrent clients for a fixed time or count.
    Creates {
        /// Concurrent clients, each with one keep-alive connection.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Maximum notes to create.
        #[arg(long, default_value_t = 20_000)]
        max: u64,
    },
    /// Fill the store up to a note count, then time `GET /api/notes`.
    List {
        /// Notes the store holds during the listing.
        #[arg(long, default_value_t = 10_000)]
        notes: u64,
        /// Sequential requests.
        #[arg(long, default_value_t = 50)]
        requests: usize,
        /// Concurrent readers after the sequential requests (0: none).
        #[arg(long, default_value_t = 0)]
        readers: usize,
        /// Requests per concurrent reader.
        #[arg(long, default_value_t = 5)]
        reader_requests: usize,
    },
    /// Time the delivery of created notes to many WebSocket clients.
    Fanout {
        /// WebSocket clients.
        #[arg(long, default_value_t = 100)]
        clients: usize,
        /// Notes created per second by the one writer.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Notes to create.
        #[arg(long, default_value_t = 200)]
        notes: usize,
        /// Tasks that log in without pause while the notes are created.
        #[arg(long, default_value_t = 0)]
        logins: usize,
        /// Tasks that register new users without pause while the notes are
        /// created.
        #[arg(long, default_value_t = 0)]
        registers: usize,
        /// Maximum handshakes in progress at once.
        #[arg(long, default_value_t = 64)]
        connect_concurrency: usize,
    },
    /// Open WebSocket clients in steps; after each step read the server's
    /// memory and time one broadcast.
    Connections {
        /// Clients open at the end.
        #[arg(long, default_value_t = 5_000)]
        clients: usize,
        /// Clients added per step.
        #[arg(long, default_value_t = 1_000)]
        step: usize,
        /// Maximum handshakes in progress at once.
        #[arg(long, default_value_t = 64)]
        connect_concurrency: usize,
        /// Broadcasts timed at the last step.
        #[arg(long, default_value_t = 5)]
        final_broadcasts: usize,
        /// After the last step, try one more connection and report the
        /// server's response.
        #[arg(long)]
        probe_one_more: bool,
    },
    /// Waves of WebSocket clients that connect, receive notes and
    /// disconnect, half with a close frame and half without one. After each
    /// wave, read the session gauge and the server's memory.
    Soak {
        /// Seconds after which no new wave starts (at least one wave runs).
        #[arg(long, default_value_t = 600.0)]
        seconds: f64,
        /// WebSocket clients per wave.
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// Notes created per wave.
        #[arg(long, default_value_t = 20)]
        notes: usize,
        /// Notes created per second.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Maximum handshakes in progress at once.
        #[arg(long, default_value_t = 64)]
        connect_concurrency: usize,
        /// Seconds to wait for `notes_ws_sessions` to read 0 after a wave.
        #[arg(long, default_value_t = 6.0)]
        sessions_timeout: f64,
        /// Seconds to wait after the sessions reach 0 before reading the
        /// server's memory.
        #[arg(long, default_value_t = 2.0)]
        settle: f64,
        /// Delete each wave's notes after its clients leave, so the stored
        /// data is the same after every wave.
        #[arg(long)]
        delete_notes: bool,
    },
    /// A burst of large notes while one client never reads and some clients
    /// reset their connection mid-burst.
    Slowclient {
        /// Clients that read every event.
        #[arg(long, default_value_t = 20)]
        normal_clients: usize,
        /// Clients that reset their connection (SO_LINGER 0) mid-burst.
        #[arg(long, default_value_t = 5)]
        reset_clients: usize,
        /// Notes in the burst.
        #[arg(long, default_value_t = 5_000)]
        notes: usize,
        /// Concurrent writer tasks.
        #[arg(long, default_value_t = 8)]
        writers: usize,
        /// Bytes in each note body.
        #[arg(long, default_value_t = 1024)]
        content_bytes: usize,
        /// Seconds after the burst before the last memory reading.
        #[arg(long, default_value_t = 5.0)]
        settle_seconds: f64,
    },
    /// Registrations and logins per second.
    Auth {
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Seconds per phase.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Maximum requests per phase.
        #[arg(long, default_value_t = 200)]
        max: u64,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let time_limit = Duration::from_secs(cli.time_limit);
    std::thread::spawn(move || {
        std::thread::sleep(time_limit);
        eprintln!("notes-load: the run exceeded --time-limit {}s and was abandoned", time_limit.as_secs());
        std::process::exit(2);
    });

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("failed to start tokio");
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("notes-load: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let fd_limit = notes_bench::system::raise_fd_limit()?;
    let api = Api::new(&cli.base)?;
    let pid = cli.server_pid;
    let (name, mut result) = match cli.command {
        Command::Creates { clients, seconds, max } => {
            ("creates", http_load::creates(&api, pid, clients, seconds, max).await?)
        }
        Command::List { notes, requests, readers, reader_requests } => {
            ("list", http_load::list(&api, pid, notes, requests, readers, reader_requests).await?)
        }
        Command::Fanout { clients, rate, notes, logins, registers, connect_concurrency } => {
            let storm = ws_load::Storm { logins, registers };
            ("fanout", ws_load::fanout(&api, pid, clients, rate, notes, storm, connect_concurrency).await?)
        }
        Command::Connections { clients, step, connect_concurrency, final_broadcasts, probe_one_more } => {
            let options =
                ws_load::ConnectionsOptions { clients, step, connect_concurrency, final_broadcasts, probe_one_more };
            ("connections", ws_load::connections(&api, pid, &options).await?)
        }
        Command::Soak {
            seconds,
            clients,
            notes,
            rate,
            connect_concurrency,
            sessions_timeout,
            settle,
            delete_notes,
        } => {
            let options = ws_load::soak::SoakOptions {
                seconds,
                clients,
                notes,
                rate,
                connect_concurrency,
                sessions_timeout: Duration::from_secs_f64(sessions_timeout),
                settle: Duration::from_secs_f64(settle),
                delete_notes,
            };
            ("soak", ws_load::soak::soak(&api, pid, &options).await?)
        }
        Command::Slowclient { normal_clients, reset_clients, notes, writers, content_bytes, settle_seconds } => {
            let options = slow_client::SlowClientOptions {
                normal_clients,
                reset_clients,
                notes,
                writers,
                content_bytes,
                settle_seconds,
            };
            ("slowclient", slow_client::slow_client(&api, pid, &options).await?)
        }
        Command::Auth { clients, seconds, max } => ("auth", http_load::auth(&api, pid, clients, seconds, max).await?),
    };
    result["command"] = json!(name);
    result["base"] = json!(cli.base);
    result["load_fd_limit"] = json!(fd_limit);
    println!("{result}");
    Ok(())
}
