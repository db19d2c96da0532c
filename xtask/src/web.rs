//! Building the web app.

use std::path::Path;

use crate::process::{npm, run};

/// Installs the npm packages when `node_modules` is missing or older than
/// `package-lock.json`.
pub fn install_packages(web_dir: &Path) -> anyhow::Result<()> {
    let lock = web_dir.join("package-lock.json");
    let marker = web_dir.join("node_modules").join(".package-lock.json");
    let stale = match (lock.metadata().and_then(|m| m.modified()), marker.metadata().and_then(|m| m.modified())) {
        (Ok(lock_time), Ok(installed_time)) => lock_time > installed_time,
        _ => true,
    };
    if stale {
        run(npm(web_dir).args(["ci", "--no-audit", "--no-fund"]))?;
    }
    Ok(())
}

/// Builds the web app into `web/dist`.
pub fn build(web_dir: &Path) -> anyhow::Result<()> {
    install_packages(web_dir)?;
    run(npm(web_dir).args(["run", "build"]))
}
