//! Helpers for the integration tests: run the real `recall` binary against a throw-away
//! index folder and parse its `--json` output.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// Flags for every `recall index` of these tests: keyword index only. Embedding a vault
/// needs the model and takes minutes on a small machine; these tests are about the keyword
/// engine, the query language, the CLI contract and robustness.
pub const INDEX_FLAGS: &[&str] = &["--no-embed"];

/// Flags for every `recall search` of these tests (the default mode may be hybrid).
pub const SEARCH_FLAGS: &[&str] = &["--mode", "lexical"];

/// The crate root (where `examples/` lives).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled 16-note vault.
pub fn example_vault() -> PathBuf {
    manifest_dir().join("examples/vault")
}

/// A vault of the shared corpus (`../shared/vaults/NAME`); fails loudly when missing, so a
/// missing corpus is never mistaken for a pass.
pub fn shared_vault(name: &str) -> PathBuf {
    let p = manifest_dir().join("../shared/vaults").join(name);
    assert!(p.is_dir(), "shared vault {} is missing", p.display());
    p
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// stdout parsed as one JSON value; panics with the whole output when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts exit code 0 and returns self.
    pub fn ok(self) -> Out {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// No Rust panic message anywhere in the output.
    pub fn assert_no_panic(&self) {
        for s in [&self.stdout, &self.stderr] {
            assert!(!s.contains("panicked"), "the binary panicked:\n{s}");
            assert!(!s.contains("RUST_BACKTRACE"), "the binary panicked:\n{s}");
        }
    }
}

/// Runs `recall --index INDEX ARGS...`.
pub fn run_with_index(index: &Path, args: &[&str]) -> Out {
    let output = Command::new(env!("CARGO_BIN_EXE_recall"))
        .arg("--index")
        .arg(index)
        .args(args)
        .env_remove("RECALL_INDEX")
        .env("NO_COLOR", "1")
        .output()
        .expect("running the recall binary");
    Out {
        // A signal (crash) has no code: -1 never matches an expected code.
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A search result as `search --json` prints it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rank: u64,
    pub note: String,
    pub raw: Value,
}

/// A temporary index folder, removed on drop.
pub struct Index {
    pub dir: TempDir,
}

impl Index {
    /// An empty (not yet built) index folder.
    pub fn empty() -> Index {
        Index {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// An index of `vault`, built with `index --json` (extra flags appended); panics unless
    /// the build succeeds. Returns the index and the build report.
    pub fn build(vault: &Path, extra: &[&str]) -> (Index, Value) {
        let idx = Index::empty();
        let report = idx.index(vault, extra);
        (idx, report)
    }

    /// The example vault, indexed.
    pub fn example() -> Index {
        let (idx, report) = Index::build(&example_vault(), &[]);
        assert_eq!(report["notes"], 16, "example vault report: {report}");
        idx
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn run(&self, args: &[&str]) -> Out {
        let out = run_with_index(self.path(), args);
        out.assert_no_panic();
        out
    }

    /// `index VAULT --json EXTRA...`, which must succeed.
    pub fn index(&self, vault: &Path, extra: &[&str]) -> Value {
        let vault = vault.to_str().expect("utf-8 path");
        let mut args = vec!["index", vault, "--json"];
        args.extend_from_slice(INDEX_FLAGS);
        args.extend_from_slice(extra);
        self.run(&args).ok().json()
    }

    /// `search QUERY -n N --json` (the query passed as one argument), which must succeed.
    pub fn search(&self, query: &str, n: usize) -> Vec<Hit> {
        let n = n.to_string();
        let mut args = vec!["search", "--json", "-n", &n];
        args.extend_from_slice(SEARCH_FLAGS);
        args.extend_from_slice(&["--", query]);
        let out = self.run(&args).ok();
        parse_hits(&out.json(), query)
    }

    /// Note ids of `search`, in rank order.
    pub fn ids(&self, query: &str, n: usize) -> Vec<String> {
        self.search(query, n).into_iter().map(|h| h.note).collect()
    }

    /// `show NOTE --json`, which must succeed.
    pub fn show(&self, note: &str) -> Value {
        self.run(&["show", note, "--json"]).ok().json()
    }

    /// `stats --json`, which must succeed.
    pub fn stats(&self) -> Value {
        self.run(&["stats", "--json"]).ok().json()
    }
}

/// The note ids of a `search --json` or `related --json` answer, in rank order.
pub fn note_ids(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {v}"))
        .iter()
        .map(|r| {
            r["note"]
                .as_str()
                .unwrap_or_else(|| panic!("result without note: {r}"))
                .to_string()
        })
        .collect()
}

/// Checks the shape of a `search --json` answer and returns its hits.
pub fn parse_hits(v: &Value, query: &str) -> Vec<Hit> {
    assert_eq!(v["query"], query, "echoed query: {v}");
    assert_eq!(v["mode"], "lexical", "{v}");
    assert!(v["took_ms"].as_f64().is_some_and(|t| t >= 0.0), "took_ms: {v}");
    let results = v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results array: {v}"));
    let mut prev_score = f64::INFINITY;
    results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(
                r["rank"].as_u64(),
                Some(i as u64 + 1),
                "ranks are 1.. in order: {v}"
            );
            let note = r["note"]
                .as_str()
                .unwrap_or_else(|| panic!("hit without note: {r}"))
                .to_string();
            for key in ["title", "path", "section", "snippet"] {
                assert!(r[key].is_string(), "hit field {key} is a string: {r}");
            }
            assert!(r["tags"].is_array(), "tags: {r}");
            assert!(r["line"].as_u64().is_some(), "line: {r}");
            let score = r["score"].as_f64().unwrap_or_else(|| panic!("score: {r}"));
            assert!(score <= prev_score + 1e-6, "results are sorted by score: {v}");
            prev_score = score;
            Hit {
                rank: i as u64 + 1,
                note,
                raw: r.clone(),
            }
        })
        .collect()
}

/// `show --json` of notes, fetched once each.
pub struct NoteCache<'a> {
    index: &'a Index,
    cache: HashMap<String, Value>,
}

impl<'a> NoteCache<'a> {
    pub fn new(index: &'a Index) -> NoteCache<'a> {
        NoteCache {
            index,
            cache: HashMap::new(),
        }
    }

    pub fn get(&mut self, note: &str) -> &Value {
        if !self.cache.contains_key(note) {
            let v = self.index.show(note);
            self.cache.insert(note.to_string(), v);
        }
        &self.cache[note]
    }

    pub fn tags(&mut self, note: &str) -> Vec<String> {
        self.get(note)["tags"]
            .as_array()
            .expect("tags array")
            .iter()
            .map(|t| t.as_str().expect("tag string").to_string())
            .collect()
    }

    pub fn strength(&mut self, note: &str) -> Option<f64> {
        self.get(note)["strength"].as_f64()
    }

    /// The effective date as `YYYY-MM-DD`: updated, else established (every note of the
    /// example vault has one of them, so the file-mtime fallback never matters there).
    pub fn effective_date(&mut self, note: &str) -> String {
        let v = self.get(note);
        v["updated"]
            .as_str()
            .or_else(|| v["established"].as_str())
            .unwrap_or_else(|| panic!("{note} has no date: {v}"))
            .to_string()
    }
}

/// The lower-cased words of a file (split on anything not alphanumeric).
pub fn words_of_file(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The 1-based line of the first line of `path` for which `pred` holds.
pub fn line_of(path: &Path, pred: impl Fn(&str) -> bool) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .position(pred)
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no such line in {}", path.display()))
}

/// Every note id of the example vault (its `.md` files, path without `.md`).
pub fn example_note_ids() -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                let rel = p.strip_prefix(root).unwrap().with_extension("");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = example_vault();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

/// A private copy of the example vault that a test may change, and its index (built with
/// `flags`): (the folder holding both, the vault, the index, the build report).
pub fn indexed_copy(flags: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    copy_dir(&example_vault(), &vault);
    let index = dir.path().join("index");
    let mut args = vec!["index", vault.to_str().unwrap(), "--json"];
    args.extend_from_slice(flags);
    let out = run_with_index(&index, &args);
    out.assert_no_panic();
    let report = out.ok().json();
    (dir, vault, index, report)
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A running `recall serve`, killed on drop; its [`Client`] methods reach it.
pub struct Server {
    child: Child,
    client: Client,
}

impl std::ops::Deref for Server {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Requests to a server on loopback, one connection each: what threads of a test share.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub port: u16,
}

impl Server {
    /// `recall --index INDEX serve --listen 127.0.0.1:0 EXTRA...`, once it says where.
    pub fn start(index: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_recall"))
            .arg("--index")
            .arg(index)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning recall serve");
        let mut stdout = child.stdout.take().unwrap();
        // The first line says where: `listening on http://127.0.0.1:PORT`.
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let port = line
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        Server {
            child,
            client: Client { port },
        }
    }
}

impl Client {
    /// GET `target` with extra header lines; (status, body as JSON).
    pub fn get_with(&self, target: &str, headers: &[&str]) -> (u16, Value) {
        let host = format!("Host: 127.0.0.1:{}", self.port);
        let mut lines = vec![format!("GET {target} HTTP/1.1")];
        if !headers.iter().any(|h| h.to_lowercase().starts_with("host:")) {
            lines.push(host);
        }
        lines.extend(headers.iter().map(|h| h.to_string()));
        lines.push("Connection: close".into());
        let request = lines.join("\r\n") + "\r\n\r\n";
        let (status, body) = self.raw(request.as_bytes());
        let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{target}: not JSON ({e}): {body}"));
        (status, json)
    }

    pub fn get(&self, target: &str) -> (u16, Value) {
        self.get_with(target, &[])
    }

    /// POST a JSON body to `target`; (status, body as JSON).
    pub fn post(&self, target: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let request = format!(
            "POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        let (status, text) = self.raw(request.as_bytes());
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{target}: not JSON ({e}): {text}"));
        (status, json)
    }

    /// Sends raw bytes; (status, body).
    pub fn raw(&self, request: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connecting");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(request).unwrap();
        let mut response = Vec::new();
        s.read_to_end(&mut response).unwrap();
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        assert!(
            !head.to_lowercase().contains("access-control-"),
            "no CORS headers: {head}"
        );
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        (status, body.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `recall --index INDEX mcp EXTRA...` on stdio, initializes, sends `call` (a
/// JSON-RPC request), and returns the response with the same id.
pub fn mcp_stdio_call(index: &Path, extra: &[&str], call: &str) -> Value {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_recall"))
        .arg("--index")
        .arg(index)
        .arg("mcp")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning recall mcp");
    let id = serde_json::from_str::<Value>(call).unwrap()["id"].clone();
    let mut stdin = child.stdin.take().unwrap();
    let init = r#"{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"tests","version":"0"}}}"#;
    writeln!(stdin, "{init}").unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut answer = |want: &Value| loop {
        let line = lines.next().expect("recall mcp closed stdout").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if &v["id"] == want {
            return v;
        }
    };
    answer(&Value::from("init"));
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    writeln!(stdin, "{call}").unwrap();
    let v = answer(&id);
    drop(stdin);
    let _ = child.wait();
    v
}
