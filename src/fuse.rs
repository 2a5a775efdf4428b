//! Merging the keyword and the semantic ranked lists into one.
//!
//! Both lists are already rolled up to notes. The default is a convex combination of
//! z-score normalised scores (each list's scores minus its mean, over its standard
//! deviation), which on SciFact train beat reciprocal rank fusion and min-max (figures in
//! BENCHMARKS.md): unlike RRF it keeps how far ahead a clear winner is, and unlike min-max
//! it is not pulled around by one outlier. A note missing from one list takes that list's
//! lowest normalised score. The fused score is then rescaled to [0, 1] so the strength and
//! recency priors (which multiply) see a non-negative score.

use std::collections::HashMap;

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

/// Fuses two ranked note lists (each best first) into one, best first, each note carrying
/// where it stood in both. A note's sections are the keyword side's when it has them
/// (they explain the match with highlighted words), else the semantic side's.
pub fn fuse(lexical: &[NoteScore], semantic: &[NoteScore], fusion: Fusion) -> Vec<NoteScore> {
    let mut merged: HashMap<u32, (NoteScore, Signals)> = HashMap::new();
    for (rank, n) in lexical.iter().enumerate() {
        let e = merged
            .entry(n.note_ord)
            .or_insert_with(|| (n.clone(), Signals::default()));
        e.1.lexical = Some((rank + 1, n.score));
    }
    for (rank, n) in semantic.iter().enumerate() {
        let e = merged
            .entry(n.note_ord)
            .or_insert_with(|| (n.clone(), Signals::default()));
        e.1.semantic = Some((rank + 1, n.score));
    }
    let lex_scores: Vec<f32> = lexical.iter().map(|n| n.score).collect();
    let sem_scores: Vec<f32> = semantic.iter().map(|n| n.score).collect();
    let (ln, sn) = (normalizer(&lex_scores, fusion), normalizer(&sem_scores, fusion));
    let floor =
        |scores: &[f32], f: &dyn Fn(f32) -> f32| scores.iter().copied().map(f).fold(f32::INFINITY, f32::min);
    let (lex_floor, sem_floor) = (floor(&lex_scores, &ln), floor(&sem_scores, &sn));
    for (_, signals) in merged.values_mut() {
        signals.fused = match fusion {
            Fusion::Rrf { k, w_lex } => {
                let rr = |r: Option<(usize, f32)>| r.map(|(rank, _)| 1.0 / (k + rank as f32)).unwrap_or(0.0);
                2.0 * (w_lex * rr(signals.lexical) + (1.0 - w_lex) * rr(signals.semantic))
            }
            Fusion::ZScore { a } | Fusion::MinMax { a } => {
                let l = signals.lexical.map(|(_, s)| ln(s)).unwrap_or(lex_floor);
                let s = signals.semantic.map(|(_, s)| sn(s)).unwrap_or(sem_floor);
                let l = if l.is_finite() { l } else { 0.0 };
                let s = if s.is_finite() { s } else { 0.0 };
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
            let fused = fuse(&lex, &sem, fusion);
            assert_eq!(fused[0].note_ord, 2, "{fusion:?}: high in both lists");
            assert_eq!(fused.len(), 4);
            let n3 = fused.iter().find(|n| n.note_ord == 3).unwrap();
            assert_eq!(n3.signals.semantic, None);
            assert_eq!(n3.signals.lexical, Some((3, 1.0)));
            assert!(fused.iter().all(|n| (0.0..=1.0).contains(&n.score)));
        }
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
        let fused = fuse(&lex, &[], DEFAULT_FUSION);
        let order: Vec<u32> = fused.iter().map(|n| n.note_ord).collect();
        assert_eq!(order, vec![1, 2, 3]);
    }
}
