//! `show`, `related`, `recent`: notes themselves, the notes that belong with one, and the
//! latest ones.

use std::io::Write;

use clap::Args;

use super::term::{hit_heading, safe, Paint};
use super::{
    parse_weight, print_json, print_more, print_results, FieldsArgs, FreshArgs, LimitArgs, OffsetArgs,
    OutputArgs,
};
use crate::api::{NoteRequest, RecentRequest, RecentResponse, RelatedRequest, RelatedResponse};
use crate::engine::Engine;
use crate::rank::DEFAULT_STRENGTH_WEIGHT;

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Note id (path in the vault without .md).
    pub note: String,
    /// Print this part of the note's markdown: a heading path, a unique heading, or a line
    /// range START-END.
    #[arg(long)]
    pub section: Option<String>,
    /// Print these lines of the note's markdown: START-END.
    #[arg(long)]
    pub lines: Option<String>,
    /// Print the markdown cut at this many characters (at a line, with a marker line).
    #[arg(long)]
    pub max_chars: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RelatedArgs {
    /// Note id (path in the vault without .md).
    #[arg(required_unless_present = "text", conflicts_with = "text")]
    pub note: Option<String>,
    /// Find memories related to this text instead of a note.
    #[arg(long)]
    pub text: Option<String>,
    #[command(flatten)]
    pub limit: LimitArgs,
    #[command(flatten)]
    pub page: OffsetArgs,
    #[command(flatten)]
    pub fields: FieldsArgs,
    /// Only notes not already linked to or from the note (discovery).
    #[arg(long)]
    pub unlinked: bool,
    /// Show each result's evidence scores (meaning, wording, tags, links).
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Weight of the strength prior (0 disables it).
    #[arg(long, default_value_t = DEFAULT_STRENGTH_WEIGHT, value_parser = parse_weight)]
    pub strength_weight: f32,
    #[command(flatten)]
    pub fresh: FreshArgs,
}

#[derive(Args, Debug)]
pub struct RecentArgs {
    #[command(flatten)]
    pub limit: LimitArgs,
    #[command(flatten)]
    pub page: OffsetArgs,
    /// Only notes with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Only notes whose id starts with this (a folder, like people/).
    #[arg(long)]
    pub path: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub(super) fn show(engine: &Engine, args: &ShowArgs) -> anyhow::Result<()> {
    let whole = args.section.is_none() && args.lines.is_none() && args.max_chars.is_none();
    let n = engine.note(&NoteRequest {
        note: args.note.clone(),
        section: args.section.clone(),
        lines: args.lines.clone(),
        max_chars: args.max_chars,
        without_markdown: whole,
        section_text: args.json && whole,
    })?;
    if args.json {
        return print_json(&n);
    }
    let mut out = std::io::stdout().lock();
    if let Some(markdown) = &n.markdown {
        writeln!(out, "{}", safe(markdown))?;
        return Ok(());
    }
    let vault = engine.snapshot().generation.manifest.vault.clone();
    writeln!(out, "{}  ({})", safe(&n.title), safe(&n.note))?;
    writeln!(out, "file: {}", safe(&vault.join(&n.path).display().to_string()))?;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    writeln!(
        out,
        "strength: {}  established: {}  updated: {}",
        opt(n.strength.map(|s| format!("{s:.2}"))),
        opt(n.established.map(|d| d.to_string())),
        opt(n.updated.map(|d| d.to_string()))
    )?;
    writeln!(out, "tags: {}", safe(&n.tags.join(", ")))?;
    writeln!(out, "sections:")?;
    for s in &n.sections {
        let heading = if s.heading.is_empty() {
            "(before first heading)"
        } else {
            &s.heading
        };
        writeln!(out, "  {:>4}-{:<4} {}", s.line_start, s.line_end, safe(heading))?;
    }
    writeln!(out, "links:")?;
    for l in &n.links {
        let to = l
            .resolved
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(unresolved)".into());
        writeln!(out, "  line {:<4} [[{}]] -> {}", l.line, safe(&l.raw), safe(&to))?;
    }
    let backlinks = if n.backlinks.is_empty() {
        "-".to_string()
    } else {
        n.backlinks.join(", ")
    };
    writeln!(out, "backlinks: {}", safe(&backlinks))?;
    for (k, v) in &n.front_matter {
        writeln!(out, "front matter {}: {}", safe(k), safe(&v.to_string()))?;
    }
    for w in &n.warnings {
        writeln!(out, "warning: {}", safe(w))?;
    }
    Ok(())
}

pub(super) fn related(engine: &Engine, args: &RelatedArgs) -> anyhow::Result<()> {
    let r = engine.related(&RelatedRequest {
        note: args.note.clone(),
        text: args.text.clone(),
        limit: Some(args.limit.limit),
        offset: Some(args.page.offset),
        fields: Some(args.fields.fields),
        unlinked: args.unlinked,
        explain: args.explain,
        strength_weight: Some(args.strength_weight),
    })?;
    print_results(
        args.output.format(),
        &r,
        &r.results,
        |h| &h.note,
        || related_human(&r),
    )
}

fn related_human(r: &RelatedResponse) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if r.results.is_empty() {
        writeln!(out, "nothing related to {} found", safe(&r.note))?;
    }
    let paint = Paint::new();
    for h in &r.results {
        hit_heading(&mut out, &paint, h.rank, &h.note, &h.title, h.score, h.strength)?;
        if !h.reasons.is_empty() {
            writeln!(out, "    {}", safe(&h.reasons.join("; ")))?;
        }
        if let Some(e) = &h.evidence {
            writeln!(
                out,
                "    {}",
                paint.dim(&format!(
                    "meaning {:.3}  wording {:.3}  tags {:.3}  links {:.3}",
                    e.meaning, e.wording, e.tags, e.links
                ))
            )?;
        }
    }
    print_more(&mut out, r.next_offset)?;
    Ok(())
}

pub(super) fn recent(engine: &Engine, args: &RecentArgs) -> anyhow::Result<()> {
    let r = engine.recent(&RecentRequest {
        limit: Some(args.limit.limit),
        offset: Some(args.page.offset),
        tag: args.tag.clone(),
        path: args.path.clone(),
    })?;
    print_results(
        args.output.format(),
        &r,
        &r.results,
        |h| &h.note,
        || recent_human(&r),
    )
}

fn recent_human(r: &RecentResponse) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let paint = Paint::new();
    for h in &r.results {
        let updated = h.updated.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
        let strength = h
            .strength
            .map(|s| format!("  strength {s:.2}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{:>2}. {updated}  {}  {}{}",
            h.rank,
            paint.bold(&h.note),
            safe(&h.title),
            paint.dim(&strength)
        )?;
    }
    print_more(&mut out, r.next_offset)?;
    Ok(())
}
