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

use crate::embed::{Embedder, QueryModel};
use crate::error::{Error, Result};
use crate::lexical::LexicalIndex;
use crate::lexical::NoteIndex;
use crate::note::strip_md_suffix;
use crate::query::Mode;
use crate::store::{Generation, IdTable, IndexDir, PriorTable};
use crate::vault::LoadedNote;
use crate::vector::VectorIndex;

/// One generation, open for reading.
pub struct Snapshot {
    pub generation: Generation,
    lexical: LexicalIndex,
    model: Arc<QueryModel>,
    priors: OnceLock<PriorTable>,
    ids: OnceLock<IdTable>,
    vectors: OnceLock<Option<VectorIndex>>,
    /// Each note's centroid (the normalized sum of its vectors), by ordinal; made on first
    /// use by "related", which compares a note with every other.
    centroids: OnceLock<Vec<Option<Vec<f32>>>>,
}

impl Snapshot {
    /// Opens the generation `dir` currently names.
    pub fn open(dir: &IndexDir, model: Arc<QueryModel>) -> Result<Snapshot> {
        let generation = dir.open()?;
        let analysis = generation.analysis()?;
        let lexical = LexicalIndex::open(&generation.tantivy_dir(), &analysis)?;
        Ok(Snapshot {
            generation,
            lexical,
            model,
            priors: OnceLock::new(),
            ids: OnceLock::new(),
            vectors: OnceLock::new(),
            centroids: OnceLock::new(),
        })
    }

    /// The note store (and whole-note index).
    pub fn notes(&self) -> &NoteIndex {
        self.lexical.notes()
    }

    /// The text of an indexed note's file, read now: the index keeps no note text. The one
    /// note reader of `read_note` and `related` (bounded: the index never holds a note
    /// over the size limit; bytes that are not UTF-8 are replaced).
    pub fn note_text(&self, note: &LoadedNote) -> Result<String> {
        let path = self.generation.manifest.vault.join(&note.relative);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io { path, source })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Whether the file of a note (`relative` to the vault) is still there. The one check
    /// that keeps a stale index (refresh skipped or refused) from offering a deleted note,
    /// used by every result list.
    pub fn still_there(&self, relative: impl AsRef<std::path::Path>) -> bool {
        self.generation.manifest.vault.join(relative).is_file()
    }

    /// Finds a note by id (exact, then ignoring case, then `.md` stripped), or an
    /// unknown-note error that suggests close ids.
    pub fn find(&self, wanted: &str) -> Result<(u32, LoadedNote)> {
        let w = strip_md_suffix(wanted).unwrap_or(wanted);
        if let Some(ord) = self.notes().find(w)? {
            if let Some(record) = self.notes().record(ord)? {
                return Ok((ord, record));
            }
        }
        Err(Error::UnknownNote {
            wanted: wanted.to_string(),
            suggestions: crate::vault::suggestions(w, self.ids()?.iter()),
        })
    }

    /// Every note's id, by ordinal.
    pub fn ids(&self) -> Result<&IdTable> {
        if let Some(t) = self.ids.get() {
            return Ok(t);
        }
        let loaded = self.generation.ids()?;
        Ok(self.ids.get_or_init(|| loaded))
    }

    /// The id of note `ord` (empty if there is none: a caller holds only live ordinals).
    pub fn id(&self, ord: u32) -> Result<String> {
        Ok(self.ids()?.get(ord).unwrap_or_default().to_string())
    }

    /// Strength and date of every note, by ordinal.
    pub fn priors(&self) -> Result<&PriorTable> {
        if let Some(p) = self.priors.get() {
            return Ok(p);
        }
        let loaded = self.generation.priors()?;
        Ok(self.priors.get_or_init(|| loaded))
    }

    /// The centroid of every note with vectors, by ordinal (empty without vectors).
    pub fn centroids(&self) -> Result<&[Option<Vec<f32>>]> {
        if let Some(c) = self.centroids.get() {
            return Ok(c);
        }
        let mut out: Vec<Option<Vec<f32>>> = Vec::new();
        if let Some(vectors) = self.vectors()? {
            let mut sums: Vec<Option<Vec<f32>>> = vec![None; self.generation.manifest.next_ord as usize];
            for id in (0..vectors.len()).filter(|&i| vectors.is_live(i)) {
                let ord = vectors.entry(id).note_ord as usize;
                if ord >= sums.len() {
                    sums.resize(ord + 1, None);
                }
                let sum = sums[ord].get_or_insert_with(|| vec![0.0; vectors.dim()]);
                for (a, b) in sum.iter_mut().zip(vectors.vector(id)) {
                    *a += b;
                }
            }
            for c in sums.iter_mut().flatten() {
                crate::embed::normalize(c);
            }
            out = sums;
        }
        Ok(self.centroids.get_or_init(|| out))
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
        self.priors()?;
        self.vectors()?;
        self.notes().ords()?;
        Ok(())
    }

    /// Whether `mode` can run on this index: a hybrid search on an index built without
    /// embeddings falls back to keywords, with the reason; a semantic one is an error.
    pub fn effective_mode(&self, mode: Mode) -> Result<(Mode, Option<String>)> {
        if mode == Mode::Lexical || self.generation.manifest.model.is_some() {
            return Ok((mode, None));
        }
        let why = if self.generation.manifest.embedding_pending {
            let root = self.generation.dir.parent().unwrap_or(&self.generation.dir);
            match IndexDir::new(root).progress() {
                Some(p) if crate::store::alive(p.pid) => format!(
                    "embeddings are being built ({} of {} chunks, {}%)",
                    p.done,
                    p.total,
                    p.done * 100 / p.total.max(1)
                ),
                _ => "embedding was interrupted; run `recall index` to finish it".to_string(),
            }
        } else {
            "this index has no embeddings (built with --no-embed or without the model); rebuild with `recall index` after `make setup`".to_string()
        };
        match mode {
            Mode::Semantic => Err(Error::Usage(format!("semantic search: {why}"))),
            _ => Ok((Mode::Lexical, Some(format!("keyword search only: {why}")))),
        }
    }

    /// Runs `f` with the embedding model, checking that it is the model the index was
    /// built with.
    pub fn with_embedder<T>(&self, f: impl FnOnce(&mut Embedder) -> Result<T>) -> Result<T> {
        self.model.with(|embedder| {
            if let Some(why) = self.generation.manifest.model_mismatch(embedder.fingerprint()) {
                return Err(Error::Model(why));
            }
            f(embedder)
        })
    }

    /// A unit vector for `text`.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        self.with_embedder(|e| Ok(e.embed_query(text)?))
    }

    /// The shared model.
    pub fn model(&self) -> &Arc<QueryModel> {
        &self.model
    }
}
