//! Queries that mean what they say in every mode: constraints (required words, phrases,
//! exclusions, filters) that hold in hybrid and semantic search too, typo tolerance,
//! dates, filters alone, output that is safe for a terminal and for pipes, the same checks
//! of input on every face, the terminal conventions, and footers that survive editing.
//! Run through the real binary on the example vault (with its embeddings) and on small
//! vaults the tests write.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{example_vault, note_ids, run_with_index, Out, Server};
use serde_json::Value;

fn recall(index: &Path, args: &[&str]) -> Out {
    let out = run_with_index(index, args);
    out.assert_no_panic();
    out
}

/// One index of the example vault with embeddings, shared by the tests that only read it.
fn embedded() -> &'static Path {
    static INDEX: OnceLock<tempfile::TempDir> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let vault = example_vault();
            let report = recall(dir.path(), &["index", vault.to_str().unwrap(), "--json"])
                .ok()
                .json();
            assert!(
                report["embeddings_disabled"].is_null(),
                "embeddings needed: {report}"
            );
            dir
        })
        .path()
}

fn search(index: &Path, mode: &str, query: &str, extra: &[&str]) -> Value {
    let mut args = vec!["search", "--json", "--mode", mode];
    if !extra.contains(&"-n") {
        args.extend_from_slice(&["-n", "100"]);
    }
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", query]);
    recall(index, &args).ok().json()
}

fn text_of(vault: &Path, note: &str) -> String {
    std::fs::read_to_string(vault.join(format!("{note}.md")))
        .unwrap()
        .to_lowercase()
}

/// A vault of `files` (path, text) in a temporary folder, and an index of it.
fn small_vault(files: &[(&str, &str)], flags: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    for (path, text) in files {
        let p = vault.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let index = dir.path().join("index");
    let mut args = vec!["index", vault.to_str().unwrap(), "--json"];
    args.extend_from_slice(flags);
    let report = recall(&index, &args).ok().json();
    (dir, vault, index, report)
}

const MODES: [&str; 3] = ["hybrid", "semantic", "lexical"];

// ---------------------------------------------------------------------------------------
// 1. One meaning for a query in every mode

#[test]
fn constraints_hold_in_every_mode() {
    let index = embedded();
    let vault = example_vault();
    for mode in MODES {
        // No note has the required word: nothing, however close the meaning.
        let r = search(index, mode, "bread +zebracorn", &[]);
        assert!(note_ids(&r).is_empty(), "{mode}: {r}");
        // Every result has the required word.
        let ids = note_ids(&search(index, mode, "rust +tokio", &[]));
        assert!(!ids.is_empty(), "{mode}");
        for id in &ids {
            assert!(text_of(&vault, id).contains("tokio"), "{mode}: {id} lacks tokio");
        }
        // A phrase is the words in that order, required.
        assert!(
            note_ids(&search(index, mode, "\"checker borrow\"", &[])).is_empty(),
            "{mode}"
        );
        let ids = note_ids(&search(index, mode, "\"borrow checker\"", &[]));
        assert_eq!(
            ids.first().map(String::as_str),
            Some("topics/rust_programming"),
            "{mode}"
        );
        for id in &ids {
            assert!(text_of(&vault, id).contains("borrow checker"), "{mode}: {id}");
        }
        // Excluded anywhere in the note.
        let ids = note_ids(&search(index, mode, "bread -sourdough", &[]));
        for id in &ids {
            assert!(
                !text_of(&vault, id).contains("sourdough"),
                "{mode}: {id} has sourdough"
            );
        }
        // Filters, and a filter negated.
        let r = search(index, mode, "bread tag:baking", &[]);
        assert!(!note_ids(&r).is_empty(), "{mode}");
        for hit in r["results"].as_array().unwrap() {
            assert!(
                hit["tags"].as_array().unwrap().iter().any(|t| t == "baking"),
                "{mode}: {hit}"
            );
        }
        let r = search(index, mode, "bread -tag:baking", &[]);
        for hit in r["results"].as_array().unwrap() {
            assert!(
                !hit["tags"].as_array().unwrap().iter().any(|t| t == "baking"),
                "{mode}: {hit}"
            );
        }
    }
    // The semantic side alone finds notes without the word; the constraint removes them,
    // and --explain says which constraint removed how many.
    let free = note_ids(&search(index, "semantic", "rust tokio", &[]));
    let r = search(index, "hybrid", "rust +tokio", &["--explain"]);
    assert!(free.len() > note_ids(&r).len(), "{free:?}");
    let constraints = r["constraints"].as_array().expect("constraints with --explain");
    assert_eq!(constraints.len(), 1, "{r}");
    assert_eq!(constraints[0]["constraint"], "+tokio");
    assert!(constraints[0]["removed"].as_u64().unwrap() > 0, "{r}");
    let out = recall(index, &["search", "rust +tokio", "--explain"]).ok();
    assert!(
        out.stdout.contains("(constraint +tokio removed "),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------------------
// 2. Typo tolerance

#[test]
fn typos_are_read_as_the_words_meant() {
    let index = embedded();
    for mode in ["hybrid", "lexical"] {
        let r = search(index, mode, "levian hydraton", &["--explain"]);
        assert_eq!(r["corrected_query"], "levain hydration", "{mode}: {r}");
        let ids = note_ids(&r);
        assert!(
            ids.iter().take(2).any(|n| n == "topics/sourdough_baking"),
            "{mode}: {ids:?}"
        );
        let first = &r["results"][0]["explain"];
        let corrected: Vec<&str> = first["corrected"]
            .as_array()
            .unwrap_or_else(|| panic!("{mode}: per-result evidence of the correction: {first}"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(corrected.contains(&"levain"), "{mode}: {corrected:?}");
        // One slip of the finger no longer means "no match".
        for (typo, note) in [
            ("sourdogh", "topics/sourdough_baking"),
            ("proxmx", "topics/home_networking"),
            ("marathn", "topics/marathon_training"),
        ] {
            let ids = note_ids(&search(index, mode, typo, &[]));
            assert!(ids.iter().take(3).any(|n| n == note), "{mode} {typo}: {ids:?}");
        }
    }
    // People see what was read; words as typed with --exact.
    let out = recall(index, &["search", "levian hydraton"]).ok();
    assert!(
        out.stdout
            .starts_with("showing results for \"levain hydration\"\n"),
        "{}",
        out.stdout
    );
    assert!(note_ids(&search(index, "lexical", "sourdogh", &["--exact"])).is_empty());
    // A short word is not corrected (one edit from four letters is too loose) but offered.
    let r = search(index, "hybrid", "vlna", &[]);
    assert!(note_ids(&r).is_empty(), "{r}");
    assert_eq!(r["did_you_mean"], "vlan", "{r}");
    let out = recall(index, &["search", "vlna"]).ok();
    assert!(
        out.stdout.contains("no results") && out.stdout.contains("did you mean \"vlan\"?"),
        "{}",
        out.stdout
    );
    // Made-up words stay nonsense, and exact words are never "corrected".
    for nonsense in ["quokkaberry", "zebracorn", "bakotiva melunor"] {
        let r = search(index, "hybrid", nonsense, &[]);
        assert!(note_ids(&r).is_empty(), "{nonsense}: {r}");
        assert!(r.get("corrected_query").is_none(), "{nonsense}: {r}");
    }
    let r = search(index, "hybrid", "levain hydration", &[]);
    assert!(
        r.get("corrected_query").is_none() && r.get("corrections").is_none(),
        "{r}"
    );
    // Required words and phrases stay exact unless the correction is the only way to match.
    let ids = note_ids(&search(index, "lexical", "\"levian hydration\"", &[]));
    assert!(ids.contains(&"topics/sourdough_baking".to_string()), "{ids:?}");
}

// ---------------------------------------------------------------------------------------
// 3. Dates

fn dated(updated: &str, established: &str) -> String {
    format!(
        "# Note\n\nSome text about gardens.\n\n---\n*Knowledge domain established: {established}*\n*Last updated: {updated}*\n*Strength: 0.5*\n"
    )
}

#[test]
fn dates_take_years_months_days_and_windows() {
    let today = chrono::Local::now().date_naive();
    let recent = (today - chrono::Days::new(3)).to_string();
    let files = [
        ("y2023.md", dated("2023-05-10", "2022-02-01")),
        ("y2024.md", dated("2024-06-15", "2023-03-01")),
        ("y2025a.md", dated("2025-01-20", "2024-07-04")),
        ("y2025b.md", dated("2025-11-02", "2025-01-01")),
        ("fresh.md", dated(&recent, &recent)),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let (_dir, _vault, index, _) = small_vault(&files, &["--no-embed"]);
    let ids = |query: &str, extra: &[&str]| -> BTreeSet<String> {
        note_ids(&search(&index, "lexical", query, extra))
            .into_iter()
            .collect()
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    assert_eq!(
        ids("gardens", &["--since", "2025"]),
        set(&["y2025a", "y2025b", "fresh"])
    );
    assert_eq!(
        ids("gardens", &["--since", "2025"]),
        ids("gardens", &["--since", "2025-01-01"])
    );
    assert_eq!(ids("gardens", &["--before", "2024"]), set(&["y2023"]));
    assert_eq!(
        ids("gardens", &["--since", "2024-06", "--before", "2025-02"]),
        set(&["y2024", "y2025a"])
    );
    assert_eq!(ids("gardens updated:2024", &[]), set(&["y2024"]));
    assert_eq!(ids("updated:2024-06", &[]), set(&["y2024"]));
    assert!(ids("updated:2024-07", &[]).is_empty());
    assert_eq!(ids("updated:2025-11-02", &[]), set(&["y2025b"]));
    assert_eq!(ids("updated:>2024", &[]), set(&["y2025a", "y2025b", "fresh"]));
    assert_eq!(ids("updated:<=2024", &[]), set(&["y2023", "y2024"]));
    assert_eq!(ids("updated:7d", &[]), set(&["fresh"]));
    assert_eq!(ids("gardens", &["--since", "2w"]), set(&["fresh"]));
    assert_eq!(
        ids("updated:<7d", &[]),
        set(&["y2023", "y2024", "y2025a", "y2025b"])
    );
    assert!(ids("updated:today", &[]).is_empty());
    assert_eq!(ids("established:2023", &[]), set(&["y2024"]));
    assert_eq!(
        ids("established:>=2024-07", &[]),
        set(&["y2025a", "y2025b", "fresh"])
    );
    for bad in [
        &["search", "gardens", "--since", "20250101"][..],
        &["search", "gardens", "--since", "99999999"][..],
        &["search", "gardens", "--before", "2024-6"][..],
        &["search", "gardens updated:2025-13"][..],
        &["search", "gardens established:>soon"][..],
    ] {
        let out = recall(&index, bad);
        assert_eq!(out.code, 2, "{bad:?}: {out:?}");
        assert!(
            out.stderr.contains(
                "write YYYY, YYYY-MM, YYYY-MM-DD, a window like 7d, 2w, 3m or 1y, today or yesterday"
            ),
            "{bad:?}: {}",
            out.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4. Filters

#[test]
fn filters_alone_list_every_match_strongest_first() {
    let index = embedded();
    let strengths: std::collections::HashMap<String, Option<f64>> = common::example_note_ids()
        .into_iter()
        .map(|id| {
            let note = recall(index, &["show", &id, "--json"]).ok().json();
            (id, note["strength"].as_f64())
        })
        .collect();
    let strength = |id: &str| strengths[id];
    let all = common::example_note_ids();
    let matching = all
        .iter()
        .filter(|n| strength(n).is_some_and(|s| s > 0.1))
        .count();
    assert!(matching > 10, "the example vault has more than 10 such notes");
    for mode in MODES {
        let ten = note_ids(&search(index, mode, "strength:>0.1", &["-n", "10"]));
        assert_eq!(ten.len(), 10, "{mode}");
        let every = note_ids(&search(index, mode, "strength:>0.1", &[]));
        assert_eq!(every.len(), matching, "{mode}: {every:?}");
        let strengths: Vec<f64> = every.iter().map(|n| strength(n).unwrap()).collect();
        assert!(
            strengths.windows(2).all(|w| w[0] >= w[1]),
            "{mode}: strongest first: {strengths:?}"
        );
        assert_eq!(ten, every[..10], "{mode}");
    }
    // OR between filters: either passes.
    let either = note_ids(&search(index, "lexical", "tag:python OR tag:rust", &[]));
    let python = note_ids(&search(index, "lexical", "tag:python", &[]));
    let rust = note_ids(&search(index, "lexical", "tag:rust", &[]));
    let union: BTreeSet<&String> = python.iter().chain(&rust).collect();
    assert!(
        python.len() < union.len() && !rust.is_empty(),
        "{python:?} {rust:?}"
    );
    assert_eq!(either.iter().collect::<BTreeSet<_>>(), union);
    // A field that does not exist is an error that names the known ones.
    let out = recall(index, &["search", "tags:python"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("unknown field `tags:`; did you mean `tag:`?"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("tag:, path:, strength:, updated:, established:"),
        "{}",
        out.stderr
    );
    // OR between a filter and a word has no meaning: said, not guessed.
    let out = recall(index, &["search", "tag:rust OR python"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("OR joins two filters"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// 5. Terminal safety and pipes

const HOSTILE: &str = "# Evil \x1b]0;pwned\x07Title\n\nbread \x1b[31mred alert\x1b[0m and a bell \x07 and \x1b[2J clear, carriage\rreturn, C1 \u{9b}31m.\n\n## Sec\x1b[5mtion\n\nmore bread #t\x1bag\n\n[[other\x1b]8;;x\x07]]\n";

#[test]
fn output_never_prints_a_control_character_from_a_note() {
    let (_dir, _vault, index, report) = small_vault(
        &[
            ("evil.md", HOSTILE),
            (
                "other\x1b[1mname.md",
                "# Other \x1b[41m\n\nbread too\n\n*Strength: 0.\x1b7*\n",
            ),
        ],
        &["--no-embed"],
    );
    assert!(report["notes"] == 2, "{report}");
    let commands: [&[&str]; 8] = [
        &["search", "--mode", "lexical", "bread"],
        &["search", "--mode", "lexical", "bread", "--explain"],
        &["show", "evil"],
        &["show", "evil", "--section", "1-20"],
        &["related", "evil"],
        &["recent"],
        &["stats"],
        &["search", "--mode", "lexical", "bread", "--format", "ids"],
    ];
    for color in ["never", "always"] {
        for args in commands {
            let mut all = vec!["--color", color];
            all.extend_from_slice(args);
            let out = recall(&index, &all).ok();
            // recall's own colours are the only escapes allowed.
            let mut rest = out.stdout.clone() + &out.stderr;
            for own in ["\x1b[1m", "\x1b[2m", "\x1b[1;33m", "\x1b[0m"] {
                rest = rest.replace(own, "");
            }
            for c in rest.chars() {
                let control =
                    (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c);
                assert!(!control, "{all:?}: printed {c:?}:\n{}", out.stdout);
            }
            if color == "never" {
                assert!(!out.stdout.contains('\x1b'), "{all:?}");
            }
        }
    }
    let out = recall(&index, &["search", "--mode", "lexical", "bread"]).ok();
    assert!(
        out.stdout.contains("\\e]0;pwned\\x07Title"),
        "escaped, still readable: {}",
        out.stdout
    );
    // JSON carries the text as it is (serde escapes it).
    let r = search(&index, "lexical", "bread", &[]);
    let titles: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Evil \x1b]0;pwned\x07Title"), "{titles:?}");
    // Errors quote what the user gave, made safe too.
    let out = recall(&index, &["show", "nope\x1b[31m"]);
    assert_eq!(out.code, 2);
    assert!(
        !out.stderr.contains('\x1b') && out.stderr.contains("\\e[31m"),
        "{}",
        out.stderr
    );
}

/// Runs recall with its stdout a pipe whose reader is already gone.
fn into_closed_pipe(index: &Path, args: &[&str]) -> std::process::Output {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0i32; 2];
    // SAFETY: pipe fills two new descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the two descriptors pipe just made, each owned once.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_recall"))
        .arg("--index")
        .arg(index)
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_quietly_with_success() {
    let index = embedded();
    for args in [
        &["show", "topics/sourdough_baking", "--json"][..],
        &["show", "topics/sourdough_baking"][..],
        &["search", "bread"][..],
        &["search", "bread", "--json"][..],
        &["search", "tag:baking", "--format", "jsonl"][..],
        &["recent"][..],
        &["related", "topics/sourdough_baking"][..],
        &["stats"][..],
        &["completions", "bash"][..],
    ] {
        let out = into_closed_pipe(index, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: nothing on stderr: {stderr}");
    }
}

// ---------------------------------------------------------------------------------------
// 6. One input check for every face

#[test]
fn every_face_checks_input_alike() {
    let index = embedded();
    let server = Server::start(index, &["--no-watch"]);
    let message = |r: &Value| r["error"]["message"].as_str().unwrap_or_default().to_string();
    // The same message on the command line and over HTTP.
    for (cli, http, expected) in [
        (
            &["search", "bread", "-n", "0"][..],
            "/v1/search?q=bread&limit=0",
            "bad limit `0`: give a whole number from 1 to 100",
        ),
        (
            &["recent", "-n", "101"][..],
            "/v1/recent?limit=101",
            "bad limit `101`: give a whole number from 1 to 100",
        ),
        (
            &["search", "bread", "--mode", "fuzzy"][..],
            "/v1/search?q=bread&mode=fuzzy",
            "bad mode `fuzzy`: use hybrid, lexical or semantic",
        ),
        (
            &["related", "--text", " "][..],
            "/v1/related?text=+",
            "the text is empty",
        ),
        (
            &["search", "bread", "--since", "2025-13"][..],
            "/v1/search?q=bread&since=2025-13",
            "bad date `2025-13`: write YYYY",
        ),
        (
            &["search", "tags:python"][..],
            "/v1/search?q=tags:python",
            "unknown field `tags:`; did you mean `tag:`?",
        ),
    ] {
        let out = recall(index, cli);
        assert_eq!(out.code, 2, "{cli:?}: {out:?}");
        assert!(out.stderr.contains(expected), "{cli:?}: {}", out.stderr);
        let (status, body) = server.get(http);
        assert_eq!(status, 400, "{http}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{http}: {body}");
        assert!(message(&body).contains(expected), "{http}: {body}");
    }
    // Unknown parameters are refused with the known ones; a missing one is named as sent.
    let (status, body) = server.get("/v1/search?q=bread&lmit=5");
    assert_eq!(status, 400, "{body}");
    assert!(
        message(&body).starts_with("unknown parameter `lmit`; did you mean `limit`?"),
        "{body}"
    );
    assert!(
        message(&body).contains("q, query, limit, offset, fields, mode"),
        "{body}"
    );
    let (status, body) = server.get("/v1/search?limit=5");
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("missing parameter `q`"), "{body}");
    let (status, body) = server.get("/v1/status?verbose=1");
    assert_eq!(status, 400, "{body}");
    // A wrong method: 405 with the JSON error body.
    let (status, body) = server.raw(
        format!(
            "POST /v1/search?q=bread HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            server.port
        )
        .as_bytes(),
    );
    assert_eq!(status, 405, "{body}");
    let body: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("405 body is JSON ({e}): {body}"));
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    // Good requests still answer.
    let (status, body) = server.get("/v1/search?q=levian+hydraton&limit=3&mode=lexical&explain=true");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["corrected_query"], "levain hydration", "{body}");
}

// ---------------------------------------------------------------------------------------
// 7. Terminal conventions

#[test]
fn completions_man_page_formats_and_colour() {
    let index = embedded();
    let bash = recall(index, &["completions", "bash"]).ok().stdout;
    assert!(bash.contains("complete") && bash.contains("recall"), "{bash}");
    let zsh = recall(index, &["completions", "zsh"]).ok().stdout;
    assert!(zsh.starts_with("#compdef recall"), "{zsh}");
    let fish = recall(index, &["completions", "fish"]).ok().stdout;
    assert!(fish.contains("complete -c recall"), "{fish}");
    let man = recall(index, &["manpage"]).ok().stdout;
    assert!(
        man.contains(".TH recall") && man.contains("search"),
        "{}",
        &man[..man.len().min(400)]
    );
    assert_eq!(recall(index, &["completions", "powershell"]).code, 2);

    let json = search(index, "hybrid", "sourdough", &["-n", "5"]);
    let ids = recall(index, &["search", "sourdough", "-n", "5", "--format", "ids"])
        .ok()
        .stdout;
    assert_eq!(ids.lines().collect::<Vec<_>>(), note_ids(&json), "{ids}");
    let lines = recall(index, &["search", "sourdough", "-n", "5", "--format", "jsonl"])
        .ok()
        .stdout;
    let parsed: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed.len(), note_ids(&json).len());
    assert_eq!(parsed[0]["note"], json["results"][0]["note"]);
    let recent = recall(index, &["recent", "-n", "3", "--format", "ids"])
        .ok()
        .stdout;
    assert_eq!(recent.lines().count(), 3, "{recent}");

    // Colour: never when piped or with NO_COLOR in auto; always when asked.
    let plain = recall(index, &["search", "levain", "-n", "1", "--mode", "lexical"])
        .ok()
        .stdout;
    assert!(!plain.contains('\x1b') && plain.contains("**levain**"), "{plain}");
    let always = recall(
        index,
        &[
            "--color", "always", "search", "levain", "-n", "1", "--mode", "lexical",
        ],
    )
    .ok()
    .stdout;
    assert!(always.contains("\x1b[1;33m"), "{always}");
}

// ---------------------------------------------------------------------------------------
// 8. Footers that survive editing

#[test]
fn footers_survive_text_after_them_and_bad_lines_are_warnings() {
    let seed =
        std::fs::read_to_string(common::manifest_dir().join("../shared/seed/python_development.md")).unwrap();
    let edited = format!("{seed}\n\nAdded later by an agent: prefers uv over pip.\n");
    let broken = seed.replace("*Strength: 0.85*", "*Strength: high*");
    let (_dir, _vault, index, report) = small_vault(
        &[("topics/edited.md", &edited), ("topics/broken.md", &broken)],
        &["--no-embed"],
    );
    let warnings = report["warnings"]
        .as_array()
        .expect("index --json reports warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w["note"] == "topics/broken" && w["warning"].as_str().unwrap().contains("\"high\"")),
        "{report}"
    );
    assert!(!warnings.iter().any(|w| w["note"] == "topics/edited"), "{report}");
    let show = |id: &str| recall(&index, &["show", id, "--json"]).ok().json();
    let e = show("topics/edited");
    assert_eq!(e["strength"], 0.85, "{e}");
    assert_eq!(e["established"], "2024-01-15");
    assert_eq!(e["updated"], "2024-02-18");
    let b = show("topics/broken");
    assert!(b["strength"].is_null(), "{b}");
    assert_eq!(b["updated"], "2024-02-18");
    assert!(
        b["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("\"high\"")),
        "{b}"
    );
    let human = recall(&index, &["show", "topics/broken"]).ok().stdout;
    assert!(
        human.contains("warning: strength \"high\" is not a number"),
        "{human}"
    );
    // The text after the footer is searchable, and the footer is not.
    let ids = note_ids(&search(&index, "lexical", "\"prefers uv over pip\"", &[]));
    assert_eq!(ids, ["topics/edited"]);
    // Ranking and `recent` see the dates.
    let recent = recall(&index, &["recent", "--json"]).ok().json();
    assert!(
        recent["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["updated"] == "2024-02-18"),
        "{recent}"
    );
}

#[test]
fn front_matter_keys_are_filters_in_every_mode_and_face() {
    let (_dir, vault, index, _) = common::indexed_copy(&[]);
    let prepend = |note: &str, yaml: &str| {
        let path = vault.join(note);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("---\n{yaml}---\n{text}")).unwrap();
    };
    prepend(
        "projects/garden_planner.md",
        "status: active\ntype: [project, design decision]\n",
    );
    prepend(
        "projects/homelab_dashboard.md",
        "status: Superseded\npriority: 2\n",
    );
    recall(&index, &["update"]).ok();
    let ids = |args: &[&str]| {
        let mut all = vec!["search", "--json", "-n", "20", "--no-refresh"];
        all.extend_from_slice(args);
        note_ids(&recall(&index, &all).ok().json())
    };
    for mode in ["hybrid", "lexical", "semantic"] {
        let m = ["--mode", mode];
        assert_eq!(
            ids(&[&m[..], &["project status:active"]].concat()),
            ["projects/garden_planner"],
            "{mode}"
        );
        let not = ids(&[&m[..], &["project -status:superseded"]].concat());
        assert!(
            !not.contains(&"projects/homelab_dashboard".to_string()),
            "{mode}: {not:?}"
        );
        assert!(
            not.contains(&"projects/garden_planner".to_string()),
            "{mode}: {not:?}"
        );
        let quoted = ids(&[&m[..], &["sensors type:\"Design Decision\""]].concat());
        assert_eq!(quoted, ["projects/garden_planner"], "{mode}");
    }
    // Alone (a listing), numbers, either of two values.
    assert_eq!(ids(&["priority:2"]), ["projects/homelab_dashboard"]);
    assert_eq!(ids(&["status:active OR status:superseded"]).len(), 2);
    // The keys, with counts; an unknown key lists them; keys recall reads itself are not
    // filters of their own (`tags:` means `tag:`).
    let stats = recall(&index, &["stats", "--json"]).ok().json();
    assert_eq!(
        stats["front_matter"][0],
        serde_json::json!({"key": "status", "notes": 2}),
        "{stats}"
    );
    let out = recall(&index, &["search", "colour:red"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("unknown field `colour:`") && out.stderr.contains("front-matter keys status:, "),
        "{}",
        out.stderr
    );
    let out = recall(&index, &["search", "tags:python"]);
    assert!(out.stderr.contains("did you mean `tag:`?"), "{}", out.stderr);
    // The same over HTTP and MCP.
    let server = Server::start(&index, &["--no-watch"]);
    let (_, body) = server.get("/v1/search?q=status:active");
    assert_eq!(note_ids(&body), ["projects/garden_planner"]);
    let (status, body) = server.get("/v1/search?q=colour:red");
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour:`"),
        "{body}"
    );
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search","arguments":{"query":"-status:superseded tag:project"}}}"#;
    let v = common::mcp_stdio_call(&index, &["--no-watch"], call);
    assert_eq!(
        note_ids(&v["result"]["structuredContent"]),
        ["projects/garden_planner"],
        "{v}"
    );
}
