//! `notes-floor`: the thinnest broadcast server that speaks enough of the
//! notes protocol for the fanout and connection benchmarks.
//!
//! It has no storage, no authentication and no per-session actors. A created
//! note is serialized once into a `note_created` event, and the same bytes go
//! to every WebSocket through one tokio broadcast channel. What our server
//! costs above this floor is the price of its features and design.
//!
//! Endpoints: `GET /ws` (any token or none), `POST /api/register` and
//! `POST /api/login` (a fixed token and user), `POST /api/notes`,
//! `GET /api/notes` (always empty), `GET /healthz` and `GET /metrics`
//! (the `notes_ws_sessions` gauge). `NOTES_ADDR` sets the listen address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Events queued per connection before a slow connection is closed with
/// 4008, as our server does when a session's outbox is full.
const BROADCAST_CAPACITY: usize = 256;

/// The user that every login and registration returns.
const USER_ID: &str = "00000000-0000-4000-8000-000000000000";
const AUTH_RESPONSE: &str = r#"{"token":"floor","user":{"id":"00000000-0000-4000-8000-000000000000","username":"floor","email":"floor@example.com","created":"2025-01-01T00:00:00Z"}}"#;

struct Floor {
    events: broadcast::Sender<Utf8Bytes>,
    /// The last sequence number handed out. The lock also keeps events in
    /// sequence order on the channel when notes are created concurrently.
    seq: Mutex<u64>,
    sessions: AtomicU64,
}

#[derive(Deserialize)]
struct NewNote {
    title: String,
    content: String,
}

#[derive(Serialize)]
struct Note<'a> {
    id: String,
    user_id: &'static str,
    author: &'static str,
    title: &'a str,
    content: &'a str,
    created_at: &'a str,
    updated_at: &'a str,
    version: u64,
}

type Body = Full<Bytes>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let limit = notes_bench::system::raise_fd_limit()?;
    let addr: SocketAddr = std::env::var("NOTES_ADDR").unwrap_or_else(|_| "127.0.0.1:8090".into()).parse()?;
    let listener = TcpListener::bind(addr).await?;
    let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
    let floor = Arc::new(Floor { events, seq: Mutex::new(0), sessions: AtomicU64::new(0) });
    eprintln!("notes-floor listening on http://{} (file descriptor limit {limit})", listener.local_addr()?);

    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Running out of file descriptors must not end the server.
                eprintln!("notes-floor: accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let floor = floor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(floor.clone(), request));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades().await;
        });
    }
}

async fn handle(floor: Arc<Floor>, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/ws") => upgrade(floor, request),
        (&Method::POST, "/api/notes") => create_note(&floor, request).await,
        (&Method::POST, "/api/register") => json(StatusCode::CREATED, AUTH_RESPONSE.into()),
        (&Method::POST, "/api/login") => json(StatusCode::OK, AUTH_RESPONSE.into()),
        (&Method::GET, "/api/notes") => json(StatusCode::OK, "[]".into()),
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok".into()),
        (&Method::GET, "/metrics") => {
            let sessions = floor.sessions.load(Ordering::Relaxed);
            text(StatusCode::OK, format!("# TYPE notes_ws_sessions gauge\nnotes_ws_sessions {sessions}\n"))
        }
        _ => text(StatusCode::NOT_FOUND, "not found".into()),
    };
    Ok(response)
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

/// Builds the note once, sends its pre-serialized event to every session and
/// returns the note.
async fn create_note(floor: &Floor, request: Request<Incoming>) -> Response<Body> {
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => return text(StatusCode::BAD_REQUEST, format!("failed to read the body: {error}")),
    };
    let input: NewNote = match serde_json::from_slice(&body) {
        Ok(input) => input,
        Err(error) => return text(StatusCode::BAD_REQUEST, format!("invalid note JSON: {error}")),
    };

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut seq = floor.seq.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *seq += 1;
    let note = Note {
        id: format!("00000000-0000-4000-8000-{:012x}", *seq),
        user_id: USER_ID,
        author: "floor",
        title: &input.title,
        content: &input.content,
        created_at: &now,
        updated_at: &now,
        version: 1,
    };
    let note_json = serde_json::to_string(&note).expect("a note always serializes");
    let event = format!(r#"{{"type":"note_created","data":{note_json},"seq":{}}}"#, *seq);
    // Sending fails only when no session listens, which is not an error.
    let _ = floor.events.send(Utf8Bytes::from(event));
    drop(seq);

    json(StatusCode::CREATED, note_json)
}

/// Answers a WebSocket upgrade with 101 and runs the session once hyper
/// hands over the connection.
fn upgrade(floor: Arc<Floor>, mut request: Request<Incoming>) -> Response<Body> {
    let Some(key) = request.headers().get(SEC_WEBSOCKET_KEY) else {
        return text(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key".into());
    };
    let accept = derive_accept_key(key.as_bytes());
    // Subscribing before the 101 response means no event created after the
    // initial message can be missed.
    let events = floor.events.subscribe();
    let initial_seq = *floor.seq.lock().unwrap_or_else(std::sync::PoisonError::into_inner);

    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(notes_bench::ws_config()),
                )
                .await;
                floor.sessions.fetch_add(1, Ordering::Relaxed);
                run_session(ws, events, initial_seq).await;
                floor.sessions.fetch_sub(1, Ordering::Relaxed);
            }
            Err(error) => eprintln!("notes-floor: websocket upgrade failed: {error}"),
        }
    });

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_str(&accept).expect("the accept key is base64"));
    response
}

/// Sends the empty initial message, then every broadcast event, until the
/// client leaves or falls more than [`BROADCAST_CAPACITY`] events behind.
async fn run_session<S>(mut ws: WebSocketStream<S>, mut events: broadcast::Receiver<Utf8Bytes>, initial_seq: u64)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let initial = format!(r#"{{"type":"initial_notes","data":[],"seq":{initial_seq}}}"#);
    if ws.send(Message::text(initial)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(bytes) => {
                    if ws.send(Message::Text(bytes)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let frame = CloseFrame { code: CloseCode::from(4008), reason: "client too slow".into() };
                    let _ = ws.close(Some(frame)).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = ws.next() => match incoming {
                // tungstenite queues the reply to a ping itself and sends it
                // with the next read or write.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
