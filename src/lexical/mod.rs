//! The keyword index: one tantivy document per section, BM25 over analyzed text
//! (`analysis`).
//!
//! Layout: `all` (title + heading path + text + tags) carries the main BM25 score; `title`,
//! `heading` and `tags_text` are indexed again on their own so that a query word found there
//! adds a boosted score on top. `raw` holds unstemmed words for `prefix*` matching (a
//! stemmed index cannot answer prefixes of what the user typed, and its dictionary is
//! where typo tolerance finds words, [`spell`]). Note-level metadata (`tag`, `note`,
//! `strength`, `updated`, `established`) is indexed as exact values so that every filter
//! runs inside tantivy, before the top-k cut, and stays correct however selective it is.
//! `note_ord` ties a section to its note in the note store.
//!
//! A query's constraints hold per note, as people read them: `+word` and phrases are
//! required of the note (in any of its sections), `-word` excludes a note that has it
//! anywhere. Both become sets of note ordinals that filter the section search inside
//! tantivy ([`Constraints`]), and the same sets filter the semantic side (`search`).
//!
//! Beside the section index (`sections/`) lives a second, one document per note
//! (`notes/`, see [`notes`]): the whole note as one bag of words, and the note store.
//!
//! This file holds the open index and what it answers. The schema is in `schema`, the
//! build and update in `writer`, the turning of a query into tantivy queries (clauses,
//! constraints, filters, field boosts) in `compile`, the fast-field and postings reads
//! the section and note indexes share in `read`.

use std::collections::HashSet;
use std::path::Path;

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query as TQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::Analysis;
use crate::query::{Clause, Query};

use compile::{leaves, Alternatives};
use read::FastU64;
use schema::{register, schema, section_key, Fields};
use spell::CORRECTED_WEIGHT;

mod compile;
pub mod notes;
mod read;
mod schema;
pub mod spell;
mod writer;

pub use compile::{HEADING_BOOST, TAGS_BOOST, TITLE_BOOST};
pub use notes::NoteIndex;
pub use writer::{build, update, NoteDoc};

#[derive(Debug, thiserror::Error)]
pub enum LexicalError {
    #[error("keyword index {path}: {source}")]
    Tantivy {
        path: String,
        source: tantivy::TantivyError,
    },
}

const SECTIONS: &str = "sections";
const NOTES: &str = "notes";

fn err(path: &Path) -> impl Fn(tantivy::TantivyError) -> LexicalError + '_ {
    move |source| LexicalError::Tantivy {
        path: path.display().to_string(),
        source,
    }
}

/// A section that matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SectionHit {
    pub note_ord: u32,
    pub section: u32,
    pub score: f32,
}

/// What a section's stored fields say, for display.
#[derive(Debug, Clone)]
pub struct StoredSection {
    pub note: String,
    /// The file, relative to the vault.
    pub file: String,
    pub title: String,
    pub heading: String,
    pub body: String,
    pub line: usize,
    /// The note's size in characters.
    pub chars: usize,
    pub strength: Option<f32>,
    pub tags: Vec<String>,
}

/// An open keyword index.
pub struct LexicalIndex {
    reader: IndexReader,
    f: Fields,
    notes: NoteIndex,
    path: std::path::PathBuf,
    analysis: Analysis,
}

fn open_reader(dir: &Path, analysis: &Analysis) -> Result<IndexReader, LexicalError> {
    let index = Index::open_in_dir(dir).map_err(err(dir))?;
    register(&index, analysis);
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(err(dir))
}

impl LexicalIndex {
    pub fn open(dir: &Path, analysis: &Analysis) -> Result<LexicalIndex, LexicalError> {
        let sections = dir.join(SECTIONS);
        Ok(LexicalIndex {
            reader: open_reader(&sections, analysis)?,
            f: schema().1,
            notes: NoteIndex::new(open_reader(&dir.join(NOTES), analysis)?, &dir.join(NOTES)),
            path: sections,
            analysis: analysis.clone(),
        })
    }

    /// Whole-note BM25 scores of the `candidates` for `query`'s words and their
    /// corrections (phrases and prefixes count only in the section search). A candidate
    /// none of whose words match is absent.
    pub fn note_scores(
        &self,
        query: &Query,
        candidates: &[u32],
    ) -> Result<rustc_hash::FxHashMap<u32, f32>, LexicalError> {
        let alternatives = self.alternatives(query);
        let mut terms: Vec<(String, f32)> = Vec::new();
        for c in self.scoring_clauses(query).into_iter().flat_map(leaves) {
            let Clause::Word(w) = c else { continue };
            for t in self.analysis.analyze(w) {
                if let Some((alt, _)) = alternatives.get(&t) {
                    terms.push((alt.clone(), CORRECTED_WEIGHT));
                }
                terms.push((t, 1.0));
            }
        }
        self.notes.scores(&terms, candidates)
    }

    /// The units of keyword evidence a note is measured against: the analyzed terms of
    /// the optional words that count (stop words left out) and the required ones,
    /// phrases included, each once, with the term of its correction when it has one.
    pub fn evidence_terms(&self, query: &Query) -> Vec<EvidenceUnit> {
        let alternatives = self.alternatives(query);
        let mut units: Vec<EvidenceUnit> = Vec::new();
        for c in self.scoring_clauses(query).into_iter().flat_map(leaves) {
            let (Clause::Word(w) | Clause::Phrase(w)) = c else {
                continue;
            };
            for term in self.analysis.analyze(w) {
                if !units.iter().any(|u| u.term == term) {
                    let correction = alternatives
                        .0
                        .get(&term)
                        .map(|a| (a.term.clone(), a.word.clone()));
                    units.push(EvidenceUnit { term, correction });
                }
            }
        }
        units
    }

    /// For each prefix clause that counts (optional or required), the notes it matches:
    /// a prefix is one unit of keyword evidence, as a word is, but has no single term
    /// whose postings say where it occurs.
    pub fn prefix_evidence(&self, query: &Query) -> Result<Vec<HashSet<u32>>, LexicalError> {
        self.scoring_clauses(query)
            .into_iter()
            .filter(|c| matches!(c, Clause::Prefix(_)))
            .map(|c| self.notes_matching(std::slice::from_ref(c), &Alternatives::default()))
            .collect()
    }

    /// The note index: whole-note scores and the note store.
    pub fn notes(&self) -> &NoteIndex {
        &self.notes
    }

    fn err(&self) -> impl Fn(tantivy::TantivyError) -> LexicalError + '_ {
        err(&self.path)
    }

    /// How this index analyzes text; queries and snippets must do the same.
    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// The notes `query`'s constraints allow, as sets the searches filter by.
    pub fn constraints(&self, query: &Query) -> Result<Constraints, LexicalError> {
        let alternatives = self.alternatives(query);
        let excluded = self.notes_matching(&query.must_not, &alternatives)?;
        let mut required: Option<HashSet<u32>> = None;
        for c in &query.must {
            let with = self.notes_matching(std::slice::from_ref(c), &alternatives)?;
            required = Some(match required {
                None => with,
                Some(r) => r.intersection(&with).copied().collect(),
            });
        }
        Ok(Constraints { excluded, required })
    }

    /// The best `limit` sections for `query`'s words, among the notes its constraints
    /// allow (`constraints` of this query).
    pub fn search(
        &self,
        query: &Query,
        constraints: &Constraints,
        limit: usize,
    ) -> Result<Vec<SectionHit>, LexicalError> {
        let searcher = self.reader.searcher();
        let alternatives = self.alternatives(query);
        let tq = self.tantivy_query(query, &alternatives, constraints);
        let mut top = searcher
            .search(&*tq, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(self.err())?;
        self.add_field_boosts(query, &alternatives, &mut top)?;
        self.hits(top)
    }

    /// Sections scored by an arbitrary bag of words (for "more like this").
    pub fn search_terms(
        &self,
        terms: &[(String, f32)],
        limit: usize,
    ) -> Result<Vec<SectionHit>, LexicalError> {
        let clauses: Vec<(Occur, Box<dyn TQuery>)> = terms
            .iter()
            .map(|(t, w)| {
                let q: Box<dyn TQuery> = Box::new(TermQuery::new(
                    Term::from_field_text(self.f.all, t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, Box::new(BoostQuery::new(q, *w)) as Box<dyn TQuery>)
            })
            .collect();
        let searcher = self.reader.searcher();
        let top = searcher
            .search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(limit.max(1)).order_by_score(),
            )
            .map_err(self.err())?;
        self.hits(top)
    }

    fn hits(&self, top: Vec<(f32, DocAddress)>) -> Result<Vec<SectionHit>, LexicalError> {
        let searcher = self.reader.searcher();
        let (mut notes, mut sections) = (
            FastU64::new(&searcher, "note_ord"),
            FastU64::new(&searcher, "section"),
        );
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            out.push(SectionHit {
                note_ord: notes.get(address).map_err(self.err())?.unwrap_or(0) as u32,
                section: sections.get(address).map_err(self.err())?.unwrap_or(0) as u32,
                score,
            });
        }
        Ok(out)
    }

    /// Stored fields of a hit's section.
    pub fn stored(&self, address: DocAddress) -> Result<StoredSection, LexicalError> {
        let doc: TantivyDocument = self.reader.searcher().doc(address).map_err(self.err())?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        Ok(StoredSection {
            note: text(self.f.note),
            file: text(self.f.file),
            title: text(self.f.title),
            heading: text(self.f.heading_path),
            body: text(self.f.body),
            line: doc.get_first(self.f.line).and_then(|v| v.as_u64()).unwrap_or(0) as usize,
            chars: doc.get_first(self.f.chars).and_then(|v| v.as_u64()).unwrap_or(0) as usize,
            strength: doc
                .get_first(self.f.strength)
                .and_then(|v| v.as_f64())
                .map(|v| v as f32),
            tags: doc
                .get_all(self.f.tag)
                .filter_map(|v| v.as_str())
                .map(str::to_string)
                .collect(),
        })
    }

    /// The stored fields of section `section` of note `note_ord`.
    pub fn section(&self, note_ord: u32, section: u32) -> Result<Option<StoredSection>, LexicalError> {
        let q = TermQuery::new(
            Term::from_field_u64(self.f.key, section_key(note_ord, section)),
            IndexRecordOption::Basic,
        );
        let top = self
            .reader
            .searcher()
            .search(&q, &TopDocs::with_limit(1).order_by_score())
            .map_err(self.err())?;
        top.first().map(|(_, a)| self.stored(*a)).transpose()
    }

    /// The stored fields of the first indexed section of note `note_ord`.
    pub fn first_section(&self, note_ord: u32) -> Result<Option<StoredSection>, LexicalError> {
        let q = TermQuery::new(
            Term::from_field_u64(self.f.note_ord, u64::from(note_ord)),
            IndexRecordOption::Basic,
        );
        let searcher = self.reader.searcher();
        let docs = searcher.search(&q, &DocSetCollector).map_err(self.err())?;
        let mut sections = FastU64::new(&searcher, "section");
        let mut first: Option<(u64, DocAddress)> = None;
        for address in docs {
            let s = sections.get(address).map_err(self.err())?.unwrap_or(u64::MAX);
            if first.is_none_or(|(f, _)| s < f) {
                first = Some((s, address));
            }
        }
        first.map(|(_, a)| self.stored(a)).transpose()
    }

    /// Ordinals of the notes that pass every constraint of `query` (filters, required
    /// and excluded terms): the candidates of a query of filters alone, and of
    /// retrievers that cannot filter by themselves.
    pub fn allowed_notes(
        &self,
        query: &Query,
        constraints: &Constraints,
    ) -> Result<HashSet<u32>, LexicalError> {
        let mut clauses = self.constraint_clauses(query, constraints);
        clauses.push((Occur::Must, Box::new(AllQuery)));
        self.note_ords(
            &self
                .reader
                .searcher()
                .search(&BooleanQuery::new(clauses), &DocSetCollector)
                .map_err(self.err())?,
        )
    }

    /// For `--explain`: how many of the `candidates` (the notes the query's words find
    /// without its constraints) each constraint leaves out, named as written.
    pub fn removed_by(
        &self,
        query: &Query,
        candidates: &[u32],
    ) -> Result<Vec<(String, usize)>, LexicalError> {
        let alternatives = self.alternatives(query);
        let among = || -> Box<dyn TQuery> {
            Box::new(TermSetQuery::new(
                candidates
                    .iter()
                    .map(|o| Term::from_field_u64(self.f.note_ord, u64::from(*o))),
            ))
        };
        let passing = |q: Box<dyn TQuery>| -> Result<usize, LexicalError> {
            let both = BooleanQuery::new(vec![(Occur::Must, among()), (Occur::Must, q)]);
            let docs = self
                .reader
                .searcher()
                .search(&both, &DocSetCollector)
                .map_err(self.err())?;
            Ok(self.note_ords(&docs)?.len())
        };
        let mut out = Vec::new();
        for f in &query.filters {
            out.push((f.to_string(), candidates.len() - passing(self.filter_query(f))?));
        }
        for c in &query.must {
            let shown = match c {
                Clause::Phrase(_) | Clause::Any(_) => c.to_string(),
                _ => format!("+{c}"),
            };
            out.push((
                shown,
                candidates.len() - passing(self.clause_query(c, &alternatives))?,
            ));
        }
        for c in &query.must_not {
            out.push((format!("-{c}"), passing(self.clause_query(c, &alternatives))?));
        }
        Ok(out)
    }

    fn note_ords(&self, docs: &HashSet<DocAddress>) -> Result<HashSet<u32>, LexicalError> {
        let searcher = self.reader.searcher();
        let mut ords = FastU64::new(&searcher, "note_ord");
        let mut notes = HashSet::new();
        for address in docs {
            if let Some(ord) = ords.get(*address).map_err(self.err())? {
                notes.insert(ord as u32);
            }
        }
        Ok(notes)
    }

    /// Ordinals of notes with a section that matches any of `clauses`.
    fn notes_matching(
        &self,
        clauses: &[Clause],
        alternatives: &Alternatives,
    ) -> Result<HashSet<u32>, LexicalError> {
        if clauses.is_empty() {
            return Ok(HashSet::new());
        }
        let any: Vec<(Occur, Box<dyn TQuery>)> = clauses
            .iter()
            .map(|c| (Occur::Should, self.clause_query(c, alternatives)))
            .collect();
        let docs = self
            .reader
            .searcher()
            .search(&BooleanQuery::new(any), &DocSetCollector)
            .map_err(self.err())?;
        self.note_ords(&docs)
    }

    /// In how many sections the analyzed term occurs.
    pub fn doc_freq(&self, term: &str) -> u64 {
        self.reader
            .searcher()
            .doc_freq(&Term::from_field_text(self.f.all, term))
            .unwrap_or(0)
    }

    /// Number of section documents.
    pub fn num_sections(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// The notes a query's required and excluded terms allow (filters stay tantivy
/// queries of their own).
#[derive(Debug, Clone, Default)]
pub struct Constraints {
    /// Notes with an excluded term anywhere.
    excluded: HashSet<u32>,
    /// Notes that have every required term (in any section); `None` when none is required.
    required: Option<HashSet<u32>>,
}

/// One unit of a query's keyword evidence: an index term, and the term and word of its
/// typo correction, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceUnit {
    pub term: String,
    pub correction: Option<(String, String)>,
}
