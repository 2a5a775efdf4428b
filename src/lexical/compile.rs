//! Turning a parsed [`Query`] into tantivy queries: a clause's term, phrase and prefix
//! queries (with their typo corrections, [`super::spell`]), the filters and the required
//! and excluded notes as clauses that only admit or reject, and the title, heading and tag
//! boosts added to the top sections after the cut. The index ([`LexicalIndex`]) runs
//! these queries; what they are is decided here.

use std::collections::HashSet;

use rustc_hash::FxHashMap;
use tantivy::query::{
    AllQuery, Bm25Weight, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query as TQuery,
    RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, Term};

use super::read::for_each_occurrence;
use super::schema::{meta_term, to_datetime};
use super::spell::CORRECTED_WEIGHT;
use super::{Constraints, LexicalError, LexicalIndex};
use crate::analysis::fold_keyword;
use crate::dates::DateRange;
use crate::query::{Clause, Cmp, DateField, Filter, Query};

/// Extra weight of a query word found in these fields, on top of its score in `all`.
/// Chosen for the title on SciFact train, over none and over 0.5 (BENCHMARKS.md, "Fusion
/// and lexical tuning"); headings and tags get the same small lift for memory notes, where
/// they are a note's own summary of itself.
pub const TITLE_BOOST: f32 = 0.25;
pub const HEADING_BOOST: f32 = 0.25;
pub const TAGS_BOOST: f32 = 0.25;

impl LexicalIndex {
    /// The index terms the query's corrections add (see [`super::spell`]).
    pub(super) fn alternatives(&self, query: &Query) -> Alternatives {
        let mut stem = self.analysis.stemmer();
        let mut map = FxHashMap::default();
        for c in &query.corrections {
            for (_, folded) in self.analysis.folded_words(&c.typed) {
                let alternative = Alternative {
                    term: stem(&c.to),
                    word: c.to.clone(),
                    replaces: c.replaces,
                };
                map.insert(stem(&folded), alternative);
            }
        }
        Alternatives(map)
    }

    /// The constraints as tantivy clauses: filters, required notes, excluded notes.
    pub(super) fn constraint_clauses(
        &self,
        query: &Query,
        constraints: &Constraints,
    ) -> Vec<(Occur, Box<dyn TQuery>)> {
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        for filter in &query.filters {
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(self.filter_query(filter), 0.0)),
            ));
        }
        let ords = |set: &HashSet<u32>| -> Box<dyn TQuery> {
            Box::new(TermSetQuery::new(
                set.iter()
                    .map(|o| Term::from_field_u64(self.f.note_ord, u64::from(*o))),
            ))
        };
        if let Some(required) = &constraints.required {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(ords(required), 0.0))));
        }
        if !constraints.excluded.is_empty() {
            clauses.push((Occur::MustNot, ords(&constraints.excluded)));
        }
        clauses
    }

    pub(super) fn tantivy_query(
        &self,
        query: &Query,
        alternatives: &Alternatives,
        constraints: &Constraints,
    ) -> Box<dyn TQuery> {
        // Each word adds its own term queries to one flat union: the sum is the same as a
        // nested query's, and a union of term queries lets tantivy skip whole blocks of
        // documents that cannot reach the top (block-max WAND).
        let words: Vec<(Occur, Box<dyn TQuery>)> = self
            .scoring_clauses(query)
            .into_iter()
            .flat_map(|c| self.clause_parts(c, alternatives))
            .map(|q| (Occur::Should, q))
            .collect();
        let mut clauses = self.constraint_clauses(query, constraints);
        if clauses.is_empty() {
            return Box::new(BooleanQuery::new(words));
        }
        // Beside the constraints, tantivy would treat lone optional words as optional
        // altogether; at least one must match.
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(words))));
        Box::new(BooleanQuery::new(clauses))
    }

    /// The clauses whose words rank: the optional ones that count (stop words such as
    /// "the" and "of" are left out when the query has other words, since they match
    /// nearly every section and rank nothing; a query of stop words alone keeps them), and
    /// the required ones.
    pub(super) fn scoring_clauses<'q>(&self, query: &'q Query) -> Vec<&'q Clause> {
        let content = |c: &&Clause| !matches!(c, Clause::Word(w) if self.analysis.is_stop_word(w));
        let optional: Vec<&Clause> = query.should.iter().filter(content).collect();
        let optional = if optional.is_empty() && query.must.is_empty() {
            query.should.iter().collect()
        } else {
            optional
        };
        optional.into_iter().chain(&query.must).collect()
    }

    /// The words of a clause scored as single terms (not inside a phrase), with their
    /// weights: those the title, heading and tag boosts apply to.
    fn single_words(&self, clause: &Clause, alternatives: &Alternatives) -> Vec<(String, f32)> {
        let mut out = Vec::new();
        for c in leaves(clause) {
            let (Clause::Word(w) | Clause::Phrase(w)) = c else {
                continue;
            };
            let groups = self.analysis.term_groups(w);
            if matches!(c, Clause::Phrase(_)) && groups.len() > 1 {
                continue;
            }
            for g in groups {
                if let [(_, t)] = g.as_slice() {
                    if let Some((alt, _)) = alternatives.get(t) {
                        out.push((alt.clone(), CORRECTED_WEIGHT));
                    }
                    out.push((t.clone(), 1.0));
                }
            }
        }
        out
    }

    /// Adds to each of the `top` sections the boosted BM25 of the query's words in its
    /// title, headings and tags, and orders them again. Done after the top-k cut, not
    /// inside it: as term queries in the union, the three fields tripled the lists that
    /// block-max WAND sorts at every step, a large share of a query's time
    /// (docs/experiments.md, "Field boosts after the top-k cut"); the boosts are small
    /// (0.25), so they reorder the candidates but seldom change which they are.
    pub(super) fn add_field_boosts(
        &self,
        query: &Query,
        alternatives: &Alternatives,
        top: &mut [(f32, DocAddress)],
    ) -> Result<(), LexicalError> {
        let (words, weights): (Vec<String>, Vec<f32>) = self
            .scoring_clauses(query)
            .into_iter()
            .flat_map(|c| self.single_words(c, alternatives))
            .unzip();
        if words.is_empty() || top.is_empty() {
            return Ok(());
        }
        let searcher = self.reader.searcher();
        let docs: Vec<DocAddress> = top.iter().map(|(_, d)| *d).collect();
        for (field, boost) in [
            (self.f.title, TITLE_BOOST),
            (self.f.heading, HEADING_BOOST),
            (self.f.tags_text, TAGS_BOOST),
        ] {
            let bm25 = words
                .iter()
                .zip(&weights)
                .map(|(t, w)| {
                    let term = Term::from_field_text(field, t);
                    Ok(match searcher.doc_freq(&term)? {
                        0 => None,
                        _ => Some(Bm25Weight::for_terms(&searcher, &[term])?.boost_by(boost * w)),
                    })
                })
                .collect::<tantivy::Result<Vec<_>>>()
                .map_err(self.err())?;
            for_each_occurrence(&searcher, field, &words, &docs, |i, t, tf, norm| {
                if let Some(w) = &bm25[t] {
                    top[i].0 += w.score(norm, tf);
                }
            })
            .map_err(self.err())?;
        }
        top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(())
    }

    /// One clause as one tantivy query (it matches when any of its parts does).
    pub(super) fn clause_query(&self, clause: &Clause, alternatives: &Alternatives) -> Box<dyn TQuery> {
        let mut parts = self.clause_parts(clause, alternatives);
        match parts.len() {
            1 => parts.remove(0),
            _ => Box::new(BooleanQuery::new(
                parts.into_iter().map(|q| (Occur::Should, q)).collect(),
            )),
        }
    }

    /// The queries whose scores add up to a clause's in `all`: a term query per word (and
    /// one for its correction, weighed less), a phrase query per CJK span or quoted phrase
    /// (a word in no note replaced by its correction), a prefix query. (The field boosts
    /// are added to the top sections afterwards: `add_field_boosts`.)
    fn clause_parts(&self, clause: &Clause, alternatives: &Alternatives) -> Vec<Box<dyn TQuery>> {
        let term = |t: &str| -> Box<dyn TQuery> {
            Box::new(TermQuery::new(
                Term::from_field_text(self.f.all, t),
                IndexRecordOption::WithFreqs,
            ))
        };
        match clause {
            Clause::Word(w) | Clause::Phrase(w) => {
                let groups = self.analysis.term_groups(w);
                // Terms at their positions relative to the first: a CJK span's bigrams
                // overlap, so they are one position apart, not two.
                let phrase = |terms: &[(usize, String)]| -> Box<dyn TQuery> {
                    let base = terms[0].0;
                    Box::new(PhraseQuery::new_with_offset(
                        terms
                            .iter()
                            .map(|(p, t)| {
                                let t = match alternatives.get(t) {
                                    Some((alt, true)) => alt,
                                    _ => t,
                                };
                                (p - base, Term::from_field_text(self.f.all, t))
                            })
                            .collect(),
                    ))
                };
                let group = |g: &[(usize, String)]| -> Vec<Box<dyn TQuery>> {
                    match g {
                        [(_, t)] => {
                            let mut parts = vec![term(t)];
                            if let Some((alt, _)) = alternatives.get(t) {
                                parts.push(Box::new(BoostQuery::new(term(alt), CORRECTED_WEIGHT)));
                            }
                            parts
                        }
                        _ => vec![phrase(g)],
                    }
                };
                match (clause, groups.as_slice()) {
                    (_, []) => vec![Box::new(BooleanQuery::new(Vec::new()))],
                    (_, [g]) => group(g),
                    (Clause::Word(_), _) => groups.iter().flat_map(|g| group(g)).collect(),
                    _ => vec![phrase(&groups.concat())],
                }
            }
            Clause::Prefix(p) => {
                let folded = self.analysis.fold(p);
                let pattern = format!("{}.*", regex_escape(&folded));
                vec![match RegexQuery::from_pattern(&pattern, self.f.raw) {
                    Ok(q) => Box::new(ConstScoreQuery::new(Box::new(q), 1.0)),
                    Err(_) => Box::new(BooleanQuery::new(Vec::new())),
                }]
            }
            Clause::Any(all) => all
                .iter()
                .flat_map(|c| self.clause_parts(c, alternatives))
                .collect(),
        }
    }

    pub(super) fn filter_query(&self, filter: &Filter) -> Box<dyn TQuery> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        match filter {
            Filter::Tag(t) => Box::new(TermQuery::new(
                Term::from_field_text(self.f.tag_key, &fold_keyword(t)),
                IndexRecordOption::Basic,
            )),
            Filter::Meta { key, value } => Box::new(TermQuery::new(
                Term::from_field_text(self.f.meta, &meta_term(key, value)),
                IndexRecordOption::Basic,
            )),
            Filter::Path(p) => {
                let pattern = format!("{}.*", regex_escape(p));
                match RegexQuery::from_pattern(&pattern, self.f.note) {
                    Ok(q) => Box::new(q),
                    Err(_) => Box::new(BooleanQuery::new(Vec::new())),
                }
            }
            Filter::Strength(cmp, v) => {
                // Stored as f32 widened to f64 (0.7 → 0.699999988): widen the bound alike.
                let t = Term::from_field_f64(self.f.strength, f64::from(*v));
                let (lo, hi) = match cmp {
                    Cmp::Gt => (Excluded(t), Unbounded),
                    Cmp::Ge => (Included(t), Unbounded),
                    Cmp::Lt => (Unbounded, Excluded(t)),
                    Cmp::Le => (Unbounded, Included(t)),
                    Cmp::Eq => (Included(t.clone()), Included(t)),
                };
                Box::new(RangeQuery::new(lo, hi))
            }
            Filter::Date { field, range, .. } => {
                let field = match field {
                    DateField::Updated => self.f.updated,
                    DateField::Established => self.f.established,
                };
                let bound = |d: Option<chrono::NaiveDate>, end: bool| match d {
                    Some(d) if end => Excluded(Term::from_field_date(field, to_datetime(d))),
                    Some(d) => Included(Term::from_field_date(field, to_datetime(d))),
                    None => Unbounded,
                };
                let DateRange { from, until } = *range;
                if from.is_none() && until.is_none() {
                    return Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0));
                }
                Box::new(RangeQuery::new(bound(from, false), bound(until, true)))
            }
            Filter::Any(all) => Box::new(BooleanQuery::new(
                all.iter()
                    .map(|f| (Occur::Should, self.filter_query(f)))
                    .collect(),
            )),
            Filter::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn TQuery>),
                (Occur::MustNot, self.filter_query(inner)),
            ])),
        }
    }
}

/// What a typed word's correction adds (see [`super::spell`]).
pub(super) struct Alternative {
    /// The correction's index term.
    pub(super) term: String,
    /// The correction as written.
    pub(super) word: String,
    /// The typed word is in no note: the correction replaces it in phrases.
    replaces: bool,
}

/// Index term of a typed word → its correction.
#[derive(Default)]
pub(super) struct Alternatives(pub(super) FxHashMap<String, Alternative>);

impl Alternatives {
    /// The correction's term, and whether it replaces the typed word.
    pub(super) fn get(&self, term: &str) -> Option<(&String, bool)> {
        self.0.get(term).map(|a| (&a.term, a.replaces))
    }
}

/// The word and phrase clauses inside a clause (itself, or the members of an `OR`).
pub(super) fn leaves(clause: &Clause) -> Vec<&Clause> {
    match clause {
        Clause::Any(all) => all.iter().flat_map(leaves).collect(),
        Clause::Prefix(_) => Vec::new(),
        other => vec![other],
    }
}

/// Escapes regex metacharacters so user text matches literally.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~\"<>@".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_makes_literals() {
        assert_eq!(regex_escape("topics/a.b"), "topics/a\\.b");
    }
}
