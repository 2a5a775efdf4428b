//! Building an index: vault → notes → sections → indexes, published as one generation.
//!
//! The build happens entirely in a staging folder under the writer lock; only a complete
//! build is published (see `store`), so a failure at any step leaves the previous index
//! untouched.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::store::{IndexDir, Manifest, FORMAT_VERSION};
use crate::vault::{Skipped, Vault, WalkOptions};

/// A stage of a build, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading,
    Indexing,
}

/// Receives progress: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(Stage, usize, usize) + Sync);

#[derive(Debug, Clone)]
pub struct IndexOptions {
    pub max_file_bytes: u64,
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
}

/// Builds the index of `vault` in `index` and publishes it.
pub fn build(index: &IndexDir, vault: &Path, options: &IndexOptions, progress: Progress<'_>) -> Result<IndexReport> {
    let started = Instant::now();
    let vault = vault
        .canonicalize()
        .map_err(|source| Error::Io { path: vault.to_path_buf(), source })?;
    let lock = index.lock()?;
    let staging = index.stage(&lock)?;
    let walk = WalkOptions { max_file_bytes: options.max_file_bytes, exclude: Some(index.root.clone()) };
    let loaded = Vault::load(&vault, &walk, &|done, total| progress(Stage::Reading, done, total))?;
    let sections: usize = loaded.notes.iter().map(|n| n.note.sections.len()).sum();
    progress(Stage::Indexing, 0, sections);
    crate::lexical::build(&staging.path().join("tantivy"), &loaded.notes)?;
    progress(Stage::Indexing, sections, sections);
    let (resolved, unresolved) = loaded
        .notes
        .iter()
        .flat_map(|n| &n.note.links)
        .fold((0, 0), |(r, u), l| if l.resolved.is_some() { (r + 1, u) } else { (r, u + 1) });
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
    })
}
