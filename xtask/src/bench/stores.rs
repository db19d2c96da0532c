//! The `store` and `http` scenarios: note creation and listing over HTTP.

use serde_json::{Map, Value, json};

use super::Bench;
use super::report::{Report, ms, number};
use super::server::{ServerKind, Store};

/// Clients that create notes at once in the creates runs.
const WRITERS: &str = "16";

/// Target: listing 10,000 notes takes under this many milliseconds (p50).
const LIST_P50_TARGET_MS: f64 = 50.0;

/// Target: SQLite creates at least half as many notes per second as memory.
const SQLITE_SLOWDOWN_TARGET: f64 = 2.0;

/// `store`: for each store, listing latency with 10,000 notes stored, then
/// creates per second for 5 seconds or 20,000 notes.
pub fn store(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let notes = bench.notes.unwrap_or(10_000).to_string();
    let stores: Vec<(String, ServerKind)> = if bench.external.is_some() {
        vec![("external".to_owned(), ServerKind::NOTES_MEMORY)]
    } else {
        [Store::Memory, Store::Sqlite, Store::Postgres]
            .into_iter()
            .map(|store| (store.name().to_owned(), ServerKind::Notes { store, bcrypt_cost: 4 }))
            .collect()
    };

    let mut results = Map::new();
    for (name, kind) in stores {
        let outcome = bench.with_server(kind, |endpoint| {
            // The listing runs first so that it sees exactly `notes` notes;
            // the creates then add to them.
            let list = bench.load(endpoint, &["list", "--notes", &notes, "--requests", "50"])?;
            let creates =
                bench.load(endpoint, &["creates", "--clients", WRITERS, "--seconds", "5", "--max", "20000"])?;
            Ok(json!({ "list": list, "creates": creates }))
        });
        let value = match outcome {
            Ok(value) => value,
            // A store that cannot run (PostgreSQL missing, say) is reported
            // and the other stores still run.
            Err(error) => {
                eprintln!("xtask: store {name} failed: {error:#}");
                report.figure("store", format!("{name}: failed"), format!("{error:#}"));
                results.insert(name, json!({ "error": format!("{error:#}") }));
                continue;
            }
        };

        let per_second = number(&value, "/creates/per_second");
        report.figure("store", format!("{name}: creates/s, 16 clients"), format!("{per_second:.0}"));
        report.figure("store", format!("{name}: create p99"), ms(number(&value, "/creates/latency/p99_ms")));
        let stored = number(&value, "/list/notes_stored");
        let p50 = number(&value, "/list/sequential/latency/p50_ms");
        report.target(
            "store",
            format!("{name}: GET /api/notes p50, {stored:.0} notes"),
            ms(p50),
            format!("< {LIST_P50_TARGET_MS} ms"),
            p50 < LIST_P50_TARGET_MS,
        );
        report.figure(
            "store",
            format!("{name}: GET /api/notes p99, {stored:.0} notes"),
            ms(number(&value, "/list/sequential/latency/p99_ms")),
        );
        results.insert(name, value);
    }

    let rate = |name: &str| results.get(name).map(|value| number(value, "/creates/per_second"));
    if let (Some(memory), Some(sqlite)) = (rate("memory"), rate("sqlite")) {
        let slowdown = memory / sqlite;
        results.insert("memory_over_sqlite_creates".to_owned(), json!(slowdown));
        report.target(
            "store",
            "creates: memory / SQLite",
            format!("{slowdown:.2}x"),
            format!("<= {SQLITE_SLOWDOWN_TARGET}x"),
            slowdown <= SQLITE_SLOWDOWN_TARGET,
        );
    }
    report.results("store", Value::Object(results));
    Ok(())
}

/// Creates per second on the memory store with 16 clients.
const HTTP_CREATES_TARGET: f64 = 20_000.0;
/// `GET /api/notes` p50 with 10,000 notes and one reader, in milliseconds.
const HTTP_LIST_ALONE_TARGET_MS: f64 = 5.0;
/// `GET /api/notes` p50 with 10,000 notes and 16 concurrent readers, in milliseconds.
const HTTP_LIST_READERS_TARGET_MS: f64 = 40.0;

/// `http`: on the memory store, listing latency with each note count, alone
/// and with 16 concurrent readers, then creates per second.
pub fn http(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    let counts: Vec<u64> = match bench.notes {
        Some(notes) => vec![notes],
        None => vec![10_000, 100_000],
    };
    let value = bench.with_server(ServerKind::NOTES_MEMORY, |endpoint| {
        let mut lists = Vec::new();
        for &count in &counts {
            // Fewer requests for large stores keep the run short.
            let (requests, reader_requests) = if count > 20_000 { ("20", "3") } else { ("50", "5") };
            let notes = count.to_string();
            let arguments = [
                "list",
                "--notes",
                &notes,
                "--requests",
                requests,
                "--readers",
                "16",
                "--reader-requests",
                reader_requests,
            ];
            lists.push(bench.load(endpoint, &arguments)?);
        }
        let creates = bench.load(endpoint, &["creates", "--clients", WRITERS, "--seconds", "5", "--max", "20000"])?;
        Ok(json!({ "lists": lists, "creates": creates }))
    })?;

    let creates = number(&value, "/creates/per_second");
    report.target(
        "http",
        "creates/s, 16 clients (memory)",
        format!("{creates:.0}"),
        format!(">= {HTTP_CREATES_TARGET:.0}"),
        creates >= HTTP_CREATES_TARGET,
    );
    for list in value["lists"].as_array().into_iter().flatten() {
        let stored = number(list, "/notes_stored");
        let megabytes = number(list, "/response_bytes") / 1e6;
        let p50 = number(list, "/sequential/latency/p50_ms");
        let concurrent_p50 = number(list, "/concurrent/latency/p50_ms");
        let label = format!("{stored:.0} notes ({megabytes:.1} MB)");
        if stored <= 10_000.0 {
            report.target(
                "http",
                format!("list {label}: alone p50"),
                ms(p50),
                format!("< {HTTP_LIST_ALONE_TARGET_MS} ms"),
                p50 < HTTP_LIST_ALONE_TARGET_MS,
            );
            report.target(
                "http",
                format!("list {label}: 16 readers p50"),
                ms(concurrent_p50),
                format!("< {HTTP_LIST_READERS_TARGET_MS} ms"),
                concurrent_p50 < HTTP_LIST_READERS_TARGET_MS,
            );
        } else {
            report.figure("http", format!("list {label}: alone p50"), ms(p50));
            report.figure("http", format!("list {label}: 16 readers p50"), ms(concurrent_p50));
        }
        report.figure("http", format!("list {label}: alone p99"), ms(number(list, "/sequential/latency/p99_ms")));
        report.figure("http", format!("list {label}: 16 readers p99"), ms(number(list, "/concurrent/latency/p99_ms")));
        report.figure(
            "http",
            format!("list {label}: 16 readers req/s"),
            format!("{:.1}", number(list, "/concurrent/per_second")),
        );
    }
    report.results("http", value);
    Ok(())
}
