//! The authenticated-user extractor and the session cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use notes_auth::{Claims, IssuedToken};
use notes_core::{User, UserId};

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the httpOnly cookie that carries the token for the web app.
pub const SESSION_COOKIE: &str = "notes_session";

/// The signed-in user of a request, with the claims of its token.
///
/// The token comes from `Authorization: Bearer`, or from the session cookie
/// that login and register set for browsers. Every failure is the same 401;
/// the reason is logged at debug level.
#[derive(Clone, Debug)]
pub struct AuthUser {
    /// The user, as currently stored.
    pub user: User,
    /// The validated claims, including the expiry.
    pub claims: Claims,
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let Some(state) = request.app_data::<web::Data<AppState>>() else {
                return Err(ApiError::internal(anyhow::anyhow!("BUG: application state is missing")));
            };
            let token = bearer_token(&request).or_else(|| cookie_token(&request)).ok_or_else(|| {
                tracing::debug!("no token in the Authorization header or the session cookie");
                ApiError::Unauthorized
            })?;
            authenticate(state, &token, &request).await
        })
    }
}

/// Validates a token, loads its user and records the user id on the request
/// for the access log.
pub async fn authenticate(state: &AppState, token: &str, request: &HttpRequest) -> Result<AuthUser, ApiError> {
    let claims = state.tokens.validate(token).map_err(|error| {
        tracing::debug!(error = %error, "token rejected");
        ApiError::Unauthorized
    })?;
    let user = state.store.user_by_id(claims.sub).await?.ok_or_else(|| {
        tracing::debug!(user_id = %claims.sub, "token names a user that does not exist");
        ApiError::Unauthorized
    })?;
    request.extensions_mut().insert(user.id);
    Ok(AuthUser { user, claims })
}

/// Reads `Authorization: Bearer <token>`. The scheme is case-insensitive; a
/// header of any other form, length or encoding yields no token.
pub fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

fn cookie_token(request: &HttpRequest) -> Option<String> {
    request.cookie(SESSION_COOKIE).map(|cookie| cookie.value().to_owned()).filter(|value| !value.is_empty())
}

/// Builds the session cookie for a freshly issued token. It is httpOnly, so
/// page scripts cannot read it, and SameSite=Strict, so other sites cannot
/// make the browser send it. `secure` is set when the request came over HTTPS.
pub fn session_cookie(issued: &IssuedToken, max_age_seconds: i64, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, issued.token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_seconds))
        .finish()
}

/// Builds a cookie that removes the session cookie.
pub fn expired_session_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie =
        Cookie::build(SESSION_COOKIE, "").path("/").http_only(true).same_site(SameSite::Strict).secure(secure).finish();
    cookie.make_removal();
    cookie
}

/// Returns the user id recorded on a request by [`authenticate`], if any.
pub fn request_user_id(request: &HttpRequest) -> Option<UserId> {
    request.extensions().get::<UserId>().copied()
}
