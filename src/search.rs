//! Answering a query: retrieve, roll up, fuse, apply priors, render.
//!
//! [`Engine`] opens one published generation and runs the ranking pipeline over it. It
//! only loads what a query needs: a keyword search touches nothing but the tantivy index,
//! so a cold `recall search` process stays as quick as a grep.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde::Serialize;

use crate::error::Result;
use crate::lexical::{analyze, LexicalIndex};
use crate::query::{Clause, Query};
use crate::rank::{self, NoteScore, Prior};
use crate::snippet::{self, Span};
use crate::store::{Generation, IndexDir};
use crate::vault::LoadedNote;

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Lexical,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Lexical => "lexical",
        }
    }
}

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub mode: Mode,
    pub limit: usize,
    pub strength_weight: f32,
    /// (today, half-life in days) for the recency boost.
    pub recency: Option<(chrono::NaiveDate, f32)>,
    /// Compute snippets and stored fields for the results (off for evaluation).
    pub render: bool,
}

/// A ranked note, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub rank: usize,
    pub note: String,
    pub title: String,
    /// The file, relative to the vault.
    pub path: String,
    /// Heading path of the best section.
    pub section: String,
    pub line: usize,
    pub score: f32,
    pub strength: Option<f32>,
    pub tags: Vec<String>,
    #[serde(serialize_with = "serialize_snippet")]
    pub snippet: Vec<Span>,
}

fn serialize_snippet<S: serde::Serializer>(spans: &[Span], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&snippet::marked(spans))
}

/// An open index.
pub struct Engine {
    pub generation: Generation,
    lexical: LexicalIndex,
    notes: OnceLock<Vec<LoadedNote>>,
}

impl Engine {
    pub fn open(dir: &IndexDir) -> Result<Engine> {
        let generation = dir.open()?;
        let lexical = LexicalIndex::open(&generation.tantivy_dir())?;
        Ok(Engine { generation, lexical, notes: OnceLock::new() })
    }

    /// The indexed notes, loaded on first use.
    pub fn notes(&self) -> Result<&[LoadedNote]> {
        if let Some(n) = self.notes.get() {
            return Ok(n);
        }
        let loaded = self.generation.notes()?;
        Ok(self.notes.get_or_init(|| loaded))
    }

    pub fn lexical(&self) -> &LexicalIndex {
        &self.lexical
    }

    /// How many sections to retrieve for `limit` notes: enough that rolling up to notes
    /// and re-ranking by priors still fills the list.
    fn depth(limit: usize) -> usize {
        (limit * 10).max(100)
    }

    /// Ranks notes for `query`.
    pub fn search(&self, query: &Query, options: &SearchOptions) -> Result<Vec<Hit>> {
        let ranked = self.rank(query, options)?;
        if !options.render {
            let notes = self.notes()?;
            return Ok(ranked
                .iter()
                .enumerate()
                .map(|(i, n)| Hit {
                    rank: i + 1,
                    note: notes.get(n.note_ord as usize).map(|n| n.note.id.0.clone()).unwrap_or_default(),
                    title: String::new(),
                    path: String::new(),
                    section: String::new(),
                    line: 0,
                    score: n.score,
                    strength: None,
                    tags: Vec::new(),
                    snippet: Vec::new(),
                })
                .collect());
        }
        let terms = highlight_terms(query);
        let mut hits = Vec::with_capacity(ranked.len());
        for (i, n) in ranked.iter().enumerate() {
            let section = n.sections.first().map(|s| s.0).unwrap_or(0);
            let Some(stored) = self.lexical.section(n.note_ord, section)? else { continue };
            hits.push(Hit {
                rank: i + 1,
                note: stored.note,
                title: stored.title,
                path: stored.file,
                section: stored.heading,
                line: stored.line,
                score: n.score,
                strength: stored.strength,
                tags: stored.tags,
                snippet: snippet::snippet(&stored.body, &terms, snippet::SNIPPET_CHARS),
            });
        }
        Ok(hits)
    }

    /// The ranking pipeline: retrieve → roll up → priors → cut.
    fn rank(&self, query: &Query, options: &SearchOptions) -> Result<Vec<NoteScore>> {
        let hits = self.lexical.search(query, Self::depth(options.limit))?;
        let strengths: HashMap<u32, Option<f32>> = hits.iter().map(|h| (h.note_ord, h.strength)).collect();
        let base = |score: f32| if query.is_filter_only() { 1.0 } else { score };
        let mut notes = rank::rollup(hits.iter().map(|h| (h.note_ord, h.section, base(h.score))));
        rank::apply_priors(
            &mut notes,
            |ord| Prior { strength: strengths.get(&ord).copied().flatten(), updated: None },
            options.strength_weight,
            options.recency,
        );
        notes.truncate(options.limit);
        Ok(notes)
    }
}

/// The analyzed terms of a query's positive clauses, for highlighting.
fn highlight_terms(query: &Query) -> HashSet<String> {
    query
        .should
        .iter()
        .chain(&query.must)
        .flat_map(|c| match c {
            Clause::Word(w) | Clause::Phrase(w) | Clause::Prefix(w) => analyze(w),
        })
        .collect()
}
