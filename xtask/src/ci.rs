//! `cargo xtask ci`: every check that CI runs, in order, stopping at the
//! first failure.

use crate::process::{cargo, npm, run};
use crate::{fuzz, web, workspace_root};

/// Runs formatting, lint, Rust tests, the fuzz targets, web checks and the
/// browser test.
pub fn ci(rust_only: bool) -> anyhow::Result<()> {
    let root = workspace_root();

    run(cargo(&root).args(["fmt", "--all", "--check"]))?;
    run(cargo(&root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo(&root).args(["test", "--workspace", "--no-fail-fast"]))?;
    run(cargo(&root).args(["run", "--quiet", "--example", "embed", "--package", "notes-store"]))?;
    fuzz::fuzz(&root, fuzz::CI_SECONDS_PER_TARGET, &[])?;
    if rust_only {
        return Ok(());
    }

    let web_dir = root.join("web");
    web::install_packages(&web_dir)?;
    run(npm(&web_dir).args(["run", "typecheck"]))?;
    run(npm(&web_dir).args(["test"]))?;
    run(npm(&web_dir).args(["run", "build"]))?;
    run(cargo(&root).args(["build", "--release", "--package", "notes-server"]))?;
    run(npm(&web_dir).args(["run", "e2e"]))?;

    eprintln!("xtask: every check passed");
    Ok(())
}
