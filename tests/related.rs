//! "Find related memories" and the strength prior, through the real binary.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::{example_vault, note_ids, run_with_index, shared_vault, Out};
use serde_json::Value;

fn recall(index: &Path, args: &[&str]) -> Out {
    let out = run_with_index(index, args);
    out.assert_no_panic();
    out
}

/// The example vault indexed with embeddings, shared by the tests of this file.
fn example_index() -> &'static Path {
    static INDEX: OnceLock<tempfile::TempDir> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let vault = example_vault();
            recall(dir.path(), &["index", vault.to_str().unwrap(), "--json"]).ok();
            dir
        })
        .path()
}

fn related(index: &Path, args: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut all = vec!["related", "--json"];
    all.extend_from_slice(args);
    let v: Value = recall(index, &all).ok().json();
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|r| {
            let reasons = r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            (r["note"].as_str().unwrap().to_string(), reasons)
        })
        .collect()
}

fn reasons_of<'a>(results: &'a [(String, Vec<String>)], note: &str) -> &'a [String] {
    &results
        .iter()
        .find(|(n, _)| n == note)
        .unwrap_or_else(|| panic!("{note} not in {results:?}"))
        .1
}

#[test]
fn related_notes_come_with_their_reasons() {
    let idx = example_index();
    let results = related(idx, &["topics/sourdough_baking"]);
    assert!(
        results.iter().all(|(n, _)| n != "topics/sourdough_baking"),
        "never the note itself"
    );
    let top3: Vec<&str> = results.iter().take(3).map(|(n, _)| n.as_str()).collect();
    assert!(top3.contains(&"people/maria_santos"), "{results:?}");
    assert!(top3.contains(&"episodes/2024-05-02_bakery_visit"), "{results:?}");

    let maria = reasons_of(&results, "people/maria_santos");
    assert!(
        maria.contains(&"links to it".to_string()) && maria.contains(&"linked from it".to_string()),
        "{maria:?}"
    );
    let visit = reasons_of(&results, "episodes/2024-05-02_bakery_visit");
    assert!(
        visit.contains(&"shared tags: baking, sourdough, bread".to_string()),
        "{visit:?}"
    );
    assert!(
        visit.contains(&"2 hops via people/maria_santos".to_string()),
        "{visit:?}"
    );
    assert!(
        visit
            .iter()
            .any(|r| r.starts_with("similar section: \"Levain Hydration\"")),
        "{visit:?}"
    );
    assert!(
        visit
            .iter()
            .any(|r| r.starts_with("shared distinctive words:") && r.contains("levain")),
        "{visit:?}"
    );
}

#[test]
fn unlinked_keeps_only_discoveries() {
    let idx = example_index();
    let results = related(idx, &["topics/sourdough_baking", "--unlinked", "-n", "5"]);
    assert_eq!(results[0].0, "episodes/2024-05-02_bakery_visit", "{results:?}");
    for linked in ["people/maria_santos", "topics/gardening_tomatoes"] {
        assert!(
            results.iter().all(|(n, _)| n != linked),
            "{linked} is linked: {results:?}"
        );
    }
}

#[test]
fn related_to_text_and_explain() {
    let idx = example_index();
    let results = related(
        idx,
        &["--text", "training plan for a long distance race", "-n", "3"],
    );
    assert_eq!(results[0].0, "topics/marathon_training", "{results:?}");
    let v = recall(
        idx,
        &[
            "related",
            "--json",
            "--explain",
            "projects/homelab_dashboard",
            "-n",
            "3",
        ],
    )
    .ok()
    .json();
    let ev = &v["results"][0]["evidence"];
    for k in ["meaning", "wording", "tags", "links"] {
        let x = ev[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
        assert!((0.0..=1.0).contains(&x), "{v}");
    }
    let text = recall(idx, &["related", "topics/rust_programming", "-n", "3"])
        .ok()
        .stdout;
    assert!(text.contains(" 1. ") && text.contains("links to it"), "{text}");
}

#[test]
fn unknown_note_suggests_close_ids() {
    let out = recall(example_index(), &["related", "topics/sourdogh"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("did you mean: topics/sourdough_baking"),
        "{}",
        out.stderr
    );
}

#[test]
fn related_works_on_a_keyword_only_index_of_a_real_vault() {
    let dir = tempfile::tempdir().unwrap();
    let vault = shared_vault("dendron-site");
    recall(
        dir.path(),
        &["index", vault.to_str().unwrap(), "--no-embed", "--json"],
    )
    .ok();
    let results = related(dir.path(), &["dendron.topic.lookup", "-n", "10"]);
    assert_eq!(results.len(), 10);
    assert!(
        results
            .iter()
            .any(|(n, _)| n.starts_with("dendron.topic.lookup.")),
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|(_, r)| r.iter().any(|x| x == "links to it" || x == "linked from it")),
        "{results:?}"
    );
}

/// A vault of notes written for the strength tests.
fn strength_vault() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let note = |name: &str, body: &str, strength: &str| {
        let text = format!("# {name}\n\n{body}\n\n---\n*Strength: {strength}*\n");
        std::fs::write(dir.path().join(format!("{name}.md")), text).unwrap();
    };
    let same = "Notes about compost heaps and worm bins in the garden.";
    // Named so that file order (the tie-break without a prior) puts the weak twin first.
    note("twin_a_weak", same, "0.2");
    note("twin_b_strong", same, "0.9");
    note(
        "clearly_relevant_weak",
        "Zeolite zeolite zeolite: the zeolite filter clogged, zeolite beads replaced.",
        "0.05",
    );
    note("barely_relevant_strong", "Aquarium maintenance, one mention of zeolite among many other things to do: water changes, glass cleaning, feeding, lights, plants and pumps.", "1.0");
    dir
}

#[test]
fn strength_breaks_ties_but_does_not_override_relevance() {
    let vault = strength_vault();
    let idx = tempfile::tempdir().unwrap();
    recall(
        idx.path(),
        &["index", vault.path().to_str().unwrap(), "--no-embed", "--json"],
    )
    .ok();
    let ids = |query: &str, weight: &str| -> Vec<String> {
        let v = recall(
            idx.path(),
            &[
                "search",
                "--json",
                "--mode",
                "lexical",
                "--strength-weight",
                weight,
                query,
            ],
        )
        .ok()
        .json();
        note_ids(&v)
    };
    assert_eq!(
        ids("compost worm", "0.2")[..2],
        ["twin_b_strong", "twin_a_weak"],
        "equal text: the stronger first"
    );
    assert_eq!(
        ids("compost worm", "0")[..2],
        ["twin_a_weak", "twin_b_strong"],
        "no prior: file order"
    );
    assert_eq!(
        ids("zeolite", "0.2")[0],
        "clearly_relevant_weak",
        "relevance beats strength"
    );
    assert_eq!(ids("zeolite", "0")[0], "clearly_relevant_weak");
}

#[test]
fn recent_boosts_fresh_memories_and_since_before_filter_by_date() {
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Local::now().date_naive();
    let old = today - chrono::Days::new(800);
    let note = |name: &str, updated: chrono::NaiveDate| {
        let text = format!(
            "# {name}\n\nNotes about beekeeping and hive inspections.\n\n---\n*Last updated: {updated}*\n"
        );
        std::fs::write(dir.path().join(format!("{name}.md")), text).unwrap();
    };
    // File order puts the old note first when dates do not count.
    note("hive_a_old", old);
    note("hive_b_new", today);
    let idx = tempfile::tempdir().unwrap();
    recall(
        idx.path(),
        &["index", dir.path().to_str().unwrap(), "--no-embed", "--json"],
    )
    .ok();
    let ids = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["search", "--json", "--mode", "lexical", "beekeeping"];
        args.extend_from_slice(extra);
        let v = recall(idx.path(), &args).ok().json();
        note_ids(&v)
    };
    assert_eq!(ids(&[]), ["hive_a_old", "hive_b_new"]);
    assert_eq!(ids(&["--recent", "90d"]), ["hive_b_new", "hive_a_old"]);
    let cut = (today - chrono::Days::new(30)).to_string();
    assert_eq!(ids(&["--since", &cut]), ["hive_b_new"]);
    assert_eq!(ids(&["--before", &cut]), ["hive_a_old"]);
    let out = recall(idx.path(), &["search", "--recent", "soon", "beekeeping"]);
    assert_eq!(out.code, 2, "{out:?}");
}
