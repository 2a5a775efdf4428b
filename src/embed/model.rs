//! Which embedding model: the models the fetch script installs (MiniLM for English,
//! multilingual-e5-small for the rest), where their files are, and how `--model auto`
//! chooses one for a vault from the languages of its notes.

use std::path::{Path, PathBuf};

/// The ONNX Runtime library file the fetch script installs.
pub const ORT_LIB: &str = "libonnxruntime.so.1.31.1";
/// The model folder the fetch script installs, inside the cache, that recall uses unless
/// an index or `--model` names another.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// The embedding models `scripts/fetch-model.sh` installs, each in its own folder of the
/// cache. e5 models were trained with a prefix that says which side of a search a text is
/// on; MiniLM with none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// all-MiniLM-L6-v2: English, 6 layers.
    MiniLm,
    /// multilingual-e5-small: about 100 languages, 12 layers.
    Multilingual,
}

impl ModelKind {
    /// Its folder in the cache, and the name an index records.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::MiniLm => MODEL_NAME,
            ModelKind::Multilingual => "multilingual-e5-small",
        }
    }

    /// What `--model` calls it.
    pub fn flag(self) -> &'static str {
        match self {
            ModelKind::MiniLm => "minilm",
            ModelKind::Multilingual => "multilingual",
        }
    }

    pub fn query_prefix(self) -> &'static str {
        match self {
            ModelKind::MiniLm => "",
            ModelKind::Multilingual => "query: ",
        }
    }

    pub fn passage_prefix(self) -> &'static str {
        match self {
            ModelKind::MiniLm => "",
            ModelKind::Multilingual => "passage: ",
        }
    }

    /// The kind of the model in `dir`, by the folder's name: one of another name (a
    /// `--model-dir` of one's own) is taken as a MiniLM-like model, without prefixes.
    pub fn of_dir(dir: &Path) -> ModelKind {
        match dir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("multilingual-e5"))
        {
            true => ModelKind::Multilingual,
            false => ModelKind::MiniLm,
        }
    }

    /// The kind an index's recorded model (`name:hash`) is.
    pub fn of_recorded(model: &str) -> ModelKind {
        match model.starts_with("multilingual-e5") {
            true => ModelKind::Multilingual,
            false => ModelKind::MiniLm,
        }
    }
}

/// The share of a vault's notes (of those whose language shows) not in English from which
/// `--model auto` embeds with the multilingual model. Measured on the real vaults of
/// `../shared/vaults` (`cargo test --release --lib -- --ignored language_of_real_vaults
/// --nocapture`; BENCHMARKS.md, "Notes in every language"): the English ones stay far
/// below it, any vault with a real share of notes in other languages is above.
pub const MULTILINGUAL_FROM: f32 = 0.05;
/// Notes a vault's language is judged by.
const LANGUAGE_SAMPLE: usize = 400;

/// Which model `--model auto` picks for a vault, and why, in words.
pub fn choose_model(vault: &Path) -> (ModelKind, String) {
    let (mut english, mut other) = (0usize, 0usize);
    for text in crate::vault::sample_texts(vault, LANGUAGE_SAMPLE) {
        match crate::language::is_english(&text) {
            Some(true) => english += 1,
            Some(false) => other += 1,
            None => {}
        }
    }
    let share = other as f32 / (english + other).max(1) as f32;
    let kind = match share >= MULTILINGUAL_FROM {
        true => ModelKind::Multilingual,
        false => ModelKind::MiniLm,
    };
    let why = format!(
        "auto: {:.1} % of {} sampled notes not in English ({} from {:.0} %)",
        share * 100.0,
        english + other,
        match kind {
            ModelKind::Multilingual => "multilingual",
            ModelKind::MiniLm => "multilingual only",
        },
        MULTILINGUAL_FROM * 100.0
    );
    (kind, why)
}

/// Where the runtime and model live.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    pub runtime: PathBuf,
    pub model_dir: PathBuf,
    /// Given with `--model-dir`: then no index or flag picks another folder.
    pub explicit: bool,
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
        ModelPaths {
            runtime,
            explicit: model_dir.is_some(),
            model_dir: model_dir
                .map(Path::to_path_buf)
                .unwrap_or_else(|| cache.join(MODEL_NAME)),
        }
    }

    /// The paths of the model `kind`, in the same cache (unless `--model-dir` chose one).
    pub fn of_kind(&self, kind: ModelKind) -> ModelPaths {
        if self.explicit {
            return self.clone();
        }
        let cache = self
            .model_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(cache_dir);
        ModelPaths {
            runtime: self.runtime.clone(),
            model_dir: cache.join(kind.name()),
            explicit: false,
        }
    }

    /// The paths of the model an index was built with (`model`, as its manifest records
    /// it), so that queries and updates embed with that model.
    pub fn of_index(&self, model: Option<&str>) -> ModelPaths {
        match model {
            Some(m) => self.of_kind(ModelKind::of_recorded(m)),
            None => self.clone(),
        }
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
