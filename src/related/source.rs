//! What related notes are found for: a note of the index (its stored vectors, text and
//! tags), the same note with its links blanked out (for measuring), or a piece of text.

use crate::error::{Error, Result};
use crate::snapshot::Snapshot;

/// What related notes are found for.
pub struct Source {
    /// The note itself, when the source is a note (excluded from results; its links and
    /// tags count).
    pub note: Option<u32>,
    /// (section heading, unit vector) of each chunk.
    pub chunks: Vec<(String, Vec<f32>)>,
    /// Text for "more like this".
    pub text: String,
    pub tags: Vec<String>,
}

impl Source {
    /// A note of the index, with its stored vectors.
    pub fn note(snap: &Snapshot, ord: u32) -> Result<Source> {
        let n = &note_with_text(snap, ord)?;
        let mut chunks = Vec::new();
        if let Some(vectors) = snap.vectors()? {
            for &i in vectors.of_note(ord) {
                let section = vectors.entry(i as usize).section as usize;
                chunks.push((reason_heading(n, section), vectors.vector(i as usize)));
            }
        }
        Ok(Source {
            note: Some(ord),
            chunks,
            text: n.full_text(),
            tags: n.tags.clone(),
        })
    }

    /// A note as if it had no links: link text removed from its text and (with `embed`) its
    /// sections embedded again, so that neither wording nor meaning can see where it links.
    pub fn note_without_links(snap: &Snapshot, ord: u32, embed: bool) -> Result<Source> {
        let n = &note_with_text(snap, ord)?;
        let mut stripped = n.clone();
        let link_words: Vec<String> = n
            .links
            .iter()
            .flat_map(|l| [Some(l.raw.clone()), Some(l.target.clone()), l.alias.clone()])
            .flatten()
            .filter(|w| !w.is_empty())
            .collect();
        for s in &mut stripped.sections {
            for w in &link_words {
                s.text = s.text.replace(w.as_str(), " ");
            }
        }
        if !embed {
            return Ok(Source {
                note: Some(ord),
                chunks: Vec::new(),
                text: stripped.full_text(),
                tags: n.tags.clone(),
            });
        }
        let chunks = snap.with_embedder(|e| {
            let chunks: Vec<(String, String)> = stripped
                .sections
                .iter()
                .enumerate()
                .filter(|(_, s)| !stripped.is_tag_list(s))
                .flat_map(|(i, s)| e.chunks(&stripped, i as u32, s))
                .map(|c| (reason_heading(&stripped, c.section as usize), c.text))
                .collect();
            let texts: Vec<String> = chunks.iter().map(|(_, t)| t.clone()).collect();
            let vectors = e.embed(&texts)?;
            Ok(chunks.into_iter().map(|(h, _)| h).zip(vectors).collect())
        })?;
        Ok(Source {
            note: Some(ord),
            chunks,
            text: stripped.full_text(),
            tags: n.tags.clone(),
        })
    }

    /// A piece of text.
    pub fn text(snap: &Snapshot, text: &str) -> Result<Source> {
        let chunks = match snap.vectors()? {
            Some(_) => vec![(String::new(), snap.embed_query(text)?)],
            None => Vec::new(),
        };
        Ok(Source {
            note: None,
            chunks,
            text: text.to_string(),
            tags: Vec::new(),
        })
    }
}

/// A section's heading as a reason can name it: empty for link lists (alike everywhere)
/// and text before the first heading.
pub(super) fn reason_heading(note: &crate::note::Note, section: usize) -> String {
    match note.sections.get(section) {
        Some(s) if !note.is_link_list(s) => s.heading().to_string(),
        _ => String::new(),
    }
}

/// Note `ord` with the text of its sections, read from its file now (the index keeps
/// no note text); as indexed, without text, if the file cannot be read.
fn note_with_text(snap: &Snapshot, ord: u32) -> Result<crate::note::Note> {
    let record = snap
        .notes()
        .record(ord)?
        .ok_or_else(|| Error::Internal(format!("the index has no note with ordinal {ord}")))?;
    Ok(match snap.note_text(&record) {
        Ok(text) => {
            let mut note = crate::note::Note::parse(record.note.id.clone(), &text);
            // Links resolve as the index resolved them.
            note.links = record.note.links;
            note
        }
        Err(_) => record.note,
    })
}
