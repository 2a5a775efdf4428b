//! Compact text renderings of tool results, for a model to read: one line per result with
//! what it needs to decide what to do next (ids to pass on, scores, reasons), no layout.

use std::fmt::Write;

use crate::api::{
    BriefResponse, NoteResponse, RecentResponse, ReinforceResponse, RelatedResponse, RememberResponse,
    SearchResponse, StatusResponse,
};

fn strength(s: Option<f32>) -> String {
    s.map(|s| format!(" strength {s:.2}")).unwrap_or_default()
}

pub fn search(r: &SearchResponse) -> String {
    let mut out = String::new();
    if let Some(corrected) = &r.corrected_query {
        let _ = writeln!(out, "showing results for {corrected:?}");
    }
    for c in r.corrections.iter().filter(|c| !c.replaced) {
        let _ = writeln!(out, "(also matching {:?} for {:?})", c.read_as, c.typed);
    }
    if r.results.is_empty() {
        let _ = writeln!(out, "no results for {:?} ({})", r.query, r.mode.name());
        if let Some(suggestion) = &r.did_you_mean {
            let _ = writeln!(out, "did you mean {suggestion:?}?");
        }
    }
    for c in &r.constraints {
        let _ = writeln!(
            out,
            "(constraint {} removed {} candidates)",
            c.constraint, c.removed
        );
    }
    if r.dropped > 0 {
        let _ = writeln!(
            out,
            "({} more candidates had too little evidence to be an answer)",
            r.dropped
        );
    }
    for h in &r.results {
        let tags = if h.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", h.tags.join(", "))
        };
        let snippet = h.snippet.as_deref().map(|s| format!(": {s}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}. {} — {} (score {:.3}{}, {} chars){tags}\n   {} (line {}){snippet}",
            h.rank,
            h.note,
            h.title,
            h.score,
            strength(h.strength),
            h.chars,
            h.section,
            h.line,
        );
    }
    more(&mut out, r.next_offset);
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

pub fn related(r: &RelatedResponse) -> String {
    let mut out = String::new();
    if r.results.is_empty() {
        let _ = writeln!(out, "nothing related to {} found", r.note);
    }
    for h in &r.results {
        let reasons = match h.reasons.is_empty() {
            true => String::new(),
            false => format!(": {}", h.reasons.join("; ")),
        };
        let _ = writeln!(
            out,
            "{}. {} — {} (score {:.3}{}, {} chars){reasons}",
            h.rank,
            h.note,
            h.title,
            h.score,
            strength(h.strength),
            h.chars,
        );
    }
    more(&mut out, r.next_offset);
    out
}

pub fn note(n: &NoteResponse) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}){}, {} chars",
        n.title,
        n.note,
        strength(n.strength),
        n.chars
    );
    let dates = [("established", n.established), ("updated", n.updated)]
        .iter()
        .filter_map(|(k, d)| d.map(|d| format!("{k} {d}")))
        .collect::<Vec<_>>();
    if !dates.is_empty() {
        let _ = writeln!(out, "{}", dates.join(", "));
    }
    if !n.tags.is_empty() {
        let _ = writeln!(out, "tags: {}", n.tags.join(", "));
    }
    let links: Vec<&str> = n
        .links
        .iter()
        .filter_map(|l| l.resolved.as_ref().map(|r| r.as_str()))
        .collect();
    if !links.is_empty() {
        let _ = writeln!(out, "links to: {}", links.join(", "));
    }
    if !n.backlinks.is_empty() {
        let _ = writeln!(out, "linked from: {}", n.backlinks.join(", "));
    }
    for w in &n.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if let (Some(md), Some((from, to))) = (&n.markdown, n.lines) {
        let _ = writeln!(out, "--- lines {from}-{to} ---\n{md}");
    }
    out
}

pub fn recent(r: &RecentResponse) -> String {
    let mut out = String::new();
    for h in &r.results {
        let updated = h.updated.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{}. {updated} {} — {}{}",
            h.rank,
            h.note,
            h.title,
            strength(h.strength)
        );
    }
    if r.results.is_empty() {
        out.push_str("no notes\n");
    }
    more(&mut out, r.next_offset);
    out
}

/// The offset of the next page, when there is one.
fn more(out: &mut String, next: Option<usize>) {
    if let Some(next) = next {
        let _ = writeln!(out, "(more: offset {next})");
    }
}

pub fn status(s: &StatusResponse) -> String {
    format!(
        "{} notes, {} sections; {}; model {}; vault {}; index {}\n",
        s.notes,
        s.sections,
        if s.fresh {
            "fresh".to_string()
        } else {
            format!("about {} notes changed since {}", s.changed, s.built_at)
        },
        s.model.as_deref().unwrap_or("none (keyword search only)"),
        s.vault.display(),
        s.index.display()
    )
}

pub fn remember(r: &RememberResponse) -> String {
    let mut out = String::new();
    let list = |out: &mut String, notes: &[crate::api::Similar]| {
        for d in notes {
            let why = d.why.as_deref().map(|w| format!("{w}; ")).unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} — {} ({why}meaning {:.2}, words {:.2})",
                d.note, d.title, d.meaning, d.words
            );
        }
    };
    if r.written {
        let _ = writeln!(out, "remembered {} ({})", r.note, r.path);
        if !r.closest.is_empty() {
            let _ = writeln!(out, "closest notes (candidates for links):");
            list(&mut out, &r.closest);
        }
    } else if !r.duplicates.is_empty() {
        let _ = writeln!(
            out,
            "not written: the vault already holds this memory, or nearly:"
        );
        list(&mut out, &r.duplicates);
        let _ = writeln!(
            out,
            "reinforce one of them (the memory is confirmed), or call remember again with force: true"
        );
    } else {
        let _ = writeln!(
            out,
            "dry run: would write {} ({}); closest notes:",
            r.note, r.path
        );
        list(&mut out, &r.closest);
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

pub fn reinforce(r: &ReinforceResponse) -> String {
    let mut out = format!(
        "reinforced {}: last updated {}{}\n",
        r.note,
        r.updated,
        strength(r.strength)
    );
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

pub fn brief(b: &BriefResponse) -> String {
    b.markdown.clone()
}
