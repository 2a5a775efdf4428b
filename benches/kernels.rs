//! Micro-benchmarks of the hot kernels, so a change to one is measured in seconds instead
//! of by re-running a 50k-note vault: note parsing, query parsing, fusion and roll-up,
//! the int8 dot product, snippets. Inputs are fixed (the seed note, a long note made of
//! it, seeded pseudo-random vectors and scores), so runs compare.
//!
//! `cargo bench --bench kernels` (divan; `-- dot` runs the benches whose name has "dot").
//! Compare a change against the commit before it in one sitting: the machine is shared.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;

use recall::analysis::Analysis;
use recall::fuse::{fuse, Ranked, DEFAULT_FUSION};
use recall::note::{Note, NoteId};
use recall::query::Query;
use recall::rank::{rollup, NoteScore};
use recall::vector::quant;

fn main() {
    divan::main();
}

fn seed_note() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/seed/python_development.md");
    std::fs::read_to_string(&path)
        .or_else(|_| {
            std::fs::read_to_string(
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/vault/topics/sourdough_baking.md"),
            )
        })
        .expect("the seed note or the example vault")
}

/// A reproducible stream of numbers in [0, 1).
fn lcg(seed: u64) -> impl FnMut() -> f32 {
    let mut x = seed;
    move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[divan::bench]
fn parse_seed_note(b: divan::Bencher) {
    let text = seed_note();
    b.bench(|| Note::parse(NoteId("topics/python_development".into()), black_box(&text)));
}

#[divan::bench]
fn parse_long_note(b: divan::Bencher) {
    // About 100 seed notes' worth of sections in one file.
    let text = seed_note().repeat(100);
    b.bench(|| Note::parse(NoteId("long".into()), black_box(&text)));
}

#[divan::bench]
fn parse_query(b: divan::Bencher) {
    let q = r#"rust "borrow checker" -python async* +tokio tag:rust OR tag:go strength:>0.7 updated:2025"#;
    b.bench(|| Query::parse(black_box(q)).unwrap());
}

#[divan::bench]
fn fuse_and_roll_up(b: divan::Bencher) {
    // 300 section hits a side (the hybrid depth for 10 results), over 200 notes.
    let mut r = lcg(7);
    let hits = |r: &mut dyn FnMut() -> f32| -> Vec<(u32, u32, f32)> {
        (0..300)
            .map(|i| ((r() * 200.0) as u32, i % 7, r() * 20.0))
            .collect()
    };
    let (lex, sem) = (hits(&mut r), hits(&mut r));
    b.bench(|| {
        let l: Vec<NoteScore> = rollup(black_box(lex.iter().copied()));
        let s: Vec<NoteScore> = rollup(black_box(sem.iter().copied()));
        fuse(
            Ranked {
                notes: &l,
                complete: false,
            },
            Ranked {
                notes: &s,
                complete: false,
            },
            DEFAULT_FUSION,
            &|_| false,
        )
    });
}

#[divan::bench]
fn int8_dot_384(b: divan::Bencher) {
    let mut r = lcg(11);
    let v: Vec<f32> = (0..384).map(|_| r() - 0.5).collect();
    let q: Vec<f32> = (0..384).map(|_| r() - 0.5).collect();
    let mut row = Vec::new();
    quant::quantize_into(&v, &mut row);
    b.bench(|| quant::dot_query(black_box(&q), black_box(&row)));
}

#[divan::bench]
fn snippet_of_a_section(b: divan::Bencher) {
    let analysis = Analysis::default();
    let text = seed_note();
    let terms: HashSet<String> = ["python", "testing", "async"]
        .iter()
        .flat_map(|w| analysis.analyze(w))
        .collect();
    b.bench(|| {
        recall::snippet::snippet(
            black_box(&text),
            &terms,
            recall::snippet::SNIPPET_CHARS,
            &analysis,
        )
    });
}
