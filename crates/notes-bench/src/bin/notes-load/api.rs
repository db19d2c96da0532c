//! The HTTP half of the notes protocol, as a client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bytes::Bytes;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

/// Password of every user that the benchmarks register.
pub const PASSWORD: &str = "bench-password-1";

/// Body of every note that the benchmarks create: 120 characters, a short
/// note rather than an empty one.
pub const NOTE_CONTENT: &str =
    "Benchmark note body. It is long enough to look like a short real note, with a second sentence to make 120 chars.";

/// Time limit of one HTTP request, so a stalled server cannot stall a run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct Session {
    token: String,
}

/// A client of one server. Cloning shares the connection pool, so each task
/// keeps its own keep-alive connection.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    /// Returns a client for the server at `base`, such as `http://127.0.0.1:8080`.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(256)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("failed to build the HTTP client")?;
        Ok(Self { client, base: base.trim_end_matches('/').to_owned() })
    }

    /// Returns the WebSocket URL of the server.
    pub fn websocket_url(&self) -> String {
        let rest = self.base.strip_prefix("http://").unwrap_or(&self.base);
        format!("ws://{rest}/ws")
    }

    /// Registers `username` with `<username>@example.com` and returns its token.
    pub async fn register(&self, username: &str) -> anyhow::Result<String> {
        let body = json!({ "username": username, "email": email_of(username), "password": PASSWORD });
        let response = self.client.post(format!("{}/api/register", self.base)).json(&body).send().await?;
        session_token(response, StatusCode::CREATED, "register").await
    }

    /// Logs in as a user made by [`Api::register`] and returns a new token.
    pub async fn login(&self, username: &str) -> anyhow::Result<String> {
        let body = json!({ "email": email_of(username), "password": PASSWORD });
        let response = self.client.post(format!("{}/api/login", self.base)).json(&body).send().await?;
        session_token(response, StatusCode::OK, "login").await
    }

    /// Creates a note titled `title` with the body [`NOTE_CONTENT`].
    pub async fn create_note(&self, token: &str, title: &str) -> anyhow::Result<()> {
        self.create_note_with_content(token, title, NOTE_CONTENT).await
    }

    /// Creates a note titled `title` with the body `content`.
    pub async fn create_note_with_content(&self, token: &str, title: &str, content: &str) -> anyhow::Result<()> {
        let body = json!({ "title": title, "content": content });
        let response =
            self.client.post(format!("{}/api/notes", self.base)).bearer_auth(token).json(&body).send().await?;
        let status = response.status();
        // The body is read in full so the connection can be reused.
        let text = response.bytes().await?;
        if status != StatusCode::CREATED {
            bail!("POST /api/notes returned {status}: {}", String::from_utf8_lossy(&text));
        }
        Ok(())
    }

    /// Creates a note titled `title` with the body [`NOTE_CONTENT`] and
    /// returns its id.
    pub async fn create_note_for_id(&self, token: &str, title: &str) -> anyhow::Result<String> {
        let body = json!({ "title": title, "content": NOTE_CONTENT });
        let response =
            self.client.post(format!("{}/api/notes", self.base)).bearer_auth(token).json(&body).send().await?;
        let status = response.status();
        let text = response.bytes().await?;
        if status != StatusCode::CREATED {
            bail!("POST /api/notes returned {status}: {}", String::from_utf8_lossy(&text));
        }
        let note: serde_json::Value = serde_json::from_slice(&text).context("POST /api/notes returned no JSON")?;
        note["id"].as_str().map(str::to_owned).context("POST /api/notes returned a note without an id")
    }

    /// Deletes the note `id`.
    pub async fn delete_note(&self, token: &str, id: &str) -> anyhow::Result<()> {
        let response = self.client.delete(format!("{}/api/notes/{id}", self.base)).bearer_auth(token).send().await?;
        let status = response.status();
        let text = response.bytes().await?;
        if !status.is_success() {
            bail!("DELETE /api/notes/{id} returned {status}: {}", String::from_utf8_lossy(&text));
        }
        Ok(())
    }

    /// Returns the raw body of `GET /api/notes`.
    pub async fn list_notes(&self, token: &str) -> anyhow::Result<Bytes> {
        let response = self.client.get(format!("{}/api/notes", self.base)).bearer_auth(token).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status != StatusCode::OK {
            bail!("GET /api/notes returned {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body)
    }

    /// Returns the number of notes that `GET /api/notes` lists.
    pub async fn count_notes(&self, token: &str) -> anyhow::Result<usize> {
        let body = self.list_notes(token).await?;
        let notes: Vec<serde::de::IgnoredAny> =
            serde_json::from_slice(&body).context("GET /api/notes is not a JSON array")?;
        Ok(notes.len())
    }

    /// Returns the `notes_ws_sessions` gauge from `GET /metrics`, or None when
    /// the server does not export it.
    pub async fn websocket_sessions(&self) -> Option<u64> {
        self.metric("notes_ws_sessions").await.map(|value| value as u64)
    }

    /// Returns the value of the unlabelled metric `name` from `GET /metrics`,
    /// or None when the server does not export it.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let response = self.client.get(format!("{}/metrics", self.base)).send().await.ok()?;
        let text = response.text().await.ok()?;
        let line = text.lines().find(|line| line.split_whitespace().next() == Some(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

fn email_of(username: &str) -> String {
    format!("{username}@example.com")
}

async fn session_token(response: reqwest::Response, expected: StatusCode, action: &str) -> anyhow::Result<String> {
    let status = response.status();
    let body = response.bytes().await?;
    if status != expected {
        bail!("{action} returned {status}: {}", String::from_utf8_lossy(&body));
    }
    let session: Session = serde_json::from_slice(&body).with_context(|| format!("{action} returned no token"))?;
    Ok(session.token)
}

/// Returns a name that no earlier run used, for user names and note titles.
pub fn run_id() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_nanos()).unwrap_or(0);
    format!("{:x}{:x}", nanos & 0xffff_ffff_ffff, std::process::id())
}
