//! `index`, `update`, `watch`, `status`, `stats`: building the index and facts about it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use super::term::{note, safe, warn};
use super::{default_max_file_bytes, parse_language, print_json};
use crate::analysis::Analysis;
use crate::embed::{ModelKind, ModelPaths};
use crate::engine::Engine;
use crate::error::Error;
use crate::indexer::{self, BuildKind, IndexOptions, IndexReport, NoEmbeddings, Stage};
use crate::store::{Generation, IndexDir};

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// The vault folder (default: the vault the index was built from).
    pub vault: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = default_max_file_bytes())]
    pub max_file_size: u64,
    /// Keyword index only: no embeddings (faster; semantic and hybrid search unavailable).
    #[arg(long)]
    pub no_embed: bool,
    /// Rebuild from scratch, embedding everything again (default: update incrementally when
    /// the index already holds this vault).
    #[arg(long)]
    pub rebuild: bool,
    /// Stemming language of the keyword index: en (default), ar, da, de, el, es, fi, fr,
    /// hu, it, nl, no, pt, ro, ru, sv, ta, tr, or none (no stemming). Kept by later runs.
    #[arg(long, value_parser = parse_language)]
    pub language: Option<Analysis>,
    /// Embedding model: auto (the vault's languages decide: all-MiniLM-L6-v2 for a vault in
    /// English, multilingual-e5-small when a real share of its notes is in other languages;
    /// an index keeps its model), minilm or multilingual. Switching re-embeds.
    #[arg(long, value_enum, default_value_t = ModelChoice::Auto)]
    pub model: ModelChoice,
    #[arg(long)]
    pub json: bool,
}

/// `--model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelChoice {
    Auto,
    Minilm,
    Multilingual,
}

/// The model paths an index run embeds with, and how they were chosen (in words).
fn choose(
    current: Option<&Generation>,
    model: &ModelPaths,
    vault: &Path,
    args: &IndexArgs,
) -> (ModelPaths, String) {
    if model.explicit {
        return (
            model.clone(),
            format!("--model-dir {}", model.model_dir.display()),
        );
    }
    let kind = match args.model {
        ModelChoice::Minilm => ModelKind::MiniLm,
        ModelChoice::Multilingual => ModelKind::Multilingual,
        ModelChoice::Auto => {
            // An index of this vault keeps its model (and how it was chosen).
            let kept = current
                .filter(|g| !args.rebuild && same_folder(&g.manifest.vault, vault))
                .and_then(|g| {
                    g.manifest
                        .model
                        .clone()
                        .map(|m| (m, g.manifest.model_choice.clone()))
                });
            if let Some((recorded, why)) = kept {
                return (
                    model.of_index(Some(&recorded)),
                    why.unwrap_or_else(|| "kept from the index".into()),
                );
            }
            let (kind, why) = crate::embed::choose_model(vault);
            return (model.of_kind(kind), why);
        }
    };
    (model.of_kind(kind), format!("--model {}", kind.flag()))
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

pub(super) fn progress_bar() -> indicatif::ProgressBar {
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

/// Indexes `vault` into `dir` with a progress bar on a terminal.
pub(super) fn build_index(
    dir: &IndexDir,
    vault: &Path,
    options: &IndexOptions,
) -> anyhow::Result<IndexReport> {
    let bar = progress_bar();
    let report = indexer::index(dir, vault, options, &|stage, done, total| {
        if stage == Stage::KeywordsReady {
            bar.suspend(|| {
                note("keyword search is ready; embedding now (searches use keywords until it is done)")
            });
            return;
        }
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(match stage {
            Stage::Reading => "reading",
            Stage::Indexing | Stage::KeywordsReady => "indexing",
            Stage::Embedding => "embedding",
        });
    })
    .with_context(|| format!("indexing {} into {}", vault.display(), dir.root.display()))?;
    bar.finish_and_clear();
    Ok(report)
}

pub(super) fn index(dir: &IndexDir, model: &ModelPaths, args: &IndexArgs) -> anyhow::Result<()> {
    // The index as it is, if there is one: it lends the vault, the language and the model.
    let current = dir.open().ok();
    let vault = match (&args.vault, &current) {
        (Some(v), _) => v.clone(),
        (None, Some(g)) => g.manifest.vault.clone(),
        (None, None) => {
            return Err(Error::Usage(
                "no VAULT given and no index to take it from; run `recall index VAULT`".into(),
            )
            .into())
        }
    };
    // Without --language, an index keeps the language it was built with.
    let analysis = match &args.language {
        Some(a) => a.clone(),
        None => current
            .as_ref()
            .and_then(|g| g.analysis().ok())
            .unwrap_or_default(),
    };
    let (paths, choice) = match args.no_embed {
        true => (model.clone(), String::new()),
        false => choose(current.as_ref(), model, &vault, args),
    };
    // Another model than the index's: every vector is made again, in a full build.
    let recorded = current.and_then(|g| g.manifest.model);
    let switching = !args.no_embed
        && recorded.is_some_and(|m| ModelKind::of_recorded(&m) != ModelKind::of_dir(&paths.model_dir));
    let options = IndexOptions {
        max_file_bytes: args.max_file_size,
        model: (!args.no_embed).then_some(paths),
        reuse: !args.rebuild && !switching,
        analysis,
        shared_model: None,
        model_choice: (!args.no_embed).then_some(choice),
    };
    let r = build_index(dir, &vault, &options)?;
    print_report(dir, &r, args.json, args.no_embed)
}

pub(super) fn update(dir: &IndexDir, model: &ModelPaths, json_out: bool) -> anyhow::Result<()> {
    let g = dir.open()?;
    let options = IndexOptions::to_update(&g, model);
    let bar = progress_bar();
    let r = indexer::update(dir, &options, &|_, done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    print_report(dir, &r, json_out, g.manifest.model.is_none())
}

fn print_report(dir: &IndexDir, r: &IndexReport, json_out: bool, no_embed: bool) -> anyhow::Result<()> {
    let e = &r.embedding;
    let c = &r.changes;
    let manifest = dir.open().ok().map(|g| g.manifest);
    let (model, model_choice) = match &manifest {
        Some(m) => (m.model.clone(), m.model_choice.clone()),
        None => (None, None),
    };
    if json_out {
        return print_json(&json!({
            "vault": r.vault, "index": dir.root, "notes": r.notes, "sections": r.sections,
            "links_resolved": r.links_resolved, "links_unresolved": r.links_unresolved,
            "skipped": r.skipped, "warnings": r.warnings, "took_ms": r.elapsed_ms,
            "embedded": e.embedded, "reused": e.reused, "embed_ms": e.elapsed_ms,
            "embeddings_disabled": e.disabled, "kind": r.kind.name(),
            "model": model, "model_choice": model_choice,
            "added": c.added, "changed": c.changed, "deleted": c.deleted,
        }));
    }
    let mut out = std::io::stdout().lock();
    let secs = r.elapsed_ms as f64 / 1000.0;
    let vault = r.vault.display().to_string();
    let vault = safe(&vault);
    match r.kind {
        BuildKind::Full => writeln!(
            out,
            "indexed {} notes ({} sections) from {vault} in {secs:.2}s",
            r.notes, r.sections
        )?,
        BuildKind::Incremental => writeln!(
            out,
            "updated {vault}: {} added, {} changed, {} deleted in {secs:.2}s; {} notes ({} sections)",
            c.added, c.changed, c.deleted, r.notes, r.sections
        )?,
        BuildKind::UpToDate => writeln!(out, "index of {vault} is up to date ({} notes)", r.notes)?,
    }
    writeln!(
        out,
        "links: {} resolved, {} unresolved",
        r.links_resolved, r.links_unresolved
    )?;
    match &e.disabled {
        Some(NoEmbeddings::NotInIndex) => writeln!(
            out,
            "embeddings: none (the index was built without them; `recall index --rebuild` adds them)"
        )?,
        Some(why) if !no_embed && *why != NoEmbeddings::TurnedOff => {
            warn(&format!("no embeddings, keyword search only: {why}"))
        }
        Some(_) => writeln!(out, "embeddings: none (--no-embed)")?,
        None if r.kind == BuildKind::UpToDate => {}
        None => writeln!(
            out,
            "embeddings: {} chunks embedded ({:.0}/s), {} reused from the previous index",
            e.embedded,
            e.embedded as f64 / (e.elapsed_ms.max(1) as f64 / 1000.0),
            e.reused
        )?,
    }
    if let Some(m) = &model {
        let why = model_choice
            .as_deref()
            .map(|w| format!(" ({})", safe(w)))
            .unwrap_or_default();
        writeln!(out, "model: {m}{why}")?;
    }
    if !r.skipped.is_empty() {
        writeln!(out, "skipped {} files:", r.skipped.len())?;
        for s in &r.skipped {
            writeln!(
                out,
                "  {}: {}",
                safe(&s.path.display().to_string()),
                safe(&s.reason)
            )?;
        }
    }
    if !r.warnings.is_empty() {
        let shown = r.warnings.len().min(WARNINGS_SHOWN);
        writeln!(
            out,
            "warnings in {} notes{}:",
            r.warnings
                .iter()
                .map(|w| &w.note)
                .collect::<std::collections::HashSet<_>>()
                .len(),
            if shown < r.warnings.len() {
                format!(" (the first {shown} of {}; --json lists all)", r.warnings.len())
            } else {
                String::new()
            }
        )?;
        for w in &r.warnings[..shown] {
            writeln!(out, "  {}: {}", safe(&w.note), safe(&w.warning))?;
        }
    }
    Ok(())
}

/// How many note warnings `index` prints for people (`--json` has them all).
const WARNINGS_SHOWN: usize = 10;

pub(super) fn watch(engine: Engine, debounce_ms: u64) -> anyhow::Result<()> {
    let vault = engine.snapshot().generation.manifest.vault.clone();
    writeln!(
        std::io::stdout(),
        "watching {} (Ctrl-C to stop)",
        safe(&vault.display().to_string())
    )?;
    crate::watch::run(&engine, Duration::from_millis(debounce_ms), &mut |event| {
        if let Some(line) = event.describe() {
            // A closed stdout must not stop the watcher.
            let _ = writeln!(
                std::io::stdout(),
                "{} {}",
                chrono::Local::now().format("%H:%M:%S"),
                safe(&line)
            );
        }
    })?;
    Ok(())
}

pub(super) fn status(engine: &Engine, json_out: bool) -> anyhow::Result<()> {
    let s = engine.status()?;
    if json_out {
        return print_json(&s);
    }
    let mut out = std::io::stdout().lock();
    if s.changed == 0 {
        writeln!(
            out,
            "fresh: {} files unchanged since {} (checked in {:.1} ms)",
            s.files, s.built_at, s.check_ms
        )?;
    } else {
        writeln!(
            out,
            "stale: about {} notes changed since {}; run `recall update` (checked in {:.1} ms)",
            s.changed, s.built_at, s.check_ms
        )?;
    }
    if s.watched {
        writeln!(
            out,
            "a `recall watch`, `serve` or `mcp` process keeps this index up to date: searches skip the check ({:.2} ms)",
            s.query_check_ms
        )?;
    }
    Ok(())
}

pub(super) fn stats(engine: &Engine, json_out: bool) -> anyhow::Result<()> {
    let s = engine.stats()?;
    if json_out {
        return print_json(&s);
    }
    let mut out = std::io::stdout().lock();
    let path = |p: &Path| safe(&p.display().to_string()).into_owned();
    writeln!(out, "vault:     {}", path(&s.vault))?;
    writeln!(
        out,
        "index:     {} ({:.1} MiB)",
        path(&s.index),
        s.index_bytes as f64 / 1048576.0
    )?;
    writeln!(out, "built:     {}", s.built_at)?;
    writeln!(out, "notes:     {}", s.notes)?;
    writeln!(out, "sections:  {}", s.sections)?;
    writeln!(out, "tags:      {}", s.tags)?;
    writeln!(
        out,
        "links:     {} resolved, {} unresolved",
        s.links_resolved, s.links_unresolved
    )?;
    writeln!(out, "skipped:   {}", s.skipped)?;
    let why = s
        .model_choice
        .as_deref()
        .map(|w| format!(" ({})", safe(w)))
        .unwrap_or_default();
    writeln!(
        out,
        "model:     {}{why}",
        s.model.as_deref().unwrap_or("none (keyword search only)")
    )?;
    writeln!(out, "language:  {}", s.language)?;
    if !s.front_matter.is_empty() {
        let keys: Vec<String> = s
            .front_matter
            .iter()
            .map(|k| format!("{} ({})", safe(&k.key), k.notes))
            .collect();
        writeln!(out, "front matter (filters KEY:VALUE): {}", keys.join(", "))?;
    }
    Ok(())
}
