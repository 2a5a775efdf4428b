//! Reinforcing a memory: its footer's `Last updated` set to today and, when given, its
//! `Strength`, each line rewritten in place in the style it was written (`*` or `_`,
//! the key's spelling), or added at the end of the footer when missing (a note without
//! a footer gets one). Every other byte of the note stays as it was.

use chrono::NaiveDate;

use super::memory::strength_text;
use crate::note::footer_lines;

/// The note's text with its footer reinforced.
pub fn reinforce_text(text: &str, today: NaiveDate, strength: Option<f32>) -> String {
    let day = today.format("%Y-%m-%d").to_string();
    let mut wanted: Vec<(&[&str], &str, String)> = vec![(&["last updated", "updated"], "Last updated", day)];
    if let Some(s) = strength {
        wanted.push((&["strength"], "Strength", strength_text(s)));
    }
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let Some(lines) = footer_lines(text) else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline);
        }
        out.push_str(&format!("{newline}---{newline}"));
        for (_, key, value) in &wanted {
            out.push_str(&format!("*{key}: {value}*{newline}"));
        }
        return out;
    };
    // (byte range to replace, replacement), applied from the end of the text back.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    // New lines go right after the last `Key: value` line, in its style.
    let last = &lines[lines.len() - 1];
    let style = line_style(&text[last.start..last.end]);
    let mut added = String::new();
    for (keys, key, value) in &wanted {
        let found = keys
            .iter()
            .find_map(|k| lines.iter().rev().find(|l| l.key.to_lowercase() == *k));
        match found {
            Some(l) => {
                let (indent, lead, trail) = line_style(&text[l.start..l.end]);
                edits.push((l.start, l.end, format!("{indent}{lead}{}: {value}{trail}", l.key)));
            }
            None => {
                let (indent, lead, trail) = style;
                added.push_str(&format!("{newline}{indent}{lead}{key}: {value}{trail}"));
            }
        }
    }
    if !added.is_empty() {
        edits.push((last.end, last.end, added));
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (from, to, with) in edits {
        out.replace_range(from..to, &with);
    }
    out
}

/// A footer line's indentation and italic markers: (`  `, `*`, `*`) for `  *Strength: 1*`.
fn line_style(line: &str) -> (&str, &str, &str) {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let body = body.trim_end();
    let lead = &body[..body.len() - body.trim_start_matches(['*', '_']).len()];
    let trail = &body[body.trim_end_matches(['*', '_']).len()..];
    (indent, lead, trail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    #[test]
    fn only_the_footer_lines_change() {
        let seed = include_str!("../../examples/vault/topics/python_development.md");
        let out = reinforce_text(seed, day(), Some(0.9));
        let (before, after): (Vec<&str>, Vec<&str>) = (seed.lines().collect(), out.lines().collect());
        assert_eq!(before.len(), after.len());
        let changed: Vec<(&str, &str)> = before
            .iter()
            .zip(&after)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (*a, *b))
            .collect();
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert!(changed.iter().any(|(_, b)| *b == "*Last updated: 2026-12-07*"));
        assert!(changed.iter().any(|(_, b)| *b == "*Strength: 0.9*"));
        assert_eq!(seed.ends_with('\n'), out.ends_with('\n'));
        let again = reinforce_text(&out, day(), None);
        assert_eq!(again, out, "reinforcing twice on one day changes nothing more");
    }

    #[test]
    fn missing_lines_are_added_in_the_footer_style() {
        let text = "# T\n\nbody\n\n---\n_Strength: 0.4_\n\nText written after the footer.\n";
        let out = reinforce_text(text, day(), None);
        assert_eq!(
            out,
            "# T\n\nbody\n\n---\n_Strength: 0.4_\n_Last updated: 2026-12-07_\n\nText written after the footer.\n"
        );
        let bare = reinforce_text("# T\n\nbody", day(), Some(1.0));
        assert_eq!(
            bare,
            "# T\n\nbody\n\n---\n*Last updated: 2026-12-07*\n*Strength: 1*\n"
        );
        let lower = reinforce_text("x\n\n---\n*updated: 2020-01-01*\n", day(), None);
        assert_eq!(lower, "x\n\n---\n*updated: 2026-12-07*\n");
        let crlf = reinforce_text("x\r\n\r\n---\r\n*Strength: 0.3*\r\n", day(), None);
        assert_eq!(
            crlf,
            "x\r\n\r\n---\r\n*Strength: 0.3*\r\n*Last updated: 2026-12-07*\r\n"
        );
    }
}
