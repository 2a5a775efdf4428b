//! The `/v1` endpoints: each turns its path and query string (checked by [`Params`]) into
//! an API request, lets the engine answer on a blocking thread, and returns the API
//! response as JSON (or the error as `{"error": {"code", "message"}}` with its status).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::params::Params;
use crate::api::{
    BriefRequest, ErrorBody, NoteRequest, RecentRequest, ReinforceRequest, RelatedRequest, RememberRequest,
    SearchRequest,
};
use crate::calls::{CallError, Calls};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind};

type Shared = AxState<Arc<Calls>>;

pub fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(ErrorBody::new(code, message))).into_response()
}

fn engine_error(e: &Error) -> Response {
    let (status, code) = match e.kind() {
        ErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "bad_request"),
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        ErrorKind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
        ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    error_response(status, code, e.to_string())
}

/// Runs `call` through the one request path ([`Calls`]), the answer as JSON.
async fn answer<T, F>(calls: &Calls, call: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Engine) -> crate::error::Result<T> + Send + 'static,
{
    match calls.run(call).await {
        Ok(value) => Json(value).into_response(),
        Err(CallError::Engine(e)) => engine_error(&e),
        Err(e @ CallError::Timeout(_)) => {
            error_response(StatusCode::SERVICE_UNAVAILABLE, "timeout", e.to_string())
        }
        Err(e @ CallError::Failed(_)) => {
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        }
    }
}

pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"ok": true}))
}

pub async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /v1/search, /v1/related, /v1/notes, /v1/recent, /v1/brief, /v1/status, /mcp"
            .into(),
    )
}

/// The `/v1` endpoints answer `GET`, but for the writes (`POST /v1/notes`,
/// `POST /v1/notes/{id}/reinforce`).
pub async fn method_not_allowed(method: Method) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed here: the /v1 endpoints answer GET, but POST /v1/notes and \
             POST /v1/notes/ID/reinforce (MCP is POST /mcp)"
        ),
    )
}

/// A write to a server started without `--allow-write`.
pub async fn write_refused() -> Response {
    engine_error(&Error::Forbidden(
        "this server does not write to the vault: start it with --allow-write to offer remember and reinforce".into(),
    ))
}

/// A JSON request body as an API request, with the same message as any bad parameter.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> crate::error::Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Usage(format!("the body is not {what}: {e}")))
}

/// `POST /v1/notes` with a JSON body: `{"title", "body", "tags", "links", "strength",
/// "folder", "force"}`.
pub async fn remember(state: Shared, RawQuery(raw): RawQuery, body: axum::body::Bytes) -> Response {
    let build = || {
        Params::parse(raw.as_deref(), &[])?;
        json_body::<RememberRequest>(&body, "a memory (JSON with title and body)")
    };
    checked(&state.0, build, Engine::remember).await
}

/// `POST /v1/notes/{id}/reinforce`, optionally with `{"strength": S}`.
pub async fn reinforce(
    state: Shared,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let build = || {
        Params::parse(raw.as_deref(), &[])?;
        let Some(note) = path.strip_suffix("/reinforce") else {
            return Err(Error::Usage(
                "POST a note's reinforce: /v1/notes/ID/reinforce (new notes: POST /v1/notes)".into(),
            ));
        };
        #[derive(serde::Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct Body {
            strength: Option<f32>,
        }
        let b: Body = match body.iter().all(u8::is_ascii_whitespace) {
            true => Body::default(),
            false => json_body(&body, "JSON like {\"strength\": 0.9}")?,
        };
        Ok(ReinforceRequest {
            note: note.to_string(),
            strength: b.strength,
        })
    };
    checked(&state.0, build, Engine::reinforce).await
}

pub async fn brief(state: Shared, RawQuery(raw): RawQuery) -> Response {
    let build = || {
        let p = Params::parse(raw.as_deref(), &["topic", "budget"])?;
        Ok(BriefRequest {
            topic: p.text("topic"),
            budget: p.budget()?,
        })
    };
    checked(&state.0, build, Engine::brief).await
}

/// Answers a request whose parameters `build` checks and turns into the engine's call.
async fn checked<R, T>(
    calls: &Calls,
    build: impl FnOnce() -> crate::error::Result<R>,
    call: fn(&Engine, &R) -> crate::error::Result<T>,
) -> Response
where
    R: Send + 'static,
    T: Serialize + Send + 'static,
{
    match build() {
        Ok(req) => answer(calls, move |e| call(e, &req)).await,
        Err(e) => engine_error(&e),
    }
}

pub async fn search(state: Shared, RawQuery(raw): RawQuery) -> Response {
    let build = || {
        let known = [
            "q",
            "query",
            "limit",
            "offset",
            "fields",
            "mode",
            "since",
            "before",
            "recent",
            "min_score",
            "exact",
            "explain",
        ];
        let p = Params::parse(raw.as_deref(), &known)?;
        let query = match (p.text("q"), p.text("query")) {
            (Some(_), Some(_)) => return Err(Error::Usage("give `q` or `query`, not both".into())),
            (Some(q), None) | (None, Some(q)) => q,
            (None, None) => p.required("q", "the query to search for")?,
        };
        Ok(SearchRequest {
            query,
            limit: p.limit()?,
            offset: p.offset()?,
            fields: p.fields()?,
            mode: p.mode()?,
            since: p.text("since"),
            before: p.text("before"),
            recent: p.text("recent"),
            min_score: p.min_score()?,
            exact: p.flag("exact")?,
            explain: p.flag("explain")?,
            ..SearchRequest::default()
        })
    };
    checked(&state.0, build, Engine::search).await
}

pub async fn related_note(state: Shared, Path(note): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let build = || {
        let p = Params::parse(
            raw.as_deref(),
            &["limit", "offset", "fields", "unlinked", "explain"],
        )?;
        Ok(RelatedRequest {
            note: Some(note),
            limit: p.limit()?,
            offset: p.offset()?,
            fields: p.fields()?,
            unlinked: p.flag("unlinked")?,
            explain: p.flag("explain")?,
            ..RelatedRequest::default()
        })
    };
    checked(&state.0, build, Engine::related).await
}

pub async fn related_text(state: Shared, RawQuery(raw): RawQuery) -> Response {
    let build = || {
        let p = Params::parse(
            raw.as_deref(),
            &["text", "note", "limit", "offset", "fields", "unlinked", "explain"],
        )?;
        Ok(RelatedRequest {
            note: p.text("note"),
            text: p.text("text"),
            limit: p.limit()?,
            offset: p.offset()?,
            fields: p.fields()?,
            unlinked: p.flag("unlinked")?,
            explain: p.flag("explain")?,
            ..RelatedRequest::default()
        })
    };
    checked(&state.0, build, Engine::related).await
}

pub async fn note(state: Shared, Path(note): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let build = || {
        let p = Params::parse(raw.as_deref(), &["section", "lines", "max_chars"])?;
        Ok(NoteRequest {
            note,
            section: p.text("section"),
            lines: p.text("lines"),
            max_chars: p.max_chars()?,
            ..NoteRequest::default()
        })
    };
    checked(&state.0, build, Engine::note).await
}

pub async fn recent(state: Shared, RawQuery(raw): RawQuery) -> Response {
    let build = || {
        let p = Params::parse(raw.as_deref(), &["limit", "offset", "tag", "path"])?;
        Ok(RecentRequest {
            limit: p.limit()?,
            offset: p.offset()?,
            tag: p.text("tag"),
            path: p.text("path"),
        })
    };
    checked(&state.0, build, Engine::recent).await
}

pub async fn status(state: Shared, RawQuery(raw): RawQuery) -> Response {
    let build = || Params::parse(raw.as_deref(), &[]).map(|_| ());
    checked(&state.0, build, |e, _| e.status()).await
}
