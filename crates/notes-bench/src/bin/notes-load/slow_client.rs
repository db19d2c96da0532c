//! `slowclient`: a burst of large notes while one client never reads and a
//! few clients reset their connection mid-burst. The normal clients must get
//! every event in order, the stalled client must be closed, and the server's
//! memory must come back down.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use notes_bench::system::process_rss_kib;
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::api::{Api, run_id};

/// Maximum time for one handshake plus the initial message.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Maximum time for the normal clients to receive the last note after the
/// burst ends.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Receive buffer of the stalled client's socket, in bytes, so the kernel
/// buffers little of the burst and the server's outbox fills.
const STALLED_RECEIVE_BUFFER: u32 = 4096;

/// Options of one slow-client run.
pub struct SlowClientOptions {
    pub normal_clients: usize,
    pub reset_clients: usize,
    pub notes: usize,
    pub writers: usize,
    pub content_bytes: usize,
    /// Seconds to wait after the burst before the last memory reading.
    pub settle_seconds: f64,
}

/// Per-client delivery counts of the normal clients.
#[derive(Default)]
struct Tally {
    received: AtomicU64,
    out_of_order: AtomicU64,
    duplicates: AtomicU64,
    /// Close code or error that ended a normal client's connection before
    /// the last note arrived, one entry per such client.
    early_ends: Mutex<Vec<String>>,
}

/// Opens a WebSocket on a socket with an optional receive buffer size and
/// reads the `initial_notes` snapshot.
async fn connect(
    api: &Api,
    authorization: &HeaderValue,
    receive_buffer: Option<u32>,
) -> anyhow::Result<WebSocketStream<TcpStream>> {
    let url = api.websocket_url();
    let mut request = url.as_str().into_client_request()?;
    request.headers_mut().insert("authorization", authorization.clone());
    let address = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .with_context(|| format!("invalid WebSocket URL {url}"))?;
    let address: std::net::SocketAddr =
        address.parse().with_context(|| format!("WebSocket address {address} is not an IP address and port"))?;

    tokio::time::timeout(CONNECT_TIMEOUT, async {
        let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let stream = socket.connect(address).await?;
        stream.set_nodelay(true)?;
        let (mut ws, _) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(notes_bench::ws_config())).await?;
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.starts_with(r#"{"type":"initial_notes""#) => Ok(ws),
            other => bail!("expected initial_notes, got {other:?}"),
        }
    })
    .await
    .with_context(|| format!("no initial_notes within {CONNECT_TIMEOUT:?}"))?
}

/// Returns the note index in a `note_created` event titled `<marker><index>`.
fn note_index(marker: &str, text: &str) -> Option<usize> {
    if !text.contains(r#""type":"note_created""#) {
        return None;
    }
    let start = text.find(marker)? + marker.len();
    let digits = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    text[start..start + digits].parse().ok()
}

/// Returns the top-level `seq` of an event. The server writes it after
/// `data`, and the benchmark's note bodies contain no `"seq":`, so the last
/// occurrence is the event's own.
fn event_seq(text: &str) -> Option<u64> {
    let start = text.rfind(r#""seq":"#)? + r#""seq":"#.len();
    let digits = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    text[start..start + digits].parse().ok()
}

/// Reads events until every note of the burst arrived or the connection
/// ends. The writers run concurrently, so the server's commit order, not
/// the title index, is the order to check: an event whose `seq` is not
/// above the previous one counts as out of order.
async fn read_in_order(mut ws: WebSocketStream<TcpStream>, marker: Arc<str>, notes: usize, tally: Arc<Tally>) {
    let mut previous_seq: Option<u64> = None;
    let mut seen = vec![false; notes];
    let mut seen_count = 0;
    let end = loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                break format!("close {}", frame.map_or("without code".to_owned(), |frame| frame.code.to_string()));
            }
            Some(Err(error)) => break format!("error: {error}"),
            None => break "end of stream".to_owned(),
            Some(Ok(_)) => continue,
        };
        let Some(note) = note_index(&marker, text.as_str()).filter(|&note| note < notes) else { continue };
        if seen[note] {
            tally.duplicates.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        seen[note] = true;
        seen_count += 1;
        tally.received.fetch_add(1, Ordering::Relaxed);
        let seq = event_seq(text.as_str());
        if previous_seq.is_some_and(|previous| seq.is_none_or(|seq| seq <= previous)) {
            tally.out_of_order.fetch_add(1, Ordering::Relaxed);
        }
        previous_seq = seq.or(previous_seq);
        if seen_count == notes {
            return;
        }
    };
    tally.early_ends.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(end);
}

/// Reads until `notes_seen` events arrived, then resets the connection:
/// SO_LINGER 0 makes the kernel send RST in place of FIN on close.
async fn reset_after(mut ws: WebSocketStream<TcpStream>, notes_seen: usize) -> anyhow::Result<()> {
    let mut seen = 0;
    while seen < notes_seen {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.contains(r#""type":"note_created""#) => seen += 1,
            Some(Ok(_)) => {}
            Some(Err(error)) => bail!("connection failed before the reset: {error}"),
            None => bail!("connection ended before the reset"),
        }
    }
    // tokio deprecates set_linger because a nonzero linger blocks the thread
    // on drop. A zero linger does not block: close discards the send buffer.
    #[allow(deprecated)]
    ws.get_ref().set_linger(Some(Duration::ZERO))?;
    drop(ws);
    Ok(())
}

/// Reads what the stalled client was sent and returns the close code it
/// ends with, or a description of how the connection ended otherwise.
async fn drain_stalled(mut ws: WebSocketStream<TcpStream>) -> String {
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        let mut messages = 0u64;
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Close(Some(frame))) => return format!("close {} after {messages} messages", frame.code),
                Ok(Message::Close(None)) => return format!("close without code after {messages} messages"),
                Ok(_) => messages += 1,
                Err(error) => return format!("error after {messages} messages: {error}"),
            }
        }
        format!("end of stream without close after {messages} messages")
    })
    .await;
    drained.unwrap_or_else(|_| "still open after 30 s of reading".to_owned())
}

/// Runs the scenario and returns its figures.
pub async fn slow_client(api: &Api, server_pid: Option<u32>, options: &SlowClientOptions) -> anyhow::Result<Value> {
    let token = api.register(&format!("slowclient-{}", run_id())).await?;
    let authorization = HeaderValue::from_str(&format!("Bearer {token}")).context("invalid token")?;
    let marker: Arc<str> = format!("slow-{}-", run_id()).into();
    let content = "x".repeat(options.content_bytes);
    let slow_closes_before = api.metric("notes_ws_slow_client_closes_total").await;

    let tally = Arc::new(Tally::default());
    let mut normal_tasks = Vec::new();
    for _ in 0..options.normal_clients {
        let ws = connect(api, &authorization, None).await.context("a normal client failed to connect")?;
        normal_tasks.push(tokio::spawn(read_in_order(ws, marker.clone(), options.notes, tally.clone())));
    }
    let stalled = connect(api, &authorization, Some(STALLED_RECEIVE_BUFFER))
        .await
        .context("the stalled client failed to connect")?;
    let mut reset_tasks = Vec::new();
    for client in 0..options.reset_clients {
        let ws = connect(api, &authorization, None).await.context("a reset client failed to connect")?;
        // Spread the resets over the first fifth of the burst.
        let notes_seen = (client + 1) * options.notes / 5 / options.reset_clients.max(1);
        reset_tasks.push(tokio::spawn(reset_after(ws, notes_seen.max(1))));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let rss_before_kib = server_pid.and_then(|pid| process_rss_kib(pid).ok());
    let peak_kib = Arc::new(AtomicU64::new(rss_before_kib.unwrap_or(0)));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = server_pid.map(|pid| {
        let (peak_kib, sampling) = (peak_kib.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Ok(rss) = process_rss_kib(pid) {
                    peak_kib.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    });

    let burst_started = Instant::now();
    let next_note = Arc::new(AtomicUsize::new(0));
    let create_errors = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for _ in 0..options.writers.max(1) {
        let (api, token, marker, content, next_note, create_errors) =
            (api.clone(), token.clone(), marker.clone(), content.clone(), next_note.clone(), create_errors.clone());
        let notes = options.notes;
        writers.push(tokio::spawn(async move {
            loop {
                let note = next_note.fetch_add(1, Ordering::Relaxed);
                if note >= notes {
                    return;
                }
                if let Err(error) = api.create_note_with_content(&token, &format!("{marker}{note}"), &content).await {
                    create_errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!("notes-load: create {note} failed: {error:#}");
                }
            }
        }));
    }
    futures_util::future::join_all(writers).await;
    let burst_seconds = burst_started.elapsed().as_secs_f64();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, futures_util::future::join_all(normal_tasks)).await.is_ok();
    sampling.store(false, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        let _ = sampler.await;
    }
    let resets: Vec<String> = futures_util::future::join_all(reset_tasks)
        .await
        .into_iter()
        .filter_map(|joined| match joined {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("{error:#}")),
            Err(error) => Some(error.to_string()),
        })
        .collect();

    tokio::time::sleep(Duration::from_secs_f64(options.settle_seconds)).await;
    let rss_after_kib = server_pid.and_then(|pid| process_rss_kib(pid).ok());
    let slow_closes_after = api.metric("notes_ws_slow_client_closes_total").await;
    let stalled_end = drain_stalled(stalled).await;
    let fresh_client = check_fresh_client(api, &token, &authorization).await;

    let create_errors = create_errors.load(Ordering::Relaxed);
    let expected = (options.normal_clients * options.notes) as u64 - options.normal_clients as u64 * create_errors;
    let received = tally.received.load(Ordering::Relaxed);
    Ok(json!({
        "normal_clients": options.normal_clients,
        "reset_clients": options.reset_clients,
        "reset_errors": resets,
        "notes": options.notes,
        "content_bytes": options.content_bytes,
        "writers": options.writers,
        "create_errors": create_errors,
        "burst_seconds": burst_seconds,
        "notes_per_second": options.notes as f64 / burst_seconds.max(1e-9),
        "normal_clients_drained": drained,
        "expected_deliveries": expected,
        "received_deliveries": received,
        "lost_deliveries": expected.saturating_sub(received),
        "out_of_order_deliveries": tally.out_of_order.load(Ordering::Relaxed),
        "duplicate_deliveries": tally.duplicates.load(Ordering::Relaxed),
        "normal_clients_ended_early": tally.early_ends.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
        "slow_client_closes": slow_closes_after.zip(slow_closes_before).map(|(after, before)| after - before),
        "stalled_client_end": stalled_end,
        "server_rss_before_kib": rss_before_kib,
        "server_rss_peak_kib": server_pid.map(|_| peak_kib.load(Ordering::Relaxed)),
        "server_rss_after_kib": rss_after_kib,
        "settle_seconds": options.settle_seconds,
        "fresh_client": fresh_client.as_ref().err().map(|error| format!("{error:#}")).unwrap_or_else(|| "ok".to_owned()),
    }))
}

/// Connects a new client, which must get a snapshot, then creates one note
/// that the client must receive within 10 seconds.
async fn check_fresh_client(api: &Api, token: &str, authorization: &HeaderValue) -> anyhow::Result<()> {
    let mut ws = connect(api, authorization, None).await.context("the fresh client failed to connect")?;
    let marker = format!("fresh-{}-", run_id());
    api.create_note(token, &format!("{marker}0")).await?;
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(message) = ws.next().await {
            if let Message::Text(text) = message?
                && note_index(&marker, text.as_str()) == Some(0)
            {
                return Ok(());
            }
        }
        bail!("the connection ended before the note arrived")
    })
    .await
    .context("the fresh client did not receive the new note within 10 s")?
}
