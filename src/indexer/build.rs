//! A full build: every note read, every index written from scratch. The vectors of text
//! that was embedded before (the index being replaced, or the journal of a killed build)
//! are reused. A first build publishes its keyword index before embedding, so keyword
//! search works while the vectors are made.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use rustc_hash::FxHashMap;

use super::{
    embed, finish, link_ords, publish, walk_options, warnings_of, BuildKind, Changes, EmbedReport,
    IndexOptions, IndexReport, NoEmbeddings, Progress, Published, Stage, Tables,
};
use crate::error::Result;
use crate::lexical::NoteDoc;
use crate::store::{Generation, IndexDir, WriteLock};
use crate::vault::Vault;
use crate::vector::{VectorIndex, VectorStore, VectorTable};

pub(super) fn build_locked(
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
    let mut tables = Tables::with_slots(notes.slots());
    for (ord, n) in notes.iter() {
        tables.add(ord, n);
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
        next_ord: notes.slots() as u32,
        tables,
        files: loaded.files.clone(),
        skipped: loaded.skipped.clone(),
        warnings: warnings_of(notes.iter().map(|(_, n)| n)),
        model: None,
        gaps: None,
        changes: Changes {
            added: notes.len(),
            ..Changes::default()
        },
        embedding: EmbedReport::default(),
    };
    let mut embedder = match embed::load_model(options) {
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
    let sink = embed::Sink {
        index,
        journal: &mut journal,
        progress,
    };
    let work = embed::chunk_work(&embedder, notes.iter(), &cached);
    // The notes are chunked: their text is no longer needed, and the model needs the room.
    drop(loaded);
    crate::give_back_freed_memory();
    published.embedding = embed::embed_work(&mut embedder, work, &cached, &mut vectors, Some(sink))?;
    published.model = Some(embedder.fingerprint().to_string());
    if embedder.kind() == crate::embed::ModelKind::Multilingual {
        let priors = &published.tables.priors;
        let language = |ord: u32| priors.get(ord as usize).and_then(|p| p.language);
        published.gaps = Some(crate::gap::measure(&mut embedder, &vectors, language)?);
    }
    drop(embedder);
    crate::give_back_freed_memory();
    VectorIndex::build(&vectors, staging.path())?;
    let report = finish(staging, published, options, started)?;
    index.clear_embedding();
    Ok(report)
}
