//! The note index: one tantivy document per note, which is both the whole-note keyword
//! index and the note store.
//!
//! As a keyword index it holds the note as one bag of words: a note whose query words are
//! spread over several sections scores well as a whole ([`NoteIndex::scores`], blended with
//! the best section by `rank::blend_whole`). It is separate from the section index so that
//! its document count and lengths leave the sections' BM25 statistics alone.
//!
//! As the note store it holds each note's record (the parsed note without its text: id,
//! file, stamp and hash, title, sections with lines, tags, links and what they resolve to,
//! metadata, warnings) and the fields to look notes up by id, by the notes they link to
//! (backlinks), by link target (to resolve links again when notes come or go) and by tag.
//! Tantivy keeps these the way it keeps everything: immutable segments, so an update
//! writes only the notes that changed, and reads go through memory maps, so opening the
//! store costs nothing whatever the vault's size. Nothing ever loads every record.

use std::path::Path;
use std::sync::OnceLock;

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::collector::DocSetCollector;
use tantivy::query::{Bm25Weight, Query as TQuery, TermQuery, TermSetQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED, STRING,
};
use tantivy::{DocAddress, IndexReader, TantivyDocument, Term};

use super::schema::{meta_terms, EN};
use super::{err, LexicalError};
use crate::analysis::fold_keyword;
use crate::vault::LoadedNote;

/// Field handles of the note index.
#[derive(Clone, Copy)]
pub(super) struct NoteFields {
    text: Field,
    pub(super) note_ord: Field,
    id: Field,
    id_lower: Field,
    record: Field,
    link_to: Field,
    link_key: Field,
    tag_key: Field,
    /// Each front-matter key the note has (filterable values), folded: to list and count.
    meta_key: Field,
}

pub(super) fn schema() -> (Schema, NoteFields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(EN)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = NoteFields {
        text: b.add_text_field("text", text),
        note_ord: b.add_u64_field("note_ord", INDEXED | FAST),
        id: b.add_text_field("id", STRING),
        id_lower: b.add_text_field("id_lower", STRING),
        record: b.add_bytes_field("record", STORED),
        link_to: b.add_u64_field("link_to", INDEXED | FAST),
        link_key: b.add_text_field("link_key", STRING),
        tag_key: b.add_text_field("tag_key", STRING),
        meta_key: b.add_text_field("meta_key", STRING),
    };
    (b.build(), fields)
}

/// How a link target is compared when notes come or go: as `vault::Resolver` reads it.
pub fn link_key(target: &str) -> String {
    let t = target.trim().trim_start_matches("./").trim_start_matches('/');
    crate::note::strip_md_suffix(t).unwrap_or(t).to_lowercase()
}

/// The link keys a note with this id can answer: its id and every tail of it after a `/`
/// (`a/b/c`, `b/c`, `c`), since links resolve by id, path suffix and file name.
pub fn keys_answered_by(id: &str) -> Vec<String> {
    let id = id.to_lowercase();
    let mut keys = vec![id.clone()];
    keys.extend(id.match_indices('/').map(|(i, _)| id[i + 1..].to_string()));
    keys
}

/// The record of a note: the note without the text of its sections.
fn record(loaded: &LoadedNote) -> Vec<u8> {
    let mut lean = loaded.clone();
    for s in &mut lean.note.sections {
        s.text.clear();
    }
    serde_json::to_vec(&lean).unwrap_or_default()
}

/// Adds the document of note `ord`; `links` are the ordinals its links resolve to.
pub(super) fn add(
    writer: &mut tantivy::IndexWriter<TantivyDocument>,
    f: &NoteFields,
    ord: u32,
    loaded: &LoadedNote,
    links: &[u32],
) -> tantivy::Result<()> {
    let note = &loaded.note;
    let mut text = note.title.clone();
    for (_, s) in note.indexable_sections() {
        text.push('\n');
        text.push_str(&note.own_headings(s));
        text.push('\n');
        text.push_str(&s.text);
    }
    text.push('\n');
    text.push_str(&note.tags.join(" "));
    let mut doc = TantivyDocument::default();
    doc.add_text(f.text, &text);
    doc.add_u64(f.note_ord, u64::from(ord));
    doc.add_text(f.id, note.id.as_str());
    doc.add_text(f.id_lower, note.id.as_str().to_lowercase());
    doc.add_bytes(f.record, &record(loaded));
    for &to in links {
        doc.add_u64(f.link_to, u64::from(to));
    }
    let keys: FxHashSet<String> = note.links.iter().map(|l| link_key(&l.target)).collect();
    for k in keys {
        doc.add_text(f.link_key, k);
    }
    for t in &note.tags {
        doc.add_text(f.tag_key, fold_keyword(t));
    }
    let keys: FxHashSet<String> = meta_terms(&note.meta.front_matter)
        .iter()
        .filter_map(|t| t.split_once('=').map(|(k, _)| k.to_string()))
        .collect();
    for k in keys {
        doc.add_text(f.meta_key, k);
    }
    writer.add_document(doc)?;
    Ok(())
}

/// The note index, open for reading.
pub struct NoteIndex {
    reader: IndexReader,
    f: NoteFields,
    path: std::path::PathBuf,
    /// Where each note's document is, by ordinal; made on first use.
    docs: OnceLock<Result<Vec<Option<DocAddress>>, String>>,
}

impl NoteIndex {
    pub(super) fn new(reader: IndexReader, path: &Path) -> NoteIndex {
        NoteIndex {
            reader,
            f: schema().1,
            path: path.to_path_buf(),
            docs: OnceLock::new(),
        }
    }

    fn err(&self) -> impl Fn(tantivy::TantivyError) -> LexicalError + '_ {
        err(&self.path)
    }

    /// Live notes.
    pub fn count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Ordinal → document, for every live note (one pass over a fast field).
    fn docs(&self) -> Result<&[Option<DocAddress>], LexicalError> {
        let docs = self.docs.get_or_init(|| {
            let searcher = self.reader.searcher();
            let mut out: Vec<Option<DocAddress>> = Vec::new();
            for (s, segment) in searcher.segment_readers().iter().enumerate() {
                let ords = segment.fast_fields().u64("note_ord").map_err(|e| e.to_string())?;
                for doc in segment.doc_ids_alive() {
                    if let Some(ord) = ords.first(doc) {
                        let ord = ord as usize;
                        if out.len() <= ord {
                            out.resize(ord + 1, None);
                        }
                        out[ord] = Some(DocAddress::new(s as u32, doc));
                    }
                }
            }
            Ok(out)
        });
        docs.as_deref().map_err(|why| LexicalError::Tantivy {
            path: self.path.display().to_string(),
            source: tantivy::TantivyError::InternalError(why.clone()),
        })
    }

    /// The ordinals of every live note.
    pub fn ords(&self) -> Result<Vec<u32>, LexicalError> {
        Ok(self
            .docs()?
            .iter()
            .enumerate()
            .filter_map(|(ord, d)| d.map(|_| ord as u32))
            .collect())
    }

    /// The record of note `ord` (sections without their text), if it is live.
    pub fn record(&self, ord: u32) -> Result<Option<LoadedNote>, LexicalError> {
        let Some(address) = self.docs()?.get(ord as usize).copied().flatten() else {
            return Ok(None);
        };
        let doc: TantivyDocument = self.reader.searcher().doc(address).map_err(self.err())?;
        let bytes = doc
            .get_first(self.f.record)
            .and_then(|v| v.as_bytes())
            .unwrap_or_default();
        serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| LexicalError::Tantivy {
                path: self.path.display().to_string(),
                source: tantivy::TantivyError::InternalError(format!("note record {ord}: {e}")),
            })
    }

    /// The ordinal of the note with this id: exact, else ignoring case.
    pub fn find(&self, id: &str) -> Result<Option<u32>, LexicalError> {
        for (field, text) in [(self.f.id, id.to_string()), (self.f.id_lower, id.to_lowercase())] {
            let hits = self.ords_matching(&TermQuery::new(
                Term::from_field_text(field, &text),
                IndexRecordOption::Basic,
            ))?;
            if let Some(&ord) = hits.iter().min() {
                return Ok(Some(ord));
            }
        }
        Ok(None)
    }

    /// The notes whose links resolve to `ord`.
    pub fn backlinks(&self, ord: u32) -> Result<Vec<u32>, LexicalError> {
        self.ords_matching(&TermQuery::new(
            Term::from_field_u64(self.f.link_to, u64::from(ord)),
            IndexRecordOption::Basic,
        ))
    }

    /// The ordinals note `ord` links to.
    pub fn links(&self, ord: u32) -> Result<Vec<u32>, LexicalError> {
        let Some(address) = self.docs()?.get(ord as usize).copied().flatten() else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let column = searcher
            .segment_reader(address.segment_ord)
            .fast_fields()
            .u64("link_to")
            .map_err(self.err())?;
        Ok(column.values_for_doc(address.doc_id).map(|o| o as u32).collect())
    }

    /// The notes with a link whose key is one of `keys` (see [`link_key`]).
    pub fn linking_by_key(&self, keys: &[String]) -> Result<Vec<u32>, LexicalError> {
        let terms = keys.iter().map(|k| Term::from_field_text(self.f.link_key, k));
        self.ords_matching(&TermSetQuery::new(terms))
    }

    /// In how many notes the analyzed term occurs.
    pub fn doc_freq(&self, term: &str) -> u64 {
        self.reader
            .searcher()
            .doc_freq(&Term::from_field_text(self.f.text, term))
            .unwrap_or(0)
    }

    /// In how many notes the tag occurs.
    pub fn tag_count(&self, tag: &str) -> u64 {
        self.reader
            .searcher()
            .doc_freq(&Term::from_field_text(self.f.tag_key, &fold_keyword(tag)))
            .unwrap_or(0)
    }

    /// The notes with the tag.
    pub fn with_tag(&self, tag: &str) -> Result<Vec<u32>, LexicalError> {
        self.ords_matching(&TermQuery::new(
            Term::from_field_text(self.f.tag_key, &fold_keyword(tag)),
            IndexRecordOption::Basic,
        ))
    }

    /// Each front-matter key the notes have (folded) and in how many notes, most first.
    pub fn front_matter_keys(&self) -> Result<Vec<(String, u64)>, LexicalError> {
        let mut counts: FxHashMap<String, u64> = FxHashMap::default();
        for segment in self.reader.searcher().segment_readers() {
            let inverted = segment.inverted_index(self.f.meta_key).map_err(self.err())?;
            let mut stream = inverted.terms().stream().map_err(|e| self.err()(e.into()))?;
            while let Some((bytes, info)) = stream.next() {
                *counts
                    .entry(String::from_utf8_lossy(bytes).into_owned())
                    .or_default() += u64::from(info.doc_freq);
            }
        }
        let mut keys: Vec<(String, u64)> = counts.into_iter().collect();
        keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(keys)
    }

    /// How many distinct tags the notes have.
    pub fn tag_kinds(&self) -> Result<u64, LexicalError> {
        let mut tags: FxHashSet<Vec<u8>> = FxHashSet::default();
        for segment in self.reader.searcher().segment_readers() {
            let inverted = segment.inverted_index(self.f.tag_key).map_err(self.err())?;
            let mut stream = inverted.terms().stream().map_err(|e| self.err()(e.into()))?;
            while let Some((bytes, _)) = stream.next() {
                tags.insert(bytes.to_vec());
            }
        }
        Ok(tags.len() as u64)
    }

    /// Which of `terms` (analyzed) occur in each of `notes`.
    pub fn terms_in(
        &self,
        terms: &[String],
        notes: &FxHashSet<u32>,
    ) -> Result<FxHashMap<u32, Vec<usize>>, LexicalError> {
        let mut out: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        self.for_each_occurrence(terms, notes.iter().copied(), |ord, i, _, _| {
            out.entry(ord).or_default().push(i)
        })?;
        Ok(out)
    }

    /// Calls `f(ord, term index, term frequency, fieldnorm id)` for each of `terms` that
    /// occurs in each of `notes` (see `super::read::for_each_occurrence`).
    fn for_each_occurrence(
        &self,
        terms: &[String],
        notes: impl Iterator<Item = u32>,
        mut f: impl FnMut(u32, usize, u32, u8),
    ) -> Result<(), LexicalError> {
        let docs = self.docs()?;
        let (addresses, ords): (Vec<DocAddress>, Vec<u32>) = notes
            .filter_map(|ord| docs.get(ord as usize).copied().flatten().map(|d| (d, ord)))
            .unzip();
        super::read::for_each_occurrence(
            &self.reader.searcher(),
            self.f.text,
            terms,
            &addresses,
            |i, t, tf, norm| f(ords[i], t, tf, norm),
        )
        .map_err(self.err())
    }

    fn ords_matching(&self, query: &dyn TQuery) -> Result<Vec<u32>, LexicalError> {
        let searcher = self.reader.searcher();
        let docs = searcher.search(query, &DocSetCollector).map_err(self.err())?;
        let mut ords = super::read::FastU64::new(&searcher, "note_ord");
        let mut out = Vec::with_capacity(docs.len());
        for address in docs {
            if let Some(ord) = ords.get(address).map_err(self.err())? {
                out.push(ord as u32);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Whole-note BM25 scores of the `candidates` for the analyzed terms, each with a
    /// weight (a term given twice counts twice). A candidate none of whose terms match is
    /// absent.
    pub fn scores(
        &self,
        terms: &[(String, f32)],
        candidates: &[u32],
    ) -> Result<FxHashMap<u32, f32>, LexicalError> {
        let searcher = self.reader.searcher();
        let weights = terms
            .iter()
            .map(|(t, w)| {
                Bm25Weight::for_terms(&searcher, &[Term::from_field_text(self.f.text, t)])
                    .map(|b| b.boost_by(*w))
            })
            .collect::<tantivy::Result<Vec<_>>>()
            .map_err(self.err())?;
        let terms: Vec<String> = terms.iter().map(|(t, _)| t.clone()).collect();
        let mut out: FxHashMap<u32, f32> = FxHashMap::default();
        self.for_each_occurrence(&terms, candidates.iter().copied(), |ord, i, tf, norm| {
            *out.entry(ord).or_default() += weights[i].score(norm, tf)
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_keys_match_what_an_id_answers() {
        assert_eq!(link_key(" ./Topics/Python.md"), "topics/python");
        assert_eq!(
            keys_answered_by("Topics/Sub/Python"),
            ["topics/sub/python", "sub/python", "python"]
        );
    }
}
