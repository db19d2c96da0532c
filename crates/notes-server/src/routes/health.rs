//! Liveness and readiness.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// `GET /healthz` and `GET /readyz`: 200 when the store answers, 503 otherwise.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ok", "store": state.store.kind()})),
        Err(error) => {
            tracing::warn!(error = %error, store = state.store.kind(), "health check failed: the store does not answer");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({
                "error": {"code": "unavailable", "message": "the store does not answer"}
            }))
        }
    }
}
