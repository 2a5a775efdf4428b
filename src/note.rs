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

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use pulldown_cmark::{Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

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

/// Line-start table for turning byte offsets into 1-based line numbers.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// The memory footer's keys: a block of italic `*Key: value*` lines with one of these is
/// the footer wherever it stands.
const FOOTER_KEYS: [&str; 6] = [
    "knowledge domain established",
    "established",
    "created",
    "last updated",
    "updated",
    "strength",
];

/// The memory footer as a line scan finds it: its lines (with the `---` rule before
/// them, if any) as a byte range, its key/values, and the lines that look like footer
/// lines but do not parse.
struct Footer {
    start: usize,
    end: usize,
    pairs: Vec<(String, String)>,
    unparsed: Vec<String>,
}

/// What a line scan finds: the footer and whether a code fence is left open.
struct Scan {
    footer: Option<Footer>,
    unclosed_fence: bool,
}

/// One line outside code, as the footer scan sees it.
#[derive(Debug, Clone, PartialEq)]
enum LineKind {
    Blank,
    Rule,
    /// `*Key: value*`; `known` when the key is one of [`FOOTER_KEYS`].
    Pair {
        known: bool,
    },
    /// Italic, starts with a footer key, but is not `Key: value` (`*Strength high*`).
    Unparsed,
    Other,
}

fn line_kind(trimmed: &str) -> LineKind {
    if trimmed.is_empty() {
        return LineKind::Blank;
    }
    if trimmed.len() >= 3 && trimmed.bytes().all(|b| b == b'-') {
        return LineKind::Rule;
    }
    let known = |key: &str| FOOTER_KEYS.contains(&key.trim().to_lowercase().as_str());
    if let Some((key, _)) = footer_pair(trimmed) {
        return LineKind::Pair { known: known(&key) };
    }
    let italic = (trimmed.starts_with('*') && trimmed.ends_with('*'))
        || (trimmed.starts_with('_') && trimmed.ends_with('_'));
    let inner = trimmed.trim_matches(|c| c == '*' || c == '_').to_lowercase();
    if italic && trimmed.len() > 2 && FOOTER_KEYS.iter().any(|k| inner.starts_with(k)) {
        return LineKind::Unparsed;
    }
    LineKind::Other
}

fn scan_lines(text: &str) -> Scan {
    let mut fence: Option<(u8, usize)> = None;
    // (start offset, end offset without the newline, kind) of each line outside code.
    let mut lines: Vec<(usize, usize, LineKind)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let marker = trimmed.bytes().next();
        let run = trimmed.bytes().take_while(|b| Some(*b) == marker).count();
        match fence {
            Some((ch, len)) => {
                if marker == Some(ch) && run >= len && trimmed.bytes().all(|b| b == ch) {
                    fence = None;
                }
            }
            None if (marker == Some(b'`') || marker == Some(b'~')) && run >= 3 => {
                fence = Some((marker.unwrap_or(b'`'), run));
            }
            None => lines.push((
                offset,
                offset + line.trim_end_matches(['\n', '\r']).len(),
                line_kind(trimmed),
            )),
        }
        offset += line.len();
    }
    Scan {
        footer: footer_block(text, &lines),
        unclosed_fence: fence.is_some(),
    }
}

/// The last block of footer lines (blank lines between them allowed) that holds a known
/// key, with the rule right before it.
fn footer_block(text: &str, lines: &[(usize, usize, LineKind)]) -> Option<Footer> {
    let last = lines
        .iter()
        .rposition(|(_, _, k)| *k == LineKind::Pair { known: true })?;
    let in_block = |k: &LineKind| matches!(k, LineKind::Pair { .. } | LineKind::Unparsed | LineKind::Blank);
    let mut first = last;
    while first > 0 && in_block(&lines[first - 1].2) {
        first -= 1;
    }
    let mut end = last;
    while end + 1 < lines.len() && in_block(&lines[end + 1].2) {
        end += 1;
    }
    if first > 0 && lines[first - 1].2 == LineKind::Rule {
        first -= 1;
    }
    let mut footer = Footer {
        start: lines[first].0,
        end: lines[end].1,
        pairs: Vec::new(),
        unparsed: Vec::new(),
    };
    for (from, to, kind) in &lines[first..=end] {
        let line = text[*from..*to].trim();
        match kind {
            LineKind::Pair { .. } => footer.pairs.extend(footer_pair(line)),
            LineKind::Unparsed => footer.unparsed.push(line.to_string()),
            _ => {}
        }
    }
    Some(footer)
}

/// `*Key: value*` or `_Key: value_` → (Key, value).
fn footer_pair(line: &str) -> Option<(String, String)> {
    let inner = line
        .strip_prefix('*')
        .and_then(|l| l.strip_suffix('*'))
        .or_else(|| line.strip_prefix('_').and_then(|l| l.strip_suffix('_')))?;
    let inner = inner.trim_matches(|c| c == '*' || c == '_');
    let (key, value) = inner.split_once(':')?;
    let key = key.trim();
    if key.is_empty() || key.len() > 60 {
        return None;
    }
    Some((key.to_string(), value.trim().to_string()))
}

/// Front matter larger than this is not parsed.
const MAX_FRONT_MATTER: usize = 64 * 1024;

/// Dates as notes write them: `2024-02-18`, `2024/02/18`, `2024-02-18T10:00:00Z`, or epoch
/// seconds / milliseconds (Dendron writes milliseconds).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim().trim_matches(|c| c == '"' || c == '\'');
    if let Ok(n) = s.parse::<i64>() {
        return date_from_epoch(n);
    }
    let head = s.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(head, "%Y/%m/%d"))
        .ok()
}

fn date_from_epoch(n: i64) -> Option<NaiveDate> {
    let secs = if n.unsigned_abs() > 100_000_000_000 {
        n / 1000
    } else {
        n
    };
    chrono::DateTime::from_timestamp(secs, 0).map(|d| d.date_naive())
}

fn yaml_date(v: &serde_json::Value) -> Option<NaiveDate> {
    match v {
        serde_json::Value::String(s) => parse_date(s),
        serde_json::Value::Number(n) => n.as_i64().and_then(date_from_epoch),
        _ => None,
    }
}

/// A strength value, or a warning saying why it is not one.
fn parse_strength(raw: &str) -> Result<f32, String> {
    match raw.trim().parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("strength {v} is outside 0..1; ignored")),
        Err(_) => Err(format!("strength {raw:?} is not a number; ignored")),
    }
}

/// Inline `#tags` in a run of prose: `#` at a word start, followed by letters, digits,
/// `_`, `-` or `/`, with at least one non-digit (so `#1` and `#123` are not tags).
fn inline_tags(text: &str, out: &mut Vec<String>) {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('#') {
        if i > 0 {
            let prev = text[..i].chars().next_back().unwrap_or(' ');
            if prev.is_alphanumeric() || matches!(prev, '#' | '/' | '&' | '_' | ':' | '(' | '[') {
                continue;
            }
        }
        let rest = &text[i + 1..];
        let end = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '/')))
            .map(|(j, _)| j)
            .unwrap_or(rest.len());
        let tag = rest[..end].trim_end_matches(['/', '-']);
        if !tag.is_empty() && tag.chars().any(|c| !c.is_ascii_digit()) && bytes.get(i + 1) != Some(&b' ') {
            out.push(tag.to_string());
        }
    }
}

/// `target#heading|alias` → (target, heading, alias).
fn split_link(raw: &str) -> (String, Option<String>, Option<String>) {
    let (before_alias, alias) = match raw.split_once('|') {
        Some((a, b)) => (a, Some(b.trim().to_string())),
        None => (raw, None),
    };
    let (target, heading) = match before_alias.split_once('#') {
        Some((a, b)) => (a, Some(b.trim().to_string())),
        None => (before_alias, None),
    };
    (
        target.trim().to_string(),
        heading.filter(|h| !h.is_empty()),
        alias.filter(|a| !a.is_empty()),
    )
}

/// Parser state while walking pulldown-cmark's events.
struct Parse<'a> {
    id: NoteId,
    text: &'a str,
    lines: Lines,
    sections: Vec<Section>,
    /// (level, text) of the open headings.
    heading_stack: Vec<(u8, String)>,
    /// The section being filled.
    current: Section,
    /// Heading text being collected, with its level and line.
    in_heading: Option<(u8, String, usize)>,
    first_h1: Option<String>,
    tags: Vec<String>,
    links: Vec<Link>,
    /// Open wiki-link: (raw, embed, line, display text seen).
    open_link: Option<(String, bool, usize)>,
    /// Depth inside code blocks and autolinks, where `#tags` are not tags.
    no_tag_depth: usize,
    /// Consecutive prose text, scanned for `#tags` when a non-text event ends it.
    prose: String,
    meta: Metadata,
    warnings: Vec<String>,
}

impl<'a> Parse<'a> {
    fn new(id: NoteId, text: &'a str) -> Parse<'a> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Parse {
            id,
            text,
            lines: Lines::new(text),
            sections: Vec::new(),
            heading_stack: Vec::new(),
            current: Section {
                heading_path: Vec::new(),
                text: String::new(),
                line_start: 1,
                line_end: 1,
            },
            in_heading: None,
            first_h1: None,
            tags: Vec::new(),
            links: Vec::new(),
            open_link: None,
            no_tag_depth: 0,
            prose: String::new(),
            meta: Metadata::default(),
            warnings: Vec::new(),
        }
    }

    fn run(mut self) -> Note {
        let Scan {
            footer,
            unclosed_fence,
        } = scan_lines(self.text);
        if unclosed_fence {
            self.warnings
                .push("unclosed code fence: the rest of the note is read as code".into());
        }
        // The footer is metadata, not text. At the end of the note the body stops where
        // it starts; with text after it, its lines are blanked (same bytes, so offsets and
        // line numbers hold) and the text after it stays in the last section.
        let text = self.text;
        let (body, body_end): (std::borrow::Cow<'_, str>, usize) = match &footer {
            Some(f) if text[f.end..].trim().is_empty() => (text[..f.start].into(), f.start),
            Some(f) => {
                let mut bytes = text.as_bytes().to_vec();
                for b in &mut bytes[f.start..f.end] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
                (
                    String::from_utf8(bytes)
                        .unwrap_or_else(|_| text.to_string())
                        .into(),
                    text.len(),
                )
            }
            None => (text.into(), text.len()),
        };
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
            | Options::ENABLE_WIKILINKS;
        let mut in_metadata = false;
        for (event, range) in Parser::new_ext(&body, options).into_offset_iter() {
            match event {
                Event::Start(Tag::MetadataBlock(_)) => in_metadata = true,
                Event::End(TagEnd::MetadataBlock(_)) => in_metadata = false,
                Event::Text(t) if in_metadata => self.front_matter(&t),
                other => self.event(other, range.start),
            }
        }
        self.flush_prose();
        let last_line = self.lines.line_of(body_end.saturating_sub(1)).max(1);
        self.close_section(last_line);
        if let Some(f) = footer {
            for (key, value) in f.pairs {
                self.footer_entry(key, value);
            }
            for line in f.unparsed {
                self.warnings
                    .push(format!("footer line {line:?} is not `*Key: value*`; ignored"));
            }
        }
        let title = self
            .first_h1
            .clone()
            .or_else(|| {
                self.meta
                    .front_matter
                    .get("title")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| self.id.file_stem().to_string());
        let mut tags: Vec<String> = Vec::new();
        for t in self.tags.drain(..) {
            let t = t.trim().trim_start_matches('#').to_lowercase();
            if !t.is_empty() && !tags.contains(&t) {
                tags.push(t);
            }
        }
        Note {
            id: self.id,
            title,
            sections: self.sections,
            tags,
            links: self.links,
            meta: self.meta,
            warnings: self.warnings,
        }
    }

    fn front_matter(&mut self, yaml: &str) {
        // The YAML parser is slow on pathological input (unbalanced brackets cost µs per byte);
        // real front matter is a few lines.
        if yaml.len() > MAX_FRONT_MATTER {
            self.warnings.push(format!(
                "front matter is over {} KiB; ignored",
                MAX_FRONT_MATTER / 1024
            ));
            return;
        }
        let value: serde_norway::Value = match serde_norway::from_str(yaml) {
            Ok(v) => v,
            Err(e) => {
                self.warnings
                    .push(format!("front matter is not valid YAML ({e}); ignored"));
                return;
            }
        };
        let map = match serde_json::to_value(value) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(serde_json::Value::Null) => return,
            _ => {
                self.warnings
                    .push("front matter is not a key/value mapping; ignored".into());
                return;
            }
        };
        for (key, value) in map {
            match key.to_lowercase().as_str() {
                "tags" | "tag" => match &value {
                    serde_json::Value::Array(items) => self
                        .tags
                        .extend(items.iter().filter_map(|i| i.as_str()).map(str::to_string)),
                    serde_json::Value::String(s) => self.tags.extend(
                        s.split(|c: char| c == ',' || c.is_whitespace())
                            .filter(|t| !t.is_empty())
                            .map(str::to_string),
                    ),
                    _ => {}
                },
                "strength" => {
                    let raw = match &value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    match parse_strength(&raw) {
                        Ok(s) => self.meta.strength = Some(s),
                        Err(w) => self.warnings.push(w),
                    }
                }
                "created" | "established" | "date" if self.meta.established.is_none() => {
                    self.meta.established = yaml_date(&value);
                }
                "updated" | "modified" | "last_updated" if self.meta.updated.is_none() => {
                    self.meta.updated = yaml_date(&value);
                }
                _ => {}
            }
            self.meta.front_matter.insert(key, value);
        }
    }

    fn footer_entry(&mut self, key: String, value: String) {
        match key.to_lowercase().as_str() {
            "strength" => match parse_strength(&value) {
                Ok(s) => self.meta.strength = Some(s),
                Err(w) => self.warnings.push(w),
            },
            "knowledge domain established" | "established" | "created" => match parse_date(&value) {
                Some(d) => self.meta.established = Some(d),
                None => self
                    .warnings
                    .push(format!("{key} {value:?} is not a date; ignored")),
            },
            "last updated" | "updated" => match parse_date(&value) {
                Some(d) => self.meta.updated = Some(d),
                None => self
                    .warnings
                    .push(format!("{key} {value:?} is not a date; ignored")),
            },
            _ => {}
        }
        self.meta.footer.insert(key, value);
    }

    fn in_tags_section(&self) -> bool {
        self.heading_stack
            .last()
            .is_some_and(|(_, h)| h.trim().eq_ignore_ascii_case("tags"))
    }

    /// Appends prose to the current section (or heading being read).
    fn push_text(&mut self, t: &str) {
        if let Some((_, heading, _)) = &mut self.in_heading {
            heading.push_str(t);
        } else {
            self.current.text.push_str(t);
        }
    }

    fn push_break(&mut self) {
        if self.in_heading.is_some() {
            return;
        }
        let text = &mut self.current.text;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
    }

    fn flush_prose(&mut self) {
        if !self.prose.is_empty() {
            let prose = std::mem::take(&mut self.prose);
            inline_tags(&prose, &mut self.tags);
        }
    }

    fn close_section(&mut self, line_end: usize) {
        let mut section = std::mem::replace(
            &mut self.current,
            Section {
                heading_path: Vec::new(),
                text: String::new(),
                line_start: 1,
                line_end: 1,
            },
        );
        let trimmed = section.text.trim();
        if trimmed.len() != section.text.len() {
            section.text = trimmed.to_string();
        }
        section.line_end = line_end.max(section.line_start);
        // Text before the first heading is only a section when it has content.
        if !section.heading_path.is_empty() || !section.text.is_empty() {
            self.sections.push(section);
        }
    }

    fn event(&mut self, event: Event<'_>, offset: usize) {
        if !matches!(event, Event::Text(_)) {
            self.flush_prose();
        }
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                let line = self.lines.line_of(offset);
                self.close_section(line.saturating_sub(1));
                self.in_heading = Some((heading_level(level), String::new(), line));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text, line)) = self.in_heading.take() {
                    let text = text.trim().to_string();
                    if level == 1 && self.first_h1.is_none() && !text.is_empty() {
                        self.first_h1 = Some(text.clone());
                    }
                    while self.heading_stack.last().is_some_and(|(l, _)| *l >= level) {
                        self.heading_stack.pop();
                    }
                    self.heading_stack.push((level, text));
                    self.current = Section {
                        heading_path: self.heading_stack.iter().map(|(_, h)| h.clone()).collect(),
                        text: String::new(),
                        line_start: line,
                        line_end: line,
                    };
                }
            }
            Event::Start(Tag::CodeBlock(_)) => {
                self.no_tag_depth += 1;
                self.push_break();
            }
            Event::End(TagEnd::CodeBlock) => {
                self.no_tag_depth = self.no_tag_depth.saturating_sub(1);
                self.push_break();
            }
            Event::Start(Tag::Link {
                link_type, dest_url, ..
            }) => match link_type {
                LinkType::WikiLink { .. } => {
                    self.open_link = Some((dest_url.to_string(), false, self.lines.line_of(offset)))
                }
                LinkType::Autolink | LinkType::Email => self.no_tag_depth += 1,
                _ => {}
            },
            Event::Start(Tag::Image {
                link_type: LinkType::WikiLink { .. },
                dest_url,
                ..
            }) => self.open_link = Some((dest_url.to_string(), true, self.lines.line_of(offset))),
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
                if let Some((dest, embed, line)) = self.open_link.take() {
                    self.add_link(dest, embed, line);
                } else if self.no_tag_depth > 0 {
                    self.no_tag_depth -= 1;
                }
            }
            Event::Text(t) => {
                if self.no_tag_depth == 0 && self.in_heading.is_none() && !self.in_tags_section() {
                    self.prose.push_str(&t);
                }
                self.push_text(&t);
            }
            Event::Code(code) => {
                if self.in_tags_section() && self.in_heading.is_none() {
                    self.tags.push(code.to_string());
                }
                self.push_text(&code);
            }
            Event::SoftBreak => self.push_text(" "),
            Event::HardBreak => self.push_break(),
            Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::Item)
            | Event::End(TagEnd::TableRow)
            | Event::End(TagEnd::TableHead)
            | Event::End(TagEnd::BlockQuote(_)) => self.push_break(),
            Event::End(TagEnd::TableCell) => self.push_text(" "),
            Event::Start(Tag::Item) => self.push_break(),
            Event::Html(_) | Event::InlineHtml(_) => {}
            Event::FootnoteReference(_) | Event::TaskListMarker(_) | Event::Rule => {}
            Event::InlineMath(m) | Event::DisplayMath(m) => self.push_text(&m),
            _ => {}
        }
    }

    fn add_link(&mut self, dest: String, embed: bool, line: usize) {
        // pulldown-cmark gives the destination without the alias; rebuild the raw form
        // from the source line so `raw` is what the user wrote.
        let (target, heading, _) = split_link(&dest);
        let raw = self.raw_link_at(line, &dest).unwrap_or_else(|| dest.clone());
        let (_, _, alias) = split_link(&raw);
        if target.is_empty() && heading.is_none() {
            return;
        }
        self.links.push(Link {
            raw,
            target,
            heading,
            alias,
            embed,
            line,
            resolved: None,
        });
    }

    /// The full `[[...]]` text on `line` whose destination part is `dest`.
    fn raw_link_at(&self, line: usize, dest: &str) -> Option<String> {
        let start = *self.lines.starts.get(line - 1)?;
        let end = self.lines.starts.get(line).copied().unwrap_or(self.text.len());
        let src = &self.text[start..end];
        let mut rest = src;
        while let Some(open) = rest.find("[[") {
            let after = &rest[open + 2..];
            let close = after.find("]]")?;
            let inner = &after[..close];
            if inner.split('|').next() == Some(dest) || inner == dest {
                return Some(inner.to_string());
            }
            rest = &after[close + 2..];
        }
        None
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
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

    fn section<'n>(note: &'n Note, heading: &str) -> &'n Section {
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
    fn front_matter_fills_fields_and_links_have_parts() {
        let text = "---\ntitle: From YAML\ntags: [Alpha, beta]\nstrength: 0.4\ncreated: 2023-05-01\nupdated: 1636492098692\n---\nIntro #inline-tag and `#notatag` and http://x.org/#frag and issue #42.\n\n## Part\nSee [[a/b#Sec|the alias]] and ![[pic.png]] and [[plain]].\n\n```\n#nottag [[not/a/link]]\n```\n";
        let note = Note::parse(NoteId("x".into()), text);
        assert_eq!(note.title, "From YAML");
        assert_eq!(note.tags, vec!["alpha", "beta", "inline-tag"]);
        assert_eq!(note.meta.strength, Some(0.4));
        assert_eq!(note.meta.established, NaiveDate::from_ymd_opt(2023, 5, 1));
        assert_eq!(note.meta.updated, NaiveDate::from_ymd_opt(2021, 11, 9));
        assert_eq!(note.links.len(), 3, "{:?}", note.links);
        let l = &note.links[0];
        assert_eq!(
            (l.target.as_str(), l.heading.as_deref(), l.alias.as_deref()),
            ("a/b", Some("Sec"), Some("the alias"))
        );
        assert_eq!(l.raw, "a/b#Sec|the alias");
        assert_eq!(l.line, 11);
        assert!(note.links[1].embed);
        assert_eq!(note.links[2].target, "plain");
        assert_eq!(note.sections[0].heading_path, Vec::<String>::new());
        assert_eq!(note.sections[0].line_start, 1);
        assert_eq!(note.sections[1].heading(), "Part");
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
    fn footer_survives_text_after_it_and_says_what_it_cannot_read() {
        let parse = |text: &str| Note::parse(NoteId("n".into()), text);
        let footer = "---\n*Knowledge domain established: 2024-01-15*\n\n*Last updated: 2024-02-18*\n*Strength: 0.85*\n";
        let tail = parse(&format!(
            "# T\n\n## A\nalpha\n\n{footer}\nA line written later.\n\n## B\nbeta\n"
        ));
        assert_eq!(tail.meta.strength, Some(0.85));
        assert_eq!(tail.meta.established, NaiveDate::from_ymd_opt(2024, 1, 15));
        assert_eq!(tail.meta.updated, NaiveDate::from_ymd_opt(2024, 2, 18));
        assert!(tail.warnings.is_empty(), "{:?}", tail.warnings);
        let a = section(&tail, "A");
        assert!(
            a.text.contains("A line written later") && !a.text.contains("Strength"),
            "{:?}",
            a.text
        );
        assert_eq!(
            (section(&tail, "B").line_start, section(&tail, "B").text.as_str()),
            (14, "beta")
        );
        // Without the rule, and in the middle of the last section.
        let loose = parse("# T\nbody\n\n*Strength: 0.4*\n*Last updated: 2025-03-01*\n\nmore text\n");
        assert_eq!(
            (loose.meta.strength, loose.meta.updated),
            (Some(0.4), NaiveDate::from_ymd_opt(2025, 3, 1))
        );
        assert!(loose.sections[0].text.contains("more text"));
        // Lines that look like the footer but do not parse are warnings, never silence.
        let bad = parse("# T\nbody\n\n---\n*Strength: high*\n*Last updated 2024-02-18*\n*Knowledge domain established: 2024-01-15*\n");
        assert_eq!(bad.meta.strength, None);
        assert_eq!(bad.meta.established, NaiveDate::from_ymd_opt(2024, 1, 15));
        assert_eq!(bad.warnings.len(), 2, "{:?}", bad.warnings);
        assert!(
            bad.warnings
                .iter()
                .any(|w| w.contains("*Last updated 2024-02-18*")),
            "{:?}",
            bad.warnings
        );
        assert!(
            bad.warnings
                .iter()
                .any(|w| w.contains("\"high\" is not a number")),
            "{:?}",
            bad.warnings
        );
        // An italic line that is no footer stays text.
        let prose = parse("# T\n*Strongly held: views*\n");
        assert!(prose.meta.footer.is_empty() && prose.sections[0].text.contains("Strongly held"));
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

    #[test]
    fn date_forms() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 18);
        assert_eq!(parse_date("2024-02-18"), d);
        assert_eq!(parse_date("2024/02/18"), d);
        assert_eq!(parse_date("2024-02-18T10:11:12Z"), d);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("-9223372036854775808"), None, "no overflow");
    }
}
