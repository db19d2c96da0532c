//! `cargo xtask`: development tasks for the notes workspace.
//!
//! Run `cargo xtask --help` for the list. Each task says which processes and
//! ports it starts, and Ctrl-C stops every process it started. This binary
//! depends on no workspace crate: it drives `cargo` and `npm` as a developer
//! would, so what it runs is what a person can run by hand.

mod bench;
mod ci;
mod dev;
mod fuzz;
mod process;
mod web;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Development tasks for the notes workspace")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the web app and the release server, then run the server with the
    /// default SQLite store on http://127.0.0.1:8080 (NOTES_ADDR changes it).
    /// Arguments after `--` go to notes-server.
    Run {
        /// Arguments passed to notes-server.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the server (rebuilt and restarted when Rust code changes) and the
    /// Vite dev server with hot reload on http://127.0.0.1:5173, which
    /// forwards /api and /ws to the server on 127.0.0.1:8080.
    Dev,
    /// Run every check that CI runs: formatting, clippy, all Rust tests
    /// (memory, SQLite and the local PostgreSQL), 20 seconds of each fuzz
    /// target, the web app's type check, unit tests and build, and the
    /// end-to-end test in Chromium.
    Ci {
        /// Skip the web checks and the browser test.
        #[arg(long)]
        rust_only: bool,
    },
    /// Run the cargo-fuzz targets in crates/notes-core/fuzz with the nightly
    /// toolchain, each for a fixed time, seeded with the committed corpus.
    /// Needs `rustup toolchain install nightly` and
    /// `cargo install cargo-fuzz --locked`.
    Fuzz {
        /// Seconds to fuzz each target.
        #[arg(long, default_value_t = fuzz::CI_SECONDS_PER_TARGET)]
        seconds: u64,
        /// Targets to run, such as `input`; all targets when none is given.
        targets: Vec<String>,
    },
    /// Build the release server and the benchmark binaries, then measure the
    /// server under load on 127.0.0.1 and print one JSON line and a table.
    /// See docs/benchmarks.md for the scenarios and recorded results.
    Bench(bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Run { args } => dev::run(&args),
        Task::Dev => dev::dev(),
        Task::Ci { rust_only } => ci::ci(rust_only),
        Task::Fuzz { seconds, targets } => fuzz::fuzz(&workspace_root(), seconds, &targets),
        Task::Bench(args) => bench::bench(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Returns the workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(PathBuf::from).unwrap_or(manifest_dir)
}
