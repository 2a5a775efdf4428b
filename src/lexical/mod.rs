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

use std::collections::HashSet;
use std::path::Path;

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::postings::Postings;
use tantivy::query::{
    AllQuery, Bm25Weight, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query as TQuery,
    RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing,
    TextOptions, Value, FAST, INDEXED, STORED, STRING,
};
use tantivy::{DateTime, DocAddress, DocSet, Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use rustc_hash::FxHashMap;

use crate::analysis::{fold_keyword, Analysis};
use crate::dates::DateRange;
use crate::note::Section;
use crate::query::{Clause, Cmp, DateField, Filter, Query};
use crate::vault::LoadedNote;
use spell::CORRECTED_WEIGHT;

pub mod notes;
pub mod spell;

pub use notes::NoteIndex;

const EN: &str = "recall_text";
const RAW: &str = "recall_raw";

/// Extra weight of a query word found in these fields, on top of its score in `all`.
/// Chosen for the title on SciFact train, over none and over 0.5 (BENCHMARKS.md, "Fusion
/// and lexical tuning"); headings and tags get the same small lift for memory notes, where
/// they are a note's own summary of itself.
pub const TITLE_BOOST: f32 = 0.25;
pub const HEADING_BOOST: f32 = 0.25;
pub const TAGS_BOOST: f32 = 0.25;

#[derive(Debug, thiserror::Error)]
pub enum LexicalError {
    #[error("keyword index {path}: {source}")]
    Tantivy {
        path: String,
        source: tantivy::TantivyError,
    },
}

/// Field handles of the schema.
#[derive(Clone, Copy)]
struct Fields {
    all: Field,
    title: Field,
    heading: Field,
    heading_path: Field,
    tags_text: Field,
    raw: Field,
    body: Field,
    note: Field,
    file: Field,
    note_ord: Field,
    key: Field,
    section: Field,
    line: Field,
    tag: Field,
    tag_key: Field,
    strength: Field,
    updated: Field,
    established: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let date = || {
        DateOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored()
            .set_precision(DateTimePrecision::Seconds)
    };
    let text = |tokenizer: &str, positions: bool, stored: bool| {
        let record = if positions {
            IndexRecordOption::WithFreqsAndPositions
        } else {
            IndexRecordOption::WithFreqs
        };
        let opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        );
        if stored {
            opts.set_stored()
        } else {
            opts
        }
    };
    let fields = Fields {
        all: b.add_text_field("all", text(EN, true, false)),
        title: b.add_text_field("title", text(EN, false, true)),
        heading: b.add_text_field("heading", text(EN, false, false)),
        heading_path: b.add_text_field("heading_path", STORED),
        tags_text: b.add_text_field("tags_text", text(EN, false, false)),
        raw: b.add_text_field("raw", text(RAW, false, false)),
        body: b.add_text_field("body", TextOptions::default().set_stored()),
        note: b.add_text_field("note", STRING | STORED),
        file: b.add_text_field("file", STORED),
        note_ord: b.add_u64_field("note_ord", INDEXED | FAST | STORED),
        key: b.add_u64_field("key", INDEXED),
        section: b.add_u64_field("section", FAST | STORED),
        line: b.add_u64_field("line", STORED),
        tag: b.add_text_field("tag", STORED),
        tag_key: b.add_text_field("tag_key", STRING),
        strength: b.add_f64_field(
            "strength",
            NumericOptions::default().set_indexed().set_fast().set_stored(),
        ),
        updated: b.add_date_field("updated", date()),
        established: b.add_date_field("established", date()),
    };
    (b.build(), fields)
}

/// Indexing memory of each writer thread: enough for large segments, small enough that a
/// 50k-note build stays within its peak-memory target (BENCHMARKS.md, "Scale").
const WRITER_BYTES_PER_THREAD: usize = 40_000_000;

const SECTIONS: &str = "sections";
const NOTES: &str = "notes";

fn register(index: &Index, analysis: &Analysis) {
    index.tokenizers().register(EN, analysis.index_analyzer());
    index.tokenizers().register(RAW, analysis.raw_analyzer());
}

fn to_datetime(d: chrono::NaiveDate) -> DateTime {
    let secs = d
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0);
    DateTime::from_timestamp_secs(secs)
}

fn err(path: &Path) -> impl Fn(tantivy::TantivyError) -> LexicalError + '_ {
    move |source| LexicalError::Tantivy {
        path: path.display().to_string(),
        source,
    }
}

/// A note to write: its ordinal, the note, and the ordinals its links resolve to.
pub struct NoteDoc<'a> {
    pub ord: u32,
    pub note: &'a LoadedNote,
    pub links: Vec<u32>,
}

/// Writes the keyword index and note store of `notes` into the empty folder `dir`.
pub fn build<'a>(
    dir: &Path,
    notes: impl Iterator<Item = NoteDoc<'a>>,
    analysis: &Analysis,
) -> Result<(), LexicalError> {
    let (schema, f) = schema();
    let (notes_schema, w) = notes::schema();
    let threads = crate::cores().min(4);
    let (sections_dir, notes_dir) = (dir.join(SECTIONS), dir.join(NOTES));
    let mut sections = create(&sections_dir, schema, threads, analysis)?;
    let mut whole = create(&notes_dir, notes_schema, 1, analysis)?;
    for d in notes {
        add_note(&mut sections, &f, d.ord, d.note).map_err(err(&sections_dir))?;
        notes::add(&mut whole, &w, d.ord, d.note, &d.links).map_err(err(&notes_dir))?;
    }
    finish(sections, &sections_dir)?;
    finish(whole, &notes_dir)
}

/// A writer on a new, empty index in `dir`.
fn create(
    dir: &Path,
    schema: Schema,
    threads: usize,
    analysis: &Analysis,
) -> Result<tantivy::IndexWriter<TantivyDocument>, LexicalError> {
    std::fs::create_dir_all(dir).map_err(|e| err(dir)(e.into()))?;
    let index = Index::create_in_dir(dir, schema).map_err(err(dir))?;
    register(&index, analysis);
    let writer = index
        .writer_with_num_threads::<TantivyDocument>(threads, WRITER_BYTES_PER_THREAD * threads)
        .map_err(err(dir))?;
    // `finish` merges every segment into one. A background merge started by the default
    // policy at the commit would take some of them first, and the explicit merge then fails
    // ("the segments that were merged could not be found"; seen building 207k notes).
    writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    Ok(writer)
}

/// Commits a fresh index and merges it into one segment.
fn finish(mut writer: tantivy::IndexWriter<TantivyDocument>, dir: &Path) -> Result<(), LexicalError> {
    writer.commit().map_err(err(dir))?;
    let segments = writer.index().searchable_segment_ids().map_err(err(dir))?;
    if segments.len() > 1 {
        writer.merge(&segments).wait().map_err(err(dir))?;
    }
    writer.wait_merging_threads().map_err(err(dir))
}

/// Writes into the empty folder `dir` a copy of the keyword index in `old` with the notes
/// `remove` taken out and `add` put in. The old index's segment files are immutable, so
/// they are hard-linked, not copied; only the change is written.
pub fn update(
    old: &Path,
    dir: &Path,
    remove: &[u32],
    add: &[NoteDoc<'_>],
    analysis: &Analysis,
) -> Result<(), LexicalError> {
    let (_, f) = schema();
    let mut sections = reopen_copy(
        &old.join(SECTIONS),
        &dir.join(SECTIONS),
        remove,
        f.note_ord,
        analysis,
    )?;
    let (_, w) = notes::schema();
    let mut whole = reopen_copy(&old.join(NOTES), &dir.join(NOTES), remove, w.note_ord, analysis)?;
    for d in add {
        add_note(&mut sections, &f, d.ord, d.note).map_err(err(dir))?;
        notes::add(&mut whole, &w, d.ord, d.note, &d.links).map_err(err(dir))?;
    }
    for mut writer in [sections, whole] {
        writer.commit().map_err(err(dir))?;
        writer.wait_merging_threads().map_err(err(dir))?;
    }
    Ok(())
}

/// A writer on a copy of the index in `old` (made in the empty folder `dir` by hard links)
/// with the documents of the notes `remove` deleted.
fn reopen_copy(
    old: &Path,
    dir: &Path,
    remove: &[u32],
    note_ord: Field,
    analysis: &Analysis,
) -> Result<tantivy::IndexWriter<TantivyDocument>, LexicalError> {
    std::fs::create_dir_all(dir).map_err(|e| err(dir)(e.into()))?;
    for entry in std::fs::read_dir(old).map_err(|e| err(old)(e.into()))? {
        let entry = entry.map_err(|e| err(old)(e.into()))?;
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".lock") {
            continue;
        }
        let to = dir.join(&name);
        if std::fs::hard_link(entry.path(), &to).is_err() {
            std::fs::copy(entry.path(), &to).map_err(|e| err(dir)(e.into()))?;
        }
    }
    let index = Index::open_in_dir(dir).map_err(err(dir))?;
    register(&index, analysis);
    let writer = index
        .writer_with_num_threads::<TantivyDocument>(1, 15_000_000)
        .map_err(err(dir))?;
    for ord in remove {
        writer.delete_term(Term::from_field_u64(note_ord, u64::from(*ord)));
    }
    Ok(writer)
}

/// Adds one document per section of a note.
fn add_note(
    writer: &mut tantivy::IndexWriter<TantivyDocument>,
    f: &Fields,
    ord: u32,
    loaded: &LoadedNote,
) -> tantivy::Result<()> {
    let note = &loaded.note;
    let tags_text = note.tags.join(" ");
    let updated = loaded.effective_updated().map(to_datetime);
    let mut sections: Vec<(usize, &Section)> = note.indexable_sections();
    // A note with no text (only front matter, only tags) is still found by its title, its
    // tags and the filters.
    let title_only = Section {
        heading_path: Vec::new(),
        text: String::new(),
        line_start: 1,
        line_end: 1,
    };
    if sections.is_empty() {
        sections.push((0, &title_only));
    }
    for (i, s) in sections {
        let heading = s.heading_display();
        let own_headings = note.own_headings(s);
        let mut doc = TantivyDocument::default();
        let all = format!("{}\n{}\n{}\n{}", note.title, own_headings, s.text, tags_text);
        doc.add_text(f.all, &all);
        doc.add_text(f.raw, &all);
        doc.add_text(f.title, &note.title);
        doc.add_text(f.heading, &own_headings);
        doc.add_text(f.heading_path, &heading);
        doc.add_text(f.tags_text, &tags_text);
        doc.add_text(f.body, &s.text);
        doc.add_text(f.note, note.id.as_str());
        doc.add_text(f.file, loaded.relative.to_string_lossy());
        doc.add_u64(f.note_ord, u64::from(ord));
        doc.add_u64(f.key, section_key(ord, i as u32));
        doc.add_u64(f.section, i as u64);
        doc.add_u64(f.line, s.line_start as u64);
        for t in &note.tags {
            doc.add_text(f.tag, t);
            doc.add_text(f.tag_key, fold_keyword(t));
        }
        if let Some(strength) = note.meta.strength {
            doc.add_f64(f.strength, f64::from(strength));
        }
        if let Some(d) = updated {
            doc.add_date(f.updated, d);
        }
        if let Some(d) = note.meta.established {
            doc.add_date(f.established, to_datetime(d));
        }
        writer.add_document(doc)?;
    }
    Ok(())
}

/// One number for (note, section), to fetch a section found by another index.
fn section_key(note_ord: u32, section: u32) -> u64 {
    (u64::from(note_ord) << 32) | u64::from(section)
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
    pub strength: Option<f32>,
    pub tags: Vec<String>,
}

/// Reads a u64 fast field of hits, opening each segment's column once. Hits are read from
/// fast fields, not the doc store: a query touches up to a thousand of them and must stay
/// in the millisecond range.
pub(super) struct FastU64<'s> {
    searcher: &'s tantivy::Searcher,
    field: &'static str,
    columns: std::collections::HashMap<u32, tantivy::columnar::Column<u64>>,
}

impl<'s> FastU64<'s> {
    pub(super) fn new(searcher: &'s tantivy::Searcher, field: &'static str) -> FastU64<'s> {
        FastU64 {
            searcher,
            field,
            columns: std::collections::HashMap::new(),
        }
    }

    pub(super) fn get(&mut self, address: DocAddress) -> tantivy::Result<Option<u64>> {
        let column = match self.columns.entry(address.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(
                self.searcher
                    .segment_reader(address.segment_ord)
                    .fast_fields()
                    .u64(self.field)?,
            ),
        };
        Ok(column.first(address.doc_id))
    }
}

/// Calls `f(i, t, term frequency, fieldnorm id)` for each term `terms[t]` of `field` that
/// occurs in document `docs[i]`. Each term's postings are sought to the documents in
/// order, so the cost follows how many documents are asked about, not how common a term
/// is (a query over the whole index would walk every document that has one).
fn for_each_occurrence(
    searcher: &tantivy::Searcher,
    field: Field,
    terms: &[String],
    docs: &[DocAddress],
    mut f: impl FnMut(usize, usize, u32, u8),
) -> tantivy::Result<()> {
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_unstable_by_key(|&i| docs[i]);
    for segment_docs in order.chunk_by(|&a, &b| docs[a].segment_ord == docs[b].segment_ord) {
        let segment = searcher.segment_reader(docs[segment_docs[0]].segment_ord);
        let inverted = segment.inverted_index(field)?;
        let norms = segment.get_fieldnorms_reader(field)?;
        for (t, text) in terms.iter().enumerate() {
            let term = Term::from_field_text(field, text);
            let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::WithFreqs)? else {
                continue;
            };
            for &i in segment_docs {
                let doc = docs[i].doc_id;
                if postings.doc() > doc {
                    continue;
                }
                if postings.seek(doc) == doc {
                    f(i, t, postings.term_freq(), norms.fieldnorm_id(doc));
                }
                if postings.doc() == tantivy::TERMINATED {
                    break;
                }
            }
        }
    }
    Ok(())
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

    /// The index terms the query's corrections add (see [`spell`]).
    fn alternatives(&self, query: &Query) -> Alternatives {
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
    fn constraint_clauses(&self, query: &Query, constraints: &Constraints) -> Vec<(Occur, Box<dyn TQuery>)> {
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

    fn tantivy_query(
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
    fn scoring_clauses<'q>(&self, query: &'q Query) -> Vec<&'q Clause> {
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
    fn add_field_boosts(
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
    fn clause_query(&self, clause: &Clause, alternatives: &Alternatives) -> Box<dyn TQuery> {
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

    fn filter_query(&self, filter: &Filter) -> Box<dyn TQuery> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        match filter {
            Filter::Tag(t) => Box::new(TermQuery::new(
                Term::from_field_text(self.f.tag_key, &fold_keyword(t)),
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

/// What a typed word's correction adds (see [`spell`]).
struct Alternative {
    /// The correction's index term.
    term: String,
    /// The correction as written.
    word: String,
    /// The typed word is in no note: the correction replaces it in phrases.
    replaces: bool,
}

/// Index term of a typed word → its correction.
#[derive(Default)]
struct Alternatives(FxHashMap<String, Alternative>);

impl Alternatives {
    /// The correction's term, and whether it replaces the typed word.
    fn get(&self, term: &str) -> Option<(&String, bool)> {
        self.0.get(term).map(|a| (&a.term, a.replaces))
    }
}

/// The word and phrase clauses inside a clause (itself, or the members of an `OR`).
fn leaves(clause: &Clause) -> Vec<&Clause> {
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
