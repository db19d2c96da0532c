//! The `auth` scenario: password hashing at the production bcrypt cost, and
//! its effect on WebSocket delivery.

use serde_json::json;

use super::Bench;
use super::broadcast::{fanout_arguments, fanout_figures};
use super::report::{Report, number};
use super::server::{ServerKind, Store};

/// The production bcrypt cost (the server's default).
const BCRYPT_COST: u32 = 12;

/// Tasks that log in without pause during the loaded fanout run.
const LOGIN_LOOPS: usize = 8;

/// Target: fanout p99 while clients log in at most this multiple of the
/// p99 without them.
const P99_RATIO_TARGET: f64 = 1.5;

/// `auth`: registrations and logins per second with 8 clients, then fanout to
/// 500 clients without and with 8 tasks logging in.
pub fn auth(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let kind = ServerKind::Notes { store: Store::Memory, bcrypt_cost: BCRYPT_COST };
    let rates = bench.with_server(kind, |endpoint| {
        bench.load(endpoint, &["auth", "--clients", "8", "--seconds", "5", "--max", "200"])
    })?;
    report.figure(
        "auth",
        "registrations/s, 8 clients, cost 12",
        format!("{:.1}", number(&rates, "/registrations/per_second")),
    );
    report.figure("auth", "logins/s, 8 clients, cost 12", format!("{:.1}", number(&rates, "/logins/per_second")));

    let clients = bench.clients.unwrap_or(500);
    let (rate, notes) = (bench.rate.unwrap_or(10.0), bench.notes.unwrap_or(200));
    let mut fanouts = Vec::new();
    for logins in [0, LOGIN_LOOPS] {
        let arguments = fanout_arguments(clients, rate, notes, logins);
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let run = bench.with_server(kind, |endpoint| bench.load(endpoint, &arguments))?;
        fanout_figures(report, "auth", &format!("{clients} clients, {logins} login loops"), &run);
        fanouts.push(run);
    }

    let ratio = number(&fanouts[1], "/delivery_latency/p99_ms") / number(&fanouts[0], "/delivery_latency/p99_ms");
    report.figure(
        "auth",
        "logins/s during the loaded fanout",
        format!("{:.1}", number(&fanouts[1], "/logins_per_second")),
    );
    report.target(
        "auth",
        format!("{clients} clients: p99 with / without login loops"),
        format!("{ratio:.2}x"),
        format!("<= {P99_RATIO_TARGET}x"),
        ratio <= P99_RATIO_TARGET,
    );
    report.results("auth", json!({ "rates": rates, "fanout_quiet": fanouts[0], "fanout_logging_in": fanouts[1] }));
    Ok(())
}
