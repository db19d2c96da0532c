//! Running commands and supervising child processes.

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};

/// Runs a command to completion, echoing it first, and fails on a non-zero exit.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: $ {}", describe(command));
    let status = command.status().with_context(|| format!("failed to start {}", describe(command)))?;
    check(status, command)
}

fn check(status: ExitStatus, command: &Command) -> anyhow::Result<()> {
    if status.success() { Ok(()) } else { bail!("{} failed with {status}", describe(command)) }
}

/// Formats a command as a shell-like line for messages.
pub fn describe(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for argument in command.get_args() {
        line.push(' ');
        line.push_str(&argument.to_string_lossy());
    }
    line
}

/// Returns a command that runs `npm` in `dir`.
pub fn npm(dir: &Path) -> Command {
    let mut command = Command::new("npm");
    command.current_dir(dir);
    command
}

/// Returns a command that runs `cargo` in `dir`, using the same cargo that
/// runs this task.
pub fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(dir);
    command
}

/// Child processes that are stopped together when Ctrl-C is pressed or the
/// supervisor is dropped.
#[derive(Clone, Default)]
pub struct Children {
    children: Arc<Mutex<Vec<(String, Child)>>>,
    interrupted: Arc<AtomicBool>,
}

impl Children {
    /// Installs the Ctrl-C handler. It only records the interrupt: the task's
    /// main loop sees it through [`Children::interrupted`] and stops the
    /// children itself, so the process never exits while a stop is half done.
    pub fn install_interrupt_handler(&self) -> anyhow::Result<()> {
        let interrupted = self.interrupted.clone();
        ctrlc::set_handler(move || interrupted.store(true, Ordering::SeqCst))
            .context("failed to install the Ctrl-C handler")
    }

    /// Reports whether Ctrl-C was pressed, and if so stops every child
    /// before returning.
    pub fn interrupted(&self) -> bool {
        let interrupted = self.interrupted.load(Ordering::SeqCst);
        if interrupted {
            self.stop_all();
        }
        interrupted
    }

    /// Starts a command in a process group of its own and keeps it for
    /// stopping later. The group lets [`Children::stop_all`] reach the
    /// processes it starts in turn, such as the node process behind `npm run`.
    pub fn spawn(&self, name: &str, command: &mut Command) -> anyhow::Result<()> {
        if self.interrupted() {
            bail!("not starting {name}: interrupted");
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        eprintln!("xtask: starting {name}: {}", describe(command));
        let child = command.spawn().with_context(|| format!("failed to start {name}"))?;
        eprintln!("xtask: {name} runs as process {}", child.id());
        self.lock().push((name.to_owned(), child));
        Ok(())
    }

    /// Stops the child called `name`, if it runs.
    pub fn stop(&self, name: &str) {
        let mut children = self.lock();
        if let Some(index) = children.iter().position(|(child_name, _)| child_name == name) {
            let (name, child) = children.remove(index);
            terminate(&name, child);
        }
    }

    /// Stops every child: SIGTERM first, so servers shut down cleanly.
    pub fn stop_all(&self) {
        let children: Vec<_> = self.lock().drain(..).collect();
        for (name, child) in children {
            terminate(&name, child);
        }
    }

    /// Returns the name and status of a child that has exited, if any.
    pub fn exited(&self) -> Option<(String, ExitStatus)> {
        let mut children = self.lock();
        let index = children.iter_mut().position(|(_, child)| matches!(child.try_wait(), Ok(Some(_))))?;
        let (name, mut child) = children.remove(index);
        let status = child.wait().ok()?;
        Some((name, status))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Child)>> {
        self.children.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        if Arc::strong_count(&self.children) == 1 {
            self.stop_all();
        }
    }
}

/// Sends SIGTERM to a child's process group (the group id is the child's
/// PID), waits up to 10 seconds, then kills the child.
fn terminate(name: &str, mut child: Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    eprintln!("xtask: stopping {name} (process group {})", child.id());
    let group = format!("-{}", child.id());
    let sent = Command::new("kill").args(["-TERM", "--", &group]).status().is_ok_and(|status| status.success());
    if sent {
        for _ in 0..100 {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
