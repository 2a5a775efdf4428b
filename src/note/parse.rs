//! The walk over pulldown-cmark's events that turns a note's text into sections, tags,
//! links and metadata. One pass, one state ([`Parse`]): headings open sections, text fills
//! them, and the parts that are metadata are handed to their own modules (front matter,
//! footer, inline tags and links).

use pulldown_cmark::{Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

use super::footer::{scan_lines, Scan};
use super::inline::inline_tags;
use super::{Link, Metadata, Note, NoteId, Section};

/// Line-start table for turning byte offsets into 1-based line numbers.
pub(super) struct Lines {
    pub(super) starts: Vec<usize>,
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

/// Parser state while walking pulldown-cmark's events.
pub(super) struct Parse<'a> {
    id: NoteId,
    pub(super) text: &'a str,
    pub(super) lines: Lines,
    sections: Vec<Section>,
    /// (level, text) of the open headings.
    heading_stack: Vec<(u8, String)>,
    /// The section being filled.
    current: Section,
    /// Heading text being collected, with its level and line.
    in_heading: Option<(u8, String, usize)>,
    first_h1: Option<String>,
    pub(super) tags: Vec<String>,
    pub(super) links: Vec<Link>,
    /// Open wiki-link: (raw, embed, line, display text seen).
    open_link: Option<(String, bool, usize)>,
    /// Depth inside code blocks and autolinks, where `#tags` are not tags.
    no_tag_depth: usize,
    /// Consecutive prose text, scanned for `#tags` when a non-text event ends it.
    prose: String,
    pub(super) meta: Metadata,
    pub(super) warnings: Vec<String>,
}

impl<'a> Parse<'a> {
    pub(super) fn new(id: NoteId, text: &'a str) -> Parse<'a> {
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

    pub(super) fn run(mut self) -> Note {
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
