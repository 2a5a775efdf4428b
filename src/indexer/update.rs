//! An update: only what changed is re-read and rewritten, into a generation that shares
//! the old one's immutable files. The model loads while the vault is checked and the
//! keyword index written, so the two overlap instead of adding up.
//!
//! An update never starts a full build itself: when the model is not the index's, or the
//! vector deltas and tombstones outgrow their share, it answers [`Updated::Rebuild`] and
//! its caller builds.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::embed::{embed_into, load_model, read_model};
use super::plan::{plan, Plan};
use super::{
    check_model, finish, link_ords, report, warnings_of, BuildKind, EmbedReport, IndexOptions, IndexReport,
    NoEmbeddings, Progress, Published, Stage, Tables,
};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::lexical::{LexicalIndex, NoteDoc};
use crate::store::{Generation, IndexDir, Staging, WriteLock};
use crate::vector::{VectorIndex, VectorStore};

/// Tombstones plus delta vectors beyond this share of all vectors make an update a full
/// build (and beyond `COMPACT_MIN` vectors, so small vaults are not rebuilt every time).
/// A rewritten note counts twice (its old vectors dead, its new ones in the delta), and a
/// rename rewrites every note that links to it: in the 16-note example vault one rename,
/// one deletion and one edit make a churn larger than all its vectors.
const COMPACT_SHARE: f32 = 0.25;
const COMPACT_MIN: usize = 1024;

/// What an update came to.
pub(super) enum Updated {
    Done(IndexReport),
    /// The model is not the index's, or the vectors need compacting: build in full.
    Rebuild,
}

/// The model, loading on its own thread. A run that finds nothing to do must not exit
/// while ORT is making a session (ORT then prints errors): [`Loader::cancel`] stops a
/// load that has not begun its session, and waits for one that has.
struct Loader {
    unwanted: Arc<AtomicBool>,
    thread: Option<JoinHandle<std::result::Result<Embedder, NoEmbeddings>>>,
}

impl Loader {
    /// Starts loading when the index has vectors and no server lends its model.
    fn start(g: &Generation, options: &IndexOptions) -> Loader {
        let unwanted = Arc::new(AtomicBool::new(false));
        let thread = (g.manifest.model.is_some() && options.shared_model.is_none()).then(|| {
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
        Loader { unwanted, thread }
    }

    fn cancel(self) {
        self.unwanted.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread {
            let _ = thread.join();
        }
    }

    /// The loaded model (loading it now if no thread did).
    fn wait(self, options: &IndexOptions) -> std::result::Result<Embedder, NoEmbeddings> {
        match self.thread {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(NoEmbeddings::Unavailable("the model loader panicked".into()))),
            None => load_model(options),
        }
    }
}

pub(super) fn update_locked(
    index: &IndexDir,
    lock: &WriteLock,
    g: &Generation,
    options: &IndexOptions,
    progress: Progress<'_>,
) -> Result<Updated> {
    let started = Instant::now();
    let loader = Loader::start(g, options);
    let old = LexicalIndex::open(&g.tantivy_dir(), &g.analysis()?)?;
    let plan = plan(g, &old, options, index, progress)?;
    let no_vectors = || g.manifest.model.is_none().then_some(NoEmbeddings::NotInIndex);
    if plan.write.is_empty() && plan.remove.is_empty() {
        // Nothing to re-index; remember the new stamps so the next check is quiet.
        g.save_files(&plan.files)?;
        loader.cancel();
        let embedding = EmbedReport {
            disabled: no_vectors(),
            ..EmbedReport::default()
        };
        let elapsed = started.elapsed().as_millis() as u64;
        return Ok(Updated::Done(report(
            &g.manifest,
            BuildKind::UpToDate,
            plan.skipped,
            plan.changes,
            elapsed,
            embedding,
        )));
    }
    let tables = tables(g, &old, &plan)?;
    let mut staging = index.stage(lock)?;
    write_keywords(g, &old, &plan, &mut staging, &tables, options, progress)?;
    let embedding = match g.manifest.model {
        None => EmbedReport {
            disabled: no_vectors(),
            ..EmbedReport::default()
        },
        Some(_) => match update_vectors(g, &plan, &staging, loader, options)? {
            Some(report) => report,
            None => return Ok(Updated::Rebuild),
        },
    };
    let published = Published {
        kind: BuildKind::Incremental,
        vault: g.manifest.vault.clone(),
        next_ord: plan.next_ord,
        warnings: warnings_of(plan.write.iter().map(|(_, n)| n)),
        tables,
        files: plan.files,
        skipped: plan.skipped,
        model: g.manifest.model.clone(),
        gaps: g.manifest.language_gaps.clone(),
        changes: plan.changes,
        embedding,
    };
    finish(staging, published, options, started).map(Updated::Done)
}

/// The old generation's counts, priors and ids, moved by what goes and what comes.
fn tables(g: &Generation, old: &LexicalIndex, plan: &Plan) -> Result<Tables> {
    let m = &g.manifest;
    let old_priors = g.priors()?;
    let old_ids = g.ids()?;
    let mut t = Tables {
        counts: super::Counts {
            notes: m.notes as i64,
            sections: m.sections as i64,
            resolved: m.links_resolved as i64,
            unresolved: m.links_unresolved as i64,
        },
        priors: (0..plan.next_ord).map(|o| old_priors.get(o)).collect(),
        ids: (0..plan.next_ord)
            .map(|o| old_ids.get(o).unwrap_or_default().to_string())
            .collect(),
    };
    for &ord in &plan.remove {
        let record = old.notes().record(ord)?;
        t.remove(ord, record.as_ref().map(|r| &r.note));
    }
    for (ord, n) in &plan.write {
        t.add(*ord, n);
    }
    Ok(t)
}

/// The keyword index with the plan applied, and the tables, into `staging`.
fn write_keywords(
    g: &Generation,
    old: &LexicalIndex,
    plan: &Plan,
    staging: &mut Staging,
    tables: &Tables,
    options: &IndexOptions,
    progress: Progress<'_>,
) -> Result<()> {
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
    progress(Stage::Indexing, 0, docs.len());
    crate::lexical::update(
        &g.tantivy_dir(),
        &staging.path().join("tantivy"),
        &plan.remove,
        &docs,
        &options.analysis,
    )?;
    progress(Stage::Indexing, docs.len(), docs.len());
    staging.write_tables(&tables.priors, &tables.ids, &plan.files)?;
    Ok(())
}

/// The vector index with the plan applied: the old graph, its delta plus the new notes'
/// vectors, its tombstones plus the removed notes'. `None`: build in full instead.
fn update_vectors(
    g: &Generation,
    plan: &Plan,
    staging: &Staging,
    loader: Loader,
    options: &IndexOptions,
) -> Result<Option<EmbedReport>> {
    let Some(old_vectors) = VectorStore::open(&g.dir)? else {
        return Ok(Some(EmbedReport::default()));
    };
    let mut dead = old_vectors.dead().to_vec();
    for &ord in &plan.remove {
        dead.extend_from_slice(old_vectors.of_note(ord));
    }
    let mut delta = old_vectors.delta_table();
    let writes = plan.write.iter().map(|(o, n)| (*o, n));
    let cache = old_vectors.cache();
    let embedding = match &options.shared_model {
        Some(shared) => shared.with(|e: &mut Embedder| {
            check_model(e, g)?;
            embed_into(e, writes, &cache, &mut delta, None)
        })?,
        None => {
            let mut e = loader
                .wait(options)
                .map_err(|why| Error::Model(format!("cannot update embeddings: {why}")))?;
            if check_model(&e, g).is_err() {
                // Another model: every vector must be redone.
                return Ok(None);
            }
            embed_into(&mut e, writes, &cache, &mut delta, None)?
        }
    };
    let total = old_vectors.len() + embedding.embedded + embedding.reused;
    if needs_compaction(dead.len(), delta.len(), total) {
        return Ok(None);
    }
    VectorIndex::write_update(&g.dir, staging.path(), &delta, &dead)?;
    Ok(Some(embedding))
}

/// Whether `dead` tombstones and `delta` new vectors, of `total` vectors in all, call for
/// a full build that compacts them away.
fn needs_compaction(dead: usize, delta: usize, total: usize) -> bool {
    let churn = dead + delta;
    churn > COMPACT_MIN && churn as f32 > COMPACT_SHARE * total as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;
    use crate::embed::ModelPaths;
    use crate::indexer::{index, update, BuildKind, Stage};

    fn options(model: ModelPaths) -> IndexOptions {
        IndexOptions {
            max_file_bytes: 1 << 20,
            model: Some(model),
            reuse: true,
            analysis: Analysis::default(),
            shared_model: None,
            model_choice: None,
        }
    }

    fn quiet(_: Stage, _: usize, _: usize) {}

    /// The ordinal of the note in file `path` of `g`.
    fn ord(g: &Generation, path: &str) -> u32 {
        g.files()
            .unwrap()
            .rows
            .iter()
            .find(|r| r.path == std::path::Path::new(path))
            .unwrap_or_else(|| panic!("no file {path}"))
            .ord
    }

    /// The vector step with the real model (`make setup` fetches it): an update embeds
    /// only text no vector exists for, tombstones the vectors of removed and rewritten
    /// notes, leaves the others' alone, and its loader is not needed when nothing changed.
    #[test]
    fn an_update_embeds_only_new_text_and_retires_replaced_vectors() {
        let vault = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(vault.path().join(name), text).unwrap();
        write(
            "kept.md",
            "# Kept\n\nThis note about tide pools does not change.\n",
        );
        write(
            "edited.md",
            "# Edited\n\n## First\n\nSourdough needs a warm kitchen.\n\n## Second\n\nThis part is rewritten.\n",
        );
        write("gone.md", "# Gone\n\nA note about glaciers, deleted soon.\n");
        let dir = tempfile::tempdir().unwrap();
        let idx = IndexDir::new(dir.path().join("index"));
        let opts = options(ModelPaths::locate(None));
        assert_eq!(
            index(&idx, vault.path(), &opts, &quiet).unwrap().kind,
            BuildKind::Full
        );
        let before = idx.open().unwrap();
        let old = VectorStore::open(&before.dir).unwrap().unwrap();
        let (kept, edited, gone) = (
            ord(&before, "kept.md"),
            ord(&before, "edited.md"),
            ord(&before, "gone.md"),
        );

        write(
            "edited.md",
            "# Edited\n\n## First\n\nSourdough needs a warm kitchen.\n\n## Second\n\nRye flour ferments faster.\n",
        );
        std::fs::remove_file(vault.path().join("gone.md")).unwrap();
        write("new.md", "# New\n\nVolcanic soil grows good grapes.\n");
        let report = update(&idx, &opts, &quiet).unwrap();
        assert_eq!(report.kind, BuildKind::Incremental);
        let after = idx.open().unwrap();
        let new = VectorStore::open(&after.dir).unwrap().unwrap();

        // The untouched note keeps its vectors; the removed one's are dead.
        assert_eq!(new.of_note(kept), old.of_note(kept));
        assert!(new.of_note(gone).is_empty());
        assert!(old.of_note(gone).iter().all(|&v| !new.is_live(v as usize)));
        // The rewritten note's vectors are all new, its old ones dead.
        assert!(old.of_note(edited).iter().all(|&v| !new.is_live(v as usize)));
        let fresh: Vec<usize> = new.of_note(edited).iter().map(|&v| v as usize).collect();
        assert!(
            !fresh.is_empty() && fresh.iter().all(|&v| v >= old.len()),
            "{fresh:?}"
        );
        // Text that was embedded before is reused, byte for byte; only the rest is embedded.
        let cache = old.cache();
        let delta: Vec<usize> = (old.len()..new.len()).filter(|&v| new.is_live(v)).collect();
        let reused: Vec<&usize> = delta
            .iter()
            .filter(|&&v| cache.contains_key(&new.entry(v).hash))
            .collect();
        assert!(!reused.is_empty(), "the unchanged section's vector is reused");
        for &v in &reused {
            assert_eq!(new.row(*v), cache[&new.entry(*v).hash]);
        }
        assert_eq!(report.embedding.embedded, delta.len() - reused.len());
        assert_eq!(report.embedding.reused, reused.len());

        // Nothing changed: up to date without the model (the loader is cancelled), and a
        // change the model cannot embed fails without touching the published index.
        let missing = ModelPaths {
            model_dir: dir.path().join("no-model"),
            ..ModelPaths::locate(None)
        };
        let broken = options(missing);
        assert_eq!(update(&idx, &broken, &quiet).unwrap().kind, BuildKind::UpToDate);
        write("kept.md", "# Kept\n\nNow about rock pools.\n");
        let err = update(&idx, &broken, &quiet).unwrap_err();
        assert!(matches!(err, Error::Model(_)), "{err}");
        assert_eq!(
            idx.open().unwrap().dir,
            after.dir,
            "the old generation still answers"
        );
    }

    #[test]
    fn compaction_waits_for_a_share_of_a_large_index() {
        // A small vault is never rebuilt for churn, however much of it changed.
        assert!(!needs_compaction(200, 200, 300));
        // A large one is, once tombstones and deltas pass the share of all vectors.
        assert!(!needs_compaction(1000, 1000, 10_000));
        assert!(needs_compaction(1500, 1100, 10_000));
        assert!(needs_compaction(COMPACT_MIN, 1, 4 * COMPACT_MIN));
    }
}
