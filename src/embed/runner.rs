//! One inference session of a model: tokenizing, running the graph, mean pooling.
//!
//! MiniLM runs through fastembed. multilingual-e5-small runs on an ONNX Runtime session of
//! its own with the compact tokenizer of [`super::pieces`], because fastembed accepts only
//! the `tokenizers` crate's own tokenizer, whose loading of this model's 250,002 pieces
//! alone took longer than a cold search may (BENCHMARKS.md, "Meaning in every language").
//! Both make their sessions with the same options ([`SESSION_CONFIG`]), feed one text per
//! run ([`super::BATCH`]) cut at [`super::MAX_TOKENS`], and average the last hidden states,
//! so a vector does not depend on which path made it.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use fastembed::{InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::{Encoding, TruncationDirection};

use super::pieces::{self, PieceTokenizer};
use super::{EmbedError, ModelKind, BATCH, MAX_TOKENS, RUNTIME};

/// Session options of every model.
const SESSION_CONFIG: [(&str, &str); 2] = [
    // ORT would fuse each residual Add + LayerNormalization into SkipLayerNormalization,
    // which runs slower on this CPU than the two ops it replaces (BENCHMARKS.md,
    // "Embedding throughput").
    ("optimization.disable_specified_optimizers", "SkipLayerNormFusion"),
    // ORT's idle workers spin by default: in a one-shot update that took a core from the
    // planning running beside the model's loading, and queries go no faster for it
    // (docs/experiments.md, "Update and query-time work at 50k notes").
    ("session.intra_op.allow_spinning", "0"),
];

/// A model's files as read before a session is made: fastembed's in memory; the direct
/// path's tokenizer (its graph is read by ONNX Runtime from the file).
pub(super) enum Source {
    Fastembed(UserDefinedEmbeddingModel),
    Direct(Pieces),
}

/// The direct path's tokenizer.
pub(super) enum Pieces {
    /// Loading on a thread of its own while the session is made: the two take about the
    /// same time, and a cold search waits for both.
    Loading(JoinHandle<Result<Arc<PieceTokenizer>, EmbedError>>),
    /// Loaded (a bulk worker's, shared with the query session).
    Loaded(Arc<PieceTokenizer>),
}

impl Pieces {
    fn get(self) -> Result<Arc<PieceTokenizer>, EmbedError> {
        match self {
            Pieces::Loaded(t) => Ok(t),
            Pieces::Loading(loading) => loading
                .join()
                .unwrap_or_else(|_| Err(EmbedError::Inference("loading the tokenizer panicked".into()))),
        }
    }
}

impl Source {
    /// Reads the model in `dir` as `kind` runs; every failure names the file at fault.
    pub(super) fn read(kind: ModelKind, dir: &Path) -> Result<Source, EmbedError> {
        match kind {
            ModelKind::MiniLm => Ok(Source::Fastembed(user_model(dir)?)),
            ModelKind::Multilingual => {
                let path = dir.join("tokenizer.json");
                if !path.is_file() {
                    return Err(EmbedError::Missing(path));
                }
                Ok(Source::Direct(Pieces::Loading(std::thread::spawn(move || {
                    pieces::load(&path)
                        .map(Arc::new)
                        .map_err(|why| EmbedError::Model { dir: path, why })
                }))))
            }
        }
    }
}

/// A session and its tokenizer.
pub(super) enum Runner {
    /// The tokenizer without truncation and padding, which would hide how long a text
    /// really is, is copied on the first chunking, so that a query process never holds a
    /// second copy.
    Fastembed {
        model: Box<TextEmbedding>,
        measurer: Box<OnceLock<tokenizers::Tokenizer>>,
    },
    Direct {
        session: Box<Session>,
        tokenizer: Arc<PieceTokenizer>,
        type_ids: bool,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|_| EmbedError::Missing(path.to_path_buf()))
}

/// The model files in `dir`, read for a fastembed session.
fn user_model(dir: &Path) -> Result<UserDefinedEmbeddingModel, EmbedError> {
    let files = TokenizerFiles {
        tokenizer_file: read(&dir.join("tokenizer.json"))?,
        config_file: read(&dir.join("config.json"))?,
        special_tokens_map_file: read(&dir.join("special_tokens_map.json"))?,
        tokenizer_config_file: read(&dir.join("tokenizer_config.json"))?,
    };
    Ok(UserDefinedEmbeddingModel::new(read(&dir.join("model.onnx"))?, files).with_pooling(Pooling::Mean))
}

/// The process's ONNX Runtime environment (made by `init_runtime` before any session).
fn environment() -> Option<&'static ort::environment::Environment> {
    RUNTIME.get().and_then(|r| r.as_ref().ok())
}

impl Runner {
    /// A session over `threads` threads on `source`.
    ///
    /// Without `arena`, ONNX Runtime allocates each run's tensors from the heap and frees
    /// them after: a server's sessions, which embed a whole chunk now and then between
    /// short queries, otherwise kept growing their arena by doubling, though every run had
    /// been given room at full length (docs/experiments.md, "Update and query-time work at
    /// 50k notes"; the soak: BENCHMARKS.md, "Serving").
    pub(super) fn open(
        source: Source,
        dir: &Path,
        threads: usize,
        arena: bool,
    ) -> Result<Runner, EmbedError> {
        let failed = |why: String| EmbedError::Model {
            dir: dir.to_path_buf(),
            why,
        };
        let cpu = ort::ep::CPU::default().with_arena_allocator(arena);
        match source {
            Source::Fastembed(user) => {
                let mut options = InitOptionsUserDefined::new()
                    .with_execution_providers(vec![cpu.into()])
                    .with_max_length(MAX_TOKENS)
                    .with_intra_threads(threads);
                for (key, value) in SESSION_CONFIG {
                    options = options.with_session_config(key, value);
                }
                if let Some(environment) = environment() {
                    options = options.with_environment(environment.clone());
                }
                let model = TextEmbedding::try_new_from_user_defined(user, options)
                    .map_err(|e| failed(e.to_string()))?;
                Ok(Runner::Fastembed {
                    model: Box::new(model),
                    measurer: Box::default(),
                })
            }
            Source::Direct(pieces) => {
                let environment = environment().ok_or_else(|| failed("ONNX Runtime is not loaded".into()))?;
                let built = |e: ort::Error<ort::session::builder::SessionBuilder>| failed(e.to_string());
                let mut builder = Session::builder(environment)
                    .map_err(|e| failed(e.to_string()))?
                    .with_execution_providers([cpu.into()])
                    .map_err(built)?
                    .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Level3)
                    .map_err(built)?
                    .with_intra_threads(threads)
                    .map_err(built)?;
                for (key, value) in SESSION_CONFIG {
                    builder = builder.with_config_entry(key, value).map_err(built)?;
                }
                let session = builder
                    .commit_from_file(dir.join("model.onnx"))
                    .map_err(|e| failed(e.to_string()))?;
                let type_ids = session.inputs().iter().any(|i| i.name() == "token_type_ids");
                let tokenizer = pieces.get()?;
                Ok(Runner::Direct {
                    session: Box::new(session),
                    tokenizer,
                    type_ids,
                })
            }
        }
    }

    /// Another single-threaded session of the same model, for bulk embedding: the
    /// fastembed path reads its files again rather than keeping them (the model's bytes
    /// would stay in every query process for the sake of builds); the direct path shares
    /// its tokenizer.
    pub(super) fn worker(&self, dir: &Path) -> Result<Runner, EmbedError> {
        let source = match self {
            Runner::Fastembed { .. } => Source::Fastembed(user_model(dir)?),
            Runner::Direct { tokenizer, .. } => Source::Direct(Pieces::Loaded(tokenizer.clone())),
        };
        Runner::open(source, dir, 1, true)
    }

    /// Unit-length vectors for `group`, one text per model call ([`BATCH`]).
    pub(super) fn embed(&mut self, group: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let vectors = match self {
            Runner::Fastembed { model, .. } => model
                .embed(group, Some(BATCH))
                .map_err(|e| EmbedError::Inference(e.to_string()))?,
            Runner::Direct {
                session,
                tokenizer,
                type_ids,
            } => group
                .iter()
                .map(|text| run(session, tokenizer, *type_ids, text))
                .collect::<Result<_, _>>()?,
        };
        Ok(vectors.into_iter().map(super::normalized).collect())
    }

    /// `text` in the model's pieces, without special tokens or truncation: what chunking
    /// measures.
    pub(super) fn measure(&self, text: &str) -> Option<Encoding> {
        match self {
            Runner::Fastembed { model, measurer } => measurer
                .get_or_init(|| {
                    // A copy, not a second parse of tokenizer.json (that was a sixth of a load).
                    let mut t = model.tokenizer.clone();
                    t.with_padding(None);
                    // Turning truncation off cannot fail (only a bad stride can).
                    let _ = t.with_truncation(None);
                    t
                })
                .encode(text, false)
                .ok(),
            Runner::Direct { tokenizer, .. } => tokenizer.encode(text, false).ok(),
        }
    }

    /// Whether the measuring copy of the tokenizer has been made (tests).
    #[cfg(test)]
    pub(super) fn measured(&self) -> bool {
        matches!(self, Runner::Fastembed { measurer, .. } if measurer.get().is_some())
    }
}

/// The mean of the last hidden states of `text`, cut at the model's window as fastembed
/// cuts it (the end dropped, `<s>` and `</s>` kept).
fn run(
    session: &mut Session,
    tokenizer: &PieceTokenizer,
    type_ids: bool,
    text: &str,
) -> Result<Vec<f32>, EmbedError> {
    let failed = |why: String| EmbedError::Inference(why);
    let mut encoding = tokenizer.encode(text, false).map_err(|e| failed(e.to_string()))?;
    let added = tokenizer.get_post_processor().map_or(0, |p| {
        use tokenizers::PostProcessor;
        p.added_tokens(false)
    });
    encoding.truncate(MAX_TOKENS - added, 0, TruncationDirection::Right);
    let encoding = tokenizer
        .post_process(encoding, None, true)
        .map_err(|e| failed(e.to_string()))?;
    let n = encoding.len();
    let tensor = |values: Vec<i64>| Tensor::from_array(([1, n], values)).map_err(|e| failed(e.to_string()));
    let ids = tensor(encoding.get_ids().iter().map(|&i| i64::from(i)).collect())?;
    let mask = tensor(vec![1; n])?;
    let mut inputs = ort::inputs!["input_ids" => ids, "attention_mask" => mask];
    if type_ids {
        inputs.push(("token_type_ids".into(), tensor(vec![0; n])?.into()));
    }
    let outputs = session.run(inputs).map_err(|e| failed(e.to_string()))?;
    let hidden = match outputs.get("last_hidden_state") {
        Some(v) => v,
        None => &outputs[0],
    };
    let (shape, values) = hidden
        .try_extract_tensor::<f32>()
        .map_err(|e| failed(e.to_string()))?;
    let dim = shape.last().copied().unwrap_or(0) as usize;
    if dim == 0 || values.len() != n * dim {
        return Err(failed(format!("unexpected output shape {shape:?}")));
    }
    let mut mean = vec![0f32; dim];
    for token in values.chunks_exact(dim) {
        mean.iter_mut().zip(token).for_each(|(m, x)| *m += x);
    }
    mean.iter_mut().for_each(|m| *m /= n as f32);
    Ok(mean)
}
