//! Measuring ranking quality against human judgments (BEIR layout, keyed by note id).
//!
//! Definitions follow trec_eval / pytrec_eval, so figures compare with published ones:
//! a judgment with score > 0 is relevant with gain = score; nDCG@k uses `gain / log2(rank+1)`
//! with the ideal ranking from the query's judged gains; recall@k is the share of relevant
//! notes in the top k; MRR@k is 1/rank of the first relevant note within k. Only queries with
//! at least one relevant note count.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::query::Query;
use crate::related::{related, RelatedOptions, Source};
use crate::search::{self, SearchOptions};
use crate::snapshot::Snapshot;

/// Queries and their relevance judgments.
pub struct Judgments {
    /// (query id, text), in file order, only those with relevant notes.
    pub queries: Vec<(String, String)>,
    /// query id → note id → gain.
    pub qrels: HashMap<String, HashMap<String, f64>>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Judgments {
    /// Reads `queries.jsonl` (`{"_id","text"}`) and a qrels TSV with a header line
    /// (`query-id  corpus-id  score`).
    pub fn load(queries: &Path, qrels: &Path) -> Result<Judgments> {
        let mut judged: HashMap<String, HashMap<String, f64>> = HashMap::new();
        let text = std::fs::read_to_string(qrels).map_err(io_err(qrels))?;
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let bad = || {
                Error::Usage(format!(
                    "{}:{}: expected `query-id<TAB>corpus-id<TAB>score`",
                    qrels.display(),
                    i + 1
                ))
            };
            let [q, d, s] = cols[..] else { return Err(bad()) };
            let score: f64 = s.trim().parse().map_err(|_| bad())?;
            if score > 0.0 {
                judged
                    .entry(q.to_string())
                    .or_default()
                    .insert(d.to_string(), score);
            }
        }
        let text = std::fs::read_to_string(queries).map_err(io_err(queries))?;
        let mut list = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| Error::Usage(format!("{}:{}: {e}", queries.display(), i + 1)))?;
            let id = match &v["_id"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return Err(Error::Usage(format!("{}:{}: no _id", queries.display(), i + 1))),
            };
            let text = v["text"].as_str().unwrap_or_default().to_string();
            if judged.contains_key(&id) {
                list.push((id, text));
            }
        }
        Ok(Judgments {
            queries: list,
            qrels: judged,
        })
    }
}

/// nDCG@k of `ranked` note ids.
pub fn ndcg_at(ranked: &[String], rel: &HashMap<String, f64>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| rel.get(id).copied().unwrap_or(0.0) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<f64> = rel.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| g / ((i + 2) as f64).log2())
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

pub fn recall_at(ranked: &[String], rel: &HashMap<String, f64>, k: usize) -> f64 {
    if rel.is_empty() {
        return 0.0;
    }
    ranked.iter().take(k).filter(|id| rel.contains_key(*id)).count() as f64 / rel.len() as f64
}

pub fn mrr_at(ranked: &[String], rel: &HashMap<String, f64>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|id| rel.contains_key(id))
        .map(|p| 1.0 / (p + 1) as f64)
        .unwrap_or(0.0)
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The figures of one evaluation run.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    #[serde(rename = "recall@100")]
    pub recall100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub queries: usize,
}

/// Runs every judged query (as plain words) and averages the metrics.
pub fn evaluate(
    snap: &Snapshot,
    judgments: &Judgments,
    options: &SearchOptions,
    mut dump: Option<&mut dyn std::io::Write>,
) -> Result<EvalReport> {
    let options = SearchOptions {
        limit: 100,
        skip: 0,
        render: false,
        ..options.clone()
    };
    let (mut ndcg, mut recall, mut mrr) = (0.0, 0.0, 0.0);
    let mut latencies = Vec::with_capacity(judgments.queries.len());
    for (id, text) in &judgments.queries {
        let rel = &judgments.qrels[id];
        let query = Query::words(text);
        let started = Instant::now();
        let hits = if query.is_filter_only() {
            Vec::new()
        } else {
            search::search(snap, &query, &options)?.hits
        };
        let elapsed = started.elapsed();
        if let Some(out) = dump.as_mut() {
            for h in &hits {
                let s = &h.signals;
                let line = serde_json::json!({
                    "query": id, "rank": h.rank, "note": h.note, "gain": rel.get(&h.note).copied().unwrap_or(0.0),
                    "keyword_share": s.evidence.keyword, "similarity": s.evidence.similarity,
                    "fused": s.fused, "relevance": s.relevance,
                });
                writeln!(out, "{line}").map_err(|source| Error::Io {
                    path: "eval dump".into(),
                    source,
                })?;
            }
        }
        let ranked: Vec<String> = hits.into_iter().map(|h| h.note).collect();
        latencies.push(elapsed.as_secs_f64() * 1000.0);
        ndcg += ndcg_at(&ranked, rel, 10);
        recall += recall_at(&ranked, rel, 100);
        mrr += mrr_at(&ranked, rel, 10);
    }
    let n = judgments.queries.len().max(1) as f64;
    latencies.sort_by(f64::total_cmp);
    Ok(EvalReport {
        ndcg10: ndcg / n,
        recall100: recall / n,
        mrr10: mrr / n,
        p50_ms: percentile(&latencies, 50.0),
        p95_ms: percentile(&latencies, 95.0),
        p99_ms: percentile(&latencies, 99.0),
        queries: judgments.queries.len(),
    })
}

/// Figures of `eval-related`: how well content alone recovers a note's links.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedReport {
    #[serde(rename = "recall@10")]
    pub recall10: f64,
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    /// Notes evaluated (those with resolved outgoing links).
    pub notes: usize,
    pub p50_ms: f64,
}

/// For every note with resolved outgoing links: hide its links (the graph, and their text
/// in the note), rank related notes on content alone, and score the true link targets.
/// `wording_only` measures the "more like this" baseline instead.
pub fn evaluate_related(snap: &Snapshot, wording_only: bool) -> Result<RelatedReport> {
    let options = RelatedOptions {
        limit: 100,
        unlinked: false,
        content_only: true,
        wording_only,
        strength_weight: 0.0,
    };
    let (mut recall, mut ndcg, mut count) = (0.0, 0.0, 0usize);
    let mut latencies = Vec::new();
    for ord in snap.notes().ords()? {
        let Some(n) = snap.notes().record(ord)? else {
            continue;
        };
        let rel: HashMap<String, f64> = n
            .note
            .links
            .iter()
            .filter_map(|l| l.resolved.as_ref())
            .filter(|r| **r != n.note.id)
            .map(|r| (r.to_string(), 1.0))
            .collect();
        if rel.is_empty() {
            continue;
        }
        let started = Instant::now();
        let source = Source::note_without_links(snap, ord, !wording_only)?;
        let ranked: Vec<String> = related(snap, &source, &options)?
            .into_iter()
            .map(|r| r.note)
            .collect();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        recall += recall_at(&ranked, &rel, 10);
        ndcg += ndcg_at(&ranked, &rel, 10);
        count += 1;
    }
    latencies.sort_by(f64::total_cmp);
    let n = count.max(1) as f64;
    Ok(RelatedReport {
        recall10: recall / n,
        ndcg10: ndcg / n,
        notes: count,
        p50_ms: percentile(&latencies, 50.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metrics_match_hand_computation() {
        let rel: HashMap<String, f64> = [("a".to_string(), 1.0), ("b".to_string(), 2.0)].into();
        let ranked = ids(&["x", "b", "a"]);
        let dcg = 2.0 / 3f64.log2() + 1.0 / 4f64.log2();
        let idcg = 2.0 + 1.0 / 3f64.log2();
        assert!((ndcg_at(&ranked, &rel, 10) - dcg / idcg).abs() < 1e-12);
        assert_eq!(recall_at(&ranked, &rel, 2), 0.5);
        assert_eq!(mrr_at(&ranked, &rel, 10), 0.5);
        assert_eq!(ndcg_at(&ids(&["b", "a"]), &rel, 10), 1.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 95.0), 4.0);
    }
}
