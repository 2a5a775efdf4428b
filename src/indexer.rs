//! Building an index: vault → notes → sections → indexes, published as one generation.
//!
//! The build happens entirely in a staging folder under the writer lock; only a complete
//! build is published (see `store`), so a failure at any step leaves the previous index
//! untouched.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::embed::{Embedder, ModelPaths};
use crate::error::{Error, Result};
use crate::store::{IndexDir, Manifest, FORMAT_VERSION};
use crate::vault::{LoadedNote, Skipped, Vault, WalkOptions};
use crate::vector::{text_hash, Entry, VectorIndex, Vectors};

/// A stage of a build, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading,
    Indexing,
    Embedding,
}

/// Receives progress: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(Stage, usize, usize) + Sync);

#[derive(Debug, Clone)]
pub struct IndexOptions {
    pub max_file_bytes: u64,
    /// Where the embedding model is; `None` builds a keyword-only index.
    pub model: Option<ModelPaths>,
    /// Take vectors of unchanged text from the index being replaced.
    pub reuse_embeddings: bool,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct IndexReport {
    pub vault: PathBuf,
    pub notes: usize,
    pub sections: usize,
    pub links_resolved: usize,
    pub links_unresolved: usize,
    pub skipped: Vec<Skipped>,
    pub elapsed_ms: u64,
    pub generation: PathBuf,
    pub embedding: EmbedReport,
}

/// What the embedding stage did.
#[derive(Debug, Clone, Default)]
pub struct EmbedReport {
    /// Chunks embedded now.
    pub embedded: usize,
    /// Chunks whose vector came from the previous index (unchanged text).
    pub reused: usize,
    pub elapsed_ms: u64,
    /// Why there are no embeddings, when there are none.
    pub disabled: Option<String>,
}

/// Builds the index of `vault` in `index` and publishes it.
pub fn build(
    index: &IndexDir,
    vault: &Path,
    options: &IndexOptions,
    progress: Progress<'_>,
) -> Result<IndexReport> {
    let started = Instant::now();
    let vault = vault.canonicalize().map_err(|source| Error::Io {
        path: vault.to_path_buf(),
        source,
    })?;
    let lock = index.lock()?;
    let staging = index.stage(&lock)?;
    let walk = WalkOptions {
        max_file_bytes: options.max_file_bytes,
        exclude: Some(index.root.clone()),
    };
    let loaded = Vault::load(&vault, &walk, &|done, total| {
        progress(Stage::Reading, done, total)
    })?;
    let sections: usize = loaded.notes.iter().map(|n| n.note.sections.len()).sum();
    progress(Stage::Indexing, 0, sections);
    crate::lexical::build(&staging.path().join("tantivy"), &loaded.notes)?;
    progress(Stage::Indexing, sections, sections);
    let mut embedding = EmbedReport::default();
    let mut model = None;
    match &options.model {
        None => embedding.disabled = Some("--no-embed".into()),
        Some(paths) => match Embedder::load(paths.clone()) {
            Err(e) => embedding.disabled = Some(e.to_string()),
            Ok(mut embedder) => {
                let previous = match options.reuse_embeddings {
                    true => index
                        .open()
                        .ok()
                        .and_then(|g| Vectors::load(&g.dir).ok().flatten()),
                    false => None,
                };
                embedding = embed_notes(&mut embedder, &loaded.notes, previous, staging.path(), progress)?;
                model = Some(embedder.fingerprint().to_string());
            }
        },
    }
    let (resolved, unresolved) = loaded
        .notes
        .iter()
        .flat_map(|n| &n.note.links)
        .fold((0, 0), |(r, u), l| {
            if l.resolved.is_some() {
                (r + 1, u)
            } else {
                (r, u + 1)
            }
        });
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let manifest = Manifest {
        format: FORMAT_VERSION,
        vault: vault.clone(),
        built_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        notes: loaded.notes.len(),
        sections,
        skipped: loaded.skipped.clone(),
        max_file_bytes: options.max_file_bytes,
        build_ms: elapsed_ms,
        model,
    };
    let generation = staging.publish(&manifest, &loaded.notes)?;
    Ok(IndexReport {
        vault,
        notes: loaded.notes.len(),
        sections,
        links_resolved: resolved,
        links_unresolved: unresolved,
        skipped: loaded.skipped,
        elapsed_ms,
        generation,
        embedding,
    })
}

/// Embeds every section chunk (reusing vectors of unchanged text from `previous`) and
/// writes the vector index into `dir`.
fn embed_notes(
    embedder: &mut Embedder,
    notes: &[LoadedNote],
    previous: Option<Vectors>,
    dir: &Path,
    progress: Progress<'_>,
) -> Result<EmbedReport> {
    let started = Instant::now();
    let previous = previous.filter(|p| p.fingerprint == embedder.fingerprint() && p.dim == embedder.dim());
    let cache = previous.as_ref().map(Vectors::cache).unwrap_or_default();
    let mut entries = Vec::new();
    let mut todo: Vec<(usize, String)> = Vec::new();
    for (ord, loaded) in notes.iter().enumerate() {
        for (i, section) in loaded
            .note
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| !loaded.note.is_tag_list(s))
        {
            for chunk in embedder.chunks(&loaded.note, i as u32, section) {
                let hash = text_hash(&chunk.text);
                if !cache.contains_key(&hash) {
                    todo.push((entries.len(), chunk.text));
                }
                entries.push(Entry {
                    note_ord: ord as u32,
                    section: chunk.section,
                    hash,
                });
            }
        }
    }
    progress(Stage::Embedding, 0, todo.len());
    let texts: Vec<String> = todo.iter().map(|(_, t)| t.clone()).collect();
    let embedded =
        embedder.embed_with_progress(&texts, &mut |done| progress(Stage::Embedding, done, texts.len()))?;
    let fresh: std::collections::HashMap<[u8; 16], Vec<f32>> = todo
        .iter()
        .zip(embedded)
        .map(|((entry, _), v)| (entries[*entry].hash, v))
        .collect();
    let mut vectors = Vectors::new(embedder.dim(), embedder.fingerprint());
    for e in &entries {
        let v = fresh
            .get(&e.hash)
            .map(Vec::as_slice)
            .or_else(|| cache.get(&e.hash).copied());
        if let Some(v) = v {
            vectors.push(*e, v);
        }
    }
    VectorIndex::build(vectors, dir)?;
    Ok(EmbedReport {
        embedded: todo.len(),
        reused: entries.len() - todo.len(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        disabled: None,
    })
}
