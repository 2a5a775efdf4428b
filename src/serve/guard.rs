//! What every request passes before a handler sees it: its `Host` (DNS rebinding), its
//! `Origin` (web pages), its token, and the size of its URL.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::handlers::error_response;
use super::ServeConfig;

/// Longest request target (path and query string) accepted.
const MAX_URI_BYTES: usize = 16 * 1024;

pub struct Guard {
    /// Lower-cased host names (without port) requests may name.
    hosts: Vec<String>,
    token: Option<Vec<u8>>,
}

impl Guard {
    pub fn new(config: &ServeConfig) -> Guard {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        let ip = config.listen.ip();
        if !ip.is_loopback() && !ip.is_unspecified() {
            hosts.push(ip.to_string());
        }
        hosts.extend(config.allow_hosts.iter().map(|h| h.to_lowercase()));
        Guard {
            hosts,
            token: config.token.as_ref().map(|t| t.as_bytes().to_vec()),
        }
    }

    /// The host names, as rmcp's own DNS-rebinding check takes them.
    pub fn allowed_hosts(&self) -> Vec<String> {
        self.hosts.clone()
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_lowercase();
        self.hosts.contains(&name)
    }

    fn authorized(&self, req: &Request) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        constant_time_eq(given.as_bytes(), token)
    }
}

/// The host of a `Host` header value: `name`, `name:port`, `[v6]` or `[v6]:port`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Whether `a == b`, taking the same time wherever they differ (the length of the
/// secret is not hidden; its content is).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether an `Origin` is a page served from this machine.
fn loopback_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    matches!(host_name(rest), "localhost" | "127.0.0.1" | "::1")
}

pub async fn check(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    if !guard.host_allowed(host) {
        return error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("Host `{host}` is not served here (only loopback names and --allow-host names are)"),
        );
    }
    if let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if !loopback_origin(origin) {
            return error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("requests from web pages of {origin} are not served"),
            );
        }
    }
    if !guard.authorized(&req) {
        let mut r = error_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this server needs `Authorization: Bearer TOKEN`".to_string(),
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    let target = req.uri().path_and_query().map(|p| p.as_str().len()).unwrap_or(0);
    if target > MAX_URI_BYTES {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request target is {target} bytes; the limit is {MAX_URI_BYTES}"),
        );
    }
    next.run(req).await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        assert_eq!(host_name("127.0.0.1:7777"), "127.0.0.1");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("localhost"), "localhost");
        assert!(loopback_origin("http://localhost:3000"));
        assert!(!loopback_origin("https://evil.example"));
        assert!(!loopback_origin("null"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
