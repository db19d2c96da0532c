//! HTTP workloads: note creation, note listing and password authentication.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use notes_bench::stats::Summary;
use notes_bench::system::CpuReading;
use serde_json::{Value, json};

use crate::api::{Api, run_id};

/// Longest time that filling a store before a listing may take.
const FILL_TIME_LIMIT: Duration = Duration::from_secs(300);

/// Longest time that one listing phase (sequential or concurrent) may take.
const LIST_PHASE_TIME_LIMIT: Duration = Duration::from_secs(60);

/// A run stops early after this many failed requests.
const MAX_ERRORS: u64 = 100;

/// What a set of concurrent workers did.
struct Outcome {
    done: u64,
    errors: u64,
    first_error: Option<String>,
    seconds: f64,
    latencies_ns: Vec<u64>,
}

impl Outcome {
    fn into_json(mut self, cpu: (f64, Option<f64>)) -> Value {
        json!({
            "done": self.done,
            "errors": self.errors,
            "first_error": self.first_error,
            "seconds": self.seconds,
            "per_second": self.done as f64 / self.seconds.max(1e-9),
            "latency": Summary::from_nanos(&mut self.latencies_ns),
            "load_cpu_seconds": cpu.0,
            "server_cpu_seconds": cpu.1,
        })
    }
}

/// Runs `operation(n)` for n = 0, 1, … on `workers` concurrent tasks until
/// `max` operations were started, `time_limit` has passed or
/// [`MAX_ERRORS`] failed.
async fn run_workers<F, Fut>(workers: usize, max: u64, time_limit: Duration, operation: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let operation = Arc::new(operation);
    let claimed = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + time_limit;

    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (operation, claimed, errors) = (operation.clone(), claimed.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut first_error = None;
            loop {
                let n = claimed.fetch_add(1, Ordering::Relaxed);
                if n >= max || Instant::now() >= deadline || errors.load(Ordering::Relaxed) >= MAX_ERRORS {
                    break;
                }
                let sent = Instant::now();
                match operation(n).await {
                    Ok(()) => latencies.push(sent.elapsed().as_nanos() as u64),
                    Err(error) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert_with(|| format!("{error:#}"));
                    }
                }
            }
            (latencies, first_error)
        }));
    }

    let mut outcome = Outcome { done: 0, errors: 0, first_error: None, seconds: 0.0, latencies_ns: Vec::new() };
    for task in tasks {
        let (latencies, first_error) = task.await.expect("a worker task panicked");
        outcome.latencies_ns.extend(latencies);
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome.done = outcome.latencies_ns.len() as u64;
    outcome.errors = errors.load(Ordering::Relaxed);
    outcome
}

/// Creates notes with `token` on `clients` concurrent connections.
async fn create_notes(api: &Api, token: &str, clients: usize, max: u64, time_limit: Duration) -> Outcome {
    let (api, token) = (api.clone(), Arc::<str>::from(token));
    let prefix = format!("create-{}-", run_id());
    run_workers(clients, max, time_limit, move |n| {
        let (api, token, title) = (api.clone(), token.clone(), format!("{prefix}{n}"));
        async move { api.create_note(&token, &title).await }
    })
    .await
}

/// `creates`: notes created per second by concurrent clients.
pub async fn creates(
    api: &Api,
    server_pid: Option<u32>,
    clients: usize,
    seconds: f64,
    max: u64,
) -> anyhow::Result<Value> {
    let token = api.register(&format!("creator-{}", run_id())).await?;
    let before = CpuReading::now(server_pid);
    let outcome = create_notes(api, &token, clients, max, Duration::from_secs_f64(seconds)).await;
    let cpu = CpuReading::now(server_pid).since(&before);
    let mut result = outcome.into_json(cpu);
    result["clients"] = json!(clients);
    Ok(result)
}

/// `list`: fills the store up to `notes` notes, then measures `GET /api/notes`
/// one request at a time and with `readers` concurrent readers.
pub async fn list(
    api: &Api,
    server_pid: Option<u32>,
    notes: u64,
    requests: usize,
    readers: usize,
    reader_requests: usize,
) -> anyhow::Result<Value> {
    let token = api.register(&format!("lister-{}", run_id())).await?;
    let stored_before = api.count_notes(&token).await? as u64;
    let missing = notes.saturating_sub(stored_before);
    let fill = create_notes(api, &token, 16, missing, FILL_TIME_LIMIT).await;
    if let Some(error) = &fill.first_error {
        eprintln!("notes-load: {} of {missing} creates failed while filling; first error: {error}", fill.errors);
    }
    let stored = api.count_notes(&token).await?;

    // Sequential requests: one client, one request at a time.
    let before = CpuReading::now(server_pid);
    let (api_seq, token_seq) = (api.clone(), Arc::<str>::from(token.as_str()));
    let body_bytes = Arc::new(AtomicU64::new(0));
    let body_bytes_seq = body_bytes.clone();
    let sequential = run_workers(1, requests as u64, LIST_PHASE_TIME_LIMIT, move |_| {
        let (api, token, body_bytes) = (api_seq.clone(), token_seq.clone(), body_bytes_seq.clone());
        async move {
            let body = api.list_notes(&token).await?;
            body_bytes.store(body.len() as u64, Ordering::Relaxed);
            Ok(())
        }
    })
    .await;
    let sequential_json = sequential.into_json(CpuReading::now(server_pid).since(&before));

    // Concurrent readers, each making `reader_requests` requests in turn.
    let concurrent_json = if readers > 0 {
        let before = CpuReading::now(server_pid);
        let (api_con, token_con) = (api.clone(), Arc::<str>::from(token.as_str()));
        let total = (readers * reader_requests) as u64;
        let concurrent = run_workers(readers, total, LIST_PHASE_TIME_LIMIT, move |_| {
            let (api, token) = (api_con.clone(), token_con.clone());
            async move { api.list_notes(&token).await.map(drop) }
        })
        .await;
        let mut value = concurrent.into_json(CpuReading::now(server_pid).since(&before));
        value["readers"] = json!(readers);
        value
    } else {
        Value::Null
    };

    Ok(json!({
        "notes_requested": notes,
        "notes_stored": stored,
        "fill": { "created": fill.done, "errors": fill.errors, "seconds": fill.seconds },
        "response_bytes": body_bytes.load(Ordering::Relaxed),
        "sequential": sequential_json,
        "concurrent": concurrent_json,
    }))
}

/// `auth`: registrations and logins per second with `clients` concurrent
/// clients, each phase bounded by `seconds` and `max` requests.
pub async fn auth(api: &Api, server_pid: Option<u32>, clients: usize, seconds: f64, max: u64) -> anyhow::Result<Value> {
    let limit = Duration::from_secs_f64(seconds);

    let before = CpuReading::now(server_pid);
    let (api_reg, prefix) = (api.clone(), format!("register-{}-", run_id()));
    let registrations = run_workers(clients, max, limit, move |n| {
        let (api, username) = (api_reg.clone(), format!("{prefix}{n}"));
        async move { api.register(&username).await.map(drop) }
    })
    .await;
    let registrations_json = registrations.into_json(CpuReading::now(server_pid).since(&before));

    let username: Arc<str> = format!("login-{}", run_id()).into();
    api.register(&username).await?;
    let before = CpuReading::now(server_pid);
    let api_login = api.clone();
    let logins = run_workers(clients, max, limit, move |_| {
        let (api, username) = (api_login.clone(), username.clone());
        async move { api.login(&username).await.map(drop) }
    })
    .await;
    let logins_json = logins.into_json(CpuReading::now(server_pid).since(&before));

    Ok(json!({ "clients": clients, "registrations": registrations_json, "logins": logins_json }))
}
