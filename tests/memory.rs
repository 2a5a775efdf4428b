//! The agent's memory loop on the real binary and a private copy of the example vault:
//! `remember` writes a new note in the memory format that is found at once, returns
//! near-duplicates instead of writing, never replaces a file; `reinforce` changes the
//! footer lines alone and refuses a note edited since indexing; `brief` fits its budget;
//! the servers write only with `--allow-write`; a writer killed at any moment leaves every
//! note whole.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{indexed_copy, run_with_index, Client, Out, Server};
use serde_json::json;

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

/// `recall --index INDEX ARGS...` with `body` on stdin.
fn with_stdin(index: &Path, args: &[&str], body: &str) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recall"))
        .arg("--index")
        .arg(index)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running recall");
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let out = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    out.assert_no_panic();
    out
}

#[test]
fn a_remembered_note_is_written_in_the_memory_format_and_found_at_once() {
    let (_dir, vault, index, _) = indexed_copy(&[]);
    let body = "A 1:5:5 levain peaks in about eight hours at 24C.\n\nUse it right at its peak.\n";
    let r = with_stdin(
        &index,
        &[
            "remember",
            "--title",
            "Levain timing",
            "--tag",
            "baking",
            "--tag",
            "#bread",
            "--link",
            "topics/sourdough_baking",
            "--strength",
            "0.6",
            "--json",
        ],
        body,
    )
    .ok()
    .json();
    assert_eq!(r["written"], true, "{r}");
    assert_eq!(r["indexed"], true, "{r}");
    assert_eq!(r["note"], "memories/levain_timing");
    let text = std::fs::read_to_string(vault.join("memories/levain_timing.md")).unwrap();
    let day = today();
    assert_eq!(
        text,
        format!(
            "# Levain timing\n\nA 1:5:5 levain peaks in about eight hours at 24C.\n\nUse it right at its peak.\n\n\
             ## Tags\n`baking` `bread`\n\n## Related Memories\n\n- [[topics/sourdough_baking]]\n\n---\n\
             *Knowledge domain established: {day}*\n*Last updated: {day}*\n*Strength: 0.6*\n"
        )
    );
    // Searchable by the next command, with the metadata the footer gives.
    let hits = run_with_index(
        &index,
        &["search", "levain peaks eight hours", "--json", "--no-refresh"],
    )
    .ok()
    .json();
    assert_eq!(hits["results"][0]["note"], "memories/levain_timing", "{hits}");
    assert_eq!(hits["results"][0]["strength"], 0.6);
    let shown = run_with_index(&index, &["show", "memories/levain_timing", "--json"])
        .ok()
        .json();
    assert_eq!(shown["tags"], json!(["baking", "bread"]));
    assert_eq!(
        shown["links"][0]["resolved"], "topics/sourdough_baking",
        "{shown}"
    );
}

#[test]
fn remember_returns_near_duplicates_instead_of_writing_and_never_replaces_a_file() {
    let (_dir, vault, index, _) = indexed_copy(&[]);
    let count = |v: &Path| walk_md(v).len();
    let before = count(&vault);
    // The same title as a note the vault holds.
    let r = with_stdin(
        &index,
        &["remember", "--title", "sourdough baking", "--json"],
        "Bake bread.",
    )
    .ok()
    .json();
    assert_eq!(r["written"], false, "{r}");
    assert_eq!(r["duplicates"][0]["note"], "topics/sourdough_baking", "{r}");
    assert_eq!(r["duplicates"][0]["why"], "same title");
    // Another note's text under a new title: the same words.
    let copied = std::fs::read_to_string(vault.join("topics/rust_programming.md")).unwrap();
    let r = with_stdin(
        &index,
        &["remember", "--title", "Notes on Rust", "--json"],
        &copied,
    )
    .ok()
    .json();
    assert_eq!(r["written"], false, "{r}");
    assert_eq!(r["duplicates"][0]["note"], "topics/rust_programming", "{r}");
    assert_eq!(r["duplicates"][0]["why"], "same words", "{r}");
    // A dry run writes nothing but names the closest notes.
    let r = with_stdin(
        &index,
        &["remember", "--title", "Tomato blight", "--dry-run", "--json"],
        "Early blight on the tomatoes: remove the lower leaves and water at the base.",
    )
    .ok()
    .json();
    assert_eq!(r["written"], false);
    assert_eq!(r["closest"][0]["note"], "topics/gardening_tomatoes", "{r}");
    assert_eq!(count(&vault), before, "nothing written");
    // Written with --force; the same file name again is an error that leaves it alone.
    with_stdin(
        &index,
        &["remember", "--title", "Notes on Rust", "--force"],
        &copied,
    )
    .ok();
    let path = vault.join("memories/notes_on_rust.md");
    let written = std::fs::read(&path).unwrap();
    let clash = with_stdin(
        &index,
        &["remember", "--title", "Notes on Rust!", "--force"],
        "other text",
    );
    assert_eq!(clash.code, 1, "{clash:?}");
    assert!(
        clash
            .stderr
            .contains("note `memories/notes_on_rust` already exists; nothing written"),
        "{}",
        clash.stderr
    );
    assert_eq!(std::fs::read(&path).unwrap(), written);
    // Bad input: one clear message each, exit 2, nothing written.
    for (args, body, message) in [
        (vec!["--title", " "], "x", "the title is empty"),
        (vec!["--title", "t", "--strength", "2"], "x", "bad strength `2`"),
        (
            vec!["--title", "t", "--folder", "../out"],
            "x",
            "bad folder `../out`",
        ),
        (
            vec!["--title", "t", "--tag", "two words"],
            "x",
            "bad tag `two words`",
        ),
        (vec!["--title", "t"], "  \n", "the body is empty"),
    ] {
        let mut all = vec!["remember"];
        all.extend(args);
        let out = with_stdin(&index, &all, body);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains(message), "{message}: {}", out.stderr);
    }
    assert_eq!(count(&vault), before + 1);
}

#[test]
fn reinforce_changes_only_the_footer_lines_and_refuses_a_note_edited_since_indexing() {
    let (_dir, vault, index, _) = indexed_copy(&[]);
    let path = vault.join("topics/python_development.md");
    let before = std::fs::read_to_string(&path).unwrap();
    let r = run_with_index(
        &index,
        &[
            "reinforce",
            "topics/python_development",
            "--strength",
            "0.9",
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(r["previous_strength"], 0.85, "{r}");
    assert_eq!(r["previous_updated"], "2024-08-19");
    assert_eq!(r["updated"], today());
    let after = std::fs::read_to_string(&path).unwrap();
    let expected = before
        .replace(
            "*Last updated: 2024-08-19*",
            &format!("*Last updated: {}*", today()),
        )
        .replace("*Strength: 0.85*", "*Strength: 0.9*");
    assert_eq!(
        after.as_bytes(),
        expected.as_bytes(),
        "every other byte identical"
    );
    let shown = run_with_index(&index, &["show", "topics/python_development", "--json"])
        .ok()
        .json();
    assert_eq!(shown["strength"], 0.9, "the index holds the change");
    // Edited by hand after indexing: refused, the edit kept.
    let edited = format!("{after}\nA line the user added.\n");
    std::fs::write(&path, &edited).unwrap();
    let out = run_with_index(&index, &["reinforce", "topics/python_development"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("changed since it was indexed"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // Once indexed again, it is reinforced, the user's line kept.
    run_with_index(&index, &["update"]).ok();
    run_with_index(&index, &["reinforce", "topics/python_development"]).ok();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .ends_with("A line the user added.\n"));
    let out = run_with_index(&index, &["reinforce", "topics/nope"]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn a_briefing_fits_its_budget() {
    let (_dir, _vault, index, _) = indexed_copy(&[]);
    for budget in ["150", "400", "1500"] {
        let b = run_with_index(&index, &["brief", "--budget", budget, "--json"])
            .ok()
            .json();
        let budget: u64 = budget.parse().unwrap();
        assert!(b["tokens"].as_u64().unwrap() <= budget, "{b}");
        assert!(!b["items"].as_array().unwrap().is_empty(), "{b}");
        // The estimate stated in the README: a quarter of the characters (ASCII here).
        let chars = b["markdown"].as_str().unwrap().chars().count() as u64;
        assert!(
            chars.div_ceil(4) <= budget,
            "{chars} characters for {budget} tokens"
        );
    }
    let b = run_with_index(&index, &["brief", "sourdough levain", "--json"])
        .ok()
        .json();
    assert_eq!(b["items"][0]["note"], "topics/sourdough_baking", "{b}");
    let human = run_with_index(&index, &["brief", "sourdough levain"]).ok();
    assert!(
        human.stdout.starts_with("# Memories about: sourdough levain\n"),
        "{}",
        human.stdout
    );
    let out = run_with_index(&index, &["brief", "--budget", "10"]);
    assert_eq!(out.code, 2);
    let message = "bad budget `10`: give a number of tokens from 100 to 100000";
    assert!(out.stderr.contains(message), "{}", out.stderr);
    let server = Server::start(&index, &["--no-watch"]);
    let (status, body) = server.get("/v1/brief?budget=10");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["message"], message);
}

#[test]
fn servers_write_only_when_started_with_allow_write() {
    let (_dir, vault, index, _) = indexed_copy(&[]);
    let memory = json!({"title": "Router firmware", "body": "The router runs OpenWrt 23.05; update it monthly.", "tags": ["homelab"]});
    {
        let server = Server::start(&index, &["--no-watch"]);
        let (status, body) = server.post("/v1/notes", &memory);
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--allow-write"));
        let (status, _) = server.post("/v1/notes/topics/python_development/reinforce", &json!({}));
        assert_eq!(status, 403);
        assert!(!vault.join("memories").exists());
    }
    let server = Server::start(&index, &["--allow-write"]);
    let started = Instant::now();
    let (status, body) = server.post("/v1/notes", &memory);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["written"], true);
    let (_, found) = server.get("/v1/search?q=openwrt+router&limit=1");
    assert_eq!(found["results"][0]["note"], "memories/router_firmware", "{found}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "found within a second"
    );
    let (status, body) = server.post("/v1/notes", &memory);
    assert_eq!((status, &body["written"]), (200, &json!(false)), "{body}");
    let (status, body) = server.post(
        "/v1/notes",
        &json!({"title": "Router firmware", "body": "x", "force": true}),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    let (status, body) = server.post("/v1/notes", &json!({"title": "t", "body": "b", "colour": "red"}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.post(
        "/v1/notes/memories/router_firmware/reinforce",
        &json!({"strength": 0.8}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["strength"], 0.8);
    let (status, body) = server.get("/v1/brief?topic=router&budget=200");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["note"], "memories/router_firmware", "{body}");
    assert!(body["tokens"].as_u64().unwrap() <= 200);
}

#[test]
fn concurrent_writers_lose_no_note() {
    let (_dir, vault, index, _) = indexed_copy(&[]);
    let server = Server::start(&index, &["--allow-write"]);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let port = server.port;
            std::thread::spawn(move || {
                let client = Client { port };
                for i in 0..5 {
                    let body = json!({
                        "title": format!("Load note {t} {i}"),
                        "body": format!("Writer {t} wrote memory number {i}: the quokka-{t}-{i} count."),
                        "force": true,
                    });
                    let (status, r) = client.post("/v1/notes", &body);
                    assert_eq!(status, 200, "{r}");
                    assert_eq!(r["written"], true, "{r}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let written = walk_md(&vault.join("memories"));
    assert_eq!(written.len(), 40);
    let (_, found) = server.get("/v1/search?q=quokka-7-4&limit=3&mode=lexical");
    assert_eq!(found["results"][0]["note"], "memories/load_note_7_4", "{found}");
    let (_, status) = server.get("/v1/status");
    assert_eq!(status["notes"], 16 + 40, "{status}");
}

#[test]
fn a_writer_killed_at_any_moment_leaves_every_note_whole() {
    let (_dir, vault, index, _) = indexed_copy(&[]);
    let reinforced = vault.join("topics/sourdough_baking.md");
    let original = std::fs::read_to_string(&reinforced).unwrap();
    for i in 0..20u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_recall"))
            .arg("--index")
            .arg(&index)
            .args(match i % 2 {
                0 => vec![
                    "remember".to_string(),
                    "--title".into(),
                    format!("Killed {i}"),
                    "--force".into(),
                ],
                _ => vec![
                    "reinforce".to_string(),
                    "topics/sourdough_baking".into(),
                    "--strength".into(),
                    format!("0.{i}"),
                ],
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("Memory {i} body.\n").as_bytes())
            .unwrap();
        std::thread::sleep(Duration::from_millis(i * 60));
        let _ = child.kill();
        let _ = child.wait();
        // Each note is whole: a new one ends with its footer, the reinforced one is the
        // original or a reinforced original, line for line.
        for path in walk_md(&vault.join("memories")) {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("# Killed ") && text.contains("*Strength: 0.5*\n"),
                "{}: {text:?}",
                path.display()
            );
        }
        let now = std::fs::read_to_string(&reinforced).unwrap();
        assert_eq!(now.lines().count(), original.lines().count(), "{now}");
        // A reinforce that got through changed the index's view of the file; bring it in.
        run_with_index(&index, &["update"]).ok();
    }
    run_with_index(&index, &["update"]).ok();
    let status = run_with_index(&index, &["status", "--json"]).ok().json();
    assert_eq!(status["fresh"], true, "{status}");
    assert_eq!(
        status["notes"].as_u64().unwrap() as usize,
        16 + walk_md(&vault.join("memories")).len()
    );
    // Beside the notes, at most the hidden temporary files of killed writes.
    for e in std::fs::read_dir(vault.join("topics")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".recall-") || common::example_vault().join("topics").join(&name).is_file(),
            "{name}"
        );
    }
}

/// The `.md` files under `dir` (none when it is missing).
fn walk_md(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_md(&p));
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
    out
}

#[test]
fn paging_and_budgets_take_the_same_parameters_on_every_face() {
    let (_dir, vault, index, _) = indexed_copy(&[]);
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["note"].as_str().unwrap().to_string())
            .collect()
    };
    let run = |args: &[&str]| run_with_index(&index, args).ok().json();
    let all = run(&["search", "bread", "-n", "6", "--json"]);
    let first = run(&["search", "bread", "-n", "3", "--json"]);
    let second = run(&[
        "search", "bread", "-n", "3", "--offset", "3", "--json", "--fields", "meta",
    ]);
    assert_eq!(first["next_offset"], 3, "{first}");
    assert_eq!([ids(&first), ids(&second)].concat(), ids(&all));
    assert_eq!(second["results"][0]["rank"], 4);
    assert!(second["results"][0].get("snippet").is_none(), "{second}");
    let path = vault.join(second["results"][0]["path"].as_str().unwrap());
    let chars = std::fs::read_to_string(&path).unwrap().chars().count();
    assert_eq!(second["results"][0]["chars"], chars);
    let related = run(&[
        "related",
        "topics/sourdough_baking",
        "-n",
        "2",
        "--offset",
        "2",
        "--json",
    ]);
    let related_all = run(&["related", "topics/sourdough_baking", "-n", "4", "--json"]);
    assert_eq!(ids(&related), ids(&related_all)[2..]);
    let recent = run(&["recent", "-n", "5", "--offset", "15", "--json"]);
    assert_eq!(
        recent["results"].as_array().unwrap().len(),
        1,
        "16 notes: one on this page"
    );
    assert!(recent.get("next_offset").is_none(), "{recent}");
    let cut = run(&["show", "topics/sourdough_baking", "--max-chars", "300", "--json"]);
    let markdown = cut["markdown"].as_str().unwrap();
    assert_eq!(cut["truncated"], true);
    assert!(
        markdown.contains("[… cut here:") && markdown.chars().count() < 420,
        "{markdown}"
    );
    let lines = run(&["show", "topics/sourdough_baking", "--lines", "1-2", "--json"]);
    assert_eq!(lines["lines"], json!([1, 2]));
    // The same over HTTP, with the same messages for bad values.
    let server = Server::start(&index, &["--no-watch"]);
    let (_, page) = server.get("/v1/search?q=bread&limit=3&offset=3&fields=meta");
    assert_eq!(ids(&page), ids(&second));
    let (_, note) = server.get("/v1/notes/topics/sourdough_baking?lines=1-2&max_chars=10");
    assert_eq!(note["lines"], json!([1, 2]));
    for (target, message) in [
        ("/v1/search?q=bread&offset=5000", "bad offset `5000`"),
        (
            "/v1/search?q=bread&fields=some",
            "bad fields `some`: give full or meta",
        ),
        ("/v1/notes/topics/sourdough_baking?lines=top", "bad lines `top`"),
        (
            "/v1/notes/topics/sourdough_baking?max_chars=0",
            "bad max_chars `0`",
        ),
    ] {
        let (status, body) = server.get(target);
        assert_eq!(status, 400, "{target}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{target}: {body}"
        );
    }
    let out = run_with_index(&index, &["search", "bread", "--offset", "5000"]);
    assert!(out.stderr.contains("bad offset `5000`"), "{}", out.stderr);
}
