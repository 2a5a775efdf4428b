//! Notes in every language: Chinese, Japanese and Korean text (words inside longer runs of
//! characters), mixed-script notes, accent and full-width folding, CJK tags and phrases,
//! stemming languages. Each test writes a small vault of its own and runs the real binary.

mod common;

use std::path::Path;

use common::{shared_vault, Index, INDEX_FLAGS};
use tempfile::TempDir;

/// A vault of `(relative path, text)` notes.
fn vault(notes: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in notes {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn indexed(notes: &[(&str, &str)], extra: &[&str]) -> (TempDir, Index) {
    let v = vault(notes);
    let (idx, report) = Index::build(v.path(), extra);
    assert_eq!(report["notes"], notes.len(), "{report}");
    (v, idx)
}

/// Asserts that `query` finds exactly `expected` (as a set, any order).
fn finds(idx: &Index, query: &str, expected: &[&str]) {
    let mut got = idx.ids(query, 10);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "query {query:?}");
}

const ZH: &[(&str, &str)] = &[
    (
        "ml.md",
        "# 学习笔记\n\n我喜欢机器学习和深度学习。神经网络的训练需要大量数据。\n\n## Tags\n`人工智能` `笔记`\n",
    ),
    (
        "poem.md",
        "# 静夜思\n\n床前明月光，疑是地上霜。举头望明月，低头思故乡。\n\n#唐诗\n",
    ),
    (
        "rust.md",
        "# Rust 编程\n\n用Rust写命令行工具很方便，cargo管理依赖。\n",
    ),
];

/// Known-item queries of `../shared/data/knownitem-zh` made of two spans from one note of
/// zh-fortunes: the note that holds both comes first, above shorter notes that hold one
/// span (each of these lost to one before keyword scores were weighed by the share of
/// the query's spans a note holds).
#[test]
fn a_note_with_every_span_ranks_above_notes_with_one() {
    let (idx, _) = Index::build(&shared_vault("zh-fortunes"), &[]);
    for (query, note) in [
        ("今来 田园", "zh/tang/077"),
        ("地日 消灭", "zh/quotes/1717"),
        ("创建了一 案库", "zh/quotes/0484"),
        ("像文件 如果你使", "zh/quotes/0380"),
    ] {
        let got = idx.ids(query, 3);
        assert_eq!(got.first().map(String::as_str), Some(note), "{query}: {got:?}");
        // The notes with one span are still found, below it.
        assert!(got.len() > 1, "{query}: {got:?}");
    }
}

#[test]
fn chinese_words_inside_clauses_are_found() {
    let (_v, idx) = indexed(ZH, &[]);
    finds(&idx, "深度学习", &["ml"]);
    finds(&idx, "神经网络", &["ml"]);
    finds(&idx, "学习", &["ml"]);
    finds(&idx, "明月", &["poem"]);
    finds(&idx, "故乡 霜", &["poem"]);
    // One character: found through the unigrams.
    finds(&idx, "霜", &["poem"]);
    // A span that is not in the text (its characters are, apart) finds nothing.
    finds(&idx, "学深", &[]);
}

#[test]
fn mixed_scripts_work_both_ways() {
    let (_v, idx) = indexed(ZH, &[]);
    finds(&idx, "rust", &["rust"]);
    finds(&idx, "cargo 依赖", &["rust"]);
    finds(&idx, "命令行", &["rust"]);
    finds(&idx, "Rust编程", &["rust"]);
}

#[test]
fn cjk_phrases_exclusions_and_tags() {
    let (_v, idx) = indexed(ZH, &[]);
    finds(&idx, "\"明月光\"", &["poem"]);
    finds(&idx, "\"光明月\"", &[]);
    finds(&idx, "学习 -神经", &[]);
    finds(&idx, "明月 -深度", &["poem"]);
    finds(&idx, "tag:唐诗", &["poem"]);
    finds(&idx, "tag:人工智能", &["ml"]);
    // Tags are words too: their text is searched.
    finds(&idx, "人工智能", &["ml"]);
}

#[test]
fn cjk_snippet_marks_the_matched_characters() {
    let (_v, idx) = indexed(ZH, &[]);
    let hits = idx.search("深度学习", 5);
    let snippet = hits[0].raw["snippet"].as_str().unwrap().to_string();
    assert!(snippet.contains("**深度学习**"), "{snippet}");
    assert!(
        snippet.contains("神经网络"),
        "the original characters are shown: {snippet}"
    );
}

#[test]
fn japanese_words_inside_sentences_are_found() {
    let (_v, idx) = indexed(
        &[
            (
                "tokyo.md",
                "# 東京の思い出\n\n東京の喫茶店でコーヒーを飲みました。とても美味しかったです。\n",
            ),
            (
                "kyoto.md",
                "# 京都\n\n京都のお寺を見学しました。抹茶のケーキを食べた。\n",
            ),
        ],
        &[],
    );
    finds(&idx, "喫茶店", &["tokyo"]);
    finds(&idx, "コーヒー", &["tokyo"]);
    finds(&idx, "美味しい", &[]);
    finds(&idx, "美味し", &["tokyo"]);
    finds(&idx, "抹茶", &["kyoto"]);
    finds(&idx, "京都", &["kyoto"]);
    // Half-width katakana folds to full-width.
    finds(&idx, "ｺｰﾋｰ", &["tokyo"]);
}

#[test]
fn korean_words_with_particles_are_found() {
    let (_v, idx) = indexed(
        &[
            (
                "seoul.md",
                "# 여행\n\n서울에서 친구를 만났습니다. 한강공원은 아름다웠어요.\n",
            ),
            ("busan.md", "# 부산\n\n부산의 바다는 정말 좋았어요.\n"),
        ],
        &[],
    );
    finds(&idx, "서울", &["seoul"]);
    finds(&idx, "한강", &["seoul"]);
    finds(&idx, "공원", &["seoul"]);
    finds(&idx, "바다", &["busan"]);
}

#[test]
fn accents_and_full_width_fold_everywhere() {
    let (_v, idx) = indexed(
        &[
            (
                "paris.md",
                "---\ntags: [Café]\n---\n# Crème Brûlée in Paris\n\n## Le Café de Flore\nWe had a crème brûlée near the naïve façade.\n",
            ),
            ("codes.md", "# Codes\n\nThe part number is ＡＢＣ１２３ in full-width letters.\n"),
        ],
        &[],
    );
    finds(&idx, "cafe", &["paris"]);
    finds(&idx, "creme brulee", &["paris"]);
    finds(&idx, "naive facade", &["paris"]);
    finds(&idx, "\"creme brulee\"", &["paris"]);
    finds(&idx, "tag:cafe", &["paris"]);
    finds(&idx, "ABC123", &["codes"]);
    finds(&idx, "abc123", &["codes"]);
    finds(&idx, "brul*", &["paris"]);
    let hit = &idx.search("creme", 1)[0];
    let snippet = hit.raw["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("**crème**"),
        "the snippet keeps the accents: {snippet}"
    );
    assert_eq!(hit.raw["title"], "Crème Brûlée in Paris");
}

#[test]
fn stemming_language_is_chosen_at_index_time_and_kept() {
    let notes: &[(&str, &str)] = &[("haus.md", "# Häuser\n\nDie schönen Häuser der Stadt.\n")];
    // German stems Häuser and Haus alike; English does not.
    let (_v, de) = indexed(notes, &["--language", "de"]);
    finds(&de, "haus", &["haus"]);
    assert_eq!(de.stats()["language"], "de");
    let (_v2, en) = indexed(notes, &[]);
    finds(&en, "haus", &[]);
    // `none`: no stemming at all.
    let (_v3, none) = indexed(&[("r.md", "# R\n\nrunning fast\n")], &["--language", "none"]);
    finds(&none, "run", &[]);
    finds(&none, "running", &["r"]);
    // An update without --language keeps German.
    let v = vault(notes);
    let (idx, _) = Index::build(v.path(), &["--language", "de"]);
    std::fs::write(v.path().join("neu.md"), "# Neu\n\nEin neues Haus.\n").unwrap();
    idx.index(v.path(), &[]);
    assert_eq!(idx.stats()["language"], "de");
    finds(&idx, "hauser", &["haus", "neu"]);
}

#[test]
fn unknown_language_is_a_usage_error() {
    let v = vault(&[("a.md", "# A\n")]);
    let idx = Index::empty();
    let out = idx.run(&[
        "index",
        v.path().to_str().unwrap(),
        "--language",
        "klingon",
        INDEX_FLAGS[0],
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("unknown language `klingon`"),
        "{}",
        out.stderr
    );
    assert!(!Path::new(&idx.path().join("CURRENT")).exists());
}
