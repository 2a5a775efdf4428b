//! Reading a note for `read_note` (`show`): ids checked before anything is looked up,
//! a section picked by heading path, unique heading or line range, and the text capped
//! with a line that says so.

use std::path::{Component, Path};

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
pub(super) fn section_lines(note: &crate::note::Note, wanted: &str, total: usize) -> Result<(usize, usize)> {
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

/// `text` cut to at most `limit` bytes at a line boundary, with a last line saying so.
pub(super) fn cap(text: String, limit: usize) -> (String, bool) {
    if text.len() <= limit {
        return (text, false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').unwrap_or(end);
    let rest = text.len() - end;
    let mut out = text[..end].to_string();
    out.push_str(&format!(
        "\n\n[… cut here: {rest} more bytes; ask for one section (a heading or a line range) to read the rest]"
    ));
    (out, true)
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
        let (t, cut) = cap("aaaa\nbbbb\ncccc".into(), 8);
        assert!(cut);
        assert!(t.starts_with("aaaa\n\n[… cut here: 10 more bytes"), "{t}");
        assert_eq!(cap("short".into(), 8), ("short".to_string(), false));
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
