//! Building and updating an index: vault → notes → sections → indexes, published as one
//! generation.
//!
//! A **full build** reads every note and writes every index from scratch (reusing the
//! embeddings of unchanged text from the index it replaces). An **update** re-reads only
//! files whose size or modification time changed (and of those, only the ones whose
//! content hash changed count), then writes a new generation that shares the old one's
//! immutable files by hard links: tantivy segments plus the change, the HNSW graph plus a
//! delta of new vectors and tombstones for replaced ones. Ordinals of surviving notes never
//! move, so nothing unchanged is rewritten. When the delta and tombstones outgrow a share
//! of the index, an update becomes a full build, which compacts them away.
//!
//! Either way the work happens in a staging folder under the writer lock and only a
//! complete result is published (see `store`): a failure or a kill at any point leaves the
//! previous index answering, and the next run starts over cleanly.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::analysis::Analysis;
use crate::embed::{Embedder, ModelPaths};
use crate::error::{Error, Result};
use crate::store::{Generation, IndexDir, Manifest, WriteLock, FORMAT_VERSION};
use crate::vault::{note_files, read_all, LoadedNote, Notes, Skipped, Stamps, Vault, WalkOptions};
use crate::vector::{text_hash, Entry, VectorIndex, VectorStore, Vectors};

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
    /// Update incrementally when possible, and reuse vectors of unchanged text.
    pub reuse: bool,
    /// How the keyword index analyzes text (its stemming language).
    pub analysis: Analysis,
}

impl IndexOptions {
    /// Options for updating `g` as it was built: the same size cap and language, and
    /// embeddings only if it has them.
    pub fn to_update(g: &Generation, model: &ModelPaths) -> IndexOptions {
        IndexOptions {
            max_file_bytes: g.manifest.max_file_bytes,
            model: g.manifest.model.is_some().then(|| model.clone()),
            reuse: true,
            analysis: Analysis::new(&g.manifest.language).unwrap_or_default(),
        }
    }
}

/// What kind of work a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildKind {
    Full,
    Incremental,
    /// Nothing had changed; no new generation.
    UpToDate,
}

impl BuildKind {
    pub fn name(self) -> &'static str {
        match self {
            BuildKind::Full => "full",
            BuildKind::Incremental => "incremental",
            BuildKind::UpToDate => "up-to-date",
        }
    }
}

/// Notes added, changed and deleted by an update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: usize,
    pub changed: usize,
    pub deleted: usize,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct IndexReport {
    pub kind: BuildKind,
    pub vault: PathBuf,
    pub notes: usize,
    pub sections: usize,
    pub links_resolved: usize,
    pub links_unresolved: usize,
    pub skipped: Vec<Skipped>,
    pub changes: Changes,
    pub elapsed_ms: u64,
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

/// Tombstones plus delta vectors beyond this share of all vectors make an update a full
/// build (and beyond `COMPACT_MIN` vectors, so small vaults are not rebuilt every time).
const COMPACT_SHARE: f32 = 0.25;
const COMPACT_MIN: usize = 256;

/// Indexes `vault`: an update when the index already holds this vault with the same
/// settings (and `options.reuse`), else a full build.
pub fn index(
    index: &IndexDir,
    vault: &Path,
    options: &IndexOptions,
    progress: Progress<'_>,
) -> Result<IndexReport> {
    let vault = vault.canonicalize().map_err(|source| Error::Io {
        path: vault.to_path_buf(),
        source,
    })?;
    if !vault.is_dir() {
        return Err(crate::vault::VaultError::NotAFolder(vault).into());
    }
    let lock = index.lock()?;
    let current = index.open().ok();
    match current {
        Some(g) if options.reuse && updatable(&g, &vault, options) => {
            update_locked(index, &lock, &g, options, progress)
        }
        _ => build_locked(index, &lock, &vault, current.as_ref(), options, progress),
    }
}

/// Brings the index up to date with its vault.
pub fn update(index: &IndexDir, options: &IndexOptions, progress: Progress<'_>) -> Result<IndexReport> {
    let vault = index.open()?.manifest.vault;
    self::index(index, &vault, options, progress)
}

/// Whether `g` can be updated in place of a full build.
fn updatable(g: &Generation, vault: &Path, options: &IndexOptions) -> bool {
    let m = &g.manifest;
    m.vault == vault
        && m.max_file_bytes == options.max_file_bytes
        && m.model.is_some() == options.model.is_some()
        && m.language == options.analysis.code()
}

fn walk_options(index: &IndexDir, options: &IndexOptions) -> WalkOptions {
    WalkOptions {
        max_file_bytes: options.max_file_bytes,
        exclude: Some(index.root.clone()),
    }
}

fn link_counts(notes: &Notes) -> (usize, usize) {
    notes
        .iter()
        .flat_map(|(_, n)| &n.note.links)
        .fold((0, 0), |(r, u), l| {
            if l.resolved.is_some() {
                (r + 1, u)
            } else {
                (r, u + 1)
            }
        })
}

fn section_count(notes: &Notes) -> usize {
    notes.iter().map(|(_, n)| n.note.sections.len()).sum()
}

/// Writes the manifest and publishes; fills the report from what was written.
#[allow(clippy::too_many_arguments)]
fn finish(
    staging: crate::store::Staging,
    kind: BuildKind,
    vault: PathBuf,
    notes: &Notes,
    skipped: Vec<Skipped>,
    stamps: &Stamps,
    options: &IndexOptions,
    model: Option<String>,
    changes: Changes,
    embedding: EmbedReport,
    started: Instant,
) -> Result<IndexReport> {
    let (links_resolved, links_unresolved) = link_counts(notes);
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let manifest = Manifest {
        format: FORMAT_VERSION,
        vault: vault.clone(),
        built_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        notes: notes.len(),
        sections: section_count(notes),
        skipped: skipped.clone(),
        max_file_bytes: options.max_file_bytes,
        build_ms: elapsed_ms,
        model,
        language: options.analysis.code().to_string(),
    };
    staging.publish(&manifest, notes, stamps)?;
    Ok(IndexReport {
        kind,
        vault,
        notes: manifest.notes,
        sections: manifest.sections,
        links_resolved,
        links_unresolved,
        skipped,
        changes,
        elapsed_ms,
        embedding,
    })
}

/// Loads the model, or says why there will be no embeddings.
fn load_model(options: &IndexOptions) -> std::result::Result<Embedder, String> {
    match &options.model {
        None => Err("--no-embed".into()),
        Some(paths) => Embedder::load(paths.clone()).map_err(|e| e.to_string()),
    }
}

fn build_locked(
    index: &IndexDir,
    lock: &WriteLock,
    vault: &Path,
    previous: Option<&Generation>,
    options: &IndexOptions,
    progress: Progress<'_>,
) -> Result<IndexReport> {
    let started = Instant::now();
    let staging = index.stage(lock)?;
    let loaded = Vault::load(vault, &walk_options(index, options), &|d, t| {
        progress(Stage::Reading, d, t)
    })?;
    let sections = section_count(&loaded.notes);
    progress(Stage::Indexing, 0, sections);
    crate::lexical::build(&staging.path().join("tantivy"), &loaded.notes, &options.analysis)?;
    progress(Stage::Indexing, sections, sections);
    let mut embedding = EmbedReport::default();
    let mut model = None;
    match load_model(options) {
        Err(why) => embedding.disabled = Some(why),
        Ok(mut embedder) => {
            let cache = match (options.reuse, previous) {
                (true, Some(g)) => Vectors::load(&g.dir).ok().flatten(),
                _ => None,
            };
            let cache = cache.filter(|c| c.fingerprint == embedder.fingerprint() && c.dim == embedder.dim());
            let mut vectors = Vectors::new(embedder.dim(), embedder.fingerprint());
            embedding = embed_into(
                &mut embedder,
                loaded.notes.iter(),
                cache.as_ref(),
                &mut vectors,
                progress,
            )?;
            VectorIndex::build(&vectors, staging.path())?;
            model = Some(embedder.fingerprint().to_string());
        }
    }
    let changes = Changes {
        added: loaded.notes.len(),
        ..Changes::default()
    };
    finish(
        staging,
        BuildKind::Full,
        vault.to_path_buf(),
        &loaded.notes,
        loaded.skipped,
        &loaded.stamps,
        options,
        model,
        changes,
        embedding,
        started,
    )
}

/// Embeds every chunk of `notes` into `out`, taking vectors of already-embedded text from
/// `cache`.
fn embed_into<'a>(
    embedder: &mut Embedder,
    notes: impl Iterator<Item = (u32, &'a LoadedNote)>,
    cache: Option<&Vectors>,
    out: &mut Vectors,
    progress: Progress<'_>,
) -> Result<EmbedReport> {
    let started = Instant::now();
    let cache: HashMap<[u8; 16], &[f32]> = cache.map(Vectors::cache).unwrap_or_default();
    let mut entries = Vec::new();
    let mut todo: Vec<String> = Vec::new();
    let mut todo_hashes: HashSet<[u8; 16]> = HashSet::new();
    for (ord, loaded) in notes {
        let note = &loaded.note;
        // Every section but the tag list: a title-only section embeds the title, which
        // known-item search needs (Dendron semantic nDCG@10 0.519 with it, 0.497 without).
        for (i, section) in note
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| !note.is_tag_list(s))
        {
            for chunk in embedder.chunks(note, i as u32, section) {
                let hash = text_hash(&chunk.text);
                if !cache.contains_key(&hash) && todo_hashes.insert(hash) {
                    todo.push(chunk.text);
                }
                entries.push(Entry {
                    note_ord: ord,
                    section: chunk.section,
                    hash,
                });
            }
        }
    }
    progress(Stage::Embedding, 0, todo.len());
    let embedded =
        embedder.embed_with_progress(&todo, &mut |done| progress(Stage::Embedding, done, todo.len()))?;
    let fresh: HashMap<[u8; 16], Vec<f32>> = todo.iter().map(|t| text_hash(t)).zip(embedded).collect();
    for e in &entries {
        if let Some(v) = fresh
            .get(&e.hash)
            .map(Vec::as_slice)
            .or_else(|| cache.get(&e.hash).copied())
        {
            out.push(*e, v);
        }
    }
    Ok(EmbedReport {
        embedded: todo.len(),
        reused: entries.len() - todo.len(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        disabled: None,
    })
}

/// What changed in the vault since generation `g`.
struct Plan {
    /// The new note set (old ordinals kept, new notes appended, deleted ones emptied).
    notes: Notes,
    /// Ordinals whose documents and vectors must go (changed and deleted notes).
    remove: Vec<u32>,
    /// Ordinals whose documents and vectors must be written (changed and new notes).
    write: Vec<u32>,
    changes: Changes,
    skipped: Vec<Skipped>,
    stamps: Stamps,
}

fn plan(g: &Generation, options: &IndexOptions, index: &IndexDir, progress: Progress<'_>) -> Result<Plan> {
    let vault = &g.manifest.vault;
    let mut notes = g.notes()?;
    let listing = note_files(vault, &walk_options(index, options));
    let by_path: HashMap<PathBuf, u32> = notes.iter().map(|(ord, n)| (n.relative.clone(), ord)).collect();
    let mut seen = HashSet::new();
    let mut to_read = Vec::new();
    for (abs, rel, stamp) in &listing.files {
        match by_path.get(rel) {
            Some(&ord) => {
                seen.insert(ord);
                if notes.get(ord).is_some_and(|n| n.stamp != *stamp) {
                    to_read.push((abs.clone(), rel.clone()));
                }
            }
            None => to_read.push((abs.clone(), rel.clone())),
        }
    }
    // Files skipped last time are read again: they may have been fixed.
    let mut skipped = listing.errors.clone();
    let mut changes = Changes::default();
    let (mut remove, mut write) = (Vec::new(), Vec::new());
    for r in read_all(&to_read, options.max_file_bytes, &|d, t| {
        progress(Stage::Reading, d, t)
    }) {
        match r {
            Ok(loaded) => match by_path.get(&loaded.relative) {
                Some(&ord) if notes.get(ord).is_some_and(|n| n.hash == loaded.hash) => {
                    // Touched, not changed: only the stamp moves.
                    if let Some(n) = notes.get_mut(ord) {
                        n.stamp = loaded.stamp;
                    }
                }
                Some(&ord) => {
                    notes.replace(ord, loaded);
                    remove.push(ord);
                    write.push(ord);
                    changes.changed += 1;
                }
                None => {
                    write.push(notes.push(loaded));
                    changes.added += 1;
                }
            },
            Err(skip) => {
                if let Some(&ord) = by_path.get(&skip.path) {
                    seen.remove(&ord);
                }
                skipped.push(skip);
            }
        }
    }
    let gone: Vec<u32> = notes
        .iter()
        .map(|(ord, _)| ord)
        .filter(|ord| !seen.contains(ord) && !write.contains(ord))
        .collect();
    for ord in gone {
        notes.remove(ord);
        remove.push(ord);
        changes.deleted += 1;
    }
    if changes != Changes::default() {
        notes.resolve_links();
    }
    Ok(Plan {
        notes,
        remove,
        write,
        changes,
        skipped,
        stamps: Stamps::of(&listing),
    })
}

fn update_locked(
    index: &IndexDir,
    lock: &WriteLock,
    g: &Generation,
    options: &IndexOptions,
    progress: Progress<'_>,
) -> Result<IndexReport> {
    let started = Instant::now();
    let plan = plan(g, options, index, progress)?;
    let vault = g.manifest.vault.clone();
    if plan.changes == Changes::default() {
        // Nothing to re-index; remember the new stamps so the next check is quiet.
        g.save_stamps(&plan.stamps)?;
        let (links_resolved, links_unresolved) = link_counts(&plan.notes);
        return Ok(IndexReport {
            kind: BuildKind::UpToDate,
            vault,
            notes: plan.notes.len(),
            sections: section_count(&plan.notes),
            links_resolved,
            links_unresolved,
            skipped: plan.skipped,
            changes: plan.changes,
            elapsed_ms: started.elapsed().as_millis() as u64,
            embedding: EmbedReport {
                disabled: g.manifest.model.is_none().then(|| "--no-embed".into()),
                ..EmbedReport::default()
            },
        });
    }
    let mut embedder = None;
    let old_vectors = match g.manifest.model {
        None => None,
        Some(_) => {
            let e = load_model(options)
                .map_err(|why| Error::Usage(format!("cannot update embeddings: {why}")))?;
            let vectors = VectorStore::open(&g.dir)?;
            if Some(e.fingerprint()) != g.manifest.model.as_deref() {
                // Another model: every vector must be redone.
                return build_locked(index, lock, &vault, Some(g), options, progress);
            }
            embedder = Some(e);
            vectors
        }
    };
    let staging = index.stage(lock)?;
    let writes: Vec<(u32, &LoadedNote)> = plan
        .write
        .iter()
        .filter_map(|&o| plan.notes.get(o).map(|n| (o, n)))
        .collect();
    progress(Stage::Indexing, 0, writes.len());
    crate::lexical::update(
        &g.tantivy_dir(),
        &staging.path().join("tantivy"),
        &plan.remove,
        &writes,
        &options.analysis,
    )?;
    progress(Stage::Indexing, writes.len(), writes.len());
    let mut embedding = EmbedReport {
        disabled: g.manifest.model.is_none().then(|| "--no-embed".into()),
        ..EmbedReport::default()
    };
    if let (Some(embedder), Some(old)) = (embedder.as_mut(), old_vectors.as_ref()) {
        let removed: HashSet<u32> = plan.remove.iter().copied().collect();
        let mut dead = old.dead().clone();
        dead.extend(
            old.vectors
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| removed.contains(&e.note_ord))
                .map(|(i, _)| i),
        );
        let mut delta = old.delta();
        embedding = embed_into(
            embedder,
            writes.iter().copied(),
            Some(&old.vectors),
            &mut delta,
            progress,
        )?;
        let total = old.vectors.len() + embedding.embedded + embedding.reused;
        let churn = dead.len() + delta.len();
        if churn > COMPACT_MIN && churn as f32 > COMPACT_SHARE * total as f32 {
            drop(staging);
            return build_locked(index, lock, &vault, Some(g), options, progress);
        }
        VectorIndex::write_update(&g.dir, staging.path(), &delta, &dead)?;
    }
    finish(
        staging,
        BuildKind::Incremental,
        vault,
        &plan.notes,
        plan.skipped,
        &plan.stamps,
        options,
        g.manifest.model.clone(),
        plan.changes,
        embedding,
        started,
    )
}
