//! Embedding for builds and updates: loading the model, splitting notes into chunks,
//! embedding the texts no earlier index or journal has a vector for, and journaling each
//! vector as it comes so that a killed build loses nothing.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use rustc_hash::FxHashMap;

use super::{EmbedReport, IndexOptions, NoEmbeddings, Progress, Stage};
use crate::embed::{Embedder, ModelFiles};
use crate::error::Result;
use crate::store::IndexDir;
use crate::vault::LoadedNote;
use crate::vector::{text_hash, Entry, VectorTable};

/// Loads the model, or says why there will be no embeddings.
pub(super) fn load_model(options: &IndexOptions) -> std::result::Result<Embedder, NoEmbeddings> {
    read_model(options)?
        .load(crate::cores(), true)
        .map_err(|e| NoEmbeddings::Unavailable(e.to_string()))
}

/// Reads the model's files (no session yet), or says why there will be no embeddings.
pub(super) fn read_model(options: &IndexOptions) -> std::result::Result<ModelFiles, NoEmbeddings> {
    match &options.model {
        None => Err(NoEmbeddings::TurnedOff),
        Some(paths) => ModelFiles::read(paths.clone()).map_err(|e| NoEmbeddings::Unavailable(e.to_string())),
    }
}

/// Where embedding reports to: the journal (so a killed build loses nothing) and the
/// progress that searches and the progress bar show.
pub(super) struct Sink<'a> {
    pub index: &'a IndexDir,
    pub journal: &'a mut crate::store::JournalWriter,
    pub progress: Progress<'a>,
}

/// Embeds every chunk of `notes` into `out`, taking vectors of already-embedded text from
/// `store`.
pub(super) fn embed_into<'a>(
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
pub(super) struct ChunkWork {
    entries: Vec<Entry>,
    todo: Vec<String>,
}

/// Splits `notes` into chunks; the texts whose vector `cache` lacks are to be embedded.
pub(super) fn chunk_work<'a>(
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
pub(super) fn embed_work(
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
