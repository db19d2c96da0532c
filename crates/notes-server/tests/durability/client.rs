//! HTTP and WebSocket clients for one server, and a model of the notes that
//! a WebSocket client keeps from the events it receives.

// Each test module uses a different part of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one HTTP request may take before the client gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a test waits for one WebSocket message.
pub const RECEIVE_TIMEOUT: Duration = Duration::from_secs(15);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A registered user with its password and a token.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// A client of one server. Each server process gets a client of its own, so
/// no pooled connection outlives the process it was opened to.
#[derive(Clone)]
pub struct Api {
    pub port: u16,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(port: u16) -> Self {
        let client = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().expect("build the HTTP client");
        Self { port, client }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Polls `/healthz` until it returns 200.
    pub async fn wait_until_healthy(&self) {
        let mut last_error = String::new();
        for _ in 0..100 {
            match self.client.get(self.url("/healthz")).send().await {
                Ok(response) if response.status() == StatusCode::OK => return,
                Ok(response) => last_error = format!("status {}", response.status()),
                Err(error) => last_error = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("GET /healthz did not return 200 after 100 tries; last result: {last_error}");
    }

    /// Registers `name` with the password `{name}-password`.
    pub async fn register(&self, name: &str) -> User {
        let email = format!("{name}@example.com");
        let password = format!("{name}-password");
        let response = self
            .client
            .post(self.url("/api/register"))
            .json(&json!({"username": name, "email": email, "password": password}))
            .send()
            .await
            .expect("send POST /api/register");
        assert_eq!(response.status(), StatusCode::CREATED, "register {name}");
        let body: Value = response.json().await.expect("register returns JSON");
        User {
            id: body["user"]["id"].as_str().expect("register returns the user id").to_owned(),
            email,
            password,
            token: body["token"].as_str().expect("register returns a token").to_owned(),
        }
    }

    /// Logs in with an email and password and returns the response.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("send POST /api/login")
    }

    /// Logs `user` in, checks for 200 and returns the body.
    pub async fn login_ok(&self, user: &User) -> Value {
        let response = self.login(&user.email, &user.password).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {}", user.email);
        response.json().await.expect("login returns JSON")
    }

    /// Returns the response of `GET /api/me`.
    pub async fn me(&self, token: &str) -> reqwest::Response {
        self.client.get(self.url("/api/me")).bearer_auth(token).send().await.expect("send GET /api/me")
    }

    /// Sends `POST /api/notes`.
    pub async fn try_create_note(&self, token: &str, title: &str, content: &str) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(self.url("/api/notes"))
            .bearer_auth(token)
            .json(&json!({"title": title, "content": content}))
            .send()
            .await
    }

    /// Creates a note, checks for 201 and returns the note.
    pub async fn create_note(&self, token: &str, title: &str, content: &str) -> Value {
        let response = self.try_create_note(token, title, content).await.expect("send POST /api/notes");
        assert_eq!(response.status(), StatusCode::CREATED, "create note {title:?}");
        response.json().await.expect("create returns JSON")
    }

    /// Sends `PUT /api/notes/{id}`, with `version` only when given.
    pub async fn update_note(
        &self,
        token: &str,
        id: &str,
        title: &str,
        content: &str,
        version: Option<u64>,
    ) -> reqwest::Response {
        let mut body = json!({"title": title, "content": content});
        if let Some(version) = version {
            body["version"] = json!(version);
        }
        self.client
            .put(self.url(&format!("/api/notes/{id}")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send PUT /api/notes/{id}")
    }

    /// Sends `DELETE /api/notes/{id}`.
    pub async fn delete_note(&self, token: &str, id: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/api/notes/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("send DELETE /api/notes/{id}")
    }

    /// Returns `GET /api/notes`, checking for 200.
    pub async fn list_notes(&self, token: &str) -> Vec<Value> {
        let response =
            self.client.get(self.url("/api/notes")).bearer_auth(token).send().await.expect("send GET /api/notes");
        assert_eq!(response.status(), StatusCode::OK, "GET /api/notes");
        response.json().await.expect("list returns a JSON array")
    }

    /// Opens a WebSocket with a Bearer token and reads its `initial_notes`
    /// message.
    pub async fn connect(&self, token: &str) -> (Socket, Value) {
        let mut request =
            format!("ws://127.0.0.1:{}/ws", self.port).into_client_request().expect("valid WebSocket URL");
        let header = HeaderValue::from_str(&format!("Bearer {token}")).expect("token is a valid header value");
        request.headers_mut().insert("authorization", header);
        let (mut socket, response) = tokio_tungstenite::connect_async(request).await.expect("open the WebSocket");
        assert_eq!(response.status(), 101, "WebSocket upgrade");
        let snapshot = next_json(&mut socket).await;
        assert_eq!(snapshot["type"], "initial_notes", "first WebSocket message: {snapshot}");
        (socket, snapshot)
    }
}

/// Reads the next text message as JSON, skipping pings and pongs.
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(RECEIVE_TIMEOUT, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no WebSocket message within {RECEIVE_TIMEOUT:?}"))
            .expect("the WebSocket is open")
            .expect("the WebSocket message is valid");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("the server sends JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Returns the id of a note as an owned string.
pub fn note_id(note: &Value) -> String {
    note["id"].as_str().unwrap_or_else(|| panic!("note has an id: {note}")).to_owned()
}

/// Returns the version of a note.
pub fn note_version(note: &Value) -> u64 {
    note["version"].as_u64().unwrap_or_else(|| panic!("note has a version: {note}"))
}

/// Returns notes keyed by id.
pub fn by_id(notes: &[Value]) -> BTreeMap<String, Value> {
    notes.iter().map(|note| (note_id(note), note.clone())).collect()
}

/// The notes that a WebSocket client holds: its snapshot with every later
/// event applied in sequence order.
pub struct ClientView {
    pub notes: BTreeMap<String, Value>,
    pub seq: u64,
}

impl ClientView {
    /// Starts from an `initial_notes` message.
    pub fn from_snapshot(snapshot: &Value) -> Self {
        let notes = snapshot["data"].as_array().expect("initial_notes has a data array");
        let seq = snapshot["seq"].as_u64().expect("initial_notes has a seq");
        Self { notes: by_id(notes), seq }
    }

    /// Applies one event, checking that its seq follows the last one without
    /// a gap.
    pub fn apply(&mut self, event: &Value) {
        let seq = event["seq"].as_u64().unwrap_or_else(|| panic!("event has a seq: {event}"));
        assert_eq!(seq, self.seq + 1, "events arrive in order without gaps: {event}");
        self.seq = seq;
        match event["type"].as_str() {
            Some("note_created" | "note_updated") => {
                self.notes.insert(note_id(&event["data"]), event["data"].clone());
            }
            Some("note_deleted") => {
                self.notes.remove(&note_id(&event["data"]));
            }
            other => panic!("unexpected event type {other:?}: {event}"),
        }
    }
}
