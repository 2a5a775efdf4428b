//! The user's query language, parsed once and used by every search mode.
//!
//! Words are optional and ranked (BM25 rewards notes that have more of them); `+word` is
//! required, `-word` excludes notes that contain it, `"a phrase"` matches words in order,
//! `pre*` matches a prefix, `OR` is accepted between words. `tag:`, `path:`, `strength:`
//! and `updated:` are filters: they restrict which notes can match in every mode without
//! changing scores. A malformed query is a [`QueryError`] that says what is wrong, never a
//! panic.

use chrono::NaiveDate;

use crate::note::parse_date;

/// One searchable piece of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    Word(String),
    Phrase(String),
    Prefix(String),
}

/// A comparison in a `strength:` or `updated:` filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
}

impl Cmp {
    pub fn test<T: PartialOrd>(self, value: T, bound: T) -> bool {
        match self {
            Cmp::Gt => value > bound,
            Cmp::Ge => value >= bound,
            Cmp::Lt => value < bound,
            Cmp::Le => value <= bound,
            Cmp::Eq => value == bound,
        }
    }
}

/// A restriction on which notes may match.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The note has this tag (lower-cased).
    Tag(String),
    /// The note id starts with this.
    Path(String),
    Strength(Cmp, f32),
    /// On the note's effective updated date (updated, else established, else file mtime).
    Updated(Cmp, NaiveDate),
}

/// What a filter is checked against, for modes that filter outside tantivy.
pub struct FilterSubject<'a> {
    pub id: &'a str,
    pub tags: &'a [String],
    pub strength: Option<f32>,
    pub updated: Option<NaiveDate>,
}

impl Filter {
    pub fn matches(&self, s: &FilterSubject<'_>) -> bool {
        match self {
            Filter::Tag(t) => s.tags.iter().any(|x| x == t),
            Filter::Path(p) => s.id.starts_with(p.as_str()),
            Filter::Strength(cmp, v) => s.strength.is_some_and(|x| cmp.test(x, *v)),
            Filter::Updated(cmp, d) => s.updated.is_some_and(|x| cmp.test(x, *d)),
        }
    }
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Optional clauses: rank, don't restrict.
    pub should: Vec<Clause>,
    /// `+` clauses: every result has them.
    pub must: Vec<Clause>,
    /// `-` clauses: no result has them anywhere in the note.
    pub must_not: Vec<Clause>,
    pub filters: Vec<Filter>,
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
    #[error("the query only excludes (-word); add something to search for")]
    OnlyExclusions,
}

impl Query {
    /// Parses the query language described in the module docs.
    pub fn parse(input: &str) -> Result<Query, QueryError> {
        let mut q = Query::default();
        for token in tokenize(input)? {
            let (sign, body) = match token.as_bytes().first() {
                Some(b'-') if token.len() > 1 => (Some('-'), &token[1..]),
                Some(b'+') if token.len() > 1 => (Some('+'), &token[1..]),
                _ => (None, token.as_str()),
            };
            if body == "OR" || body == "AND" || body == "|" {
                continue;
            }
            if sign.is_none() {
                if let Some(filter) = parse_filter(body)? {
                    q.filters.push(filter);
                    continue;
                }
            }
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
            match sign {
                Some('-') => q.must_not.push(clause),
                Some(_) => q.must.push(clause),
                None => q.should.push(clause),
            }
        }
        if q.should.is_empty() && q.must.is_empty() {
            if !q.must_not.is_empty() {
                return Err(QueryError::OnlyExclusions);
            }
            if q.filters.is_empty() {
                return Err(QueryError::Empty);
            }
        }
        Ok(q)
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

    /// The words to embed or highlight: every positive clause, operators removed.
    pub fn text(&self) -> String {
        self.should
            .iter()
            .chain(&self.must)
            .map(|c| match c {
                Clause::Word(w) | Clause::Phrase(w) | Clause::Prefix(w) => w.as_str(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// True when the query is only filters (list the matching notes).
    pub fn is_filter_only(&self) -> bool {
        self.should.is_empty() && self.must.is_empty()
    }

    pub fn matches_filters(&self, subject: &FilterSubject<'_>) -> bool {
        self.filters.iter().all(|f| f.matches(subject))
    }
}

fn clause_is_empty(c: &Clause) -> bool {
    match c {
        Clause::Word(w) | Clause::Phrase(w) | Clause::Prefix(w) => !w.chars().any(char::is_alphanumeric),
    }
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
                // sign); inside a word (`don"t`) it is dropped.
                if in_quote || matches!(token.as_str(), "" | "-" | "+") {
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

fn comparison(value: &str) -> (Cmp, &str) {
    for (prefix, cmp) in [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
        ("=", Cmp::Eq),
    ] {
        if let Some(rest) = value.strip_prefix(prefix) {
            return (cmp, rest);
        }
    }
    (Cmp::Eq, value)
}

/// `field:value` for a known filter field, `None` for anything else (a plain word).
fn parse_filter(token: &str) -> Result<Option<Filter>, QueryError> {
    let Some((field, value)) = token.split_once(':') else {
        return Ok(None);
    };
    let field_lc = field.to_lowercase();
    if !matches!(field_lc.as_str(), "tag" | "path" | "strength" | "updated") {
        return Ok(None);
    }
    if value.is_empty() {
        return Err(QueryError::MissingValue(token.to_string()));
    }
    let filter = match field_lc.as_str() {
        "tag" => Filter::Tag(value.trim_start_matches('#').to_lowercase()),
        "path" => Filter::Path(value.trim_start_matches("./").to_string()),
        "strength" => {
            let (cmp, v) = comparison(value);
            let bad = |why: &str| QueryError::BadFilter {
                field: "strength",
                value: value.to_string(),
                why: why.to_string(),
            };
            let v: f32 = v
                .parse()
                .map_err(|_| bad("expected a number, e.g. strength:>0.7"))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(bad("strength is between 0 and 1"));
            }
            Filter::Strength(cmp, v)
        }
        _ => {
            let (cmp, v) = comparison(value);
            let d = parse_date(v).ok_or_else(|| QueryError::BadFilter {
                field: "updated",
                value: value.to_string(),
                why: "expected a date, e.g. updated:>2024-01-01".into(),
            })?;
            Filter::Updated(cmp, d)
        }
    };
    Ok(Some(filter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_syntax() {
        let q = Query::parse(
            r#"rust "borrow checker" -python OR async* +tokio tag:Rust path:topics/ strength:>=0.7 updated:<2024-06-01"#,
        )
        .unwrap();
        assert_eq!(
            q.should,
            vec![
                Clause::Word("rust".into()),
                Clause::Phrase("borrow checker".into()),
                Clause::Prefix("async".into())
            ]
        );
        assert_eq!(q.must, vec![Clause::Word("tokio".into())]);
        assert_eq!(q.must_not, vec![Clause::Word("python".into())]);
        assert_eq!(
            q.filters,
            vec![
                Filter::Tag("rust".into()),
                Filter::Path("topics/".into()),
                Filter::Strength(Cmp::Ge, 0.7),
                Filter::Updated(Cmp::Lt, NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()),
            ]
        );
        assert_eq!(q.text(), "rust borrow checker async tokio");
    }

    #[test]
    fn errors_are_clear() {
        assert_eq!(Query::parse("  "), Err(QueryError::Empty));
        assert!(matches!(
            Query::parse("\"open phrase"),
            Err(QueryError::UnclosedQuote(_))
        ));
        assert!(matches!(
            Query::parse("x strength:>high"),
            Err(QueryError::BadFilter { .. })
        ));
        assert!(matches!(
            Query::parse("x strength:>2"),
            Err(QueryError::BadFilter { .. })
        ));
        assert!(matches!(
            Query::parse("x updated:>soon"),
            Err(QueryError::BadFilter { .. })
        ));
        assert_eq!(Query::parse("-x"), Err(QueryError::OnlyExclusions));
        assert!(matches!(Query::parse("tag:"), Err(QueryError::MissingValue(_))));
    }

    #[test]
    fn odd_input_is_words() {
        let q = Query::parse("http://x.org c++ don\"t * - + ((").unwrap();
        assert_eq!(
            q.should,
            vec![
                Clause::Word("http://x.org".into()),
                Clause::Word("c++".into()),
                Clause::Word("dont".into())
            ]
        );
        assert!(Query::parse("tag:python").unwrap().is_filter_only());
    }

    #[test]
    fn filters_match_subjects() {
        let tags = vec!["python".to_string()];
        let s = FilterSubject {
            id: "topics/python",
            tags: &tags,
            strength: Some(0.8),
            updated: NaiveDate::from_ymd_opt(2024, 2, 1),
        };
        assert!(
            Query::parse("x tag:python path:topics strength:>0.7 updated:>=2024-02-01")
                .unwrap()
                .matches_filters(&s)
        );
        assert!(!Query::parse("x strength:<0.5").unwrap().matches_filters(&s));
        assert!(!Query::parse("x path:people/").unwrap().matches_filters(&s));
    }
}
