//! The `fanout` and `connections` scenarios: our server and the floor server
//! run one after the other on the same workload, and the report gives both
//! figures and their ratio.

use serde_json::{Value, json};

use super::Bench;
use super::load::Endpoint;
use super::report::{Report, ms, number};
use super::server::ServerKind;

/// Target: fanout p99 at most this multiple of the floor's.
const FANOUT_P99_RATIO_TARGET: f64 = 1.25;

/// Client counts at which the fanout p99 target applies.
const FANOUT_TARGET_CLIENTS: [usize; 2] = [1_000, 5_000];

/// Target: server CPU per delivered message at most this multiple of the floor's.
const CPU_RATIO_TARGET: f64 = 1.3;

/// Target: server memory per open connection, in bytes (10 KB).
const RSS_PER_CONNECTION_TARGET: f64 = 10_000.0;

/// Target: p99 of a broadcast to every open connection at the last step at
/// most this multiple of the floor's (the median over the last step's
/// broadcasts).
const BROADCAST_P99_RATIO_TARGET: f64 = 1.25;

/// Connections that `connections` opens by default.
const DEFAULT_CONNECTIONS: usize = 15_000;

/// Broadcasts timed at the last step of `connections`.
const FINAL_BROADCASTS: usize = 5;

/// Returns the `notes-load fanout` arguments, with `logins` tasks logging in
/// and `registers` tasks registering users during the run.
pub fn fanout_arguments(clients: usize, rate: f64, notes: u64, logins: usize, registers: usize) -> Vec<String> {
    let mut arguments = vec!["fanout".to_owned()];
    for (flag, value) in [
        ("--clients", clients.to_string()),
        ("--rate", rate.to_string()),
        ("--notes", notes.to_string()),
        ("--logins", logins.to_string()),
        ("--registers", registers.to_string()),
    ] {
        arguments.push(flag.to_owned());
        arguments.push(value);
    }
    arguments
}

fn run_load(bench: &Bench, endpoint: &Endpoint, arguments: &[String]) -> anyhow::Result<Value> {
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    bench.load(endpoint, &arguments)
}

/// Adds the delivery figures of one fanout run to the report.
pub fn fanout_figures(report: &mut Report, scenario: &str, label: &str, run: &Value) {
    report.figure(
        scenario,
        format!("{label}: delivery p50 / p99 / max"),
        format!(
            "{} / {} / {}",
            ms(number(run, "/delivery_latency/p50_ms")),
            ms(number(run, "/delivery_latency/p99_ms")),
            ms(number(run, "/delivery_latency/max_ms"))
        ),
    );
    report.figure(
        scenario,
        format!("{label}: lost / duplicates / failed connections"),
        format!(
            "{} / {} / {}",
            number(run, "/lost_deliveries"),
            number(run, "/duplicate_deliveries"),
            number(run, "/failed_connections")
        ),
    );
}

/// `fanout`: one writer creates notes at a fixed rate while C clients listen.
pub fn fanout(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let counts: Vec<usize> = match bench.clients {
        Some(clients) => vec![clients],
        None => vec![100, 1_000, 5_000],
    };
    let rate = bench.rate.unwrap_or(10.0);
    let notes = bench.notes.unwrap_or(200);

    let mut runs = Vec::new();
    for clients in counts {
        let arguments = fanout_arguments(clients, rate, notes, 0, 0);
        let ours = bench.with_server(ServerKind::NOTES_MEMORY, |endpoint| run_load(bench, endpoint, &arguments))?;
        let floor = if bench.compares_with_floor() {
            Some(bench.with_server(ServerKind::Floor, |endpoint| run_load(bench, endpoint, &arguments))?)
        } else {
            None
        };

        let label = format!("{clients} clients");
        fanout_figures(report, "fanout", &format!("{label}, ours"), &ours);
        let ours_cpu = number(&ours, "/server_cpu_us_per_delivery");
        report.figure("fanout", format!("{label}, ours: server CPU per delivery"), format!("{ours_cpu:.2} us"));
        if let Some(floor) = &floor {
            fanout_figures(report, "fanout", &format!("{label}, floor"), floor);
            let floor_cpu = number(floor, "/server_cpu_us_per_delivery");
            report.figure("fanout", format!("{label}, floor: server CPU per delivery"), format!("{floor_cpu:.2} us"));

            let p99_ratio = number(&ours, "/delivery_latency/p99_ms") / number(floor, "/delivery_latency/p99_ms");
            let complete = number(&ours, "/lost_deliveries") == 0.0 && number(&ours, "/failed_connections") == 0.0;
            let p99_value = format!("{p99_ratio:.2}x, lost {}", number(&ours, "/lost_deliveries"));
            if FANOUT_TARGET_CLIENTS.contains(&clients) {
                report.target(
                    "fanout",
                    format!("{label}: p99 ours / floor"),
                    p99_value,
                    format!("<= {FANOUT_P99_RATIO_TARGET}x, 0 lost"),
                    p99_ratio <= FANOUT_P99_RATIO_TARGET && complete,
                );
            } else {
                report.figure("fanout", format!("{label}: p99 ours / floor"), p99_value);
            }
            let cpu_ratio = ours_cpu / floor_cpu;
            report.target(
                "fanout",
                format!("{label}: CPU per delivery ours / floor"),
                format!("{cpu_ratio:.2}x"),
                format!("<= {CPU_RATIO_TARGET}x"),
                cpu_ratio <= CPU_RATIO_TARGET,
            );
        }
        runs.push(json!({ "clients": clients, "ours": ours, "floor": floor }));
    }
    report.results("fanout", json!(runs));
    Ok(())
}

/// `connections`: clients open in steps of 1,000; after each step the
/// server's memory, the handshake times and one broadcast are measured, and
/// five broadcasts at the last step. Our server runs with its connection
/// limit set to the client count, and one more connection must get 503.
pub fn connections(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let clients = bench.clients.unwrap_or(DEFAULT_CONNECTIONS);
    let step = clients.min(1_000);
    let arguments = |probe: bool| {
        let mut arguments = vec![
            "connections".to_owned(),
            "--clients".to_owned(),
            clients.to_string(),
            "--step".to_owned(),
            step.to_string(),
            "--final-broadcasts".to_owned(),
            FINAL_BROADCASTS.to_string(),
        ];
        if probe {
            arguments.push("--probe-one-more".to_owned());
        }
        arguments
    };
    let limit = clients.to_string();
    let ours = bench.with_server_env(
        ServerKind::NOTES_MEMORY,
        &[("NOTES_MAX_WS_CONNECTIONS", limit.as_str())],
        |endpoint| run_load(bench, endpoint, &arguments(true)),
    )?;
    let floor = if bench.compares_with_floor() {
        Some(bench.with_server(ServerKind::Floor, |endpoint| run_load(bench, endpoint, &arguments(false)))?)
    } else {
        None
    };

    for (name, run) in [("ours", Some(&ours)), ("floor", floor.as_ref())] {
        let Some(run) = run else { continue };
        for step in run["steps"].as_array().into_iter().flatten() {
            let label = format!("{name}, {} connections", number(step, "/connected"));
            report.figure(
                "connections",
                format!("{label}: RSS per connection / handshake p99 / broadcast p99 / lost"),
                format!(
                    "{:.0} B / {} / {} / {}",
                    number(step, "/server_rss_bytes_per_connection"),
                    ms(number(step, "/handshake/p99_ms")),
                    ms(number(step, "/broadcast_median_p99_ms")),
                    number(step, "/broadcast_lost"),
                ),
            );
        }
    }

    let last = |run: &Value| run["steps"].as_array().and_then(|steps| steps.last()).cloned().unwrap_or(Value::Null);
    let ours_last = last(&ours);
    let connected = number(&ours_last, "/connected");
    let per_connection = number(&ours_last, "/server_rss_bytes_per_connection");
    report.target(
        "connections",
        format!("ours: RSS per connection at {connected} connections"),
        format!("{:.1} KB", per_connection / 1000.0),
        "<= 10 KB",
        per_connection <= RSS_PER_CONNECTION_TARGET,
    );

    let probe = &ours["one_more_connection"];
    let refused = probe["outcome"] == "refused" && probe["status"] == 503;
    report.target(
        "connections",
        format!("ours: connection {} past a limit of {clients}", clients + 1),
        format!(
            "{} {} after {}",
            probe["outcome"].as_str().unwrap_or("not run"),
            probe["status"],
            ms(number(probe, "/answered_ms"))
        ),
        "503",
        refused,
    );

    if let Some(floor) = &floor {
        let floor_last = last(floor);
        let floor_per_connection = number(&floor_last, "/server_rss_bytes_per_connection");
        report.figure("connections", "floor: RSS per connection", format!("{:.1} KB", floor_per_connection / 1000.0));
        report.figure(
            "connections",
            "RSS per connection ours / floor",
            format!("{:.2}x", per_connection / floor_per_connection),
        );

        let ours_p99 = number(&ours_last, "/broadcast_median_p99_ms");
        let floor_p99 = number(&floor_last, "/broadcast_median_p99_ms");
        let ratio = ours_p99 / floor_p99;
        let complete = number(&ours_last, "/broadcast_lost") == 0.0;
        report.target(
            "connections",
            format!("broadcast to {connected} connections, median p99 of {FINAL_BROADCASTS}: ours / floor"),
            format!(
                "{} / {} = {ratio:.2}x, lost {}",
                ms(ours_p99),
                ms(floor_p99),
                number(&ours_last, "/broadcast_lost")
            ),
            format!("<= {BROADCAST_P99_RATIO_TARGET}x, 0 lost"),
            ratio <= BROADCAST_P99_RATIO_TARGET && complete,
        );
    }
    report.results("connections", json!({ "ours": ours, "floor": floor }));
    Ok(())
}
