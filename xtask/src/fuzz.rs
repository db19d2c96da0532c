//! `cargo xtask fuzz`: runs the cargo-fuzz targets of notes-core, each for a
//! bounded time, with the nightly toolchain.
//!
//! The committed corpus in `crates/notes-core/fuzz/corpus/<target>/` seeds
//! each run but is never written: new inputs go to a temporary directory that
//! is deleted afterwards, so a run leaves the checkout unchanged unless it
//! finds a failure. libFuzzer then writes the failing input to
//! `crates/notes-core/fuzz/artifacts/<target>/`.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, bail};

use crate::process::run;

/// The fuzz project, relative to the workspace root. It is a workspace of its
/// own, excluded from the main one, because it builds only on nightly.
pub const FUZZ_DIR: &str = "crates/notes-core/fuzz";

/// Seconds of fuzzing per target in `cargo xtask ci`.
pub const CI_SECONDS_PER_TARGET: u64 = 20;

/// libFuzzer's limit for one input, in seconds. The targets handle inputs of
/// a few kilobytes in well under a millisecond, so an input that takes this
/// long is a hang, and libFuzzer reports it as a failure.
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// Builds every fuzz target, then runs each of `targets` (all of them when
/// empty) for `seconds`, stopping at the first target that fails.
pub fn fuzz(root: &Path, seconds: u64, targets: &[String]) -> anyhow::Result<()> {
    check_tools(root)?;

    let known = list_targets(root)?;
    if let Some(unknown) = targets.iter().find(|target| !known.contains(target)) {
        bail!("unknown fuzz target {unknown:?}; the targets in {FUZZ_DIR} are: {}", known.join(", "));
    }
    let selected = if targets.is_empty() { known } else { targets.to_vec() };

    run(nightly_cargo(root).args(["fuzz", "build", "--fuzz-dir", FUZZ_DIR]))?;
    for target in &selected {
        run_target(root, target, seconds)?;
    }
    eprintln!("xtask: fuzzed {} for {seconds} s each without a failure", selected.join(", "));
    Ok(())
}

/// Returns a command that runs rustup's `cargo` proxy with the nightly
/// toolchain. `CARGO` cannot serve here: it names the stable toolchain's own
/// cargo binary, which does not accept `+nightly`.
fn nightly_cargo(root: &Path) -> Command {
    let mut command = Command::new("cargo");
    command.arg("+nightly").current_dir(root);
    command
}

/// Fails with install instructions when the nightly toolchain or cargo-fuzz
/// is missing, so that CI never skips fuzzing without saying so.
fn check_tools(root: &Path) -> anyhow::Result<()> {
    let nightly = nightly_cargo(root).arg("--version").output();
    if let Some(reason) = failure_reason(nightly) {
        bail!(
            "the fuzz targets need rustup's nightly toolchain, but `cargo +nightly --version` failed ({reason}); \
             install it with `rustup toolchain install nightly --profile minimal`"
        );
    }

    let cargo_fuzz = nightly_cargo(root).args(["fuzz", "--version"]).output();
    if let Some(reason) = failure_reason(cargo_fuzz) {
        bail!(
            "the fuzz targets need cargo-fuzz, but `cargo +nightly fuzz --version` failed ({reason}); \
             install it with `cargo install cargo-fuzz --locked`"
        );
    }
    Ok(())
}

/// Returns why a version check failed: the error that prevented its start,
/// or its exit status and the first line of its error output.
fn failure_reason(output: std::io::Result<Output>) -> Option<String> {
    match output {
        Err(error) => Some(format!("failed to start cargo: {error}")),
        Ok(output) if output.status.success() => None,
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first_line = stderr.lines().next().unwrap_or("no error output").trim().to_owned();
            Some(format!("{}: {first_line}", output.status))
        }
    }
}

/// Returns the names of the fuzz targets, as `cargo fuzz list` prints them.
fn list_targets(root: &Path) -> anyhow::Result<Vec<String>> {
    let output = nightly_cargo(root)
        .args(["fuzz", "list", "--fuzz-dir", FUZZ_DIR])
        .output()
        .context("failed to start `cargo +nightly fuzz list`")?;
    if !output.status.success() {
        bail!("`cargo +nightly fuzz list --fuzz-dir {FUZZ_DIR}` failed with {}", output.status);
    }

    let targets: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect();
    if targets.is_empty() {
        bail!("`cargo +nightly fuzz list` found no fuzz targets in {FUZZ_DIR}");
    }
    Ok(targets)
}

/// Runs one target for `seconds`, seeded with its committed corpus.
fn run_target(root: &Path, target: &str, seconds: u64) -> anyhow::Result<()> {
    let seeds = root.join(FUZZ_DIR).join("corpus").join(target);
    let scratch = tempfile::Builder::new()
        .prefix(&format!("notes-fuzz-{target}-"))
        .tempdir()
        .context("failed to create a temporary corpus directory")?;

    // libFuzzer writes new inputs to the first corpus directory and only
    // reads the others.
    let mut command = nightly_cargo(root);
    command
        .args(["fuzz", "run", "--fuzz-dir", FUZZ_DIR, target])
        .arg(scratch.path())
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"));

    // cargo-fuzz (0.13.2) prints a command to reproduce a failure, but leaves
    // out `--fuzz-dir` whenever the directory is named `fuzz`, so the hint is
    // repeated here in a form that works from the workspace root.
    run(&mut command).with_context(|| {
        format!(
            "fuzz target {target} failed; the failing input is in {FUZZ_DIR}/artifacts/{target}/, \
             and `cargo +nightly fuzz run --fuzz-dir {FUZZ_DIR} {target} FILE` runs it again"
        )
    })
}
