//! What the index records about each file and note, shared by the stages that write it
//! (`vault`, `indexer`, `store`) and those that read it (`rank`, `search`, `related`).
//! A leaf: it imports nothing of the crate, so every stage can depend on it.

use std::path::PathBuf;
use std::time::SystemTime;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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
    pub language: Option<crate::language::Language>,
}
