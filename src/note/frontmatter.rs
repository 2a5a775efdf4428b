//! YAML front matter: tags, strength and dates from the `---` block at the top of a note,
//! every key kept as JSON in [`Metadata::front_matter`](super::Metadata::front_matter).
//! Front matter that is too large, not YAML or not a mapping is a warning, never a
//! failure.

use chrono::NaiveDate;

use super::parse::Parse;
use super::values::{date_from_epoch, parse_date, parse_strength};

/// Front matter larger than this is not parsed.
const MAX_FRONT_MATTER: usize = 64 * 1024;

fn yaml_date(v: &serde_json::Value) -> Option<NaiveDate> {
    match v {
        serde_json::Value::String(s) => parse_date(s),
        serde_json::Value::Number(n) => n.as_i64().and_then(date_from_epoch),
        _ => None,
    }
}

/// Front-matter keys recall reads into its own fields (tags, strength, dates): their
/// filters are `tag:`, `strength:`, `established:` and `updated:`, not the key itself.
pub const OWN_KEYS: [&str; 9] = [
    "tags",
    "tag",
    "strength",
    "created",
    "established",
    "date",
    "updated",
    "modified",
    "last_updated",
];

impl Parse<'_> {
    pub(super) fn front_matter(&mut self, yaml: &str) {
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
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use crate::note::{Note, NoteId};

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
}
