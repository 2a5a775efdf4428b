//! HNSW quality and speed against exact search, on the vectors of a real index.
//!
//! `RECALL_BENCH_INDEX=DIR cargo bench --bench hnsw_recall` (DIR: an index built with
//! embeddings, e.g. of the SciFact vault). For graph degree M in {8, 16, 32} (ef_construction
//! 200, and 100 for M = 16) it builds the graph over the index's vectors, then for ef_search in {16 … 256} runs
//! 1,000 queries (stored vectors, spread evenly) and reports recall@10 of the graph against
//! exact search and the time per query of both. Prints a markdown table.

use std::time::Instant;

use recall::store::IndexDir;
use recall::vector::{VectorIndex, VectorStore, VectorTable};

fn main() {
    let Ok(dir) = std::env::var("RECALL_BENCH_INDEX") else {
        eprintln!("hnsw_recall: set RECALL_BENCH_INDEX to an index folder built with embeddings; skipped");
        return;
    };
    let generation = IndexDir::new(&dir).open().expect("an index");
    let store = VectorStore::open(&generation.dir)
        .expect("readable vectors")
        .expect("an index with embeddings");
    let mut vectors = VectorTable::new(store.dim(), store.fingerprint());
    for id in 0..store.len() {
        vectors.push_row(store.entry(id), store.row(id));
    }
    let n = vectors.len();
    let queries: Vec<usize> = (0..1000).map(|i| i * n / 1000).collect();
    println!(
        "{n} vectors of dimension {}, {} queries, k = 10\n",
        store.dim(),
        queries.len()
    );
    println!("| M | ef_construction | build s | ef_search | recall@10 | HNSW µs/query | exact µs/query |");
    println!("|---|---|---|---|---|---|---|");
    for (m, ef_construction) in [(8, 200), (16, 100), (16, 200), (32, 200)] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        VectorIndex::build_with(&vectors, tmp.path(), m, ef_construction).expect("build");
        let build_s = started.elapsed().as_secs_f64();
        let index = VectorIndex::open(tmp.path()).expect("open").expect("vectors");
        let started = Instant::now();
        let exact: Vec<Vec<usize>> = queries
            .iter()
            .map(|&q| {
                index
                    .exact(&index.vector(q), 10, 0..n)
                    .into_iter()
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        let exact_us = started.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
        for ef in [16, 32, 64, 128, 256] {
            let started = Instant::now();
            let mut found = 0;
            for (q, truth) in queries.iter().zip(&exact) {
                let hits = index.graph_search_ef(&index.vector(*q), 10, ef, None);
                found += hits.iter().filter(|(i, _)| truth.contains(i)).count();
            }
            let us = started.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
            let recall = found as f64 / (10 * queries.len()) as f64;
            println!(
                "| {m} | {ef_construction} | {build_s:.1} | {ef} | {recall:.4} | {us:.0} | {exact_us:.0} |"
            );
        }
    }
}
