//! The note-parser fuzzer's input generator and invariant checks, shared by
//! `examples/fuzz_parser.rs` (millions of inputs, run by `scripts/fuzz.sh`) and the quick
//! run in `tests/hostile.rs` (so CI exercises the same code).
//!
//! Stable Rust has no cargo-fuzz, so this is a generation-based fuzzer: a small seeded
//! PRNG, markdown-ish fragments (headings, front matter, footers, wiki-links, tags, code
//! fences, tables, nested lists and quotes, HTML) recombined at random, line endings of
//! every kind, and byte-level mutations decoded lossily (which splits multi-byte
//! characters at every position). Input `i` of seed `s` depends only on `(s, i)`, so any
//! failure reproduces with `--seed s --start i --count 1`.

#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use recall::note::{Note, NoteId};

/// xorshift64* seeded through splitmix64: tiny, fast, good enough for fuzzing.
pub struct Rng(u64);

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(splitmix(seed).max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `pct`%.
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }

    pub fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
        xs[self.below(xs.len())]
    }
}

/// The generator's state for input `index` of `seed`.
pub fn rng_for(seed: u64, index: u64) -> Rng {
    Rng::new(seed ^ splitmix(index.wrapping_add(0x5151)))
}

const WORDS: &[&str] = &[
    "alpha",
    "beta",
    "Gamma",
    "sourdough",
    "levain",
    "rust",
    "python",
    "note",
    "x",
    "a",
    "é",
    "ü",
    "中文",
    "日本語",
    "Ελληνικά",
    "עברית",
    "العربية",
    "🙂",
    "👩‍💻",
    "e\u{301}",
    "İstanbul",
    "ǅ",
    "ß",
    "ﬁ",
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{2028}",
    "\u{85}",
    "\u{a0}",
    "\u{3000}",
    "\t",
    "\\",
    "*",
    "_",
    "`",
    "~",
    "|",
    "<",
    ">",
    "&",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&nbsp;",
    "[",
    "]",
    "(",
    ")",
    "!",
    "#",
    "##",
    ":",
    "-",
    "+",
    "1.",
    "0)",
    "$",
    "$$",
    "^",
    "%",
    "\"",
    "'",
    "\u{0}",
    "\u{7f}",
    "\u{fffd}",
    "\u{10ffff}",
    "\u{e000}",
    "\u{202e}",
    "2024-02-18",
    "2024-13-45",
    "1636492098692",
    "-9223372036854775808",
    "9223372036854775807",
    "99999999999999999999",
    "0.85",
    "NaN",
    "inf",
    "-0",
    "1e39",
];

/// Multi-byte (and otherwise awkward) characters, inserted at random char boundaries.
const CHARS: &[&str] = &[
    "é",
    "中",
    "🙂",
    "\u{301}",
    "\u{feff}",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{200d}",
    "\u{202e}",
    "\u{fffd}",
    "\u{10ffff}",
    "\r",
    "\n",
    "\r\n",
    "\u{0}",
    "\t",
    "#",
    "[[",
    "]]",
    "`",
    "~",
    "*",
    "_",
    "|",
    "\\",
    "<",
    ">",
    "-",
    "---",
    "\u{3000}",
    "İ",
    "ẞ",
];

fn words(rng: &mut Rng, max: usize) -> String {
    let n = rng.range(0, max);
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push_str(rng.pick(&[" ", " ", " ", "  ", "\t", ""]));
        }
        out.push_str(rng.pick(WORDS));
    }
    out
}

fn tag(rng: &mut Rng) -> String {
    let body = rng.pick(&[
        "tag",
        "python",
        "api-development",
        "a/b/",
        "a/b/c",
        "-",
        "_",
        "/",
        "1",
        "123",
        "1a",
        "é",
        "中文",
        "🙂",
        "x#y",
        "İ",
        "ǅ",
        "ß",
        "",
        " ",
        "x,",
        "x.",
        "x)",
        "tag-",
        "a_b",
        "\u{301}",
        "\u{200b}x",
        "Tag",
        "TAG",
        "x\u{0}",
    ]);
    let before = rng.pick(&[
        "", "", " ", "(", "[", ",", ".", "a", "é", "#", "/", "&", "_", ":", "\u{a0}", "\u{3000}", "🙂", "`",
        "*", "\u{301}", "<",
    ]);
    let after = rng.pick(&["", "", " ", ")", "]", ",", ".", "!", "#x", "`", "*", "é"]);
    format!("{before}#{body}{after}")
}

fn wiki_link(rng: &mut Rng) -> String {
    let fixed = rng.pick(&[
        "[[a|b#c]]",
        "![[x]]",
        "[[",
        "]]",
        "[[[[",
        "]]]]",
        "[[[[a]]]]",
        "[[a#]]",
        "[[#h]]",
        "[[|]]",
        "[[a|]]",
        "[[ ]]",
        "[[]]",
        "![[]]",
        "[[a\nb]]",
        "[[é#ü|中]]",
        "[[a]]]",
        "[[[a]]]",
        "[[a|b|c]]",
        "[[a#b#c]]",
        "![[img.png|100]]",
        "[[a|b]] [[a|c]]",
        "[[people/alex_chen]]",
        "[[a.md]]",
        "[[./a]]",
        "[[/a]]",
        "[[a\\|b]]",
        "[[`a`]]",
        "[[**a**]]",
        "[[a]](b)",
        "[x](y)",
        "[x]: y",
        "<http://x.org/#frag>",
        "<a@b.c>",
        "[[#]]",
        "[[|#]]",
        "[[\u{0}]]",
        "[[🙂|🙂]]",
        "[[\u{301}]]",
        "![[",
        "[[a]] ]] [[",
    ]);
    if rng.chance(50) {
        return fixed.to_string();
    }
    let target = words(rng, 3).replace(['[', ']'], "");
    let mut s = String::from(if rng.chance(20) { "![[" } else { "[[" });
    s.push_str(&target);
    if rng.chance(40) {
        s.push('#');
        s.push_str(&words(rng, 2));
    }
    if rng.chance(40) {
        s.push('|');
        s.push_str(&words(rng, 2));
    }
    if rng.chance(90) {
        s.push_str("]]");
    }
    s
}

/// A line of prose: words, tags, links, inline markup.
fn prose(rng: &mut Rng) -> String {
    let n = rng.range(0, 8);
    let mut out = String::new();
    for _ in 0..n {
        if !out.is_empty() {
            out.push(' ');
        }
        match rng.below(10) {
            0..=3 => out.push_str(&words(rng, 4)),
            4 | 5 => out.push_str(&tag(rng)),
            6 | 7 => out.push_str(&wiki_link(rng)),
            _ => out.push_str(rng.pick(&[
                "**bold**",
                "*it*",
                "_it_",
                "`code #notatag [[nolink]]`",
                "``",
                "~~s~~",
                "[^1]",
                "$x^2$",
                "$$",
                "<b>",
                "</b>",
                "<!--",
                "-->",
                "\\#x",
                "&#35;tag",
                "***",
                "**",
                "`",
                "  ",
                "\\",
                "<span>#x</span>",
                "![alt](img.png)",
                "https://example.com/#anchor",
                "www.x.org",
                "`#tag`",
            ])),
        }
    }
    out
}

fn heading(rng: &mut Rng) -> Vec<String> {
    if rng.chance(15) {
        // Setext.
        let under = rng.pick(&["===", "---", "=", "-", "= =", "==="]);
        return vec![prose(rng), under.to_string()];
    }
    let level = rng.range(1, 8);
    let indent = " ".repeat(if rng.chance(10) { rng.range(1, 5) } else { 0 });
    let sep = rng.pick(&[" ", " ", " ", "", "\t", "  "]);
    let mut text = match rng.below(6) {
        0 => String::new(),
        1 => "Tags".to_string(),
        2 => "Related Memories".to_string(),
        _ => prose(rng),
    };
    if rng.chance(10) {
        text.push_str(rng.pick(&[" #", " ##", " #####", "#", " \\#"]));
    }
    vec![format!("{indent}{}{sep}{text}", "#".repeat(level))]
}

fn front_matter(rng: &mut Rng) -> Vec<String> {
    let mut lines = vec![rng
        .pick(&["---", "---", "---", "--- ", "----", "+++", "---\t"])
        .to_string()];
    if rng.chance(50) {
        // Well-formed, so the YAML is read and its values reach the metadata.
        lines[0] = "---".into();
        for _ in 0..rng.range(1, 5) {
            let key = rng.pick(&[
                "title", "tags", "tag", "strength", "created", "updated", "date", "aliases", "Strength",
                "TAGS",
            ]);
            let value = rng.pick(&[
                "x",
                "'#x'",
                "[a, 'B c', '#d', '', ' ', '#']",
                "a, b #c",
                "0.4",
                "1",
                "0",
                "-0.0",
                "1.5",
                ".nan",
                "'0.7'",
                "2023-05-01",
                "2024-13-45",
                "1636492098692",
                "-9223372036854775808",
                "9223372036854775807",
                "'2024-02-18T10:00:00Z'",
                "~",
                "{}",
                "[]",
                "é 🙂",
            ]);
            lines.push(format!("{key}: {value}"));
        }
        lines.push(rng.pick(&["---", "..."]).to_string());
        return lines;
    }
    for _ in 0..rng.range(0, 6) {
        let line = match rng.below(6) {
            0 => words(rng, 4),
            _ => rng
                .pick(&[
                    "title: From YAML",
                    "title:",
                    "title: ''",
                    "title: [a, b]",
                    "title: 123",
                    "title: ~",
                    "tags: [Alpha, beta]",
                    "tags: [a, b",
                    "tags: a, b #c",
                    "tags: {a: b}",
                    "tags: [1, null, '#x', '', ' ', '#']",
                    "tag: single",
                    "tags:\n  - one\n  -\n  - 'two'",
                    "strength: 0.5",
                    "strength: 7",
                    "strength: .nan",
                    "strength: -0",
                    "strength: '0.3'",
                    "strength: [1]",
                    "strength: 1e39",
                    "created: 2024-13-45",
                    "created: 2023-05-01",
                    "updated: 1636492098692",
                    "updated: -9223372036854775808",
                    "updated: 9223372036854775807",
                    "updated: 99999999999999999999",
                    "date: 2024/02/18",
                    "modified: '2024-02-18T10:00:00Z'",
                    ": : [",
                    "\tkey: tab",
                    "key:\tvalue",
                    "- list",
                    "a: &x [1, 2]",
                    "b: *x",
                    "c: *undefined",
                    "d: &y [*y]",
                    "? complex\n: key",
                    "[1]: 2",
                    "{a: 1}: 2",
                    "1.5: x",
                    "null: x",
                    "x: !!binary aGVsbG8=",
                    "x: !custom {a: 1}",
                    "key: |\n  block\n  #tag",
                    "key: >\n  folded",
                    "\"unterminated: x",
                    "'x: y",
                    "%YAML 1.2",
                    "--- # doc",
                    "...",
                    "x: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                    "k: \u{0}",
                    "é: ü",
                    "🙂: 🙂",
                    "x: 0x1F",
                    "x: 0o17",
                    "x: .inf",
                    "x: yes",
                    "<<: {a: 1}",
                    "<<: *x",
                ])
                .to_string(),
        };
        lines.push(line);
    }
    if rng.chance(80) {
        lines.push(
            rng.pick(&["---", "---", "...", "--- ", "----", "+++"])
                .to_string(),
        );
    }
    lines
}

fn footer(rng: &mut Rng) -> Vec<String> {
    let mut lines = vec![rng
        .pick(&["---", "---", "***", "----", " --- ", "- - -"])
        .to_string()];
    if rng.chance(50) {
        // Well-formed: every line a `*Key: value*`, so the footer is read.
        lines[0] = "---".into();
        for _ in 0..rng.range(1, 4) {
            let key = rng.pick(&[
                "Strength",
                "Last updated",
                "Knowledge domain established",
                "Created",
                "Key",
                "strength",
            ]);
            let value = rng.pick(&[
                "7",
                "0.85",
                "0",
                "1",
                "-0",
                "NaN",
                "1e39",
                "2024-02-18",
                "2024-13-45",
                "2024/02/18",
                "1636492098692",
                "-9223372036854775808",
                "",
                "é",
            ]);
            let m = rng.pick(&["*", "_"]);
            lines.push(format!("{m}{key}: {value}{m}"));
        }
        return lines;
    }
    for _ in 0..rng.range(0, 5) {
        lines.push(
            rng.pick(&[
                "*Strength: 7*",
                "*Strength: 0.85*",
                "*Strength: NaN*",
                "*Strength: -0*",
                "*Strength: 1e39*",
                "*Strength:*",
                "*Last updated: 2024-13-45*",
                "*Last updated: 2024-02-18*",
                "*Last updated: -9223372036854775808*",
                "*Updated: 99999999999999999999*",
                "*Created: 9223372036854775807*",
                "*Knowledge domain established: 2024-01-15*",
                "_Key: v_",
                "_Key: v*",
                "*:*",
                "*",
                "**",
                "_ _",
                "**Strength:** 0.5",
                "*Strength: 0.5* extra",
                "",
                "   ",
                "*Ke\u{301}y: v*",
                "*🙂: 🙂*",
                "*a very long key that goes on and on and on and on and on: v*",
                "```",
                "~~~",
                "---",
                "*Strength: 0.5",
                "Strength: 0.5*",
                "_Established: 2024/02/18_",
            ])
            .to_string(),
        );
    }
    lines
}

fn code_block(rng: &mut Rng) -> Vec<String> {
    let fence_char = if rng.chance(70) { "`" } else { "~" };
    let len = rng.range(3, 6);
    let indent = " ".repeat(if rng.chance(20) { rng.range(1, 6) } else { 0 });
    let info = rng.pick(&["", "rust", "python", " ", "a`b", "{.x}", "#tag", "~~~"]);
    let mut lines = vec![format!("{indent}{}{info}", fence_char.repeat(len))];
    for _ in 0..rng.range(0, 5) {
        match rng.below(5) {
            0 => lines.push(rng.pick(&["```", "~~~", "````", "``` x", "   ```"]).to_string()),
            1 => lines.push("#nottag [[not/a/link]] *Strength: 1*".to_string()),
            _ => lines.push(prose(rng)),
        }
    }
    if rng.chance(75) {
        let close_len = if rng.chance(80) { len } else { rng.range(2, 7) };
        let close_char = if rng.chance(90) { fence_char } else { "`~" };
        lines.push(format!("{indent}{}", close_char.repeat(close_len)));
    }
    lines
}

fn indented_code(rng: &mut Rng) -> Vec<String> {
    (0..rng.range(1, 4))
        .map(|_| format!("{}{}", rng.pick(&["    ", "\t", "        "]), prose(rng)))
        .collect()
}

fn table(rng: &mut Rng) -> Vec<String> {
    let cols = rng.range(1, 5);
    let row = |rng: &mut Rng| {
        let cells: Vec<String> = (0..rng.range(0, cols + 1))
            .map(|_| prose(rng).replace('|', "\\|"))
            .collect();
        format!("|{}|", cells.join("|"))
    };
    let mut lines = vec![row(rng)];
    let delim: Vec<&str> = (0..cols)
        .map(|_| rng.pick(&["---", ":--", "--:", ":-:", "-", ""]))
        .collect();
    lines.push(format!("|{}|", delim.join("|")));
    for _ in 0..rng.range(0, 4) {
        lines.push(row(rng));
    }
    if rng.chance(20) {
        lines.push(
            rng.pick(&["|", "||", "|-|", "| a | b | c | d | e | f |", "no pipes"])
                .to_string(),
        );
    }
    lines
}

fn nested(rng: &mut Rng) -> Vec<String> {
    let depth = if rng.chance(3) {
        rng.range(50, 300)
    } else {
        rng.range(1, 12)
    };
    let mut lines = Vec::new();
    for _ in 0..rng.range(1, 5) {
        let mut prefix = String::new();
        for _ in 0..depth {
            prefix.push_str(rng.pick(&[
                "> ", ">", "- ", "* ", "+ ", "1. ", "2) ", "  ", "   ", "- [ ] ", "- [x] ", "> - ",
            ]));
        }
        lines.push(format!("{prefix}{}", prose(rng)));
    }
    lines
}

fn html(rng: &mut Rng) -> Vec<String> {
    vec![rng
        .pick(&[
            "<div>",
            "</div>",
            "<div>\n#tag [[link]]\n</div>",
            "<!-- unclosed",
            "<!-- x -->",
            "<script>#x</script>",
            "<![CDATA[ x",
            "<?php x ?>",
            "<!DOCTYPE x>",
            "<details><summary>#x</summary>",
            "<pre>\n```\n</pre>",
            "<table><tr><td>[[a]]</td></tr></table>",
            "<",
            "</",
            "<a href='[[x]]'>",
            "<br/>",
            "<img src=x onerror=y>",
        ])
        .to_string()]
}

fn misc(rng: &mut Rng) -> Vec<String> {
    vec![rng
        .pick(&[
            "",
            "",
            "",
            "---",
            "***",
            "___",
            "- - -",
            "[^1]: a footnote #tag [[l]]",
            "[^1]:",
            "- [ ] task",
            "- [x] done #t",
            "$$\nx\n$$",
            "\\",
            "  ",
            "\t",
            "=",
            "|",
            ">",
            "-",
            "1.",
            "* * *",
            "Term\n: definition",
            "[ref]: http://x",
            "#",
            "##",
            "#######",
            "########## x",
            "#hashtag at line start",
            "#1 not a tag",
            "\u{feff}# BOM heading",
            "\u{0}",
            "\u{0}\u{0}",
        ])
        .to_string()]
}

fn long_line(rng: &mut Rng) -> Vec<String> {
    let len = if rng.chance(5) {
        rng.range(100_000, 400_000)
    } else {
        rng.range(1_000, 20_000)
    };
    let unit = rng.pick(&[
        "a", "ab ", "é", "中 ", "#t ", "[[", "]]", "[[a]] ", "*", "`", "> ", "- ", "🙂", "\\", "<", "|", "#",
    ]);
    vec![unit.repeat(len / unit.len())]
}

/// Markdown-ish lines: fragments of every kind recombined at random.
fn structured(rng: &mut Rng) -> String {
    let mut lines: Vec<String> = Vec::new();
    if rng.chance(30) {
        lines.extend(front_matter(rng));
    }
    let blocks = rng.range(0, 14);
    for _ in 0..blocks {
        let block = match rng.below(20) {
            0..=2 => heading(rng),
            3..=6 => vec![prose(rng)],
            7 | 8 => code_block(rng),
            9 => indented_code(rng),
            10 => table(rng),
            11 | 12 => nested(rng),
            13 => html(rng),
            14 => front_matter(rng),
            15 => footer(rng),
            16 if rng.chance(10) => long_line(rng),
            _ => misc(rng),
        };
        lines.extend(block);
        if rng.chance(40) {
            lines.push(String::new());
        }
    }
    if rng.chance(35) {
        lines.extend(footer(rng));
    }
    let crlf = rng.chance(15);
    let mixed = rng.chance(15);
    let mut out = String::new();
    if rng.chance(5) {
        out.push('\u{feff}');
    }
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        if i + 1 < lines.len() || rng.chance(60) {
            let ending = if mixed {
                rng.pick(&["\n", "\r\n", "\r", "\n\r", "\u{2028}", "\u{85}"])
            } else if crlf {
                "\r\n"
            } else {
                "\n"
            };
            out.push_str(ending);
        }
    }
    out
}

/// Byte-level damage, decoded lossily: multi-byte characters split anywhere.
fn mutate(rng: &mut Rng, text: String) -> String {
    let mut bytes = text.into_bytes();
    for _ in 0..rng.range(1, 8) {
        match rng.below(6) {
            0 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] = rng.next_u64() as u8;
            }
            1 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                let n = rng.range(1, 16).min(bytes.len() - i);
                bytes.drain(i..i + n);
            }
            2 => {
                let i = rng.below(bytes.len() + 1);
                let junk: Vec<u8> = (0..rng.range(1, 8)).map(|_| rng.next_u64() as u8).collect();
                bytes.splice(i..i, junk);
            }
            3 if !bytes.is_empty() => {
                // Duplicate a slice somewhere else.
                let a = rng.below(bytes.len());
                let b = (a + rng.range(1, 64)).min(bytes.len());
                let chunk = bytes[a..b].to_vec();
                let at = rng.below(bytes.len() + 1);
                bytes.splice(at..at, chunk);
            }
            _ => {
                let i = rng.below(bytes.len() + 1);
                let c = rng.pick(CHARS).as_bytes().to_vec();
                bytes.splice(i..i, c);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Inserts awkward characters at random char boundaries (the text stays valid UTF-8).
fn sprinkle(rng: &mut Rng, mut text: String) -> String {
    for _ in 0..rng.range(1, 6) {
        let mut i = rng.below(text.len() + 1);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        text.insert_str(i, rng.pick(CHARS));
    }
    text
}

fn arbitrary_bytes(rng: &mut Rng) -> String {
    let len = rng.range(0, 512);
    let bias: &[u8] = b"#[]|!*_`~-\n\r> \t:|<";
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            if rng.chance(50) {
                bias[rng.below(bias.len())]
            } else {
                rng.next_u64() as u8
            }
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Input `index` of `seed`.
pub fn input(seed: u64, index: u64) -> String {
    let mut rng = rng_for(seed, index);
    match rng.below(100) {
        0..=11 => arbitrary_bytes(&mut rng),
        12..=64 => structured(&mut rng),
        65..=82 => {
            let t = structured(&mut rng);
            sprinkle(&mut rng, t)
        }
        _ => {
            let t = structured(&mut rng);
            mutate(&mut rng, t)
        }
    }
}

/// Checks what `Note::parse` promises; `Err` says which promise is broken.
pub fn check(note: &Note, text: &str) -> Result<(), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
    let mut prev_start = 0;
    for (i, s) in note.sections.iter().enumerate() {
        if s.line_start < 1 || s.line_start > s.line_end || s.line_end > lines {
            return Err(format!(
                "section {i} ({:?}) has lines {}..={} but the text has {lines} lines",
                s.heading_display(),
                s.line_start,
                s.line_end
            ));
        }
        if s.line_start < prev_start {
            return Err(format!(
                "section {i} starts at line {} before the previous one ({prev_start})",
                s.line_start
            ));
        }
        prev_start = s.line_start;
    }
    for l in &note.links {
        if l.line < 1 || l.line > lines {
            return Err(format!(
                "link {:?} is on line {} but the text has {lines} lines",
                l.raw, l.line
            ));
        }
        if l.target.is_empty() && l.heading.is_none() {
            return Err(format!("link {:?} has neither target nor heading", l.raw));
        }
    }
    if let Some(s) = note.meta.strength {
        if !(0.0..=1.0).contains(&s) {
            return Err(format!("strength {s} is outside 0..=1"));
        }
    }
    for (i, t) in note.tags.iter().enumerate() {
        if t.trim().is_empty() {
            return Err(format!("empty tag {t:?}"));
        }
        if t.starts_with('#') {
            return Err(format!("tag {t:?} keeps its #"));
        }
        if note.tags[..i].contains(t) {
            return Err(format!("duplicate tag {t:?}"));
        }
    }
    Ok(())
}

/// Why an input failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// `Note::parse` (or the check) panicked, with the panic's message.
    Panic(String),
    /// A promise of `Note::parse` is broken.
    Invariant(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Panic(m) => write!(f, "panic: {m}"),
            Failure::Invariant(m) => write!(f, "invariant broken: {m}"),
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

/// How many inputs reached each interesting state of the parser (so a generator that
/// stopped producing, say, valid front matter shows up as a zero).
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    pub headed_sections: u64,
    pub links: u64,
    pub embeds: u64,
    pub tags: u64,
    pub front_matter: u64,
    pub footer: u64,
    pub strength: u64,
    pub dates: u64,
    pub warnings: u64,
}

impl Coverage {
    fn add(&mut self, note: &Note) {
        let n = |b: bool| u64::from(b);
        self.headed_sections += n(note.sections.iter().any(|s| !s.heading_path.is_empty()));
        self.links += n(!note.links.is_empty());
        self.embeds += n(note.links.iter().any(|l| l.embed));
        self.tags += n(!note.tags.is_empty());
        self.front_matter += n(!note.meta.front_matter.is_empty());
        self.footer += n(!note.meta.footer.is_empty());
        self.strength += n(note.meta.strength.is_some());
        self.dates += n(note.meta.updated.is_some() || note.meta.established.is_some());
        self.warnings += n(!note.warnings.is_empty());
    }

    /// `name pct%` pairs for a summary line.
    pub fn summary(&self, inputs: u64) -> String {
        let pct = |x: u64| 100.0 * x as f64 / inputs.max(1) as f64;
        format!(
            "headings {:.0}%, links {:.0}%, embeds {:.0}%, tags {:.0}%, front matter {:.0}%, footer {:.0}%, strength {:.0}%, dates {:.0}%, warnings {:.0}%",
            pct(self.headed_sections),
            pct(self.links),
            pct(self.embeds),
            pct(self.tags),
            pct(self.front_matter),
            pct(self.footer),
            pct(self.strength),
            pct(self.dates),
            pct(self.warnings)
        )
    }
}

/// Parses `text`, catching a panic, and checks the result.
pub fn run_one(text: &str) -> Result<(), Failure> {
    run_one_covered(text, &mut Coverage::default())
}

fn run_one_covered(text: &str, coverage: &mut Coverage) -> Result<(), Failure> {
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let note = Note::parse(NoteId("fuzz/input".into()), text);
        coverage.add(&note);
        check(&note, text)
    }));
    match parsed {
        Ok(Ok(())) => Ok(()),
        Ok(Err(m)) => Err(Failure::Invariant(m)),
        Err(payload) => Err(Failure::Panic(panic_message(&*payload))),
    }
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Stats {
    pub inputs: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    /// The slowest input: (index, length in bytes, time).
    pub slowest: (u64, usize, Duration),
    pub coverage: Coverage,
}

/// The first failing input of a run: its index and text, and the failure.
#[derive(Debug)]
pub struct Found {
    pub index: u64,
    pub input: String,
    pub failure: Failure,
}

/// Runs inputs `start..start + count` of `seed`; stops at the first failure, which it
/// returns with the stats so far. `progress` hears the stats every 2^16 inputs.
pub fn run(seed: u64, start: u64, count: u64, progress: &mut dyn FnMut(&Stats)) -> (Stats, Option<Found>) {
    let began = Instant::now();
    let mut stats = Stats::default();
    for index in start..start.saturating_add(count) {
        let text = input(seed, index);
        let t = Instant::now();
        let r = run_one_covered(&text, &mut stats.coverage);
        let took = t.elapsed();
        stats.inputs += 1;
        stats.bytes += text.len() as u64;
        if took > stats.slowest.2 {
            stats.slowest = (index, text.len(), took);
        }
        if let Err(failure) = r {
            stats.elapsed = began.elapsed();
            return (
                stats,
                Some(Found {
                    index,
                    input: text,
                    failure,
                }),
            );
        }
        if stats.inputs % 65_536 == 0 {
            stats.elapsed = began.elapsed();
            progress(&stats);
        }
    }
    stats.elapsed = began.elapsed();
    (stats, None)
}

/// Shrinks `input` while it still fails the same way (same failure kind, and for panics
/// the same message): drops lines, then ever smaller byte chunks (on char boundaries).
pub fn minimize(input: &str, failure: &Failure) -> String {
    // A budget of parses, so a 400 KB input cannot keep the shrinker busy for hours.
    let budget = std::cell::Cell::new(50_000u32);
    let same = |t: &str| {
        if budget.get() == 0 {
            return false;
        }
        budget.set(budget.get() - 1);
        match (run_one(t), failure) {
            (Err(Failure::Panic(a)), Failure::Panic(b)) => &a == b,
            (Err(Failure::Invariant(_)), Failure::Invariant(_)) => true,
            _ => false,
        }
    };
    let mut cur = input.to_string();
    // Lines first: cheap and usually most of the win.
    let mut chunk = cur.split_inclusive('\n').count().max(1);
    while chunk >= 1 {
        let lines: Vec<&str> = cur.split_inclusive('\n').collect();
        let mut i = 0;
        let mut changed = false;
        let mut kept: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        while i < kept.len() {
            let end = (i + chunk).min(kept.len());
            let candidate: String = kept[..i].concat() + &kept[end..].concat();
            if same(&candidate) {
                kept.drain(i..end);
                changed = true;
            } else {
                i += chunk;
            }
        }
        cur = kept.concat();
        if !changed {
            chunk /= 2;
        }
    }
    // Then characters.
    let mut chunk = cur.chars().count().max(1);
    while chunk >= 1 {
        let chars: Vec<char> = cur.chars().collect();
        let mut kept = chars.clone();
        let mut i = 0;
        let mut changed = false;
        while i < kept.len() {
            let end = (i + chunk).min(kept.len());
            let candidate: String = kept[..i].iter().chain(&kept[end..]).collect();
            if same(&candidate) {
                kept.drain(i..end);
                changed = true;
            } else {
                i += chunk;
            }
        }
        cur = kept.into_iter().collect();
        if !changed {
            chunk /= 2;
        }
    }
    cur
}
