//! Registration, login, logout and the current user.

use actix_web::{HttpRequest, HttpResponse, web};
use notes_core::{Email, Password, Registration, StoredUser, User};
use serde::{Deserialize, Serialize};

use crate::auth::{AuthUser, expired_session_cookie, session_cookie};
use crate::error::ApiError;
use crate::state::AppState;

/// Body of `POST /api/register`.
#[derive(Deserialize)]
pub struct RegisterBody {
    username: String,
    email: String,
    password: String,
}

/// Body of `POST /api/login`.
#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

/// Response of register and login.
#[derive(Serialize)]
struct SessionResponse<'a> {
    token: &'a str,
    user: &'a User,
}

fn is_https(request: &HttpRequest) -> bool {
    request.connection_info().scheme() == "https"
}

fn signed_in(
    state: &AppState,
    request: &HttpRequest,
    user: &User,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let issued = state.tokens.issue(user.id).map_err(ApiError::internal)?;
    let max_age = i64::try_from(state.tokens.ttl().as_secs()).unwrap_or(i64::MAX);
    Ok(HttpResponse::build(status)
        .cookie(session_cookie(&issued, max_age, is_https(request)))
        .json(SessionResponse { token: &issued.token, user }))
}

/// `POST /api/register`: creates a user and signs it in.
pub async fn register(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.auth.check(&state.client_ip(&request))?;
    let body = body.into_inner();
    let registration = Registration::new(&body.username, &body.email, body.password)?;

    let password = registration.password;
    let hash = state.hashing.run(move |hasher| hasher.hash(&password)).await?.map_err(ApiError::internal)?;
    let stored = StoredUser::new(registration.username.into_string(), &registration.email, hash);
    state.store.create_user(stored.clone()).await?;

    tracing::info!(user_id = %stored.user.id, "user registered");
    signed_in(&state, &request, &stored.user, actix_web::http::StatusCode::CREATED)
}

/// `POST /api/login`: checks an email and password and signs the user in.
///
/// An unknown email costs the same bcrypt work as a wrong password and gets
/// the same response, so neither timing nor body tells whether an email is
/// registered.
pub async fn login(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.auth.check(&state.client_ip(&request))?;
    let body = body.into_inner();
    let email = Email::parse(&body.email)?;
    let password = Password::for_login(body.password)?;

    let stored = state.store.user_by_email(&email).await?;
    let verified = match stored.clone() {
        Some(user) => state
            .hashing
            .run(move |hasher| hasher.verify(&password, &user.password_hash))
            .await?
            .unwrap_or_else(|error| {
                tracing::error!(error = %error, "stored password hash could not be read; treating the login as failed");
                false
            }),
        None => state.hashing.run(move |hasher| hasher.verify_dummy(&password)).await?,
    };

    match stored {
        Some(user) if verified => {
            tracing::info!(user_id = %user.user.id, "user signed in");
            signed_in(&state, &request, &user.user, actix_web::http::StatusCode::OK)
        }
        _ => {
            tracing::debug!("login failed");
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// `POST /api/logout`: removes the session cookie. Bearer tokens stay valid
/// until they expire, because tokens are not stored on the server.
pub async fn logout(request: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .cookie(expired_session_cookie(is_https(&request)))
        .json(serde_json::json!({"message": "signed out"}))
}

/// `GET /api/me`: the signed-in user.
pub async fn me(auth: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(auth.user)
}
