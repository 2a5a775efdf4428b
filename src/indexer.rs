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
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::analysis::Analysis;
use crate::embed::{Embedder, ModelFiles, ModelPaths, QueryModel};
use crate::error::{Error, Result};
use crate::lexical::notes::keys_answered_by;
use crate::lexical::{LexicalIndex, NoteDoc};
use crate::note::Note;
use crate::record::{Prior, Skipped};
use crate::store::{FileRow, Files, Generation, IndexDir, Manifest, WriteLock, FORMAT_VERSION, NO_NOTE};
use crate::vault::{note_files, read_all, LoadedNote, Resolver, Vault, WalkOptions};
use crate::vector::{text_hash, Entry, VectorIndex, VectorStore, VectorTable};

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
}

impl IndexOptions {
    /// Options for updating `g` as it was built: the same size cap and language, and
    /// embeddings only if it has them.
    pub fn to_update(g: &Generation, model: &ModelPaths) -> IndexOptions {
        // An index whose embedding was interrupted gets it finished.
        let embed = g.manifest.model.is_some() || g.manifest.embedding_pending;
        IndexOptions {
            max_file_bytes: g.manifest.max_file_bytes,
            model: embed.then(|| model.clone()),
            reuse: true,
            analysis: Analysis::new(&g.manifest.language).unwrap_or_default(),
            shared_model: None,
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

/// Tombstones plus delta vectors beyond this share of all vectors make an update a full
/// build (and beyond `COMPACT_MIN` vectors, so small vaults are not rebuilt every time).
/// A rewritten note counts twice (its old vectors dead, its new ones in the delta), and a
/// rename rewrites every note that links to it: in the 16-note example vault one rename,
/// one deletion and one edit make a churn larger than all its vectors.
const COMPACT_SHARE: f32 = 0.25;
const COMPACT_MIN: usize = 1024;

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

fn prior_of(n: &LoadedNote) -> Prior {
    Prior {
        strength: n.note.meta.strength,
        updated: n.effective_updated(),
    }
}

/// What a run publishes beside the indexes.
#[derive(Clone)]
struct Published {
    kind: BuildKind,
    vault: PathBuf,
    counts: Counts,
    next_ord: u32,
    priors: Vec<Prior>,
    /// Note ids by ordinal (empty where no note is).
    ids: Vec<String>,
    files: Files,
    skipped: Vec<Skipped>,
    warnings: Vec<NoteWarning>,
    model: Option<String>,
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
        notes: p.counts.notes.max(0) as usize,
        sections: p.counts.sections.max(0) as usize,
        links_resolved: p.counts.resolved.max(0) as usize,
        links_unresolved: p.counts.unresolved.max(0) as usize,
        next_ord: p.next_ord,
        skipped: p.skipped.clone(),
        max_file_bytes: options.max_file_bytes,
        build_ms: elapsed_ms,
        model: p.model,
        language: options.analysis.code().to_string(),
        embedding_pending: pending,
    };
    let dir = staging.publish(&manifest, &p.priors, &p.ids, &p.files)?;
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

/// Loads the model, or says why there will be no embeddings.
fn load_model(options: &IndexOptions) -> std::result::Result<Embedder, NoEmbeddings> {
    read_model(options)?
        .load(crate::cores(), true)
        .map_err(|e| NoEmbeddings::Unavailable(e.to_string()))
}

/// Reads the model's files (no session yet), or says why there will be no embeddings.
fn read_model(options: &IndexOptions) -> std::result::Result<ModelFiles, NoEmbeddings> {
    match &options.model {
        None => Err(NoEmbeddings::TurnedOff),
        Some(paths) => ModelFiles::read(paths.clone()).map_err(|e| NoEmbeddings::Unavailable(e.to_string())),
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
    let notes = &loaded.notes;
    let mut counts = Counts::default();
    let mut priors = vec![Prior::default(); notes.slots()];
    let mut ids = vec![String::new(); notes.slots()];
    for (ord, n) in notes.iter() {
        counts.add(Counts::of(&n.note), 1);
        priors[ord as usize] = prior_of(n);
        ids[ord as usize] = n.note.id.to_string();
    }
    progress(Stage::Indexing, 0, notes.len());
    let ord_of_id: HashMap<&str, u32> = notes.iter().map(|(o, n)| (n.note.id.as_str(), o)).collect();
    let ord_of = |id: &str| ord_of_id.get(id).copied();
    let docs = notes.iter().map(|(ord, n)| NoteDoc {
        ord,
        note: n,
        links: link_ords(&n.note, &ord_of),
    });
    crate::lexical::build(&staging.path().join("tantivy"), docs, &options.analysis)?;
    progress(Stage::Indexing, notes.len(), notes.len());
    let mut published = Published {
        kind: BuildKind::Full,
        vault: vault.to_path_buf(),
        counts,
        next_ord: notes.slots() as u32,
        priors,
        ids,
        files: loaded.files.clone(),
        skipped: loaded.skipped.clone(),
        warnings: warnings_of(notes.iter().map(|(_, n)| n)),
        model: None,
        changes: Changes {
            added: notes.len(),
            ..Changes::default()
        },
        embedding: EmbedReport::default(),
    };
    let mut embedder = match load_model(options) {
        Ok(e) => e,
        Err(why) => {
            published.embedding.disabled = Some(why);
            return finish(staging, published, options, started);
        }
    };
    // Vectors to reuse: the index being replaced, and what a killed build embedded.
    let previous = match (options.reuse, previous) {
        (true, Some(g)) => VectorStore::open(&g.dir).ok().flatten(),
        _ => None,
    };
    let previous =
        previous.filter(|c| c.fingerprint() == embedder.fingerprint() && c.dim() == embedder.dim());
    let row_len = crate::vector::quant::row_len(embedder.dim());
    let journaled = index.journal(embedder.fingerprint(), row_len);
    let mut cached: FxHashMap<[u8; 16], &[u8]> = journaled.iter().map(|(h, r)| (*h, r.as_slice())).collect();
    if let Some(store) = &previous {
        cached.extend(store.cache());
    }
    // A first build (nothing with vectors is being served) publishes its keyword index
    // now: it answers keyword queries, and says how far embedding has got, while the
    // vectors are made. A rebuild keeps serving the old generation until the new is whole.
    let serving_vectors = index.open().is_ok_and(|g| g.manifest.model.is_some());
    let staging = if serving_vectors {
        staging
    } else {
        let keyword = Published {
            embedding: EmbedReport {
                disabled: Some(NoEmbeddings::InProgress),
                ..EmbedReport::default()
            },
            ..published.clone()
        };
        let (_, dir) = publish(staging, keyword, true, options, started)?;
        progress(Stage::KeywordsReady, 0, 0);
        let next = index.stage(lock)?;
        crate::store::link_tree(&dir, next.path())?;
        next
    };
    let mut journal = index.journal_writer(embedder.fingerprint(), row_len)?;
    let mut vectors = VectorTable::new(embedder.dim(), embedder.fingerprint());
    let sink = Sink {
        index,
        journal: &mut journal,
        progress,
    };
    let work = chunk_work(&embedder, notes.iter(), &cached);
    // The notes are chunked: their text is no longer needed, and the model needs the room.
    drop(loaded);
    crate::give_back_freed_memory();
    published.embedding = embed_work(&mut embedder, work, &cached, &mut vectors, Some(sink))?;
    published.model = Some(embedder.fingerprint().to_string());
    drop(embedder);
    crate::give_back_freed_memory();
    VectorIndex::build(&vectors, staging.path())?;
    let report = finish(staging, published, options, started)?;
    index.clear_embedding();
    Ok(report)
}

/// Where embedding reports to: the journal (so a killed build loses nothing) and the
/// progress that searches and the progress bar show.
struct Sink<'a> {
    index: &'a IndexDir,
    journal: &'a mut crate::store::JournalWriter,
    progress: Progress<'a>,
}

/// Embeds every chunk of `notes` into `out`, taking vectors of already-embedded text from
/// `store`.
fn embed_into<'a>(
    embedder: &mut Embedder,
    notes: impl Iterator<Item = (u32, &'a LoadedNote)>,
    cache: &FxHashMap<[u8; 16], &[u8]>,
    out: &mut VectorTable,
    sink: Option<Sink<'_>>,
) -> Result<EmbedReport> {
    let work = chunk_work(embedder, notes, cache);
    embed_work(embedder, work, cache, out, sink)
}

/// What embedding has to do: every chunk's entry, and the texts not embedded yet.
struct ChunkWork {
    entries: Vec<Entry>,
    todo: Vec<String>,
}

/// Splits `notes` into chunks; the texts whose vector `cache` lacks are to be embedded.
fn chunk_work<'a>(
    embedder: &Embedder,
    notes: impl Iterator<Item = (u32, &'a LoadedNote)>,
    cache: &FxHashMap<[u8; 16], &[u8]>,
) -> ChunkWork {
    let mut entries = Vec::new();
    let mut todo: Vec<String> = Vec::new();
    let mut todo_hashes: HashSet<[u8; 16]> = HashSet::new();
    for (ord, loaded) in notes {
        let note = &loaded.note;
        // Every section but the tag list: a title-only section embeds the title, which
        // known-item search needs (it lifts known-item Dendron's semantic nDCG@10,
        // `benches/quality.sh`).
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
    ChunkWork { entries, todo }
}

/// Embeds the texts of `work` into `out` (with the cached vectors of the other entries),
/// journaling them through `sink`.
fn embed_work(
    embedder: &mut Embedder,
    work: ChunkWork,
    cache: &FxHashMap<[u8; 16], &[u8]>,
    out: &mut VectorTable,
    mut sink: Option<Sink<'_>>,
) -> Result<EmbedReport> {
    let started = Instant::now();
    let ChunkWork { entries, todo } = work;
    let hashes: Vec<[u8; 16]> = todo.iter().map(|t| text_hash(t)).collect();
    let total = todo.len();
    let mut failed = None;
    let mut last_report = Instant::now();
    if let Some(sink) = &mut sink {
        (sink.progress)(Stage::Embedding, 0, total);
    }
    // Each vector is quantized as it comes (and journaled): rows, not f32s, are kept.
    let row_len = out.row_len();
    let mut rows = vec![0u8; total * row_len];
    let mut row = Vec::with_capacity(row_len);
    embedder.embed_groups(&todo, &mut |first, vectors, done| {
        for (i, v) in (first..).zip(vectors) {
            row.clear();
            crate::vector::quant::quantize_into(v, &mut row);
            rows[i * row_len..(i + 1) * row_len].copy_from_slice(&row);
            if let Some(sink) = &mut sink {
                if let Err(e) = sink.journal.append(&hashes[i], &row) {
                    failed.get_or_insert(e);
                }
            }
        }
        let Some(sink) = &mut sink else { return };
        (sink.progress)(Stage::Embedding, done, total);
        if last_report.elapsed().as_millis() >= 500 || done == total {
            last_report = Instant::now();
            let r = sink
                .journal
                .flush()
                .and_then(|_| sink.index.set_progress(done, total));
            if let Err(e) = r {
                failed.get_or_insert(e);
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    drop(todo);
    let fresh: HashMap<[u8; 16], usize> = hashes.into_iter().zip(0..).collect();
    for e in &entries {
        match (fresh.get(&e.hash), cache.get(&e.hash)) {
            (Some(&i), _) => out.push_row(*e, &rows[i * row_len..(i + 1) * row_len]),
            (None, Some(row)) => out.push_row(*e, row),
            _ => {}
        }
    }
    Ok(EmbedReport {
        embedded: total,
        reused: entries.len() - total,
        elapsed_ms: started.elapsed().as_millis() as u64,
        disabled: None,
    })
}

/// What changed in the vault since generation `g`.
struct Plan {
    /// Notes to write, under their ordinals, text included: changed and new notes, and
    /// notes whose links resolve differently now that notes came or went.
    write: Vec<(u32, LoadedNote)>,
    /// Ordinals whose documents and vectors must go (changed, deleted and relinked notes).
    remove: Vec<u32>,
    changes: Changes,
    skipped: Vec<Skipped>,
    files: Files,
    next_ord: u32,
}

fn plan(
    g: &Generation,
    old: &LexicalIndex,
    options: &IndexOptions,
    index: &IndexDir,
    progress: Progress<'_>,
) -> Result<Plan> {
    let vault = &g.manifest.vault;
    let before = g.files()?;
    // Keyed by the path's bytes with a fast hash: at 50k notes, std's component-wise path
    // hashing and owned keys were a large share of an update's planning
    // (docs/experiments.md, "Update and query-time work at 50k notes").
    let by_path: FxHashMap<&OsStr, &FileRow> = before.rows.iter().map(|r| (r.path.as_os_str(), r)).collect();
    // Contents changed in place leave folders alone: then one stat per recorded file is
    // the whole listing; a file added, removed or renamed moves a folder: walk again.
    let listing = g
        .files_written()
        .and_then(|since| crate::vault::restat(vault, &before, since))
        .unwrap_or_else(|| note_files(vault, &walk_options(index, options)));
    let listed: FxHashSet<&OsStr> = listing.files.iter().map(|(rel, _)| rel.as_os_str()).collect();
    // Files skipped last time (no note) are read again: they may have been fixed.
    let to_read: Vec<(PathBuf, PathBuf)> = listing
        .files
        .iter()
        .filter(|(rel, stamp)| {
            by_path
                .get(rel.as_os_str())
                .is_none_or(|row| row.ord == NO_NOTE || row.stamp != *stamp)
        })
        .map(|(rel, _)| (vault.join(rel), rel.clone()))
        .collect();
    let mut next_ord = g.manifest.next_ord;
    let mut skipped = listing.errors.clone();
    let mut changes = Changes::default();
    let mut write: Vec<(u32, LoadedNote)> = Vec::new();
    let mut remove: Vec<u32> = Vec::new();
    // Notes written, under their new hash, and old notes that stopped being notes: what
    // the new files table says differently of a file than its old row (`note_now`).
    let mut fresh: FxHashMap<PathBuf, (u32, [u8; 16])> = FxHashMap::default();
    let mut unnoted: FxHashSet<&OsStr> = FxHashSet::default();
    for r in read_all(&to_read, options.max_file_bytes, &|d, t| {
        progress(Stage::Reading, d, t)
    }) {
        match r {
            Ok(loaded) => match by_path
                .get(loaded.relative.as_os_str())
                .filter(|row| row.ord != NO_NOTE)
            {
                // Touched, not changed: only the stamp moves.
                Some(row) if row.hash == loaded.hash => {}
                Some(row) => {
                    remove.push(row.ord);
                    fresh.insert(loaded.relative.clone(), (row.ord, loaded.hash));
                    write.push((row.ord, loaded));
                    changes.changed += 1;
                }
                None => {
                    fresh.insert(loaded.relative.clone(), (next_ord, loaded.hash));
                    write.push((next_ord, loaded));
                    next_ord += 1;
                    changes.added += 1;
                }
            },
            Err(skip) => {
                if let Some(row) = by_path
                    .get(skip.path.as_os_str())
                    .filter(|row| row.ord != NO_NOTE)
                {
                    unnoted.insert(row.path.as_os_str());
                    remove.push(row.ord);
                    changes.deleted += 1;
                }
                skipped.push(skip);
            }
        }
    }
    // The note a listed file holds now, by ordinal and hash: one of `fresh`, else its old
    // row's unless it stopped being a note.
    let note_now = |fresh: &FxHashMap<PathBuf, (u32, [u8; 16])>, rel: &Path| {
        fresh.get(rel).copied().or_else(|| {
            let row = by_path.get(rel.as_os_str())?;
            (row.ord != NO_NOTE && !unnoted.contains(rel.as_os_str())).then_some((row.ord, row.hash))
        })
    };
    let mut gone_ids: Vec<String> = Vec::new();
    for row in before
        .rows
        .iter()
        .filter(|r| r.ord != NO_NOTE && !listed.contains(r.path.as_os_str()))
    {
        remove.push(row.ord);
        changes.deleted += 1;
        gone_ids.push(crate::note::NoteId::from_relative_path(&row.path).0);
    }
    // `Note.md` and `note.MD` in one folder would share an id: a new note whose id is
    // taken is skipped, as a full build does. (Only a new file can take an id: a changed
    // one keeps its path, so its id.)
    if changes.added > 0 {
        let id_of = |path: &Path| crate::note::NoteId::from_relative_path(path).0;
        let taken: HashMap<String, u32> = listing
            .files
            .iter()
            .filter_map(|(rel, _)| Some((id_of(rel), note_now(&fresh, rel)?.0)))
            .collect();
        write.retain(|(ord, n)| {
            let clash = taken.get(n.note.id.as_str()).is_some_and(|o| o != ord);
            if clash {
                skipped.push(Skipped {
                    path: n.relative.clone(),
                    reason: format!("duplicate note id {}", n.note.id),
                });
                fresh.remove(&n.relative);
                changes.added -= 1;
            }
            !clash
        });
    }
    // Notes that came or went can change what other notes' links resolve to: those notes
    // are read again and rewritten below (only when a link of theirs really changed).
    let added_ids: Vec<&str> = write
        .iter()
        .filter(|(ord, _)| !remove.contains(ord))
        .map(|(_, n)| n.note.id.as_str())
        .collect();
    let mut affected: Vec<(u32, LoadedNote)> = Vec::new();
    if !added_ids.is_empty() || !gone_ids.is_empty() {
        let keys: Vec<String> = added_ids
            .iter()
            .copied()
            .chain(gone_ids.iter().map(String::as_str))
            .flat_map(keys_answered_by)
            .collect();
        let mut linking: HashSet<u32> = old.notes().linking_by_key(&keys)?.into_iter().collect();
        for &ord in &remove {
            linking.extend(old.notes().backlinks(ord)?);
        }
        let written: HashSet<u32> = write
            .iter()
            .map(|(o, _)| *o)
            .chain(remove.iter().copied())
            .collect();
        for ord in linking.into_iter().filter(|o| !written.contains(o)) {
            if let Some(record) = old.notes().record(ord)? {
                affected.push((ord, record));
            }
        }
    }
    // Links resolve against every note there is now: the old ones that stay (their ids
    // from the mapped ids table, no path to turn into an id) and the ones written.
    let old_ids = g.ids()?;
    let leaving: FxHashSet<u32> = remove.iter().copied().collect();
    let live = (0..g.manifest.next_ord)
        .filter(|o| !leaving.contains(o))
        .filter_map(|o| old_ids.get(o).filter(|id| !id.is_empty()))
        .chain(write.iter().map(|(_, n)| n.note.id.as_str()));
    let targets = write
        .iter()
        .chain(&affected)
        .flat_map(|(_, n)| n.note.links.iter().map(|l| l.target.as_str()));
    let resolver = Resolver::for_targets(live, targets);
    for (_, n) in &mut write {
        for link in &mut n.note.links {
            link.resolved = resolver.resolve(&link.target);
        }
    }
    for (ord, record) in affected {
        let moved = record
            .note
            .links
            .iter()
            .any(|l| resolver.resolve(&l.target) != l.resolved);
        if !moved {
            continue;
        }
        let abs = vault.join(&record.relative);
        match crate::vault::read_note(&abs, &record.relative, options.max_file_bytes) {
            Ok(mut loaded) => {
                for link in &mut loaded.note.links {
                    link.resolved = resolver.resolve(&link.target);
                }
                fresh.insert(loaded.relative.clone(), (ord, loaded.hash));
                remove.push(ord);
                write.push((ord, loaded));
            }
            Err(reason) => skipped.push(Skipped {
                path: record.relative.clone(),
                reason,
            }),
        }
    }
    remove.sort_unstable();
    remove.dedup();
    let files = listing.table(|rel| note_now(&fresh, rel));
    Ok(Plan {
        write,
        remove,
        changes,
        skipped,
        files,
        next_ord,
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
    // Without a server's model, the model loads while the vault is checked and the
    // keyword index written, so the two overlap instead of adding up (docs/experiments.md,
    // "Update and query-time work at 50k notes"). A run
    // that finds nothing to do must not exit while ORT is making a session (ORT then
    // prints errors): it says so (`unwanted`), which stops a load that has not begun its
    // session, and waits for one that has.
    let unwanted = Arc::new(AtomicBool::new(false));
    let loading = (g.manifest.model.is_some() && options.shared_model.is_none()).then(|| {
        let options = options.clone();
        let unwanted = Arc::clone(&unwanted);
        std::thread::spawn(move || {
            let files = read_model(&options)?;
            if unwanted.load(Ordering::SeqCst) {
                return Err(NoEmbeddings::Unavailable("not needed".into()));
            }
            files
                .load(crate::cores(), true)
                .map_err(|e| NoEmbeddings::Unavailable(e.to_string()))
        })
    });
    let analysis = Analysis::new(&g.manifest.language)
        .map_err(|e| Error::Internal(format!("{}: {e}", g.dir.display())))?;
    let old = LexicalIndex::open(&g.tantivy_dir(), &analysis)?;
    let plan = plan(g, &old, options, index, progress)?;
    let vault = g.manifest.vault.clone();
    if plan.write.is_empty() && plan.remove.is_empty() {
        // Nothing to re-index; remember the new stamps so the next check is quiet.
        g.save_files(&plan.files)?;
        unwanted.store(true, Ordering::SeqCst);
        if let Some(thread) = loading {
            let _ = thread.join();
        }
        let embedding = EmbedReport {
            disabled: g.manifest.model.is_none().then_some(NoEmbeddings::NotInIndex),
            ..EmbedReport::default()
        };
        return Ok(report(
            &g.manifest,
            BuildKind::UpToDate,
            plan.skipped,
            plan.changes,
            started.elapsed().as_millis() as u64,
            embedding,
        ));
    }
    // The counts and priors move by what goes and what comes.
    let mut counts = Counts {
        notes: g.manifest.notes as i64,
        sections: g.manifest.sections as i64,
        resolved: g.manifest.links_resolved as i64,
        unresolved: g.manifest.links_unresolved as i64,
    };
    let old_priors = g.priors()?;
    let mut priors: Vec<Prior> = (0..plan.next_ord).map(|o| old_priors.get(o)).collect();
    let old_ids = g.ids()?;
    let mut ids: Vec<String> = (0..plan.next_ord)
        .map(|o| old_ids.get(o).unwrap_or_default().to_string())
        .collect();
    for &ord in &plan.remove {
        if let Some(record) = old.notes().record(ord)? {
            counts.add(Counts::of(&record.note), -1);
        }
        priors[ord as usize] = Prior::default();
        ids[ord as usize].clear();
    }
    for (ord, n) in &plan.write {
        counts.add(Counts::of(&n.note), 1);
        priors[*ord as usize] = prior_of(n);
        ids[*ord as usize] = n.note.id.to_string();
    }
    let warnings = warnings_of(plan.write.iter().map(|(_, n)| n));
    let written: HashMap<&str, u32> = plan.write.iter().map(|(o, n)| (n.note.id.as_str(), *o)).collect();
    let removed: HashSet<u32> = plan.remove.iter().copied().collect();
    let ord_of = |id: &str| -> Option<u32> {
        written.get(id).copied().or_else(|| {
            old.notes()
                .find(id)
                .ok()
                .flatten()
                .filter(|o| !removed.contains(o))
        })
    };
    let docs: Vec<NoteDoc<'_>> = plan
        .write
        .iter()
        .map(|(ord, n)| NoteDoc {
            ord: *ord,
            note: n,
            links: link_ords(&n.note, &ord_of),
        })
        .collect();
    let mut embedding = EmbedReport {
        disabled: g.manifest.model.is_none().then_some(NoEmbeddings::NotInIndex),
        ..EmbedReport::default()
    };
    let old_vectors = match g.manifest.model {
        None => None,
        Some(_) => VectorStore::open(&g.dir)?,
    };
    let mut staging = index.stage(lock)?;
    progress(Stage::Indexing, 0, docs.len());
    crate::lexical::update(
        &g.tantivy_dir(),
        &staging.path().join("tantivy"),
        &plan.remove,
        &docs,
        &options.analysis,
    )?;
    progress(Stage::Indexing, docs.len(), docs.len());
    staging.write_tables(&priors, &ids, &plan.files)?;
    if let Some(old_vectors) = &old_vectors {
        let mut dead = old_vectors.dead().to_vec();
        for &ord in &plan.remove {
            dead.extend_from_slice(old_vectors.of_note(ord));
        }
        let mut delta = old_vectors.delta_table();
        let writes = plan.write.iter().map(|(o, n)| (*o, n));
        let cache = old_vectors.cache();
        let embedded = match &options.shared_model {
            Some(shared) => shared.with(|e: &mut Embedder| {
                check_model(e, g)?;
                embed_into(e, writes, &cache, &mut delta, None)
            }),
            None => {
                let loaded = match loading {
                    Some(thread) => thread.join().unwrap_or_else(|_| {
                        Err(NoEmbeddings::Unavailable("the model loader panicked".into()))
                    }),
                    None => load_model(options),
                };
                let mut e = loaded.map_err(|why| Error::Model(format!("cannot update embeddings: {why}")))?;
                if check_model(&e, g).is_err() {
                    // Another model: every vector must be redone.
                    drop(staging);
                    return build_locked(index, lock, &vault, Some(g), options, progress);
                }
                embed_into(&mut e, writes, &cache, &mut delta, None)
            }
        };
        embedding = embedded?;
        let total = old_vectors.len() + embedding.embedded + embedding.reused;
        let churn = dead.len() + delta.len();
        if churn > COMPACT_MIN && churn as f32 > COMPACT_SHARE * total as f32 {
            drop(staging);
            return build_locked(index, lock, &vault, Some(g), options, progress);
        }
        VectorIndex::write_update(&g.dir, staging.path(), &delta, &dead)?;
    }
    let published = Published {
        kind: BuildKind::Incremental,
        vault,
        counts,
        next_ord: plan.next_ord,
        priors,
        ids,
        files: plan.files,
        skipped: plan.skipped,
        warnings,
        model: g.manifest.model.clone(),
        changes: plan.changes,
        embedding,
    };
    finish(staging, published, options, started)
}

/// Whether `e` is the model `g` was built with.
fn check_model(e: &Embedder, g: &Generation) -> Result<()> {
    match g.manifest.model.as_deref() {
        Some(m) if m != e.fingerprint() => Err(Error::Model(format!(
            "the index was built with model {m} but {} is loaded; rebuild with `recall index --rebuild`",
            e.fingerprint()
        ))),
        _ => Ok(()),
    }
}
