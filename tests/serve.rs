//! `recall serve`: the real binary on a private copy of the example vault, queried over
//! HTTP on loopback: every endpoint, every error code, path traversal, the Host and token
//! guards, refusing a non-loopback bind without a token, and freshness while notes change.

mod common;

use std::time::{Duration, Instant};

use common::{indexed_copy, run_with_index, Server};
use serde_json::Value;

fn ids(v: &Value) -> Vec<String> {
    common::note_ids(v)
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {v}"))
}

#[test]
fn every_endpoint_answers_with_the_api_types() {
    let (_dir, _vault, index, _) = indexed_copy(&["--no-embed"]);
    let server = Server::start(&index, &[]);
    assert_eq!(server.get("/healthz"), (200, serde_json::json!({"ok": true})));

    let (status, v) = server.get("/v1/search?q=levain+hydration&limit=3&mode=lexical&explain=true");
    assert_eq!(status, 200, "{v}");
    assert_eq!(ids(&v)[0], "topics/sourdough_baking");
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    assert!(
        v["results"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("**levain**"),
        "{v}"
    );
    assert!(v["results"][0]["explain"]["lexical"]["rank"].is_number(), "{v}");
    // The same request through the command line gives the same results.
    let cli = run_with_index(
        &index,
        &[
            "search",
            "--json",
            "--mode",
            "lexical",
            "-n",
            "3",
            "--no-refresh",
            "levain hydration",
        ],
    )
    .ok()
    .json();
    assert_eq!(ids(&cli), ids(&v));

    // A keyword-only index answers hybrid queries with keywords, and says so.
    let (_, v) = server.get("/v1/search?q=levain");
    assert_eq!(v["mode"], "lexical");
    assert!(
        v["warnings"][0].as_str().unwrap().contains("no embeddings"),
        "{v}"
    );

    let (status, v) = server.get("/v1/related/topics/sourdough_baking?limit=5");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["note"], "topics/sourdough_baking");
    assert!(!ids(&v).contains(&"topics/sourdough_baking".to_string()));
    assert!(
        v["results"][0]["reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{v}"
    );
    let (status, v) = server.get("/v1/related?text=bread+starter+fermentation&limit=3");
    assert_eq!(status, 200, "{v}");
    assert!(ids(&v).contains(&"topics/sourdough_baking".to_string()), "{v}");

    let (status, v) = server.get("/v1/notes/topics/sourdough_baking");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["title"], "Sourdough Baking");
    assert!(
        v["markdown"].as_str().unwrap().starts_with("# Sourdough Baking"),
        "{v}"
    );
    assert_eq!(v["truncated"], false);
    assert!(v["backlinks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b == "people/maria_santos"));
    let (_, v) = server.get("/v1/notes/topics/sourdough_baking?section=Tags");
    let md = v["markdown"].as_str().unwrap();
    assert!(md.starts_with("## Tags") && md.contains("`sourdough`"), "{md}");

    let (status, v) = server.get("/v1/recent?limit=3");
    assert_eq!(status, 200, "{v}");
    let dates: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["updated"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first: {dates:?}");
    let (_, v) = server.get("/v1/recent?tag=baking");
    assert_eq!(
        ids(&v),
        ["topics/sourdough_baking", "episodes/2024-05-02_bakery_visit"],
        "the two notes tagged baking, newest first: {v}"
    );

    let (status, v) = server.get("/v1/status");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["notes"], 16);
    assert_eq!(v["fresh"], true);
    assert_eq!(v["watched"], true, "the server keeps the index current: {v}");
}

#[test]
fn errors_have_their_codes_and_say_what_is_wrong() {
    let (_dir, vault, index, _) = indexed_copy(&["--no-embed"]);
    let server = Server::start(&index, &["--no-watch"]);
    let (status, v) = server.get("/v1/search?q=%22unclosed");
    assert_eq!((status, error_code(&v)), (400, "bad_request"));
    assert!(
        v["error"]["message"].as_str().unwrap().contains("unclosed quote"),
        "{v}"
    );
    let (status, v) = server.get("/v1/search?q=x&limit=lots");
    assert_eq!((status, error_code(&v)), (400, "bad_request"), "{v}");
    let (status, v) = server.get("/v1/search?q=x&since=someday");
    assert_eq!((status, error_code(&v)), (400, "bad_request"), "{v}");
    let (status, v) = server.get("/v1/search");
    assert_eq!((status, error_code(&v)), (400, "bad_request"), "{v}");
    let (status, v) = server.get("/v1/notes/topics/sourdogh_baking");
    assert_eq!((status, error_code(&v)), (404, "not_found"));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean: topics/sourdough_baking"),
        "{v}"
    );
    let (status, v) = server.get("/v1/related/topics/nope");
    assert_eq!((status, error_code(&v)), (404, "not_found"), "{v}");
    let (status, v) = server.get("/v1/nothing-here");
    assert_eq!((status, error_code(&v)), (404, "not_found"), "{v}");
    let long = "a".repeat(5000);
    let (status, v) = server.get(&format!("/v1/search?q={long}"));
    assert_eq!((status, error_code(&v)), (413, "too_large"), "{v}");
    let (status, v) = server.get(&format!("/v1/search?q={}", "a".repeat(20_000)));
    assert_eq!((status, error_code(&v)), (413, "too_large"), "{v}");
    // A note whose file vanished (nobody watching) cannot be read: a server-side error.
    std::fs::remove_file(vault.join("topics/gardening_tomatoes.md")).unwrap();
    let (status, v) = server.get("/v1/notes/topics/gardening_tomatoes");
    assert_eq!((status, error_code(&v)), (500, "internal"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gardening_tomatoes.md"),
        "{v}"
    );
    // ... and is never offered.
    let (_, v) = server.get("/v1/search?q=tomatoes&mode=lexical");
    assert!(!ids(&v).contains(&"topics/gardening_tomatoes".to_string()), "{v}");
}

#[test]
fn note_ids_never_reach_outside_the_vault() {
    let (_dir, _vault, index, _) = indexed_copy(&["--no-embed"]);
    let server = Server::start(&index, &["--no-watch"]);
    for target in [
        "/v1/notes/../../../../etc/passwd",
        "/v1/notes/%2e%2e/%2e%2e/etc/passwd",
        "/v1/notes/topics/..%2f..%2f..%2fetc%2fpasswd",
        "/v1/notes//etc/passwd",
        "/v1/notes/topics/../people/alex_chen",
        "/v1/related/../../etc/passwd",
    ] {
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            server.port
        );
        let (status, body) = server.raw(request.as_bytes());
        assert!(status == 400 || status == 404, "{target}: {status} {body}");
        assert!(!body.contains("root:"), "{target}: {body}");
    }
}

#[test]
fn foreign_hosts_and_web_pages_are_refused() {
    let (_dir, _vault, index, _) = indexed_copy(&["--no-embed"]);
    let server = Server::start(&index, &["--no-watch"]);
    let (status, v) = server.get_with("/v1/status", &["Host: evil.example"]);
    assert_eq!((status, error_code(&v)), (403, "forbidden"));
    let (status, v) = server.get_with("/v1/status", &["Host: evil.example:7777"]);
    assert_eq!(status, 403, "{v}");
    let (status, _) = server.get_with("/v1/status", &["Host: localhost:1234"]);
    assert_eq!(status, 200);
    let (status, v) = server.get_with("/v1/status", &["Origin: https://evil.example"]);
    assert_eq!((status, error_code(&v)), (403, "forbidden"));
    let (status, _) = server.get_with("/v1/status", &["Origin: http://localhost:3000"]);
    assert_eq!(status, 200);
    // MCP is behind the same guard.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(server.raw(request.as_bytes()).0, 403);
}

#[test]
fn a_token_is_required_when_set_and_compared_exactly() {
    let (_dir, _vault, index, _) = indexed_copy(&["--no-embed"]);
    let token = "s3cret-token-0123456789";
    let server = Server::start(&index, &["--no-watch", "--token", token]);
    let (status, v) = server.get("/v1/status");
    assert_eq!((status, error_code(&v)), (401, "unauthorized"));
    let (status, _) = server.get_with("/v1/status", &["Authorization: Bearer s3cret-token-0123456788"]);
    assert_eq!(status, 401);
    let (status, _) = server.get_with("/v1/status", &["Authorization: Bearer s3cret"]);
    assert_eq!(status, 401);
    let good = format!("Authorization: Bearer {token}");
    let (status, v) = server.get_with("/v1/status", &[&good]);
    assert_eq!(status, 200, "{v}");
}

#[test]
fn a_non_loopback_bind_needs_a_token() {
    let (_dir, _vault, index, _) = indexed_copy(&["--no-embed"]);
    for listen in ["0.0.0.0:0", "[::]:0", "192.0.2.1:7777"] {
        let out = run_with_index(&index, &["serve", "--listen", listen]);
        assert_eq!(out.code, 2, "{listen}: {out:?}");
        assert!(out.stderr.contains("without --token"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "nothing was served: {}", out.stdout);
    }
    let out = run_with_index(&index, &["serve", "--listen", "0.0.0.0:0", "--token", "short"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("at least 16"), "{}", out.stderr);
}

/// Polls `check` every 50 ms for up to 2 s; panics with `what` when it never holds.
fn within_2s(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not seen within 2 s");
}

#[test]
fn answers_follow_edits_additions_and_deletions_within_two_seconds() {
    let (_dir, vault, index, _) = indexed_copy(&[]);
    let server = Server::start(&index, &[]);
    let found = |q: &str| -> Vec<String> {
        let (status, v) = server.get(&format!("/v1/search?q={}&limit=20", q.replace(' ', "+")));
        assert_eq!(status, 200, "{v}");
        ids(&v)
    };
    let has = |q: &str, note: &str| found(q).iter().any(|n| n == note);
    // Keyword matches only: the meaning of a word may find a note before it has the word.
    let has_word = |q: &str, note: &str| has(&format!("{q}&mode=lexical"), note);

    // Edit: a word appears in a note.
    let path = vault.join("topics/marathon_training.md");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\nTried the zwieback carbo-loading plan.\n")).unwrap();
    assert!(!has_word("zwieback", "topics/marathon_training"));
    within_2s("an edited note", || {
        has_word("zwieback", "topics/marathon_training")
    });

    // Addition: a new note.
    std::fs::write(
        vault.join("topics/kombucha.md"),
        "# Kombucha\n\nA SCOBY ferments sweet tea into kombucha.\n\n## Tags\n`fermentation`\n",
    )
    .unwrap();
    within_2s("a new note", || has_word("kombucha", "topics/kombucha"));
    let (status, v) = server.get("/v1/notes/topics/kombucha");
    assert_eq!(status, 200, "{v}");

    // Deletion: gone from every answer, and never back.
    std::fs::remove_file(vault.join("topics/kombucha.md")).unwrap();
    within_2s("a deleted note", || !has("kombucha", "topics/kombucha"));
    within_2s("a deleted note's page", || {
        server.get("/v1/notes/topics/kombucha").0 == 404
    });
    for _ in 0..10 {
        assert!(!has("kombucha scoby fermentation", "topics/kombucha"));
        assert!(!has_word("kombucha", "topics/kombucha"));
        let (_, v) = server.get("/v1/related?text=kombucha+scoby&limit=20");
        assert!(!ids(&v).contains(&"topics/kombucha".to_string()), "{v}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The edited note is still there, with its new word.
    assert!(has_word("zwieback", "topics/marathon_training"));
}

/// The one request path holds the time limit on every face: `/v1`, `/mcp`, and stdio MCP.
/// A hybrid search embeds its query (milliseconds at best), so 1 ms is always exceeded.
#[test]
fn a_call_over_the_time_limit_gets_the_timeout_error_on_every_face() {
    let (_dir, _vault, index, _) = indexed_copy(&[]);
    let query = "sourdough levain hydration and the long cold fermentation of a rye starter ".repeat(8);
    let expected = "no answer within 0.001 s; try again";

    let server = Server::start(&index, &["--no-watch", "--timeout", "0.001"]);
    let target = format!("/v1/search?mode=hybrid&q={}", query.trim().replace(' ', "+"));
    let (status, v) = server.get(&target);
    assert_eq!((status, error_code(&v)), (503, "timeout"), "{v}");
    assert_eq!(v["error"]["message"], expected);

    let call = serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "search", "arguments": {"query": query, "mode": "hybrid"}}})
    .to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{call}",
        server.port,
        call.len()
    );
    let (status, body) = server.raw(request.as_bytes());
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["result"]["isError"], true, "{v}");
    assert_eq!(v["result"]["content"][0]["text"], expected, "{v}");

    // A generous limit answers the same call.
    let relaxed = Server::start(&index, &["--no-watch", "--timeout", "30"]);
    let (status, v) = relaxed.get(&target);
    assert_eq!(status, 200, "{v}");

    let v = common::mcp_stdio_call(&index, &["--no-watch", "--timeout", "0.001"], &call);
    assert_eq!(v["result"]["isError"], true, "{v}");
    assert_eq!(v["result"]["content"][0]["text"], expected, "{v}");
}
