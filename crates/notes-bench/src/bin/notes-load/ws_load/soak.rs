//! `soak`: waves of WebSocket clients connect, receive a few notes and
//! disconnect, for a fixed time. After each wave the server's session gauge
//! must return to 0, and its memory is read, after a short settling time,
//! to compare across waves.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use notes_bench::system::process_rss_kib;
use serde_json::{Value, json};

use super::{CONNECT_TIMEOUT, Closing, Run};
use crate::api::{Api, run_id};

/// Options of one soak run.
pub struct SoakOptions {
    /// Seconds after which no new wave starts. At least one wave runs.
    pub seconds: f64,
    /// WebSocket clients per wave.
    pub clients: usize,
    /// Notes created per wave while the clients are connected.
    pub notes: usize,
    /// Notes created per second.
    pub rate: f64,
    /// Maximum handshakes in progress at once.
    pub connect_concurrency: usize,
    /// Maximum wait for `notes_ws_sessions` to read 0 after a wave.
    pub sessions_timeout: Duration,
    /// Delete each wave's notes after its clients leave.
    pub delete_notes: bool,
    /// Wait after the sessions reach 0 before the server's memory is read,
    /// so that memory an allocator returns after a delay is not counted as
    /// still in use.
    pub settle: Duration,
}

/// Runs waves until `options.seconds` have passed and returns the figures of
/// every wave.
pub async fn soak(api: &Api, server_pid: Option<u32>, options: &SoakOptions) -> anyhow::Result<Value> {
    let token = api.register(&format!("soak-{}", run_id())).await?;
    let started = Instant::now();
    let mut waves = Vec::new();
    let mut lost_total = 0u64;
    let mut failed_total = 0u64;

    while waves.is_empty() || started.elapsed().as_secs_f64() < options.seconds {
        let wave = waves.len();
        let run = Run::new(
            api,
            &token,
            options.clients,
            options.notes,
            options.connect_concurrency,
            Closing::HalfWithCloseFrame,
        )?;
        let tasks = run.spawn_clients(0, options.clients);
        run.wait_connected(options.clients as u64, Duration::from_secs(60) + CONNECT_TIMEOUT).await;
        let connected = run.ready.load(Ordering::Relaxed);
        let failed = run.failed.load(Ordering::Relaxed);

        let mut create_errors = 0u64;
        let mut created = Vec::with_capacity(options.notes);
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / options.rate.max(0.001)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for note in 0..options.notes {
            ticker.tick().await;
            match api.create_note_for_id(&token, &run.title(note)).await {
                Ok(id) => created.push(id),
                Err(error) => {
                    create_errors += 1;
                    eprintln!("notes-load: wave {wave}: create {note} failed: {error:#}");
                }
            }
        }
        let expected = connected * (options.notes as u64 - create_errors);
        run.wait_delivered(None, expected).await;
        let received = run.receipts.received.load(Ordering::Relaxed);
        let lost = expected.saturating_sub(received);

        let closing_started = Instant::now();
        run.stop_clients(tasks).await;

        // The wave's notes are deleted once its clients are gone, so the
        // store contains the same data after every wave and memory growth
        // across waves is not the growth of the data.
        let mut delete_errors = 0u64;
        if options.delete_notes {
            for id in &created {
                if let Err(error) = api.delete_note(&token, id).await {
                    delete_errors += 1;
                    eprintln!("notes-load: wave {wave}: delete {id} failed: {error:#}");
                }
            }
        }
        let sessions = wait_sessions_zero(api, options.sessions_timeout).await;
        let sessions_zero_seconds = closing_started.elapsed().as_secs_f64();
        let rss_at_zero_kib = server_pid.and_then(|pid| process_rss_kib(pid).ok());
        tokio::time::sleep(options.settle).await;
        let rss_kib = server_pid.and_then(|pid| process_rss_kib(pid).ok());

        eprintln!(
            "notes-load: soak wave {wave}: {connected} connected, {lost} lost, sessions after close {sessions:?}, \
             server RSS {rss_kib:?} KiB"
        );
        lost_total += lost;
        failed_total += failed;
        waves.push(json!({
            "wave": wave,
            "connected": connected,
            "failed_connections": failed,
            "first_connection_error": *run.first_failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            "create_errors": create_errors,
            "delete_errors": delete_errors,
            "expected_deliveries": expected,
            "received_deliveries": received,
            "lost_deliveries": lost,
            "duplicate_deliveries": run.receipts.duplicates.load(Ordering::Relaxed),
            "sessions_after_close": sessions,
            "sessions_zero_seconds": sessions_zero_seconds,
            "server_rss_at_zero_sessions_kib": rss_at_zero_kib,
            "server_rss_kib": rss_kib,
        }));
    }

    let rss_of = |wave: Option<&Value>| wave.and_then(|wave| wave["server_rss_kib"].as_u64());
    let first_rss = rss_of(waves.first());
    let last_rss = rss_of(waves.last());
    let max_rss = waves.iter().filter_map(|wave| wave["server_rss_kib"].as_u64()).max();
    Ok(json!({
        "seconds": started.elapsed().as_secs_f64(),
        "clients": options.clients,
        "notes_per_wave": options.notes,
        "waves_done": waves.len(),
        "lost_deliveries": lost_total,
        "failed_connections": failed_total,
        "first_wave_rss_kib": first_rss,
        "last_wave_rss_kib": last_rss,
        "max_wave_rss_kib": max_rss,
        "rss_last_over_first": first_rss.zip(last_rss).map(|(first, last)| last as f64 / first.max(1) as f64),
        "sessions_after_last_wave": waves.last().and_then(|wave| wave["sessions_after_close"].as_u64()),
        "waves": waves,
    }))
}

/// Polls `notes_ws_sessions` until it reads 0 or `timeout` passes, and
/// returns the last reading (None when the server does not export it).
async fn wait_sessions_zero(api: &Api, timeout: Duration) -> Option<u64> {
    let deadline = Instant::now() + timeout;
    loop {
        let sessions = api.websocket_sessions().await;
        if sessions.is_none_or(|count| count == 0) || Instant::now() >= deadline {
            return sessions;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
