//! The `soak` and `slowclient` scenarios: clients that come and go in waves,
//! and clients that stall or reset during a burst. Both run only against our
//! server; the floor server has no heartbeat and no slow-client close.

use serde_json::Value;

use super::Bench;
use super::report::{Report, number};
use super::server::ServerKind;

/// Target: server RSS after the last soak wave at most this multiple of its
/// RSS after the first wave.
const SOAK_RSS_RATIO_TARGET: f64 = 1.10;

/// Target: server RSS a few seconds after the slow-client burst at most this
/// multiple of its RSS before the burst.
const BURST_RSS_RATIO_TARGET: f64 = 1.25;

/// Settings of the soak server. A connection that stays silent for 3 s is
/// closed, so even clients that vanish without a TCP FIN leave the session
/// gauge within seconds. The change log keeps 1,000 events, so it is full
/// after about 25 waves and does not grow for the rest of the run.
const SOAK_SERVER_ENV: [(&str, &str); 3] =
    [("NOTES_HEARTBEAT_INTERVAL", "1s"), ("NOTES_CLIENT_TIMEOUT", "3s"), ("NOTES_CHANGE_LOG_CAPACITY", "1000")];

/// Maximum wait for the session gauge to read 0 after a wave, in seconds:
/// twice the client timeout above.
const SOAK_SESSIONS_TIMEOUT_SECONDS: u64 = 6;

/// Seconds that notes-load may run beyond the soak duration, for the last
/// wave and its bounded waits.
const SOAK_TIME_LIMIT_MARGIN_SECONDS: u64 = 240;

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// `soak`: waves of clients for `--seconds` (default 600).
pub fn soak(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let seconds = bench.seconds.unwrap_or(600.0);
    let clients = bench.clients.unwrap_or(1_000);
    let time_limit = seconds.ceil() as u64 + SOAK_TIME_LIMIT_MARGIN_SECONDS;
    let arguments = [
        "soak".to_owned(),
        "--seconds".to_owned(),
        seconds.to_string(),
        "--clients".to_owned(),
        clients.to_string(),
        "--sessions-timeout".to_owned(),
        SOAK_SESSIONS_TIMEOUT_SECONDS.to_string(),
        "--delete-notes".to_owned(),
        "--time-limit".to_owned(),
        time_limit.to_string(),
    ];
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let run = bench
        .with_server_env(ServerKind::NOTES_MEMORY, &SOAK_SERVER_ENV, |endpoint| bench.load(endpoint, &arguments))?;

    let label = format!("{clients} clients per wave, {seconds} s");
    report.figure("soak", format!("{label}: waves done"), number(&run, "/waves_done").to_string());
    report.figure("soak", "failed connections", number(&run, "/failed_connections").to_string());
    let lost = number(&run, "/lost_deliveries");
    report.target("soak", "lost deliveries", lost.to_string(), "0", lost == 0.0);
    report.figure(
        "soak",
        "server RSS after first / last wave (max after any wave)",
        format!(
            "{} / {} ({})",
            mib(number(&run, "/first_wave_rss_kib")),
            mib(number(&run, "/last_wave_rss_kib")),
            mib(number(&run, "/max_wave_rss_kib"))
        ),
    );
    let ratio = number(&run, "/rss_last_over_first");
    report.target(
        "soak",
        "server RSS last / first wave",
        format!("{ratio:.3}x"),
        format!("<= {SOAK_RSS_RATIO_TARGET}x"),
        ratio <= SOAK_RSS_RATIO_TARGET,
    );
    let sessions = number(&run, "/sessions_after_last_wave");
    report.target("soak", "notes_ws_sessions after the last wave", sessions.to_string(), "0", sessions == 0.0);
    report.results("soak", run);
    Ok(())
}

/// `slowclient`: one stalled and five resetting clients during a burst.
pub fn slow_client(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let notes = bench.notes.unwrap_or(5_000);
    let arguments = ["slowclient".to_owned(), "--notes".to_owned(), notes.to_string()];
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let run = bench.with_server(ServerKind::NOTES_MEMORY, |endpoint| bench.load(endpoint, &arguments))?;

    report.figure(
        "slowclient",
        format!("{notes} notes of 1 KiB: creates per second"),
        format!("{:.0}", number(&run, "/notes_per_second")),
    );
    let lost = number(&run, "/lost_deliveries");
    let out_of_order = number(&run, "/out_of_order_deliveries");
    report.target(
        "slowclient",
        "20 normal clients: lost / out of order",
        format!("{lost} / {out_of_order}"),
        "0 / 0",
        lost == 0.0 && out_of_order == 0.0,
    );
    let ended_early = run["normal_clients_ended_early"].as_array().map_or(0, Vec::len);
    report.figure("slowclient", "normal clients whose connection ended mid-burst", ended_early.to_string());
    let closes = number(&run, "/slow_client_closes");
    report.target(
        "slowclient",
        "notes_ws_slow_client_closes_total increase",
        closes.to_string(),
        ">= 1",
        closes >= 1.0,
    );
    report.figure("slowclient", "stalled client's connection", string(&run, "/stalled_client_end"));
    let before = number(&run, "/server_rss_before_kib");
    let after = number(&run, "/server_rss_after_kib");
    report.figure(
        "slowclient",
        "server RSS before / peak / 5 s after",
        format!("{} / {} / {}", mib(before), mib(number(&run, "/server_rss_peak_kib")), mib(after)),
    );
    let ratio = after / before;
    report.target(
        "slowclient",
        "server RSS after / before the burst",
        format!("{ratio:.2}x"),
        format!("<= {BURST_RSS_RATIO_TARGET}x"),
        ratio <= BURST_RSS_RATIO_TARGET,
    );
    let fresh = string(&run, "/fresh_client");
    report.target("slowclient", "fresh client: snapshot and next event", fresh.clone(), "ok", fresh == "ok");
    report.results("slowclient", run);
    Ok(())
}

fn string(value: &Value, pointer: &str) -> String {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("missing").to_owned()
}
