//! Absolute relevance: how much evidence a result has that it answers its query, on a
//! scale that means the same for every query and mode, and the floor below which a result
//! is no answer at all.
//!
//! The ranking itself fuses scores normalized per query (`fuse`), which orders results
//! well but says nothing across queries: the best match of a nonsense query fuses to the
//! same 1.0 as the best match of a good one. So each result also gets two absolute pieces
//! of evidence:
//!
//! - **keyword share**: how much of the query's weight the note matches by keyword, the sum
//!   of the idf of the query terms the note contains over the sum for the query's five
//!   rarest (stop words left out; [`keyword_weight`]), so matching a rare term counts for
//!   more than a common one, and a long question is not harder to match than a short one;
//! - **similarity**: the cosine between the query and the note's best chunk.
//!
//! A logistic model turns them into the probability that the note is relevant, fitted on
//! SciFact **train** judgments (`recall eval --dump` and `benches/calibration.py`); its
//! coefficients are below with the fits they came from. (Ranking by that probability
//! instead of the fused score was tried and lost on every held-out collection: it ranks
//! worse than it measures.) The displayed score is that
//! probability times the strength and recency priors, capped from the top of the list
//! down so that it never rises as rank falls. A result whose evidence-only probability is
//! under the floor (`--min-score`, default [`DEFAULT_MIN_SCORE`]) is dropped: with no
//! keyword match of any weight and a similarity as low as nonsense queries get, nothing
//! is "the best of nothing".

/// Logistic coefficients: intercept, keyword share, similarity.
#[derive(Debug, Clone, Copy)]
struct Model {
    intercept: f32,
    keyword: f32,
    similarity: f32,
}

/// Fitted on SciFact train, hybrid, each query's top 10, when the share was of every
/// query word. A refit with the share of the five rarest ([`keyword_weight`]) keeps fewer
/// relevant results and more nonsense at the floor (docs/experiments.md, "Keyword share
/// against the query's five rarest words"), so these are kept.
/// `bash benches/calibration.sh` prints today's fit and checks these (BENCHMARKS.md,
/// "Scores that mean something"). Used whenever the similarity is known, whatever the
/// mode, so the same evidence gives the same score.
const WITH_SIMILARITY: Model = Model {
    intercept: -8.426,
    keyword: 4.736,
    similarity: 7.092,
};
/// Fitted on the keyword mode's top 10 of the same queries, without the similarity: for
/// keyword mode and indexes without embeddings.
const KEYWORDS_ONLY: Model = Model {
    intercept: -6.094,
    keyword: 7.459,
    similarity: 0.0,
};

/// The default floor on the evidence-only probability: low enough to keep nearly every
/// judged-relevant top-10 result of SciFact, high enough to leave nonsense queries without
/// results (`benches/calibration.sh`; BENCHMARKS.md, "Scores that mean something").
pub const DEFAULT_MIN_SCORE: f32 = 0.005;

/// How many of a query's words its keyword weight counts: the most informative ones.
const WEIGHED_TERMS: usize = 5;

/// The weight a note's matched keywords are measured against, for a query whose words
/// have the idf `idf`: that of its `WEIGHED_TERMS` most informative words. Against all
/// of a long query's weight, a note that answers a natural-language question (CACM's run
/// to twenty words) matches too small a share to pass the floor; a note that matches as
/// much weight as the query's rarest words is a full match (share capped at 1).
pub fn keyword_weight(idf: &[f32]) -> f32 {
    let mut idf = idf.to_vec();
    idf.sort_by(|a, b| b.total_cmp(a));
    idf.iter().take(WEIGHED_TERMS).sum()
}

/// The evidence of one result.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Evidence {
    /// Share of the query's keyword weight the note matches, 0..1 (`None` for a query of
    /// filters alone).
    pub keyword: Option<f32>,
    /// Cosine of the query and the note's best chunk (`None` without embeddings).
    pub similarity: Option<f32>,
}

/// The probability that a result with this evidence is relevant. A query of filters
/// alone asks for every note that passes them: each is fully relevant.
pub fn probability(e: Evidence) -> f32 {
    let Some(keyword) = e.keyword else {
        return 1.0;
    };
    let (m, similarity) = match e.similarity {
        Some(s) => (WITH_SIMILARITY, s),
        None => (KEYWORDS_ONLY, 0.0),
    };
    let z = m.intercept + m.keyword * keyword + m.similarity * similarity;
    1.0 / (1.0 + (-z).exp())
}

/// Caps each score at the one above it, so scores never rise as rank falls.
pub fn monotone(scores: impl Iterator<Item = f32>) -> Vec<f32> {
    let mut cap = f32::INFINITY;
    scores
        .map(|s| {
            cap = cap.min(s);
            cap
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_evidence_more_probability() {
        let p = |k, s| {
            probability(Evidence {
                keyword: Some(k),
                similarity: Some(s),
            })
        };
        assert!(p(0.0, 0.2) < p(0.5, 0.2) && p(0.5, 0.2) < p(0.5, 0.6));
        assert!((0.0..=1.0).contains(&p(1.0, 1.0)));
        assert_eq!(probability(Evidence::default()), 1.0);
        assert_eq!(
            monotone([0.5, 0.7, 0.2, 0.3].into_iter()),
            vec![0.5, 0.5, 0.2, 0.2]
        );
    }
}
