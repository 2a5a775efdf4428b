//! Text analysis: how note text and queries become index terms, in any language.
//!
//! One tokenizer serves every script. Runs of letters and digits of space-separated
//! scripts (Latin, Cyrillic, Greek, ...) are words. Runs of Chinese, Japanese and Korean
//! characters, which have no spaces between words, become overlapping character
//! **bigrams** (東京の喫茶店 → 東京 京の の喫 喫茶 茶店), as Lucene's CJK analyzer does: any
//! word or span inside a run can then be found without a dictionary, which would not
//! install offline here. The index also gets each character on its own (a unigram at the
//! position of the bigram it starts), so that a one-character query finds it too; queries
//! leave those out, and a span of a query is searched as the phrase of its bigrams.
//!
//! Then every token is lower-cased, folded (café → cafe, full-width ＡＢＣ１２３ → abc123,
//! half-width ｶﾀｶﾅ → カタカナ) and stemmed in the index's language (English unless
//! `recall index --language` said otherwise). Folding comes before stemming so that a word
//! and its accent-less spelling always stem alike. Offsets always point into the original
//! text, so snippets show the characters as written.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, Stemmer, StopWordFilter,
    TextAnalyzer, Token, TokenStream, Tokenizer,
};
use unicode_normalization::UnicodeNormalization;

/// Longest token kept, in bytes: longer ones are hashes, base64 and the like.
const MAX_TOKEN_BYTES: usize = 40;

/// The stemming languages, by the code `--language` takes.
const LANGUAGES: [(&str, Language); 18] = [
    ("ar", Language::Arabic),
    ("da", Language::Danish),
    ("de", Language::German),
    ("el", Language::Greek),
    ("en", Language::English),
    ("es", Language::Spanish),
    ("fi", Language::Finnish),
    ("fr", Language::French),
    ("hu", Language::Hungarian),
    ("it", Language::Italian),
    ("nl", Language::Dutch),
    ("no", Language::Norwegian),
    ("pt", Language::Portuguese),
    ("ro", Language::Romanian),
    ("ru", Language::Russian),
    ("sv", Language::Swedish),
    ("ta", Language::Tamil),
    ("tr", Language::Turkish),
];

/// What `--language` accepts besides the stemmers' codes: no stemming at all.
pub const NO_STEMMING: &str = "none";
/// The default language.
pub const DEFAULT_LANGUAGE: &str = "en";

/// How an index analyzes text: the one setting is the stemming language, recorded in the
/// index so that queries are analyzed as the notes were.
#[derive(Clone)]
pub struct Analysis {
    code: String,
    /// The analyzers, made once (each use clones one: a few small allocations, where
    /// building one anew, stop-word set included, costs much more).
    built: std::sync::Arc<Analyzers>,
}

struct Analyzers {
    index: TextAnalyzer,
    raw: TextAnalyzer,
    query: TextAnalyzer,
    fold: TextAnalyzer,
    content: TextAnalyzer,
}

impl PartialEq for Analysis {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for Analysis {}

impl std::fmt::Debug for Analysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysis").field("code", &self.code).finish()
    }
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis::new(DEFAULT_LANGUAGE).expect("the default language exists")
    }
}

/// A query's terms, grouped: each group is one word, or the bigrams of one CJK span
/// (to be matched as a phrase), with the positions the index gives them.
pub type TermGroups = Vec<Vec<(usize, String)>>;

impl Analysis {
    /// The analysis for a language code (`en`, `de`, ..., or `none`), or a message listing
    /// the codes.
    pub fn new(code: &str) -> Result<Analysis, String> {
        let code = code.trim().to_lowercase();
        let stemmer = if code == NO_STEMMING {
            None
        } else {
            match LANGUAGES.iter().find(|(c, _)| *c == code) {
                Some((_, lang)) => Some(*lang),
                None => {
                    return Err(format!(
                        "unknown language `{code}`: use one of {} or {NO_STEMMING}",
                        Self::codes().join(", ")
                    ))
                }
            }
        };
        let built = std::sync::Arc::new(Analyzers {
            index: analyzer(stemmer, true, true),
            raw: analyzer(stemmer, true, false),
            query: analyzer(stemmer, false, true),
            fold: analyzer(stemmer, false, false),
            content: content_analyzer(stemmer),
        });
        Ok(Analysis { code, built })
    }

    /// The language codes with a stemmer.
    pub fn codes() -> Vec<&'static str> {
        LANGUAGES.iter().map(|(c, _)| *c).collect()
    }

    /// The code this analysis was made from.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The analyzer of indexed prose: words, CJK bigrams and unigrams, folded and stemmed.
    pub fn index_analyzer(&self) -> TextAnalyzer {
        self.built.index.clone()
    }

    /// Like the index analyzer but unstemmed: the words as written (folded), for `prefix*`.
    pub fn raw_analyzer(&self) -> TextAnalyzer {
        self.built.raw.clone()
    }

    /// The terms of a query's text, in order, as the index has them (no unigrams inside
    /// CJK spans: their bigrams say more).
    pub fn analyze(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_token(&mut self.built.query.clone(), text, |t| out.push(t.text.clone()));
        out
    }

    /// A function from one folded word (a token of [`Analysis::raw_analyzer`]) to the term
    /// the index has for it.
    pub fn stemmer(&self) -> impl FnMut(&str) -> String {
        let mut analyzer = self.built.query.clone();
        move |word| {
            let mut out = String::new();
            for_each_token(&mut analyzer, word, |t| {
                if out.is_empty() {
                    out.push_str(&t.text)
                }
            });
            out
        }
    }

    /// `text` lower-cased and folded but not stemmed, as the `prefix*` field has it.
    pub fn fold(&self, text: &str) -> String {
        let mut out = String::new();
        for_each_token(&mut self.built.fold.clone(), text, |t| out.push_str(&t.text));
        out
    }

    /// The words of `text` as written, each with its lower-cased, folded (unstemmed)
    /// form: what typo tolerance compares with the index's words as written.
    pub fn folded_words<'t>(&self, text: &'t str) -> Vec<(&'t str, String)> {
        let mut out = Vec::new();
        for_each_token(&mut self.built.fold.clone(), text, |t| {
            if let Some(surface) = text.get(t.offset_from..t.offset_to) {
                out.push((surface, t.text.clone()));
            }
        });
        out
    }

    /// A query word's terms grouped for matching: a group per word, and one per CJK span
    /// holding its bigrams with their positions.
    pub fn term_groups(&self, text: &str) -> TermGroups {
        let mut groups: TermGroups = Vec::new();
        let mut analyzer = self.built.query.clone();
        let mut last_cjk_end: Option<usize> = None;
        for_each_token(&mut analyzer, text, |t| {
            let cjk = text
                .get(t.offset_from..t.offset_to)
                .is_some_and(|s| s.chars().all(is_cjk));
            // Bigrams of one span overlap by a character: the next starts before the last ends.
            let continues = cjk && last_cjk_end.is_some_and(|end| t.offset_from < end);
            match groups.last_mut() {
                Some(g) if continues => g.push((t.position, t.text.clone())),
                _ => groups.push(vec![(t.position, t.text.clone())]),
            }
            last_cjk_end = cjk.then_some(t.offset_to);
        });
        groups
    }

    /// Whether `word` is a stop word of the index's language ("the", "of"; English for
    /// `none`): it analyzes to a term, but not to a content term.
    pub fn is_stop_word(&self, word: &str) -> bool {
        self.content_terms(word).is_empty() && !self.analyze(word).is_empty()
    }

    /// Content words of `text` as (index term, word as written, lower-cased), stop words
    /// removed: what "more like this" picks its terms from and shows to people.
    pub fn content_terms(&self, text: &str) -> Vec<(String, String)> {
        let mut analyzer = self.built.content.clone();
        let mut out = Vec::new();
        for_each_token(&mut analyzer, text, |t| {
            let surface = text
                .get(t.offset_from..t.offset_to)
                .unwrap_or(&t.text)
                .to_lowercase();
            out.push((t.text.clone(), surface));
        });
        out
    }
}

/// How many single-character edits turn `a` into `b`: insertions, deletions,
/// substitutions, and swaps of two neighbours (a transposition counts once, as a typist
/// makes it; the "optimal string alignment" distance). Compares characters, not bytes.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Three rows of the table: two back (for swaps), the previous, the current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j - 1] + cost).min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

/// A keyword (a tag) compared whole: lower-cased and folded, punctuation kept, so that
/// `tag:cafe` finds `#Café` and `tag:ｒｕｓｔ` finds `#rust`.
pub fn fold_keyword(s: &str) -> String {
    let mut analyzer = TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    let mut out = String::new();
    for_each_token(&mut analyzer, s, |t| {
        for c in t.text.chars() {
            fold_width(c, &mut out);
        }
    });
    out.to_lowercase()
}

/// Words (and CJK bigrams; unigrams too with `unigrams`), lower-cased, folded, and stemmed
/// in `stemmer`'s language with `stem`.
fn analyzer(stemmer: Option<Language>, unigrams: bool, stem: bool) -> TextAnalyzer {
    let base = TextAnalyzer::builder(ScriptTokenizer::new(unigrams))
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match (stemmer, stem) {
        (Some(lang), true) => base.filter(Stemmer::new(lang)).build(),
        _ => base.build(),
    }
}

/// The query analyzer with the language's stop words removed (English where it has none).
fn content_analyzer(stemmer: Option<Language>) -> TextAnalyzer {
    let stop = StopWordFilter::new(stemmer.unwrap_or(Language::English))
        .or_else(|| StopWordFilter::new(Language::English))
        .expect("English stop words");
    let builder = TextAnalyzer::builder(ScriptTokenizer::new(false))
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(stop)
        .filter(AsciiFoldingFilter);
    match stemmer {
        Some(lang) => builder.filter(Stemmer::new(lang)).build(),
        None => builder.build(),
    }
}

fn for_each_token(analyzer: &mut TextAnalyzer, text: &str, mut f: impl FnMut(&Token)) {
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        f(t);
    }
}

/// Chinese, Japanese and Korean characters: scripts written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'     // CJK Unified Ideographs Extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK Unified Ideographs
        | '\u{F900}'..='\u{FAFF}'   // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{2FA1F}' // Extensions B.. and Compatibility Supplement
        | '\u{3005}' | '\u{3007}'   // 々 〇
        | '\u{3041}'..='\u{309F}'   // Hiragana
        | '\u{30A0}'..='\u{30FF}'   // Katakana (ー included)
        | '\u{31F0}'..='\u{31FF}'   // Katakana phonetic extensions
        | '\u{FF66}'..='\u{FF9F}'   // half-width Katakana
        | '\u{1100}'..='\u{11FF}'   // Hangul Jamo
        | '\u{3130}'..='\u{318F}'   // Hangul compatibility Jamo
        | '\u{A960}'..='\u{A97F}'   // Hangul Jamo extended A
        | '\u{AC00}'..='\u{D7FF}'   // Hangul syllables, Jamo extended B
        | '\u{FFA0}'..='\u{FFDC}' // half-width Hangul
    )
}

/// Width folding: the half- and full-width forms block (U+FF00..U+FFEF) as NFKC has it
/// (ＡＢＣ → ABC, ｶ → カ); every other character as it is.
fn fold_width(c: char, out: &mut String) {
    if ('\u{FF00}'..='\u{FFEF}').contains(&c) {
        out.extend(std::iter::once(c).nfkc());
    } else {
        out.push(c);
    }
}

/// Splits text into words and CJK bigrams (see the module docs).
#[derive(Clone)]
pub struct ScriptTokenizer {
    /// Also emit each character of a CJK run (for indexing).
    unigrams: bool,
    token: Token,
}

impl ScriptTokenizer {
    pub fn new(unigrams: bool) -> ScriptTokenizer {
        ScriptTokenizer {
            unigrams,
            token: Token::default(),
        }
    }
}

pub struct ScriptTokenStream<'a> {
    text: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    token: &'a mut Token,
    unigrams: bool,
    /// The CJK run being emitted: (byte offset, character).
    run: Vec<(usize, char)>,
    /// Position of the run's first character.
    run_base: usize,
    /// Next character of the run, and whether its unigram was emitted already.
    at: usize,
    unigram_done: bool,
    /// Position of the next token.
    next_position: usize,
}

impl Tokenizer for ScriptTokenizer {
    type TokenStream<'a> = ScriptTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ScriptTokenStream<'a> {
        self.token.reset();
        ScriptTokenStream {
            text,
            chars: text.char_indices().peekable(),
            token: &mut self.token,
            unigrams: self.unigrams,
            run: Vec::new(),
            run_base: 0,
            at: 0,
            unigram_done: false,
            next_position: 0,
        }
    }
}

impl ScriptTokenStream<'_> {
    fn set(&mut self, from: usize, to: usize, position: usize) {
        self.token.text.clear();
        let slice = &self.text[from..to];
        if slice.is_ascii() {
            self.token.text.push_str(slice);
        } else {
            for c in slice.chars() {
                fold_width(c, &mut self.token.text);
            }
        }
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = position;
        self.token.position_length = 1;
    }

    /// The next token of the pending CJK run, if any.
    fn next_in_run(&mut self) -> bool {
        let n = self.run.len();
        while self.at < n {
            let i = self.at;
            let (from, c) = self.run[i];
            if !self.unigram_done {
                self.unigram_done = true;
                if self.unigrams || n == 1 {
                    self.set(from, from + c.len_utf8(), self.run_base + i);
                    return true;
                }
            }
            self.at += 1;
            self.unigram_done = false;
            if let Some(&(next, d)) = self.run.get(i + 1) {
                self.set(from, next + d.len_utf8(), self.run_base + i);
                return true;
            }
        }
        if n > 0 {
            self.next_position = self.run_base + n;
            self.run.clear();
        }
        false
    }
}

impl TokenStream for ScriptTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            if self.next_in_run() {
                return true;
            }
            let Some((from, c)) = self.chars.next() else {
                return false;
            };
            if is_cjk(c) {
                self.run.push((from, c));
                while let Some(&(o, d)) = self.chars.peek().filter(|(_, d)| is_cjk(*d)) {
                    self.run.push((o, d));
                    self.chars.next();
                }
                self.run_base = self.next_position;
                self.at = 0;
                self.unigram_done = false;
                continue;
            }
            if c.is_alphanumeric() {
                let mut to = from + c.len_utf8();
                while let Some(&(o, d)) = self
                    .chars
                    .peek()
                    .filter(|(_, d)| d.is_alphanumeric() && !is_cjk(*d))
                {
                    to = o + d.len_utf8();
                    self.chars.next();
                }
                let position = self.next_position;
                self.set(from, to, position);
                self.next_position += 1;
                return true;
            }
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_a_swap_once() {
        assert_eq!(edit_distance("levain", "levian"), 1);
        assert_eq!(edit_distance("hydration", "hydraton"), 1);
        assert_eq!(edit_distance("vlan", "vlna"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("café", "cafe"), 1);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    fn tokens(unigrams: bool, text: &str) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        let mut analyzer = TextAnalyzer::builder(ScriptTokenizer::new(unigrams)).build();
        for_each_token(&mut analyzer, text, |t| out.push((t.text.clone(), t.position)));
        out
    }

    #[test]
    fn cjk_runs_become_bigrams_with_unigrams_for_the_index() {
        let t = tokens(true, "深度学习");
        let expect = [
            ("深", 0),
            ("深度", 0),
            ("度", 1),
            ("度学", 1),
            ("学", 2),
            ("学习", 2),
            ("习", 3),
        ];
        assert_eq!(t, expect.map(|(s, p)| (s.to_string(), p)));
        let q = tokens(false, "深度学习 ok");
        let expect = [("深度", 0), ("度学", 1), ("学习", 2), ("ok", 4)];
        assert_eq!(q, expect.map(|(s, p)| (s.to_string(), p)));
    }

    #[test]
    fn mixed_scripts_split_at_the_boundary() {
        let q = tokens(false, "用Rust写的CLI工具, 学");
        let words: Vec<&str> = q.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(words, ["用", "Rust", "写的", "CLI", "工具", "学"]);
    }

    #[test]
    fn folding_and_stemming() {
        let a = Analysis::default();
        assert_eq!(a.analyze("Café crème BRÛLÉES"), ["cafe", "creme", "brule"]);
        assert_eq!(a.analyze("ＡＢＣ１２３ Running"), ["abc123", "run"]);
        assert_eq!(a.analyze("ｺｰﾋｰ"), a.analyze("コーヒー"));
        assert_eq!(
            Analysis::new("none").unwrap().analyze("Running cafés"),
            ["running", "cafes"]
        );
        assert_eq!(
            Analysis::new("de").unwrap().analyze("Häuser"),
            Analysis::new("de").unwrap().analyze("hauser")
        );
        assert!(Analysis::new("xx").unwrap_err().contains("unknown language"));
        assert!(a.is_stop_word("The") && !a.is_stop_word("theory") && !a.is_stop_word("学习"));
        assert_eq!(fold_keyword("Café/Crème-Ｘ"), "cafe/creme-x");
        assert_eq!(fold_keyword("中文"), "中文");
    }

    #[test]
    fn term_groups_keep_spans_together() {
        let a = Analysis::default();
        let g = a.term_groups("喫茶店 coffee 学");
        let texts: Vec<Vec<&str>> = g
            .iter()
            .map(|g| g.iter().map(|(_, t)| t.as_str()).collect())
            .collect();
        assert_eq!(texts, vec![vec!["喫茶", "茶店"], vec!["coffe"], vec!["学"]]);
        assert_eq!(g[0][1].0 - g[0][0].0, 1, "consecutive positions");
    }

    #[test]
    fn content_terms_drop_stop_words_and_keep_surface_forms() {
        let terms = Analysis::default().content_terms("Trained for the Hydration tests");
        assert_eq!(
            terms,
            vec![
                ("train".to_string(), "trained".to_string()),
                ("hydrat".to_string(), "hydration".to_string()),
                ("test".to_string(), "tests".to_string())
            ]
        );
    }
}
