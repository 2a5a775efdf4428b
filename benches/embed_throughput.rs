//! Embedding throughput: one session over every core against one single-threaded session
//! per core (the bulk path of `Embedder::embed_groups`), on the same chunks.
//!
//! `RECALL_BENCH_VAULT=DIR cargo bench --bench embed_throughput` (DIR: a folder of notes,
//! e.g. the SciFact vault; `RECALL_BENCH_NOTES` caps how many, default 300). The chunks are
//! those `recall index` would embed. Both runs embed one text per model call; the ratio of
//! their rates is what to read, since this machine is shared. Prints a markdown table.

use std::time::Instant;

use recall::embed::{Embedder, ModelPaths};
use recall::note::{Note, NoteId};

fn main() {
    recall::embed::no_runtime_telemetry();
    let Ok(dir) = std::env::var("RECALL_BENCH_VAULT") else {
        eprintln!("embed_throughput: set RECALL_BENCH_VAULT to a folder of notes; skipped");
        return;
    };
    let limit: usize = std::env::var("RECALL_BENCH_NOTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut embedder = Embedder::load(ModelPaths::locate(None)).expect("the model (run make setup)");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("a readable folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files.truncate(limit);
    let mut texts = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("a UTF-8 note");
        let id = NoteId::from_relative_path(path.file_name().expect("a file name").as_ref());
        let note = Note::parse(id, &text);
        for (i, section) in note.sections.iter().enumerate() {
            texts.extend(
                embedder
                    .chunks(&note, i as u32, section)
                    .into_iter()
                    .map(|c| c.text),
            );
        }
    }
    let cores = recall::cores();
    println!("{} notes, {} chunks, {cores} cores\n", files.len(), texts.len());
    println!("| sessions | chunks/s | s |");
    println!("|---|---:|---:|");
    // Groups of at most 64 texts stay on the one all-core session.
    let started = Instant::now();
    for group in texts.chunks(64) {
        embedder.embed(group).expect("embedding");
    }
    let one = started.elapsed().as_secs_f64();
    println!(
        "| one, {cores} threads | {:.1} | {one:.1} |",
        texts.len() as f64 / one
    );
    let started = Instant::now();
    embedder.embed(&texts).expect("embedding");
    let bulk = started.elapsed().as_secs_f64();
    println!(
        "| {cores}, one thread each (bulk path) | {:.1} | {bulk:.1} |",
        texts.len() as f64 / bulk
    );
    println!("\nbulk/one speed ratio: {:.2}", one / bulk);
}
