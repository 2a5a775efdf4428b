//! `search`: a query's ranked notes, for a terminal or as JSON.

use std::io::Write;

use clap::Args;

use super::{print_json, styles, FreshArgs, RankArgs};
use crate::api::{Explain, SearchHit, SearchRequest};
use crate::engine::Engine;
use crate::snippet::Span;

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The query (see README: "phrases", -exclude, prefix*, tag:, path:, strength:, updated:).
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// Number of results.
    #[arg(short = 'n', long = "limit", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub limit: u64,
    #[arg(long)]
    pub json: bool,
    /// Show, per result, its keyword and semantic rank and score and the fused score.
    #[arg(long)]
    pub explain: bool,
    /// Boost recently updated memories: HALF_LIFE like 90d, 2w, 6m or 1y (a note updated
    /// one half-life ago gets half the boost of one updated today).
    #[arg(long, value_name = "HALF_LIFE", value_parser = check_half_life)]
    pub recent: Option<String>,
    /// Only notes updated on or after DATE (updated, else established, else file time).
    #[arg(long, value_name = "DATE", value_parser = check_date)]
    pub since: Option<String>,
    /// Only notes updated before DATE.
    #[arg(long, value_name = "DATE", value_parser = check_date)]
    pub before: Option<String>,
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(flatten)]
    pub fresh: FreshArgs,
}

fn check_half_life(s: &str) -> Result<String, String> {
    crate::rank::parse_half_life(s).map(|_| s.to_string())
}

fn check_date(s: &str) -> Result<String, String> {
    crate::note::parse_date(s)
        .map(|d| d.to_string())
        .ok_or_else(|| format!("`{s}` is not a date; write YYYY-MM-DD"))
}

pub(super) fn run(engine: &Engine, args: &SearchArgs) -> anyhow::Result<()> {
    let request = SearchRequest {
        query: args.query.join(" "),
        limit: Some(args.limit as usize),
        mode: Some(args.rank.mode),
        since: args.since.clone(),
        before: args.before.clone(),
        recent: args.recent.clone(),
        explain: args.explain,
        strength_weight: Some(args.rank.strength_weight),
        fusion: Some(args.rank.fusion),
        min_score: Some(args.rank.min_score),
    };
    let response = engine.search(&request)?;
    for w in &response.warnings {
        eprintln!("recall: warning: {w}");
    }
    if args.json {
        return print_json(&response);
    }
    let mut out = std::io::stdout().lock();
    if response.results.is_empty() {
        writeln!(out, "no results for {:?}", response.query)?;
    }
    if args.explain && response.dropped > 0 {
        writeln!(
            out,
            "({} candidates left out: too little evidence, below --min-score {})",
            response.dropped, args.rank.min_score
        )?;
    }
    for h in &response.results {
        print_hit(&mut out, h)?;
        if let Some(e) = &h.explain {
            writeln!(out, "    explain: {}", explain_text(e))?;
        }
    }
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
    format!(
        "lexical {lexical}  semantic {semantic}  fused {:.3}  keyword share {share}  similarity {sim}  relevance {:.2}",
        e.fused, e.relevance
    )
}

fn print_hit(out: &mut impl Write, h: &SearchHit) -> std::io::Result<()> {
    let (bold, dim, hl, reset) = styles();
    let strength = h
        .strength
        .map(|s| format!("  strength {s:.2}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{:>2}. {bold}{}{reset}  {}  {dim}score {:.3}{strength}{reset}",
        h.rank, h.note, h.title, h.score
    )?;
    if !h.section.is_empty() {
        writeln!(out, "    {dim}{}:{}  {}{reset}", h.path, h.line, h.section)?;
    }
    let snippet: String = h
        .spans
        .iter()
        .map(|Span { text, hit }| match (hit, hl.is_empty()) {
            (false, _) => text.clone(),
            (true, false) => format!("{hl}{text}{reset}"),
            (true, true) => format!("**{text}**"),
        })
        .collect();
    if !snippet.is_empty() {
        writeln!(out, "    {snippet}")?;
    }
    Ok(())
}
