//! Running the `notes-server` binary: the server itself and its `export` and
//! `import` commands, each with the environment of one deployment.

// Each test module uses a different part of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::client::Api;
use crate::postgres::TestDatabase;

/// How long the server may take from spawn to its "listening" log line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the server may take to exit after SIGTERM. The server gives
/// requests in flight up to 10 seconds, so this leaves room above that.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `export` and `import` may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The line that the server logs once it is bound to its port.
const LISTENING_MESSAGE: &str = "notes server listening on";

/// One installation of the server: a data directory, a store and a port that
/// stay the same across restarts.
///
/// The database (when PostgreSQL) is dropped when this value is dropped, so
/// stop every server of the deployment first.
pub struct Deployment {
    pub data_dir: TempDir,
    pub database: Option<TestDatabase>,
    pub port: u16,
}

impl Deployment {
    /// Returns a deployment with the default store: `notes.db` in a fresh
    /// data directory, with no `--database-url` given.
    pub fn sqlite() -> Self {
        Self { data_dir: fresh_dir(), database: None, port: free_port() }
    }

    /// Returns a deployment on a fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        let database = TestDatabase::create().await;
        Self { data_dir: fresh_dir(), database: Some(database), port: free_port() }
    }

    /// Returns the path of the default SQLite file in the data directory.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.path().join("notes.db")
    }

    /// Returns a `notes-server` command with this deployment's environment.
    ///
    /// Every inherited `NOTES_*` variable is removed first, so a setting of
    /// the machine that runs the tests cannot change what the server does.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_notes-server"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("NOTES_") {
                command.env_remove(key);
            }
        }
        command
            .env("RUST_LOG", "info")
            .env("NOTES_ADDR", format!("127.0.0.1:{}", self.port))
            .env("NOTES_DATA_DIR", self.data_dir.path())
            .env("NOTES_WEB_DIR", self.data_dir.path().join("no-web-app"))
            .env("NOTES_BCRYPT_COST", "4")
            .env("NOTES_WORKERS", "2")
            // These tests write as fast as they can; the rate limits have tests of their own.
            .env("NOTES_AUTH_RATE_PER_MINUTE", "0")
            .env("NOTES_WRITE_RATE_PER_SECOND", "0")
            .stdin(Stdio::null());
        if let Some(database) = &self.database {
            command.env("NOTES_DATABASE_URL", database.url());
        }
        command
    }

    /// Starts the server and waits until it is listening.
    pub async fn start(&self) -> ServerProcess {
        self.start_command(self.command()).await
    }

    /// Starts `command`, made by [`Deployment::command`] and then changed,
    /// and waits until the server is listening.
    pub async fn start_command(&self, mut command: Command) -> ServerProcess {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn the notes-server binary");
        let stderr = collect_stderr(&mut child);
        let mut server = ServerProcess { child: Some(child), stderr, api: Api::new(self.port) };
        server.wait_until_listening().await;
        server
    }

    /// Runs `notes-server ARGS` to completion and returns its output. Kills
    /// the process and fails the test when it runs longer than `within`.
    pub async fn run(&self, args: &[&str], within: Duration) -> Output {
        let mut command = self.command();
        command.args(args);
        tokio::task::spawn_blocking(move || output_within(command, within))
            .await
            .expect("the thread that runs notes-server did not panic")
    }

    /// Runs `notes-server export` and returns its stdout, failing the test
    /// when the command fails.
    pub async fn export(&self) -> String {
        let output = self.run(&["export"], COMMAND_TIMEOUT).await;
        assert!(
            output.status.success(),
            "export failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("export writes UTF-8")
    }

    /// Runs `notes-server import FILE` and returns its output.
    pub async fn import(&self, file: &Path) -> Output {
        let file = file.to_str().expect("temporary paths are UTF-8");
        self.run(&["import", file], COMMAND_TIMEOUT).await
    }
}

/// A running server process. Dropping it kills the process if it still runs.
pub struct ServerProcess {
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
    pub api: Api,
}

impl ServerProcess {
    /// Returns the process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server process is running").id()
    }

    /// Returns everything the server has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer lock").clone()
    }

    async fn wait_until_listening(&mut self) {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if self.stderr().contains(LISTENING_MESSAGE) {
                break;
            }
            let child = self.child.as_mut().expect("the server process is running");
            if let Some(status) = child.try_wait().expect("poll the server process") {
                panic!("notes-server exited with {status} before it listened; stderr:\n{}", self.stderr());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "notes-server did not log {LISTENING_MESSAGE:?} within {START_TIMEOUT:?}; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.api.wait_until_healthy().await;
    }

    /// Sends SIGTERM and returns the exit status once the process is gone.
    pub async fn terminate(mut self) -> ExitStatus {
        let pid = self.pid().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {pid} failed with {status}");
        self.wait_for_exit(STOP_TIMEOUT).await
    }

    /// Kills the process with SIGKILL, as a crash or power cut would end it,
    /// and waits until it is gone.
    pub async fn kill(mut self) {
        let child = self.child.as_mut().expect("the server process is running");
        child.kill().expect("send SIGKILL to the server");
        self.wait_for_exit(STOP_TIMEOUT).await;
    }

    /// Waits until the process exits on its own and returns its status.
    pub async fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let child = self.child.as_mut().expect("the server process is running");
            if let Some(status) = child.try_wait().expect("poll the server process") {
                self.child = None;
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "notes-server did not exit within {within:?}; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Copies the child's stderr into a buffer on a thread of its own, so the
/// pipe never fills up and blocks the server's logging.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let buffer = Arc::new(Mutex::new(String::new()));
    let pipe = child.stderr.take().expect("stderr is piped");
    let sink = buffer.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut text = sink.lock().expect("stderr buffer lock");
            text.push_str(&line);
            text.push('\n');
        }
    });
    buffer
}

/// Runs a command with piped output, killing it after `within`.
fn output_within(mut command: Command, within: Duration) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn the notes-server binary");
    let stdout = read_to_end_in_background(child.stdout.take().expect("stdout is piped"));
    let stderr = read_to_end_in_background(child.stderr.take().expect("stderr is piped"));

    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the notes-server process") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!("notes-server did not exit within {within:?}; stderr:\n{}", String::from_utf8_lossy(&stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("the stdout reader did not panic"),
        stderr: stderr.join().expect("the stderr reader did not panic"),
    }
}

fn read_to_end_in_background(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn fresh_dir() -> TempDir {
    tempfile::tempdir().expect("create a temporary data directory")
}

/// Returns a port that was free a moment ago. Another process may take it
/// before the server binds it. The server then exits with "failed to listen",
/// so the test fails with that message instead of talking to another program.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("read the ephemeral port").port()
}
