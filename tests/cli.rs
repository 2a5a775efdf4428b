//! End-to-end tests of the `recall` binary: every test runs the real executable against an
//! index in a temporary folder and checks what it prints and how it exits.

mod common;

use std::collections::BTreeSet;

use common::{
    example_note_ids, example_vault, line_of, parse_hits, run_with_index, shared_vault, words_of_file, Index,
    NoteCache, SEARCH_FLAGS,
};
use serde_json::Value;

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

fn top3_contains(idx: &Index, words: &[&str], expected: &str) {
    // Words as separate arguments, the way a user types them.
    let mut args = vec!["search"];
    args.extend_from_slice(words);
    args.extend_from_slice(&["-n", "3", "--json"]);
    args.extend_from_slice(SEARCH_FLAGS);
    let out = idx.run(&args).ok();
    let hits = parse_hits(&out.json(), &words.join(" "));
    let ids: Vec<&str> = hits.iter().map(|h| h.note.as_str()).collect();
    assert!(hits.len() <= 3, "-n 3 returns at most 3 results: {ids:?}");
    assert!(
        ids.contains(&expected),
        "query {words:?}: expected {expected} in the top 3, got {ids:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Ranking on the example vault

#[test]
fn distinctive_queries_rank_their_note_in_top_3() {
    let idx = Index::example();
    let cases: &[(&[&str], &str)] = &[
        (&["borrow", "checker", "lifetimes"], "topics/rust_programming"),
        (&["vlan", "pfsense", "wireguard"], "topics/home_networking"),
        (
            &["ableton", "sidechain", "compression"],
            "topics/music_production",
        ),
        (&["tempo", "run", "threshold"], "topics/marathon_training"),
        (
            &["heirloom", "tomatoes", "blossom", "end", "rot"],
            "topics/gardening_tomatoes",
        ),
        (
            &["soil", "moisture", "sensors", "esp32"],
            "projects/garden_planner",
        ),
        (
            &["padaria", "baguette", "stiff", "levain"],
            "episodes/2024-05-02_bakery_visit",
        ),
    ];
    for (words, expected) in cases {
        top3_contains(&idx, words, expected);
    }
}

#[test]
fn search_hits_describe_the_matching_section() {
    let idx = Index::example();
    let hits = idx.search("levain hydration", 5);
    let top = &hits.first().expect("levain hydration has results").raw;
    assert_eq!(top["note"], "topics/sourdough_baking");
    assert_eq!(top["title"], "Sourdough Baking");
    assert_eq!(top["path"], "topics/sourdough_baking.md");
    assert!(
        top["section"].as_str().unwrap().contains("Levain Hydration"),
        "{top}"
    );
    let file = example_vault().join("topics/sourdough_baking.md");
    assert_eq!(
        top["line"].as_u64().unwrap() as usize,
        line_of(&file, |l| l == "## Levain Hydration"),
        "{top}"
    );
    assert!((top["strength"].as_f64().unwrap() - 0.9).abs() < 1e-6, "{top}");
    let snippet = top["snippet"].as_str().unwrap().to_lowercase();
    assert!(
        snippet.contains("**levain**") || snippet.contains("**hydration**"),
        "snippet marks hits: {snippet}"
    );
    // -n limits the list.
    assert_eq!(idx.search("python", 2).len(), 2);
    assert!(idx.search("python", 50).len() > 2);
}

// ---------------------------------------------------------------------------------------
// Filters. Each test checks that every result satisfies the filter, that the filter removes
// a note the unfiltered query returns, and that a filter never adds a note the words alone
// would not find.

/// Runs `words` with and without `filter`; returns (unfiltered, filtered) note ids.
fn with_and_without(idx: &Index, words: &str, filter: &str) -> (Vec<String>, Vec<String>) {
    let all = idx.ids(words, 100);
    let filtered = idx.ids(&format!("{words} {filter}"), 100);
    assert!(!filtered.is_empty(), "`{words} {filter}` finds something");
    let extra: Vec<&String> = filtered.iter().filter(|n| !all.contains(n)).collect();
    assert!(
        extra.is_empty(),
        "`{words} {filter}` returned notes that `{words}` does not match at all: {extra:?} \
         (filtered {filtered:?}, unfiltered {all:?})"
    );
    (all, filtered)
}

fn removed<'a>(all: &'a [String], filtered: &[String]) -> Vec<&'a String> {
    all.iter().filter(|n| !filtered.contains(n)).collect()
}

#[test]
fn tag_filter() {
    let idx = Index::example();
    let mut notes = NoteCache::new(&idx);
    let (all, filtered) = with_and_without(&idx, "python", "tag:python");
    for n in &filtered {
        assert!(
            notes.tags(n).contains(&"python".to_string()),
            "{n} has tag python"
        );
    }
    let gone = removed(&all, &filtered);
    assert!(
        gone.iter().any(|n| *n == "topics/rust_programming"),
        "rust note (no python tag) removed: {gone:?}"
    );
    for n in gone {
        assert!(
            !notes.tags(n).contains(&"python".to_string()),
            "{n} has the tag but was removed"
        );
    }
    // A filter alone lists exactly the tagged notes; `#` and case are ignored.
    let only = set(&idx.ids("tag:#Python", 100));
    let expected: BTreeSet<String> = example_note_ids()
        .into_iter()
        .filter(|n| notes.tags(n).contains(&"python".to_string()))
        .collect();
    assert_eq!(only, expected);
    assert!(idx.ids("tag:nosuchtag", 100).is_empty());
}

#[test]
fn path_filter() {
    let idx = Index::example();
    let (all, filtered) = with_and_without(&idx, "python", "path:people/");
    assert!(filtered.iter().all(|n| n.starts_with("people/")), "{filtered:?}");
    assert!(
        filtered.contains(&"people/sam_okafor".to_string()),
        "{filtered:?}"
    );
    assert!(
        removed(&all, &filtered).iter().any(|n| n.starts_with("topics/")),
        "{all:?} vs {filtered:?}"
    );
    let topics = idx.ids("tag:python path:topics/", 100);
    assert!(
        !topics.is_empty() && topics.iter().all(|n| n.starts_with("topics/")),
        "{topics:?}"
    );
}

#[test]
fn strength_filters_greater_and_less() {
    let idx = Index::example();
    let mut notes = NoteCache::new(&idx);
    // sam_okafor has strength exactly 0.7: out for >, in for >=.
    let (all, gt) = with_and_without(&idx, "python", "strength:>0.7");
    for n in &gt {
        let s = notes
            .strength(n)
            .unwrap_or_else(|| panic!("{n} has no strength but passed strength:>0.7"));
        assert!(s > 0.7 + 1e-6, "{n} strength {s}");
    }
    assert!(all.contains(&"people/sam_okafor".to_string()));
    assert!(
        !gt.contains(&"people/sam_okafor".to_string()),
        "strength 0.7 is not > 0.7: {gt:?}"
    );
    let (_, ge) = with_and_without(&idx, "python", "strength:>=0.7");
    assert!(
        ge.contains(&"people/sam_okafor".to_string()),
        "strength 0.7 is >= 0.7: {ge:?}"
    );

    let (all, lt) = with_and_without(&idx, "python", "strength:<0.5");
    for n in &lt {
        let s = notes
            .strength(n)
            .unwrap_or_else(|| panic!("{n} has no strength but passed strength:<0.5"));
        assert!(s < 0.5, "{n} strength {s}");
    }
    assert!(lt.contains(&"projects/garden_planner".to_string()), "{lt:?}");
    assert!(removed(&all, &lt).contains(&&"topics/python_development".to_string()));

    // A note without a strength passes neither comparison.
    let tomatoes = idx.ids("tomatoes", 100);
    assert!(tomatoes.contains(&"topics/gardening_tomatoes".to_string()));
    assert!(notes.strength("topics/gardening_tomatoes").is_none());
    for f in ["strength:>0", "strength:<1"] {
        let got = idx.ids(&format!("tomatoes {f}"), 100);
        assert!(
            !got.contains(&"topics/gardening_tomatoes".to_string()),
            "{f}: {got:?}"
        );
    }
}

#[test]
fn updated_filters() {
    let idx = Index::example();
    let mut notes = NoteCache::new(&idx);
    let (all, after) = with_and_without(&idx, "python", "updated:>2024-10-01");
    for n in &after {
        let d = notes.effective_date(n);
        assert!(d.as_str() > "2024-10-01", "{n} updated {d}");
    }
    let gone = removed(&all, &after);
    assert!(
        gone.contains(&&"topics/python_development".to_string()),
        "updated 2024-08-19 removed: {gone:?}"
    );

    // <= includes the boundary day (python_development: Last updated 2024-08-19).
    let (all, upto) = with_and_without(&idx, "python", "updated:<=2024-08-19");
    for n in &upto {
        let d = notes.effective_date(n);
        assert!(d.as_str() <= "2024-08-19", "{n} updated {d}");
    }
    assert!(
        upto.contains(&"topics/python_development".to_string()),
        "{upto:?}"
    );
    assert!(
        removed(&all, &upto).contains(&&"topics/rust_programming".to_string()),
        "{upto:?}"
    );
    let (_, before) = with_and_without(&idx, "python", "updated:<2024-08-19");
    assert!(
        !before.contains(&"topics/python_development".to_string()),
        "{before:?}"
    );

    // The date is "Last updated", not "established": alex_chen was established 2024-01-15
    // and updated 2025-02-10.
    assert!(idx
        .ids("alex updated:>2025-01-01", 100)
        .contains(&"people/alex_chen".to_string()));
    assert!(!idx
        .ids("alex updated:<2024-06-01", 100)
        .contains(&"people/alex_chen".to_string()));
}

#[test]
fn phrase_is_stricter_than_words() {
    let idx = Index::example();
    let words = idx.ids("end rot", 100);
    let phrase = idx.ids("\"end rot\"", 100);
    assert_eq!(phrase, vec!["topics/gardening_tomatoes".to_string()], "phrase");
    assert!(
        words.len() > phrase.len() && words.contains(&phrase[0]),
        "words {words:?}"
    );
    // Order matters in a phrase.
    assert!(!idx.ids("\"levain hydration\"", 100).is_empty());
    assert!(idx.ids("\"hydration levain\"", 100).is_empty());
}

#[test]
fn exclusion_removes_a_note_that_otherwise_ranks() {
    let idx = Index::example();
    let plain = idx.ids("rust", 100);
    assert_eq!(
        plain.first().map(String::as_str),
        Some("topics/rust_programming"),
        "{plain:?}"
    );
    let excluded = idx.ids("rust -python", 100);
    assert!(!excluded.is_empty(), "something about rust has no python");
    assert!(
        !excluded.contains(&"topics/rust_programming".to_string()),
        "{excluded:?}"
    );
    for n in &excluded {
        let words = words_of_file(&example_vault().join(format!("{n}.md")));
        assert!(
            !words.iter().any(|w| w == "python"),
            "{n} mentions python but was not excluded"
        );
        assert!(words.iter().any(|w| w == "rust"), "{n} does not mention rust");
    }
    // The same with the query split over arguments after `--`.
    let out = idx
        .run(&["search", "--json", "--mode", "lexical", "--", "rust", "-python"])
        .ok();
    let ids: Vec<String> = parse_hits(&out.json(), "rust -python")
        .into_iter()
        .map(|h| h.note)
        .collect();
    assert_eq!(ids, excluded);
}

#[test]
fn prefix_matches_word_starts() {
    let idx = Index::example();
    // (Not `sourd`: typo tolerance reads a 5-letter word as one a letter away.)
    assert!(
        idx.ids("sourdou", 100).is_empty(),
        "`sourdou` is not a word of the vault"
    );
    let got = set(&idx.ids("sourdou*", 100));
    let expected: BTreeSet<String> = example_note_ids()
        .into_iter()
        .filter(|n| {
            words_of_file(&example_vault().join(format!("{n}.md")))
                .iter()
                .any(|w| w.starts_with("sourdou"))
        })
        .collect();
    assert!(expected.len() >= 3, "{expected:?}");
    assert_eq!(got, expected);
    assert_eq!(
        idx.ids("wiregu*", 100),
        vec!["topics/home_networking".to_string()]
    );
}

// ---------------------------------------------------------------------------------------
// show and stats

#[test]
fn show_json_describes_a_note() {
    let idx = Index::example();
    let v = idx.show("topics/sourdough_baking");
    let file = example_vault().join("topics/sourdough_baking.md");
    assert_eq!(v["note"], "topics/sourdough_baking");
    assert_eq!(v["title"], "Sourdough Baking");
    assert_eq!(v["path"], "topics/sourdough_baking.md");
    let tags: BTreeSet<&str> = v["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        BTreeSet::from(["baking", "fermentation", "sourdough", "bread"])
    );
    assert!(
        (v["strength"].as_f64().unwrap() - 0.9).abs() < 1e-6,
        "{}",
        v["strength"]
    );
    assert_eq!(v["established"], "2023-04-08");
    assert_eq!(v["updated"], "2024-06-14");

    let sections = v["sections"].as_array().unwrap();
    let find = |heading: &str| -> &Value {
        sections
            .iter()
            .find(|s| s["heading"] == heading)
            .unwrap_or_else(|| {
                panic!(
                    "no section {heading:?} in {:?}",
                    sections.iter().map(|s| &s["heading"]).collect::<Vec<_>>()
                )
            })
    };
    let levain = find("Sourdough Baking > Levain Hydration");
    assert_eq!(
        levain["line_start"].as_u64().unwrap() as usize,
        line_of(&file, |l| l == "## Levain Hydration")
    );
    assert!(levain["line_end"].as_u64() >= levain["line_start"].as_u64());
    assert_eq!(
        levain["line_end"].as_u64().unwrap() as usize,
        line_of(&file, |l| l == "## Dough Process") - 1
    );
    assert!(
        levain["text"].as_str().unwrap().contains("Stiff levain"),
        "{levain}"
    );
    let maint = find("Sourdough Baking > The Starter > Maintenance");
    assert_eq!(
        maint["line_start"].as_u64().unwrap() as usize,
        line_of(&file, |l| l == "### Maintenance")
    );
    // Sections are in file order and do not overlap.
    for w in sections.windows(2) {
        assert!(
            w[0]["line_end"].as_u64() < w[1]["line_start"].as_u64(),
            "{} / {}",
            w[0],
            w[1]
        );
    }

    let links = v["links"].as_array().unwrap();
    assert_eq!(links.len(), 4, "{links:?}");
    for l in links {
        let target = l["target"].as_str().unwrap();
        assert_eq!(l["resolved"], target, "{l}");
        let line = l["line"].as_u64().unwrap() as usize;
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.lines()
                .nth(line - 1)
                .unwrap()
                .contains(&format!("[[{target}")),
            "link line {line}: {l}"
        );
    }
    let backlinks: BTreeSet<&str> = v["backlinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(
        backlinks,
        BTreeSet::from(["people/maria_santos", "topics/gardening_tomatoes"])
    );

    // A link with #heading and |alias resolves to the note, not to the raw text.
    let maria = idx.show("people/maria_santos");
    let aliased = maria["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["alias"] == "her sourdough obsession")
        .expect("aliased link");
    assert_eq!(aliased["resolved"], "topics/sourdough_baking");
    let with_heading = maria["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["heading"] == "Levain Hydration")
        .expect("heading link");
    assert_eq!(with_heading["resolved"], "topics/sourdough_baking");
    // `.md` suffix is accepted.
    assert_eq!(
        idx.show("topics/sourdough_baking.md")["note"],
        "topics/sourdough_baking"
    );
}

#[test]
fn show_unknown_note_is_a_usage_error_with_suggestion() {
    let idx = Index::example();
    let out = idx.run(&["show", "topics/sourdogh_baking", "--json"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.trim().is_empty(), "{out:?}");
    assert!(
        out.stderr.contains("topics/sourdogh_baking"),
        "names the note: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean") && out.stderr.contains("topics/sourdough_baking"),
        "{}",
        out.stderr
    );
}

#[test]
fn stats_json_counts() {
    let idx = Index::example();
    let s = idx.stats();
    assert_eq!(s["notes"], 16, "{s}");
    assert_eq!(s["links_unresolved"], 1, "{s}");
    assert_eq!(s["skipped"], 0, "{s}");
    assert!(s["links_resolved"].as_u64().unwrap() > 100, "{s}");
    assert!(s["sections"].as_u64().unwrap() > 16, "{s}");
    assert!(s["index_bytes"].as_u64().unwrap() > 0, "{s}");
    // The one unresolved link is the dangling [[topics/quantum_gardening]].
    let tomatoes = idx.show("topics/gardening_tomatoes");
    let dangling: Vec<&Value> = tomatoes["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["resolved"].is_null())
        .collect();
    assert_eq!(dangling.len(), 1, "{dangling:?}");
    assert_eq!(dangling[0]["target"], "topics/quantum_gardening");
}

// ---------------------------------------------------------------------------------------
// Errors and exit codes

#[test]
fn search_without_index_exits_1_and_says_how_to_build_one() {
    let idx = Index::empty();
    for args in [
        &["search", "rust"][..],
        &["stats"][..],
        &["show", "topics/rust_programming"][..],
    ] {
        let out = idx.run(args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(out.stderr.contains("recall index"), "{args:?}: {}", out.stderr);
    }
}

/// Malformed queries: exit 2, one clear line on stderr naming the problem once, no output.
#[test]
fn malformed_queries_exit_2_with_a_clear_message() {
    let idx = Index::example();
    for (query, needle) in [
        ("\"unclosed", "unclosed quote"),
        ("bread strength:>abc", "expected a number"),
        ("bread strength:>2", "between 0 and 1"),
        ("bread updated:>someday", "YYYY-MM-DD"),
        ("tag:", "has no value"),
        ("-onlyexcluded", "only excludes"),
    ] {
        let out = idx.run(&["search", "--json", "--mode", "lexical", "--", query]);
        assert_eq!(out.code, 2, "{query}: {out:?}");
        assert!(out.stdout.is_empty(), "{query}: nothing on stdout: {out:?}");
        let err = out.stderr.trim();
        assert!(
            err.contains(needle),
            "{query}: stderr should mention {needle:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{query}: one line: {err}");
        assert_eq!(
            err.matches(needle).count(),
            1,
            "{query}: the reason is said once, not repeated: {err}"
        );
    }
}

#[test]
fn bad_flags_exit_2() {
    let idx = Index::example();
    for args in [
        &["search", "rust", "--bogus"][..],
        &["search", "rust", "-n", "0"][..],
        &["search", "rust", "-n", "many"][..],
        &["search", "rust", "--mode", "nonsense"][..],
        &["search"][..],
        &["frobnicate"][..],
        &["index", "--max-file-size", "huge", "x"][..],
    ] {
        let out = idx.run(args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: explains on stderr");
    }
}

#[test]
fn zero_results_exit_0() {
    let idx = Index::example();
    let out = idx.run(&["search", "zzqxjv", "--json", "--mode", "lexical"]).ok();
    assert!(parse_hits(&out.json(), "zzqxjv").is_empty());
    let out = idx.run(&["search", "zzqxjv", "--mode", "lexical"]).ok();
    assert!(out.stdout.contains("no results"), "{out:?}");
}

#[test]
fn failed_index_keeps_the_previous_one() {
    let idx = Index::example();
    let before = idx.ids("levain hydration", 5);
    assert_eq!(
        before.first().map(String::as_str),
        Some("topics/sourdough_baking")
    );
    let missing = idx.path().join("no-such-vault");
    let out = idx.run(&["index", missing.to_str().unwrap(), "--json", "--no-embed"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("no-such-vault"),
        "names the vault: {}",
        out.stderr
    );
    assert_eq!(idx.ids("levain hydration", 5), before, "old index still answers");
    assert_eq!(idx.stats()["notes"], 16);
    // No half-built generation is left behind.
    let leftovers: Vec<String> = std::fs::read_dir(idx.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("staging-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A later successful rebuild replaces it.
    let vault = tempfile::tempdir().unwrap();
    std::fs::write(vault.path().join("only.md"), "# Only\n\nquokka\n").unwrap();
    idx.index(vault.path(), &[]);
    assert_eq!(idx.stats()["notes"], 1);
    assert_eq!(idx.ids("quokka", 5), vec!["only".to_string()]);
    assert!(idx.ids("levain", 5).is_empty());
}

// ---------------------------------------------------------------------------------------
// A vault full of bad files

#[test]
fn hostile_vault_indexes_good_notes_and_reports_bad_files() {
    let vault = tempfile::tempdir().unwrap();
    let v = vault.path();
    let write = |rel: &str, bytes: &[u8]| {
        let p = v.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    write("good.md", b"# Good Note\n\nzebrafish and quokka live here\n");
    write(
        "sub/also_good.md",
        b"---\ntags: [odd]\n---\n# Also Good\n\nnarwhal zebrafish\n",
    );
    write("latin1.md", b"# Caf\xe9 zebrafish\n");
    write("nul.md", b"# Binary zebrafish\0\x01\x02\n");
    write(
        "big.md",
        format!("# Big zebrafish\n\n{}\n", "filler ".repeat(300)).as_bytes(),
    );
    write(".hidden/secret.md", b"# Hidden zebrafish\n");
    write(".gitignore", b"ignored.md\n");
    write("ignored.md", b"# Ignored zebrafish\n");
    write("empty.md", b"");
    write("fence.md", b"# Fence\n\nbefore the fence axolotl\n\n```python\nprint('inside the fence capybara')\n---\n*Strength: 0.9*\n");
    write("notes.txt", b"zebrafish in a text file\n");

    let (idx, report) = Index::build(v, &["--max-file-size", "1000"]);
    let skipped: Vec<(String, String)> = report["skipped"]
        .as_array()
        .expect("skipped list")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let reason = |path: &str| -> String {
        skipped
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, r)| r.to_lowercase())
            .unwrap_or_else(|| panic!("{path} not in skipped: {skipped:?}"))
    };
    assert!(reason("latin1.md").contains("utf-8"), "{skipped:?}");
    assert!(
        reason("nul.md").contains("nul") || reason("nul.md").contains("binary"),
        "{skipped:?}"
    );
    assert!(
        reason("big.md").contains("large") && reason("big.md").contains("1000"),
        "{skipped:?}"
    );
    assert_eq!(skipped.len(), 3, "only the bad files are skipped: {skipped:?}");
    assert_eq!(report["notes"], 4, "good, sub/also_good, empty, fence: {report}");

    // Good notes are searchable; hidden, ignored, non-markdown and bad files are not.
    assert_eq!(
        set(&idx.ids("zebrafish", 20)),
        set(&["good".into(), "sub/also_good".into()])
    );
    assert_eq!(idx.ids("narwhal", 5), vec!["sub/also_good".to_string()]);
    assert_eq!(idx.ids("tag:odd", 5), vec!["sub/also_good".to_string()]);
    for hidden in [".hidden/secret", "ignored", "latin1", "nul", "big", "notes"] {
        assert_eq!(idx.run(&["show", hidden]).code, 2, "{hidden} must not be a note");
    }
    // The unclosed fence swallows the rest of the file as code: still searchable, and the
    // footer-looking line inside it is not metadata.
    assert_eq!(idx.ids("axolotl", 5), vec!["fence".to_string()]);
    assert_eq!(idx.ids("capybara", 5), vec!["fence".to_string()]);
    let fence = idx.show("fence");
    assert!(fence["strength"].is_null(), "{fence}");
    let empty = idx.show("empty");
    assert_eq!(empty["sections"].as_array().map(Vec::len), Some(0), "{empty}");
    let stats = idx.stats();
    assert_eq!(stats["notes"], 4);
    assert_eq!(stats["skipped"], 3);
}

// ---------------------------------------------------------------------------------------
// Real vaults

#[test]
fn dendron_queries_find_their_notes() {
    let (idx, report) = Index::build(&shared_vault("dendron-site"), &[]);
    assert!(report["notes"].as_u64().unwrap() > 900, "{report}");
    for (words, expected) in [
        (&["giscus", "comments"][..], "dendron.topic.publish.giscus"),
        (
            &["lookup", "modifiers", "directChildOnly"][..],
            "dendron.topic.lookup.modifiers",
        ),
        (
            &["careers", "developer", "advocate"][..],
            "careers.developer-advocate",
        ),
        (
            &["github", "issue", "import", "pod"][..],
            "dendron.topic.pod.builtin.github-issue.import",
        ),
    ] {
        top3_contains(&idx, words, expected);
    }
    // Dendron front matter: title from YAML, dates in epoch milliseconds.
    let giscus = idx.show("dendron.topic.publish.giscus");
    assert_eq!(giscus["title"], "Giscus");
    assert!(
        giscus["updated"].as_str().is_some_and(|d| d.starts_with("20")),
        "{giscus}"
    );
}

fn index_real_vault(name: &str, probe: &str) {
    let (idx, report) = Index::build(&shared_vault(name), &[]);
    let notes = report["notes"].as_u64().unwrap();
    assert!(notes > 300, "{name}: {report}");
    assert!(
        report["sections"].as_u64().unwrap() >= notes / 2,
        "{name}: {report}"
    );
    assert_eq!(idx.stats()["notes"].as_u64(), Some(notes), "{name}");
    let top = idx.ids(probe, 10);
    assert!(!top.is_empty(), "{name}: `{probe}` finds something");
    // `related` works on every real vault (keyword-only index: wording, tags and links).
    let related = idx.run(&["related", "--json", &top[0]]).ok().json();
    let results = related["results"].as_array().unwrap();
    assert!(!results.is_empty(), "{name}: related to {}: {related}", top[0]);
    assert!(
        results
            .iter()
            .all(|r| r["note"] != top[0].as_str() && r["reasons"].is_array()),
        "{related}"
    );
}

#[test]
fn real_vault_dnd_srd() {
    index_real_vault("dnd-srd-5.1", "fireball");
}

#[test]
fn real_vault_logseq_docs() {
    index_real_vault("logseq-docs", "block");
}

#[test]
fn real_vault_flancian_garden() {
    index_real_vault("flancian-garden", "garden");
}

#[test]
fn real_vault_tldr_pages() {
    index_real_vault("tldr-pages", "git");
}

#[test]
fn index_flag_is_respected() {
    let a = Index::example();
    let b = Index::empty();
    assert_eq!(
        run_with_index(b.path(), &["stats"]).code,
        1,
        "a different --index is a different index"
    );
    assert_eq!(run_with_index(a.path(), &["stats", "--json"]).code, 0);
    assert!(a.path().join("CURRENT").is_file(), "the index lives in --index");
}

#[test]
fn words_spread_over_sections_count_for_the_whole_note() {
    // `split` has all six query words, three in each of two sections; `dense` has four of
    // them in one section. The best section alone prefers `dense`; the whole note, `split`.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("split.md"),
        "# Split\n\n## Symptom\n\nThe cache grows without bound, full of stale entries.\n\n## Remedy\n\nEvict with a clock sweep.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("dense.md"),
        "# Dense\n\n## Policy\n\nThe cache and its clock: evict when bound, evict on the clock.\n\n## Other\n\nUnrelated words about gardens and bread.\n",
    )
    .unwrap();
    for i in 0..8 {
        // Background notes, so that the query words are rare as they would be in a vault.
        std::fs::write(
            dir.path().join(format!("filler{i}.md")),
            format!("# Filler {i}\n\nNotes on topic {i}: tomatoes, sourdough, and hiking trails.\n"),
        )
        .unwrap();
    }
    let (idx, _) = Index::build(dir.path(), &[]);
    assert_eq!(
        idx.ids("cache evict clock sweep bound stale", 10),
        vec!["split".to_string(), "dense".to_string()]
    );
}
