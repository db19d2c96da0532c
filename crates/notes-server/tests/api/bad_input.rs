//! Malformed, invalid and unauthenticated HTTP requests, one table row each.
//!
//! Every row must get its documented status and error body, and must leave
//! the server healthy with no note or user added or changed.

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestUser, spawn_app};
use crate::support::{
    UNKNOWN_UUID, assert_error_body, assert_unchanged, login_status, sign_with, unsigned_token, valid_claims,
};

/// The body of one table row.
enum Body {
    None,
    /// Sent with `Content-Type: application/json`.
    Json(Value),
    /// Sent with this `Content-Type`, or none.
    Raw {
        content_type: Option<&'static str>,
        bytes: Vec<u8>,
    },
}

/// The credentials of one table row.
enum Auth {
    None,
    /// `Authorization: Bearer <token of the signed-in user>`.
    Bearer,
    /// This exact `Authorization` header value.
    Header(Vec<u8>),
}

/// One request and the response it must get. `code: None` means success.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    auth: Auth,
    body: Body,
    status: StatusCode,
    code: Option<&'static str>,
    field: Option<&'static str>,
}

/// The expected status, error code and error field of a row.
type Expected = (StatusCode, Option<&'static str>, Option<&'static str>);

fn case(
    name: &'static str,
    method: Method,
    path: impl Into<String>,
    auth: Auth,
    body: Body,
    (status, code, field): Expected,
) -> Case {
    Case { name, method, path: path.into(), auth, body, status, code, field }
}

/// Builds a note-create row that fails validation on `field`.
fn create_invalid(name: &'static str, body: Value, field: &'static str) -> Case {
    case(
        name,
        Method::POST,
        "/api/notes",
        Auth::Bearer,
        Body::Json(body),
        (StatusCode::BAD_REQUEST, Some("validation_failed"), Some(field)),
    )
}

/// Builds a note-create row whose body cannot be read as a note.
fn create_unreadable(name: &'static str, body: Body) -> Case {
    case(name, Method::POST, "/api/notes", Auth::Bearer, body, (StatusCode::BAD_REQUEST, Some("invalid_json"), None))
}

/// Builds a registration row that fails validation on `field`.
fn register_invalid(name: &'static str, username: &str, email: &str, password: &str, field: &'static str) -> Case {
    let body = json!({"username": username, "email": email, "password": password});
    case(
        name,
        Method::POST,
        "/api/register",
        Auth::None,
        Body::Json(body),
        (StatusCode::BAD_REQUEST, Some("validation_failed"), Some(field)),
    )
}

/// Builds a `GET /api/notes` row with this `Authorization` value that must get 401.
fn unauthorized(name: &'static str, header: impl Into<Vec<u8>>) -> Case {
    case(
        name,
        Method::GET,
        "/api/notes",
        Auth::Header(header.into()),
        Body::None,
        (StatusCode::UNAUTHORIZED, Some("unauthorized"), None),
    )
}

fn cases(alice: &TestUser, note_id: &str) -> Vec<Case> {
    use Method as M;
    use StatusCode as S;

    let valid_note = json!({"title": "valid title", "content": "valid content"});
    let mut other_secret = b"another-secret-that-is-32-bytes-or-more".to_vec();
    other_secret.reverse();

    vec![
        // Bodies that are not a note at all.
        create_unreadable(
            "malformed JSON",
            Body::Raw { content_type: Some("application/json"), bytes: br#"{"title": "x","#.to_vec() },
        ),
        create_unreadable("title is a number", Body::Json(json!({"title": 5}))),
        create_unreadable("title is null", Body::Json(json!({"title": null}))),
        create_unreadable("content is an array", Body::Json(json!({"title": "t", "content": ["a"]}))),
        create_unreadable("title missing", Body::Json(json!({"content": "no title"}))),
        create_unreadable("empty object", Body::Json(json!({}))),
        create_unreadable("array instead of object", Body::Json(json!([{"title": "t"}]))),
        create_unreadable("empty body", Body::Raw { content_type: Some("application/json"), bytes: Vec::new() }),
        create_unreadable(
            "invalid UTF-8 in a string",
            Body::Raw { content_type: Some("application/json"), bytes: b"{\"title\":\"\xff\"}".to_vec() },
        ),
        // Notes that break a field limit.
        create_invalid("empty title", json!({"title": ""}), "title"),
        create_invalid("whitespace title", json!({"title": " \u{3000} \n "}), "title"),
        create_invalid("title of 201 characters", json!({"title": "t".repeat(201)}), "title"),
        create_invalid("control character in title", json!({"title": "bell\u{7}title"}), "title"),
        create_invalid("line break inside title", json!({"title": "two\nlines"}), "title"),
        create_invalid(
            "content of 100,001 characters",
            json!({"title": "t", "content": "c".repeat(100_001)}),
            "content",
        ),
        create_invalid("NUL in content", json!({"title": "t", "content": "before\u{0}after"}), "content"),
        // Bodies of another media type.
        case(
            "text/plain body",
            M::POST,
            "/api/notes",
            Auth::Bearer,
            Body::Raw { content_type: Some("text/plain"), bytes: valid_note.to_string().into_bytes() },
            (S::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"), None),
        ),
        case(
            "form body",
            M::POST,
            "/api/notes",
            Auth::Bearer,
            Body::Raw { content_type: Some("application/x-www-form-urlencoded"), bytes: b"title=t".to_vec() },
            (S::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"), None),
        ),
        case(
            "no Content-Type",
            M::POST,
            "/api/notes",
            Auth::Bearer,
            Body::Raw { content_type: None, bytes: valid_note.to_string().into_bytes() },
            (S::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"), None),
        ),
        // Registrations that break a field limit.
        register_invalid("email without @", "dave", "dave.example.com", "password-1", "email"),
        register_invalid("email without a dot in the domain", "dave", "dave@localhost", "password-1", "email"),
        register_invalid("email with display name", "dave", "Dave <dave@example.com>", "password-1", "email"),
        register_invalid("email with IP literal", "dave", "dave@[127.0.0.1]", "password-1", "email"),
        register_invalid("email with two @", "dave", "dave@@example.com", "password-1", "email"),
        register_invalid("email with a space", "dave", "da ve@example.com", "password-1", "email"),
        register_invalid("empty email", "dave", "  ", "password-1", "email"),
        register_invalid(
            "email of 255 characters",
            "dave",
            &format!("{}@example.com", "d".repeat(243)),
            "password-1",
            "email",
        ),
        register_invalid("password of 7 bytes", "dave", "dave@example.com", "passwor", "password"),
        register_invalid("password of 72 bytes", "dave", "dave@example.com", &"p".repeat(72), "password"),
        register_invalid(
            "password of 36 two-byte characters",
            "dave",
            "dave@example.com",
            &"\u{e9}".repeat(36),
            "password",
        ),
        register_invalid("username of 65 characters", &"u".repeat(65), "dave@example.com", "password-1", "username"),
        register_invalid("control character in username", "da\u{1}ve", "dave@example.com", "password-1", "username"),
        register_invalid(
            "username of zero-width spaces",
            "\u{200B}\u{200B}\u{FEFF}",
            "dave@example.com",
            "password-1",
            "username",
        ),
        register_invalid("empty username", "   ", "dave@example.com", "password-1", "username"),
        case(
            "register without password",
            M::POST,
            "/api/register",
            Auth::None,
            Body::Json(json!({"username": "dave", "email": "dave@example.com"})),
            (S::BAD_REQUEST, Some("invalid_json"), None),
        ),
        case(
            "login with 72-byte password",
            M::POST,
            "/api/login",
            Auth::None,
            Body::Json(json!({"email": alice.email, "password": "p".repeat(72)})),
            (S::BAD_REQUEST, Some("validation_failed"), Some("password")),
        ),
        case(
            "login with invalid email",
            M::POST,
            "/api/login",
            Auth::None,
            Body::Json(json!({"email": "not an email", "password": "password-1"})),
            (S::BAD_REQUEST, Some("validation_failed"), Some("email")),
        ),
        // Unknown and malformed note ids.
        case(
            "get unknown note",
            M::GET,
            format!("/api/notes/{UNKNOWN_UUID}"),
            Auth::Bearer,
            Body::None,
            (S::NOT_FOUND, Some("not_found"), None),
        ),
        case(
            "update unknown note",
            M::PUT,
            format!("/api/notes/{UNKNOWN_UUID}"),
            Auth::Bearer,
            Body::Json(valid_note.clone()),
            (S::NOT_FOUND, Some("not_found"), None),
        ),
        case(
            "update unknown note by body id",
            M::PUT,
            "/api/notes",
            Auth::Bearer,
            Body::Json(json!({"id": UNKNOWN_UUID, "title": "t"})),
            (S::NOT_FOUND, Some("not_found"), None),
        ),
        case(
            "delete unknown note",
            M::DELETE,
            format!("/api/notes/{UNKNOWN_UUID}"),
            Auth::Bearer,
            Body::None,
            (S::NOT_FOUND, Some("not_found"), None),
        ),
        case(
            "delete unknown note by query",
            M::DELETE,
            format!("/api/notes?id={UNKNOWN_UUID}"),
            Auth::Bearer,
            Body::None,
            (S::NOT_FOUND, Some("not_found"), None),
        ),
        case(
            "get malformed id",
            M::GET,
            "/api/notes/not-a-uuid",
            Auth::Bearer,
            Body::None,
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "get percent-encoded invalid UTF-8 id",
            M::GET,
            "/api/notes/%FF%FE",
            Auth::Bearer,
            Body::None,
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "update malformed id",
            M::PUT,
            "/api/notes/123",
            Auth::Bearer,
            Body::Json(valid_note.clone()),
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "update malformed body id",
            M::PUT,
            "/api/notes",
            Auth::Bearer,
            Body::Json(json!({"id": "123", "title": "t"})),
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "update without body id",
            M::PUT,
            "/api/notes",
            Auth::Bearer,
            Body::Json(valid_note.clone()),
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "update with numeric body id",
            M::PUT,
            "/api/notes",
            Auth::Bearer,
            Body::Json(json!({"id": 7, "title": "t"})),
            (S::BAD_REQUEST, Some("invalid_json"), None),
        ),
        case(
            "delete malformed id",
            M::DELETE,
            format!("/api/notes/{note_id}x"),
            Auth::Bearer,
            Body::None,
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "delete malformed query id",
            M::DELETE,
            "/api/notes?id=not-a-uuid",
            Auth::Bearer,
            Body::None,
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "delete empty query id",
            M::DELETE,
            "/api/notes?id=",
            Auth::Bearer,
            Body::None,
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "delete without query id",
            M::DELETE,
            "/api/notes",
            Auth::Bearer,
            Body::None,
            (S::BAD_REQUEST, Some("validation_failed"), Some("id")),
        ),
        case(
            "delete with repeated query id",
            M::DELETE,
            format!("/api/notes?id={note_id}&id={UNKNOWN_UUID}"),
            Auth::Bearer,
            Body::None,
            (S::BAD_REQUEST, Some("validation_failed"), Some("query")),
        ),
        // Unknown routes and methods.
        case(
            "unknown API route",
            M::GET,
            "/api/nothing-here",
            Auth::Bearer,
            Body::None,
            (S::NOT_FOUND, Some("not_found"), None),
        ),
        case(
            "note sub-path",
            M::GET,
            format!("/api/notes/{note_id}/history"),
            Auth::Bearer,
            Body::None,
            (S::NOT_FOUND, Some("not_found"), None),
        ),
        case(
            "PATCH notes",
            M::PATCH,
            "/api/notes",
            Auth::Bearer,
            Body::Json(valid_note.clone()),
            (S::METHOD_NOT_ALLOWED, Some("method_not_allowed"), None),
        ),
        case(
            "POST note item",
            M::POST,
            format!("/api/notes/{note_id}"),
            Auth::Bearer,
            Body::Json(valid_note.clone()),
            (S::METHOD_NOT_ALLOWED, Some("method_not_allowed"), None),
        ),
        case(
            "GET register",
            M::GET,
            "/api/register",
            Auth::None,
            Body::None,
            (S::METHOD_NOT_ALLOWED, Some("method_not_allowed"), None),
        ),
        case(
            "DELETE me",
            M::DELETE,
            "/api/me",
            Auth::Bearer,
            Body::None,
            (S::METHOD_NOT_ALLOWED, Some("method_not_allowed"), None),
        ),
        case(
            "POST websocket",
            M::POST,
            "/ws",
            Auth::Bearer,
            Body::None,
            (S::METHOD_NOT_ALLOWED, Some("method_not_allowed"), None),
        ),
        // Authorization headers of every shape.
        case(
            "no Authorization",
            M::GET,
            "/api/notes",
            Auth::None,
            Body::None,
            (S::UNAUTHORIZED, Some("unauthorized"), None),
        ),
        unauthorized("Bearer alone", "Bearer"),
        unauthorized("Bearer and a space", "Bearer "),
        unauthorized("Bearer and garbage", "Bearer not.a.token"),
        unauthorized("Basic scheme", "Basic xyz"),
        unauthorized("Basic scheme with a valid token", format!("Basic {}", alice.token)),
        unauthorized("token without a scheme", alice.token.clone()),
        unauthorized("valid token followed by garbage", format!("Bearer {} extra", alice.token)),
        unauthorized("16 KiB value", format!("Bearer {}", "a".repeat(16 * 1024))),
        unauthorized("non-ASCII bytes", b"Bearer \xff\xfe\x80token".to_vec()),
        unauthorized(
            "token signed with another secret",
            format!("Bearer {}", sign_with(&other_secret, &valid_claims(&alice.id))),
        ),
        unauthorized("unsigned alg none token", format!("Bearer {}", unsigned_token(&alice.id))),
        case(
            "lowercase bearer scheme",
            M::GET,
            "/api/notes",
            Auth::Header(format!("bearer {}", alice.token).into_bytes()),
            Body::None,
            (S::OK, None, None),
        ),
        case(
            "uppercase bearer scheme",
            M::GET,
            "/api/notes",
            Auth::Header(format!("BEARER {}", alice.token).into_bytes()),
            Body::None,
            (S::OK, None, None),
        ),
    ]
}

async fn send(app: &crate::helpers::TestApp, user: &TestUser, case: &Case) -> reqwest::Response {
    let mut request = app.client.request(case.method.clone(), app.url(&case.path));
    request = match &case.auth {
        Auth::None => request,
        Auth::Bearer => request.bearer_auth(&user.token),
        Auth::Header(bytes) => request.header(
            reqwest::header::AUTHORIZATION,
            HeaderValue::from_bytes(bytes).expect("test header value is valid"),
        ),
    };
    request = match &case.body {
        Body::None => request,
        Body::Json(value) => request.json(value),
        Body::Raw { content_type, bytes } => {
            let request = match content_type {
                Some(content_type) => request.header(HeaderName::from_static("content-type"), *content_type),
                None => request,
            };
            request.body(bytes.clone())
        }
    };
    request.send().await.unwrap_or_else(|error| panic!("{}: request failed: {error}", case.name))
}

#[actix_web::test]
async fn bad_requests_get_documented_errors() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let observer = app.register("observer").await;
    let note = app.create_note(&alice, "kept", "this note must not change").await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    let before = app.list_notes(&observer).await;

    let cases = cases(&alice, &note_id);
    let mut unauthorized_bodies = Vec::new();
    for case in &cases {
        let response = send(&app, &alice, case).await;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, case.status, "{}: status, body {text}", case.name);

        match case.code {
            Some(code) => {
                let content_type = headers.get("content-type").and_then(|value| value.to_str().ok());
                assert_eq!(content_type, Some("application/json"), "{}: error body is JSON: {text}", case.name);
                let body: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|error| panic!("{}: error body is JSON ({error}): {text}", case.name));
                assert_error_body(&body, code, case.field);
                if status == StatusCode::UNAUTHORIZED {
                    assert_eq!(
                        headers.get("www-authenticate").map(|value| value.as_bytes()),
                        Some(&b"Bearer"[..]),
                        "{}",
                        case.name
                    );
                    unauthorized_bodies.push((case.name, body));
                }
            }
            None => {
                let body: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|error| panic!("{}: body is JSON ({error}): {text}", case.name));
                assert_eq!(body.as_array(), Some(&before), "{}: the list is returned", case.name);
            }
        }
        assert_unchanged(&app, &observer, &before, case.name).await;
    }

    // Every 401 is the same response, whatever was wrong with the credentials.
    let (first_name, first_body) = &unauthorized_bodies[0];
    for (name, body) in &unauthorized_bodies {
        assert_eq!(body, first_body, "401 body of {name} differs from {first_name}");
    }
    assert!(unauthorized_bodies.len() >= 12, "every credential shape was tried");

    // No rejected registration created an account.
    for case in cases.iter().filter(|case| case.path == "/api/register") {
        let Body::Json(body) = &case.body else { continue };
        let (Some(email), Some(password)) = (body["email"].as_str(), body["password"].as_str()) else { continue };
        let status = login_status(&app, email, password).await;
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::BAD_REQUEST,
            "{}: login after a rejected registration got {status}",
            case.name
        );
    }
    assert_eq!(
        login_status(&app, &alice.email, &alice.password).await,
        StatusCode::OK,
        "the existing account still signs in"
    );
}
