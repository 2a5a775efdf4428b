//! An open generation of the index: what a query reads, opened lazily and never changed.
//!
//! A [`Snapshot`] is one published generation (see `store`) with its readers. It only loads
//! what a query needs: a keyword search touches the tantivy index and the small priors
//! table, so a cold `recall search --mode lexical` process stays as quick as a grep; the
//! vector graph is loaded on the first semantic query. Snapshots are immutable and shared
//! (`Arc`) by every request that started on them: a long-running server swaps in the next
//! generation's snapshot when one is published, and requests still running on the old
//! one finish there, so none ever sees a half-built index.
//!
//! The embedding model is not part of a snapshot: it is loaded once per process and
//! shared by all of them ([`QueryModel`]).

use std::sync::{Arc, OnceLock};

use crate::analysis::Analysis;
use crate::api::Mode;
use crate::embed::{Embedder, QueryModel};
use crate::error::{Error, Result};
use crate::lexical::LexicalIndex;
use crate::rank::Prior;
use crate::store::{Generation, IndexDir};
use crate::vault::Notes;
use crate::vector::VectorIndex;

/// One generation, open for reading.
pub struct Snapshot {
    pub generation: Generation,
    lexical: LexicalIndex,
    model: Arc<QueryModel>,
    notes: OnceLock<Notes>,
    priors: OnceLock<Vec<Prior>>,
    vectors: OnceLock<Option<VectorIndex>>,
}

impl Snapshot {
    /// Opens the generation `dir` currently names.
    pub fn open(dir: &IndexDir, model: Arc<QueryModel>) -> Result<Snapshot> {
        let generation = dir.open()?;
        let analysis = Analysis::new(&generation.manifest.language).map_err(Error::Usage)?;
        let lexical = LexicalIndex::open(&generation.tantivy_dir(), &analysis)?;
        Ok(Snapshot {
            generation,
            lexical,
            model,
            notes: OnceLock::new(),
            priors: OnceLock::new(),
            vectors: OnceLock::new(),
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

    /// Strength and date of every note, by ordinal.
    pub fn priors(&self) -> Result<&[Prior]> {
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

    /// Loads everything a query may need now, so that the first query after a swap does
    /// not pay for it (servers call this before publishing a snapshot to requests).
    pub fn warm(&self) -> Result<()> {
        self.notes()?;
        self.priors()?;
        self.vectors()?;
        Ok(())
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

    /// Runs `f` with the embedding model, checking that it is the model the index was
    /// built with.
    pub fn with_embedder<T>(&self, f: impl FnOnce(&mut Embedder) -> Result<T>) -> Result<T> {
        self.model.with(|embedder| {
            if let Some(model) = &self.generation.manifest.model {
                if model != embedder.fingerprint() {
                    return Err(Error::Usage(format!(
                        "the index was built with model {model} but {} is loaded; rebuild with `recall index --rebuild`",
                        embedder.fingerprint()
                    )));
                }
            }
            f(embedder)
        })
    }

    /// A unit vector for `text`.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        self.with_embedder(|e| Ok(e.embed(&[text.to_string()])?.pop().unwrap_or_default()))
    }

    /// The shared model.
    pub fn model(&self) -> &Arc<QueryModel> {
        &self.model
    }
}
