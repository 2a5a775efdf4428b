//! The command line: argument parsing (clap derive), output formatting, exit codes.
//!
//! Everything here is presentation over the library's [`Engine`]: each command builds an
//! API request from its flags, and prints the typed response for people (colour when
//! `--color` and the terminal say so, progress bars on a terminal, and never a control
//! character from a note: `term`) or, with `--json`/`--format`, as the same JSON the
//! HTTP and MCP servers return. One file per group of commands.
//! Exit codes: 0 success (zero results included, and a reader that closed the pipe, as
//! ripgrep does), 2 usage errors (bad flags, bad query, unknown note), 1 anything else.

mod build;
mod eval;
mod memory;
mod notes;
mod search;
#[cfg(feature = "mcp")]
mod serve;
mod term;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::analysis::Analysis;
use crate::api::{parse_limit, parse_mode, Mode};
use crate::embed::{ModelPaths, QueryModel};
use crate::engine::{Engine, Limits, Refresh};
use crate::error::{Error, ErrorKind};
use crate::fuse::{Fusion, DEFAULT_FUSION};
use crate::rank::DEFAULT_STRENGTH_WEIGHT;
use crate::relevance::DEFAULT_MIN_SCORE;
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
    /// Colour in human output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = term::ColorChoice::Auto)]
    pub color: term::ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build (or rebuild) the index of a vault.
    Index(build::IndexArgs),
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
    Search(search::SearchArgs),
    /// Show a note as recall parsed it (add --section to print part of its markdown).
    Show(notes::ShowArgs),
    /// The most recently updated notes.
    Recent(notes::RecentArgs),
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
    Eval(eval::EvalArgs),
    /// Notes related to a note (or to --text): by meaning, wording, tags and links.
    Related(notes::RelatedArgs),
    /// Write a new memory note (its text on stdin), unless the vault already holds it.
    Remember(memory::RememberArgs),
    /// Mark a memory as still useful: its footer's `Last updated` becomes today (and its
    /// strength, with --strength); nothing else in the note changes.
    Reinforce(memory::ReinforceArgs),
    /// The memories to read first (strongest and freshest, or about a topic), within a
    /// token budget, as markdown.
    Brief(memory::BriefArgs),
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
    /// Serve the index over HTTP (JSON API, and MCP at /mcp), keeping it fresh.
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// Serve the index to an MCP client over stdio, keeping it fresh.
    #[cfg(feature = "mcp")]
    Mcp(serve::McpArgs),
    /// Print a shell completion script: `recall completions bash > ~/.local/share/bash-completion/completions/recall`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff): `recall manpage > ~/.local/share/man/man1/recall.1`.
    Manpage,
}

/// The shells `completions` writes for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// How a command that lists results prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// For people (colour on a terminal).
    #[default]
    Human,
    /// The whole response as one JSON document (the HTTP and MCP body).
    Json,
    /// One JSON object a result, a line each.
    Jsonl,
    /// One note id a line, for fzf, xargs and scripts.
    Ids,
}

/// `--format` and its shorthand `--json`.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format
        }
    }
}

/// The number of results (`-n`), checked as on every face.
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Number of results (1 to 100).
    #[arg(short = 'n', long = "limit", default_value = "10", value_parser = parse_limit)]
    pub limit: usize,
}

/// Paging (`--offset`), checked as on every face.
#[derive(Args, Debug, Clone)]
pub struct OffsetArgs {
    /// Skip this many results: the `next_offset` of the previous page.
    #[arg(long, default_value = "0", value_parser = crate::api::parse_offset)]
    pub offset: usize,
}

/// What each result carries (`--fields`), checked as on every face.
#[derive(Args, Debug, Clone)]
pub struct FieldsArgs {
    /// full (default) or meta: results without snippets or reasons.
    #[arg(long, default_value = "full", value_parser = crate::api::parse_fields)]
    pub fields: crate::api::Fields,
}

/// The hint to the next page, under a list for people.
fn print_more(out: &mut impl Write, next: Option<usize>) -> std::io::Result<()> {
    match next {
        Some(n) => writeln!(out, "{}", term::Paint::new().dim(&format!("more: --offset {n}"))),
        None => Ok(()),
    }
}

/// Ranking settings shared by `search` and `eval`.
#[derive(Args, Debug, Clone)]
pub struct RankArgs {
    /// Retrieval mode: hybrid (keywords and meaning), lexical or semantic.
    #[arg(long, default_value = "hybrid", value_parser = parse_mode)]
    pub mode: Mode,
    /// Weight of the strength prior (0 disables it).
    #[arg(long, default_value_t = DEFAULT_STRENGTH_WEIGHT, value_parser = parse_weight)]
    pub strength_weight: f32,
    /// How hybrid mode merges the lists: zscore:A, minmax:A (A = keyword weight) or rrf:K\[:W\].
    #[arg(long, default_value_t = DEFAULT_FUSION)]
    pub fusion: Fusion,
    /// Match words only as written: no typo tolerance.
    #[arg(long)]
    pub exact: bool,
    /// Drop results whose probability of relevance is below this (0 keeps every candidate).
    #[arg(long, default_value_t = DEFAULT_MIN_SCORE, value_parser = parse_share)]
    pub min_score: f32,
}

fn parse_share(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("it must be between 0 and 1".into())
    }
}

#[derive(Args, Debug, Clone)]
pub struct FreshArgs {
    /// Answer from the index as it is, without checking the vault for changes first.
    #[arg(long)]
    pub no_refresh: bool,
}

fn parse_weight(s: &str) -> Result<f32, String> {
    let w: f32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=2.0).contains(&w) {
        Ok(w)
    } else {
        Err("the weight must be between 0 and 2".into())
    }
}

fn parse_language(s: &str) -> Result<Analysis, String> {
    Analysis::new(s)
}

/// Parses arguments, runs the command, maps errors to exit codes.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    term::init_color(cli.color);
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`recall search x | head -1`): nothing is wrong.
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.downcast_ref::<Error>().is_some_and(|e| {
                matches!(
                    e.kind(),
                    ErrorKind::BadRequest | ErrorKind::NotFound | ErrorKind::TooLarge
                )
            });
            let _ = writeln!(
                std::io::stderr(),
                "recall: error: {}",
                term::safe(&error_chain(&e))
            );
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// Whether writing failed because stdout's reader closed the pipe.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, each said once: a cause whose text the message before it
/// already contains is not repeated.
pub(crate) fn error_chain(e: &anyhow::Error) -> String {
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

impl Command {
    /// Whether the command runs until stopped, updating its index as it goes.
    fn runs_long(&self) -> bool {
        match self {
            Command::Watch { .. } => true,
            #[cfg(feature = "serve")]
            Command::Serve(_) => true,
            #[cfg(feature = "mcp")]
            Command::Mcp(_) => true,
            _ => false,
        }
    }
}

fn dispatch(cli: &Cli) -> anyhow::Result<()> {
    let dir = IndexDir::new(&cli.index);
    let model = ModelPaths::locate(cli.model_dir.as_deref());
    if cli.command.runs_long() {
        crate::steady_heap();
    }
    match &cli.command {
        Command::Index(args) => build::index(&dir, &model, args),
        Command::Update { json } => build::update(&dir, &model, *json),
        Command::Watch { debounce_ms } => build::watch(open(dir, model)?, *debounce_ms),
        Command::Search(args) => search::run(&open_fresh(dir, model, &args.fresh)?, args),
        Command::Show(args) => notes::show(&open(dir, model)?, args),
        Command::Recent(args) => notes::recent(&open(dir, model)?, args),
        Command::Stats { json } => build::stats(&open(dir, model)?, *json),
        Command::Status { json } => build::status(&open(dir, model)?, *json),
        Command::Eval(args) => eval::eval(&dir, &model, args),
        Command::Doctor { json } => eval::doctor(model, *json),
        Command::Related(args) => notes::related(&open_fresh(dir, model, &args.fresh)?, args),
        Command::Remember(args) => memory::remember(&open(dir, model)?, args),
        Command::Reinforce(args) => memory::reinforce(&open(dir, model)?, args),
        Command::Brief(args) => memory::brief(&open(dir, model)?, args),
        Command::EvalRelated { vault, json } => eval::eval_related(&dir, &model, vault.as_deref(), *json),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::serve(dir, model, args),
        #[cfg(feature = "mcp")]
        Command::Mcp(args) => serve::mcp(dir, model, args),
        Command::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "recall", &mut buf);
            std::io::stdout().lock().write_all(&buf)?;
            Ok(())
        }
        Command::Manpage => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
            std::io::stdout().lock().write_all(&buf)?;
            Ok(())
        }
    }
}

/// The engine of a command that answers one request.
fn open(dir: IndexDir, model: ModelPaths) -> anyhow::Result<Engine> {
    Ok(Engine::open(
        dir,
        QueryModel::single(model),
        Limits::command_line(),
    )?)
}

/// How many changed files a query brings in itself before answering; beyond, it warns.
const REFRESH_LIMIT: usize = 10;

/// The engine of a query, brought up to date with a few changed notes first (unless
/// `--no-refresh`); what happened is said on stderr.
fn open_fresh(dir: IndexDir, model: ModelPaths, fresh: &FreshArgs) -> anyhow::Result<Engine> {
    let engine = open(dir, model)?;
    if fresh.no_refresh {
        return Ok(engine);
    }
    match engine.refresh(REFRESH_LIMIT) {
        Refresh::Fresh | Refresh::Watched => {}
        Refresh::Updated(r) => term::note(&format!(
            "index refreshed: {} added, {} changed, {} deleted",
            r.changes.added, r.changes.changed, r.changes.deleted
        )),
        Refresh::Stale(n) => term::warn(&format!(
            "index is stale: {n} files or folders changed since it was built; run `recall update`"
        )),
        Refresh::Failed(e) => term::warn(&format!(
            "could not refresh the index ({e}); answering from it as it is"
        )),
    }
    Ok(engine)
}

/// Prints a list answer as `format` asks: the whole response (json), its results a line
/// each (jsonl), their note ids (ids), or `human` for people.
fn print_results<R: serde::Serialize, H: serde::Serialize>(
    format: Format,
    whole: &R,
    results: &[H],
    note: impl Fn(&H) -> &String,
    human: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(whole),
        Format::Jsonl => print_jsonl(results),
        Format::Ids => print_ids(results.iter().map(|h| note(h).as_str())),
        Format::Human => human(),
    }
}

/// Prints one JSON value on a line.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let line = serde_json::to_string(value)?;
    writeln!(std::io::stdout().lock(), "{line}")?;
    Ok(())
}

/// Prints each item as a JSON line (`--format jsonl`).
fn print_jsonl<T: serde::Serialize>(items: &[T]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for item in items {
        writeln!(out, "{}", serde_json::to_string(item)?)?;
    }
    Ok(())
}

/// Prints note ids a line each (`--format ids`), made safe for a terminal.
fn print_ids<'a>(ids: impl Iterator<Item = &'a str>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for id in ids {
        writeln!(out, "{}", term::safe(id))?;
    }
    Ok(())
}

fn default_max_file_bytes() -> u64 {
    DEFAULT_MAX_FILE_BYTES
}
