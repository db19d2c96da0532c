//! The `notes-server` binary: parses the command line, sets up logging and
//! runs the server, or exports or imports the store.
//!
//! Logging goes to stderr through `tracing`; `RUST_LOG` sets the filter
//! (default `info`). Export writes JSON to stdout.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use notes_server::{Application, Cli, Command};
use notes_store::Dump;
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// The file format of `export` and `import`.
#[derive(Serialize, Deserialize)]
struct ExportFile {
    /// Always `notes-export`, so a wrong file is recognized.
    format: String,
    /// The format version; this program reads version 1.
    version: u32,
    #[serde(flatten)]
    dump: Dump,
}

/// jemalloc replaces the system allocator because it hands freed memory
/// back to the operating system on its own. With glibc's malloc, the
/// memory that a wave of a thousand connecting clients needed for their
/// snapshots stayed in the process after they left.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read before `main` runs. A background thread
/// returns pages that stayed unused for one second (`dirty_decay_ms`),
/// instead of the default ten seconds and only on later allocations. The
/// environment variable `_RJEM_MALLOC_CONF` overrides them at start.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

const EXPORT_FORMAT: &str = "notes-export";
const EXPORT_VERSION: u32 = 1;

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Export => export(cli.config).await,
        Command::Import { file } => import(cli.config, &file).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "notes-server failed");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: notes_server::Config) -> anyhow::Result<()> {
    let application = Application::build(config).await?;
    application.run_until_stopped().await.context("server failed")
}

async fn export(config: notes_server::Config) -> anyhow::Result<()> {
    let store = notes_server::startup::open_store(&config).await?;
    let dump = store.export().await.context("failed to read the store")?;
    let file = ExportFile { format: EXPORT_FORMAT.to_owned(), version: EXPORT_VERSION, dump };

    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, &file).context("failed to write the export")?;
    writeln!(stdout).context("failed to write the export")?;
    tracing::info!(users = file.dump.users.len(), notes = file.dump.notes.len(), "export written");
    Ok(())
}

async fn import(config: notes_server::Config, path: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))?;
    let file: ExportFile =
        serde_json::from_str(&text).with_context(|| format!("{} is not a notes export file", path.display()))?;
    if file.format != EXPORT_FORMAT || file.version != EXPORT_VERSION {
        anyhow::bail!(
            "{} has format {:?} version {}; this program reads {EXPORT_FORMAT:?} version {EXPORT_VERSION}",
            path.display(),
            file.format,
            file.version
        );
    }

    // A restore onto a new machine has no data directory yet, and the
    // default SQLite file lives in it.
    notes_server::startup::ensure_data_dir(&config.data_dir)?;
    let store = notes_server::startup::open_store(&config).await?;
    let (users, notes) = (file.dump.users.len(), file.dump.notes.len());
    store.import(file.dump).await.context("import failed")?;
    tracing::info!(users, notes, "import finished");
    Ok(())
}
