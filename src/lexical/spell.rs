//! Typo tolerance: a query word that no note contains, or that is far rarer than a word
//! one slip of the finger away, is read as that word too.
//!
//! Candidates come from the index's own dictionary of words as written (the unstemmed
//! `raw` field), walked with a Levenshtein automaton over tantivy's FST, so only words
//! that occur in some note are ever proposed and the walk is cheap. The rules
//! are Meilisearch's budget plus a frequency test, so that the relevance floor still
//! empties nonsense (a made-up word must not become a real one):
//!
//! - only words of [`ONE_TYPO`]+ letters are corrected, by one edit, and of [`TWO_TYPOS`]+
//!   letters by two (a swap of two neighbours counts as one edit); numbers, words with
//!   digits, CJK text, stop words and prefixes (`optim*`) never are;
//! - a word in no note is read as the closest indexed word (fewest edits, then most
//!   frequent) that is in at least [`MIN_SECTIONS`] sections: the correction replaces it
//!   (it is what gets embedded and shown: `showing results for ...`);
//! - a word that is in a few notes (at most [`RARE_SECTIONS`] sections: a typo that happens
//!   to be in some note, or a rare spelling) also matches a close word that is
//!   [`MORE_FREQUENT`] times more frequent, scored below it;
//! - required words and phrases stay exact unless the word is in no note, when the
//!   correction is the only way they can match.
//!
//! Every match through a correction weighs [`CORRECTED_WEIGHT`] of an exact one in BM25,
//! and [`CORRECTED_EVIDENCE`] in the evidence the relevance floor reads.

use std::collections::BTreeSet;

use tantivy::query::FuzzyTermQuery;
use tantivy::Term;

use super::{LexicalError, LexicalIndex};
use crate::analysis::edit_distance;
use crate::query::{Clause, Correction, Query};

/// Shortest word corrected by one edit, in characters.
pub const ONE_TYPO: usize = 5;
/// Shortest word corrected by two edits.
pub const TWO_TYPOS: usize = 9;
/// A word found in no note is corrected to one in at least this many sections.
pub const MIN_SECTIONS: u64 = 1;
/// A word found in at most this many sections may still be a typo ...
pub const RARE_SECTIONS: u64 = 3;
/// ... of a word this many times more frequent.
pub const MORE_FREQUENT: u64 = 20;
/// What a match through a correction counts for in BM25 ranking, against an exact
/// match's 1.
pub const CORRECTED_WEIGHT: f32 = 0.8;
/// What it counts for in the relevance floor's keyword evidence. Lower than the ranking
/// weight so a made-up word read as a real one rarely lifts a nonsense query over the
/// floor: at the ranking weight the example vault left too many nonsense queries with
/// results, and the lower weight costs typo queries nothing (`benches/calibration.sh`,
/// `benches/typos.sh`).
pub const CORRECTED_EVIDENCE: f32 = 0.4;
/// "Did you mean" (offered when nothing matched) looks further: one edit from 4 letters.
const SUGGEST_ONE: usize = 4;
const SUGGEST_TWO: usize = 8;

/// One query word to check: as written, folded, and whether it must stay exact unless
/// it matches nothing.
struct Word<'q> {
    surface: &'q str,
    folded: String,
    exact: bool,
}

impl LexicalIndex {
    /// How the query's words should be read (see the module docs); empty when every word
    /// is fine as typed.
    pub fn corrections(&self, query: &Query) -> Result<Vec<Correction>, LexicalError> {
        let mut out: Vec<Correction> = Vec::new();
        for w in self.checkable_words(query) {
            if out.iter().any(|c| c.typed == w.surface) {
                continue;
            }
            let df = self.doc_freq(&self.stem(&w.folded));
            if df > 0 && (w.exact || df > RARE_SECTIONS) {
                continue;
            }
            let budget = budget(&w.folded, ONE_TYPO, TWO_TYPOS);
            let Some((to, to_df)) = self.closest(&w.folded, budget)? else {
                continue;
            };
            let accept = match df {
                0 => to_df >= MIN_SECTIONS,
                _ => to_df >= df.saturating_mul(MORE_FREQUENT),
            };
            if accept {
                out.push(Correction {
                    typed: w.surface.to_string(),
                    to,
                    replaces: df == 0,
                });
            }
        }
        Ok(out)
    }

    /// The query as the user most likely meant it, for a search that found nothing:
    /// every word that no note contains replaced by its closest indexed word, with a
    /// looser budget than [`LexicalIndex::corrections`] (one edit from four letters).
    /// `None` when no word can be improved.
    pub fn did_you_mean(&self, written: &str, query: &Query) -> Result<Option<String>, LexicalError> {
        let mut text = query.corrected(written);
        let mut changed = false;
        for w in self.checkable_words(query) {
            if self.doc_freq(&self.stem(&w.folded)) > 0 {
                continue;
            }
            let budget = budget(&w.folded, SUGGEST_ONE, SUGGEST_TWO);
            if let Some((to, _)) = self.closest(&w.folded, budget)? {
                let with = Query {
                    corrections: vec![Correction {
                        typed: w.surface.to_string(),
                        to,
                        replaces: true,
                    }],
                    ..Query::default()
                };
                let next = with.corrected(&text);
                changed |= next != text;
                text = next;
            }
        }
        Ok(changed.then_some(text))
    }

    /// The words of the query's positive clauses that typo tolerance looks at.
    fn checkable_words<'q>(&self, query: &'q Query) -> Vec<Word<'q>> {
        fn collect<'q>(clause: &'q Clause, exact: bool, out: &mut Vec<(&'q str, bool)>) {
            match clause {
                Clause::Word(w) => out.push((w, exact)),
                Clause::Phrase(p) => out.push((p, true)),
                Clause::Prefix(_) => {}
                Clause::Any(all) => all.iter().for_each(|c| collect(c, true, out)),
            }
        }
        let mut texts = Vec::new();
        query.should.iter().for_each(|c| collect(c, false, &mut texts));
        query.must.iter().for_each(|c| collect(c, true, &mut texts));
        let mut words = Vec::new();
        for (text, exact) in texts {
            for (surface, folded) in self.analysis.folded_words(text) {
                let letters = folded.chars().count();
                if letters >= SUGGEST_ONE
                    && folded
                        .chars()
                        .all(|c| c.is_alphabetic() && !crate::analysis::is_cjk(c))
                    && !self.analysis.is_stop_word(&folded)
                {
                    words.push(Word {
                        surface,
                        folded,
                        exact,
                    });
                }
            }
        }
        words
    }

    /// The index term of a folded word.
    fn stem(&self, folded: &str) -> String {
        (self.analysis.stemmer())(folded)
    }

    /// The indexed word (as written, folded) within `budget` edits of `folded` with the
    /// fewest edits, then in the most sections (counted by its index term, so every
    /// inflection counts), with its section count; never `folded` itself or a word with
    /// the same index term.
    fn closest(&self, folded: &str, budget: u8) -> Result<Option<(String, u64)>, LexicalError> {
        if budget == 0 {
            return Ok(None);
        }
        let automaton = FuzzyTermQuery::new(Term::from_field_text(self.f.raw, folded), budget, true)
            .automaton()
            .map_err(self.err())?;
        let searcher = self.reader.searcher();
        let mut words: BTreeSet<String> = BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.f.raw).map_err(self.err())?;
            let mut stream = inverted
                .terms()
                .search(&automaton)
                .into_stream()
                .map_err(|e| self.err()(e.into()))?;
            while stream.advance() {
                if let Ok(w) = std::str::from_utf8(stream.key()) {
                    if w != folded {
                        words.insert(w.to_string());
                    }
                }
            }
        }
        let own = self.stem(folded);
        let mut best: Option<(usize, u64, String)> = None;
        for w in words {
            let term = self.stem(&w);
            if term == own {
                continue;
            }
            let df = self.doc_freq(&term);
            let d = edit_distance(folded, &w);
            let better = match &best {
                None => true,
                Some((bd, bdf, _)) => d < *bd || (d == *bd && df > *bdf),
            };
            if df > 0 && better {
                best = Some((d, df, w));
            }
        }
        Ok(best.map(|(_, df, w)| (w, df)))
    }
}

/// Edits allowed for a word of `folded`'s length: none below `one` letters, one below
/// `two`, else two.
fn budget(folded: &str, one: usize, two: usize) -> u8 {
    match folded.chars().count() {
        n if n >= two => 2,
        n if n >= one => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_grows_with_length() {
        assert_eq!(budget("vlan", ONE_TYPO, TWO_TYPOS), 0);
        assert_eq!(budget("vlna", SUGGEST_ONE, SUGGEST_TWO), 1);
        assert_eq!(budget("levain", ONE_TYPO, TWO_TYPOS), 1);
        assert_eq!(budget("hydraton", ONE_TYPO, TWO_TYPOS), 1);
        assert_eq!(budget("fermentaton", ONE_TYPO, TWO_TYPOS), 2);
    }
}
