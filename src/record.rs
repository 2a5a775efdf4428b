//! What the index records about each file and note, shared by the stages that write it
//! (`vault`, `indexer`, `store`) and those that read it (`rank`, `search`, `related`).
//! Near the leaves: it imports nothing of the crate but `language` (which needs only
//! `analysis`), so every stage can depend on it.

use std::path::PathBuf;
use std::time::SystemTime;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::language::Language;

/// A file that was not indexed, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// A note file as found on disk: enough to notice later that it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileStamp {
    pub size: u64,
    /// Modification time, nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: u128,
}

impl FileStamp {
    pub fn of(meta: &std::fs::Metadata) -> FileStamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        FileStamp {
            size: meta.len(),
            mtime_ns,
        }
    }
}

/// Per-note facts the priors need (stored per index so that a query need not load notes).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prior {
    pub strength: Option<f32>,
    pub updated: Option<NaiveDate>,
    /// Not a prior but read as one, for every candidate of a hybrid query: the language
    /// of the note's text (`language`), so that a note in another language than the query
    /// is not held to the query's words.
    pub language: Option<Language>,
}

/// The multilingual model's language gaps in one vault (`gap`): for each question language
/// and note language, how alike the model finds them on average.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Gaps {
    /// (question language, note language, mean cosine), languages as
    /// [`Language::code`]s.
    pub backgrounds: Vec<(u8, u8, f32)>,
    /// For each question language, the mean of its questions' vectors: the one nearest a
    /// query's vector tells the query's language when its text does not
    /// (`gap::query_language`; empty in an index built before they were kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub centroids: Vec<(u8, Vec<f32>)>,
}

impl Gaps {
    fn background(&self, asked: Language, note: Language) -> Option<f32> {
        let (a, n) = (Language::code(Some(asked)), Language::code(Some(note)));
        self.backgrounds
            .iter()
            .find(|(qa, qn, _)| *qa == a && *qn == n)
            .map(|t| t.2)
    }

    /// Whether the vault has notes in `language` that were measured against questions in
    /// it.
    pub fn measured(&self, language: Language) -> bool {
        self.background(language, language).is_some()
    }

    /// What a note in `note` gains for a query in `asked`: the background of the query's
    /// own language less the note's (0 when either is not measured).
    pub fn shift(&self, asked: Language, note: Option<Language>) -> f32 {
        let Some(note) = note.filter(|n| *n != asked) else {
            return 0.0;
        };
        match (self.background(asked, asked), self.background(asked, note)) {
            (Some(own), Some(other)) => own - other,
            _ => 0.0,
        }
    }
}
