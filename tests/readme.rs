//! The README's JSON shape of `search --json` against what the binary emits: every field
//! the README lists comes out of a real search of the example vault, and every field that
//! comes out is listed. Searches are chosen to bring out each optional field: a typo
//! (corrections), a word that matches nothing (did you mean), constraints with
//! `--explain`, and a keyword-only index (a warning).

mod common;

use std::collections::BTreeSet;

use common::{indexed_copy, manifest_dir, run_with_index};
use serde_json::Value;

/// Every object key in `v`, at any depth.
fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// The quoted names in the README's description of `search --json`: its code block and
/// the `--explain` paragraph after it.
fn readme_keys() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let start = readme
        .find("`--json` output of `search`")
        .expect("the README describes search --json");
    let rest = &readme[start..];
    let end = rest.find("\n\n").map(|i| i + 2).unwrap();
    let after_block = rest[end..].find("```\n\n").map(|i| end + i + 5).unwrap();
    let explain_end = rest[after_block..].find("\n\n").unwrap() + after_block;
    let text = &rest[..explain_end];
    let mut out = BTreeSet::new();
    let mut parts = text.split('"');
    parts.next();
    while let (Some(name), Some(_)) = (parts.next(), parts.next()) {
        if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !name.is_empty() {
            out.insert(name.to_string());
        }
    }
    out
}

#[test]
fn the_readme_lists_every_search_field_and_only_those() {
    let (_d1, _v1, embedded, _) = indexed_copy(&[]);
    let (_d2, _v2, keyword_only, _) = indexed_copy(&["--no-embed"]);
    let mut emitted = BTreeSet::new();
    let searches: [(&std::path::Path, &[&str]); 5] = [
        (&embedded, &["levian hydraton", "--explain"]),
        (&embedded, &["bread", "-n", "1"]),
        (&embedded, &["vlna"]),
        (&embedded, &["bread +sourdough -python tag:baking", "--explain"]),
        (&keyword_only, &["levain"]),
    ];
    for (index, args) in searches {
        let mut all = vec!["search", "--json"];
        all.extend_from_slice(args);
        let out = run_with_index(index, &all);
        out.assert_no_panic();
        keys(&out.ok().json(), &mut emitted);
    }
    let listed = readme_keys();
    assert!(listed.len() > 20, "found too few names in the README: {listed:?}");
    let missing: Vec<_> = emitted.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&emitted).collect();
    assert!(missing.is_empty(), "fields the README does not list: {missing:?}");
    assert!(extra.is_empty(), "README fields no search emitted: {extra:?}");
}
