//! Running the `notes-load` generator against one server.

use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::Value;

use super::server::Binaries;

/// A server to drive: its base URL and, when known, its PID for CPU and
/// memory readings.
#[derive(Clone)]
pub struct Endpoint {
    pub base: String,
    pub pid: Option<u32>,
}

/// Runs `notes-load <arguments>` against `endpoint` and returns the JSON
/// line that it prints. Its progress messages pass through to stderr.
pub fn run(binaries: &Binaries, endpoint: &Endpoint, arguments: &[&str]) -> anyhow::Result<Value> {
    let mut command = Command::new(&binaries.load);
    command.arg("--base").arg(&endpoint.base);
    if let Some(pid) = endpoint.pid {
        command.arg("--server-pid").arg(pid.to_string());
    }
    command.args(arguments).stdin(Stdio::null()).stderr(Stdio::inherit());
    eprintln!("xtask: $ notes-load {}", arguments.join(" "));

    let output = command.output().context("failed to start notes-load")?;
    if !output.status.success() {
        bail!("notes-load {} failed with {}", arguments.join(" "), output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|line| !line.trim().is_empty()).context("notes-load printed no result")?;
    serde_json::from_str(line).with_context(|| format!("notes-load printed invalid JSON: {line}"))
}
