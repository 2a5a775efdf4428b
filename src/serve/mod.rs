//! The HTTP face: `recall serve`, a JSON API and MCP (streamable HTTP at `/mcp`) over one
//! warm [`Engine`].
//!
//! Safe by default. It binds loopback only unless a token is set (then every request
//! needs `Authorization: Bearer TOKEN`, compared in constant time). Any web page a user
//! opens can reach a loopback port, so requests are answered only when their `Host` is a
//! loopback name or one this server was told about (DNS rebinding), and when they carry
//! an `Origin`, only a loopback one; no CORS header is ever sent. Requests are bounded:
//! body and query size, results per call, time per call, and calls running at once.
//!
//! The handlers (`handlers`) are thin: a query string becomes an API request, the
//! engine answers on a blocking thread, errors become `{"error": {"code", "message"}}`.

mod guard;
mod handlers;
mod params;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::calls::Calls;
use crate::engine::Engine;
use crate::error::Error;
use crate::mcp::RecallMcp;

/// Largest request body accepted (MCP calls are small JSON documents).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Required as `Authorization: Bearer TOKEN` when set.
    pub token: Option<String>,
    /// Host names (besides loopback ones and the listen address) requests may carry.
    pub allow_hosts: Vec<String>,
    /// Longest a call may take (waiting for its turn included) before the client gets a
    /// 503 `timeout` (an error result over MCP).
    pub timeout: Duration,
    /// Offer the writes (`POST /v1/notes`, `.../reinforce`, the MCP write tools).
    pub allow_write: bool,
}

impl ServeConfig {
    /// Checks the configuration: a non-loopback address needs a token.
    pub fn check(&self) -> Result<(), Error> {
        if !self.listen.ip().is_loopback() && self.token.as_deref().is_none_or(str::is_empty) {
            return Err(Error::Usage(format!(
                "refusing to listen on {} without --token: anyone who can reach it could read your notes; \
                 bind a loopback address (127.0.0.1) or set --token",
                self.listen.ip()
            )));
        }
        if self.token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err(Error::Usage("--token must be at least 16 characters".into()));
        }
        Ok(())
    }
}

/// `HOST:PORT`, `[IPv6]:PORT` or `localhost:PORT`.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    match s.rsplit_once(':') {
        Some(("localhost", port)) => port
            .parse::<u16>()
            .map(|p| SocketAddr::new(IpAddr::from([127, 0, 0, 1]), p))
            .map_err(|_| format!("bad port in `{s}`")),
        _ => Err(format!(
            "`{s}` is not an address; write HOST:PORT, like 127.0.0.1:7777"
        )),
    }
}

/// The whole HTTP application: API routes, `/mcp`, the guard in front of both.
pub fn app(engine: Arc<Engine>, config: &ServeConfig) -> Router {
    let guard = Arc::new(guard::Guard::new(config));
    let mut mcp_config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true);
    // Our guard checks hosts first (answering in our JSON); rmcp's own check, which knows
    // only loopback names, must not refuse what ours allowed.
    mcp_config.allowed_hosts = guard.allowed_hosts();
    mcp_config.max_request_body_bytes = MAX_BODY_BYTES;
    // `/v1` and `/mcp` share one cap on calls at once.
    let calls = Arc::new(Calls::for_server(engine, config.timeout));
    let (remember, reinforce) = match config.allow_write {
        true => (post(handlers::remember), post(handlers::reinforce)),
        false => (post(handlers::write_refused), post(handlers::write_refused)),
    };
    let mcp_calls = Arc::clone(&calls);
    let mcp = StreamableHttpService::new(
        {
            let allow_write = config.allow_write;
            move || Ok(RecallMcp::new(Arc::clone(&mcp_calls), allow_write))
        },
        Arc::new(NeverSessionManager::default()),
        mcp_config,
    );
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/v1/search", get(handlers::search))
        .route("/v1/related", get(handlers::related_text))
        .route("/v1/related/{*note}", get(handlers::related_note))
        .route("/v1/notes", remember)
        .route("/v1/notes/{*note}", reinforce.get(handlers::note))
        .route("/v1/brief", get(handlers::brief))
        .route("/v1/recent", get(handlers::recent))
        .route("/v1/status", get(handlers::status))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(calls)
        .nest_service("/mcp", mcp)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
}

/// Serves until Ctrl-C or SIGTERM. The first line on stdout says where.
pub async fn run(engine: Arc<Engine>, config: ServeConfig) -> anyhow::Result<()> {
    config.check()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let bound = listener.local_addr()?;
    let mut config = config;
    config.listen = bound;
    println!("listening on http://{bound}");
    let app = app(engine, &config);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen("127.0.0.1:0").unwrap().port(), 0);
        assert!(parse_listen("[::1]:7777").unwrap().ip().is_loopback());
        assert!(parse_listen("localhost:7777").unwrap().ip().is_loopback());
        assert!(parse_listen("nowhere").is_err());
    }

    #[test]
    fn non_loopback_needs_a_long_token() {
        let config = |listen: &str, token: Option<&str>| ServeConfig {
            listen: parse_listen(listen).unwrap(),
            token: token.map(str::to_string),
            allow_hosts: Vec::new(),
            timeout: crate::calls::DEFAULT_TIMEOUT,
            allow_write: false,
        };
        assert!(config("127.0.0.1:1", None).check().is_ok());
        assert!(config("0.0.0.0:1", None).check().is_err());
        assert!(config("0.0.0.0:1", Some("short")).check().is_err());
        assert!(config("0.0.0.0:1", Some("0123456789abcdef")).check().is_ok());
    }
}
