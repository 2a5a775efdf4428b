//! `eval`, `eval-related`, `doctor`: measuring ranking quality and checking the model.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use super::build::build_index;
use super::{print_json, RankArgs};
use crate::analysis::Analysis;
use crate::api::Mode;
use crate::embed::{Embedder, ModelPaths, QueryModel};
use crate::error::Error;
use crate::eval::{evaluate, evaluate_related, Judgments};
use crate::indexer::IndexOptions;
use crate::search::SearchOptions;
use crate::snapshot::Snapshot;
use crate::store::IndexDir;
use crate::vault::DEFAULT_MAX_FILE_BYTES;

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
    /// Write every ranked candidate (top 100 a query) with its evidence and judgment to
    /// this file, one JSON object a line: the data the relevance model is fitted on.
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    #[command(flatten)]
    pub rank: RankArgs,
}

/// A snapshot of `dir` whose queries embed with the model the index was built with.
fn open_snapshot(dir: &IndexDir, model: &ModelPaths) -> anyhow::Result<Snapshot> {
    let model = QueryModel::single(model.clone()).for_index(dir.recorded_model().as_deref());
    Ok(Snapshot::open(dir, Arc::new(model))?)
}

/// `dir`, or a temporary index of `vault` (kept alive by the returned guard); `embed`
/// says whether the measurement needs embeddings.
fn eval_index(
    dir: &IndexDir,
    model: &ModelPaths,
    vault: Option<&Path>,
    embed: bool,
    what: &str,
) -> anyhow::Result<(IndexDir, Option<tempfile::TempDir>)> {
    let Some(vault) = vault else {
        return Ok((dir.clone(), None));
    };
    let tmp = tempfile::tempdir().context("creating a temporary index folder")?;
    let d = IndexDir::new(tmp.path());
    // The model `recall index` would choose for this vault (`--model auto`).
    let (kind, why) = crate::embed::choose_model(vault);
    let options = IndexOptions {
        max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        model: embed.then(|| model.of_kind(kind)),
        reuse: true,
        analysis: Analysis::default(),
        shared_model: None,
        model_choice: embed.then_some(why),
    };
    let report = build_index(&d, vault, &options)?;
    if let (true, Some(why)) = (embed, &report.embedding.disabled) {
        return Err(Error::Usage(format!("{what} needs embeddings: {why}")).into());
    }
    Ok((d, Some(tmp)))
}

pub(super) fn eval(dir: &IndexDir, model: &ModelPaths, args: &EvalArgs) -> anyhow::Result<()> {
    let judgments = Judgments::load(&args.queries, &args.qrels)?;
    let mode = args.rank.mode;
    let what = format!("{} mode", mode.name());
    let (dir, _tmp) = eval_index(dir, model, args.vault.as_deref(), mode != Mode::Lexical, &what)?;
    let snap = open_snapshot(&dir, model)?;
    if snap.effective_mode(mode)?.1.is_some() {
        return Err(Error::Usage(format!("{what} needs an index with embeddings")).into());
    }
    let options = SearchOptions {
        mode,
        fusion: args.rank.fusion,
        limit: 100,
        skip: 0,
        strength_weight: args.rank.strength_weight,
        recency: None,
        render: false,
        min_score: args.rank.min_score,
        typos: !args.rank.exact,
        explain: false,
    };
    let mut dump = match &args.dump {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };
    let report = evaluate(
        &snap,
        &judgments,
        &options,
        dump.as_mut().map(|d| d as &mut dyn std::io::Write),
    )?;
    if args.json {
        return print_json(&report);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "mode {}: nDCG@10 {:.4}  recall@100 {:.4}  MRR@10 {:.4}  p50 {:.2} ms  p95 {:.2} ms  ({} queries)",
        mode.name(),
        report.ndcg10,
        report.recall100,
        report.mrr10,
        report.p50_ms,
        report.p95_ms,
        report.queries
    )?;
    Ok(())
}

pub(super) fn eval_related(
    dir: &IndexDir,
    model: &ModelPaths,
    vault: Option<&Path>,
    json_out: bool,
) -> anyhow::Result<()> {
    let (dir, _tmp) = eval_index(dir, model, vault, true, "eval-related")?;
    let snap = open_snapshot(&dir, model)?;
    let full = evaluate_related(&snap, false)?;
    let baseline = evaluate_related(&snap, true)?;
    if json_out {
        return print_json(&json!({"related": full, "more_like_this": baseline}));
    }
    let mut out = std::io::stdout().lock();
    for (name, r) in [
        ("related (content only)", &full),
        ("more-like-this baseline", &baseline),
    ] {
        writeln!(
            out,
            "{name:<24} recall@10 {:.4}  nDCG@10 {:.4}  p50 {:.1} ms  ({} notes with links)",
            r.recall10, r.ndcg10, r.p50_ms, r.notes
        )?;
    }
    Ok(())
}

pub(super) fn doctor(paths: ModelPaths, json_out: bool) -> anyhow::Result<()> {
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
    let per_s = 32.0 / (embed_ms / 1000.0);
    if json_out {
        return print_json(&json!({
            "runtime": paths.runtime, "model_dir": paths.model_dir, "model": embedder.fingerprint(),
            "dimension": embedder.dim(), "load_ms": load_ms, "texts_per_s": per_s,
            "probe_similarity": similar,
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "runtime:    {}", paths.runtime.display())?;
    writeln!(
        out,
        "model:      {} ({})",
        paths.model_dir.display(),
        embedder.fingerprint()
    )?;
    writeln!(out, "dimension:  {}", embedder.dim())?;
    writeln!(out, "load:       {load_ms:.0} ms")?;
    writeln!(out, "embedding:  {per_s:.0} short texts/s")?;
    writeln!(out, "probe:      similarity of two related probes {similar:.3}")?;
    writeln!(out, "ok")?;
    Ok(())
}
