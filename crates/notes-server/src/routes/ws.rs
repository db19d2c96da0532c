//! `GET /ws`: the WebSocket upgrade.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{SESSION_COOKIE, authenticate, bearer_token};
use crate::error::ApiError;
use crate::state::AppState;

/// Checks the `Origin` header against the allowed origins.
///
/// Browsers always send `Origin` on a WebSocket upgrade, so a request from a
/// foreign page is rejected here even though it carries the session cookie.
/// A request without `Origin` comes from a program, not a browser page, and
/// is allowed: it must still present a valid token. `Origin: null` (sandboxed
/// frames, local files) is rejected.
fn check_origin(state: &AppState, request: &HttpRequest) -> Result<(), ApiError> {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let allowed = origin.to_str().is_ok_and(|origin| state.allowed_origins.iter().any(|allowed| allowed == origin));
    if allowed {
        Ok(())
    } else {
        tracing::warn!(origin = ?origin, "websocket upgrade from a foreign origin rejected");
        Err(ApiError::Forbidden("this origin may not open a WebSocket to this server"))
    }
}

/// Finds the token: `Authorization: Bearer`, then `?token=` (browsers cannot
/// set headers on a WebSocket), then the session cookie.
fn upgrade_token(request: &HttpRequest) -> Option<String> {
    if let Some(token) = bearer_token(request) {
        return Some(token);
    }
    let query = web::Query::<HashMap<String, String>>::from_query(request.query_string()).ok();
    if let Some(token) = query.and_then(|query| query.get("token").cloned()).filter(|token| !token.is_empty()) {
        return Some(token);
    }
    request.cookie(SESSION_COOKIE).map(|cookie| cookie.value().to_owned()).filter(|token| !token.is_empty())
}

/// `GET /ws`: authenticates, checks the origin, takes a snapshot and starts a
/// session actor. Every rejection happens before the 101 response.
pub async fn websocket(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    check_origin(&state, &request)?;
    let token = upgrade_token(&request).ok_or_else(|| {
        tracing::debug!("websocket upgrade without a token");
        ApiError::Unauthorized
    })?;
    let auth = authenticate(&state, &token, &request).await?;
    let guard = state.connections.acquire(auth.user.id)?;

    // The snapshot message is shared through the list cache, so a burst of
    // reconnects neither serializes every note nor copies the message once
    // per client.
    let list = state.list_cache.get(&*state.store).await?;
    let snapshot = (list.snapshot_message(), list.seq);

    let (response, ws, stream) = actix_ws::handle(&request, body).map_err(|error| {
        tracing::debug!(error = %error, "invalid websocket handshake");
        ApiError::InvalidParameter { field: "upgrade", message: "expected a WebSocket upgrade request".into() }
    })?;

    let expires_in = Duration::from_secs(auth.claims.exp.saturating_sub(notes_auth::unix_now()));
    notes_hub::Session::start(
        auth.user.id,
        state.hub.clone(),
        state.session_settings.clone(),
        snapshot,
        Some(expires_in),
        Some(Box::new(guard)),
        ws,
        stream,
    );
    Ok(response)
}
