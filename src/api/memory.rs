//! The API types of an agent's memory loop: the briefing and the two writes.

use serde::{Deserialize, Serialize};

/// A new memory note to write (the opt-in write path).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RememberRequest {
    /// The memory's title: its `# heading`, and its file name (`memories/<title>.md`).
    #[cfg_attr(feature = "mcp", schemars(length(min = 1, max = 200)))]
    pub title: String,
    /// What to remember, in markdown (sections with `## headings` are fine).
    pub body: String,
    /// Tags, one word each (`python`, `api-design`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Ids of notes this memory relates to (`topics/python_development`), written as
    /// `[[links]]` under `## Related Memories`.
    #[serde(default)]
    pub links: Vec<String>,
    /// How established the memory is, 0..1 (default 0.5).
    #[cfg_attr(feature = "mcp", schemars(range(min = 0.0, max = 1.0)))]
    pub strength: Option<f32>,
    /// The folder inside the vault (default `memories`, or the server's `--write-folder`).
    pub folder: Option<String>,
    /// Write even when near-duplicates exist (they are returned instead, unwritten, without it).
    #[serde(default)]
    pub force: bool,
    /// Only check: report near-duplicates and the closest notes, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What `remember` did.
#[derive(Debug, Clone, Serialize)]
pub struct RememberResponse {
    /// Whether the note was written: false when near-duplicates were found (and listed)
    /// and `force` was not set.
    pub written: bool,
    /// The new note's id (also when not written: the id it would have had).
    pub note: String,
    /// Its file, relative to the vault.
    pub path: String,
    /// Notes that already hold this memory, or nearly (each with `why`).
    pub duplicates: Vec<Similar>,
    /// The notes closest to the memory, duplicates or not: candidates for its links.
    pub closest: Vec<Similar>,
    /// Whether the index already holds the new note (searchable now).
    pub indexed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// An existing note close to a new memory.
#[derive(Debug, Clone, Serialize)]
pub struct Similar {
    pub note: String,
    pub title: String,
    /// The best cosine of the new memory and one of the note's sections (0 without
    /// embeddings).
    pub meaning: f32,
    /// The share of the new memory's word triples the note also holds.
    pub words: f32,
    /// Why it counts as a duplicate: `same title`, `same words` or `similar in meaning`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Strengthen a memory that proved useful: its `Last updated` becomes today.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReinforceRequest {
    /// The note id (path in the vault without `.md`).
    pub note: String,
    /// A new strength, 0..1 (default: unchanged).
    #[cfg_attr(feature = "mcp", schemars(range(min = 0.0, max = 1.0)))]
    pub strength: Option<f32>,
}

/// What `reinforce` changed.
#[derive(Debug, Clone, Serialize)]
pub struct ReinforceResponse {
    pub note: String,
    pub path: String,
    pub updated: chrono::NaiveDate,
    pub previous_updated: Option<chrono::NaiveDate>,
    pub strength: Option<f32>,
    pub previous_strength: Option<f32>,
    /// Whether the index already holds the change.
    pub indexed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The memories to read first: the strongest and freshest, or the most relevant to a topic.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "mcp", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BriefRequest {
    /// What the session is about (a query: words, phrases, filters); without it, the
    /// strongest and most recently updated memories.
    #[cfg_attr(feature = "mcp", schemars(length(max = 4096)))]
    pub topic: Option<String>,
    /// Most tokens the briefing may take (default 1500, from 100 to 100000).
    #[cfg_attr(feature = "mcp", schemars(range(min = 100, max = 100000)))]
    pub budget: Option<usize>,
}

/// A briefing: markdown to paste into a context, and its parts.
#[derive(Debug, Clone, Serialize)]
pub struct BriefResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub budget: usize,
    /// Estimated tokens of `markdown` (see `tokens` on each item), at most `budget`.
    pub tokens: usize,
    pub markdown: String,
    pub items: Vec<BriefItem>,
    /// Memories that qualified but did not fit the budget.
    pub left_out: usize,
}

/// One memory of a briefing.
#[derive(Debug, Clone, Serialize)]
pub struct BriefItem {
    pub note: String,
    pub title: String,
    pub strength: Option<f32>,
    pub updated: Option<chrono::NaiveDate>,
    /// The heading path of the excerpt's section.
    pub section: String,
    pub excerpt: String,
    /// Estimated tokens of this item's markdown: a quarter of its characters for
    /// alphabetic scripts, one per character for Chinese, Japanese and Korean.
    pub tokens: usize,
}
