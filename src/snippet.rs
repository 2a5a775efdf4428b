//! Snippets: the part of a section that shows why it matched, with the matched words marked.
//!
//! Words are compared after the same analysis the index uses (so `running` highlights for
//! the query `runs`). The window with the most distinct query terms wins; the result is a
//! list of spans so that each front end marks them its own way (colour on a terminal,
//! `**bold**` in JSON).

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::tokenizer::TokenStream;

use crate::analysis::Analysis;

/// Part of a snippet; `hit` spans are query matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub text: String,
    pub hit: bool,
}

/// Default snippet length in characters.
pub const SNIPPET_CHARS: usize = 180;

/// The best window of `text` (about `max_chars` long) for the query terms `terms`
/// (already analyzed by `analysis`).
pub fn snippet(text: &str, terms: &HashSet<String>, max_chars: usize, analysis: &Analysis) -> Vec<Span> {
    let text = text.trim();
    // Stemming every word of a section is most of a snippet's cost. Stemmers rewrite
    // endings, so a word can only stem to a query term that begins with the same two
    // letters (English turns a second `y` into `i`: dying → die, hence the fold below);
    // other words are not stemmed. A word seen before in the section reuses its answer.
    // (Keys hashed fast and heads kept as chars: a server's keyword queries spent a
    // noticeable share of their time hashing and allocating here; docs/experiments.md,
    // "Update and query-time work at 50k notes".)
    let heads: FxHashSet<(Option<char>, Option<char>)> = terms.iter().map(|t| head(t)).collect();
    let mut seen: FxHashMap<String, Option<String>> = FxHashMap::default();
    let mut stem = analysis.stemmer();
    let mut analyzer = analysis.raw_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut matches: Vec<(usize, usize, u32)> = Vec::new();
    let mut ids: FxHashMap<String, u32> = FxHashMap::default();
    while let Some(t) = stream.next() {
        let term = match seen.get(&t.text) {
            Some(known) => known.clone(),
            None => {
                let term = Some(&t.text)
                    .filter(|w| heads.contains(&head(w)))
                    .map(|w| stem(w))
                    .filter(|term| terms.contains(term));
                seen.insert(t.text.clone(), term.clone());
                term
            }
        };
        let Some(term) = term else { continue };
        let next = ids.len() as u32;
        let id = *ids.entry(term).or_insert(next);
        // CJK bigrams overlap their neighbours: one marked span for the run they cover.
        match matches.last_mut() {
            Some(last) if t.offset_from < last.1 => last.1 = last.1.max(t.offset_to),
            _ => matches.push((t.offset_from, t.offset_to, id)),
        }
    }
    // Best window: the start (at a match) whose next max_chars hold the most distinct terms.
    let mut start = 0;
    let mut best = 0;
    for (i, m) in matches.iter().enumerate() {
        // Terms are numbered in order of appearance; a bit set counts the distinct ones.
        let mut distinct = [0u64; 4];
        for x in matches[i..].iter().take_while(|x| x.1 <= m.0 + max_chars) {
            let id = (x.2 as usize).min(255);
            distinct[id / 64] |= 1 << (id % 64);
        }
        let count = distinct.iter().map(|w| w.count_ones() as usize).sum::<usize>();
        if count > best {
            best = count;
            start = m.0;
        }
    }
    // Back up a little so the first match has context, to a word boundary.
    let mut from = floor_char(text, start.saturating_sub(max_chars / 4));
    if from > 0 {
        // Past the whitespace character, whatever its width (a no-break space is two bytes).
        from = text[from..]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map(|(i, c)| from + i + c.len_utf8())
            .unwrap_or(from);
        if from > start {
            from = start;
        }
    }
    let mut to = floor_char(text, (from + max_chars).min(text.len()));
    if to < text.len() {
        to = text[..to]
            .rfind(char::is_whitespace)
            .filter(|&i| i > from)
            .unwrap_or(to);
    }
    let mut spans = Vec::new();
    let mut push = |s: &str, hit: bool| {
        let s = s.replace(['\n', '\t'], " ");
        if !s.is_empty() {
            spans.push(Span { text: s, hit });
        }
    };
    if from > 0 {
        push("…", false);
    }
    let mut pos = from;
    for (a, b, _) in matches.iter().filter(|m| m.0 >= from && m.1 <= to) {
        push(&text[pos..*a], false);
        push(&text[*a..*b], true);
        pos = *b;
    }
    push(&text[pos..to], false);
    if to < text.len() {
        push("…", false);
    }
    spans
}

/// The first two characters of a word or term, a second `y` read as `i`.
fn head(term: &str) -> (Option<char>, Option<char>) {
    let mut chars = term.chars();
    let first = chars.next();
    let second = chars.next().map(|c| if c == 'y' { 'i' } else { c });
    (first, second)
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The snippet as plain text with `**marks**` (for JSON and piped output).
pub fn marked(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| {
            if s.hit {
                format!("**{}**", s.text)
            } else {
                s.text.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_stemmed_matches_in_a_window() {
        let terms: HashSet<String> = ["run".to_string(), "tempo".to_string()].into();
        let text = format!(
            "{} The tempo runs were hard. {}",
            "filler ".repeat(60),
            "tail ".repeat(60)
        );
        let spans = snippet(&text, &terms, 80, &Analysis::default());
        let m = marked(&spans);
        assert!(m.contains("**tempo** **runs**"), "{m}");
        assert!(m.starts_with('…') && m.ends_with('…'), "{m}");
        assert!(m.chars().count() < 110, "{m}");
    }

    #[test]
    fn cjk_matches_are_one_span_of_the_original_characters() {
        let a = Analysis::default();
        let terms: HashSet<String> = a.analyze("深度学习").into_iter().collect();
        let m = marked(&snippet("我喜欢机器学习和深度学习。", &terms, 80, &a));
        assert_eq!(m, "我喜欢机器**学习**和**深度学习**。");
        let terms: HashSet<String> = a.analyze("ＣＡＦＥ").into_iter().collect();
        assert_eq!(marked(&snippet("the Café", &terms, 80, &a)), "the **Café**");
    }

    #[test]
    fn words_that_stem_oddly_still_match() {
        let a = Analysis::default();
        let terms: HashSet<String> = a.analyze("die ladies").into_iter().collect();
        let m = marked(&snippet("The dying plant and the lady.", &terms, 80, &a));
        assert_eq!(m, "The **dying** plant and the **lady**.");
    }

    #[test]
    fn a_window_may_start_after_a_wide_space() {
        // A no-break space (two bytes) right where the window backs up to.
        let a = Analysis::default();
        let terms: HashSet<String> = a.analyze("alias").into_iter().collect();
        for pad in 0..8 {
            let text = format!(
                "{}word\u{a0}word {} the alias here",
                "x".repeat(pad),
                "filler ".repeat(8)
            );
            let m = marked(&snippet(&text, &terms, 40, &a));
            assert!(m.contains("**alias**"), "{m}");
        }
    }

    #[test]
    fn no_match_gives_the_start() {
        let spans = snippet(
            "Ünïcödé text here and more",
            &HashSet::new(),
            16,
            &Analysis::default(),
        );
        assert_eq!(marked(&spans), "Ünïcödé…", "cut at a word boundary, by bytes");
    }
}
