//! Answering a query: retrieve, roll up, fuse, apply priors, render.
//!
//! [`Engine`] opens one published generation and runs the ranking pipeline over it. It
//! only loads what a query needs: a keyword search touches the tantivy index and the small
//! priors table, so a cold `recall search --mode lexical` process stays as quick as a grep;
//! the model and the vector graph are loaded on the first semantic query.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

use crate::embed::{EmbedError, Embedder, ModelPaths};
use crate::error::{Error, Result};
use crate::fuse::{fuse, Fusion};
use crate::lexical::{analyze, LexicalIndex};
use crate::query::{Clause, Query};
use crate::rank::{self, NoteScore, Prior, Signals};
use crate::snippet::{self, Span};
use crate::store::{Generation, IndexDir};
use crate::vault::Notes;
use crate::vector::{Entry, VectorIndex};

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// BM25 and semantic similarity, merged (the default).
    Hybrid,
    /// BM25 only.
    Lexical,
    /// Embedding similarity only.
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

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub mode: Mode,
    pub fusion: Fusion,
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
    #[serde(skip)]
    pub signals: Signals,
}

fn serialize_snippet<S: serde::Serializer>(spans: &[Span], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&snippet::marked(spans))
}

/// An open index.
pub struct Engine {
    pub generation: Generation,
    lexical: LexicalIndex,
    model_paths: ModelPaths,
    notes: OnceLock<Notes>,
    priors: OnceLock<Vec<Prior>>,
    vectors: OnceLock<Option<VectorIndex>>,
    embedder: Mutex<Option<Embedder>>,
}

impl Engine {
    pub fn open(dir: &IndexDir, model_paths: ModelPaths) -> Result<Engine> {
        let generation = dir.open()?;
        let lexical = LexicalIndex::open(&generation.tantivy_dir())?;
        Ok(Engine {
            generation,
            lexical,
            model_paths,
            notes: OnceLock::new(),
            priors: OnceLock::new(),
            vectors: OnceLock::new(),
            embedder: Mutex::new(None),
        })
    }

    /// The indexed notes, loaded on first use.
    pub fn notes(&self) -> Result<&Notes> {
        if let Some(n) = self.notes.get() {
            return Ok(n);
        }
        let loaded = self.generation.notes()?;
        Ok(self.notes.get_or_init(|| loaded))
    }

    fn priors(&self) -> Result<&[Prior]> {
        if let Some(p) = self.priors.get() {
            return Ok(p);
        }
        let loaded = self.generation.priors()?;
        Ok(self.priors.get_or_init(|| loaded))
    }

    pub fn lexical(&self) -> &LexicalIndex {
        &self.lexical
    }

    /// The vector index, loaded on first use; `None` for a keyword-only index.
    pub fn vectors(&self) -> Result<Option<&VectorIndex>> {
        if let Some(v) = self.vectors.get() {
            return Ok(v.as_ref());
        }
        let loaded = VectorIndex::open(&self.generation.dir)?;
        Ok(self.vectors.get_or_init(|| loaded).as_ref())
    }

    /// Whether `mode` can run on this index: a hybrid search on an index built without
    /// embeddings falls back to keywords, with the reason; a semantic one is an error.
    pub fn effective_mode(&self, mode: Mode) -> Result<(Mode, Option<String>)> {
        if mode == Mode::Lexical || self.generation.manifest.model.is_some() {
            return Ok((mode, None));
        }
        let why = "this index has no embeddings (built with --no-embed or without the model); rebuild with `recall index` after `make setup`";
        match mode {
            Mode::Semantic => Err(Error::Usage(format!("semantic search: {why}"))),
            _ => Ok((Mode::Lexical, Some(format!("keyword search only: {why}")))),
        }
    }

    /// Runs `f` with the embedding model, loading it on first use and checking that it is
    /// the model the index was built with.
    pub fn with_embedder<T>(&self, f: impl FnOnce(&mut Embedder) -> Result<T>) -> Result<T> {
        let mut guard = self.embedder.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(Embedder::load(self.model_paths.clone())?);
        }
        let embedder = guard
            .as_mut()
            .ok_or_else(|| EmbedError::Inference("model not loaded".into()))?;
        if let Some(model) = &self.generation.manifest.model {
            if model != embedder.fingerprint() {
                return Err(Error::Usage(format!(
                    "the index was built with model {model} but {} is loaded; rebuild with `recall index --rebuild`",
                    embedder.fingerprint()
                )));
            }
        }
        f(embedder)
    }

    /// A unit vector for `text`.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        self.with_embedder(|e| Ok(e.embed(&[text.to_string()])?.pop().unwrap_or_default()))
    }

    /// How many candidates each retriever contributes for `limit` notes: deep enough that
    /// fusion and the priors can promote notes from well below the cut.
    fn depth(limit: usize) -> usize {
        (limit * 10).max(300)
    }

    /// Ranks notes for `query`.
    pub fn search(&self, query: &Query, options: &SearchOptions) -> Result<Vec<Hit>> {
        let ranked = self.rank(query, options)?;
        let terms = highlight_terms(query);
        let mut hits = Vec::with_capacity(ranked.len());
        for n in &ranked {
            let section = n.sections.first().map(|s| s.0).unwrap_or(0);
            let mut hit = Hit {
                rank: hits.len() + 1,
                note: String::new(),
                title: String::new(),
                path: String::new(),
                section: String::new(),
                line: 0,
                score: n.score,
                strength: None,
                tags: Vec::new(),
                snippet: Vec::new(),
                signals: n.signals,
            };
            if options.render {
                let Some(stored) = self.lexical.section(n.note_ord, section)? else {
                    continue;
                };
                // A stale index (refresh skipped or refused) must not show a deleted note.
                if !self.generation.manifest.vault.join(&stored.file).is_file() {
                    continue;
                }
                hit.snippet = snippet::snippet(&stored.body, &terms, snippet::SNIPPET_CHARS);
                hit.note = stored.note;
                hit.title = stored.title;
                hit.path = stored.file;
                hit.section = stored.heading;
                hit.line = stored.line;
                hit.strength = stored.strength;
                hit.tags = stored.tags;
            } else {
                hit.note = self
                    .notes()?
                    .get(n.note_ord)
                    .map(|n| n.note.id.0.clone())
                    .unwrap_or_default();
            }
            hits.push(hit);
        }
        Ok(hits)
    }

    /// The ranking pipeline: retrieve → roll up → fuse → priors → cut.
    fn rank(&self, query: &Query, options: &SearchOptions) -> Result<Vec<NoteScore>> {
        let depth = Self::depth(options.limit);
        let semantic_wanted = options.mode != Mode::Lexical && !query.is_filter_only();
        let lexical = if options.mode != Mode::Semantic || query.is_filter_only() {
            let hits = self.lexical.search(query, depth)?;
            let base = |score: f32| if query.is_filter_only() { 1.0 } else { score };
            let mut notes = rank::rollup(hits.iter().map(|h| (h.note_ord, h.section, base(h.score))));
            if !query.is_filter_only() {
                let ords: Vec<u32> = notes.iter().map(|n| n.note_ord).collect();
                let whole = self.lexical.note_scores(query, &ords)?;
                rank::blend_whole(&mut notes, &whole, rank::WHOLE_NOTE_WEIGHT);
            }
            notes
        } else {
            Vec::new()
        };
        let semantic = if semantic_wanted {
            self.semantic(query, depth)?
        } else {
            Vec::new()
        };
        let mut notes = match options.mode {
            Mode::Hybrid if semantic_wanted => fuse(&lexical, &semantic, options.fusion),
            Mode::Semantic if semantic_wanted => {
                with_signals(semantic, |s, rank, score| s.semantic = Some((rank, score)))
            }
            _ => with_signals(lexical, |s, rank, score| s.lexical = Some((rank, score))),
        };
        let priors = self.priors()?;
        rank::apply_priors(
            &mut notes,
            |ord| priors.get(ord as usize).copied().unwrap_or_default(),
            options.strength_weight,
            options.recency,
        );
        notes.truncate(options.limit);
        Ok(notes)
    }

    /// Notes ranked by their best chunk's similarity to the query text.
    fn semantic(&self, query: &Query, depth: usize) -> Result<Vec<NoteScore>> {
        let Some(vectors) = self.vectors()? else {
            return Err(Error::Usage(
                "this index has no embeddings; rebuild with `recall index`".into(),
            ));
        };
        let q = self.embed_query(&query.text())?;
        let allowed: Option<HashSet<u32>> = if query.filters.is_empty() && query.must_not.is_empty() {
            None
        } else {
            Some(self.lexical.allowed_notes(query)?)
        };
        let allow = |e: &Entry| allowed.as_ref().is_none_or(|a| a.contains(&e.note_ord));
        let filter: Option<&dyn Fn(&Entry) -> bool> = if allowed.is_some() { Some(&allow) } else { None };
        // Several chunks of one note can fill the list; ask for more than `depth` vectors.
        let hits = vectors.search(&q, depth * 2, filter);
        Ok(rank::rollup(hits.into_iter().map(|(id, sim)| {
            let e = vectors.vectors.entries[id];
            (e.note_ord, e.section, sim)
        })))
    }
}

/// Records each note's rank and score in one retriever's list.
fn with_signals(mut notes: Vec<NoteScore>, set: impl Fn(&mut Signals, usize, f32)) -> Vec<NoteScore> {
    for (i, n) in notes.iter_mut().enumerate() {
        set(&mut n.signals, i + 1, n.score);
        n.signals.fused = n.score;
    }
    notes
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
