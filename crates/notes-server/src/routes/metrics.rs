//! `GET /metrics`: counters in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// `GET /metrics`: the WebSocket hub's counters of this server, then the
/// request and store series of the process-wide recorder.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let stats = &state.hub_stats;
    let series: [(&str, &str, &str, &AtomicU64); 6] = [
        ("notes_ws_sessions", "gauge", "WebSocket sessions joined to the hub", &stats.live_sessions),
        (
            "notes_ws_events_broadcast_total",
            "counter",
            "Change events delivered in order by the hub",
            &stats.events_broadcast,
        ),
        ("notes_ws_deliveries_total", "counter", "Messages handed to session outboxes", &stats.deliveries),
        (
            "notes_ws_deliveries_dropped_total",
            "counter",
            "Messages not delivered because an outbox was full or closed",
            &stats.deliveries_dropped,
        ),
        (
            "notes_ws_slow_client_closes_total",
            "counter",
            "Sessions closed with 4008 because they fell behind",
            &stats.slow_client_closes,
        ),
        (
            "notes_ws_sequence_gaps_total",
            "counter",
            "Times the hub skipped a missing sequence number",
            &stats.sequence_gaps,
        ),
    ];

    let mut body = String::new();
    for (name, kind, help, value) in series {
        let _ = writeln!(body, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}", value.load(Ordering::Relaxed));
    }
    let _ = writeln!(
        body,
        "# HELP notes_ws_connections WebSocket connections counted against the limits\n# TYPE notes_ws_connections gauge\nnotes_ws_connections {}",
        state.connections.total()
    );
    if let Some(handle) = crate::observability::prometheus() {
        handle.run_upkeep();
        body.push_str(&handle.render());
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}
