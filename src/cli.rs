//! The command line: argument parsing (clap derive), output formatting, exit codes.
//!
//! Everything here is presentation; the work is done by the library modules. Output is for
//! people on a terminal (colour, progress bars, only when stdout/stderr are terminals and
//! `NO_COLOR` is unset) and for programs with `--json` (one JSON object per command).
//! Exit codes: 0 success (zero results included), 2 usage errors (bad flags, bad query),
//! 1 anything else.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::embed::{Embedder, ModelPaths};
use crate::error::Error;
use crate::eval::{evaluate, evaluate_related, Judgments};
use crate::fuse::{Fusion, DEFAULT_FUSION};
use crate::indexer::{self, BuildKind, IndexOptions, Stage};
use crate::query::{Cmp, Filter, Query};
use crate::rank::{Signals, DEFAULT_STRENGTH_WEIGHT};
use crate::related::{self, RelatedOptions, Source};
use crate::search::{Engine, Hit, Mode, SearchOptions};
use crate::snippet::Span;
use crate::store::IndexDir;
use crate::vault::DEFAULT_MAX_FILE_BYTES;

#[derive(Parser, Debug)]
#[command(
    name = "recall",
    version,
    about = "Search a vault of markdown notes: keywords, meaning, related memories."
)]
pub struct Cli {
    /// Index folder.
    #[arg(long, global = true, env = "RECALL_INDEX", default_value = "index")]
    pub index: PathBuf,
    /// Embedding model folder (model.onnx + tokenizer files); default: the model cache.
    #[arg(long, global = true)]
    pub model_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build (or rebuild) the index of a vault.
    Index(IndexArgs),
    /// Bring the index up to date with its vault: re-read only what changed.
    Update {
        #[arg(long)]
        json: bool,
    },
    /// Keep the index up to date while notes change (file-system notifications).
    Watch {
        /// Quiet time after the last change before updating, in milliseconds.
        #[arg(long, default_value_t = 500)]
        debounce_ms: u64,
    },
    /// Search the index.
    Search(SearchArgs),
    /// Show a note as recall parsed it.
    Show {
        /// Note id (path in the vault without .md).
        note: String,
        #[arg(long)]
        json: bool,
    },
    /// Facts about the index.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Whether the index is fresh: how many notes changed since it was built (stat only).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Measure ranking quality on judged queries.
    Eval(EvalArgs),
    /// Notes related to a note (or to --text): by meaning, wording, tags and links.
    Related(RelatedArgs),
    /// Measure "related" on a vault: can content alone find each note's link targets?
    EvalRelated {
        /// Vault to index into a temporary folder (unless --index names an existing index).
        #[arg(long)]
        vault: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Check the embedding runtime and model: load them, embed a probe, report timings.
    Doctor {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// The vault folder (default: the vault the index was built from).
    pub vault: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_FILE_BYTES)]
    pub max_file_size: u64,
    /// Keyword index only: no embeddings (faster; semantic and hybrid search unavailable).
    #[arg(long)]
    pub no_embed: bool,
    /// Rebuild from scratch, embedding everything again (default: update incrementally when
    /// the index already holds this vault).
    #[arg(long)]
    pub rebuild: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RankArgs {
    /// Retrieval mode.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    pub mode: Mode,
    /// Weight of the strength prior (0 disables it).
    #[arg(long, default_value_t = DEFAULT_STRENGTH_WEIGHT, value_parser = parse_weight)]
    pub strength_weight: f32,
    /// How hybrid mode merges the lists: zscore:A, minmax:A (A = keyword weight) or rrf:K[:W].
    #[arg(long, default_value_t = DEFAULT_FUSION)]
    pub fusion: Fusion,
}

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
    #[arg(long, value_name = "HALF_LIFE", value_parser = parse_half_life)]
    pub recent: Option<f32>,
    /// Only notes updated on or after DATE (updated, else established, else file time).
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub since: Option<chrono::NaiveDate>,
    /// Only notes updated before DATE.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub before: Option<chrono::NaiveDate>,
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(flatten)]
    pub fresh: FreshArgs,
}

/// `90d`, `2w`, `6m`, `1y` → days.
fn parse_half_life(s: &str) -> Result<f32, String> {
    let bad = || format!("`{s}` is not a half-life; write e.g. 90d, 2w, 6m or 1y");
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?);
    let n: f32 = num.parse().map_err(|_| bad())?;
    let days = match unit {
        "d" => n,
        "w" => n * 7.0,
        "m" => n * 30.0,
        "y" => n * 365.0,
        _ => return Err(bad()),
    };
    if days > 0.0 && days.is_finite() {
        Ok(days)
    } else {
        Err(bad())
    }
}

fn parse_date_arg(s: &str) -> Result<chrono::NaiveDate, String> {
    crate::note::parse_date(s).ok_or_else(|| format!("`{s}` is not a date; write YYYY-MM-DD"))
}

#[derive(Args, Debug, Clone)]
pub struct FreshArgs {
    /// Answer from the index as it is, without checking the vault for changes first.
    #[arg(long)]
    pub no_refresh: bool,
}

#[derive(Args, Debug)]
pub struct RelatedArgs {
    /// Note id (path in the vault without .md).
    #[arg(required_unless_present = "text", conflicts_with = "text")]
    pub note: Option<String>,
    /// Find memories related to this text instead of a note.
    #[arg(long)]
    pub text: Option<String>,
    /// Number of results.
    #[arg(short = 'n', long = "limit", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub limit: u64,
    /// Only notes not already linked to or from the note (discovery).
    #[arg(long)]
    pub unlinked: bool,
    /// Show each result's evidence scores (meaning, wording, tags, links).
    #[arg(long)]
    pub explain: bool,
    #[arg(long)]
    pub json: bool,
    /// Weight of the strength prior (0 disables it).
    #[arg(long, default_value_t = DEFAULT_STRENGTH_WEIGHT, value_parser = parse_weight)]
    pub strength_weight: f32,
    #[command(flatten)]
    pub fresh: FreshArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Vault to index into a temporary folder (unless --index names an existing index).
    #[arg(long)]
    pub vault: Option<PathBuf>,
    /// Queries, JSON lines with `_id` and `text`.
    #[arg(long)]
    pub queries: PathBuf,
    /// Judgments, TSV with a header: query-id, note id, score.
    #[arg(long)]
    pub qrels: PathBuf,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub rank: RankArgs,
}

fn parse_weight(s: &str) -> Result<f32, String> {
    let w: f32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=2.0).contains(&w) {
        Ok(w)
    } else {
        Err("the weight must be between 0 and 2".into())
    }
}

/// Parses arguments, runs the command, maps errors to exit codes.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e
                .downcast_ref::<Error>()
                .is_some_and(|e| matches!(e, Error::Usage(_) | Error::Query(_)));
            eprintln!("recall: error: {}", error_chain(&e));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// The error and its causes, each said once: a cause whose text the message before it
/// already contains is not repeated.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if !out.contains(&msg) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&msg);
        }
    }
    out
}

fn dispatch(cli: &Cli) -> anyhow::Result<()> {
    let dir = IndexDir::new(&cli.index);
    let model = ModelPaths::locate(cli.model_dir.as_deref());
    match &cli.command {
        Command::Index(args) => cmd_index(&dir, &model, args),
        Command::Update { json } => cmd_update(&dir, &model, *json),
        Command::Watch { debounce_ms } => cmd_watch(&dir, &model, *debounce_ms),
        Command::Search(args) => cmd_search(&dir, &model, args),
        Command::Show { note, json } => cmd_show(&Engine::open(&dir, model)?, note, *json),
        Command::Stats { json } => cmd_stats(&dir, &Engine::open(&dir, model)?, *json),
        Command::Status { json } => cmd_status(&dir, *json),
        Command::Eval(args) => cmd_eval(&dir, &model, args),
        Command::Doctor { json } => cmd_doctor(model, *json),
        Command::Related(args) => {
            refresh(&dir, &model, &args.fresh);
            cmd_related(&Engine::open(&dir, model)?, args)
        }
        Command::EvalRelated { vault, json } => cmd_eval_related(&dir, &model, vault.as_deref(), *json),
    }
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>9} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

fn build_index(
    dir: &IndexDir,
    vault: &std::path::Path,
    options: &IndexOptions,
) -> anyhow::Result<indexer::IndexReport> {
    let bar = progress_bar();
    let report = indexer::index(dir, vault, options, &|stage, done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(match stage {
            Stage::Reading => "reading",
            Stage::Indexing => "indexing",
            Stage::Embedding => "embedding",
        });
    })
    .with_context(|| format!("indexing {} into {}", vault.display(), dir.root.display()))?;
    bar.finish_and_clear();
    Ok(report)
}

fn cmd_index(dir: &IndexDir, model: &ModelPaths, args: &IndexArgs) -> anyhow::Result<()> {
    let vault = match &args.vault {
        Some(v) => v.clone(),
        None => dir.open().map(|g| g.manifest.vault).map_err(|_| {
            Error::Usage("no VAULT given and no index to take it from; run `recall index VAULT`".into())
        })?,
    };
    let options = IndexOptions {
        max_file_bytes: args.max_file_size,
        model: (!args.no_embed).then(|| model.clone()),
        reuse: !args.rebuild,
    };
    let r = build_index(dir, &vault, &options)?;
    print_report(dir, &r, args.json, args.no_embed)
}

fn print_report(
    dir: &IndexDir,
    r: &indexer::IndexReport,
    json_out: bool,
    no_embed: bool,
) -> anyhow::Result<()> {
    let e = &r.embedding;
    let c = &r.changes;
    if json_out {
        println!(
            "{}",
            json!({
                "vault": r.vault, "index": dir.root, "notes": r.notes, "sections": r.sections,
                "links_resolved": r.links_resolved, "links_unresolved": r.links_unresolved,
                "skipped": r.skipped, "took_ms": r.elapsed_ms,
                "embedded": e.embedded, "reused": e.reused, "embed_ms": e.elapsed_ms,
                "embeddings_disabled": e.disabled, "kind": r.kind.name(),
                "added": c.added, "changed": c.changed, "deleted": c.deleted,
            })
        );
        return Ok(());
    }
    let secs = r.elapsed_ms as f64 / 1000.0;
    match r.kind {
        BuildKind::Full => {
            println!(
                "indexed {} notes ({} sections) from {} in {secs:.2}s",
                r.notes,
                r.sections,
                r.vault.display()
            )
        }
        BuildKind::Incremental => println!(
            "updated {}: {} added, {} changed, {} deleted in {secs:.2}s; {} notes ({} sections)",
            r.vault.display(),
            c.added,
            c.changed,
            c.deleted,
            r.notes,
            r.sections
        ),
        BuildKind::UpToDate => println!("index of {} is up to date ({} notes)", r.vault.display(), r.notes),
    }
    println!(
        "links: {} resolved, {} unresolved",
        r.links_resolved, r.links_unresolved
    );
    match &e.disabled {
        Some(why) if !no_embed && why != "--no-embed" => {
            eprintln!("recall: warning: no embeddings, keyword search only: {why}")
        }
        Some(_) => println!("embeddings: none (--no-embed)"),
        None if r.kind == BuildKind::UpToDate => {}
        None => println!(
            "embeddings: {} chunks embedded ({:.0}/s), {} reused from the previous index",
            e.embedded,
            e.embedded as f64 / (e.elapsed_ms.max(1) as f64 / 1000.0),
            e.reused
        ),
    }
    if !r.skipped.is_empty() {
        println!("skipped {} files:", r.skipped.len());
        for s in &r.skipped {
            println!("  {}: {}", s.path.display(), s.reason);
        }
    }
    Ok(())
}

fn search_options(rank: &RankArgs, limit: usize) -> SearchOptions {
    SearchOptions {
        mode: rank.mode,
        fusion: rank.fusion,
        limit,
        strength_weight: rank.strength_weight,
        recency: None,
        render: true,
    }
}

fn cmd_search(dir: &IndexDir, model: &ModelPaths, args: &SearchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let text = args.query.join(" ");
    let mut query = Query::parse(&text).map_err(Error::from)?;
    query
        .filters
        .extend(args.since.map(|d| Filter::Updated(Cmp::Ge, d)));
    query
        .filters
        .extend(args.before.map(|d| Filter::Updated(Cmp::Lt, d)));
    refresh(dir, model, &args.fresh);
    let engine = Engine::open(dir, model.clone())?;
    let (mode, warning) = engine.effective_mode(args.rank.mode)?;
    if let Some(w) = warning {
        eprintln!("recall: warning: {w}");
    }
    let recency = args
        .recent
        .map(|half_life| (chrono::Local::now().date_naive(), half_life));
    let options = SearchOptions {
        mode,
        recency,
        ..search_options(&args.rank, args.limit as usize)
    };
    let hits = engine.search(&query, &options)?;
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut out = std::io::stdout().lock();
    if args.json {
        let results: Vec<serde_json::Value> = hits
            .iter()
            .map(|h| {
                let mut v = serde_json::to_value(h).unwrap_or_default();
                if args.explain {
                    v["explain"] = explain_json(&h.signals);
                }
                v
            })
            .collect();
        let v = json!({"query": text, "mode": mode.name(), "took_ms": took_ms, "results": results});
        writeln!(out, "{v}")?;
        return Ok(());
    }
    if hits.is_empty() {
        writeln!(out, "no results for {text:?}")?;
    }
    let color = color();
    for h in &hits {
        print_hit(&mut out, h, color)?;
        if args.explain {
            writeln!(out, "    explain: {}", explain_text(&h.signals))?;
        }
    }
    Ok(())
}

fn explain_json(s: &Signals) -> serde_json::Value {
    let side = |x: Option<(usize, f32)>, name: &str| {
        x.map(|(rank, score)| json!({"rank": rank, name: score}))
            .unwrap_or(serde_json::Value::Null)
    };
    json!({"lexical": side(s.lexical, "score"), "semantic": side(s.semantic, "similarity"), "fused": s.fused})
}

fn explain_text(s: &Signals) -> String {
    let side = |x: Option<(usize, f32)>, what: &str| match x {
        Some((rank, score)) => format!("#{rank} ({what} {score:.3})"),
        None => "-".into(),
    };
    format!(
        "lexical {}  semantic {}  fused {:.3}",
        side(s.lexical, "bm25"),
        side(s.semantic, "cos"),
        s.fused
    )
}

fn print_hit(out: &mut impl Write, h: &Hit, color: bool) -> std::io::Result<()> {
    let (bold, dim, hl, reset) = if color {
        ("\x1b[1m", "\x1b[2m", "\x1b[1;33m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
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
        .snippet
        .iter()
        .map(|Span { text, hit }| {
            if !hit {
                text.clone()
            } else if color {
                format!("{hl}{text}{reset}")
            } else {
                format!("**{text}**")
            }
        })
        .collect();
    if !snippet.is_empty() {
        writeln!(out, "    {snippet}")?;
    }
    Ok(())
}

fn cmd_show(engine: &Engine, wanted: &str, json_out: bool) -> anyhow::Result<()> {
    let notes = engine.notes()?;
    let (_, n) = notes.find(wanted)?;
    let backlinks: Vec<&str> = notes
        .iter()
        .filter(|(_, o)| {
            o.note
                .links
                .iter()
                .any(|l| l.resolved.as_ref() == Some(&n.note.id))
        })
        .map(|(_, o)| o.note.id.as_str())
        .collect();
    let note = &n.note;
    if json_out {
        let v = json!({
            "note": note.id, "title": note.title, "path": n.relative, "tags": note.tags,
            "strength": note.meta.strength, "established": note.meta.established, "updated": note.meta.updated,
            "sections": note.sections.iter().map(|s| json!({
                "heading": s.heading_display(), "line_start": s.line_start, "line_end": s.line_end, "text": s.text,
            })).collect::<Vec<_>>(),
            "links": note.links, "backlinks": backlinks,
            "front_matter": note.meta.front_matter, "footer": note.meta.footer, "warnings": note.warnings,
        });
        println!("{v}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}  ({})", note.title, note.id)?;
    writeln!(
        out,
        "file: {}",
        engine.generation.manifest.vault.join(&n.relative).display()
    )?;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    writeln!(
        out,
        "strength: {}  established: {}  updated: {}",
        opt(note.meta.strength.map(|s| format!("{s:.2}"))),
        opt(note.meta.established.map(|d| d.to_string())),
        opt(note.meta.updated.map(|d| d.to_string()))
    )?;
    writeln!(out, "tags: {}", note.tags.join(", "))?;
    writeln!(out, "sections:")?;
    for s in &note.sections {
        let heading = if s.heading_path.is_empty() {
            "(before first heading)".into()
        } else {
            s.heading_display()
        };
        writeln!(out, "  {:>4}-{:<4} {}", s.line_start, s.line_end, heading)?;
    }
    writeln!(out, "links:")?;
    for l in &note.links {
        let to = l
            .resolved
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(unresolved)".into());
        writeln!(out, "  line {:<4} [[{}]] -> {}", l.line, l.raw, to)?;
    }
    writeln!(
        out,
        "backlinks: {}",
        if backlinks.is_empty() {
            "-".into()
        } else {
            backlinks.join(", ")
        }
    )?;
    for (k, v) in &note.meta.front_matter {
        writeln!(out, "front matter {k}: {v}")?;
    }
    for w in &note.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

fn cmd_stats(dir: &IndexDir, engine: &Engine, json_out: bool) -> anyhow::Result<()> {
    let notes = engine.notes()?;
    let m = &engine.generation.manifest;
    let tags: BTreeSet<&str> = notes
        .iter()
        .flat_map(|(_, n)| n.note.tags.iter().map(String::as_str))
        .collect();
    let links = notes.iter().flat_map(|(_, n)| &n.note.links);
    let resolved = links.clone().filter(|l| l.resolved.is_some()).count();
    let unresolved = links.count() - resolved;
    let size = engine.generation.size_bytes();
    if json_out {
        let v = json!({
            "notes": m.notes, "sections": m.sections, "tags": tags.len(),
            "links_resolved": resolved, "links_unresolved": unresolved, "skipped": m.skipped.len(),
            "index_bytes": size, "index": dir.root, "vault": m.vault, "built_at": m.built_at,
            "model": m.model,
        });
        println!("{v}");
        return Ok(());
    }
    println!("vault:     {}", m.vault.display());
    println!(
        "index:     {} ({:.1} MiB)",
        dir.root.display(),
        size as f64 / 1048576.0
    );
    println!("built:     {}", m.built_at);
    println!("notes:     {}", m.notes);
    println!("sections:  {}", m.sections);
    println!("tags:      {}", tags.len());
    println!("links:     {resolved} resolved, {unresolved} unresolved");
    println!("skipped:   {}", m.skipped.len());
    println!(
        "model:     {}",
        m.model.as_deref().unwrap_or("none (keyword search only)")
    );
    Ok(())
}

fn cmd_eval(dir: &IndexDir, model: &ModelPaths, args: &EvalArgs) -> anyhow::Result<()> {
    let judgments = Judgments::load(&args.queries, &args.qrels)?;
    // A vault is indexed into a temporary folder; otherwise --index must hold one.
    let tmp;
    let dir = match &args.vault {
        Some(vault) => {
            tmp = tempfile::tempdir().context("creating a temporary index folder")?;
            let d = IndexDir::new(tmp.path());
            let embed = args.rank.mode != Mode::Lexical;
            let options = IndexOptions {
                max_file_bytes: DEFAULT_MAX_FILE_BYTES,
                model: embed.then(|| model.clone()),
                reuse: true,
            };
            let report = build_index(&d, vault, &options)?;
            if let (true, Some(why)) = (embed, &report.embedding.disabled) {
                return Err(
                    Error::Usage(format!("{} mode needs embeddings: {why}", args.rank.mode.name())).into(),
                );
            }
            d
        }
        None => dir.clone(),
    };
    let engine = Engine::open(&dir, model.clone())?;
    if engine.effective_mode(args.rank.mode)?.1.is_some() {
        return Err(Error::Usage(format!(
            "{} mode needs an index with embeddings",
            args.rank.mode.name()
        ))
        .into());
    }
    let report = evaluate(&engine, &judgments, &search_options(&args.rank, 100))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "mode {}: nDCG@10 {:.4}  recall@100 {:.4}  MRR@10 {:.4}  p50 {:.2} ms  p95 {:.2} ms  ({} queries)",
            args.rank.mode.name(),
            report.ndcg10,
            report.recall100,
            report.mrr10,
            report.p50_ms,
            report.p95_ms,
            report.queries
        );
    }
    Ok(())
}

/// Options for updating `g` as it was built: same size cap, embeddings only if it has them.
fn update_options(g: &crate::store::Generation, model: &ModelPaths) -> IndexOptions {
    IndexOptions {
        max_file_bytes: g.manifest.max_file_bytes,
        model: g.manifest.model.is_some().then(|| model.clone()),
        reuse: true,
    }
}

/// How many changed files a query brings in itself before answering; beyond, it warns.
const REFRESH_LIMIT: usize = 10;

/// Before answering: if the vault changed a little since the index was built, update the
/// index first; if it changed a lot, say so. Never fails the query: a problem here is a
/// warning and the query is answered from the index as it is.
fn refresh(dir: &IndexDir, model: &ModelPaths, fresh: &FreshArgs) {
    if fresh.no_refresh {
        return;
    }
    let Ok(g) = dir.open() else { return };
    let Ok(stamps) = g.stamps() else { return };
    let changed = stamps.changed(&g.manifest.vault);
    if changed == 0 {
        return;
    }
    if changed > REFRESH_LIMIT {
        eprintln!(
            "recall: warning: index is stale: {changed} files or folders changed since it was built; run `recall update`"
        );
        return;
    }
    let options = update_options(&g, model);
    match indexer::update(dir, &options, &|_, _, _| {}) {
        Ok(r) if r.kind != BuildKind::UpToDate => eprintln!(
            "recall: index refreshed: {} added, {} changed, {} deleted",
            r.changes.added, r.changes.changed, r.changes.deleted
        ),
        Ok(_) => {}
        Err(e) => eprintln!("recall: warning: could not refresh the index ({e}); answering from it as it is"),
    }
}

fn cmd_status(dir: &IndexDir, json_out: bool) -> anyhow::Result<()> {
    let g = dir.open()?;
    let stamps = g.stamps()?;
    let started = Instant::now();
    let changed = stamps.changed(&g.manifest.vault);
    let check_ms = started.elapsed().as_secs_f64() * 1000.0;
    if json_out {
        println!(
            "{}",
            json!({"vault": g.manifest.vault, "fresh": changed == 0, "changed": changed, "check_ms": check_ms,
                   "files": stamps.files.len(), "built_at": g.manifest.built_at})
        );
    } else if changed == 0 {
        println!(
            "fresh: {} files unchanged since {} (checked in {check_ms:.1} ms)",
            stamps.files.len(),
            g.manifest.built_at
        );
    } else {
        println!("stale: about {changed} notes changed since {}; run `recall update` (checked in {check_ms:.1} ms)", g.manifest.built_at);
    }
    Ok(())
}

fn cmd_update(dir: &IndexDir, model: &ModelPaths, json_out: bool) -> anyhow::Result<()> {
    let g = dir.open()?;
    let options = update_options(&g, model);
    let bar = progress_bar();
    let r = indexer::update(dir, &options, &|_, done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    print_report(dir, &r, json_out, g.manifest.model.is_none())
}

fn cmd_watch(dir: &IndexDir, model: &ModelPaths, debounce_ms: u64) -> anyhow::Result<()> {
    use notify::Watcher;
    let g = dir.open()?;
    let vault = g.manifest.vault.clone();
    let options = update_options(&g, model);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).context("starting the file watcher")?;
    watcher
        .watch(&vault, notify::RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", vault.display()))?;
    let index_root = dir.root.canonicalize().unwrap_or_else(|_| dir.root.clone());
    let relevant = |event: &notify::Event| {
        !event.kind.is_access() && event.paths.iter().any(|p| !p.starts_with(&index_root))
    };
    println!("watching {} (Ctrl-C to stop)", vault.display());
    // Catch up with whatever changed while nobody was watching.
    let mut pending = true;
    loop {
        let timeout = std::time::Duration::from_millis(debounce_ms);
        match rx.recv_timeout(timeout) {
            Ok(Ok(event)) => pending |= relevant(&event),
            Ok(Err(e)) => eprintln!("recall: warning: watch error: {e}"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if pending => {
                // Quiet for `debounce_ms`: editors' write-temp-then-rename has settled.
                pending = false;
                match indexer::update(dir, &options, &|_, _, _| {}) {
                    Ok(r) if r.kind != BuildKind::UpToDate => println!(
                        "{} updated: {} added, {} changed, {} deleted ({} ms)",
                        chrono::Local::now().format("%H:%M:%S"),
                        r.changes.added,
                        r.changes.changed,
                        r.changes.deleted,
                        r.elapsed_ms
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("recall: warning: update failed: {e}; will retry on the next change");
                    }
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(anyhow::anyhow!("the file watcher stopped"));
            }
        }
    }
}

fn cmd_related(engine: &Engine, args: &RelatedArgs) -> anyhow::Result<()> {
    let source = match (&args.note, &args.text) {
        (Some(note), _) => Source::note(engine, engine.notes()?.find(note)?.0)?,
        (None, Some(text)) => Source::text(engine, text)?,
        (None, None) => return Err(Error::Usage("give a NOTE or --text".into()).into()),
    };
    let options = RelatedOptions {
        limit: args.limit as usize,
        unlinked: args.unlinked,
        content_only: false,
        wording_only: false,
        strength_weight: args.strength_weight,
    };
    let results = related::related(engine, &source, &options)?;
    let subject = args
        .note
        .clone()
        .unwrap_or_else(|| format!("--text {:?}", args.text.as_deref().unwrap_or("")));
    if args.json {
        let results: Vec<serde_json::Value> = results
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut v = json!({
                    "rank": i + 1, "note": r.note, "title": r.title, "score": r.score,
                    "strength": r.strength, "reasons": r.reasons,
                });
                if args.explain {
                    v["evidence"] = json!(r.evidence);
                }
                v
            })
            .collect();
        println!("{}", json!({"note": subject, "results": results}));
        return Ok(());
    }
    if results.is_empty() {
        println!("nothing related to {subject} found");
    }
    let color = color();
    let (bold, dim, reset) = if color {
        ("\x1b[1m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    for (i, r) in results.iter().enumerate() {
        let strength = r
            .strength
            .map(|s| format!("  strength {s:.2}"))
            .unwrap_or_default();
        println!(
            "{:>2}. {bold}{}{reset}  {}  {dim}score {:.3}{strength}{reset}",
            i + 1,
            r.note,
            r.title,
            r.score
        );
        let reasons: Vec<String> = r.reasons.iter().map(ToString::to_string).collect();
        if !reasons.is_empty() {
            println!("    {}", reasons.join("; "));
        }
        if args.explain {
            let e = &r.evidence;
            println!(
                "    {dim}meaning {:.3}  wording {:.3}  tags {:.3}  links {:.3}{reset}",
                e.meaning, e.wording, e.tags, e.links
            );
        }
    }
    Ok(())
}

fn cmd_eval_related(
    dir: &IndexDir,
    model: &ModelPaths,
    vault: Option<&std::path::Path>,
    json_out: bool,
) -> anyhow::Result<()> {
    let tmp;
    let dir = match vault {
        Some(vault) => {
            tmp = tempfile::tempdir().context("creating a temporary index folder")?;
            let d = IndexDir::new(tmp.path());
            let options = IndexOptions {
                max_file_bytes: DEFAULT_MAX_FILE_BYTES,
                model: Some(model.clone()),
                reuse: true,
            };
            let report = build_index(&d, vault, &options)?;
            if let Some(why) = &report.embedding.disabled {
                return Err(Error::Usage(format!("eval-related needs embeddings: {why}")).into());
            }
            d
        }
        None => dir.clone(),
    };
    let engine = Engine::open(&dir, model.clone())?;
    let full = evaluate_related(&engine, false)?;
    let baseline = evaluate_related(&engine, true)?;
    if json_out {
        println!("{}", json!({"related": full, "more_like_this": baseline}));
    } else {
        for (name, r) in [
            ("related (content only)", &full),
            ("more-like-this baseline", &baseline),
        ] {
            println!(
                "{name:<24} recall@10 {:.4}  nDCG@10 {:.4}  p50 {:.1} ms  ({} notes with links)",
                r.recall10, r.ndcg10, r.p50_ms, r.notes
            );
        }
    }
    Ok(())
}

fn cmd_doctor(paths: ModelPaths, json_out: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut embedder = Embedder::load(paths.clone())?;
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let probe: Vec<String> = (0..32)
        .map(|i| format!("probe sentence number {i} about notes and memories"))
        .collect();
    let t = Instant::now();
    let vectors = embedder.embed(&probe)?;
    let embed_ms = t.elapsed().as_secs_f64() * 1000.0;
    let similar = crate::embed::dot(&vectors[0], &vectors[1]);
    if json_out {
        println!(
            "{}",
            json!({
                "runtime": paths.runtime, "model_dir": paths.model_dir, "model": embedder.fingerprint(),
                "dimension": embedder.dim(), "load_ms": load_ms, "texts_per_s": 32.0 / (embed_ms / 1000.0),
                "probe_similarity": similar,
            })
        );
    } else {
        println!("runtime:    {}", paths.runtime.display());
        println!(
            "model:      {} ({})",
            paths.model_dir.display(),
            embedder.fingerprint()
        );
        println!("dimension:  {}", embedder.dim());
        println!("load:       {load_ms:.0} ms");
        println!("embedding:  {:.0} short texts/s", 32.0 / (embed_ms / 1000.0));
        println!("probe:      similarity of two related probes {similar:.3}");
        println!("ok");
    }
    Ok(())
}
