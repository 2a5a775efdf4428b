//! `recall mcp` and `/mcp` of `recall serve`, driven by a real MCP client: the official
//! Python SDK (`mcp`, pinned in scripts/setup-python.sh, installed into a venv by the
//! project's setup), running tests/mcp_client.py against an index of the example vault.
//! The client checks initialize, tools/list and a call of every tool, errors included.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{example_vault, manifest_dir, Index, Server};

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

fn client(args: &[&str]) {
    let out = Command::new(python())
        .arg(manifest_dir().join("tests/mcp_client.py"))
        .args(args)
        .arg("--vault")
        .arg(example_vault())
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
    client(&["--bin", bin, "--index", idx.path().to_str().unwrap()]);
}

#[test]
fn http_endpoint_passes_the_official_client_with_a_token() {
    let idx = example_index();
    let token = "0123456789abcdef-token";
    let server = Server::start(idx.path(), &["--no-watch", "--token", token]);
    let url = format!("http://127.0.0.1:{}/mcp", server.port);
    client(&["--http", &url, "--token", token]);
}
