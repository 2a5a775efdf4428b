//! Parsing one markdown note into sections and metadata.
//!
//! A note is parsed once, by pulldown-cmark, into the shape every index needs: a list of
//! [`Section`]s (one per heading, plus the text before the first heading), each with its
//! heading path, plain text and line range, and the note-level metadata that ranking and
//! "related" use (title, tags, wiki-links, dates, strength).
//!
//! Parsing never fails: a note that is odd (no title, front matter that is not YAML, an
//! unclosed code fence, a strength of 7) still yields a [`Note`], with the oddity recorded
//! in [`Note::warnings`]. Decisions about whether to read a file at all (size, binary,
//! encoding) belong to the `vault` module.
//!
//! The walk over pulldown-cmark's events is in `parse`; what it hands off has a module
//! each: the YAML front matter (`frontmatter`), the memory footer (`footer`), `#tags`
//! and wiki-links in prose (`inline`), and the dates and strengths both kinds of
//! metadata hold (`values`).

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use parse::Parse;

mod footer;
mod frontmatter;
mod inline;
mod parse;
mod values;

pub use footer::{footer_lines, FooterLine};
pub use frontmatter::OWN_KEYS;
pub use values::parse_date;

/// A note's identity: its path inside the vault, `/`-separated, without `.md`.
/// It is also what `[[wiki-links]]` point at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NoteId(pub String);

impl NoteId {
    /// The id of the file at `relative` (a path inside the vault).
    pub fn from_relative_path(relative: &std::path::Path) -> NoteId {
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let mut id = parts.join("/");
        if let Some(stripped) = strip_md_suffix(&id) {
            id = stripped.to_string();
        }
        NoteId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last path component: what Obsidian matches a bare `[[name]]` against.
    pub fn file_stem(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for NoteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `name.md` → `name` (case-insensitive), else `None`.
pub fn strip_md_suffix(s: &str) -> Option<&str> {
    let n = s.len();
    if n > 3 && s.is_char_boundary(n - 3) && s[n - 3..].eq_ignore_ascii_case(".md") {
        Some(&s[..n - 3])
    } else {
        None
    }
}

/// A heading's span of a note: the unit that is indexed, embedded and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Headings from the outermost (usually the H1 title) down to this section's own.
    /// Empty for text before the first heading.
    pub heading_path: Vec<String>,
    /// Plain text: prose, list items, table cells, quotes and code, markup removed.
    pub text: String,
    /// First line (1-based), the heading's line for a headed section.
    pub line_start: usize,
    /// Last line (1-based, inclusive).
    pub line_end: usize,
}

impl Section {
    /// `A > B > C`, the form shown to users and embedded with the text.
    pub fn heading_display(&self) -> String {
        self.heading_path.join(" > ")
    }

    /// The section's own heading (the last of its path), or "" before the first heading.
    pub fn heading(&self) -> &str {
        self.heading_path.last().map(String::as_str).unwrap_or("")
    }
}

/// One `[[wiki-link]]` (or `![[embed]]`) as written, and where it points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The text between the brackets, as written.
    pub raw: String,
    /// The target part: before `#` and `|`.
    pub target: String,
    /// The `#heading` part, if any.
    pub heading: Option<String>,
    /// The `|alias` part, if any.
    pub alias: Option<String>,
    /// `![[...]]`.
    pub embed: bool,
    /// The line it is on (1-based).
    pub line: usize,
    /// The note it resolves to, filled in by the vault (which knows every note id).
    pub resolved: Option<NoteId>,
}

/// Note-level metadata from YAML front matter and the italic footer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// How established the memory is, 0..1. `None` when absent or invalid.
    pub strength: Option<f32>,
    /// `Knowledge domain established` / front-matter `created`.
    pub established: Option<NaiveDate>,
    /// `Last updated` / front-matter `updated`.
    pub updated: Option<NaiveDate>,
    /// Every front-matter key, as JSON values.
    pub front_matter: BTreeMap<String, serde_json::Value>,
    /// Every footer `*Key: value*` line, as written.
    pub footer: BTreeMap<String, String>,
}

/// A parsed note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: NoteId,
    pub title: String,
    pub sections: Vec<Section>,
    /// Lower-cased, without `#`, in order of first appearance, no duplicates.
    pub tags: Vec<String>,
    pub links: Vec<Link>,
    pub meta: Metadata,
    /// Things that were odd but did not stop the parse.
    pub warnings: Vec<String>,
}

impl Note {
    /// The language of the note's title and text, as the index stores it (its first few
    /// thousand characters are plenty to tell).
    pub fn language(&self) -> Option<crate::language::Language> {
        const ENOUGH: usize = 4000;
        let mut text = self.title.clone();
        for s in &self.sections {
            if text.len() >= ENOUGH {
                break;
            }
            text.push('\n');
            text.push_str(&s.text);
        }
        let end = (0..=ENOUGH.min(text.len()))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        crate::language::language_of(&text[..end], crate::language::STORED)
    }

    /// Parses `text` as the note `id`; the id's file stem is the title of last resort.
    pub fn parse(id: NoteId, text: &str) -> Note {
        Parse::new(id, text).run()
    }

    /// A `## Tags` section that holds nothing but this note's tags: metadata, already
    /// indexed as tags on every section, and no place to send a reader.
    pub fn is_tag_list(&self, section: &Section) -> bool {
        section.heading().trim().eq_ignore_ascii_case("tags")
            && section.text.split_whitespace().all(|w| {
                let w = w
                    .trim_matches(|c: char| c == '`' || c == ',' || c == '#')
                    .to_lowercase();
                w.is_empty() || self.tags.contains(&w)
            })
    }

    /// The sections worth a keyword document, with their numbers: not the tag list, and
    /// not a heading that only repeats the title over no text (the title is indexed with
    /// every section already; such a section would win title matches and show no text).
    /// A note that is nothing but its title keeps its title section.
    pub fn indexable_sections(&self) -> Vec<(usize, &Section)> {
        let listed = || {
            self.sections
                .iter()
                .enumerate()
                .filter(|(_, s)| !self.is_tag_list(s))
        };
        let with_text: Vec<(usize, &Section)> = listed()
            .filter(|(_, s)| !(s.text.trim().is_empty() && self.own_headings(s).is_empty()))
            .collect();
        if with_text.is_empty() {
            listed().take(1).collect()
        } else {
            with_text
        }
    }

    /// A section that is mostly a list of links (`## Related Memories`, "See also"): its
    /// likeness to another such list says little about the notes themselves.
    pub fn is_link_list(&self, section: &Section) -> bool {
        let links = self
            .links
            .iter()
            .filter(|l| (section.line_start..=section.line_end).contains(&l.line))
            .count();
        let lines = section.text.lines().filter(|l| !l.trim().is_empty()).count();
        links >= 2 && links * 2 >= lines
    }

    /// A section's headings below the title: the H1 usually *is* the title, and repeating
    /// it would count its words twice.
    pub fn own_headings(&self, section: &Section) -> String {
        match section.heading_path.split_first() {
            Some((first, rest)) if *first == self.title => rest.join(" > "),
            _ => section.heading_display(),
        }
    }

    /// `title > headings`: where a section is, as embedded with its text.
    pub fn context_of(&self, section: &Section) -> String {
        let own = self.own_headings(section);
        if own.is_empty() {
            self.title.clone()
        } else {
            format!("{} > {own}", self.title)
        }
    }

    /// All text of the note in one string (title, headings, sections), for whole-note uses
    /// such as "more like this".
    pub fn full_text(&self) -> String {
        let mut out = self.title.clone();
        for s in &self.sections {
            out.push('\n');
            out.push_str(s.heading());
            out.push('\n');
            out.push_str(&s.text);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "../shared/seed/python_development.md";

    fn seed() -> Note {
        let text = std::fs::read_to_string(SEED).expect("the seed note is in ../shared");
        Note::parse(NoteId("topics/python_development".into()), &text)
    }

    pub(super) fn section<'n>(note: &'n Note, heading: &str) -> &'n Section {
        note.sections
            .iter()
            .find(|s| s.heading() == heading)
            .unwrap_or_else(|| panic!("no section {heading:?}"))
    }

    #[test]
    fn seed_title_and_metadata() {
        let note = seed();
        assert_eq!(note.title, "Python Development");
        assert_eq!(note.meta.strength, Some(0.85));
        assert_eq!(note.meta.established, NaiveDate::from_ymd_opt(2024, 1, 15));
        assert_eq!(note.meta.updated, NaiveDate::from_ymd_opt(2024, 2, 18));
        assert_eq!(note.meta.footer.get("Strength").map(String::as_str), Some("0.85"));
        assert!(note.warnings.is_empty(), "{:?}", note.warnings);
    }

    #[test]
    fn seed_tags() {
        assert_eq!(
            seed().tags,
            vec![
                "backend",
                "python",
                "programming",
                "api-development",
                "full-stack"
            ]
        );
    }

    #[test]
    fn seed_sections_have_paths_lines_and_text() {
        let note = seed();
        let fastapi = section(&note, "FastAPI");
        assert_eq!(
            fastapi.heading_display(),
            "Python Development > Technical Stack > Frameworks Used > FastAPI"
        );
        assert_eq!((fastapi.line_start, fastapi.line_end), (14, 22));
        assert!(fastapi.text.contains("Modern async framework"));
        assert!(
            fastapi.text.contains("It's like TypeScript for backend."),
            "quotes kept"
        );
        assert!(!fastapi.text.contains("**"), "markup removed");
        let hints = section(&note, "Type Hints");
        assert!(hints.text.contains("def process_order("), "code blocks kept");
        let tools = section(&note, "Libraries & Tools");
        assert!(
            tools.text.contains("Core Dependencies:"),
            "bold markup removed: {}",
            tools.text
        );
        let overview = section(&note, "Topic Overview");
        assert!(
            overview.text.contains("people/alex_chen"),
            "link text kept: {}",
            overview.text
        );
        let last = note.sections.last().unwrap();
        assert_eq!(last.heading(), "Related Memories");
        assert!(!last.text.contains("Strength"), "footer is metadata, not text");
        assert_eq!(note.sections[0].heading_display(), "Python Development");
        let tags = section(&note, "Tags");
        assert!(note.is_tag_list(tags));
        assert!(note.is_link_list(last));
        assert!(!note.is_link_list(fastapi));
        assert!(!note.is_tag_list(fastapi));
    }

    #[test]
    fn seed_links() {
        let note = seed();
        let targets: Vec<&str> = note.links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(
            targets,
            vec![
                "people/alex_chen",
                "people/alex_chen",
                "topics/software_engineering",
                "episodes/2024-01-15_first_meeting",
                "topics/music_production"
            ]
        );
        assert_eq!(note.links[0].line, 5);
        assert!(note
            .links
            .iter()
            .all(|l| !l.embed && l.alias.is_none() && l.heading.is_none()));
    }

    #[test]
    fn broken_inputs_never_fail() {
        let cases: Vec<(&str, String)> = vec![
            ("empty", String::new()),
            ("no h1", "just text\n\n## Sub\nmore".into()),
            ("bad yaml", "---\n: : [unclosed\n---\n# T\nbody".into()),
            ("only code", "```rust\nfn main() {}\n```\n".into()),
            (
                "unclosed fence",
                "# T\n```\ncode forever\n---\n*Strength: 0.9*\n".into(),
            ),
            (
                "deep",
                "# 1\n## 2\n### 3\n#### 4\n##### 5\n###### 6\ndeep text".into(),
            ),
            ("tags without backticks", "# T\n## Tags\npython, rust\n".into()),
            (
                "bad strength",
                "# T\n\n---\n*Strength: 7*\n*Last updated: never*".into(),
            ),
        ];
        for (name, text) in cases {
            let note = Note::parse(NoteId(name.into()), &text);
            match name {
                "empty" => assert!(note.sections.is_empty() && note.title == "empty"),
                "no h1" => {
                    assert_eq!(note.title, "no h1");
                    assert_eq!(note.sections.len(), 2);
                }
                "bad yaml" => {
                    assert_eq!(note.title, "T");
                    assert!(note.warnings[0].contains("not valid YAML"), "{:?}", note.warnings);
                }
                "only code" => assert!(note.sections[0].text.contains("fn main")),
                "unclosed fence" => {
                    assert_eq!(note.meta.strength, None, "footer inside code is code");
                    assert!(note.warnings[0].contains("unclosed code fence"));
                    assert!(note.sections[0].text.contains("Strength"));
                }
                "deep" => assert_eq!(note.sections.last().unwrap().heading_path.len(), 6),
                "tags without backticks" => assert!(note.tags.is_empty()),
                "bad strength" => {
                    assert_eq!(note.meta.strength, None);
                    assert_eq!(note.meta.updated, None);
                    assert_eq!(note.warnings.len(), 2, "{:?}", note.warnings);
                }
                _ => unreachable!(),
            }
        }
    }

    #[test]
    fn huge_note_parses() {
        let para = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n\n";
        let mut text = String::from("# Big\n\n");
        while text.len() < 20 * 1024 * 1024 {
            text.push_str("## Part\n\n");
            for _ in 0..50 {
                text.push_str(para);
            }
        }
        let note = Note::parse(NoteId("big".into()), &text);
        assert_eq!(note.title, "Big");
        assert!(note.sections.len() > 1000);
    }
}
