//! The `auth` scenario: password hashing at the production bcrypt cost, and
//! its effect on WebSocket delivery.

use serde_json::json;

use super::Bench;
use super::broadcast::{fanout_arguments, fanout_figures};
use super::report::{Report, number};
use super::server::{ServerKind, Store};

/// The production bcrypt cost (the server's default).
const BCRYPT_COST: u32 = 12;

/// Tasks that log in, or register, without pause during a storm.
const STORM_TASKS: usize = 8;

/// Target: fanout p99 during a login or register storm at most this
/// multiple of the p99 without one.
const P99_RATIO_TARGET: f64 = 1.5;

/// `auth`: registrations and logins per second with 8 clients, then fanout to
/// 500 clients without a storm, with 8 tasks logging in, and with 8 tasks
/// registering new users.
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
    let storms = [("no storm", 0, 0), ("login storm", STORM_TASKS, 0), ("register storm", 0, STORM_TASKS)];
    let mut fanouts = Vec::new();
    for (label, logins, registers) in storms {
        let arguments = fanout_arguments(clients, rate, notes, logins, registers);
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let run = bench.with_server(kind, |endpoint| bench.load(endpoint, &arguments))?;
        fanout_figures(report, "auth", &format!("{clients} clients, {label}"), &run);
        fanouts.push(run);
    }

    report.figure(
        "auth",
        "logins/s and registrations/s during the storms",
        format!(
            "{:.1} / {:.1}",
            number(&fanouts[1], "/logins_per_second"),
            number(&fanouts[2], "/registers_per_second")
        ),
    );
    let quiet = number(&fanouts[0], "/delivery_latency/p99_ms");
    for (index, label) in [(1, "login storm"), (2, "register storm")] {
        let ratio = number(&fanouts[index], "/delivery_latency/p99_ms") / quiet;
        let complete = number(&fanouts[index], "/lost_deliveries") == 0.0;
        report.target(
            "auth",
            format!("{clients} clients: p99 during the {label} / without"),
            format!("{ratio:.2}x, lost {}", number(&fanouts[index], "/lost_deliveries")),
            format!("<= {P99_RATIO_TARGET}x, 0 lost"),
            ratio <= P99_RATIO_TARGET && complete,
        );
    }
    report.results(
        "auth",
        json!({
            "rates": rates,
            "fanout_quiet": fanouts[0],
            "fanout_login_storm": fanouts[1],
            "fanout_register_storm": fanouts[2],
        }),
    );
    Ok(())
}
