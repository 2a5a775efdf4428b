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

use fastembed::{InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};

use crate::note::{Note, Section};

/// The ONNX Runtime library file the fetch script installs.
pub const ORT_LIB: &str = "libonnxruntime.so.1.31.1";
/// The model folder the fetch script installs, inside the cache.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// The model's window, in word pieces (including [CLS] and [SEP]).
pub const MAX_TOKENS: usize = 256;
/// Texts per inference call. One, by measurement (BENCHMARKS.md): on 2 cores a lone text
/// runs faster than a padded batch of 32 (65 vs 48 chunks/s with the default model), and
/// with dynamically quantized models a vector then never depends on its batch-mates, so
/// cached, re-embedded and query vectors always agree.
pub const BATCH: usize = 1;
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

/// Where the runtime and model live.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    pub runtime: PathBuf,
    pub model_dir: PathBuf,
}

impl ModelPaths {
    /// `--model-dir` (a model folder), else `$RECALL_MODEL_DIR`, `$XDG_CACHE_HOME/recall`,
    /// `~/.cache/recall` (the cache holding the runtime and `all-MiniLM-L6-v2/`).
    /// `$RECALL_ORT_LIB` overrides the runtime library.
    pub fn locate(model_dir: Option<&Path>) -> ModelPaths {
        let cache = cache_dir();
        let runtime = std::env::var_os("RECALL_ORT_LIB")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| cache.join(ORT_LIB));
        let model_dir = model_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cache.join(MODEL_NAME));
        ModelPaths { runtime, model_dir }
    }
}

/// The model cache folder.
pub fn cache_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("RECALL_MODEL_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("recall")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("recall")))
        .unwrap_or_else(|| PathBuf::from(".cache/recall"))
}

/// A loaded model.
pub struct Embedder {
    model: TextEmbedding,
    tokenizer: tokenizers::Tokenizer,
    dim: usize,
    fingerprint: String,
    pub paths: ModelPaths,
}

/// A piece of a section small enough for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub section: u32,
    /// What is embedded: `title > headings: text`.
    pub text: String,
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|_| EmbedError::Missing(path.to_path_buf()))
}

impl Embedder {
    /// Loads the runtime and the model; every failure names the file at fault.
    pub fn load(paths: ModelPaths) -> Result<Embedder, EmbedError> {
        if !paths.runtime.is_file() {
            return Err(EmbedError::Missing(paths.runtime.clone()));
        }
        for f in MODEL_FILES {
            if !paths.model_dir.join(f).is_file() {
                return Err(EmbedError::Missing(paths.model_dir.join(f)));
            }
        }
        init_runtime(&paths.runtime)?;
        let dir = &paths.model_dir;
        let onnx = read(&dir.join("model.onnx"))?;
        let fingerprint = format!("{}:{}", MODEL_NAME, &blake3::hash(&onnx).to_hex()[..16]);
        let files = TokenizerFiles {
            tokenizer_file: read(&dir.join("tokenizer.json"))?,
            config_file: read(&dir.join("config.json"))?,
            special_tokens_map_file: read(&dir.join("special_tokens_map.json"))?,
            tokenizer_config_file: read(&dir.join("tokenizer_config.json"))?,
        };
        // Our own copy of the tokenizer measures texts for chunking: without the file's
        // truncation and padding, which would hide how long a text really is.
        let mut tokenizer =
            tokenizers::Tokenizer::from_bytes(&files.tokenizer_file).map_err(|e| EmbedError::Model {
                dir: dir.clone(),
                why: format!("tokenizer.json: {e}"),
            })?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| EmbedError::Model {
                dir: dir.clone(),
                why: format!("tokenizer.json: {e}"),
            })?
            .with_padding(None);
        let user = UserDefinedEmbeddingModel::new(onnx, files).with_pooling(Pooling::Mean);
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let options = InitOptionsUserDefined::new()
            .with_max_length(MAX_TOKENS)
            .with_intra_threads(threads);
        let mut model =
            TextEmbedding::try_new_from_user_defined(user, options).map_err(|e| EmbedError::Model {
                dir: dir.clone(),
                why: e.to_string(),
            })?;
        let probe = model
            .embed(["dimension probe"], None)
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
            tokenizer,
            dim,
            fingerprint,
            paths,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Identifies the model weights: vectors from different models never mix.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Unit-length vectors for `texts`, in order.
    pub fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_with_progress(texts, &mut |_| {})
    }

    /// Unit-length vectors for `texts`, in order; `progress` hears how many are done.
    pub fn embed_with_progress(
        &mut self,
        texts: &[String],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for group in texts.chunks(PROGRESS_EVERY) {
            let vectors = self
                .model
                .embed(group, Some(BATCH))
                .map_err(|e| EmbedError::Inference(e.to_string()))?;
            out.extend(vectors.into_iter().map(normalized));
            progress(out.len());
        }
        Ok(out)
    }

    /// Splits a section into model-sized chunks, each prefixed with where it is.
    pub fn chunks(&self, note: &Note, index: u32, section: &Section) -> Vec<Chunk> {
        let prefix = format!("{}: ", note.context_of(section));
        let budget = MAX_TOKENS - 2 - self.count(&prefix).min(MAX_TOKENS / 2);
        let Ok(encoding) = self.tokenizer.encode(section.text.as_str(), false) else {
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
        // Windows of `budget` pieces overlapping by a quarter, cut at piece boundaries.
        let stride = budget * 3 / 4;
        let mut chunks = Vec::new();
        let mut start = 0;
        loop {
            let end = (start + budget).min(offsets.len());
            let (from, to) = (offsets[start].0, offsets[end - 1].1);
            let piece = section.text.get(from..to).unwrap_or("");
            chunks.push(Chunk {
                section: index,
                text: format!("{prefix}{piece}"),
            });
            if end == offsets.len() {
                break;
            }
            start += stride;
        }
        chunks
    }

    fn count(&self, text: &str) -> usize {
        self.tokenizer.encode(text, false).map(|e| e.len()).unwrap_or(0)
    }
}

/// Loads the runtime library once per process.
fn init_runtime(path: &Path) -> Result<(), EmbedError> {
    static RUNTIME: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            // The builder is not needed: loading the library is what matters, and the
            // default environment is created on first use.
            ort::init_from(path).map(drop).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|why| EmbedError::Runtime {
            path: path.to_path_buf(),
            why,
        })
}

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Cosine similarity of unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
