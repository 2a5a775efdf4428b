//! The memory footer: the block of italic `*Key: value*` lines (`Strength`, `Last
//! updated`, `Knowledge domain established`) that memory notes end with. It is found by a
//! line scan wherever it stands, outside code, so that text added after it stays text;
//! lines that look like it but do not parse, and values that do not, become warnings.

use super::parse::Parse;
use super::values::{parse_date, parse_strength};

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
pub(super) struct Footer {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) pairs: Vec<(String, String)>,
    pub(super) unparsed: Vec<String>,
    /// Where each `Key: value` line stands, for edits that change one line alone.
    pub(super) lines: Vec<FooterLine>,
}

/// One `*Key: value*` line of the footer: its bytes (without the line break) and key.
#[derive(Debug, Clone, PartialEq)]
pub struct FooterLine {
    pub start: usize,
    pub end: usize,
    /// The key as written (`Last updated`).
    pub key: String,
}

/// What a line scan finds: the footer and whether a code fence is left open.
pub(super) struct Scan {
    pub(super) footer: Option<Footer>,
    pub(super) unclosed_fence: bool,
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

pub(super) fn scan_lines(text: &str) -> Scan {
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
        lines: Vec::new(),
    };
    for (from, to, kind) in &lines[first..=end] {
        let line = text[*from..*to].trim();
        match kind {
            LineKind::Pair { .. } => {
                if let Some((key, value)) = footer_pair(line) {
                    footer.lines.push(FooterLine {
                        start: *from,
                        end: *to,
                        key: key.clone(),
                    });
                    footer.pairs.push((key, value));
                }
            }
            LineKind::Unparsed => footer.unparsed.push(line.to_string()),
            _ => {}
        }
    }
    Some(footer)
}

/// The memory footer's `Key: value` lines (at least one), or `None` when the note has no
/// footer: what an edit of footer lines alone needs.
pub fn footer_lines(text: &str) -> Option<Vec<FooterLine>> {
    scan_lines(text).footer.map(|f| f.lines).filter(|l| !l.is_empty())
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

impl Parse<'_> {
    pub(super) fn footer_entry(&mut self, key: String, value: String) {
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
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use crate::note::tests::section;
    use crate::note::{Note, NoteId};

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
}
