//! A new memory note: its checks, its file name and its text, in the format of the seed
//! note (`# Title`, the body, `## Tags` with backticked tags, `## Related Memories` with
//! `[[links]]`, and the italic footer after `---`).

use std::path::{Component, Path};

use chrono::NaiveDate;

use crate::error::{Error, Result};

/// Longest title, in characters.
const MAX_TITLE_CHARS: usize = 200;
/// Longest body, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Longest file name made from a title, in characters (before `.md`).
const MAX_SLUG_CHARS: usize = 80;

/// What a new memory note holds, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMemory {
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    /// Note ids, written as `[[id]]`.
    pub links: Vec<String>,
    pub strength: f32,
}

impl NewMemory {
    /// Checks a title and body (and trims them): a one-line title, a body with text.
    pub fn new(
        title: &str,
        body: &str,
        tags: Vec<String>,
        links: Vec<String>,
        strength: f32,
    ) -> Result<NewMemory> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::Usage("the title is empty: give the memory a title".into()));
        }
        if title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
            return Err(Error::Usage(format!(
                "bad title: give one line of at most {MAX_TITLE_CHARS} characters, without control characters"
            )));
        }
        if body.trim().is_empty() {
            return Err(Error::Usage(
                "the body is empty: give the memory's text (on stdin for the command line)".into(),
            ));
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(Error::TooLarge(format!(
                "the body is {} bytes; the limit is {MAX_BODY_BYTES}",
                body.len()
            )));
        }
        if body.contains('\0') {
            return Err(Error::Usage("the body holds a NUL byte: give text".into()));
        }
        if !(0.0..=1.0).contains(&strength) {
            return Err(Error::Usage(format!(
                "bad strength `{strength}`: give a number from 0 to 1"
            )));
        }
        Ok(NewMemory {
            title: title.to_string(),
            body: body.trim_matches('\n').trim_end().to_string(),
            tags,
            links,
            strength,
        })
    }
}

/// The note's text, dated `today`.
pub fn render(m: &NewMemory, today: NaiveDate) -> String {
    let mut out = format!("# {}\n\n{}\n", m.title, m.body);
    if !m.tags.is_empty() {
        let tags: Vec<String> = m.tags.iter().map(|t| format!("`{t}`")).collect();
        out.push_str(&format!("\n## Tags\n{}\n", tags.join(" ")));
    }
    if !m.links.is_empty() {
        out.push_str("\n## Related Memories\n\n");
        for l in &m.links {
            out.push_str(&format!("- [[{l}]]\n"));
        }
    }
    let day = today.format("%Y-%m-%d");
    out.push_str(&format!(
        "\n---\n*Knowledge domain established: {day}*\n*Last updated: {day}*\n*Strength: {}*\n",
        strength_text(m.strength)
    ));
    out
}

/// A strength as the footer writes it: at most two decimals, no trailing zeros (`0.5`).
pub(super) fn strength_text(s: f32) -> String {
    let text = format!("{:.2}", s);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "" => "0".to_string(),
        t => t.to_string(),
    }
}

/// The file name a title gets (without `.md`): lower-case letters and digits of any
/// script, runs of anything else as one `_`, at most 80 characters.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let slug: String = out.trim_matches('_').chars().take(MAX_SLUG_CHARS).collect();
    match slug.trim_end_matches('_') {
        "" => "memory".to_string(),
        s => s.to_string(),
    }
}

/// A folder inside the vault for new notes: relative, no `..`, no hidden parts. Returns
/// it `/`-separated without a trailing `/` (empty: the vault's top).
pub fn check_folder(folder: &str) -> Result<String> {
    let trimmed = folder.trim().trim_end_matches('/');
    let bad = || {
        Error::Usage(format!(
            "bad folder `{}`: give a folder inside the vault, like memories or people/alex",
            folder.escape_debug()
        ))
    };
    if trimmed.is_empty() || trimmed == "." {
        return Ok(String::new());
    }
    if trimmed.contains('\\') || trimmed.chars().any(char::is_control) || trimmed.starts_with('/') {
        return Err(bad());
    }
    let path = Path::new(trimmed);
    let parts: Vec<&str> = trimmed.split('/').collect();
    if parts.iter().any(|p| p.is_empty() || p.starts_with('.'))
        || path.components().any(|c| !matches!(c, Component::Normal(_)))
        || parts.len() > 8
    {
        return Err(bad());
    }
    Ok(trimmed.to_string())
}

/// A tag as written in `## Tags` (without `#` or backticks): one word.
pub fn check_tag(tag: &str) -> Result<String> {
    let t = tag.trim().trim_start_matches('#');
    if t.is_empty()
        || t.chars().count() > 64
        || t.chars().any(|c| c.is_whitespace() || c.is_control() || c == '`')
    {
        return Err(Error::Usage(format!(
            "bad tag `{}`: a tag is one word without spaces or backticks, like python or api-design",
            tag.escape_debug()
        )));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Note, NoteId};

    #[test]
    fn a_rendered_memory_parses_back_as_written() {
        let m = NewMemory::new(
            "  Sourdough: levain ratios ",
            "Use a 1:5:5 levain.\n\n## Why\nIt peaks in 8 hours.\n",
            vec!["baking".into(), "bread".into()],
            vec!["topics/sourdough_baking".into()],
            0.7,
        )
        .unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let text = render(&m, today);
        assert!(
            text.starts_with("# Sourdough: levain ratios\n\nUse a 1:5:5 levain."),
            "{text}"
        );
        assert!(text.ends_with(
            "---\n*Knowledge domain established: 2026-12-07*\n*Last updated: 2026-12-07*\n*Strength: 0.7*\n"
        ));
        let note = Note::parse(NoteId("memories/x".into()), &text);
        assert_eq!(note.title, "Sourdough: levain ratios");
        assert_eq!(note.tags, vec!["baking", "bread"]);
        assert_eq!(note.meta.strength, Some(0.7));
        assert_eq!(note.meta.updated, Some(today));
        assert_eq!(note.meta.established, Some(today));
        assert_eq!(note.links.len(), 1);
        assert_eq!(note.links[0].target, "topics/sourdough_baking");
        assert!(note.warnings.is_empty(), "{:?}", note.warnings);
    }

    #[test]
    fn titles_become_file_names() {
        assert_eq!(slug("Sourdough: levain ratios!"), "sourdough_levain_ratios");
        assert_eq!(slug("Café au lait"), "café_au_lait");
        assert_eq!(slug("李白 静夜思"), "李白_静夜思");
        assert_eq!(slug("../../etc/passwd"), "etc_passwd");
        assert_eq!(slug("!!!"), "memory");
        assert_eq!(slug(&"a".repeat(300)).chars().count(), 80);
    }

    #[test]
    fn bad_input_is_refused_with_what_to_give() {
        let new = |title: &str, body: &str, s: f32| NewMemory::new(title, body, vec![], vec![], s);
        assert!(new("", "b", 0.5)
            .unwrap_err()
            .to_string()
            .contains("title is empty"));
        assert!(new("a\nb", "b", 0.5)
            .unwrap_err()
            .to_string()
            .contains("one line"));
        assert!(new("t", "  \n", 0.5)
            .unwrap_err()
            .to_string()
            .contains("body is empty"));
        assert!(new("t", "b", 1.5)
            .unwrap_err()
            .to_string()
            .contains("from 0 to 1"));
        assert!(new("t", &"x".repeat(MAX_BODY_BYTES + 1), 0.5).is_err());
        assert_eq!(check_folder("memories/").unwrap(), "memories");
        assert_eq!(check_folder("").unwrap(), "");
        for bad in ["../x", "/etc", "a/../b", ".git", "a//b", "a\\b"] {
            assert!(check_folder(bad).is_err(), "{bad}");
        }
        assert_eq!(check_tag("#python").unwrap(), "python");
        for bad in ["", "two words", "a`b"] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
        assert_eq!(strength_text(0.5), "0.5");
        assert_eq!(strength_text(0.85), "0.85");
        assert_eq!(strength_text(1.0), "1");
        assert_eq!(strength_text(0.0), "0");
    }
}
