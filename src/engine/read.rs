//! Reading a note for `read_note` (`show`): ids checked before anything is looked up,
//! a section picked by heading path, unique heading or line range, and the text capped
//! with a line that says so.

use std::path::{Component, Path};

use super::Engine;
use crate::api::{check_max_chars, NoteRequest, NoteResponse, SectionInfo};
use crate::error::{Error, Result};

/// A note id names a note of the index, never a file: one that could climb out of the
/// vault (`..`, an absolute path) is refused before anything is looked up.
pub(super) fn check_note_id(id: &str) -> Result<()> {
    let path = Path::new(id);
    let escapes = id.is_empty()
        || id.contains('\0')
        || id.starts_with('/')
        || id.starts_with('\\')
        || path.components().any(|c| !matches!(c, Component::Normal(_)))
        || id.split(['/', '\\']).any(|part| part == ".." || part == ".");
    if escapes {
        return Err(Error::Usage(format!(
            "bad note id `{}`: a note id is a path inside the vault without `.md`, like topics/python",
            id.escape_debug()
        )));
    }
    Ok(())
}

/// The lines (1-based, inclusive) of the section `wanted` names: a line range `A-B`, a
/// heading path, or a heading that is unique in the note.
fn section_lines(note: &crate::note::Note, wanted: &str, total: usize) -> Result<(usize, usize)> {
    let w = wanted.trim();
    if let Some((a, b)) = w.split_once('-') {
        if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
            if a == 0 || b < a || a > total.max(1) {
                return Err(Error::Usage(format!(
                    "bad line range `{w}`: the note has lines 1-{total}"
                )));
            }
            return Ok((a, b.min(total.max(1))));
        }
    }
    let norm = |s: &str| {
        s.split('>')
            .map(|p| p.trim().to_lowercase())
            .collect::<Vec<_>>()
            .join(" > ")
    };
    let want = norm(w);
    let sections = &note.sections;
    let exact: Vec<_> = sections
        .iter()
        .filter(|s| norm(&s.heading_display()) == want)
        .collect();
    let by_tail: Vec<_> = sections
        .iter()
        .filter(|s| {
            let h = norm(&s.heading_display());
            h.ends_with(&format!("> {want}")) || norm(s.heading()) == want
        })
        .collect();
    match (exact.as_slice(), by_tail.as_slice()) {
        ([s, ..], _) | ([], [s]) => Ok((s.line_start, s.line_end)),
        _ => {
            let headings: Vec<String> = sections
                .iter()
                .filter(|s| !s.heading_path.is_empty())
                .map(|s| s.heading_display())
                .collect();
            let why = if by_tail.len() > 1 {
                "is ambiguous"
            } else {
                "is not in the note"
            };
            Err(Error::Usage(format!(
                "section `{w}` {why}; its sections: {}",
                headings.join(" | ")
            )))
        }
    }
}

/// `text` cut to at most `limit` bytes and `max_chars` characters, at a line boundary,
/// with a last line saying so.
fn cap(text: String, limit: usize, max_chars: Option<usize>) -> (String, bool) {
    let by_chars = max_chars
        .and_then(|n| text.char_indices().nth(n))
        .map_or(text.len(), |(i, _)| i);
    let mut end = limit.min(by_chars);
    if end >= text.len() {
        return (text, false);
    }
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').unwrap_or(end);
    let rest = text[end..].chars().count();
    let mut out = text[..end].to_string();
    out.push_str(&format!(
        "\n\n[… cut here: {rest} more characters; ask for one section (a heading or a line range) to read the rest]"
    ));
    (out, true)
}

impl Engine {
    /// A note as indexed (sections, tags, links, backlinks, metadata), with its markdown
    /// or one section's, read from the vault now.
    pub fn note(&self, req: &NoteRequest) -> Result<NoteResponse> {
        check_note_id(&req.note)?;
        let max_chars = req
            .max_chars
            .map(check_max_chars)
            .transpose()
            .map_err(Error::Usage)?;
        let part = match (&req.section, &req.lines) {
            (Some(_), Some(_)) => return Err(Error::Usage("give a section or lines, not both".into())),
            (None, Some(lines)) => match lines.split_once('-') {
                Some((a, b)) if a.trim().parse::<usize>().is_ok() && b.trim().parse::<usize>().is_ok() => {
                    Some(lines)
                }
                _ => {
                    return Err(Error::Usage(format!(
                        "bad lines `{lines}`: give a range START-END, like 12-40"
                    )))
                }
            },
            (section, None) => section.as_ref(),
        };
        let snap = self.snapshot();
        let (ord, n) = snap.find(&req.note)?;
        let note = &n.note;
        let mut backlinks = Vec::new();
        let ids = snap.ids()?;
        for from in snap.notes().backlinks(ord)? {
            backlinks.extend(ids.get(from).map(str::to_string));
        }
        backlinks.sort();
        let mut warnings = note.warnings.clone();
        let (mut markdown, mut truncated, mut lines) = (None, None, None);
        // The index keeps no note text: sections' text and the markdown come from the file.
        let mut texts: Vec<Option<String>> = vec![None; note.sections.len()];
        if !req.without_markdown || req.section_text {
            let text = snap.note_text(&n)?;
            if crate::vault::content_hash(text.as_bytes()) != n.hash {
                warnings.push("the note changed since it was indexed; its sections may have moved".into());
            }
            if req.section_text {
                let fresh = crate::note::Note::parse(note.id.clone(), &text);
                for (slot, s) in texts.iter_mut().zip(fresh.sections) {
                    *slot = Some(s.text);
                }
            }
            if req.without_markdown {
                texts.truncate(note.sections.len());
            } else {
                let all: Vec<&str> = text.lines().collect();
                let (from, to) = match part {
                    Some(wanted) => section_lines(note, wanted, all.len())?,
                    None => (1, all.len().max(1)),
                };
                // The whole note byte for byte (its last newline, its line endings); a part
                // as its lines.
                let body = match part {
                    None => text.clone(),
                    Some(_) => all.get(from - 1..to.min(all.len())).unwrap_or(&[]).join("\n"),
                };
                let (body, cut) = cap(body, self.limits.note_bytes, max_chars);
                markdown = Some(body);
                truncated = Some(cut);
                lines = Some((from, to));
            }
        }
        Ok(NoteResponse {
            note: note.id.to_string(),
            title: note.title.clone(),
            path: n.relative.to_string_lossy().into_owned(),
            tags: note.tags.clone(),
            strength: note.meta.strength,
            established: note.meta.established,
            updated: note.meta.updated,
            sections: note
                .sections
                .iter()
                .zip(texts)
                .map(|(s, text)| SectionInfo {
                    heading: s.heading_display(),
                    line_start: s.line_start,
                    line_end: s.line_end,
                    text: text.or_else(|| req.section_text.then(String::new)),
                })
                .collect(),
            links: note.links.clone(),
            backlinks,
            front_matter: note.meta.front_matter.clone(),
            footer: note.meta.footer.clone(),
            warnings,
            chars: n.chars,
            markdown,
            truncated,
            lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_ids_cannot_leave_the_vault() {
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "..",
            "a/./b",
            "",
            "x\0y",
            "..\\x",
        ] {
            assert!(check_note_id(bad).is_err(), "{bad:?}");
        }
        for good in ["topics/python", "a b/ç", "notes/v1.2"] {
            assert!(check_note_id(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn cap_cuts_at_a_line_and_says_so() {
        let (t, cut) = cap("aaaa\nbbbb\ncccc".into(), 8, None);
        assert!(cut);
        assert!(t.starts_with("aaaa\n\n[… cut here: 10 more characters"), "{t}");
        assert_eq!(cap("short".into(), 8, None), ("short".to_string(), false));
        let (t, cut) = cap("ééé\nèèè\nààà".into(), 1000, Some(9));
        assert!(cut);
        assert!(t.starts_with("ééé\nèèè\n\n[… cut here: 4 more characters"), "{t}");
        assert_eq!(cap("ab".into(), 1000, Some(2)), ("ab".to_string(), false));
    }

    #[test]
    fn sections_by_path_tail_or_lines() {
        let note = crate::note::Note::parse(
            crate::note::NoteId("n".into()),
            "# T\n\n## A\n\n### B\nx\n\n## C\ny\n",
        );
        assert_eq!(section_lines(&note, "T > A > B", 9).unwrap(), (5, 7));
        assert_eq!(section_lines(&note, "b", 9).unwrap(), (5, 7));
        assert_eq!(section_lines(&note, "2-3", 9).unwrap(), (2, 3));
        let err = section_lines(&note, "Z", 9).unwrap_err().to_string();
        assert!(err.contains("T > A > B"), "{err}");
        assert!(section_lines(&note, "9-2", 9).is_err());
    }
}
