//! Semantic and hybrid search with the real model (installed by `make setup`), run through
//! the real binary on the example vault.

mod common;

use std::path::Path;

use common::{example_vault, note_ids, run_with_index, Out};
use serde_json::Value;

fn recall(index: &Path, args: &[&str]) -> Out {
    let out = run_with_index(index, args);
    out.assert_no_panic();
    out
}

fn recall_env(index: &Path, env: (&str, &str), args: &[&str]) -> Out {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_recall"))
        .arg("--index")
        .arg(index)
        .args(args)
        .env(env.0, env.1)
        .env_remove("RECALL_ORT_LIB")
        .output()
        .expect("running recall");
    let out = Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    out.assert_no_panic();
    out
}

fn search(index: &Path, mode: &str, query: &str) -> Value {
    recall(
        index,
        &[
            "search",
            "--json",
            "--explain",
            "--mode",
            mode,
            "-n",
            "5",
            "--",
            query,
        ],
    )
    .ok()
    .json()
}

#[test]
fn embeddings_are_built_once_and_find_notes_by_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let vault = example_vault();
    let vault = vault.to_str().unwrap();
    let first = recall(dir.path(), &["index", vault, "--json"]).ok().json();
    assert!(first["embeddings_disabled"].is_null(), "{first}");
    let embedded = first["embedded"].as_u64().unwrap();
    assert!(embedded >= 200, "every section is embedded: {first}");

    // Unchanged notes: nothing is embedded again (incremental updates: tests/fresh.rs).
    let second = recall(dir.path(), &["index", vault, "--json"]).ok().json();
    assert_eq!(second["kind"], "up-to-date", "{second}");
    assert_eq!(second["embedded"], 0, "{second}");
    // --rebuild embeds everything again.
    let third = recall(dir.path(), &["index", vault, "--json", "--rebuild"])
        .ok()
        .json();
    assert_eq!(third["embedded"].as_u64(), Some(embedded), "{third}");

    // Semantic: no query word appears in the note, the meaning does.
    let v = search(
        dir.path(),
        "semantic",
        "keeping a wild yeast culture alive for bread",
    );
    assert_eq!(v["mode"], "semantic");
    let ids = note_ids(&v);
    assert!(
        ids[..3].contains(&"topics/sourdough_baking".to_string()),
        "{ids:?}"
    );
    let first_hit = &v["results"][0];
    assert!(first_hit["explain"]["lexical"].is_null(), "{first_hit}");
    let sim = first_hit["explain"]["semantic"]["similarity"].as_f64().unwrap();
    assert!(sim > 0.3 && sim <= 1.0, "{first_hit}");

    // Hybrid (the default mode) explains both sides.
    let v = recall(
        dir.path(),
        &[
            "search",
            "--json",
            "--explain",
            "smart plugs on their own network",
        ],
    )
    .ok()
    .json();
    assert_eq!(v["mode"], "hybrid");
    let top = &v["results"][0];
    assert_eq!(top["note"], "topics/home_networking", "{v}");
    assert!(top["explain"]["lexical"]["rank"].as_u64().is_some(), "{top}");
    assert!(top["explain"]["semantic"]["rank"].as_u64().is_some(), "{top}");

    // Filters apply to semantic results too.
    let v = search(dir.path(), "semantic", "bread path:episodes/");
    let ids = note_ids(&v);
    assert!(
        !ids.is_empty() && ids.iter().all(|n| n.starts_with("episodes/")),
        "{ids:?}"
    );
    assert_eq!(ids[0], "episodes/2024-05-02_bakery_visit");
    let v = search(dir.path(), "semantic", "bread -levain");
    assert!(
        !note_ids(&v).contains(&"topics/sourdough_baking".to_string()),
        "{v}"
    );

    // Text output shows the explanation line.
    let out = recall(dir.path(), &["search", "--explain", "tempo run"]).ok();
    assert!(out.stdout.contains("explain: lexical #"), "{}", out.stdout);
}

#[test]
fn missing_model_is_a_clear_error_and_keywords_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no-model-here");
    let nowhere = nowhere.to_str().unwrap();
    let env = ("RECALL_MODEL_DIR", nowhere);

    let out = recall_env(dir.path(), env, &["doctor"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("libonnxruntime.so.1.31.1") && out.stderr.contains("make setup"),
        "{}",
        out.stderr
    );

    let index = dir.path().join("index");
    let vault = example_vault();
    let out = recall_env(&index, env, &["index", vault.to_str().unwrap(), "--json"]).ok();
    let report = out.json();
    assert!(
        report["embeddings_disabled"]
            .as_str()
            .unwrap()
            .contains("is missing"),
        "{report}"
    );
    assert_eq!(report["notes"], 16);

    // Keyword search works; hybrid falls back to it with a warning; semantic is refused.
    let out = recall_env(&index, env, &["search", "--json", "levain"]).ok();
    assert_eq!(out.json()["mode"], "lexical");
    assert!(out.stderr.contains("keyword search only"), "{}", out.stderr);
    let out = recall_env(&index, env, &["search", "--mode", "semantic", "levain"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no embeddings"), "{}", out.stderr);
}

#[test]
fn corrupt_model_file_is_reported_with_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for f in [
        "model.onnx",
        "tokenizer.json",
        "config.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
    ] {
        std::fs::write(model.join(f), b"not a model").unwrap();
    }
    let out = recall(dir.path(), &["--model-dir", model.to_str().unwrap(), "doctor"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("cannot load the embedding model"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(model.to_str().unwrap()), "{}", out.stderr);
}

#[test]
fn doctor_reports_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let v = recall(dir.path(), &["doctor", "--json"]).ok().json();
    assert_eq!(v["dimension"], 384, "{v}");
    assert!(
        v["model"].as_str().unwrap().starts_with("all-MiniLM-L6-v2:"),
        "{v}"
    );
    assert!(v["probe_similarity"].as_f64().unwrap() > 0.5, "{v}");
}

#[test]
fn a_word_no_note_contains_has_no_results_in_any_mode() {
    let dir = tempfile::tempdir().unwrap();
    let vault = example_vault();
    recall(dir.path(), &["index", vault.to_str().unwrap(), "--json"]).ok();
    for mode in ["lexical", "semantic", "hybrid"] {
        for query in ["quokkaberry", "zarimo tefuda"] {
            let v = search(dir.path(), mode, query);
            assert_eq!(v["results"], serde_json::json!([]), "{mode} {query}: {v}");
            assert!(v["dropped"].as_u64().unwrap() > 0 || mode == "lexical", "{v}");
        }
        // `--min-score 0` shows what the floor dropped (keyword mode has nothing to show:
        // no section contains the word).
        let v = recall(
            dir.path(),
            &[
                "search",
                "--json",
                "--mode",
                mode,
                "--min-score",
                "0",
                "quokkaberry",
            ],
        )
        .ok()
        .json();
        assert_eq!(
            v["results"].as_array().unwrap().is_empty(),
            mode == "lexical",
            "{v}"
        );
    }
    let out = recall(dir.path(), &["search", "--explain", "quokkaberry"]).ok();
    assert!(out.stdout.starts_with("no results"), "{}", out.stdout);
    assert!(out.stdout.contains("left out"), "{}", out.stdout);

    // A real query keeps its answer, with scores in [0, 1] that fall with rank.
    let v = search(dir.path(), "hybrid", "levain hydration");
    assert_eq!(v["results"][0]["note"], "topics/sourdough_baking", "{v}");
    let scores: Vec<f64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["score"].as_f64().unwrap())
        .collect();
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{scores:?}");
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

/// ONNX Runtime 1.31 sends usage events to Microsoft and keeps a device id and an event
/// database in the user's cache folder unless told not to: recall must do neither.
#[test]
fn the_model_runtime_sends_nothing_and_leaves_nothing_in_home() {
    // The model cache as recall finds it here, handed over explicitly since HOME changes.
    let model_dir = recall::embed::cache_dir();
    let fake_home = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let vault = example_vault();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_recall"))
            .arg("--index")
            .arg(index.path())
            .args(args)
            .env("HOME", fake_home.path())
            .env("XDG_CACHE_HOME", fake_home.path().join(".cache"))
            .env("RECALL_MODEL_DIR", &model_dir)
            .env_remove("ORT_DISABLE_TELEMETRY")
            .output()
            .expect("running recall");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&["index", vault.to_str().unwrap(), "--json"]);
    run(&[
        "search",
        "--mode",
        "hybrid",
        "--",
        "how do I make async code faster",
    ]);
    let left: Vec<_> = walk(fake_home.path());
    assert!(left.is_empty(), "recall left files in HOME: {left:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        out.push(path.clone());
        if path.is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

#[test]
fn long_sections_are_embedded_in_windows_shorter_than_the_model_reads() {
    // 600 one-piece words in a varied order (no two windows alike, so none is deduplicated).
    let words = [
        "river", "stone", "bread", "garden", "window", "market", "winter", "forest", "letter", "engine",
        "silver", "harbor", "meadow", "castle", "pocket", "ladder", "candle", "basket", "mirror", "button",
        "planet", "rabbit", "bridge", "island", "kettle", "pillow",
    ];
    let mut x: u32 = 7;
    let text: Vec<&str> = (0..600)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            words[(x >> 16) as usize % words.len()]
        })
        .collect();
    let vault = tempfile::tempdir().unwrap();
    std::fs::write(
        vault.path().join("long.md"),
        format!("# Long\n\n{}\n", text.join(" ")),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let v = recall(dir.path(), &["index", vault.path().to_str().unwrap(), "--json"])
        .ok()
        .json();
    // Windows of 160 pieces overlapping by 32 need 5 for 600 words; the model's whole
    // 256-piece window would need 3, and a window of a few words dozens.
    let embedded = v["embedded"].as_u64().unwrap();
    assert!((5..=6).contains(&embedded), "{v}");
}
