//! Starting a server per test, and typed client helpers.

// Each test module uses a different part of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use notes_server::{Application, Cli, Config, ShutdownHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The signing secret of every test server, so tests can forge tokens with
/// chosen claims.
pub const TEST_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

/// How long a test waits for one WebSocket message before it fails.
pub const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub shutdown: ShutdownHandle,
    pub data_dir: TempDir,
}

/// A registered user and its token.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// Returns a configuration for a test server: port 0, a fresh data
/// directory, the memory store and the cheapest bcrypt cost.
pub fn test_config(data_dir: &TempDir, extra: &[&str]) -> Config {
    let data_dir = data_dir.path().to_string_lossy().into_owned();
    let mut args = vec![
        "notes-server",
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir,
        "--database-url",
        "memory:",
        "--bcrypt-cost",
        "4",
        "--jwt-secret",
        TEST_SECRET,
        "--workers",
        "2",
        // Tests register users and write notes faster than people do; the
        // limits are tested on their own with these flags set.
        "--auth-rate-per-minute",
        "0",
        "--write-rate-per-second",
        "0",
    ];
    args.extend_from_slice(extra);
    Cli::try_parse_from(args).expect("test arguments are valid").config
}

/// Starts a server with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with extra command-line arguments.
pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let data_dir = tempfile::tempdir().expect("create a temporary directory");
    let config = test_config(&data_dir, extra);
    spawn_config(config, data_dir).await
}

/// Starts a server with a prepared configuration.
pub async fn spawn_config(config: Config, data_dir: TempDir) -> TestApp {
    let application = Application::build(config).await.expect("build the application");
    let port = application.port();
    let shutdown = application.shutdown_handle();
    actix_web::rt::spawn(application.run_until_stopped());

    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("build the HTTP client"),
        shutdown,
        data_dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    /// Registers a user and returns it with its token.
    pub async fn register(&self, name: &str) -> TestUser {
        let email = format!("{name}@example.com");
        let password = format!("{name}-password");
        let response = self
            .client
            .post(self.url("/api/register"))
            .json(&json!({"username": name, "email": email, "password": password}))
            .send()
            .await
            .expect("send register");
        assert_eq!(response.status(), StatusCode::CREATED, "register {name}");
        let body: Value = response.json().await.expect("register body");
        TestUser {
            id: body["user"]["id"].as_str().expect("user id").to_owned(),
            username: name.to_owned(),
            email,
            password,
            token: body["token"].as_str().expect("token").to_owned(),
        }
    }

    /// Creates a note and returns the response body.
    pub async fn create_note(&self, user: &TestUser, title: &str, content: &str) -> Value {
        let response = self
            .client
            .post(self.url("/api/notes"))
            .bearer_auth(&user.token)
            .json(&json!({"title": title, "content": content}))
            .send()
            .await
            .expect("send create");
        assert_eq!(response.status(), StatusCode::CREATED, "create note {title}");
        response.json().await.expect("note body")
    }

    /// Returns `GET /api/notes` as JSON.
    pub async fn list_notes(&self, user: &TestUser) -> Vec<Value> {
        let response =
            self.client.get(self.url("/api/notes")).bearer_auth(&user.token).send().await.expect("send list");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("list body")
    }

    /// Checks that the server still serves an unrelated user.
    pub async fn assert_healthy(&self) {
        let response = self.client.get(self.url("/healthz")).send().await.expect("server is reachable");
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Opens a WebSocket with a Bearer token and the server's own origin.
    pub async fn connect(&self, user: &TestUser) -> Socket {
        let mut request = self.ws_url().into_client_request().expect("valid ws url");
        let headers = request.headers_mut();
        headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {}", user.token)).expect("header"));
        headers.insert("origin", HeaderValue::from_str(&self.address).expect("header"));
        let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("websocket connects");
        assert_eq!(response.status(), 101);
        socket
    }

    /// Opens a WebSocket and reads its `initial_notes` message.
    pub async fn connect_with_snapshot(&self, user: &TestUser) -> (Socket, Value) {
        let mut socket = self.connect(user).await;
        let snapshot = next_json(&mut socket).await;
        assert_eq!(snapshot["type"], "initial_notes");
        (socket, snapshot)
    }
}

/// Reads the next text message as JSON, skipping pings and pongs.
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(RECEIVE_TIMEOUT, socket.next())
            .await
            .expect("a websocket message arrives in time")
            .expect("the websocket is open")
            .expect("the websocket message is valid");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("server sends JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Reads until the server closes the connection and returns the close frame.
pub async fn expect_close(socket: &mut Socket, within: Duration) -> Option<CloseFrame> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let next =
            tokio::time::timeout_at(deadline, socket.next()).await.expect("the server closes the websocket in time");
        match next {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// Sends a close frame and drains the socket.
pub async fn close(mut socket: Socket) {
    let _ = socket.close(None).await;
    while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(2), socket.next()).await {}
}

/// Returns the close code of a frame, for assertions.
pub fn close_code(frame: &Option<CloseFrame>) -> Option<u16> {
    frame.as_ref().map(|frame| u16::from(frame.code))
}

/// Reads `count` events and returns them.
pub async fn next_events(socket: &mut Socket, count: usize) -> Vec<Value> {
    let mut events = Vec::with_capacity(count);
    for _ in 0..count {
        events.push(next_json(socket).await);
    }
    events
}

/// Asserts that nothing arrives on the socket for a short while.
pub async fn assert_silent(socket: &mut Socket, for_how_long: Duration) {
    let deadline = tokio::time::Instant::now() + for_how_long;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("expected no message, got {other:?}"),
        }
    }
}
