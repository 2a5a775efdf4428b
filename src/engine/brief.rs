//! A briefing: the memories an agent should read first, packed into a token budget.
//!
//! Without a topic they are the strongest and most recently updated notes (half strength,
//! half freshness with a 30-day half-life); with one, the notes a search for it ranks
//! first. Each memory is its title, id, strength, date and one excerpt: the search's
//! snippet, or else the note's first section with real text (not its tags or link
//! list). Items are added best first while they fit; one that does not fit gets a
//! shorter excerpt if enough budget is left, else it is left out and counted.
//!
//! Tokens are estimated, not counted with a model's tokenizer (briefings go to models
//! recall does not know): a quarter of the characters of alphabetic text, one per
//! character of Chinese, Japanese and Korean, which over-counts English slightly.

use super::Engine;
use crate::api::{check_budget, BriefItem, BriefRequest, BriefResponse, SearchRequest};
use crate::dates;
use crate::error::{Error, Result};
use crate::note::{Note, NoteId};

/// The budget unless the caller gives one, in tokens.
pub const DEFAULT_BUDGET: usize = 1500;
/// Memories considered for a briefing.
const CANDIDATES: usize = 30;
/// Longest excerpt, in characters.
const EXCERPT_CHARS: usize = 400;
/// Shortest excerpt worth shortening an item to, in tokens.
const MIN_EXCERPT_TOKENS: usize = 20;
/// Freshness halves every this many days.
const HALF_LIFE_DAYS: f32 = 30.0;

/// Estimated tokens of `text` (see the module's doc).
pub fn estimate_tokens(text: &str) -> usize {
    let (mut wide, mut other) = (0usize, 0usize);
    for c in text.chars() {
        match crate::analysis::is_cjk(c) {
            true => wide += 1,
            false => other += 1,
        }
    }
    wide + other.div_ceil(4)
}

/// A memory considered, before packing.
struct Candidate {
    note: String,
    title: String,
    strength: Option<f32>,
    updated: Option<chrono::NaiveDate>,
    section: String,
    excerpt: String,
}

impl Engine {
    /// The memories to read first, as markdown within a token budget.
    pub fn brief(&self, req: &BriefRequest) -> Result<BriefResponse> {
        let budget = check_budget(req.budget.unwrap_or(DEFAULT_BUDGET)).map_err(Error::Usage)?;
        let topic = req.topic.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let candidates = match topic {
            Some(t) => self.topic_candidates(t)?,
            None => self.strongest_candidates()?,
        };
        Ok(pack(topic, budget, candidates))
    }

    fn topic_candidates(&self, topic: &str) -> Result<Vec<Candidate>> {
        let found = self.search(&SearchRequest {
            query: topic.to_string(),
            limit: Some(CANDIDATES),
            ..SearchRequest::default()
        })?;
        let snap = self.snapshot();
        let priors = snap.priors()?;
        let mut out = Vec::new();
        for h in found.results {
            let updated = snap
                .notes()
                .find(&h.note)?
                .and_then(|ord| priors.get(ord).updated);
            out.push(Candidate {
                excerpt: h.spans.iter().map(|s| s.text.as_str()).collect::<String>(),
                note: h.note,
                title: h.title,
                strength: h.strength,
                updated,
                section: h.section,
            });
        }
        Ok(out)
    }

    fn strongest_candidates(&self) -> Result<Vec<Candidate>> {
        let snap = self.snapshot();
        let priors = snap.priors()?;
        let today = dates::today();
        let score = |ord: u32| {
            let p = priors.get(ord);
            let fresh = p.updated.map_or(0.0, |d| {
                let age = (today - d).num_days().max(0) as f32;
                0.5f32.powf(age / HALF_LIFE_DAYS)
            });
            0.5 * p.strength.unwrap_or(0.3) + 0.5 * fresh
        };
        let mut ords = snap.notes().ords()?;
        ords.sort_by(|a, b| score(*b).total_cmp(&score(*a)).then(a.cmp(b)));
        let mut out = Vec::new();
        for ord in ords {
            if out.len() == CANDIDATES {
                break;
            }
            let Some(n) = snap.notes().record(ord)? else {
                continue;
            };
            let Ok(text) = snap.note_text(&n) else {
                continue; // deleted since indexing
            };
            let fresh = Note::parse(NoteId(n.note.id.to_string()), &text);
            let (section, excerpt) = best_section(&fresh);
            out.push(Candidate {
                note: n.note.id.to_string(),
                title: n.note.title.clone(),
                strength: n.note.meta.strength,
                updated: priors.get(ord).updated,
                section,
                excerpt,
            });
        }
        Ok(out)
    }
}

/// The first section with real text (not tags or a list of links), else the longest.
fn best_section(note: &Note) -> (String, String) {
    let skip = |s: &crate::note::Section| {
        s.heading_path
            .last()
            .is_some_and(|h| ["tags", "related memories", "related"].contains(&h.to_lowercase().as_str()))
    };
    let sections: Vec<_> = note.sections.iter().filter(|s| !skip(s)).collect();
    let chosen = sections
        .iter()
        .find(|s| s.text.trim().chars().count() >= 40)
        .or_else(|| sections.iter().max_by_key(|s| s.text.len()));
    match chosen {
        Some(s) => (s.heading_display(), cut(&s.text, EXCERPT_CHARS)),
        None => (String::new(), String::new()),
    }
}

/// `text` on one line, at most `max` characters, cut at a word with `…`.
fn cut(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let head: String = flat.chars().take(max).collect();
    let at = head.rfind(' ').filter(|&i| i > max / 2).unwrap_or(head.len());
    format!("{}…", head[..at].trim_end())
}

fn item_markdown(c: &Candidate, excerpt: &str) -> String {
    let mut facts = vec![format!("`{}`", c.note)];
    if let Some(s) = c.strength {
        facts.push(format!("strength {s:.2}"));
    }
    if let Some(d) = c.updated {
        facts.push(format!("updated {d}"));
    }
    let mut out = format!("\n## {}\n{}\n", c.title, facts.join(" · "));
    if !excerpt.is_empty() {
        out.push_str(&format!("\n{excerpt}\n"));
    }
    out
}

/// Packs the candidates, best first, into the budget.
fn pack(topic: Option<&str>, budget: usize, candidates: Vec<Candidate>) -> BriefResponse {
    let mut markdown = match topic {
        Some(t) => format!("# Memories about: {t}\n"),
        None => "# Memories to start from\n".to_string(),
    };
    let mut tokens = estimate_tokens(&markdown);
    let (mut items, mut left_out) = (Vec::new(), 0);
    for c in candidates {
        let mut excerpt = c.excerpt.clone();
        let mut text = item_markdown(&c, &excerpt);
        let mut cost = estimate_tokens(&text);
        if tokens + cost > budget {
            // Shorter excerpts, a fifth at a time, while a useful one can still fit.
            let mut chars = excerpt.chars().count();
            while tokens + cost > budget && chars > 0 {
                chars = chars * 4 / 5;
                excerpt = cut(&c.excerpt, chars);
                text = item_markdown(&c, &excerpt);
                cost = estimate_tokens(&text);
                if estimate_tokens(&excerpt) < MIN_EXCERPT_TOKENS {
                    break;
                }
            }
            if tokens + cost > budget || estimate_tokens(&excerpt) < MIN_EXCERPT_TOKENS {
                left_out += 1;
                continue;
            }
        }
        tokens += cost;
        markdown.push_str(&text);
        items.push(BriefItem {
            note: c.note,
            title: c.title,
            strength: c.strength,
            updated: c.updated,
            section: c.section,
            excerpt,
            tokens: cost,
        });
    }
    BriefResponse {
        topic: topic.map(str::to_string),
        budget,
        tokens,
        markdown,
        items,
        left_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(i: usize, words: usize) -> Candidate {
        Candidate {
            note: format!("memories/n{i}"),
            title: format!("Note {i}"),
            strength: Some(0.5),
            updated: None,
            section: "Note".into(),
            excerpt: "word ".repeat(words).trim_end().to_string(),
        }
    }

    #[test]
    fn a_briefing_fits_its_budget_best_first() {
        let candidates: Vec<Candidate> = (0..30).map(|i| candidate(i, 60)).collect();
        let b = pack(None, 300, candidates);
        assert!(b.tokens <= 300, "{}", b.tokens);
        assert!(estimate_tokens(&b.markdown) <= b.tokens);
        assert!(!b.items.is_empty() && b.left_out > 0);
        assert_eq!(b.items[0].note, "memories/n0");
        assert_eq!(b.items.len() + b.left_out, 30);
    }

    #[test]
    fn tokens_are_estimated_per_script() {
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("静夜思"), 3);
        assert_eq!(cut("one two three four", 9), "one two…");
        assert_eq!(cut("one\n two", 100), "one two");
    }
}
