//! The real binary's debug log: it records sessions but never tokens,
//! passwords or the signing secret, and SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::support::temporary_dir;

/// How long the binary may take to start listening or to exit.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(20);

/// A `notes-server` child process whose stderr is collected line by line.
struct ServerProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    port: u16,
}

impl ServerProcess {
    /// Starts the binary on a free port with debug logging and waits for the
    /// line that names the port.
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_notes-server"))
            .env_clear()
            .env("NOTES_ADDR", "127.0.0.1:0")
            .env("NOTES_DATA_DIR", data_dir)
            .env("NOTES_DATABASE_URL", "memory:")
            .env("NOTES_BCRYPT_COST", "4")
            .env("NOTES_WEB_DIR", data_dir.join("web"))
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the notes-server binary");

        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (port_sender, port_receiver) = mpsc::channel();
        let collected = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = listening_port(&line) {
                    let _ = port_sender.send(port);
                }
                let mut log = collected.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });

        let port = match port_receiver.recv_timeout(PROCESS_TIMEOUT) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not report its port; log:\n{}", log.lock().unwrap());
            }
        };
        Self { child, log, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM to the child, by its process id.
    fn terminate(&self) {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits for the child to exit and returns its status, killing it if it
    /// does not exit within [`PROCESS_TIMEOUT`].
    async fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit after SIGTERM; log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Only a test that failed midway leaves the child running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Finds the port in the startup line `notes server listening on http://ADDR`.
fn listening_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("listening on http://")?;
    let address = rest.split_whitespace().next()?;
    address.rsplit_once(':')?.1.trim_end_matches('"').parse().ok()
}

#[actix_web::test]
async fn debug_log_has_no_secrets_and_sigterm_exits_cleanly() {
    let data_dir = temporary_dir();
    let mut server = ServerProcess::start(data_dir.path());
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();

    let password = "registration-password-7d1f";
    let response = client
        .post(server.url("/api/register"))
        .json(&json!({"username": "alice", "email": "alice@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("eyJ"), "tokens are JWTs, so the log check for eyJ finds them");

    // A browser-style connection, with the token in the query string.
    let mut request = format!("ws://127.0.0.1:{}/ws?token={token}", server.port).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(&format!("http://127.0.0.1:{}", server.port)).unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket connects");
    let first = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("snapshot in time");
    assert!(matches!(first, Some(Ok(Message::Text(_)))), "the snapshot arrives: {first:?}");

    let wrong_password = "wrong-password-c94e";
    let response = client
        .post(server.url("/api/login"))
        .json(&json!({"email": "alice@example.com", "password": wrong_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = client.get(server.url("/api/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    server.terminate();
    // The open session is closed with 1001 (going away) during shutdown.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(message) = socket.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame.map(|frame| u16::from(frame.code));
            }
        }
        None
    })
    .await
    .expect("the session is closed in time");
    assert_eq!(closed, Some(1001), "the session is closed as going away");
    drop(socket);

    let status = server.wait_for_exit().await;
    assert!(status.success(), "the server exits with 0 after SIGTERM, got {status}");

    let log = server.log();
    assert!(log.contains("websocket connected"), "the session start is logged:\n{log}");
    assert!(log.contains("login failed"), "the failed login is logged:\n{log}");
    assert!(!log.contains("eyJ"), "no token in the log:\n{log}");
    assert!(!log.contains(&token), "no token in the log");
    assert!(!log.contains(password), "no registration password in the log:\n{log}");
    assert!(!log.contains(wrong_password), "no login password in the log:\n{log}");
    let secret = std::fs::read_to_string(data_dir.path().join("jwt-secret"))
        .expect("the generated secret is kept in the data directory");
    assert!(!log.contains(secret.trim()), "no signing secret in the log");
}
