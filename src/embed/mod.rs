//! Turning text into vectors with fastembed (all-MiniLM-L6-v2 or any BERT-style ONNX model).
//!
//! Nothing here touches the network: the ONNX Runtime library and the model files are
//! installed by `scripts/fetch-model.sh` into a cache folder, and a missing or broken file
//! is an [`EmbedError`] that names the file and the command that fixes it. The runtime is
//! loaded with `ort::init_from`, which reports failure as an error (unlike `ORT_DYLIB_PATH`,
//! which panics).
//!
//! Sections longer than the model's window are split into overlapping [`Chunk`]s measured
//! in the model's own word pieces, so no text is silently truncated away.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

mod model;
mod pieces;
mod runner;

pub use model::{cache_dir, choose_model, ModelKind, ModelPaths, MODEL_NAME, MULTILINGUAL_FROM, ORT_LIB};

use runner::{Runner, Source};

use crate::cores;
use crate::note::{Note, Section};

/// The model's window, in word pieces (including \[CLS\] and \[SEP\]).
pub const MAX_TOKENS: usize = 256;
/// The longest chunk recall embeds, in word pieces (prefix, \[CLS\] and \[SEP\] included).
/// Shorter than the model's window: all-MiniLM-L6-v2 was trained on texts of at most 128
/// word pieces, and its vector of a long text blurs several topics. Chosen on SciFact train:
/// 160 gave the best hybrid nDCG@10 of the windows tried, from 96 up to the full 256, at
/// the cost of more chunks to embed (docs/experiments.md, "Chunk window: 160 word pieces
/// instead of 256").
const CHUNK_TOKENS: usize = 160;
/// Texts per inference call. One, by measurement: on 2 cores a lone text runs faster than
/// a padded batch of 32 (BENCHMARKS.md, "Embedding model choice"), and with dynamically
/// quantized models a vector then never depends on its batch-mates, so cached, re-embedded
/// and query vectors always agree.
pub const BATCH: usize = 1;
/// Word pieces that neighbouring chunks of a long section share, so that a sentence cut
/// at a window's edge is still whole in one of them. Chosen on SciFact train: 32 beat both
/// no overlap and the former quarter-window stride, with fewer chunks (BENCHMARKS.md,
/// "Embedding throughput").
const OVERLAP: usize = 32;
/// Texts between progress reports.
const PROGRESS_EVERY: usize = 64;
const FIX: &str = "run `make setup` (scripts/fetch-model.sh) to install it";
const MODEL_FILES: [&str; 5] = [
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding model file {0} is missing; {FIX}")]
    Missing(PathBuf),
    #[error("cannot load ONNX Runtime from {path}: {why}; {FIX} or set RECALL_ORT_LIB")]
    Runtime { path: PathBuf, why: String },
    #[error("cannot load the embedding model in {dir}: {why}; {FIX} or pass --model-dir")]
    Model { dir: PathBuf, why: String },
    #[error("embedding failed: {0}")]
    Inference(String),
}

/// A loaded model.
///
/// Queries and small updates go through one session that uses every core. Bulk embedding
/// (a build) instead runs one single-threaded session per core, each on its own share of
/// the texts: with one text per call a lone session keeps two cores only partly busy, and
/// its threads wait for each other when anything else runs (`benches/embed_throughput.rs`;
/// BENCHMARKS.md, "Embedding throughput"). Those sessions are made on the first bulk
/// call, so a query never pays for them.
pub struct Embedder {
    model: Runner,
    workers: Vec<Runner>,
    dim: usize,
    fingerprint: String,
    kind: ModelKind,
    pub paths: ModelPaths,
}

/// Hears of each finished group of vectors: the index of its first text, its vectors, and
/// how many texts are done in all.
pub type GroupDone<'a> = dyn FnMut(usize, &[Vec<f32>], usize) + 'a;

/// A piece of a section small enough for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub section: u32,
    /// What is embedded: `title > headings: text`.
    pub text: String,
}

impl Embedder {
    /// Loads the runtime and the model, its query session on every core; every failure
    /// names the file at fault.
    pub fn load(paths: ModelPaths) -> Result<Embedder, EmbedError> {
        ModelFiles::read(paths)?.load(cores(), true)
    }
}

/// A model's files read, and its runtime loaded, with no ONNX Runtime session made yet:
/// the part of a load that can be done (and dropped) at no risk while it is not yet
/// known whether embedding is needed. (A process that exits while ORT is making a
/// session makes ORT print errors of its own.)
pub struct ModelFiles {
    paths: ModelPaths,
    source: Source,
    fingerprint: String,
}

impl ModelFiles {
    pub fn read(paths: ModelPaths) -> Result<ModelFiles, EmbedError> {
        if !paths.runtime.is_file() {
            return Err(EmbedError::Missing(paths.runtime.clone()));
        }
        for f in MODEL_FILES {
            if !paths.model_dir.join(f).is_file() {
                return Err(EmbedError::Missing(paths.model_dir.join(f)));
            }
        }
        init_runtime(&paths.runtime)?;
        let kind = ModelKind::of_dir(&paths.model_dir);
        let source = Source::read(kind, &paths.model_dir)?;
        let hash = match &source {
            // fastembed's graph is read into memory anyway.
            Source::Fastembed(user) => blake3::hash(&user.onnx_file),
            Source::Direct(_) => weights_hash(&paths.model_dir)?,
        };
        let fingerprint = format!("{}:{}", kind.name(), &hash.to_hex()[..16]);
        Ok(ModelFiles {
            paths,
            source,
            fingerprint,
        })
    }

    /// The model, its query session on `threads` threads and, with `arena`, ONNX
    /// Runtime's memory arena (see `session`); every failure names the file at fault.
    pub fn load(self, threads: usize, arena: bool) -> Result<Embedder, EmbedError> {
        let ModelFiles {
            paths,
            source,
            fingerprint,
        } = self;
        let dir = &paths.model_dir;
        let mut model = Runner::open(source, dir, threads.max(1), arena)?;
        let probe = model
            .embed(&["dimension probe".to_string()])
            .map_err(|e| EmbedError::Model {
                dir: dir.clone(),
                why: e.to_string(),
            })?;
        let dim = probe.first().map(Vec::len).unwrap_or(0);
        if dim == 0 {
            return Err(EmbedError::Model {
                dir: dir.clone(),
                why: "the model returned no vector".into(),
            });
        }
        Ok(Embedder {
            model,
            workers: Vec::new(),
            dim,
            kind: ModelKind::of_dir(&paths.model_dir),
            fingerprint,
            paths,
        })
    }
}

impl Embedder {
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Identifies the model weights: vectors from different models never mix.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// The unit vector of a query (with the model's query prefix).
    pub fn embed_query(&mut self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self
            .embed(&[format!("{}{text}", self.kind.query_prefix())])?
            .pop()
            .unwrap_or_default())
    }

    /// Unit-length vectors for `texts`, in order.
    pub fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = vec![Vec::new(); texts.len()];
        self.embed_groups(texts, &mut |first, vectors, _| {
            for (slot, v) in out[first..].iter_mut().zip(vectors) {
                slot.clone_from(v);
            }
        })?;
        Ok(out)
    }

    /// Embeds `texts` into unit-length vectors and hands them to `done` a group at a time,
    /// keeping none: a large build would otherwise hold every vector in f32, about four times
    /// what the caller keeps as int8. `done` hears of each group as it is finished
    /// (groups may finish out of order): the index of its first text, its vectors, and how
    /// many texts are done in all.
    pub fn embed_groups(&mut self, texts: &[String], done: &mut GroupDone<'_>) -> Result<(), EmbedError> {
        if texts.len() <= PROGRESS_EVERY || cores() == 1 {
            let mut finished = 0;
            for group in texts.chunks(PROGRESS_EVERY) {
                let vectors = self.model.embed(group)?;
                done(finished, &vectors, finished + vectors.len());
                finished += vectors.len();
            }
            return Ok(());
        }
        if self.workers.is_empty() {
            let dir = &self.paths.model_dir;
            self.workers = (0..cores())
                .map(|_| self.model.worker(dir))
                .collect::<Result<_, _>>()?;
        }
        // Workers take groups in turn from a shared counter, so a slow group (long texts)
        // never leaves a core idle while another still has a queue.
        let groups: Vec<&[String]> = texts.chunks(PROGRESS_EVERY).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            for worker in &mut self.workers {
                let (tx, next, groups) = (tx.clone(), &next, &groups);
                scope.spawn(move || loop {
                    let g = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(group) = groups.get(g) else { break };
                    let result = worker.embed(group);
                    let failed = result.is_err();
                    if tx.send((g, result)).is_err() || failed {
                        // Stop the others early: no group after a failure is wanted.
                        next.store(groups.len(), std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                });
            }
            drop(tx);
            let mut finished = 0;
            for (g, result) in rx {
                let vectors = result?;
                finished += vectors.len();
                done(g * PROGRESS_EVERY, &vectors, finished);
            }
            Ok::<(), EmbedError>(())
        })
    }

    /// Splits a section into model-sized chunks, each prefixed with where it is (and with
    /// the model's passage prefix).
    pub fn chunks(&self, note: &Note, index: u32, section: &Section) -> Vec<Chunk> {
        let prefix = format!("{}{}: ", self.kind.passage_prefix(), note.context_of(section));
        let budget = CHUNK_TOKENS - 2 - self.count(&prefix).min(CHUNK_TOKENS / 2);
        let Some(encoding) = self.model.measure(section.text.as_str()) else {
            return vec![Chunk {
                section: index,
                text: format!("{prefix}{}", section.text),
            }];
        };
        let offsets = encoding.get_offsets();
        if offsets.len() <= budget {
            return vec![Chunk {
                section: index,
                text: format!("{prefix}{}", section.text),
            }];
        }
        windows(offsets.len(), budget, OVERLAP)
            .map(|(start, end)| {
                let (from, to) = (offsets[start].0, offsets[end - 1].1);
                Chunk {
                    section: index,
                    text: format!("{prefix}{}", section.text.get(from..to).unwrap_or("")),
                }
            })
            .collect()
    }

    fn count(&self, text: &str) -> usize {
        self.model.measure(text).map(|e| e.len()).unwrap_or(0)
    }
}

/// The model for queries, shared by every snapshot of a process and loaded on first use.
///
/// A command-line query embeds one text with one session on every core (lowest latency).
/// A server answers many queries at once: it keeps up to one single-threaded session per
/// core, each used by one query at a time, so concurrent queries run in parallel instead
/// of queueing behind one session (and two-thread sessions never fight over two cores).
pub struct QueryModel {
    paths: ModelPaths,
    sessions: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Embedder>,
    /// Sessions that exist (idle or in use).
    loaded: usize,
}

impl std::fmt::Debug for QueryModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryModel")
            .field("paths", &self.paths)
            .field("sessions", &self.sessions)
            .finish()
    }
}

impl QueryModel {
    /// One session over every core: for a process that answers one query at a time.
    pub fn single(paths: ModelPaths) -> QueryModel {
        Self::with_sessions(paths, 1)
    }

    /// Up to one single-threaded session per core: for a server.
    pub fn pooled(paths: ModelPaths) -> QueryModel {
        Self::with_sessions(paths, cores())
    }

    fn with_sessions(paths: ModelPaths, sessions: usize) -> QueryModel {
        QueryModel {
            paths,
            sessions: sessions.max(1),
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
        }
    }

    pub fn paths(&self) -> &ModelPaths {
        &self.paths
    }

    /// This model for an index built with `recorded` (its manifest's model): that model's
    /// folder, unless `--model-dir` chose one. Before any session is loaded.
    pub fn for_index(mut self, recorded: Option<&str>) -> QueryModel {
        self.paths = self.paths.of_index(recorded);
        self
    }

    /// A session as this pool runs them: one over every core for a process that answers
    /// one query at a time; else one thread each, and no memory arena (see `session`).
    fn load_session(&self) -> Result<Embedder, EmbedError> {
        let files = ModelFiles::read(self.paths.clone())?;
        match self.one_query_at_a_time() {
            true => files.load(cores(), true),
            false => files.load(1, false),
        }
    }

    /// Whether this model serves a process that answers one query at a time (see
    /// [`QueryModel::single`]).
    pub fn one_query_at_a_time(&self) -> bool {
        self.sessions == 1
    }

    /// Loads every session now, so that no request pays for loading one. (A server's
    /// sessions keep no memory arena, see `session`: its memory does not grow with the
    /// length of what its updates embed.)
    pub fn preload(&self) -> Result<(), EmbedError> {
        let loaded = (0..self.sessions)
            .map(|_| self.load_session())
            .collect::<Result<Vec<_>, _>>()?;
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.loaded += loaded.len();
        pool.idle.extend(loaded);
        Ok(())
    }

    /// Runs `f` with a session of its own, loading one when none is idle and fewer than
    /// the limit exist, else waiting for one to come back.
    pub fn with<T, E: From<EmbedError>>(
        &self,
        f: impl FnOnce(&mut Embedder) -> Result<T, E>,
    ) -> Result<T, E> {
        let lock = || self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let idle = {
            let mut pool = lock();
            loop {
                if let Some(e) = pool.idle.pop() {
                    break Some(e);
                }
                if pool.loaded < self.sessions {
                    pool.loaded += 1;
                    break None;
                }
                pool = self.returned.wait(pool).unwrap_or_else(|p| p.into_inner());
            }
        };
        let mut embedder = match idle {
            Some(e) => e,
            None => match self.load_session() {
                Ok(e) => e,
                Err(err) => {
                    lock().loaded -= 1;
                    self.returned.notify_one();
                    return Err(err.into());
                }
            },
        };
        let result = f(&mut embedder);
        lock().idle.push(embedder);
        self.returned.notify_one();
        result
    }
}

/// Splits `n` pieces into the fewest windows of at most `budget` pieces in which
/// neighbours share at least `overlap` pieces, all of about the same length and spread
/// evenly, so that no window is a short leftover.
fn windows(n: usize, budget: usize, overlap: usize) -> impl Iterator<Item = (usize, usize)> {
    let overlap = overlap.min(budget / 2);
    let k = if n <= budget {
        1
    } else {
        (n - overlap).div_ceil(budget - overlap)
    };
    let len = (n + (k - 1) * overlap).div_ceil(k).min(n);
    (0..k).map(move |i| {
        let start = if k == 1 { 0 } else { i * (n - len) / (k - 1) };
        (start, start + len)
    })
}

/// The ONNX Runtime environment every session of the process shares, made once with the
/// library (see [`init_runtime`]).
pub(super) static RUNTIME: std::sync::OnceLock<Result<ort::environment::Environment, String>> =
    std::sync::OnceLock::new();

/// Turns off ONNX Runtime's telemetry for this process. ONNX Runtime 1.31 on Linux sends
/// usage events to `mobile.events.data.microsoft.com` and keeps a device id and an SQLite
/// event store under `~/.cache/Microsoft` (written and synced by every process that makes
/// a session). A tool over someone's private notes sends nothing anywhere and leaves
/// nothing behind. The library reads `ORT_DISABLE_TELEMETRY` when it starts, and setting a
/// variable races with any other thread reading the environment: call this first thing in
/// `main`, before any thread starts. (The environment also disables its telemetry events,
/// see `init_runtime`.)
pub fn no_runtime_telemetry() {
    if std::env::var_os("ORT_DISABLE_TELEMETRY").is_none() {
        std::env::set_var("ORT_DISABLE_TELEMETRY", "1");
    }
}

/// Loads ONNX Runtime from `path` and makes the process's environment, telemetry events off
/// (see [`no_runtime_telemetry`]).
fn init_runtime(path: &Path) -> Result<(), EmbedError> {
    RUNTIME
        .get_or_init(|| {
            let builder = ort::init_from(path).map_err(|e| e.to_string())?;
            builder.with_telemetry(false).build().map_err(|e| e.to_string())
        })
        .as_ref()
        .map(drop)
        .map_err(|why| EmbedError::Runtime {
            path: path.to_path_buf(),
            why: why.clone(),
        })
}

/// The BLAKE3 hash of the model's graph (what tells one model's vectors from another's),
/// from a memory map: a session that ONNX Runtime reads from the file itself never has the
/// graph copied into memory beside its own.
fn weights_hash(dir: &Path) -> Result<blake3::Hash, EmbedError> {
    let path = dir.join("model.onnx");
    let mut hasher = blake3::Hasher::new();
    hasher.update_mmap(&path).map_err(|e| EmbedError::Model {
        dir: path,
        why: e.to_string(),
    })?;
    Ok(hasher.finalize())
}

pub(super) fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    normalize(&mut v);
    v
}

/// Scales `v` to unit length (a zero vector stays zero): the one L2 normalisation, for
/// embeddings and centroids alike.
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The element-wise sum of `vectors`, each `dim` long: a centroid before it is scaled
/// (a note's, normalized, in `related`; a question language's mean, in `gap`).
pub fn sum<V: AsRef<[f32]>>(vectors: impl IntoIterator<Item = V>, dim: usize) -> Vec<f32> {
    let mut total = vec![0f32; dim];
    for v in vectors {
        total.iter_mut().zip(v.as_ref()).for_each(|(t, x)| *t += x);
    }
    total
}

/// Cosine similarity of unit vectors.
///
/// Eight independent sums, because a single running sum must be added in order and so
/// cannot use SIMD; this is the inner loop of every graph build and vector search.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (xs, ys) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut lanes = [0f32; 8];
    for (x, y) in xs.zip(ys) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::{choose_model, windows};

    /// The measure behind [`MULTILINGUAL_FROM`](super::MULTILINGUAL_FROM): the share of
    /// notes not in English in each real vault (run by hand: it reads ../shared).
    #[test]
    #[ignore]
    fn language_of_real_vaults() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut vaults: Vec<_> = std::fs::read_dir(root.join("../shared/vaults"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        vaults.push(root.join("examples/vault"));
        vaults.sort();
        for v in vaults {
            let (kind, why) = choose_model(&v);
            println!(
                "{:<20} {:<14} {why}",
                v.file_name().unwrap().to_string_lossy(),
                kind.flag()
            );
        }
    }

    /// A query never copies the tokenizer for chunking (a quarter of a gigabyte for the
    /// multilingual model); the first chunking does, and measures without truncation.
    #[test]
    fn only_chunking_copies_the_tokenizer() {
        let mut e = super::Embedder::load(super::ModelPaths::locate(None)).expect("the model: make setup");
        let v = e.embed_query("tide pools at low water").unwrap();
        assert_eq!(v.len(), e.dim());
        assert!(!e.model.measured(), "a query made the chunking copy");
        let text = "word ".repeat(1000);
        let note =
            crate::note::Note::parse(crate::note::NoteId("long".into()), &format!("# Long\n\n{text}\n"));
        let chunks = e.chunks(&note, 0, &note.sections[0]);
        assert!(e.model.measured());
        assert!(chunks.len() > 1, "1000 words are longer than one window");
    }

    fn spans(n: usize, budget: usize, overlap: usize) -> Vec<(usize, usize)> {
        windows(n, budget, overlap).collect()
    }

    #[test]
    fn short_text_is_one_window() {
        assert_eq!(spans(10, 100, 32), vec![(0, 10)]);
        assert_eq!(spans(100, 100, 32), vec![(0, 100)]);
    }

    #[test]
    fn long_text_gets_even_overlapping_windows_that_cover_it() {
        for n in [101, 168, 169, 250, 300, 1000, 4097] {
            let w = spans(n, 100, 32);
            assert_eq!(w.first().unwrap().0, 0, "n={n}");
            assert_eq!(w.last().unwrap().1, n, "n={n}");
            let len = w[0].1 - w[0].0;
            assert!(len <= 100, "n={n}: window of {len}");
            for pair in w.windows(2) {
                let shared = pair[0].1.saturating_sub(pair[1].0);
                assert!(shared >= 32, "n={n}: neighbours share {shared}");
                assert_eq!(pair[1].1 - pair[1].0, len, "n={n}: windows of one length");
            }
            // The fewest windows: one less could not cover n with that overlap.
            let k = w.len();
            assert!(k == 1 || (k - 1) * 100 - (k - 2) * 32 < n, "n={n}: {k} windows");
        }
    }

    #[test]
    fn a_little_over_the_budget_splits_in_halves_not_a_stub() {
        assert_eq!(spans(101, 100, 32), vec![(0, 67), (34, 101)]);
    }
}
