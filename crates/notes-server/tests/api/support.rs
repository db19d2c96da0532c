//! Checks shared by the error, limit and security tests: error bodies, forged
//! tokens, raw HTTP exchanges and "nothing changed" comparisons.

// Each test module uses a different part of these helpers.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TEST_SECRET, TestApp, TestUser, spawn_config, test_config};

/// A well-formed UUID that names no user or note: the store generates random
/// ids, so a fixed one never matches.
pub const UNKNOWN_UUID: &str = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f";

/// Reads an error response, asserts its status, `error.code` and
/// `error.field` (absent when `field` is `None`), and returns the body.
pub async fn expect_error(response: reqwest::Response, status: StatusCode, code: &str, field: Option<&str>) -> Value {
    let url = response.url().clone();
    assert_eq!(response.status(), status, "status of {url}");
    let content_type = response.headers().get("content-type").map(|value| value.to_str().unwrap_or("").to_owned());
    let text = response.text().await.expect("read the error body");
    assert_eq!(content_type.as_deref(), Some("application/json"), "error body of {url} is JSON: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("error body of {url} is JSON ({error}): {text}"));
    assert_error_body(&body, code, field);
    body
}

/// Asserts the shape `{"error": {"code", "message", "field"?}}` of a parsed
/// error body.
pub fn assert_error_body(body: &Value, code: &str, field: Option<&str>) {
    assert_eq!(body["error"]["code"], code, "error code in {body}");
    let message = body["error"]["message"].as_str().unwrap_or_else(|| panic!("error message is a string in {body}"));
    assert!(!message.is_empty(), "error message is not empty in {body}");
    match field {
        Some(field) => assert_eq!(body["error"]["field"], field, "error field in {body}"),
        None => assert!(body["error"].get("field").is_none(), "no error field expected in {body}"),
    }
}

/// Returns the current time in seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

/// Signs arbitrary claims with HS256 and the given secret.
pub fn sign_with(secret: &[u8], claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret).expect("HS256 key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("sign the test token")
}

/// Signs arbitrary claims with the test server's secret.
pub fn sign(claims: &Value) -> String {
    sign_with(TEST_SECRET.as_bytes(), claims)
}

/// Returns claims the server accepts for `user_id`: issued now, valid for an hour.
pub fn valid_claims(user_id: &str) -> Value {
    let now = unix_now();
    json!({"sub": user_id, "iat": now, "exp": now + 3600})
}

/// Returns an unsigned token (`"alg": "none"`) whose claims would otherwise
/// be valid for `user_id`.
pub fn unsigned_token(user_id: &str) -> String {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = base64url(valid_claims(user_id).to_string().as_bytes());
    format!("{header}.{claims}.")
}

/// Encodes bytes as unpadded base64url, the JWT segment encoding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut output = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let block =
            chunk.iter().enumerate().fold(0u32, |block, (index, byte)| block | (u32::from(*byte) << (16 - 8 * index)));
        let symbols = chunk.len() + 1;
        for index in 0..symbols {
            let sextet = (block >> (18 - 6 * index)) & 0x3f;
            output.push(char::from(ALPHABET[sextet as usize]));
        }
    }
    output
}

/// Returns the status of a login attempt, to check which accounts exist.
pub async fn login_status(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.client
        .post(app.url("/api/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("send login")
        .status()
}

/// Asserts that the server is healthy and that `observer` still lists exactly
/// the notes in `before`.
pub async fn assert_unchanged(app: &TestApp, observer: &TestUser, before: &[Value], context: &str) {
    app.assert_healthy().await;
    let after = app.list_notes(observer).await;
    assert_eq!(after, before, "notes changed after {context}");
}

/// Starts a test server on a SQLite database in its data directory.
pub async fn spawn_sqlite_app() -> TestApp {
    let data_dir = tempfile::tempdir().expect("create a temporary directory");
    let mut config = test_config(&data_dir, &[]);
    config.database_url = Some(format!("sqlite://{}", data_dir.path().join("notes.db").display()));
    spawn_config(config, data_dir).await
}

/// Returns a fresh data directory, for tests that start their own process.
pub fn temporary_dir() -> TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// A response read off a raw TCP connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names in lowercase, with their values.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Returns the body as JSON, failing the test if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!("raw response body is JSON ({error}): {}", String::from_utf8_lossy(&self.body))
        })
    }
}

/// Opens a plain TCP connection to the test server.
pub async fn raw_connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port)).await.expect("connect to the test server")
}

/// Reads one HTTP/1.1 response with a `Content-Length` body, or a body that
/// ends when the server closes the connection.
pub async fn read_raw_response<R: AsyncRead + Unpin>(stream: &mut R) -> RawResponse {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
        let read = stream.read(&mut chunk).await.expect("read the response head");
        assert!(read > 0, "the server closed the connection before a response: {}", String::from_utf8_lossy(&buffer));
        buffer.extend_from_slice(&chunk[..read]);
    };

    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("status in {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();

    let mut body = buffer[header_end..].to_vec();
    let length =
        headers.iter().find(|(name, _)| name == "content-length").and_then(|(_, value)| value.parse::<usize>().ok());
    match length {
        Some(length) => {
            while body.len() < length {
                let read = stream.read(&mut chunk).await.expect("read the response body");
                assert!(read > 0, "the server closed the connection inside the body");
                body.extend_from_slice(&chunk[..read]);
            }
            body.truncate(length);
        }
        None => loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(read) => body.extend_from_slice(&chunk[..read]),
            }
        },
    }
    RawResponse { status, headers, body }
}

/// Writes `bytes` in pieces, ignoring a connection that the server closed
/// early: the response is what the test checks.
pub async fn write_ignoring_close(stream: &mut tokio::net::tcp::OwnedWriteHalf, bytes: &[u8]) {
    for piece in bytes.chunks(64 * 1024) {
        if stream.write_all(piece).await.is_err() {
            return;
        }
    }
}

/// Maximum time a request in these tests may take before it counts as hung.
pub const HANG_LIMIT: Duration = Duration::from_secs(5);
