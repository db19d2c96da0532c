//! WebSocket workloads: broadcast fanout and connection scaling.
//!
//! Each client task opens one connection, waits for `initial_notes`, then
//! records when each `note_created` event of this run arrives. A note is
//! matched by its title, `<marker><index>`, so the sender records the time
//! just before each create and the latency is computed after the run.

pub mod soak;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use notes_bench::stats::Summary;
use notes_bench::system::{CpuReading, process_rss_kib};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::api::{Api, run_id};

/// Longest time one handshake plus the initial message may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to wait for missing deliveries after the last create.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after the connections open, so their setup work does not count
/// toward the broadcast measurement.
const SETTLE_TIME: Duration = Duration::from_secs(1);

/// Clients that share one source address. Linux gives one source address
/// about 28,000 ephemeral ports, and the clients of the previous run hold
/// theirs in TIME_WAIT for a minute, so above this count the clients of a
/// loopback server bind to 127.0.0.2, 127.0.0.3 and so on. Every address
/// of 127.0.0.0/8 is local; the traffic still goes only to the server's
/// address.
const CLIENTS_PER_SOURCE_ADDRESS: usize = 10_000;

/// Receipt times of every (client, note) pair, in nanoseconds since the
/// run's clock started plus one, with 0 meaning "not received".
struct Receipts {
    notes: usize,
    times: Vec<AtomicU64>,
    per_note: Vec<AtomicU64>,
    received: AtomicU64,
    duplicates: AtomicU64,
}

impl Receipts {
    fn new(clients: usize, notes: usize) -> Self {
        Self {
            notes,
            times: (0..clients * notes).map(|_| AtomicU64::new(0)).collect(),
            per_note: (0..notes).map(|_| AtomicU64::new(0)).collect(),
            received: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
        }
    }

    fn record(&self, client: usize, note: usize, at: u64) {
        if note >= self.notes {
            return;
        }
        let slot = &self.times[client * self.notes + note];
        if slot.compare_exchange(0, at, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.per_note[note].fetch_add(1, Ordering::Relaxed);
            self.received.fetch_add(1, Ordering::Relaxed);
        } else {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Returns the delivery latencies of `note` to clients `0..clients`.
    fn latencies(&self, note: usize, clients: usize, sent_at: u64) -> Vec<u64> {
        (0..clients)
            .filter_map(|client| match self.times[client * self.notes + note].load(Ordering::Relaxed) {
                0 => None,
                at => Some(at.saturating_sub(sent_at)),
            })
            .collect()
    }
}

/// Close behavior of the client tasks when the run stops them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// Drop the connection without a close frame.
    Drop,
    /// Even-numbered clients send a close frame, odd-numbered ones drop the
    /// connection without one.
    HalfWithCloseFrame,
}

/// State that every client task of one run shares.
struct Run {
    clock: Instant,
    url: String,
    authorization: HeaderValue,
    marker: String,
    receipts: Receipts,
    connect_gate: Semaphore,
    /// Handshake time (TCP connect to 101 response) of each client, by index.
    handshakes: Mutex<Vec<(usize, u64)>>,
    ready: AtomicU64,
    failed: AtomicU64,
    first_failure: Mutex<Option<String>>,
    /// Clients whose connection ended before the run stopped them.
    dropped: AtomicU64,
    stop: watch::Sender<bool>,
    closing: Closing,
}

impl Run {
    fn new(
        api: &Api,
        token: &str,
        clients: usize,
        notes: usize,
        connect_concurrency: usize,
        closing: Closing,
    ) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            clock: Instant::now(),
            url: api.websocket_url(),
            authorization: HeaderValue::from_str(&format!("Bearer {token}")).context("invalid token")?,
            marker: format!("ws-{}-", run_id()),
            receipts: Receipts::new(clients, notes),
            connect_gate: Semaphore::new(connect_concurrency.max(1)),
            handshakes: Mutex::new(Vec::with_capacity(clients)),
            ready: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_failure: Mutex::new(None),
            dropped: AtomicU64::new(0),
            stop: watch::channel(false).0,
            closing,
        }))
    }

    fn now(&self) -> u64 {
        self.clock.elapsed().as_nanos() as u64 + 1
    }

    fn title(&self, note: usize) -> String {
        format!("{}{note}", self.marker)
    }

    /// Returns the note index in a `note_created` event of this run.
    fn note_index(&self, text: &str) -> Option<usize> {
        if !text.contains(r#""type":"note_created""#) {
            return None;
        }
        let start = text.find(&self.marker)? + self.marker.len();
        let digits = text[start..].bytes().take_while(u8::is_ascii_digit).count();
        text[start..start + digits].parse().ok()
    }

    fn fail(&self, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.first_failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(error);
    }

    /// Starts clients `from..to`.
    fn spawn_clients(self: &Arc<Self>, from: usize, to: usize) -> Vec<JoinHandle<()>> {
        (from..to).map(|index| tokio::spawn(run_client(self.clone(), index))).collect()
    }

    /// Waits until `count` clients are ready or failed, up to `limit`.
    async fn wait_connected(&self, count: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.ready.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed) < count
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `expected` deliveries of `note` (or of every note, with
    /// None) arrived, or [`DRAIN_TIMEOUT`] passed.
    async fn wait_delivered(&self, note: Option<usize>, expected: u64) {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        let counter = match note {
            Some(note) => &self.receipts.per_note[note],
            None => &self.receipts.received,
        };
        while counter.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn handshake_summary(&self, from: usize, to: usize) -> Summary {
        let handshakes = self.handshakes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut samples: Vec<u64> =
            handshakes.iter().filter(|(index, _)| (from..to).contains(index)).map(|&(_, nanos)| nanos).collect();
        Summary::from_nanos(&mut samples)
    }

    /// Stops every client and waits for them, up to 10 seconds.
    async fn stop_clients(&self, tasks: Vec<JoinHandle<()>>) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), futures_util::future::join_all(tasks)).await;
    }
}

async fn run_client(run: Arc<Run>, index: usize) {
    let mut stop = run.stop.subscribe();
    let permit = run.connect_gate.acquire().await.expect("the gate is never closed");
    let started = Instant::now();
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let mut request = run.url.as_str().into_client_request()?;
        request.headers_mut().insert("authorization", run.authorization.clone());
        let (mut ws, _) = connect(request, index).await?;
        let handshake = started.elapsed().as_nanos() as u64;
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.starts_with(r#"{"type":"initial_notes""#) => Ok((ws, handshake)),
            other => anyhow::bail!("expected initial_notes, got {other:?}"),
        }
    })
    .await;
    drop(permit);

    let mut ws = match connected {
        Ok(Ok((ws, handshake))) => {
            run.handshakes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((index, handshake));
            run.ready.fetch_add(1, Ordering::Relaxed);
            ws
        }
        Ok(Err(error)) => return run.fail(format!("{error:#}")),
        Err(_) => return run.fail(format!("no initial_notes within {CONNECT_TIMEOUT:?}")),
    };

    loop {
        tokio::select! {
            _ = stop.changed() => {
                if run.closing == Closing::HalfWithCloseFrame && index.is_multiple_of(2) {
                    // The 10-second bound of stop_clients also bounds this.
                    let _ = ws.close(None).await;
                }
                return;
            }
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Some(note) = run.note_index(text.as_str()) {
                        run.receipts.record(index, note, run.now());
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    run.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Opens the WebSocket of client `index`. Toward a server on 127.0.0.1,
/// each block of [`CLIENTS_PER_SOURCE_ADDRESS`] clients uses its own source
/// address, so the count of clients is not capped by one address's ports.
async fn connect(
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
    index: usize,
) -> anyhow::Result<(WsStream, tokio_tungstenite::tungstenite::handshake::client::Response)> {
    let server = request
        .uri()
        .host()
        .and_then(|host| host.parse::<Ipv4Addr>().ok())
        .filter(|host| *host == Ipv4Addr::LOCALHOST)
        .zip(request.uri().port_u16());
    let Some((host, port)) = server else {
        return Ok(tokio_tungstenite::connect_async_with_config(request, Some(notes_bench::ws_config()), true).await?);
    };

    let block = u8::try_from(index / CLIENTS_PER_SOURCE_ADDRESS)
        .ok()
        .filter(|block| *block < 254)
        .context("too many clients for the source addresses of 127.0.0.0/24")?;
    let source = Ipv4Addr::new(127, 0, 0, 1 + block);
    let socket = tokio::net::TcpSocket::new_v4()?;
    bind_address_without_port(&socket)?;
    socket.bind(SocketAddr::from((source, 0))).with_context(|| format!("binding to {source}"))?;
    let stream = socket.connect(SocketAddr::from((host, port))).await?;
    stream.set_nodelay(true)?;
    let (ws, response) = tokio_tungstenite::client_async_with_config(
        request,
        MaybeTlsStream::Plain(stream),
        Some(notes_bench::ws_config()),
    )
    .await?;
    Ok((ws, response))
}

/// Sets IP_BIND_ADDRESS_NO_PORT, so that binding a source address leaves
/// the port to `connect`, which may reuse a port for another destination
/// or one in TIME_WAIT. Without it, `bind` takes a port of its own and the
/// ports of one address run out sooner.
fn bind_address_without_port(socket: &tokio::net::TcpSocket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;

    let enabled: libc::c_int = 1;
    // SAFETY: the descriptor is an open socket owned by `socket`, and the
    // option value is a c_int of the size passed.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&enabled as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// The client side of one WebSocket connection.
type WsStream = tokio_tungstenite::WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Password work that runs in the background of a fanout run: tasks that
/// each log in, or register a new user, again as soon as their previous
/// request completes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Storm {
    pub logins: usize,
    pub registers: usize,
}

/// `fanout`: `clients` connections receive `notes` notes that one writer
/// creates at `rate` per second, optionally during a login or register
/// storm.
pub async fn fanout(
    api: &Api,
    server_pid: Option<u32>,
    clients: usize,
    rate: f64,
    notes: usize,
    storm: Storm,
    connect_concurrency: usize,
) -> anyhow::Result<Value> {
    let writer = format!("writer-{}", run_id());
    let token = api.register(&writer).await?;
    let run = Run::new(api, &token, clients, notes, connect_concurrency, Closing::Drop)?;

    let connect_started = Instant::now();
    let tasks = run.spawn_clients(0, clients);
    run.wait_connected(clients as u64, Duration::from_secs(60) + CONNECT_TIMEOUT).await;
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    let connected = run.ready.load(Ordering::Relaxed);
    tokio::time::sleep(SETTLE_TIME).await;

    // The storm: each task logs in, or registers a new user, again as soon
    // as its previous request completes.
    let (logins, registers) = (storm.logins, storm.registers);
    let logging_in = Arc::new(AtomicBool::new(logins + registers > 0));
    let login_count = Arc::new(AtomicU64::new(0));
    let register_count = Arc::new(AtomicU64::new(0));
    let mut login_tasks = Vec::new();
    if logins > 0 {
        let username: Arc<str> = format!("looper-{}", run_id()).into();
        api.register(&username).await?;
        for _ in 0..logins {
            let (api, username, logging_in, login_count) =
                (api.clone(), username.clone(), logging_in.clone(), login_count.clone());
            login_tasks.push(tokio::spawn(async move {
                while logging_in.load(Ordering::Relaxed) {
                    if api.login(&username).await.is_ok() {
                        login_count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    let storm_id = run_id();
    for task in 0..registers {
        let (api, logging_in, register_count) = (api.clone(), logging_in.clone(), register_count.clone());
        let prefix = format!("storm-{storm_id}-{task}");
        login_tasks.push(tokio::spawn(async move {
            let mut index = 0u64;
            while logging_in.load(Ordering::Relaxed) {
                index += 1;
                if api.register(&format!("{prefix}-{index}")).await.is_ok() {
                    register_count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    let before = CpuReading::now(server_pid);
    let writing_started = Instant::now();
    let mut sent_at = vec![0u64; notes];
    let mut create_latencies = Vec::with_capacity(notes);
    let mut create_errors = 0u64;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for (note, sent) in sent_at.iter_mut().enumerate() {
        ticker.tick().await;
        *sent = run.now();
        match api.create_note(&token, &run.title(note)).await {
            Ok(()) => create_latencies.push(run.now() - *sent),
            Err(error) => {
                create_errors += 1;
                eprintln!("notes-load: create {note} failed: {error:#}");
            }
        }
    }
    let writing_seconds = writing_started.elapsed().as_secs_f64();
    run.wait_delivered(None, connected * (notes as u64 - create_errors)).await;
    let cpu = CpuReading::now(server_pid).since(&before);

    logging_in.store(false, Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(30), futures_util::future::join_all(login_tasks)).await;
    let server_rss_kib = server_pid.and_then(|pid| process_rss_kib(pid).ok());
    run.stop_clients(tasks).await;

    let mut latencies: Vec<u64> = Vec::with_capacity(clients * notes);
    for (note, &sent) in sent_at.iter().enumerate() {
        latencies.extend(run.receipts.latencies(note, clients, sent));
    }
    let received = run.receipts.received.load(Ordering::Relaxed);
    let expected = connected * notes as u64;
    let logins_done = login_count.load(Ordering::Relaxed);
    let registers_done = register_count.load(Ordering::Relaxed);

    Ok(json!({
        "clients": clients,
        "connected": connected,
        "failed_connections": run.failed.load(Ordering::Relaxed),
        "first_connection_error": *run.first_failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        "dropped_connections": run.dropped.load(Ordering::Relaxed),
        "connect_seconds": connect_seconds,
        "handshake": run.handshake_summary(0, clients),
        "notes": notes,
        "rate_per_second": rate,
        "create_errors": create_errors,
        "create_latency": Summary::from_nanos(&mut create_latencies),
        "writing_seconds": writing_seconds,
        "expected_deliveries": expected,
        "received_deliveries": received,
        "lost_deliveries": expected.saturating_sub(received),
        "duplicate_deliveries": run.receipts.duplicates.load(Ordering::Relaxed),
        "delivery_latency": Summary::from_nanos(&mut latencies),
        "load_cpu_seconds": cpu.0,
        "server_cpu_seconds": cpu.1,
        "server_cpu_us_per_delivery": cpu.1.map(|seconds| seconds * 1e6 / received.max(1) as f64),
        "server_rss_kib": server_rss_kib,
        "background_logins": logins,
        "logins_done": logins_done,
        "logins_per_second": logins_done as f64 / writing_seconds.max(1e-9),
        "background_registers": registers,
        "registers_done": registers_done,
        "registers_per_second": registers_done as f64 / writing_seconds.max(1e-9),
    }))
}

/// Options of one `connections` run.
pub struct ConnectionsOptions {
    /// Clients open at the end.
    pub clients: usize,
    /// Clients added per step.
    pub step: usize,
    /// Maximum handshakes in progress at once.
    pub connect_concurrency: usize,
    /// Broadcasts timed at the last step; every earlier step times one.
    pub final_broadcasts: usize,
    /// After the last step, try one more connection and report the server's
    /// response, which tests a configured connection limit.
    pub probe_one_more: bool,
}

/// `connections`: opens clients in steps of `step` up to `clients` and after
/// each step reads the server's memory and times one broadcast to everyone
/// (`final_broadcasts` at the last step).
pub async fn connections(api: &Api, server_pid: Option<u32>, options: &ConnectionsOptions) -> anyhow::Result<Value> {
    let clients = options.clients;
    let step = options.step.max(1);
    let steps = clients.div_ceil(step);
    let final_broadcasts = options.final_broadcasts.max(1);
    let notes = steps + final_broadcasts - 1;
    let token = api.register(&format!("connections-{}", run_id())).await?;
    let run = Run::new(api, &token, clients, notes, options.connect_concurrency, Closing::Drop)?;
    let rss_before_kib = server_pid.and_then(|pid| process_rss_kib(pid).ok());
    let cpu_before = CpuReading::now(server_pid);

    let mut tasks = Vec::with_capacity(clients);
    let mut results = Vec::with_capacity(steps);
    let mut next_note = 0;
    for index in 0..steps {
        let (from, to) = (index * step, ((index + 1) * step).min(clients));
        let step_started = Instant::now();
        tasks.extend(run.spawn_clients(from, to));
        run.wait_connected(to as u64, Duration::from_secs(60) + CONNECT_TIMEOUT).await;
        let open_seconds = step_started.elapsed().as_secs_f64();
        tokio::time::sleep(SETTLE_TIME).await;

        let connected = run.ready.load(Ordering::Relaxed) - run.dropped.load(Ordering::Relaxed);
        let rss_kib = server_pid.and_then(|pid| process_rss_kib(pid).ok());
        let sessions = api.websocket_sessions().await;

        // Each broadcast is timed on its own. The step reports every
        // broadcast's p99 and their median, which is steadier than one
        // broadcast on a machine that the generator shares.
        let broadcasts = if index + 1 == steps { final_broadcasts } else { 1 };
        let mut broadcast_runs = Vec::with_capacity(broadcasts);
        let mut create_error = None;
        for _ in 0..broadcasts {
            let note = next_note;
            next_note += 1;
            let sent = run.now();
            if let Err(error) = api.create_note(&token, &run.title(note)).await {
                create_error.get_or_insert(format!("{error:#}"));
            }
            run.wait_delivered(Some(note), connected).await;
            let mut latencies = run.receipts.latencies(note, to, sent);
            let received = latencies.len() as u64;
            broadcast_runs.push((Summary::from_nanos(&mut latencies), connected.saturating_sub(received)));
            tokio::time::sleep(SETTLE_TIME).await;
        }
        let mut p99s: Vec<f64> = broadcast_runs.iter().map(|(summary, _)| summary.p99_ms).collect();
        p99s.sort_by(f64::total_cmp);
        let median_p99 = p99s.get(p99s.len() / 2).copied();
        let lost: u64 = broadcast_runs.iter().map(|(_, lost)| lost).sum();

        let rss_growth_bytes_per_connection = match (rss_kib, rss_before_kib) {
            (Some(now), Some(before)) => Some(now.saturating_sub(before) as f64 * 1024.0 / connected.max(1) as f64),
            _ => None,
        };
        eprintln!("notes-load: {connected} connections open, server RSS {rss_kib:?} KiB, broadcast p99 {p99s:?} ms");
        results.push(json!({
            "clients": to,
            "connected": connected,
            "failed_connections": run.failed.load(Ordering::Relaxed),
            "open_seconds": open_seconds,
            "server_sessions_gauge": sessions,
            "server_rss_kib": rss_kib,
            "server_rss_bytes_per_connection": rss_growth_bytes_per_connection,
            "handshake": run.handshake_summary(from, to),
            "create_error": create_error,
            "broadcast_latency": broadcast_runs.first().map(|(summary, _)| *summary),
            "broadcast_p99_ms": p99s,
            "broadcast_median_p99_ms": median_p99,
            "broadcast_lost": lost,
        }));
    }

    let one_more = if options.probe_one_more { Some(probe_one_more(&run, clients).await) } else { None };
    let cpu = CpuReading::now(server_pid).since(&cpu_before);
    run.stop_clients(tasks).await;

    Ok(json!({
        "clients": clients,
        "step": step,
        "server_rss_before_kib": rss_before_kib,
        "first_connection_error": *run.first_failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        "duplicate_deliveries": run.receipts.duplicates.load(Ordering::Relaxed),
        "load_cpu_seconds": cpu.0,
        "server_cpu_seconds": cpu.1,
        "steps": results,
        "one_more_connection": one_more,
    }))
}

/// Tries one connection beyond those open, as client `index`, and reports the outcome: the HTTP
/// status of a refused upgrade, or that it opened, or that the server did
/// not answer within [`CONNECT_TIMEOUT`] (a hung accept).
async fn probe_one_more(run: &Run, index: usize) -> Value {
    let started = Instant::now();
    let attempt = async {
        let mut request = run.url.as_str().into_client_request()?;
        request.headers_mut().insert("authorization", run.authorization.clone());
        anyhow::Ok(connect(request, index).await)
    };
    let (outcome, status, body) = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Err(_) => ("timed out", None, None),
        Ok(Err(error)) => {
            eprintln!("notes-load: the extra connection could not be attempted: {error:#}");
            ("not attempted", None, None)
        }
        Ok(Ok(Ok(_))) => ("opened", Some(101), None),
        Ok(Ok(Err(error))) => match error.downcast::<tokio_tungstenite::tungstenite::Error>() {
            Ok(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let body = response.body().as_ref().map(|body| String::from_utf8_lossy(body).into_owned());
                ("refused", Some(response.status().as_u16()), body)
            }
            Ok(other) => {
                eprintln!("notes-load: the extra connection failed: {other}");
                ("failed", None, None)
            }
            Err(other) => {
                eprintln!("notes-load: the extra connection failed: {other:#}");
                ("failed", None, None)
            }
        },
    };
    json!({
        "outcome": outcome,
        "status": status,
        "body": body,
        "answered_ms": started.elapsed().as_secs_f64() * 1000.0,
    })
}
