//! `search`: a query's ranked notes, for a terminal, as JSON, JSON lines or ids.

use std::io::Write;

use clap::Args;

use super::term::{hit_heading, safe, warn, Paint};
use super::{print_more, print_results, FieldsArgs, FreshArgs, LimitArgs, OffsetArgs, OutputArgs, RankArgs};
use crate::api::{Explain, SearchHit, SearchRequest, SearchResponse};
use crate::engine::Engine;
use crate::snippet::Span;

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The query (see README: "phrases", +required, -exclude, prefix*, tag:, path:,
    /// strength:, updated:, established:, OR).
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    #[command(flatten)]
    pub limit: LimitArgs,
    #[command(flatten)]
    pub page: OffsetArgs,
    #[command(flatten)]
    pub fields: FieldsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Show, per result, its keyword and semantic rank and score and its evidence, and
    /// what each constraint of the query removed.
    #[arg(long)]
    pub explain: bool,
    /// Boost recently updated memories: HALF_LIFE like 90d, 2w, 6m or 1y (a note updated
    /// one half-life ago gets half the boost of one updated today).
    #[arg(long, value_name = "HALF_LIFE")]
    pub recent: Option<String>,
    /// Only notes updated on or after DATE (updated, else established, else file time):
    /// YYYY, YYYY-MM, YYYY-MM-DD, a window like 7d, 2w, 3m or 1y, today or yesterday.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only notes updated before DATE (the same forms as --since).
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(flatten)]
    pub fresh: FreshArgs,
}

pub(super) fn run(engine: &Engine, args: &SearchArgs) -> anyhow::Result<()> {
    let request = SearchRequest {
        query: args.query.join(" "),
        limit: Some(args.limit.limit),
        offset: Some(args.page.offset),
        fields: Some(args.fields.fields),
        mode: Some(args.rank.mode),
        since: args.since.clone(),
        before: args.before.clone(),
        recent: args.recent.clone(),
        exact: args.rank.exact,
        explain: args.explain,
        strength_weight: Some(args.rank.strength_weight),
        fusion: Some(args.rank.fusion),
        min_score: Some(args.rank.min_score),
    };
    let response = engine.search(&request)?;
    for w in &response.warnings {
        warn(w);
    }
    print_results(
        args.output.format(),
        &response,
        &response.results,
        |h| &h.note,
        || human(&response, args),
    )
}

fn human(r: &SearchResponse, args: &SearchArgs) -> anyhow::Result<()> {
    let paint = Paint::new();
    let mut out = std::io::stdout().lock();
    if let Some(corrected) = &r.corrected_query {
        writeln!(out, "showing results for \"{}\"", safe(corrected))?;
    }
    for c in r.corrections.iter().filter(|c| !c.replaced) {
        writeln!(
            out,
            "(also matching \"{}\" for \"{}\")",
            safe(&c.read_as),
            safe(&c.typed)
        )?;
    }
    if r.results.is_empty() {
        writeln!(out, "no results for: {}", safe(&r.query))?;
        if let Some(suggestion) = &r.did_you_mean {
            writeln!(out, "did you mean \"{}\"?", safe(suggestion))?;
        }
    }
    if args.explain {
        if r.dropped > 0 {
            writeln!(
                out,
                "({} candidates left out: too little evidence, below --min-score {})",
                r.dropped, args.rank.min_score
            )?;
        }
        for c in &r.constraints {
            writeln!(
                out,
                "(constraint {} removed {} of the candidates)",
                safe(&c.constraint),
                c.removed
            )?;
        }
    }
    for h in &r.results {
        print_hit(&mut out, &paint, h)?;
        if let Some(e) = &h.explain {
            writeln!(out, "    explain: {}", explain_text(e))?;
        }
    }
    print_more(&mut out, r.next_offset)?;
    Ok(())
}

fn explain_text(e: &Explain) -> String {
    let lexical = e
        .lexical
        .map(|l| format!("#{} (bm25 {:.3})", l.rank, l.score))
        .unwrap_or_else(|| "-".into());
    let semantic = e
        .semantic
        .map(|s| format!("#{} (cos {:.3})", s.rank, s.similarity))
        .unwrap_or_else(|| "-".into());
    let share = e
        .keyword_share
        .map(|k| format!("{k:.2}"))
        .unwrap_or_else(|| "-".into());
    let sim = e
        .similarity
        .map(|s| format!("{s:.2}"))
        .unwrap_or_else(|| "-".into());
    let corrected = match e.corrected.is_empty() {
        true => String::new(),
        false => format!("  by typo correction: {}", safe(&e.corrected.join(", "))),
    };
    format!(
        "lexical {lexical}  semantic {semantic}  fused {:.3}  keyword share {share}  similarity {sim}  relevance {:.2}{corrected}",
        e.fused, e.relevance
    )
}

fn print_hit(out: &mut impl Write, paint: &Paint, h: &SearchHit) -> std::io::Result<()> {
    hit_heading(out, paint, h.rank, &h.note, &h.title, h.score, h.strength)?;
    if !h.section.is_empty() {
        writeln!(
            out,
            "    {}",
            paint.dim(&format!("{}:{}  {}", h.path, h.line, h.section))
        )?;
    }
    if h.snippet.is_none() {
        return Ok(()); // --fields meta
    }
    let snippet: String = h
        .spans
        .iter()
        .map(|Span { text, hit }| match hit {
            false => safe(text).into_owned(),
            true => paint.hit(text),
        })
        .collect();
    if !snippet.is_empty() {
        writeln!(out, "    {snippet}")?;
    }
    Ok(())
}
