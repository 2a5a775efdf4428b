//! What prose carries inline: `#tags` and `[[wiki-links]]` (with their `#heading` and
//! `|alias` parts, and `![[embeds]]`), each as it was written.

use super::parse::Parse;
use super::Link;

/// Inline `#tags` in a run of prose: `#` at a word start, followed by letters, digits,
/// `_`, `-` or `/`, with at least one non-digit (so `#1` and `#123` are not tags).
pub(super) fn inline_tags(text: &str, out: &mut Vec<String>) {
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

impl Parse<'_> {
    pub(super) fn add_link(&mut self, dest: String, embed: bool, line: usize) {
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
