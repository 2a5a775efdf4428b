//! `recall mcp` and `/mcp` of `recall serve`, driven by a real MCP client: the official
//! Python SDK (`mcp`, pinned in scripts/setup-python.sh, installed into a venv by the
//! project's setup), running tests/mcp_client.py against an index of the example vault.
//! The client checks initialize, tools/list and a call of every tool, errors included, the
//! note resources and the `briefing` prompt; with `--allow-write` (on a private copy of the
//! vault, never examples/vault) also `remember` and `reinforce`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{example_vault, indexed_copy, manifest_dir, Index, Server, INDEX_FLAGS};

/// The venv's python, made by the setup script (quick when it is there already).
fn python() -> PathBuf {
    let out = Command::new("bash")
        .arg(manifest_dir().join("scripts/setup-python.sh"))
        .output()
        .expect("running scripts/setup-python.sh");
    assert!(
        out.status.success(),
        "scripts/setup-python.sh failed (it installs the MCP client; PyPI must be reachable):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(path.is_file(), "setup-python.sh printed {path:?}, not a python");
    path
}

/// Runs the client with `args` against an index of `vault` (the example vault, or a private
/// copy of it for `--allow-write`).
fn client(args: &[&str], vault: &Path) {
    let out = Command::new(python())
        .arg(manifest_dir().join("tests/mcp_client.py"))
        .args(args)
        .arg("--vault")
        .arg(vault)
        .current_dir(manifest_dir())
        .output()
        .expect("running tests/mcp_client.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP client found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");
}

fn example_index() -> Index {
    let (idx, report) = Index::build(&example_vault(), &[]);
    assert_eq!(report["notes"], 16, "{report}");
    idx
}

#[test]
fn stdio_server_passes_the_official_client() {
    let idx = example_index();
    let bin = env!("CARGO_BIN_EXE_recall");
    client(
        &["--bin", bin, "--index", idx.path().to_str().unwrap()],
        &example_vault(),
    );
}

#[test]
fn http_endpoint_passes_the_official_client_with_a_token() {
    let idx = example_index();
    let token = "0123456789abcdef-token";
    let server = Server::start(idx.path(), &["--no-watch", "--token", token]);
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    client(&["--http", &url, "--token", token], &example_vault());
}

/// A private copy of the example vault, indexed: what a server with `--allow-write` may change.
fn writable_copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, vault, index, report) = indexed_copy(INDEX_FLAGS);
    assert_eq!(report["notes"], 16, "{report}");
    (dir, vault, index)
}

/// What the write-mode session leaves: its memory in the copy, nothing in examples/vault.
fn assert_written_only_in(vault: &Path) {
    assert!(
        vault.join("memories/router_firmware.md").is_file(),
        "the remembered note is in the copy"
    );
    assert!(
        !example_vault().join("memories").exists(),
        "examples/vault must never be written"
    );
}

#[test]
fn stdio_server_with_allow_write_passes_the_official_client() {
    let (_dir, vault, index) = writable_copy();
    let bin = env!("CARGO_BIN_EXE_recall");
    // The client starts `recall --index INDEX mcp --allow-write --no-watch`.
    client(
        &["--bin", bin, "--index", index.to_str().unwrap(), "--allow-write"],
        &vault,
    );
    assert_written_only_in(&vault);
}

#[test]
fn http_endpoint_with_allow_write_passes_the_official_client() {
    let (_dir, vault, index) = writable_copy();
    // No watcher: the client edits a note and checks that reinforce refuses it before any update.
    let server = Server::start(&index, &["--no-watch", "--allow-write"]);
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    client(&["--http", &url, "--allow-write"], &vault);
    assert_written_only_in(&vault);
}
