//! Always fresh, never corrupt: incremental updates, refresh before answering, watch, the
//! writer lock, kill -9 at any moment, and index versioning. All through the real binary.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{example_vault, indexed_copy, note_ids, run_with_index, Out};
use serde_json::Value;

fn recall(index: &Path, args: &[&str]) -> Out {
    let out = run_with_index(index, args);
    out.assert_no_panic();
    out
}

fn spawn(index: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_recall"))
        .arg("--index")
        .arg(index)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning recall")
}

fn ids(index: &Path, extra: &[&str], query: &str) -> (Vec<String>, String) {
    let mut args = vec!["search", "--json", "--mode", "lexical"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", query]);
    let out = recall(index, &args).ok();
    (note_ids(&out.json()), out.stderr)
}

fn append(path: &Path, text: &str) {
    let mut s = std::fs::read_to_string(path).unwrap();
    s.push_str(text);
    std::fs::write(path, s).unwrap();
}

#[test]
fn update_reads_and_embeds_only_what_changed() {
    let (_dir, vault, idx, first) = indexed_copy(&[]);
    let all_chunks = first["embedded"].as_u64().unwrap();

    // One note edited in one section, one added, one deleted, one renamed.
    append(
        &vault.join("topics/sourdough_baking.md"),
        "\nA note on quinoa porridge.\n",
    );
    std::fs::write(
        vault.join("topics/kombucha.md"),
        "# Kombucha\n\nThe scoby floats.\n",
    )
    .unwrap();
    std::fs::remove_file(vault.join("topics/music_production.md")).unwrap();
    std::fs::rename(
        vault.join("projects/garden_planner.md"),
        vault.join("projects/garden_planner_v2.md"),
    )
    .unwrap();

    let r: Value = recall(idx.as_path(), &["update", "--json"]).ok().json();
    assert_eq!(r["kind"], "incremental", "{r}");
    assert_eq!(
        (r["added"].as_u64(), r["changed"].as_u64(), r["deleted"].as_u64()),
        (Some(2), Some(1), Some(2)),
        "{r}"
    );
    let embedded = r["embedded"].as_u64().unwrap();
    assert!(
        (2..=4).contains(&embedded),
        "only the changed section and the new note: {r}"
    );
    assert!(
        r["reused"].as_u64().unwrap() > 10,
        "the renamed note's text was embedded before: {r}"
    );
    assert!(embedded < all_chunks / 10, "{r}");

    assert_eq!(
        ids(idx.as_path(), &["--no-refresh"], "quinoa").0,
        vec!["topics/sourdough_baking"]
    );
    assert_eq!(
        ids(idx.as_path(), &["--no-refresh"], "scoby").0,
        vec!["topics/kombucha"]
    );
    assert!(
        ids(idx.as_path(), &["--no-refresh"], "ableton").0.is_empty(),
        "deleted note is gone"
    );
    let planner = ids(idx.as_path(), &["--no-refresh"], "soil moisture esp32").0;
    assert_eq!(planner[0], "projects/garden_planner_v2");
    assert!(!planner.contains(&"projects/garden_planner".to_string()));
    assert_eq!(
        recall(idx.as_path(), &["show", "projects/garden_planner"]).code,
        2
    );
    // Semantic search sees the change too, and not the deleted note.
    let v = recall(
        idx.as_path(),
        &[
            "search",
            "--json",
            "--mode",
            "semantic",
            "--no-refresh",
            "fermented tea with a scoby",
        ],
    )
    .ok()
    .json();
    assert_eq!(v["results"][0]["note"], "topics/kombucha", "{v}");
    let v = recall(
        idx.as_path(),
        &[
            "related",
            "--json",
            "--no-refresh",
            "people/alex_chen",
            "-n",
            "20",
        ],
    )
    .ok()
    .json();
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["note"] != "topics/music_production"),
        "{v}"
    );

    // Nothing changed: nothing done.
    let r: Value = recall(idx.as_path(), &["update", "--json"]).ok().json();
    assert_eq!(r["kind"], "up-to-date", "{r}");
}

#[test]
fn queries_refresh_small_changes_and_warn_about_large_ones() {
    let (_dir, vault, idx, _) = indexed_copy(&["--no-embed"]);

    append(
        &vault.join("topics/rust_programming.md"),
        "\nTried the zigzag allocator.\n",
    );
    let (found, stderr) = ids(idx.as_path(), &[], "zigzag");
    assert_eq!(found, vec!["topics/rust_programming"]);
    assert!(
        stderr.contains("index refreshed: 0 added, 1 changed, 0 deleted"),
        "{stderr}"
    );
    let (_, stderr) = ids(idx.as_path(), &[], "zigzag");
    assert!(stderr.is_empty(), "second query: nothing to do: {stderr}");

    // --no-refresh answers from the index as it is.
    append(
        &vault.join("topics/rust_programming.md"),
        "\nAnd the quokka scheduler.\n",
    );
    assert!(ids(idx.as_path(), &["--no-refresh"], "quokka").0.is_empty());

    // Many changes: a warning, no inline rebuild, and still no deleted note.
    for i in 0..25 {
        std::fs::write(
            vault.join(format!("bulk_{i}.md")),
            format!("# Bulk {i}\n\nquokka number {i}\n"),
        )
        .unwrap();
    }
    std::fs::remove_file(vault.join("topics/home_networking.md")).unwrap();
    let (found, stderr) = ids(idx.as_path(), &[], "vlan pfsense");
    assert!(
        stderr.contains("index is stale") && stderr.contains("recall update"),
        "{stderr}"
    );
    assert!(
        !found.contains(&"topics/home_networking".to_string()),
        "a deleted note is never returned: {found:?}"
    );

    let r: Value = recall(idx.as_path(), &["update", "--json"]).ok().json();
    assert_eq!(
        (r["added"].as_u64(), r["changed"].as_u64(), r["deleted"].as_u64()),
        (Some(25), Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(ids(idx.as_path(), &[], "quokka").0.len(), 10);
}

#[test]
fn watch_follows_editor_saves() {
    let (_dir, vault, idx, _) = indexed_copy(&["--no-embed"]);
    let mut watch = spawn(idx.as_path(), &["watch", "--debounce-ms", "200"]);
    std::thread::sleep(Duration::from_millis(500));
    // An editor's save: write a temporary file, then rename it over the note.
    let note = vault.join("topics/gardening_tomatoes.md");
    let tmp = vault.join("topics/.gardening_tomatoes.md.swp");
    let mut text = std::fs::read_to_string(&note).unwrap();
    text.push_str("\nThe xylophone trellis held.\n");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &note).unwrap();
    std::fs::write(
        vault.join("topics/new_idea.md"),
        "# New idea\n\nA xylophone for the garden.\n",
    )
    .unwrap();
    let started = Instant::now();
    let mut found = Vec::new();
    while started.elapsed() < Duration::from_secs(20) {
        found = ids(idx.as_path(), &["--no-refresh"], "xylophone").0;
        if found.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    watch.kill().unwrap();
    let out = watch.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    found.sort();
    assert_eq!(
        found,
        vec!["topics/gardening_tomatoes", "topics/new_idea"],
        "watch output:\n{stdout}"
    );
    assert!(stdout.contains("updated:"), "{stdout}");
}

/// Waits until the writer of `index` holds the lock and has started staging.
fn wait_for_staging(index: &Path, child: &mut Child) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let staging = std::fs::read_dir(index)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("staging-"))
            })
            .unwrap_or(false);
        if staging {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the writer ended before staging"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the writer never started staging");
}

#[test]
fn a_second_writer_is_refused_and_a_dead_writers_lock_recovered() {
    let (_dir, vault, idx, _) = indexed_copy(&["--no-embed"]);
    // A full build with embeddings takes seconds: long enough to collide with.
    let mut first = spawn(idx.as_path(), &["index", vault.to_str().unwrap(), "--rebuild"]);
    wait_for_staging(idx.as_path(), &mut first);
    let second = recall(idx.as_path(), &["index", vault.to_str().unwrap(), "--rebuild"]);
    assert_eq!(second.code, 1, "{second:?}");
    let pid = first.id().to_string();
    assert!(
        second.stderr.contains(&format!("index is locked by pid {pid}")),
        "{}",
        second.stderr
    );
    // Searches keep working meanwhile.
    assert!(!ids(idx.as_path(), &["--no-refresh"], "levain").0.is_empty());
    // The writer dies without cleaning up: its lock and staging folder must not block anyone.
    first.kill().unwrap();
    first.wait().unwrap();
    let r: Value = recall(
        idx.as_path(),
        &[
            "index",
            vault.to_str().unwrap(),
            "--rebuild",
            "--no-embed",
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(r["notes"], 16);
    let leftovers: Vec<String> = std::fs::read_dir(idx.as_path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("staging-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn kill_9_at_twenty_points_never_corrupts_the_index() {
    let (_dir, vault, idx, _) = indexed_copy(&[]);
    let note = vault.join("topics/marathon_training.md");
    // How long each kind of run takes on this machine, so the kills spread over the whole
    // of a run however fast the machine is.
    let timed = |args: &[&str]| {
        let start = Instant::now();
        recall(idx.as_path(), args).ok();
        start.elapsed().as_millis() as u64
    };
    append(&note, "\nwarm-up paragraph.\n");
    let (full, update) = (timed(&["index", "--rebuild"]), timed(&["update"]));
    let mut killed = 0;
    for i in 0..20u64 {
        append(&note, &format!("\nmarker{i} paragraph.\n"));
        // Alternate full builds (reading, indexing, embedding, graph, publish) and updates.
        let args: &[&str] = if i % 2 == 0 {
            &["index", "--rebuild"]
        } else {
            &["update"]
        };
        let mut child = spawn(idx.as_path(), args);
        // From 1 % to 86 % of a run's measured length.
        let delay = if i % 2 == 0 { full } else { update } * (1 + i * 9 / 2) / 100;
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().ok();
        child.wait().unwrap();
        // Whatever state it died in, the index opens and answers with a consistent state.
        let (found, _) = ids(idx.as_path(), &["--no-refresh"], "tempo run");
        assert_eq!(
            found.first().map(String::as_str),
            Some("topics/marathon_training"),
            "after kill {i}"
        );
        let stats = recall(idx.as_path(), &["stats", "--json"]).ok().json();
        assert_eq!(stats["notes"], 16, "after kill {i}: {stats}");
        let v = recall(
            idx.as_path(),
            &[
                "search",
                "--json",
                "--no-refresh",
                "--mode",
                "hybrid",
                "tempo run",
            ],
        )
        .ok()
        .json();
        assert_eq!(v["mode"], "hybrid", "vectors intact after kill {i}: {v}");
    }
    assert!(killed >= 10, "most runs were killed mid-way ({killed})");
    // The next update completes and brings everything in.
    recall(idx.as_path(), &["update", "--json"]).ok();
    assert_eq!(
        ids(idx.as_path(), &["--no-refresh"], "marker19").0,
        vec!["topics/marathon_training"]
    );
}

#[test]
fn an_index_of_another_format_or_model_is_refused_clearly() {
    let idx = tempfile::tempdir().unwrap();
    let vault = example_vault();
    recall(idx.path(), &["index", vault.to_str().unwrap(), "--json"]).ok();
    let current = std::fs::read_to_string(idx.path().join("CURRENT")).unwrap();
    let manifest_path = idx.path().join(current.trim()).join("manifest.json");
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();

    let mut other_model = manifest.clone();
    other_model["model"] = Value::from("some-other-model:0123456789abcdef");
    std::fs::write(&manifest_path, other_model.to_string()).unwrap();
    let out = recall(
        idx.path(),
        &["search", "--no-refresh", "--mode", "semantic", "bread"],
    );
    // Not the caller's mistake but the index's: exit 1, as for a missing model.
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("built with model some-other-model") && out.stderr.contains("--rebuild"),
        "{}",
        out.stderr
    );

    // Format 8 (the same layout but for the priors table, read either way) still opens.
    let mut format_8 = manifest.clone();
    format_8["format"] = Value::from(8);
    std::fs::write(&manifest_path, format_8.to_string()).unwrap();
    let out = recall(idx.path(), &["search", "bread", "--mode", "lexical"]);
    assert_eq!(out.code, 0, "{out:?}");

    let mut old_format = manifest;
    old_format["format"] = Value::from(1);
    std::fs::write(&manifest_path, old_format.to_string()).unwrap();
    let out = recall(idx.path(), &["search", "bread"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("has format 1") && out.stderr.contains("recall index --rebuild"),
        "{}",
        out.stderr
    );
    // Indexing again replaces it.
    recall(
        idx.path(),
        &["index", vault.to_str().unwrap(), "--no-embed", "--json"],
    )
    .ok();
    assert!(!ids(idx.path(), &[], "levain").0.is_empty());
}

/// The `resolved` of each link of `note` (`show --json`), by raw link text.
fn resolved_links(index: &Path, note: &str) -> Vec<(String, Value)> {
    let v = recall(index, &["show", note, "--json"]).ok().json();
    v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["raw"].as_str().unwrap().to_string(), l["resolved"].clone()))
        .collect()
}

fn backlinks(index: &Path, note: &str) -> Vec<String> {
    let v = recall(index, &["show", note, "--json"]).ok().json();
    v["backlinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn links_resolve_again_when_their_targets_come_and_go() {
    let (_dir, vault, idx, _) = indexed_copy(&["--no-embed"]);
    let idx = idx.as_path();
    std::fs::write(
        vault.join("topics/pickles.md"),
        "# Pickles\n\nSee [[ferments/kimchi]] and [[kraut]].\n",
    )
    .unwrap();
    recall(idx, &["update", "--json"]).ok();
    assert_eq!(
        resolved_links(idx, "topics/pickles"),
        [
            ("ferments/kimchi".to_string(), Value::Null),
            ("kraut".to_string(), Value::Null)
        ]
    );
    // The targets appear: the untouched note's links now resolve, and backlinks follow.
    std::fs::create_dir_all(vault.join("ferments")).unwrap();
    std::fs::write(vault.join("ferments/kimchi.md"), "# Kimchi\n\nNapa cabbage.\n").unwrap();
    std::fs::write(vault.join("ferments/kraut.md"), "# Kraut\n\nCabbage and salt.\n").unwrap();
    let r: Value = recall(idx, &["update", "--json"]).ok().json();
    assert_eq!(r["added"], 2, "{r}");
    assert_eq!(
        resolved_links(idx, "topics/pickles"),
        [
            ("ferments/kimchi".to_string(), Value::from("ferments/kimchi")),
            ("kraut".to_string(), Value::from("ferments/kraut"))
        ]
    );
    assert_eq!(backlinks(idx, "ferments/kraut"), ["topics/pickles"]);
    let related: Value = recall(idx, &["related", "topics/pickles", "--json", "--no-refresh"])
        .ok()
        .json();
    assert!(
        related["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["note"] == "ferments/kraut" && r["reasons"][0] == "links to it"),
        "{related}"
    );
    // A second `kraut` makes `[[kraut]]` ambiguous: unresolved again, as Obsidian has it.
    std::fs::write(vault.join("topics/kraut.md"), "# Kraut (band)\n\nKrautrock.\n").unwrap();
    recall(idx, &["update", "--json"]).ok();
    assert_eq!(resolved_links(idx, "topics/pickles")[1].1, Value::Null);
    assert!(backlinks(idx, "ferments/kraut").is_empty());
    // A target deleted: the link is unresolved, the stats count it so.
    std::fs::remove_file(vault.join("ferments/kimchi.md")).unwrap();
    std::fs::remove_file(vault.join("topics/kraut.md")).unwrap();
    recall(idx, &["update", "--json"]).ok();
    assert_eq!(
        resolved_links(idx, "topics/pickles"),
        [
            ("ferments/kimchi".to_string(), Value::Null),
            ("kraut".to_string(), Value::from("ferments/kraut"))
        ]
    );
    // The counts kept through the updates match a build from scratch.
    let stats = recall(idx, &["stats", "--json"]).ok().json();
    let fresh = tempfile::tempdir().unwrap();
    recall(fresh.path(), &["index", vault.to_str().unwrap(), "--no-embed"]).ok();
    let rebuilt = recall(fresh.path(), &["stats", "--json"]).ok().json();
    for key in ["notes", "sections", "tags", "links_resolved", "links_unresolved"] {
        assert_eq!(stats[key], rebuilt[key], "{key}: {stats} vs {rebuilt}");
    }
}

#[test]
fn a_first_build_answers_keywords_while_embedding_and_resumes_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    common::copy_dir(&example_vault(), &vault);
    let idx = dir.path().join("index");
    let mut build = spawn(&idx, &["index", vault.to_str().unwrap(), "--json"]);
    // Wait for embedding to be under way: the keyword index is published by then.
    let progress = idx.join("EMBEDDING");
    let started = Instant::now();
    let mut seen = None;
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(text) = std::fs::read_to_string(&progress) {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if v["done"].as_u64().is_some_and(|d| d > 0) {
                seen = Some(v);
                break;
            }
        }
        assert!(
            build.try_wait().unwrap().is_none(),
            "the build ended before embedding was seen"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let seen = seen.expect("embedding progress");
    let total = seen["total"].as_u64().unwrap();
    let out = recall(&idx, &["search", "--json", "--no-refresh", "levain hydration"]).ok();
    let v = out.json();
    assert_eq!(v["mode"], "lexical", "keyword results while embedding: {v}");
    assert_eq!(v["results"][0]["note"], "topics/sourdough_baking");
    assert!(
        out.stderr.contains("embeddings are being built"),
        "{}",
        out.stderr
    );
    build.kill().unwrap();
    build.wait().unwrap();
    // Killed: the keyword index still answers, and says embedding was interrupted.
    let out = recall(&idx, &["search", "--json", "--no-refresh", "levain"]).ok();
    assert_eq!(out.json()["mode"], "lexical");
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
    // An update finishes the job without embedding again what was done.
    let r = recall(&idx, &["update", "--json"]).ok().json();
    let embedded = r["embedded"].as_u64().unwrap();
    assert!(embedded < total, "{embedded} embedded again of {total}: {r}");
    assert!(r["embeddings_disabled"].is_null(), "{r}");
    let v = recall(&idx, &["search", "--json", "--no-refresh", "levain hydration"])
        .ok()
        .json();
    assert_eq!(v["mode"], "hybrid", "{v}");
    assert!(!progress.exists(), "the progress is gone once embedding is done");
}

#[test]
fn an_ignore_file_edited_in_place_is_seen_by_the_next_update() {
    let (_dir, vault, idx, _) = indexed_copy(&["--no-embed"]);
    let idx = idx.as_path();
    std::fs::write(vault.join(".gitignore"), "# nothing yet\n").unwrap();
    recall(idx, &["update", "--json"]).ok();
    assert_eq!(
        ids(idx, &["--no-refresh"], "levain").0[0],
        "topics/sourdough_baking"
    );
    // Same file, same folder entries: only its content says the note is now ignored.
    std::thread::sleep(Duration::from_millis(20));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(vault.join(".gitignore"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"topics/sourdough_baking.md\n").unwrap();
    drop(f);
    let r = recall(idx, &["update", "--json"]).ok().json();
    assert_eq!(r["deleted"], 1, "{r}");
    assert!(!ids(idx, &["--no-refresh"], "levain")
        .0
        .contains(&"topics/sourdough_baking".to_string()));
}
