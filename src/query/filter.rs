//! Filters: what a `field:value` word of a query restricts the notes to, how it is read
//! (`tag:`, `path:`, `strength:`, the dates, and any front-matter key) and how it is
//! written back.

use std::fmt;

use super::QueryError;
use crate::dates::{self, Cmp, DateRange};

/// Which of a note's dates a filter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    /// `Last updated`, else `Knowledge domain established`, else the file's mtime.
    Updated,
    /// `Knowledge domain established` (front matter `created`); notes without one never match.
    Established,
}

/// A restriction on which notes may match.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The note has this tag (lower-cased).
    Tag(String),
    /// The note id starts with this.
    Path(String),
    Strength(Cmp, f32),
    /// The date lies in the range; `written` is the filter as the user wrote it.
    Date {
        field: DateField,
        range: DateRange,
        written: String,
    },
    /// A front-matter key has this value (`status:active`; both as written, compared
    /// folded): any key of the vault's front matter that is not one of [`FIELDS`].
    Meta {
        key: String,
        value: String,
    },
    /// Any one of these passes (`tag:a OR tag:b`).
    Any(Vec<Filter>),
    /// The filter must not pass (`-tag:draft`).
    Not(Box<Filter>),
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Tag(t) => write!(f, "tag:{t}"),
            Filter::Meta { key, value } => write!(f, "{key}:{value}"),
            Filter::Path(p) => write!(f, "path:{p}"),
            Filter::Strength(cmp, v) => {
                let op = match cmp {
                    Cmp::Gt => ">",
                    Cmp::Ge => ">=",
                    Cmp::Lt => "<",
                    Cmp::Le => "<=",
                    Cmp::Eq => "",
                };
                write!(f, "strength:{op}{v}")
            }
            Filter::Date { written, .. } => write!(f, "{written}"),
            Filter::Any(all) => {
                let parts: Vec<String> = all.iter().map(ToString::to_string).collect();
                write!(f, "{}", parts.join(" OR "))
            }
            Filter::Not(inner) => write!(f, "-{inner}"),
        }
    }
}

/// The filter fields, as the query language names them.
pub const FIELDS: [&str; 5] = ["tag", "path", "strength", "updated", "established"];

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

/// `field:value` for a filter field; `None` for a plain word (no `field:`, or text with a
/// colon that is no field name: `std::vec`, `http://x`, `12:30`); an error for a word
/// that is shaped like a field but names none.
pub(super) fn parse_filter(token: &str, today: chrono::NaiveDate) -> Result<Option<Filter>, QueryError> {
    let Some((field, value)) = token.split_once(':') else {
        return Ok(None);
    };
    let field_lc = field.to_lowercase();
    if !FIELDS.contains(&field_lc.as_str()) {
        // Shaped like a field: a front-matter filter, its key checked against the vault's
        // keys once the index is known (`Query::check_fields`).
        let shaped = field.len() >= 2
            && field.starts_with(|c: char| c.is_ascii_alphabetic())
            && field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && !value.is_empty()
            && !value.starts_with(['/', ':']);
        if !shaped {
            return Ok(None);
        }
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        return Ok(Some(Filter::Meta {
            key: field.to_string(),
            value: value.to_string(),
        }));
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
        name => {
            let (field, field_name) = match name {
                "updated" => (DateField::Updated, "updated"),
                _ => (DateField::Established, "established"),
            };
            let (cmp, v) = comparison(value);
            let span = dates::parse(v, today).map_err(|_| QueryError::BadFilter {
                field: field_name,
                value: value.to_string(),
                why: dates::FORMS.to_string(),
            })?;
            Filter::Date {
                field,
                range: DateRange::compare(cmp, span),
                written: format!("{field_name}:{value}"),
            }
        }
    };
    Ok(Some(filter))
}
