//! How much of a query's keyword weight each candidate note matches: its keyword share.
//!
//! The share is the sum of the idf of the query's words (and prefixes) a note contains,
//! over the sum for the query's most informative words ([`relevance::keyword_weight`]),
//! capped at 1. It is evidence of relevance (`relevance`).
//!
//! The share of a query's Chinese, Japanese and Korean terms also ranks. Those scripts
//! have no spaces between words, so a query's spaces separate spans the user remembers,
//! each searched as a phrase of character bigrams, and BM25 lets a short note that holds
//! one long span outscore the note that holds them all. The keyword list's scores are
//! multiplied by the share of the span terms a note holds
//! ([`rank::coordinate`](crate::rank::coordinate)). English words are left to BM25: there
//! the same coordination cost SciFact train 0.004-0.013 hybrid nDCG@10 (powers 0.25-1),
//! since a relevant abstract seldom holds every word of a claim.
//!
//! A word matched only through its typo correction counts `CORRECTED_EVIDENCE` of its
//! weight.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::Result;
use crate::lexical::spell::CORRECTED_EVIDENCE;
use crate::query::Query;
use crate::relevance;
use crate::snapshot::Snapshot;

/// One note's keyword share.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// 0..1.
    pub share: f32,
    /// The share of the weight of the query's Chinese, Japanese and Korean terms (all of
    /// them) the note matches, 0..1; 1 for a query without any.
    pub spans: f32,
    /// Words the note matched only through a typo correction (as written in notes).
    pub corrected: Vec<String>,
}

impl Default for Share {
    /// A note that matches nothing: no share, and no span of a query that has spans.
    fn default() -> Share {
        Share {
            share: 0.0,
            spans: 0.0,
            corrected: Vec::new(),
        }
    }
}

/// The keyword share of each of `candidates` (every one is in the map).
pub fn shares(snap: &Snapshot, query: &Query, candidates: &FxHashSet<u32>) -> Result<FxHashMap<u32, Share>> {
    let units = snap.lexical().evidence_terms(query);
    let note_index = snap.notes();
    let total = note_index.count().max(1) as f32;
    let idf_of_df = |df: f32| (1.0 + (total - df + 0.5) / (df + 0.5)).ln();
    let idf_of = |term: &str| idf_of_df(note_index.doc_freq(term) as f32);
    // A unit's weight is its typed word's, or its correction's when the typed word is in
    // no note (else an absent word would outweigh every real one).
    let mut terms: Vec<String> = Vec::new();
    let mut idf: Vec<f32> = Vec::new();
    let mut alt_idf: Vec<Option<f32>> = Vec::new();
    for unit in &units {
        terms.push(unit.term.clone());
        let own = idf_of(&unit.term);
        let alt = unit.correction.as_ref().map(|(t, _)| idf_of(t));
        alt_idf.push(alt);
        idf.push(match (note_index.doc_freq(&unit.term), alt) {
            (0, Some(a)) => a,
            _ => own,
        });
    }
    let alt_at: Vec<Option<usize>> = units
        .iter()
        .map(|u| {
            u.correction.as_ref().map(|(t, _)| {
                terms.push(t.clone());
                terms.len() - 1
            })
        })
        .collect();
    let prefixes = snap.lexical().prefix_evidence(query)?;
    let prefix_idf: Vec<f32> = prefixes.iter().map(|set| idf_of_df(set.len() as f32)).collect();
    let weights: Vec<f32> = idf.iter().chain(&prefix_idf).copied().collect();
    let weight = relevance::keyword_weight(&weights);
    let span: Vec<bool> = units
        .iter()
        .map(|u| u.term.chars().any(crate::analysis::is_cjk))
        .collect();
    let span_weight: f32 = idf.iter().zip(&span).filter(|(_, s)| **s).map(|(w, _)| w).sum();
    let matched = note_index.terms_in(&terms, candidates)?;
    let mut out = FxHashMap::default();
    for &ord in candidates {
        let has = matched.get(&ord);
        let has = |i: usize| has.is_some_and(|ts| ts.contains(&i));
        let mut words = 0.0;
        let mut spans = 0.0;
        let mut corrected = Vec::new();
        for (i, unit) in units.iter().enumerate() {
            if has(i) {
                words += idf[i];
                spans += if span[i] { idf[i] } else { 0.0 };
            } else if let (Some(at), Some(a)) = (alt_at[i], alt_idf[i]) {
                if has(at) {
                    words += CORRECTED_EVIDENCE * a.min(idf[i]);
                    corrected.extend(unit.correction.as_ref().map(|(_, to)| to.clone()));
                }
            }
        }
        let prefixes: f32 = prefixes
            .iter()
            .zip(&prefix_idf)
            .filter(|(set, _)| set.contains(&ord))
            .map(|(_, w)| w)
            .sum();
        let share = match weight > 0.0 {
            true => ((words + prefixes) / weight).min(1.0),
            false => 0.0,
        };
        let spans = match span_weight > 0.0 {
            true => (spans / span_weight).min(1.0),
            false => 1.0,
        };
        out.insert(
            ord,
            Share {
                share,
                spans,
                corrected,
            },
        );
    }
    Ok(out)
}
