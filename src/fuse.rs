//! Merging the keyword and the semantic ranked lists into one.
//!
//! Both lists are already rolled up to notes. The default is a convex combination of
//! z-score normalised scores (each list's scores minus its mean, over its standard
//! deviation), which on SciFact train beat reciprocal rank fusion and min-max
//! (BENCHMARKS.md, "Fusion and lexical tuning"): unlike RRF it keeps how far ahead a clear
//! winner is, and unlike min-max it is not pulled around by one outlier. The fused score
//! is then rescaled to [0, 1] so the strength and recency priors (which multiply) see a
//! non-negative score.

use rustc_hash::FxHashMap;

use crate::rank::{sort, NoteScore, Signals};

/// How to merge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Weighted reciprocal rank fusion: `2 · (w · 1/(k + rank_lex) + (1 − w) · 1/(k + rank_sem))`.
    Rrf { k: f32, w_lex: f32 },
    /// a · z(lexical) + (1 − a) · z(semantic).
    ZScore { a: f32 },
    /// a · minmax(lexical) + (1 − a) · minmax(semantic).
    MinMax { a: f32 },
}

impl std::str::FromStr for Fusion {
    type Err = String;

    /// `zscore:A`, `minmax:A` (A = keyword weight, 0..1) or `rrf:K` / `rrf:K:W`.
    fn from_str(s: &str) -> Result<Fusion, String> {
        let bad = || format!("bad fusion `{s}`: expected zscore:A, minmax:A or rrf:K[:W], e.g. zscore:0.5");
        let mut parts = s.split(':');
        let kind = parts.next().unwrap_or_default();
        let nums: Vec<f32> = parts
            .map(|p| p.parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let weight_ok = |w: f32| (0.0..=1.0).contains(&w);
        match (kind, nums.as_slice()) {
            ("zscore", [a]) if weight_ok(*a) => Ok(Fusion::ZScore { a: *a }),
            ("minmax", [a]) if weight_ok(*a) => Ok(Fusion::MinMax { a: *a }),
            ("rrf", [k]) if *k > 0.0 => Ok(Fusion::Rrf { k: *k, w_lex: 0.5 }),
            ("rrf", [k, w]) if *k > 0.0 && weight_ok(*w) => Ok(Fusion::Rrf { k: *k, w_lex: *w }),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Fusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fusion::ZScore { a } => write!(f, "zscore:{a}"),
            Fusion::MinMax { a } => write!(f, "minmax:{a}"),
            Fusion::Rrf { k, w_lex } => write!(f, "rrf:{k}:{w_lex}"),
        }
    }
}

/// The default, chosen on SciFact train.
pub const DEFAULT_FUSION: Fusion = Fusion::ZScore { a: 0.5 };

fn normalizer(scores: &[f32], fusion: Fusion) -> impl Fn(f32) -> f32 {
    let n = scores.len().max(1) as f32;
    let (min, max) = scores
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    let mean = scores.iter().sum::<f32>() / n;
    let std = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / n).sqrt();
    move |s: f32| match fusion {
        Fusion::ZScore { .. } => {
            if std > 0.0 {
                (s - mean) / std
            } else {
                0.0
            }
        }
        _ => {
            if max > min {
                (s - min) / (max - min)
            } else {
                1.0
            }
        }
    }
}

/// One retriever's ranked list, best first.
#[derive(Debug, Clone, Copy)]
pub struct Ranked<'a> {
    pub notes: &'a [NoteScore],
    /// Whether the list holds every note with a score above zero (the retriever was not
    /// cut off at its depth): a note missing from it then truly scores 0.
    pub complete: bool,
}

impl Ranked<'_> {
    /// What a note missing from the list is taken to score: 0 when the list is complete,
    /// else the cut-off (the lowest score listed), the most it can have.
    fn missing(&self) -> f32 {
        if self.complete {
            0.0
        } else {
            self.notes.iter().map(|n| n.score).reduce(f32::min).unwrap_or(0.0)
        }
    }
}

/// Fuses two ranked note lists into one, best first, each note carrying where it stood in
/// both. A note's sections are the keyword side's when it has them (they explain the
/// match with highlighted words), else the semantic side's.
///
/// Every note of either list gets a score on both sides (its own, or the missing score
/// of `Ranked::missing`), and each side is normalized over that whole candidate pool.
/// So a short, complete keyword list (an exact phrase that two notes contain) stands far
/// above the pool instead of being flattened by its own few scores. That matters most for
/// the Chinese known-item queries, whose keyword lists hold a handful of notes, and costs
/// nothing on SciFact train (BENCHMARKS.md, "Normalizing each side over the whole
/// candidate pool").
///
/// A note for which `foreign` holds (one in another language than the query, judged by a
/// model that reads both) and that no keyword of the query matches is not held to the
/// query's words, which it could not have used: its semantic score stands for its keyword
/// score, and the keyword side is normalized over the other notes only, so that an
/// English note sharing one word with the question does not stand out the more, the more
/// notes in other languages the pool holds. Otherwise a vault's few notes in German sink
/// under every English note that shares one word with an English question (BENCHMARKS.md,
/// "Meaning in every language").
pub fn fuse(
    lexical: Ranked<'_>,
    semantic: Ranked<'_>,
    fusion: Fusion,
    foreign: &dyn Fn(u32) -> bool,
) -> Vec<NoteScore> {
    let mut merged: FxHashMap<u32, (NoteScore, Signals)> = FxHashMap::default();
    for (rank, n) in lexical.notes.iter().enumerate() {
        let e = merged
            .entry(n.note_ord)
            .or_insert_with(|| (n.clone(), Signals::default()));
        e.1.lexical = Some((rank + 1, n.score));
    }
    for (rank, n) in semantic.notes.iter().enumerate() {
        let e = merged
            .entry(n.note_ord)
            .or_insert_with(|| (n.clone(), Signals::default()));
        e.1.semantic = Some((rank + 1, n.score));
    }
    let (lex_missing, sem_missing) = (lexical.missing(), semantic.missing());
    let raw = |x: Option<(usize, f32)>, missing: f32| x.map(|(_, s)| s).unwrap_or(missing);
    let by_meaning = |ord: u32, s: &Signals| s.lexical.is_none() && foreign(ord);
    // The keyword side is normalized over the notes it judges.
    let lex_pool: Vec<f32> = merged
        .iter()
        .filter(|(ord, (_, s))| !by_meaning(**ord, s))
        .map(|(_, (_, s))| raw(s.lexical, lex_missing))
        .collect();
    let sem_pool: Vec<f32> = merged
        .values()
        .map(|(_, s)| raw(s.semantic, sem_missing))
        .collect();
    let (ln, sn) = (normalizer(&lex_pool, fusion), normalizer(&sem_pool, fusion));
    for (ord, (_, signals)) in merged.iter_mut() {
        let by_meaning = by_meaning(*ord, signals);
        signals.fused = match fusion {
            Fusion::Rrf { k, w_lex } => {
                let rr = |r: Option<(usize, f32)>| r.map(|(rank, _)| 1.0 / (k + rank as f32)).unwrap_or(0.0);
                let s = rr(signals.semantic);
                let l = if by_meaning { s } else { rr(signals.lexical) };
                2.0 * (w_lex * l + (1.0 - w_lex) * s)
            }
            Fusion::ZScore { a } | Fusion::MinMax { a } => {
                let l = ln(raw(signals.lexical, lex_missing));
                let s = sn(raw(signals.semantic, sem_missing));
                let l = if l.is_finite() { l } else { 0.0 };
                let s = if s.is_finite() { s } else { 0.0 };
                let l = if by_meaning { s } else { l };
                a * l + (1.0 - a) * s
            }
        };
    }
    // Rescale to [0, 1] so multiplicative priors behave.
    let (lo, hi) = merged
        .values()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, s)| {
            (lo.min(s.fused), hi.max(s.fused))
        });
    let mut out: Vec<NoteScore> = merged
        .into_values()
        .map(|(mut note, signals)| {
            note.score = if hi > lo {
                (signals.fused - lo) / (hi - lo)
            } else {
                1.0
            };
            note.signals = signals;
            note
        })
        .collect();
    sort(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(notes: &[NoteScore]) -> Ranked<'_> {
        Ranked {
            notes,
            complete: false,
        }
    }

    fn list(scores: &[(u32, f32)]) -> Vec<NoteScore> {
        scores
            .iter()
            .map(|&(note_ord, score)| NoteScore::new(note_ord, score, vec![(0, score)]))
            .collect()
    }

    #[test]
    fn agreement_wins_and_missing_notes_take_the_floor() {
        let lex = list(&[(1, 10.0), (2, 8.0), (3, 1.0)]);
        let sem = list(&[(2, 0.9), (4, 0.8), (1, 0.2)]);
        for fusion in [
            DEFAULT_FUSION,
            Fusion::MinMax { a: 0.5 },
            Fusion::Rrf { k: 60.0, w_lex: 0.5 },
        ] {
            let fused = fuse(ranked(&lex), ranked(&sem), fusion, &|_| false);
            assert_eq!(fused[0].note_ord, 2, "{fusion:?}: high in both lists");
            assert_eq!(fused.len(), 4);
            let n3 = fused.iter().find(|n| n.note_ord == 3).unwrap();
            assert_eq!(n3.signals.semantic, None);
            assert_eq!(n3.signals.lexical, Some((3, 1.0)));
            assert!(fused.iter().all(|n| (0.0..=1.0).contains(&n.score)));
        }
    }

    #[test]
    fn a_short_complete_keyword_list_is_not_flattened() {
        // One exact keyword match, and a long semantic list where it sits in the middle.
        let lex = list(&[(7, 12.0)]);
        let sem: Vec<(u32, f32)> = (0..300).map(|i| (i, 0.8 - i as f32 * 0.001)).collect();
        let sem = list(&sem);
        let complete = Ranked {
            notes: &lex,
            complete: true,
        };
        let fused = fuse(complete, ranked(&sem), DEFAULT_FUSION, &|_| false);
        assert_eq!(fused[0].note_ord, 7, "the only keyword match leads");
        let cut_off = fuse(ranked(&lex), ranked(&sem), DEFAULT_FUSION, &|_| false);
        assert_ne!(
            cut_off[0].note_ord, 7,
            "a cut-off list only says the rest scored less"
        );
    }

    #[test]
    fn parses_and_prints() {
        for s in ["zscore:0.5", "minmax:0.3", "rrf:60:0.5"] {
            assert_eq!(s.parse::<Fusion>().unwrap().to_string(), s);
        }
        assert!("zscore:2".parse::<Fusion>().is_err());
        assert!("borda".parse::<Fusion>().is_err());
    }

    #[test]
    fn one_empty_side_keeps_the_other_order() {
        let lex = list(&[(1, 3.0), (2, 2.0), (3, 1.0)]);
        let fused = fuse(ranked(&lex), ranked(&[]), DEFAULT_FUSION, &|_| false);
        let order: Vec<u32> = fused.iter().map(|n| n.note_ord).collect();
        assert_eq!(order, vec![1, 2, 3]);
    }

    #[test]
    fn a_note_in_another_language_is_not_held_to_the_query_words() {
        // "going to bed early and avoiding screens for better rest" over examples/languages:
        // notes 1 and 3 share a word with the question ("avoid", "beds"); note 2, in
        // Chinese, shares none but is closest in meaning.
        let lex = list(&[(1, 2.29), (3, 2.18)]);
        let sem = list(&[
            (2, 0.829),
            (4, 0.821),
            (3, 0.821),
            (1, 0.799),
            (5, 0.785),
            (6, 0.78),
            (7, 0.776),
        ]);
        let complete = Ranked {
            notes: &lex,
            complete: true,
        };
        let same = fuse(complete, ranked(&sem), DEFAULT_FUSION, &|_| false);
        assert_ne!(same[0].note_ord, 2, "held to the query's words, it loses");
        let foreign = fuse(complete, ranked(&sem), DEFAULT_FUSION, &|ord| ord == 2);
        assert_eq!(foreign[0].note_ord, 2, "judged by meaning, it wins");
        // A foreign note that does match a keyword is scored as any other.
        let matched = fuse(complete, ranked(&sem), DEFAULT_FUSION, &|ord| ord == 3);
        assert_eq!(matched, same);
    }

    #[test]
    fn the_keyword_side_is_normalized_over_the_notes_it_judges() {
        // "when to water tomato plants and prune their side shoots" over examples/languages:
        // one English note (1) shares "water"; the Spanish note on tomatoes (2) none. Notes
        // 2, 3, 4, 8 and 9 are in other languages than the question.
        let lex = list(&[(1, 2.316)]);
        let sem = list(&[
            (2, 0.865),
            (1, 0.849),
            (3, 0.790),
            (4, 0.784),
            (5, 0.776),
            (6, 0.773),
            (7, 0.770),
            (8, 0.760),
            (9, 0.755),
        ]);
        let complete = Ranked {
            notes: &lex,
            complete: true,
        };
        let fused = fuse(complete, ranked(&sem), DEFAULT_FUSION, &|ord| {
            [2, 3, 4, 8, 9].contains(&ord)
        });
        assert_eq!(fused[0].note_ord, 2);
        // With every note in the question's language, the keyword match keeps its lead.
        let same = fuse(complete, ranked(&sem), DEFAULT_FUSION, &|_| false);
        assert_eq!(same[0].note_ord, 1);
    }
}
