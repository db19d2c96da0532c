//! `cargo xtask run` and `cargo xtask dev`.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher};

use crate::process::{Children, cargo, run as run_command};
use crate::{web, workspace_root};

/// The Vite dev server's address.
const VITE_ADDR: &str = "127.0.0.1:5173";
/// The notes server's address during `dev`.
const DEV_SERVER_ADDR: &str = "127.0.0.1:8080";
/// How long to wait after a file change before rebuilding, so one save that
/// touches several files causes one rebuild.
const REBUILD_DEBOUNCE: Duration = Duration::from_millis(400);

/// Builds the web app and the release server, then runs the server in the
/// foreground with the built app until Ctrl-C.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    let web_dir = root.join("web");
    web::build(&web_dir)?;
    run_command(cargo(&root).args(["build", "--release", "--package", "notes-server"]))?;

    let children = Children::default();
    children.install_interrupt_handler()?;
    let mut server = std::process::Command::new(root.join("target/release/notes-server"));
    server.current_dir(&root).args(args);
    if std::env::var_os("NOTES_WEB_DIR").is_none() {
        server.env("NOTES_WEB_DIR", web_dir.join("dist"));
    }
    children.spawn("notes-server", &mut server)?;
    eprintln!("xtask: open the address in the server's \"notes server listening on\" line; Ctrl-C stops the server");

    loop {
        if let Some((name, status)) = children.exited() {
            if children.interrupted() || status.success() {
                return Ok(());
            }
            anyhow::bail!("{name} exited with {status}");
        }
        if children.interrupted() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn spawn_dev_server(children: &Children, root: &Path) -> anyhow::Result<()> {
    let mut command = cargo(root);
    command.args(["run", "--package", "notes-server", "--"]).env("NOTES_ADDR", DEV_SERVER_ADDR).env(
        "NOTES_ALLOWED_ORIGINS",
        format!("http://{VITE_ADDR},http://localhost:5173,http://{DEV_SERVER_ADDR},http://localhost:8080"),
    );
    if std::env::var_os("NOTES_BCRYPT_COST").is_none() {
        // Fast hashing keeps sign-ups snappy while developing.
        command.env("NOTES_BCRYPT_COST", "4");
    }
    children.spawn("notes-server", &mut command)
}

/// Runs the server and the Vite dev server, restarting the server when a
/// Rust source, manifest or migration changes.
pub fn dev() -> anyhow::Result<()> {
    let root = workspace_root();
    let web_dir = root.join("web");
    web::install_packages(&web_dir)?;

    let children = Children::default();
    children.install_interrupt_handler()?;
    spawn_dev_server(&children, &root)?;

    let mut vite = crate::process::npm(&web_dir);
    vite.args(["run", "dev", "--", "--host", "127.0.0.1", "--port", "5173", "--strictPort"])
        .env("NOTES_SERVER_URL", format!("http://{DEV_SERVER_ADDR}"));
    children.spawn("vite", &mut vite)?;

    let (sender, changes) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads (access events) are ignored: cargo reads every source file
        // when it builds, which would restart the server in a loop.
        let Ok(event) = event else { return };
        let changed = matches!(
            event.kind,
            EventKind::Create(_)
                | EventKind::Remove(_)
                | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
        );
        let relevant = event
            .paths
            .iter()
            .any(|path| matches!(path.extension().and_then(|ext| ext.to_str()), Some("rs" | "toml" | "sql")));
        if changed && relevant {
            let _ = sender.send(());
        }
    })
    .context("failed to start the file watcher")?;
    watcher.watch(&root.join("crates"), RecursiveMode::Recursive).context("failed to watch crates/")?;

    eprintln!(
        "xtask: open http://{VITE_ADDR} (the Vite dev server; the API server is on http://{DEV_SERVER_ADDR}); Ctrl-C stops both"
    );
    loop {
        if children.interrupted() {
            return Ok(());
        }
        if let Some((name, status)) = children.exited() {
            if name == "vite" {
                children.stop_all();
                anyhow::bail!("the Vite dev server exited with {status}");
            }
            eprintln!("xtask: notes-server exited with {status}; waiting for a change to rebuild");
        }
        if changes.recv_timeout(Duration::from_millis(200)).is_ok() && !children.interrupted() {
            let quiet_since = Instant::now();
            while quiet_since.elapsed() < REBUILD_DEBOUNCE {
                if changes.recv_timeout(REBUILD_DEBOUNCE).is_err() {
                    break;
                }
            }
            if children.interrupted() {
                return Ok(());
            }
            eprintln!("xtask: Rust sources changed; rebuilding and restarting notes-server");
            children.stop("notes-server");
            spawn_dev_server(&children, &root)?;
        }
    }
}
