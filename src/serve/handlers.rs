//! The `/v1` endpoints: each turns its path and query string into an API request, lets
//! the engine answer on a blocking thread, and returns the API response as JSON (or the
//! error as `{"error": {"code", "message"}}` with its status).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State as AxState};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{State, CALL_TIMEOUT};
use crate::api::{ErrorBody, NoteRequest, RecentRequest, RelatedRequest, SearchRequest};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind};

type Shared = AxState<Arc<State>>;

pub fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(ErrorBody::new(code, message))).into_response()
}

fn engine_error(e: &Error) -> Response {
    let (status, code) = match e.kind() {
        ErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "bad_request"),
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        ErrorKind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    error_response(status, code, e.to_string())
}

/// A query string as an API request; one that does not parse is a 400 in our format.
pub struct ApiQuery<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                rejection.body_text(),
            )),
        }
    }
}

/// Runs `call` on a blocking thread, within the limits on calls at once and on time.
async fn answer<T, F>(state: &Arc<State>, call: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Engine) -> crate::error::Result<T> + Send + 'static,
{
    let work = async {
        let _permit = state.running.acquire().await;
        let engine = Arc::clone(&state.engine);
        tokio::task::spawn_blocking(move || call(&engine)).await
    };
    match tokio::time::timeout(CALL_TIMEOUT, work).await {
        Ok(Ok(Ok(value))) => Json(value).into_response(),
        Ok(Ok(Err(e))) => engine_error(&e),
        Ok(Err(e)) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the request failed: {e}"),
        ),
        Err(_) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("no answer within {} s; try again", CALL_TIMEOUT.as_secs()),
        ),
    }
}

pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"ok": true}))
}

pub async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /v1/search, /v1/related, /v1/notes, /v1/recent, /v1/status, /mcp".into(),
    )
}

pub async fn search(state: Shared, ApiQuery(req): ApiQuery<SearchRequest>) -> Response {
    answer(&state.0, move |e| e.search(&req)).await
}

/// `/v1/related/{note}` takes no `note` or `text` in its query string.
#[derive(Deserialize)]
pub struct RelatedParams {
    limit: Option<usize>,
    #[serde(default)]
    unlinked: bool,
    #[serde(default)]
    explain: bool,
}

pub async fn related_note(
    state: Shared,
    Path(note): Path<String>,
    ApiQuery(p): ApiQuery<RelatedParams>,
) -> Response {
    let req = RelatedRequest {
        note: Some(note),
        limit: p.limit,
        unlinked: p.unlinked,
        explain: p.explain,
        ..RelatedRequest::default()
    };
    answer(&state.0, move |e| e.related(&req)).await
}

pub async fn related_text(state: Shared, ApiQuery(req): ApiQuery<RelatedRequest>) -> Response {
    answer(&state.0, move |e| e.related(&req)).await
}

#[derive(Deserialize)]
pub struct NoteParams {
    section: Option<String>,
}

pub async fn note(state: Shared, Path(note): Path<String>, ApiQuery(p): ApiQuery<NoteParams>) -> Response {
    let req = NoteRequest {
        note,
        section: p.section,
        ..NoteRequest::default()
    };
    answer(&state.0, move |e| e.note(&req)).await
}

pub async fn recent(state: Shared, ApiQuery(req): ApiQuery<RecentRequest>) -> Response {
    answer(&state.0, move |e| e.recent(&req)).await
}

pub async fn status(state: Shared) -> Response {
    answer(&state.0, |e| e.status()).await
}
