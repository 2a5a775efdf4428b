//! The user's query language, parsed once, with one meaning in every search mode.
//!
//! Plain words are optional and ranked (BM25 rewards notes that have more of them; meaning
//! ranks by the whole text). Everything else is a **constraint** that a listed note must
//! satisfy in every mode, however close its meaning: `+word` (required), `"a phrase"`
//! (required, words in order), `-word` / `-"phrase"` (the note must not contain it
//! anywhere), and the filters (`filter`): `tag:`, `path:`, `strength:`, `updated:`,
//! `established:` and any key of the notes' front matter (`status:active`; `-tag:draft`
//! negates one). `OR` joins two filters (either passes) or two required terms (either is
//! enough); between plain words it changes nothing, since those are alternatives
//! already. A field name that no note has is an error that names the fields
//! ([`Query::check_fields`], once the index is known), never silently a word; so is a
//! malformed value. Dates take the forms of [`crate::dates`].
//!
//! A parsed query may later carry [`Correction`]s (typo tolerance, `lexical::spell`): the
//! words as typed stay in the clauses, and the corrections say what else they match.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dates;
pub use crate::dates::Cmp;

mod filter;

use filter::parse_filter;
pub use filter::{DateField, Filter, FIELDS};

/// One searchable piece of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    Word(String),
    Phrase(String),
    Prefix(String),
    /// Any one of these (`"a b" OR "c d"`, `+x OR +y`).
    Any(Vec<Clause>),
}

impl Clause {
    /// The plain-text pieces of the clause, for embedding and highlighting.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Clause::Word(w) | Clause::Phrase(w) | Clause::Prefix(w) => vec![w.as_str()],
            Clause::Any(all) => all.iter().flat_map(Clause::texts).collect(),
        }
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clause::Word(w) => write!(f, "{w}"),
            Clause::Phrase(p) => write!(f, "\"{p}\""),
            Clause::Prefix(p) => write!(f, "{p}*"),
            Clause::Any(all) => {
                let parts: Vec<String> = all.iter().map(ToString::to_string).collect();
                write!(f, "{}", parts.join(" OR "))
            }
        }
    }
}

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Keywords and meaning, merged (the default).
    #[default]
    Hybrid,
    /// Keywords only (BM25).
    Lexical,
    /// Meaning only (embedding similarity).
    Semantic,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Hybrid => "hybrid",
            Mode::Lexical => "lexical",
            Mode::Semantic => "semantic",
        }
    }
}

/// The one check of a mode name.
pub fn parse_mode(s: &str) -> Result<Mode, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "hybrid" => Ok(Mode::Hybrid),
        "lexical" => Ok(Mode::Lexical),
        "semantic" => Ok(Mode::Semantic),
        _ => Err(format!("bad mode `{s}`: use hybrid, lexical or semantic")),
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        parse_mode(s)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A query word read as an indexed word it is one or two typos away from.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    /// The word as typed.
    pub typed: String,
    /// The indexed word it is read as (lower-cased and folded, as written in notes).
    pub to: String,
    /// The typed word is in no note: the correction replaces it in the text that is
    /// embedded and shown. Otherwise the typed word is far rarer than the correction
    /// and still matches, with the correction scored below it.
    pub replaces: bool,
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Optional clauses: rank, don't restrict.
    pub should: Vec<Clause>,
    /// Required clauses (`+word`, phrases): every result has each of them.
    pub must: Vec<Clause>,
    /// `-` clauses: no result has them anywhere in the note.
    pub must_not: Vec<Clause>,
    pub filters: Vec<Filter>,
    /// How typed words were read (see [`Correction`]); empty until the index is asked.
    pub corrections: Vec<Correction>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QueryError {
    #[error("the query is empty")]
    Empty,
    #[error("unclosed quote in query: {0}")]
    UnclosedQuote(String),
    #[error("`{0}` has no value (write e.g. tag:python)")]
    MissingValue(String),
    #[error("bad {field} filter `{value}`: {why}")]
    BadFilter {
        field: &'static str,
        value: String,
        why: String,
    },
    #[error("unknown field `{field}:`{}; the fields are tag:, path:, strength:, updated:, established:{} (to search for the text, quote it: \"{field}:...\")", suggest(.suggestion), front_matter(.keys))]
    UnknownField {
        field: String,
        suggestion: Option<String>,
        /// The front-matter keys of the vault, which are fields too.
        keys: Vec<String>,
    },
    #[error("`{0}`: OR joins two filters (tag:a OR tag:b) or two search terms (\"a b\" OR \"c d\"), not one of each")]
    MixedOr(String),
    #[error("the query only excludes (-word); add something to search for or a filter")]
    OnlyExclusions,
}

fn suggest(s: &Option<String>) -> String {
    s.as_ref()
        .map(|f| format!("; did you mean `{f}:`?"))
        .unwrap_or_default()
}

fn front_matter(keys: &[String]) -> String {
    match keys.len() {
        0 => ", and no front-matter key (this vault's notes have none)".to_string(),
        n => {
            let shown: Vec<String> = keys.iter().take(30).map(|k| format!("{k}:")).collect();
            let more = if n > 30 {
                format!(" and {} more", n - 30)
            } else {
                String::new()
            };
            format!(", and the front-matter keys {}{more}", shown.join(", "))
        }
    }
}

/// One parsed token, before `OR`s are applied.
enum Item {
    Filter(Filter),
    Term(Sign, Clause),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Optional,
    Required,
    Excluded,
}

impl Query {
    /// Parses the query language described in the module docs; relative dates count from
    /// today.
    pub fn parse(input: &str) -> Result<Query, QueryError> {
        Query::parse_at(input, dates::today())
    }

    /// [`Query::parse`] with relative dates counted from `today`.
    pub fn parse_at(input: &str, today: chrono::NaiveDate) -> Result<Query, QueryError> {
        // Items in order, each with whether an OR joins it to the one before.
        let mut items: Vec<(Item, bool)> = Vec::new();
        let mut or_pending = false;
        for token in tokenize(input)? {
            if token == "OR" || token == "|" {
                or_pending = !items.is_empty();
                continue;
            }
            if token == "AND" {
                continue;
            }
            let (sign, body) = match token.as_bytes().first() {
                Some(b'-') if token.len() > 1 => (Sign::Excluded, &token[1..]),
                Some(b'+') if token.len() > 1 => (Sign::Required, &token[1..]),
                _ => (Sign::Optional, token.as_str()),
            };
            let item = if let Some(filter) = parse_filter(body, today)? {
                Item::Filter(match sign {
                    Sign::Excluded => Filter::Not(Box::new(filter)),
                    _ => filter,
                })
            } else {
                let clause = if let Some(phrase) = body.strip_prefix('"') {
                    Clause::Phrase(phrase.trim_end_matches('"').trim().to_string())
                } else if body.len() > 1 && body.ends_with('*') {
                    Clause::Prefix(body.trim_end_matches('*').to_lowercase())
                } else {
                    Clause::Word(body.to_string())
                };
                if clause_is_empty(&clause) {
                    continue;
                }
                // A quoted phrase is a constraint, as in lexical search: required.
                let sign = match (&clause, sign) {
                    (Clause::Phrase(_), Sign::Optional) => Sign::Required,
                    _ => sign,
                };
                Item::Term(sign, clause)
            };
            items.push((item, std::mem::take(&mut or_pending)));
        }
        let mut q = Query::default();
        let mut pending: Option<Item> = None;
        for (item, joined) in items {
            let (done, next) = match (pending.take(), joined) {
                (Some(previous), true) => join(previous, item)?,
                (previous, _) => (previous, item),
            };
            if let Some(done) = done {
                q.push(done);
            }
            pending = Some(next);
        }
        if let Some(p) = pending {
            q.push(p);
        }
        if q.should.is_empty() && q.must.is_empty() && q.filters.is_empty() {
            return Err(match q.must_not.is_empty() {
                true => QueryError::Empty,
                false => QueryError::OnlyExclusions,
            });
        }
        Ok(q)
    }

    fn push(&mut self, item: Item) {
        match item {
            Item::Filter(f) => self.filters.push(f),
            Item::Term(Sign::Optional, c) => self.should.push(c),
            Item::Term(Sign::Required, c) => self.must.push(c),
            Item::Term(Sign::Excluded, c) => self.must_not.push(c),
        }
    }

    /// `text` as plain words, operators and filters ignored: for evaluation queries and
    /// for text that was not written in the query language.
    pub fn words(text: &str) -> Query {
        Query {
            should: text
                .split_whitespace()
                .map(|w| Clause::Word(w.to_string()))
                .filter(|c| !clause_is_empty(c))
                .collect(),
            ..Query::default()
        }
    }

    /// The words to embed or highlight: every positive clause, operators removed, typos
    /// that match nothing replaced by their corrections.
    pub fn text(&self) -> String {
        let text = self
            .should
            .iter()
            .chain(&self.must)
            .flat_map(Clause::texts)
            .collect::<Vec<_>>()
            .join(" ");
        self.corrected(&text)
    }

    /// `text` (the query as written, or part of it) with the words that matched nothing
    /// replaced by their corrections.
    pub fn corrected(&self, text: &str) -> String {
        self.corrections
            .iter()
            .filter(|c| c.replaces)
            .fold(text.to_string(), |t, c| replace_word(&t, &c.typed, &c.to))
    }

    /// True when the query is only filters (list the matching notes).
    pub fn is_filter_only(&self) -> bool {
        self.should.is_empty() && self.must.is_empty()
    }

    /// True when something besides the ranked words restricts which notes may be listed.
    pub fn has_constraints(&self) -> bool {
        !(self.must.is_empty() && self.must_not.is_empty() && self.filters.is_empty())
    }

    /// The keys of the query's front-matter filters, as written.
    pub fn front_matter_keys(&self) -> Vec<&str> {
        fn metas<'a>(f: &'a Filter, out: &mut Vec<&'a str>) {
            match f {
                Filter::Meta { key, .. } => out.push(key),
                Filter::Any(all) => all.iter().for_each(|f| metas(f, out)),
                Filter::Not(f) => metas(f, out),
                _ => {}
            }
        }
        let mut used = Vec::new();
        self.filters.iter().for_each(|f| metas(f, &mut used));
        used
    }

    /// Checks every front-matter filter's key against the keys the vault's notes have
    /// (lower-cased): a key no note has is a mistake (`tags:` for `tag:`, `colour:`), said
    /// with the closest field and the list.
    pub fn check_fields(&self, keys: &[String]) -> Result<(), QueryError> {
        for key in self.front_matter_keys() {
            let lower = key.to_lowercase();
            if keys.contains(&lower) {
                continue;
            }
            let suggestion = FIELDS
                .iter()
                .map(|f| f.to_string())
                .chain(keys.iter().cloned())
                .map(|f| (crate::analysis::edit_distance(&lower, &f), f))
                .filter(|(d, f)| *d <= 2 && *d < f.len())
                .min()
                .map(|(_, f)| f);
            return Err(QueryError::UnknownField {
                field: key.to_string(),
                suggestion,
                keys: keys.to_vec(),
            });
        }
        Ok(())
    }
}

/// Two items an `OR` joins: the one to keep now (if they stay apart) and the one that
/// may join the next.
fn join(a: Item, b: Item) -> Result<(Option<Item>, Item), QueryError> {
    let flatten_filter = |f: Filter| match f {
        Filter::Any(all) => all,
        other => vec![other],
    };
    let flatten_clause = |c: Clause| match c {
        Clause::Any(all) => all,
        other => vec![other],
    };
    match (a, b) {
        (Item::Filter(x), Item::Filter(y)) => {
            let mut all = flatten_filter(x);
            all.extend(flatten_filter(y));
            Ok((None, Item::Filter(Filter::Any(all))))
        }
        (Item::Term(sx, x), Item::Term(sy, y)) => match (sx, sy) {
            // Plain words are alternatives already, and each exclusion excludes: OR
            // beside them changes nothing.
            (Sign::Optional, Sign::Optional | Sign::Excluded)
            | (Sign::Excluded, Sign::Optional | Sign::Excluded) => {
                Ok((Some(Item::Term(sx, x)), Item::Term(sy, y)))
            }
            (Sign::Excluded, _) | (_, Sign::Excluded) => Err(QueryError::MixedOr(format!("{x} OR {y}"))),
            _ => {
                let mut all = flatten_clause(x);
                all.extend(flatten_clause(y));
                Ok((None, Item::Term(Sign::Required, Clause::Any(all))))
            }
        },
        (Item::Filter(f), Item::Term(_, c)) => Err(QueryError::MixedOr(format!("{f} OR {c}"))),
        (Item::Term(_, c), Item::Filter(f)) => Err(QueryError::MixedOr(format!("{c} OR {f}"))),
    }
}

fn clause_is_empty(c: &Clause) -> bool {
    c.texts().iter().all(|w| !w.chars().any(char::is_alphanumeric))
}

/// `text` with each whole-word occurrence of `word` (not inside a longer word) replaced.
fn replace_word(text: &str, word: &str, to: &str) -> String {
    if word.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(char::is_alphanumeric) || after.is_some_and(char::is_alphanumeric) {
            out.push_str(word);
        } else {
            out.push_str(to);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Splits on white space, keeping `"quoted phrases"` (with an optional sign) together.
fn tokenize(input: &str) -> Result<Vec<String>, QueryError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut token = String::new();
        let mut in_quote = false;
        while let Some(&(_, c)) = chars.peek() {
            chars.next();
            if c == '"' {
                // A quote opens a phrase only at the start of a token (after an optional
                // sign) or a filter's value (`type:"design decision"`); inside a word
                // (`don"t`) it is dropped.
                let value_starts = token
                    .strip_suffix(':')
                    .map(|f| f.trim_start_matches(['-', '+']))
                    .is_some_and(|f| {
                        !f.is_empty()
                            && f.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    });
                if in_quote || value_starts || matches!(token.as_str(), "" | "-" | "+") {
                    in_quote = !in_quote;
                    token.push(c);
                }
                continue;
            }
            if c.is_whitespace() && !in_quote {
                break;
            }
            token.push(c);
        }
        if in_quote {
            return Err(QueryError::UnclosedQuote(input[start..].to_string()));
        }
        tokens.push(token);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::DateRange;
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn parse(s: &str) -> Result<Query, QueryError> {
        Query::parse_at(s, d(2026, 12, 7))
    }

    #[test]
    fn full_syntax() {
        let q = parse(
            r#"rust "borrow checker" -python OR async* +tokio tag:Rust path:topics/ strength:>=0.7 updated:<2024-06-01"#,
        )
        .unwrap();
        assert_eq!(
            q.should,
            vec![Clause::Word("rust".into()), Clause::Prefix("async".into())]
        );
        assert_eq!(
            q.must,
            vec![
                Clause::Phrase("borrow checker".into()),
                Clause::Word("tokio".into())
            ]
        );
        assert_eq!(q.must_not, vec![Clause::Word("python".into())]);
        assert_eq!(q.filters.len(), 4);
        assert_eq!(q.filters[0], Filter::Tag("rust".into()));
        assert_eq!(q.filters[1], Filter::Path("topics/".into()));
        assert_eq!(q.filters[2], Filter::Strength(Cmp::Ge, 0.7));
        assert!(matches!(
            &q.filters[3],
            Filter::Date { field: DateField::Updated, range, .. }
                if *range == DateRange { from: None, until: Some(d(2024, 6, 1)) }
        ));
        assert_eq!(q.text(), "rust async borrow checker tokio");
    }

    #[test]
    fn errors_are_clear() {
        assert_eq!(parse("  "), Err(QueryError::Empty));
        assert!(matches!(
            parse("\"open phrase"),
            Err(QueryError::UnclosedQuote(_))
        ));
        assert!(matches!(
            parse("x strength:>high"),
            Err(QueryError::BadFilter { .. })
        ));
        assert!(matches!(
            parse("x strength:>2"),
            Err(QueryError::BadFilter { .. })
        ));
        let e = parse("x updated:>soon").unwrap_err().to_string();
        assert!(e.contains("YYYY-MM-DD, a window like 7d"), "{e}");
        assert_eq!(parse("-x"), Err(QueryError::OnlyExclusions));
        assert!(matches!(parse("tag:"), Err(QueryError::MissingValue(_))));
        let keys = ["status".to_string(), "color".to_string()];
        let check = |q: &str| parse(q).unwrap().check_fields(&keys).map_err(|e| e.to_string());
        let e = check("tags:python").unwrap_err();
        assert!(e.contains("unknown field `tags:`; did you mean `tag:`?"), "{e}");
        let e = check("colour:red").unwrap_err();
        assert!(
            e.starts_with("unknown field `colour:`; did you mean `color:`?; the fields are tag:"),
            "{e}"
        );
        assert!(e.contains("and the front-matter keys status:, color:"), "{e}");
        assert!(check("status:active -STATUS:superseded").is_ok());
        let q = parse("type:\"design decision\"").unwrap();
        assert_eq!(q.filters[0].to_string(), "type:design decision");
        let none = parse("draft:yes")
            .unwrap()
            .check_fields(&[])
            .unwrap_err()
            .to_string();
        assert!(none.contains("no front-matter key"), "{none}");
        assert!(matches!(parse("tag:rust OR rust"), Err(QueryError::MixedOr(_))));
        assert!(matches!(parse("+rust OR -go"), Err(QueryError::MixedOr(_))));
    }

    #[test]
    fn odd_input_is_words() {
        let q = parse("http://x.org c++ don\"t * - + (( std::vec 12:30 a:b").unwrap();
        let words: Vec<String> = q.should.iter().map(ToString::to_string).collect();
        assert_eq!(words, ["http://x.org", "c++", "dont", "std::vec", "12:30", "a:b"]);
        assert!(parse("tag:python").unwrap().is_filter_only());
    }

    #[test]
    fn or_joins_filters_and_required_terms() {
        let q = parse("tag:python OR tag:rust").unwrap();
        assert_eq!(
            q.filters,
            vec![Filter::Any(vec![
                Filter::Tag("python".into()),
                Filter::Tag("rust".into())
            ])]
        );
        let q = parse(r#""a b" OR "c d" OR +e"#).unwrap();
        assert_eq!(q.must.len(), 1);
        assert_eq!(q.must[0].to_string(), r#""a b" OR "c d" OR e"#);
        let q = parse("rust OR python").unwrap();
        assert_eq!(q.text(), "rust python");
        assert!(q.must.is_empty());
        let q = parse("-tag:draft bread").unwrap();
        assert_eq!(
            q.filters,
            vec![Filter::Not(Box::new(Filter::Tag("draft".into())))]
        );
        let q = parse("tag:rust -python").unwrap();
        assert!(q.is_filter_only());
    }

    #[test]
    fn dates_are_spans() {
        let q = parse("updated:2025 established:>=2024-06").unwrap();
        let ranges: Vec<DateRange> = q
            .filters
            .iter()
            .map(|f| match f {
                Filter::Date { range, .. } => *range,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            ranges,
            vec![
                DateRange {
                    from: Some(d(2025, 1, 1)),
                    until: Some(d(2026, 1, 1))
                },
                DateRange {
                    from: Some(d(2024, 6, 1)),
                    until: None
                },
            ]
        );
        assert_eq!(q.filters[0].to_string(), "updated:2025");
        let q = parse("updated:7d").unwrap();
        assert!(matches!(&q.filters[0], Filter::Date { range, .. } if range.from == Some(d(2026, 11, 30))));
    }

    #[test]
    fn corrections_replace_whole_words_only() {
        let mut q = parse("levian hydraton levianx").unwrap();
        q.corrections = vec![
            Correction {
                typed: "levian".into(),
                to: "levain".into(),
                replaces: true,
            },
            Correction {
                typed: "hydraton".into(),
                to: "hydration".into(),
                replaces: false,
            },
        ];
        assert_eq!(q.text(), "levain hydraton levianx");
        assert_eq!(q.corrected("Levian? levian!"), "Levian? levain!");
    }
}
