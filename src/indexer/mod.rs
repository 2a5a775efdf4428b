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

mod build;
mod embed;
mod plan;
mod update;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::analysis::Analysis;

use crate::embed::{Embedder, ModelPaths, QueryModel};
use crate::error::{Error, Result};
use crate::note::Note;
use crate::record::{Prior, Skipped};
use crate::store::{Files, Generation, IndexDir, Manifest, FORMAT_VERSION};
use crate::vault::{LoadedNote, WalkOptions};
use update::Updated;

/// A stage of a build, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading,
    Indexing,
    /// The keyword index of a first build is published: searches work from now on.
    KeywordsReady,
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
    /// A model already loaded (a server's): updates embed with it instead of loading one.
    pub shared_model: Option<Arc<QueryModel>>,
    /// How the model was chosen, in words, for the manifest (`stats`, `status`).
    pub model_choice: Option<String>,
}

impl IndexOptions {
    /// Options for updating `g` as it was built: the same size cap and language, and
    /// embeddings only if it has them.
    pub fn to_update(g: &Generation, model: &ModelPaths) -> IndexOptions {
        // An index whose embedding was interrupted gets it finished.
        let embed = g.manifest.model.is_some() || g.manifest.embedding_pending;
        IndexOptions {
            max_file_bytes: g.manifest.max_file_bytes,
            model: embed.then(|| model.of_index(g.manifest.model.as_deref())),
            reuse: true,
            analysis: g.analysis().unwrap_or_default(),
            shared_model: None,
            model_choice: g.manifest.model_choice.clone(),
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
    /// What was odd in the notes read by this run (a footer line that does not parse,
    /// bad front matter...): indexed anyway, and said.
    pub warnings: Vec<NoteWarning>,
    pub changes: Changes,
    pub elapsed_ms: u64,
    pub embedding: EmbedReport,
}

/// A warning about one note.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NoteWarning {
    pub note: String,
    pub warning: String,
}

/// The warnings of the notes a run read.
fn warnings_of<'a>(notes: impl Iterator<Item = &'a LoadedNote>) -> Vec<NoteWarning> {
    notes
        .flat_map(|n| {
            n.note.warnings.iter().map(|w| NoteWarning {
                note: n.note.id.to_string(),
                warning: w.clone(),
            })
        })
        .collect()
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
    pub disabled: Option<NoEmbeddings>,
}

/// Why an index has no embeddings (said in reports as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoEmbeddings {
    /// Asked for: `--no-embed`.
    TurnedOff,
    /// An update of an index that was built without them.
    NotInIndex,
    /// A first build's keyword index, published while its vectors are made.
    InProgress,
    /// The model could not be loaded, and why.
    Unavailable(String),
}

impl std::fmt::Display for NoEmbeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoEmbeddings::TurnedOff => f.write_str("--no-embed"),
            NoEmbeddings::NotInIndex => f.write_str("the index was built without embeddings"),
            NoEmbeddings::InProgress => f.write_str("embedding in progress"),
            NoEmbeddings::Unavailable(why) => f.write_str(why),
        }
    }
}

impl serde::Serialize for NoEmbeddings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

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
            match update::update_locked(index, &lock, &g, options, progress)? {
                Updated::Done(report) => Ok(report),
                Updated::Rebuild => build::build_locked(index, &lock, &vault, Some(&g), options, progress),
            }
        }
        _ => build::build_locked(index, &lock, &vault, current.as_ref(), options, progress),
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

/// Counts the manifest keeps, so that nothing has to read every note to report them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counts {
    notes: i64,
    sections: i64,
    resolved: i64,
    unresolved: i64,
}

impl Counts {
    fn of(note: &Note) -> Counts {
        let resolved = note.links.iter().filter(|l| l.resolved.is_some()).count() as i64;
        Counts {
            notes: 1,
            sections: note.sections.len() as i64,
            resolved,
            unresolved: note.links.len() as i64 - resolved,
        }
    }

    fn add(&mut self, other: Counts, sign: i64) {
        self.notes += sign * other.notes;
        self.sections += sign * other.sections;
        self.resolved += sign * other.resolved;
        self.unresolved += sign * other.unresolved;
    }
}

/// The ordinals `note`'s links resolve to, given where each note id lives.
fn link_ords(note: &Note, ord_of: &dyn Fn(&str) -> Option<u32>) -> Vec<u32> {
    let mut out: Vec<u32> = note
        .links
        .iter()
        .filter_map(|l| l.resolved.as_ref())
        .filter(|id| **id != note.id)
        .filter_map(|id| ord_of(id.as_str()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The tables a generation publishes beside its indexes, by note ordinal: the counts
/// the manifest keeps, priors and ids. Builds fill them, updates move them; both through
/// [`Tables::add`] and [`Tables::remove`].
#[derive(Clone, Default)]
struct Tables {
    counts: Counts,
    priors: Vec<Prior>,
    /// Note ids by ordinal (empty where no note is).
    ids: Vec<String>,
}

impl Tables {
    fn with_slots(slots: usize) -> Tables {
        Tables {
            counts: Counts::default(),
            priors: vec![Prior::default(); slots],
            ids: vec![String::new(); slots],
        }
    }

    fn add(&mut self, ord: u32, n: &LoadedNote) {
        self.counts.add(Counts::of(&n.note), 1);
        self.priors[ord as usize] = Prior {
            strength: n.note.meta.strength,
            updated: n.effective_updated(),
            language: n.note.language(),
        };
        self.ids[ord as usize] = n.note.id.to_string();
    }

    /// Note `ord` leaves (`note`: what the index held of it, for the counts).
    fn remove(&mut self, ord: u32, note: Option<&Note>) {
        if let Some(note) = note {
            self.counts.add(Counts::of(note), -1);
        }
        self.priors[ord as usize] = Prior::default();
        self.ids[ord as usize].clear();
    }
}

/// What a run publishes beside the indexes.
#[derive(Clone)]
struct Published {
    kind: BuildKind,
    vault: PathBuf,
    next_ord: u32,
    tables: Tables,
    files: Files,
    skipped: Vec<Skipped>,
    warnings: Vec<NoteWarning>,
    model: Option<String>,
    /// See `gap`.
    gaps: Option<crate::record::Gaps>,
    changes: Changes,
    embedding: EmbedReport,
}

/// Writes the manifest and tables and publishes; fills the report from what was written.
fn finish(
    staging: crate::store::Staging,
    p: Published,
    options: &IndexOptions,
    started: Instant,
) -> Result<IndexReport> {
    let (report, _) = publish(staging, p, false, options, started)?;
    Ok(report)
}

/// [`finish`], telling also where the generation went; `pending` marks a keyword index
/// whose embeddings are still being made.
fn publish(
    staging: crate::store::Staging,
    p: Published,
    pending: bool,
    options: &IndexOptions,
    started: Instant,
) -> Result<(IndexReport, PathBuf)> {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let manifest = Manifest {
        format: FORMAT_VERSION,
        vault: p.vault.clone(),
        built_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        notes: p.tables.counts.notes.max(0) as usize,
        sections: p.tables.counts.sections.max(0) as usize,
        links_resolved: p.tables.counts.resolved.max(0) as usize,
        links_unresolved: p.tables.counts.unresolved.max(0) as usize,
        next_ord: p.next_ord,
        skipped: p.skipped.clone(),
        max_file_bytes: options.max_file_bytes,
        build_ms: elapsed_ms,
        model: p.model,
        language: options.analysis.code().to_string(),
        embedding_pending: pending,
        model_choice: options.model_choice.clone(),
        language_gaps: p.gaps.clone(),
    };
    let dir = staging.publish(&manifest, &p.tables.priors, &p.tables.ids, &p.files)?;
    // The report's time includes publishing (the manifest cannot hold its own writing).
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let mut report = report(&manifest, p.kind, p.skipped, p.changes, elapsed_ms, p.embedding);
    report.warnings = p.warnings;
    Ok((report, dir))
}

fn report(
    m: &Manifest,
    kind: BuildKind,
    skipped: Vec<Skipped>,
    changes: Changes,
    elapsed_ms: u64,
    embedding: EmbedReport,
) -> IndexReport {
    IndexReport {
        kind,
        vault: m.vault.clone(),
        notes: m.notes,
        sections: m.sections,
        links_resolved: m.links_resolved,
        links_unresolved: m.links_unresolved,
        skipped,
        warnings: Vec::new(),
        changes,
        elapsed_ms,
        embedding,
    }
}

/// Whether `e` is the model `g` was built with.
fn check_model(e: &Embedder, g: &Generation) -> Result<()> {
    match g.manifest.model_mismatch(e.fingerprint()) {
        Some(why) => Err(Error::Model(why)),
        None => Ok(()),
    }
}
