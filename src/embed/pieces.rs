//! multilingual-e5-small's tokenizer, loaded in a tenth of the time and memory.
//!
//! The model's `tokenizer.json` holds a SentencePiece Unigram model of 250,002 pieces. The
//! `tokenizers` crate loads it into a trie with a hash map in every node: 0.65 s and about
//! 300 MB, more than the rest of a cold search together (BENCHMARKS.md, "Meaning in every
//! language"). Here the pieces sit in one hash map, and the Viterbi search asks it for each
//! prefix of a word instead of walking a trie. Everything around the model (the
//! normalizer's precompiled character map, the pre-tokenizer's splits, the `<s>`/`</s>`
//! template, offsets) is still the crate's own, read from the same file, so an encoding
//! differs from the crate's only if this search does: it keeps the crate's order of
//! candidates and its tie-breaking, and a test holds it to the crate's ids on every real
//! vault.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::unigram::UnigramTrainer;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{Model, Token, TokenizerImpl};

/// The crate's pipeline around [`Unigram`].
pub type PieceTokenizer =
    TokenizerImpl<Unigram, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>;

/// What an unknown character scores below the least likely piece (the crate's and
/// SentencePiece's `kUnkPenalty`).
const UNK_PENALTY: f64 = 10.0;

/// A Unigram model: pieces, their log-probabilities and the best segmentation of a word.
pub struct Unigram {
    /// Each piece's id; of equal pieces the last, as in the crate.
    ids: HashMap<Arc<str>, u32>,
    /// Pieces and scores by id.
    vocab: Vec<(Arc<str>, f64)>,
    unk: u32,
    unk_score: f64,
    /// The longest piece, in bytes: no prefix beyond it can match.
    longest: usize,
}

/// The parts of `tokenizer.json` recall runs.
#[derive(Deserialize)]
struct File {
    normalizer: Option<NormalizerWrapper>,
    pre_tokenizer: Option<PreTokenizerWrapper>,
    post_processor: Option<PostProcessorWrapper>,
    decoder: Option<DecoderWrapper>,
    model: ModelFile,
    #[serde(default)]
    added_tokens: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct ModelFile {
    #[serde(rename = "type")]
    kind: String,
    unk_id: Option<u32>,
    vocab: Vec<(String, f64)>,
    #[serde(default)]
    byte_fallback: bool,
}

/// Loads `path` (a `tokenizer.json` with a Unigram model), or says why it cannot.
pub fn load(path: &Path) -> Result<PieceTokenizer, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let file: File = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    drop(bytes);
    let m = file.model;
    if m.kind != "Unigram" || m.byte_fallback || !file.added_tokens.is_empty() {
        return Err("not a Unigram model without byte fallback and added tokens".into());
    }
    let unk = m.unk_id.ok_or("the Unigram model has no unk_id")?;
    let vocab: Vec<(Arc<str>, f64)> = m.vocab.into_iter().map(|(p, s)| (Arc::from(p), s)).collect();
    if unk as usize >= vocab.len() {
        return Err("the Unigram model's unk_id is not a piece".into());
    }
    let mut ids = HashMap::with_capacity(vocab.len());
    for (id, (piece, _)) in vocab.iter().enumerate() {
        ids.insert(piece.clone(), id as u32);
    }
    let min_score = vocab.iter().map(|(_, s)| *s).fold(f64::INFINITY, f64::min);
    let model = Unigram {
        ids,
        unk,
        unk_score: min_score - UNK_PENALTY,
        longest: vocab.iter().map(|(p, _)| p.len()).max().unwrap_or(0),
        vocab,
    };
    let mut tokenizer = PieceTokenizer::new(model);
    tokenizer
        .with_normalizer(file.normalizer)
        .map_err(|e| e.to_string())?
        .with_pre_tokenizer(file.pre_tokenizer)
        .with_post_processor(file.post_processor)
        .with_decoder(file.decoder);
    Ok(tokenizer)
}

/// The best path's last step into a position: SentencePiece's `BestPathNode`.
#[derive(Clone, Copy)]
struct Step {
    id: u32,
    score: f64,
    from: Option<usize>,
}

impl Unigram {
    /// The most likely segmentation of `word` as byte ranges, consecutive unknown characters
    /// fused into one: the crate's `encode_optimized`, step for step.
    fn segment(&self, word: &str) -> Vec<(usize, usize)> {
        let n = word.len();
        let mut best = vec![
            Step {
                id: 0,
                score: 0.0,
                from: None
            };
            n + 1
        ];
        let mut start = 0;
        while start < n {
            let here = best[start].score;
            let first = word[start..].chars().next().map_or(1, char::len_utf8);
            let mut single = false;
            let limit = (start + self.longest).min(n);
            // Candidates in order of length, as the crate's trie yields them.
            let ends = (start + 1..=limit).filter(|&e| word.is_char_boundary(e));
            for end in ends {
                let Some(&id) = self.ids.get(&word[start..end]) else {
                    continue;
                };
                let score = self.vocab[id as usize].1 + here;
                let target = &mut best[end];
                if target.from.is_none() || score > target.score {
                    *target = Step {
                        id,
                        score,
                        from: Some(start),
                    };
                }
                single |= end - start == first;
            }
            if !single {
                let score = self.unk_score + here;
                let target = &mut best[start + first];
                if target.from.is_none() || score > target.score {
                    *target = Step {
                        id: self.unk,
                        score,
                        from: Some(start),
                    };
                }
            }
            start += first;
        }
        let mut out = Vec::new();
        let mut end = n;
        // The end of a run of unknown pieces being fused, walking backwards.
        let mut unknown_end = None;
        while end > 0 {
            let step = best[end];
            let from = step.from.unwrap_or(0);
            if step.id == self.unk {
                unknown_end.get_or_insert(end);
            } else {
                if let Some(e) = unknown_end.take() {
                    out.push((end, e));
                }
                out.push((from, end));
            }
            end = from;
        }
        if let Some(e) = unknown_end {
            out.push((0, e));
        }
        out.reverse();
        out
    }
}

impl Model for Unigram {
    type Trainer = UnigramTrainer;

    fn tokenize(&self, sequence: &str) -> tokenizers::Result<Vec<Token>> {
        Ok(self
            .segment(sequence)
            .into_iter()
            .map(|(from, to)| {
                let piece = &sequence[from..to];
                let id = self.ids.get(piece).copied().unwrap_or(self.unk);
                Token::new(id, piece.to_string(), (from, to))
            })
            .collect())
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.vocab.get(id as usize).map(|(p, _)| p.to_string())
    }

    fn get_vocab(&self) -> HashMap<String, u32> {
        self.ids.iter().map(|(p, id)| (p.to_string(), *id)).collect()
    }

    fn get_vocab_size(&self) -> usize {
        self.vocab.len()
    }

    fn save(&self, _folder: &Path, _prefix: Option<&str>) -> tokenizers::Result<Vec<PathBuf>> {
        Err("recall reads tokenizer.json and never writes one".into())
    }

    fn get_trainer(&self) -> UnigramTrainer {
        UnigramTrainer::default()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::embed::{cache_dir, ModelKind};

    fn tokenizer_json() -> Option<PathBuf> {
        let path = cache_dir()
            .join(ModelKind::Multilingual.name())
            .join("tokenizer.json");
        path.is_file().then_some(path)
    }

    /// Texts in every script of the real vaults, plus the edges: unknown characters next to
    /// each other, special-token lookalikes, runs of spaces, an empty text.
    fn texts() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vaults");
        let mut out: Vec<String> = [
            "",
            "   ",
            "<s> </s> <unk> <pad>",
            "🦀🦀 ☃☃ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢  ａｂｃ ﬁ",
            "passage: Sauerteigbrot über Nacht gären lassen",
            "query: 服务器 每天 早上 检查日志",
            "ﾊﾝｶｸ ｶﾀｶﾅ と 한국어 텍스트 and ελληνικά, русский текст",
        ]
        .map(String::from)
        .to_vec();
        let mut files: Vec<PathBuf> = walk(&root);
        files.sort();
        // Every seventh note of every vault, whole: a few thousand texts in a few seconds.
        out.extend(
            files
                .iter()
                .step_by(7)
                .filter_map(|f| std::fs::read_to_string(f).ok()),
        );
        out
    }

    fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .flat_map(|e| match e.path() {
                p if p.is_dir() => walk(&p),
                p if p.extension().is_some_and(|x| x == "md") => vec![p],
                _ => Vec::new(),
            })
            .collect()
    }

    /// Token for token the `tokenizers` crate's encoding of the same file: ids, offsets into
    /// the original text, and the `<s>`/`</s>` template.
    #[test]
    fn encodes_as_the_tokenizers_crate_does() {
        let Some(path) = tokenizer_json() else {
            eprintln!("skipped: the multilingual model is not installed");
            return;
        };
        let ours = super::load(&path).unwrap();
        let theirs = tokenizers::Tokenizer::from_file(&path).unwrap();
        let texts = texts();
        assert!(texts.len() > 1000, "the real vaults were not found");
        for text in &texts {
            for special in [false, true] {
                let (a, b) = (
                    ours.encode(text.as_str(), special).unwrap(),
                    theirs.encode(text.as_str(), special).unwrap(),
                );
                assert_eq!(a.get_ids(), b.get_ids(), "ids of {text:?}");
                assert_eq!(a.get_offsets(), b.get_offsets(), "offsets of {text:?}");
            }
        }
    }
}
