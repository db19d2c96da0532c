//! Note routes: list, read, create, update, delete.
//!
//! Both route forms behave the same: `PUT /api/notes` with the id in the body
//! and `PUT /api/notes/{id}`, `DELETE /api/notes?id=ID` and
//! `DELETE /api/notes/{id}`. Owner and id fields in a body are ignored
//! except for the body id of `PUT /api/notes`, which names the note.

use std::future::Future;

use actix_web::http::header;
use actix_web::mime;
use actix_web::{HttpResponse, web};
use notes_core::{NewNote, NoteId, NoteUpdate, UserId};
use notes_store::{Committed, PageCursor, StoreError};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Body of `POST /api/notes`.
#[derive(Deserialize)]
pub struct CreateBody {
    title: String,
    #[serde(default)]
    content: String,
}

/// Body of `PUT /api/notes` and `PUT /api/notes/{id}`.
#[derive(Deserialize)]
pub struct UpdateBody {
    #[serde(default)]
    id: Option<String>,
    title: String,
    #[serde(default)]
    content: String,
    /// The version the client edited; omitted by clients that predate versions.
    #[serde(default)]
    version: Option<u64>,
}

/// Query of `DELETE /api/notes?id=ID`.
#[derive(Deserialize)]
pub struct IdQuery {
    id: Option<String>,
}

fn parse_id(raw: Option<&str>) -> Result<NoteId, ApiError> {
    let raw = raw.ok_or(ApiError::InvalidParameter { field: "id", message: "id is required".into() })?;
    raw.trim().parse().map_err(|_| ApiError::InvalidParameter {
        field: "id",
        message: format!("id must be a UUID, got {:?}", truncate(raw, 64)),
    })
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Runs a store write and publishes its event, in a task of its own.
///
/// A handler's future is dropped when its client disconnects. Running the
/// write and the publish in a spawned task means that a committed write is
/// always published, whatever happens to the request.
async fn commit<F>(state: &AppState, actor: UserId, write: F) -> Result<Committed, ApiError>
where
    F: Future<Output = Result<Committed, StoreError>> + 'static,
{
    state.rate_limits.writes.check(&actor)?;
    let hub = state.hub.clone();
    let task = actix_web::rt::spawn(async move {
        let committed = write.await?;
        hub.do_send(notes_hub::Publish { event: committed.event.clone() });
        Ok::<_, StoreError>(committed)
    });
    Ok(task.await.map_err(ApiError::internal)??)
}

/// Query of `GET /api/notes`.
#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Largest page that `GET /api/notes?limit=N` returns.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Page size when a cursor is given without a limit.
const DEFAULT_PAGE_SIZE: usize = 100;

/// Encodes a cursor as `<updated_at in microseconds>_<id>`. Clients treat it
/// as opaque text.
fn encode_cursor(cursor: &PageCursor) -> String {
    format!("{}_{}", cursor.updated_at.timestamp_micros(), cursor.id)
}

fn decode_cursor(text: &str) -> Result<PageCursor, ApiError> {
    let invalid = || ApiError::InvalidParameter {
        field: "cursor",
        message: "cursor is not one that this server returned; start again without a cursor".into(),
    };
    let (micros, id) = text.split_once('_').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let updated_at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    let id = id.parse().map_err(|_| invalid())?;
    Ok(PageCursor { updated_at, id })
}

fn parse_limit(text: &str) -> Result<usize, ApiError> {
    match text.trim().parse::<usize>() {
        Ok(limit) if (1..=MAX_PAGE_SIZE).contains(&limit) => Ok(limit),
        _ => Err(ApiError::InvalidParameter {
            field: "limit",
            message: format!("limit must be a whole number from 1 to {MAX_PAGE_SIZE}"),
        }),
    }
}

/// `GET /api/notes`: every note, newest first.
///
/// With `limit` or `cursor` it returns one page, and a `Link` header with
/// `rel="next"` when the page is full. Without them it returns everything,
/// as clients written before paging expect.
pub async fn list_notes(
    state: web::Data<AppState>,
    _auth: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    if query.limit.is_none() && query.cursor.is_none() {
        let list = state.list_cache.get(&*state.store).await?;
        return Ok(HttpResponse::Ok().content_type(mime::APPLICATION_JSON).body(list.body));
    }

    let limit = query.limit.as_deref().map(parse_limit).transpose()?.unwrap_or(DEFAULT_PAGE_SIZE);
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let notes = state.store.list_notes_page(after, limit).await?;

    let mut response = HttpResponse::Ok();
    if let Some(last) = notes.last().filter(|_| notes.len() == limit) {
        let next = encode_cursor(&PageCursor::after(last));
        response.insert_header((header::LINK, format!("</api/notes?limit={limit}&cursor={next}>; rel=\"next\"")));
    }
    Ok(response.json(notes))
}

/// `GET /api/notes/{id}`.
pub async fn get_note(
    state: web::Data<AppState>,
    _auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(Some(&path))?;
    Ok(HttpResponse::Ok().json(state.store.get_note(id).await?))
}

/// `POST /api/notes`: creates a note owned by the caller.
pub async fn create_note(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let input = NewNote::new(&body.title, &body.content)?;
    let store = state.store.clone();
    let owner = auth.user;
    let committed = commit(&state, owner.id, async move { store.create_note(&owner, input).await }).await?;
    tracing::info!(note_id = %committed.note.id, seq = committed.event.seq, "note created");
    Ok(HttpResponse::Created().json(committed.note))
}

async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: NoteId,
    body: UpdateBody,
) -> Result<HttpResponse, ApiError> {
    let update = NoteUpdate::new(&body.title, &body.content, body.version)?;
    let store = state.store.clone();
    let actor = auth.user.id;
    let committed = commit(&state, actor, async move { store.update_note(actor, id, update).await }).await?;
    tracing::info!(note_id = %id, seq = committed.event.seq, version = committed.note.version, "note updated");
    Ok(HttpResponse::Ok().json(committed.note))
}

/// `PUT /api/notes`: updates the note named by the body's id.
pub async fn update_note_by_body(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: web::Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let id = parse_id(body.id.as_deref())?;
    update(state, auth, id, body).await
}

/// `PUT /api/notes/{id}`: updates the note named by the path.
pub async fn update_note(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<String>,
    body: web::Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(Some(&path))?;
    update(state, auth, id, body.into_inner()).await
}

async fn delete(state: web::Data<AppState>, auth: AuthUser, id: NoteId) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let actor = auth.user.id;
    let committed = commit(&state, actor, async move { store.delete_note(actor, id).await }).await?;
    tracing::info!(note_id = %id, seq = committed.event.seq, "note deleted");
    Ok(HttpResponse::Ok().json(serde_json::json!({"message": "note deleted", "id": id})))
}

/// `DELETE /api/notes?id=ID`.
pub async fn delete_note_by_query(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<IdQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(query.id.as_deref())?;
    delete(state, auth, id).await
}

/// `DELETE /api/notes/{id}`.
pub async fn delete_note(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(Some(&path))?;
    delete(state, auth, id).await
}
