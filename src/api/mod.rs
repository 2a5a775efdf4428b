//! The library's API types: what every face (command line `--json`, HTTP, MCP) sends to
//! the [`Engine`](crate::engine::Engine) and gets back.
//!
//! They are defined once, here, so the three faces can never drift apart: the CLI prints
//! these as JSON, the HTTP server returns them as bodies, the MCP server returns them as
//! structured tool results. Requests derive `JsonSchema`, which is where the MCP tools'
//! input schemas come from; their doc comments are what a model reads about each field.
//! Settings that only the command line offers (ranking experiments) are skipped in the
//! schemas and cannot be set over the wire.
//!
//! The checks of parameter values live here too (`checks`: [`parse_limit`],
//! [`parse_offset`], [`parse_fields`]..., and [`parse_mode`]), so a bad value gets the
//! same message from every face. The memory loop's types (briefing, remember, reinforce)
//! are in `memory`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod checks;
mod memory;

pub use checks::*;
pub use memory::*;

use crate::fuse::Fusion;
use crate::note::Link;
pub use crate::query::{parse_mode, Mode};
use crate::related::Evidence;

/// A search.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The query, in recall's syntax: words (ranked, `rust async`), "quoted phrases"
    /// (required, in order), `+required`, `-excluded`, `prefix*`, and filters `tag:NAME`,
    /// `path:FOLDER/`, `strength:>0.7`, `updated:>2024-01`, `established:2025`, any
    /// front-matter key (`status:active`)
    /// (`tag:a OR tag:b` for either, `-tag:draft` to exclude). Required words, phrases,
    /// exclusions and filters hold in every mode. Example: `"borrow checker" tag:rust -python`.
    #[cfg_attr(feature = "mcp", schemars(length(min = 1, max = 4096)))]
    pub query: String,
    /// How many notes to return (default 10).
    #[cfg_attr(feature = "mcp", schemars(range(min = 1, max = 100)))]
    pub limit: Option<usize>,
    /// Skip this many notes: the `next_offset` of the previous page.
    #[cfg_attr(feature = "mcp", schemars(range(min = 0, max = 1000)))]
    pub offset: Option<usize>,
    /// `full` (default) or `meta`: results without snippets.
    pub fields: Option<Fields>,
    /// `hybrid` (default: keywords and meaning), `lexical` (exact words only) or
    /// `semantic` (meaning only).
    pub mode: Option<Mode>,
    /// Only notes updated on or after this date: YYYY, YYYY-MM, YYYY-MM-DD, a window
    /// like 7d, 2w, 3m or 1y (since that long ago), today or yesterday.
    pub since: Option<String>,
    /// Only notes updated before this date (the same forms as `since`).
    pub before: Option<String>,
    /// Favour recently updated notes: a half-life such as `30d`, `2w`, `6m` or `1y`.
    pub recent: Option<String>,
    /// Drop results whose probability of relevance is below this (default 0.005, 0 keeps
    /// every candidate).
    #[cfg_attr(feature = "mcp", schemars(range(min = 0.0, max = 1.0)))]
    pub min_score: Option<f32>,
    /// Match words only as written: no typo tolerance.
    #[serde(default)]
    pub exact: bool,
    /// Also report, per result, where it stood in the keyword and semantic rankings and
    /// its evidence, and what each constraint of the query removed.
    #[serde(default)]
    pub explain: bool,
    /// Weight of the strength prior (command line only).
    #[serde(skip)]
    #[cfg_attr(feature = "mcp", schemars(skip))]
    pub strength_weight: Option<f32>,
    /// How hybrid mode merges its lists (command line only).
    #[serde(skip)]
    #[cfg_attr(feature = "mcp", schemars(skip))]
    pub fusion: Option<Fusion>,
}

/// Ranked notes for a query.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub query: String,
    /// The query as it was read, when a word in no note was read as an indexed word one
    /// or two typos away (`levian` → `levain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_query: Option<String>,
    /// Every word read through a typo correction: as typed, as read, and whether the
    /// correction replaced it (it is in no note) or matched beside it (far rarer).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<CorrectionInfo>,
    /// When nothing matched: the query with its unknown words replaced by the closest
    /// indexed words, to try instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
    pub mode: Mode,
    pub took_ms: f64,
    pub results: Vec<SearchHit>,
    /// The `offset` of the next page, when there are more results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
    /// Candidates left out for too little evidence (below `min_score`).
    pub dropped: usize,
    /// With `explain`: each constraint of the query (required and excluded terms,
    /// filters) and how many candidates it removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<ConstraintInfo>,
    /// Things the caller should know (keyword-only index, stale index, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A word read through a typo correction.
#[derive(Debug, Clone, Serialize)]
pub struct CorrectionInfo {
    pub typed: String,
    pub read_as: String,
    /// The typed word is in no note: only the correction matched.
    pub replaced: bool,
}

/// What one constraint of a query did.
#[derive(Debug, Clone, Serialize)]
pub struct ConstraintInfo {
    /// As written: `+tokio`, `"borrow checker"`, `-python`, `tag:rust`, `updated:2025`.
    pub constraint: String,
    /// Candidates the query's words found that this constraint left out.
    pub removed: usize,
}

/// One ranked note.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub rank: usize,
    /// Note id: its path in the vault without `.md`, what `[[links]]` name.
    pub note: String,
    pub title: String,
    /// The file, relative to the vault.
    pub path: String,
    /// Heading path of the best-matching section.
    pub section: String,
    /// First line of that section (1-based).
    pub line: usize,
    pub score: f32,
    /// How established the memory is, 0..1, when the note says.
    pub strength: Option<f32>,
    pub tags: Vec<String>,
    /// The note's size in characters: what reading it whole costs.
    pub chars: usize,
    /// The part of the section that matched, matches marked `**like this**` (not with
    /// `fields: meta`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
    /// The snippet as spans, for faces that mark matches their own way.
    #[serde(skip)]
    pub spans: Vec<crate::snippet::Span>,
}

/// Where a result stood in each ranking before they were merged.
#[derive(Debug, Clone, Serialize)]
pub struct Explain {
    pub lexical: Option<ExplainLexical>,
    pub semantic: Option<ExplainSemantic>,
    /// The merged score before the strength and recency priors (relative to the query).
    pub fused: f32,
    /// Share of the query's keyword weight the note matches (absolute, 0..1).
    pub keyword_share: Option<f32>,
    /// Cosine of the query and the note's best chunk (absolute).
    pub similarity: Option<f32>,
    /// The probability of relevance that evidence gives, before priors: what the
    /// `min_score` floor is compared with.
    pub relevance: f32,
    /// Words this note matched only through a typo correction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub corrected: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ExplainLexical {
    pub rank: usize,
    /// BM25.
    pub score: f32,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ExplainSemantic {
    pub rank: usize,
    /// Cosine similarity of the best chunk.
    pub similarity: f32,
}

/// Notes related to a note, or to a piece of text.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RelatedRequest {
    /// The note id (path in the vault without `.md`, e.g. `topics/python_development`).
    pub note: Option<String>,
    /// Instead of a note: text to find related notes for.
    #[cfg_attr(feature = "mcp", schemars(length(min = 1, max = 16384)))]
    pub text: Option<String>,
    /// How many notes to return (default 10).
    #[cfg_attr(feature = "mcp", schemars(range(min = 1, max = 100)))]
    pub limit: Option<usize>,
    /// Skip this many notes: the `next_offset` of the previous page.
    #[cfg_attr(feature = "mcp", schemars(range(min = 0, max = 1000)))]
    pub offset: Option<usize>,
    /// `full` (default) or `meta`: results without their reasons.
    pub fields: Option<Fields>,
    /// Only notes not already linked to or from the note: discovery of missing links.
    #[serde(default)]
    pub unlinked: bool,
    /// Also report each result's evidence scores.
    #[serde(default)]
    pub explain: bool,
    /// Weight of the strength prior (command line only).
    #[serde(skip)]
    #[cfg_attr(feature = "mcp", schemars(skip))]
    pub strength_weight: Option<f32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelatedResponse {
    /// The note asked about (or `--text "..."`).
    pub note: String,
    pub results: Vec<RelatedHit>,
    /// The `offset` of the next page, when there are more results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelatedHit {
    pub rank: usize,
    pub note: String,
    pub title: String,
    pub score: f32,
    pub strength: Option<f32>,
    /// The note's size in characters.
    pub chars: usize,
    /// Why, in words: `links to it`, `shared tags: a, b`, `similar section: "X" ~ "Y"`...
    /// (not with `fields: meta`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// A note, as indexed, optionally with its markdown.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note id (path in the vault without `.md`, e.g. `topics/python_development`).
    pub note: String,
    /// Only this part of the note: a heading path as `recall` shows it
    /// (`Python Development > Technical Stack`), the last heading alone when it is unique,
    /// or a line range `START-END`.
    pub section: Option<String>,
    /// Only these lines: `START-END` (1-based, inclusive).
    pub lines: Option<String>,
    /// Cut the markdown at this many characters (at a line, with a marker line); the
    /// servers cut at 64 KiB anyway.
    #[cfg_attr(feature = "mcp", schemars(range(min = 1)))]
    pub max_chars: Option<usize>,
    /// Include the markdown (default true over the wire).
    #[serde(skip)]
    #[cfg_attr(feature = "mcp", schemars(skip))]
    pub without_markdown: bool,
    /// Include each section's plain text (the command line's `show --json`).
    #[serde(skip)]
    #[cfg_attr(feature = "mcp", schemars(skip))]
    pub section_text: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteResponse {
    pub note: String,
    pub title: String,
    pub path: String,
    pub tags: Vec<String>,
    pub strength: Option<f32>,
    pub established: Option<chrono::NaiveDate>,
    pub updated: Option<chrono::NaiveDate>,
    pub sections: Vec<SectionInfo>,
    pub links: Vec<Link>,
    /// Notes that link here.
    pub backlinks: Vec<String>,
    pub front_matter: BTreeMap<String, serde_json::Value>,
    pub footer: BTreeMap<String, String>,
    pub warnings: Vec<String>,
    /// The whole note's size in characters.
    pub chars: usize,
    /// The note's markdown (or the asked section's), cut at a size limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// Whether `markdown` was cut; it then ends with a line saying so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// The lines `markdown` holds (1-based, inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionInfo {
    /// Heading path, `A > B > C` ("" before the first heading).
    pub heading: String,
    pub line_start: usize,
    pub line_end: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The most recently updated memories.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RecentRequest {
    /// How many notes (default 10).
    #[cfg_attr(feature = "mcp", schemars(range(min = 1, max = 100)))]
    pub limit: Option<usize>,
    /// Skip this many notes: the `next_offset` of the previous page.
    #[cfg_attr(feature = "mcp", schemars(range(min = 0, max = 10000)))]
    pub offset: Option<usize>,
    /// Only notes with this tag.
    pub tag: Option<String>,
    /// Only notes whose id starts with this (a folder such as `people/`).
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecentResponse {
    pub results: Vec<RecentHit>,
    /// The `offset` of the next page, when there are more notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecentHit {
    pub rank: usize,
    pub note: String,
    pub title: String,
    pub path: String,
    /// Last updated (footer or front matter), else established, else the file's date.
    pub updated: Option<chrono::NaiveDate>,
    pub strength: Option<f32>,
    pub tags: Vec<String>,
    /// The note's size in characters.
    pub chars: usize,
}

/// Whether the index is fresh, and what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct StatusResponse {
    pub vault: std::path::PathBuf,
    pub index: std::path::PathBuf,
    pub notes: usize,
    pub sections: usize,
    /// No note changed since the index was built (or a watcher keeps it current).
    pub fresh: bool,
    /// About how many notes changed since the index was built.
    pub changed: usize,
    /// The freshness check: one `stat` per note file and folder.
    pub check_ms: f64,
    /// What the check before a command-line query costs now: when a `watch`, `serve` or
    /// `mcp` process keeps the index current, only the probe of its marker (the stat
    /// walk is skipped); else `check_ms`.
    pub query_check_ms: f64,
    /// Note files the freshness check looks at.
    pub files: usize,
    pub built_at: String,
    /// The embedding model, or none for a keyword-only index.
    pub model: Option<String>,
    /// How the model was chosen: `--model ...`, or what `auto` measured of the vault.
    pub model_choice: Option<String>,
    pub language: String,
    /// A `watch` or `serve` process keeps this index up to date.
    pub watched: bool,
}

/// Facts about the index.
#[derive(Debug, Clone, Serialize)]
pub struct StatsResponse {
    pub notes: usize,
    pub sections: usize,
    pub tags: usize,
    pub links_resolved: usize,
    pub links_unresolved: usize,
    pub skipped: usize,
    pub index_bytes: u64,
    pub index: std::path::PathBuf,
    pub vault: std::path::PathBuf,
    pub built_at: String,
    pub model: Option<String>,
    /// How the model was chosen: `--model ...`, or what `auto` measured of the vault.
    pub model_choice: Option<String>,
    pub language: String,
    /// The front-matter keys the notes have, each a filter (`status:active`), and in how
    /// many notes, most first.
    pub front_matter: Vec<KeyCount>,
}

/// A front-matter key and how many notes have it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyCount {
    pub key: String,
    pub notes: u64,
}

/// An error as the HTTP API and MCP report it: a stable code and the message the command
/// line prints.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorDetail {
    /// `bad_request`, `not_found`, `unauthorized`, `forbidden`, `conflict`, `too_large`, `timeout`,
    /// `unavailable` or `internal`.
    pub code: String,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
            },
        }
    }
}
