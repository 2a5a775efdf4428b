//! Writing the keyword index: a first build into an empty folder, and an update that
//! copies the previous generation's index (by hard links) and applies a change to it.
//! Each note becomes one document per indexable section here, and one document in the
//! note index (`notes::add`).

use std::path::Path;

use tantivy::schema::{Field, Schema};
use tantivy::{Index, TantivyDocument, Term};

use super::schema::{meta_terms, register, schema, section_key, to_datetime, Fields};
use super::{err, notes, LexicalError, NOTES, SECTIONS};
use crate::analysis::{fold_keyword, Analysis};
use crate::note::Section;
use crate::vault::LoadedNote;

/// Indexing memory of each writer thread: enough for large segments, small enough that a
/// 50k-note build stays within its peak-memory target (BENCHMARKS.md, "Scale").
const WRITER_BYTES_PER_THREAD: usize = 40_000_000;

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
    let metas = meta_terms(&note.meta.front_matter);
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
        doc.add_u64(f.chars, loaded.chars as u64);
        for t in &note.tags {
            doc.add_text(f.tag, t);
            doc.add_text(f.tag_key, fold_keyword(t));
        }
        for m in &metas {
            doc.add_text(f.meta, m);
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
