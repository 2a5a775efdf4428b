//! Ranking after retrieval. Section hits roll up to notes ([`rollup`]); once `search` has
//! fused its lists (or `related` combined its evidence), the ranking rules run as one
//! ordered list of explicit steps, as in milli ([`Rule`], [`apply_rules`]): the floor
//! drops the candidates with too little evidence, the priors multiply in strength (and
//! recency when asked for), the cut keeps the best. The floor reads the evidence before
//! the priors, so no prior saves or sinks a result at the floor.
//!
//! **Strength prior.** A note's relevance score is multiplied by
//! `1 + w · (strength − 0.5)`, where notes without a strength count as 0.5 (neutral), so
//! the factor lies in `[1 − w/2, 1 + w/2]`: it breaks ties and near-ties in favour of
//! stronger memories but cannot lift a barely relevant note over a clearly relevant one.
//! The default `w` was chosen on SciFact memory notes (BENCHMARKS.md, "Strength prior").
//!
//! **Recency.** With a half-life `h`, the score is multiplied by `1 + 0.5 · 2^(−age/h)`:
//! a note updated today gains 50 %, one updated `h` ago 25 %, an old one nothing.

use rustc_hash::FxHashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::record::Prior;

/// λ of [`blend_whole`]: chosen on SciFact train as memory notes, where 0.75 ranked best of
/// 0, 0.5, 0.75 and 1 (`recall eval` on the `benches/quality.sh` indexes); plain SciFact,
/// one section a note, is indifferent to it.
pub const WHOLE_NOTE_WEIGHT: f32 = 0.75;
/// Default weight of the strength prior: the largest of 0.05, 0.1, 0.2 that costs at most
/// 0.005 nDCG@10 on SciFact memory notes, whose strengths are random; 0.2 went past that
/// once whole-note scoring sharpened the keyword side (BENCHMARKS.md, "Strength prior").
pub const DEFAULT_STRENGTH_WEIGHT: f32 = 0.1;
/// What a note without a strength counts as.
pub const NEUTRAL_STRENGTH: f32 = 0.5;
/// How much a just-updated note gains under `--recent`.
const RECENCY_GAIN: f32 = 0.5;
/// How many sections of a note are kept to show why it matched.
const SECTIONS_KEPT: usize = 3;

/// A note in a ranked list, with the sections that earned it its place.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteScore {
    pub note_ord: u32,
    pub score: f32,
    /// (section, score), best first.
    pub sections: Vec<(u32, f32)>,
    /// Where the note stood in each retriever's list (for `--explain`).
    pub signals: Signals,
}

impl NoteScore {
    pub fn new(note_ord: u32, score: f32, sections: Vec<(u32, f32)>) -> NoteScore {
        NoteScore {
            note_ord,
            score,
            sections,
            signals: Signals::default(),
        }
    }
}

/// Where a note stood in the keyword and semantic lists before they were merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Signals {
    /// (1-based rank, BM25 score) in the keyword list.
    pub lexical: Option<(usize, f32)>,
    /// (1-based rank, cosine similarity) in the semantic list.
    pub semantic: Option<(usize, f32)>,
    /// The fused score, before priors.
    pub fused: f32,
    /// Absolute evidence (see `relevance`).
    pub evidence: crate::relevance::Evidence,
    /// The probability of relevance the evidence gives, before priors.
    pub relevance: f32,
    /// Words this note matched only through a typo correction (as written in notes).
    pub corrected: Vec<String>,
}

/// Rolls section hits up to notes: a note scores as its best section, and keeps its best
/// few sections. The result is sorted by score, best first.
pub fn rollup(hits: impl IntoIterator<Item = (u32, u32, f32)>) -> Vec<NoteScore> {
    let mut by_note: FxHashMap<u32, NoteScore> = FxHashMap::default();
    for (note_ord, section, score) in hits {
        let entry = by_note
            .entry(note_ord)
            .or_insert_with(|| NoteScore::new(note_ord, f32::NEG_INFINITY, Vec::new()));
        entry.score = entry.score.max(score);
        entry.sections.push((section, score));
    }
    let mut notes: Vec<NoteScore> = by_note
        .into_values()
        .map(|mut n| {
            n.sections
                .sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            n.sections.truncate(SECTIONS_KEPT);
            n
        })
        .collect();
    sort(&mut notes);
    notes
}

/// Blends each note's best-section BM25 with its whole-note BM25 (`whole`, from the note
/// index): `(1 − λ) · section + λ · whole`, then re-sorts. The best section alone misses
/// notes whose query words are spread over several sections; the whole note alone blurs
/// long notes. Notes without a whole-note score keep their section score's share only.
pub fn blend_whole(notes: &mut [NoteScore], whole: &FxHashMap<u32, f32>, lambda: f32) {
    for n in notes.iter_mut() {
        n.score = (1.0 - lambda) * n.score + lambda * whole.get(&n.note_ord).copied().unwrap_or(0.0);
    }
    sort(notes);
}

/// Multiplies each keyword score by the share of the query's span terms the note holds
/// (`share`: 1 for every note when the query has no Chinese, Japanese or Korean terms),
/// and sorts again. The share itself, not a power of it: on knownitem-zh the power 0.5
/// left hybrid nDCG@10 at 0.9950, 1 and 2 both gave 0.9986 (BENCHMARKS.md, "Meaning in
/// every language").
pub fn coordinate(notes: &mut [NoteScore], shares: &FxHashMap<u32, crate::share::Share>) {
    for n in notes.iter_mut() {
        n.score *= shares.get(&n.note_ord).map_or(0.0, |s| s.spans);
    }
    sort(notes);
}

/// Best first; ties by note order so results are deterministic.
pub fn sort(notes: &mut [NoteScore]) {
    notes.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.note_ord.cmp(&b.note_ord)));
}

/// The strength prior's factor.
pub fn strength_factor(strength: Option<f32>, weight: f32) -> f32 {
    1.0 + weight * (strength.unwrap_or(NEUTRAL_STRENGTH).clamp(0.0, 1.0) - NEUTRAL_STRENGTH)
}

/// The recency factor for a note last updated on `updated`, seen `today`.
pub fn recency_factor(updated: Option<NaiveDate>, today: NaiveDate, half_life_days: f32) -> f32 {
    match updated {
        Some(d) if half_life_days > 0.0 => {
            let age = (today - d).num_days().max(0) as f32;
            1.0 + RECENCY_GAIN * (-age / half_life_days).exp2()
        }
        _ => 1.0,
    }
}

/// A half-life for `--recent`: `90d`, `2w`, `6m` or `1y`, in days.
pub fn parse_half_life(s: &str) -> Result<f32, String> {
    let bad = || format!("`{s}` is not a half-life; write e.g. 90d, 2w, 6m or 1y");
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?);
    let n: f32 = num.parse().map_err(|_| bad())?;
    let days = match unit {
        "d" => n,
        "w" => n * 7.0,
        "m" => n * 30.0,
        "y" => n * 365.0,
        _ => return Err(bad()),
    };
    if days > 0.0 && days.is_finite() {
        Ok(days)
    } else {
        Err(bad())
    }
}

/// One ranking rule. Search runs `[Floor(min_score), Priors, Cut(limit)]`; related runs
/// `[Floor(anything above 0), Priors]` and cuts after dropping notes deleted since the
/// index was built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Drop the candidates whose evidence is below this.
    Floor(f32),
    /// Multiply in the strength prior (weighted), and recency with (today, half-life in
    /// days) when asked; re-sort.
    Priors {
        strength_weight: f32,
        recency: Option<(NaiveDate, f32)>,
    },
    /// Keep the best this many.
    Cut(usize),
}

/// Runs `rules` over `notes` in order. `evidence` is what a floor compares, `prior` each
/// note's prior. Returns how many candidates the floors dropped.
pub fn apply_rules(
    rules: &[Rule],
    notes: &mut Vec<NoteScore>,
    evidence: impl Fn(&NoteScore) -> f32,
    prior: impl Fn(u32) -> Prior,
) -> usize {
    let mut dropped = 0;
    for rule in rules {
        match *rule {
            Rule::Floor(min) => {
                let before = notes.len();
                notes.retain(|n| evidence(n) >= min);
                dropped += before - notes.len();
            }
            Rule::Priors {
                strength_weight,
                recency,
            } => apply_priors(notes, &prior, strength_weight, recency),
            Rule::Cut(n) => notes.truncate(n),
        }
    }
    dropped
}

/// Multiplies in the strength prior (and recency, when asked) and re-sorts.
/// Scores must be non-negative for the factors to mean what they say.
fn apply_priors(
    notes: &mut [NoteScore],
    prior: impl Fn(u32) -> Prior,
    strength_weight: f32,
    recency: Option<(NaiveDate, f32)>,
) {
    for n in notes.iter_mut() {
        n.score = n.score.max(0.0) * prior_factor(prior(n.note_ord), strength_weight, recency);
    }
    sort(notes);
}

/// What the strength prior, and the recency one when asked for, multiply a score by.
pub fn prior_factor(p: Prior, strength_weight: f32, recency: Option<(NaiveDate, f32)>) -> f32 {
    strength_factor(p.strength, strength_weight)
        * recency.map_or(1.0, |(today, half_life)| {
            recency_factor(p.updated, today, half_life)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_keeps_best_section_per_note() {
        let notes = rollup(vec![(1, 0, 2.0), (2, 3, 5.0), (1, 4, 3.0), (1, 1, 1.0)]);
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0].note_ord, 2);
        assert_eq!(notes[1].score, 3.0);
        assert_eq!(notes[1].sections, vec![(4, 3.0), (0, 2.0), (1, 1.0)]);
    }

    #[test]
    fn strength_breaks_ties_but_is_bounded() {
        let w = DEFAULT_STRENGTH_WEIGHT;
        let mut notes = vec![
            NoteScore::new(0, 1.0, vec![]),
            NoteScore::new(1, 1.0, vec![]),
            NoteScore::new(2, 2.0, vec![]),
        ];
        let strengths = [Some(0.2), Some(0.9), Some(0.0)];
        apply_priors(
            &mut notes,
            |o| Prior {
                strength: strengths[o as usize],
                ..Default::default()
            },
            w,
            None,
        );
        let order: Vec<u32> = notes.iter().map(|n| n.note_ord).collect();
        assert_eq!(order, vec![2, 1, 0], "clearly relevant weak note still first");
        assert_eq!(strength_factor(None, w), 1.0);
        assert_eq!(strength_factor(Some(1.0), 0.0), 1.0);
    }

    #[test]
    fn rules_run_in_order_floor_before_priors_then_cut() {
        // (ord, score, evidence, strength)
        let data = [
            (0, 0.9, 0.9, None),
            (1, 0.8, 0.01, Some(1.0)),
            (2, 0.85, 0.5, Some(1.0)),
            (3, 0.7, 0.6, None),
        ];
        let mut notes: Vec<NoteScore> = data
            .iter()
            .map(|&(o, s, _, _)| NoteScore::new(o, s, vec![]))
            .collect();
        let rules = [
            Rule::Floor(0.1),
            Rule::Priors {
                strength_weight: 0.2,
                recency: None,
            },
            Rule::Cut(2),
        ];
        let dropped = apply_rules(
            &rules,
            &mut notes,
            |n| data[n.note_ord as usize].2,
            |o| Prior {
                strength: data[o as usize].3,
                ..Default::default()
            },
        );
        // Note 1 is under the floor, however strong; strength then lifts 2 over 0.
        assert_eq!(dropped, 1);
        let order: Vec<u32> = notes.iter().map(|n| n.note_ord).collect();
        assert_eq!(order, [2, 0]);
    }

    #[test]
    fn recency_halves_with_age() {
        let today = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
        let fresh = recency_factor(Some(today), today, 30.0);
        let month = recency_factor(today.checked_sub_days(chrono::Days::new(30)), today, 30.0);
        assert!((fresh - 1.5).abs() < 1e-6 && (month - 1.25).abs() < 1e-6);
        assert_eq!(recency_factor(None, today, 30.0), 1.0);
    }
}
