//! The one check of each parameter that more than one request takes (limits, offsets,
//! fields, scores, strengths), so a bad value gets the same message from every face.

use serde::{Deserialize, Serialize};

/// Results a call returns unless it asks for another number.
pub const DEFAULT_LIMIT: usize = 10;
/// Most results one call may ask for, on every face.
pub const MAX_LIMIT: usize = 100;

/// The one check of a `limit` (`-n`): a whole number from 1 to [`MAX_LIMIT`].
pub fn parse_limit(s: &str) -> Result<usize, String> {
    parse_whole(s, check_limit, limit_message)
}

/// A `limit` that arrived as a number.
pub fn check_limit(n: usize) -> Result<usize, String> {
    match n {
        1..=MAX_LIMIT => Ok(n),
        _ => Err(limit_message(&n.to_string())),
    }
}

/// A whole number given as text, then `check`ed; text that is no whole number gets the
/// same `message` as a number out of range.
fn parse_whole(
    s: &str,
    check: fn(usize) -> Result<usize, String>,
    message: fn(&str) -> String,
) -> Result<usize, String> {
    s.trim().parse::<usize>().map_err(|_| message(s)).and_then(check)
}

fn limit_message(s: &str) -> String {
    format!("bad limit `{s}`: give a whole number from 1 to {MAX_LIMIT}")
}

/// Deepest a result list may be paged (`offset`), on every face.
pub const MAX_OFFSET: usize = 1_000;

/// What each result carries: everything (`full`, the default) or its metadata alone
/// (`meta`: no snippet, no reasons), for a caller on a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Fields {
    #[default]
    Full,
    Meta,
}

/// The one check of a `fields` value.
pub fn parse_fields(s: &str) -> Result<Fields, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "full" => Ok(Fields::Full),
        "meta" => Ok(Fields::Meta),
        _ => Err(format!("bad fields `{s}`: give full or meta")),
    }
}

/// The one check of a `max_chars`: a whole number from 1.
pub fn check_max_chars(n: usize) -> Result<usize, String> {
    match n {
        0 => Err("bad max_chars `0`: give a number of characters from 1".into()),
        n => Ok(n),
    }
}

/// The one check of an `offset`: how many results to skip, from 0 to [`MAX_OFFSET`].
pub fn parse_offset(s: &str) -> Result<usize, String> {
    parse_whole(s, check_offset, offset_message)
}

/// An `offset` that arrived as a number.
pub fn check_offset(n: usize) -> Result<usize, String> {
    match n <= MAX_OFFSET {
        true => Ok(n),
        false => Err(offset_message(&n.to_string())),
    }
}

fn offset_message(s: &str) -> String {
    format!("bad offset `{s}`: give a whole number from 0 to {MAX_OFFSET} (the `next_offset` of the previous page)")
}

/// The one check of a `min_score`: a probability.
pub fn check_min_score(v: f32) -> Result<f32, String> {
    match (0.0..=1.0).contains(&v) {
        true => Ok(v),
        false => Err(format!("bad min_score `{v}`: give a number from 0 to 1")),
    }
}

/// The one check of a `strength`: 0..1.
pub fn check_strength(v: f32) -> Result<f32, String> {
    match (0.0..=1.0).contains(&v) {
        true => Ok(v),
        false => Err(format!("bad strength `{v}`: give a number from 0 to 1")),
    }
}

/// Fewest and most tokens a briefing may take.
pub const MIN_BUDGET: usize = 100;
pub const MAX_BUDGET: usize = 100_000;

/// The one check of a briefing's `budget`: a number of tokens from [`MIN_BUDGET`] to
/// [`MAX_BUDGET`].
pub fn parse_budget(s: &str) -> Result<usize, String> {
    parse_whole(s, check_budget, budget_message)
}

/// A `budget` that arrived as a number.
pub fn check_budget(n: usize) -> Result<usize, String> {
    match (MIN_BUDGET..=MAX_BUDGET).contains(&n) {
        true => Ok(n),
        false => Err(budget_message(&n.to_string())),
    }
}

fn budget_message(s: &str) -> String {
    format!("bad budget `{s}`: give a number of tokens from {MIN_BUDGET} to {MAX_BUDGET}")
}
