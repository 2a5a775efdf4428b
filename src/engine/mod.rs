//! The one API every face calls: search, related, read a note, recent notes, a briefing,
//! status, and the opt-in writes (remember, reinforce: `write`).
//!
//! An [`Engine`] owns an index folder, the embedding model (loaded once, on first use) and
//! the current [`Snapshot`]. Each call takes the snapshot current when it starts and
//! answers from it alone; [`Engine::reload`] swaps in a newly published generation without
//! waiting for calls in flight, which finish on the one they started with. Calls take
//! typed requests and return the serde types of [`crate::api`], so the command line, the
//! HTTP server and the MCP server answer with the same JSON and the same errors.
//!
//! The engine also keeps its index fresh: [`Engine::refresh`] (a command-line query brings
//! in a few changed notes first) and [`Engine::update`] (what the watcher of a server runs
//! after the vault changed).

mod brief;
mod read;
mod write;

pub use brief::{estimate_tokens, DEFAULT_BUDGET};
pub use write::{DEFAULT_NEW_STRENGTH, DEFAULT_WRITE_FOLDER, DUPLICATE_MEANING, DUPLICATE_WORDS};

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::api::{
    check_limit, check_min_score, check_offset, ConstraintInfo, CorrectionInfo, Explain, ExplainLexical,
    ExplainSemantic, Fields, KeyCount, RecentHit, RecentRequest, RecentResponse, RelatedHit, RelatedRequest,
    RelatedResponse, SearchHit, SearchRequest, SearchResponse, StatsResponse, StatusResponse, DEFAULT_LIMIT,
};
use crate::dates::{self, DateRange};
use crate::embed::{ModelPaths, QueryModel};
use crate::error::{Error, Result};
use crate::fuse::DEFAULT_FUSION;
use crate::indexer::{self, BuildKind, IndexOptions, IndexReport};
use crate::lexical::Constraints;
use crate::query::{DateField, Filter, Query};
use crate::rank::DEFAULT_STRENGTH_WEIGHT;
use crate::related::{self, RelatedOptions, Source};
use crate::search::{self, SearchOptions};
use crate::snapshot::Snapshot;
use crate::snippet;
use crate::store::IndexDir;
use read::check_note_id;

/// Longest query accepted, in bytes: a longer one is not a query.
pub const MAX_QUERY_BYTES: usize = 4096;

/// Limits of an engine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most bytes of markdown `note` returns; longer notes are cut with a marker.
    pub note_bytes: usize,
}

impl Limits {
    /// For a person at a terminal: whole notes.
    pub fn command_line() -> Limits {
        Limits {
            note_bytes: usize::MAX,
        }
    }

    /// For agents and other programs: notes that fit a model's context.
    pub fn service() -> Limits {
        Limits {
            note_bytes: 64 * 1024,
        }
    }
}

/// What [`Engine::refresh`] did before a query.
#[derive(Debug)]
pub enum Refresh {
    /// Nothing had changed.
    Fresh,
    /// A `watch` or `serve` process keeps the index current; nothing was checked.
    Watched,
    /// A few notes had changed and were brought in.
    Updated(IndexReport),
    /// Too many notes changed to bring in before answering.
    Stale(usize),
    /// The update failed; the query is answered from the index as it is.
    Failed(String),
}

/// An index, open for answering.
pub struct Engine {
    dir: IndexDir,
    model: Arc<QueryModel>,
    limits: Limits,
    current: RwLock<Arc<Snapshot>>,
    /// One index update at a time from this process (the writer lock is per process).
    updating: Mutex<()>,
    /// One swap of generations at a time (an update's and a follower's would open the
    /// same generation twice).
    reloading: Mutex<()>,
    /// Where `remember` puts new notes unless asked otherwise.
    write_folder: String,
}

impl Engine {
    /// Opens the index in `dir`; the model is loaded when a query first needs it.
    pub fn open(dir: IndexDir, model: QueryModel, limits: Limits) -> Result<Engine> {
        // Queries embed with the model the index was built with.
        let model = Arc::new(model.for_index(dir.recorded_model().as_deref()));
        let snapshot = Arc::new(Snapshot::open(&dir, Arc::clone(&model))?);
        Ok(Engine {
            dir,
            model,
            limits,
            current: RwLock::new(snapshot),
            updating: Mutex::new(()),
            reloading: Mutex::new(()),
            write_folder: write::DEFAULT_WRITE_FOLDER.to_string(),
        })
    }

    /// Puts new memories in `folder` (inside the vault) unless a request names another.
    pub fn with_write_folder(mut self, folder: &str) -> Result<Engine> {
        self.write_folder = crate::write::check_folder(folder)?;
        Ok(self)
    }

    pub fn dir(&self) -> &IndexDir {
        &self.dir
    }

    pub fn model_paths(&self) -> &ModelPaths {
        self.model.paths()
    }

    /// The snapshot calls starting now answer from.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Opens the generation `CURRENT` names if it is not the one being served, loads what
    /// its queries need, then swaps it in. Returns whether it changed.
    pub fn reload(&self) -> Result<bool> {
        let _one = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let name = self.dir.current_name()?;
        if self.snapshot().generation.dir.file_name() == Some(name.as_ref()) {
            return Ok(false);
        }
        let next = Snapshot::open(&self.dir, Arc::clone(&self.model))?;
        next.warm()?;
        let previous = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(|p| p.into_inner()),
            Arc::new(next),
        );
        // The previous generation goes when its last query ends; what the update that
        // made this one allocated is free now.
        drop(previous);
        crate::give_back_freed_memory();
        Ok(true)
    }

    /// [`Engine::reload`] for a generation another process published: skipped while this
    /// process updates the index itself (its update swaps in what it publishes).
    pub fn reload_published(&self) -> Result<bool> {
        match self.updating.try_lock() {
            Ok(_idle) => self.reload(),
            Err(_) => Ok(false),
        }
    }

    /// Options for updating the index as it was built, embedding with this engine's
    /// model (a server never loads a second one).
    pub fn update_options(&self) -> IndexOptions {
        IndexOptions {
            shared_model: Some(Arc::clone(&self.model)),
            ..IndexOptions::to_update(&self.snapshot().generation, self.model.paths())
        }
    }

    /// Brings the index up to date with its vault and serves the result.
    pub fn update(&self) -> Result<IndexReport> {
        let _one = self.updating.lock().unwrap_or_else(|p| p.into_inner());
        let report = indexer::update(&self.dir, &self.update_options(), &|_, _, _| {})?;
        self.reload()?;
        Ok(report)
    }

    /// Before a command-line query: if the vault changed a little since the index was built
    /// (up to `limit` notes), update the index first; if it changed a lot, say so. Never
    /// fails: a problem is reported and the query answered from the index as it is.
    pub fn refresh(&self, limit: usize) -> Refresh {
        if self.dir.is_watched() {
            return Refresh::Watched;
        }
        let snap = self.snapshot();
        if snap.generation.manifest.embedding_pending {
            // Bringing changes in would mean finishing the embedding: not inside a query.
            return Refresh::Fresh;
        }
        let Ok(files) = snap.generation.file_table() else {
            return Refresh::Fresh;
        };
        match crate::vault::changed_since(&snap.generation.manifest.vault, &files) {
            0 => Refresh::Fresh,
            n if n > limit => Refresh::Stale(n),
            _ => match self.update() {
                Ok(r) if r.kind == BuildKind::UpToDate => Refresh::Fresh,
                Ok(r) => Refresh::Updated(r),
                Err(e) => Refresh::Failed(e.to_string()),
            },
        }
    }

    /// Ranked notes for a query.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResponse> {
        let started = Instant::now();
        if req.query.len() > MAX_QUERY_BYTES {
            return Err(Error::TooLarge(format!(
                "the query is {} bytes; the limit is {MAX_QUERY_BYTES}",
                req.query.len()
            )));
        }
        let (limit, offset) = page(req.limit, req.offset)?;
        let min_score = check_min_score(req.min_score.unwrap_or(crate::relevance::DEFAULT_MIN_SCORE))
            .map_err(Error::Usage)?;
        let today = dates::today();
        let mut query = Query::parse_at(&req.query, today)?;
        let snap = self.snapshot();
        if !query.front_matter_keys().is_empty() {
            let keys: Vec<String> = snap
                .notes()
                .front_matter_keys()?
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            query.check_fields(&keys)?;
        }
        let date =
            |what: &str, s: &str| dates::parse(s, today).map_err(|e| Error::Usage(format!("{what}: {e}")));
        if let Some(d) = &req.since {
            query.filters.push(Filter::Date {
                field: DateField::Updated,
                range: DateRange::since(date("since", d)?),
                written: format!("since:{d}"),
            });
        }
        if let Some(d) = &req.before {
            query.filters.push(Filter::Date {
                field: DateField::Updated,
                range: DateRange::before(date("before", d)?),
                written: format!("before:{d}"),
            });
        }
        let recency = match &req.recent {
            Some(h) => Some((today, crate::rank::parse_half_life(h).map_err(Error::Usage)?)),
            None => None,
        };
        let (mode, warning) = snap.effective_mode(req.mode.unwrap_or_default())?;
        let options = SearchOptions {
            mode,
            fusion: req.fusion.unwrap_or(DEFAULT_FUSION),
            limit: offset + limit + 1,
            skip: offset,
            strength_weight: req.strength_weight.unwrap_or(DEFAULT_STRENGTH_WEIGHT),
            recency,
            render: true,
            min_score,
            typos: !req.exact,
            explain: req.explain,
        };
        let mut ranking = search::search(&snap, &query, &options)?;
        let next_offset = (ranking.hits.len() > limit).then_some(offset + limit);
        ranking.hits.truncate(limit);
        let meta = req.fields == Some(Fields::Meta);
        let read = &ranking.query;
        let corrected_query = read
            .corrections
            .iter()
            .any(|c| c.replaces)
            .then(|| read.corrected(&req.query));
        let did_you_mean = match ranking.hits.is_empty() && !req.exact {
            true => snap.lexical().did_you_mean(&req.query, read)?,
            false => None,
        };
        Ok(SearchResponse {
            query: req.query.clone(),
            corrected_query,
            corrections: read
                .corrections
                .iter()
                .map(|c| CorrectionInfo {
                    typed: c.typed.clone(),
                    read_as: c.to.clone(),
                    replaced: c.replaces,
                })
                .collect(),
            did_you_mean,
            mode,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            dropped: ranking.dropped,
            constraints: ranking
                .removed
                .into_iter()
                .map(|(constraint, removed)| ConstraintInfo { constraint, removed })
                .collect(),
            results: ranking
                .hits
                .into_iter()
                .filter_map(|h| search_hit(h, req.explain, meta))
                .collect(),
            next_offset,
            warnings: warning.into_iter().collect(),
        })
    }

    /// The notes that belong with a note, or with a piece of text.
    pub fn related(&self, req: &RelatedRequest) -> Result<RelatedResponse> {
        let snap = self.snapshot();
        let (source, subject) = match (&req.note, &req.text) {
            (Some(note), None) => {
                check_note_id(note)?;
                let (ord, _) = snap.find(note)?;
                (Source::note(&snap, ord)?, note.clone())
            }
            (None, Some(text)) => {
                if text.trim().is_empty() {
                    return Err(Error::Usage(
                        "the text is empty: give the words to find related notes for".into(),
                    ));
                }
                if text.len() > MAX_QUERY_BYTES * 4 {
                    return Err(Error::TooLarge(format!(
                        "the text is {} bytes; the limit is {}",
                        text.len(),
                        MAX_QUERY_BYTES * 4
                    )));
                }
                (Source::text(&snap, text)?, format!("--text {text:?}"))
            }
            (Some(_), Some(_)) => return Err(Error::Usage("give a note or a text, not both".into())),
            (None, None) => return Err(Error::Usage("give a note or a text".into())),
        };
        let (limit, offset) = page(req.limit, req.offset)?;
        let meta = req.fields == Some(Fields::Meta);
        let options = RelatedOptions {
            limit: offset + limit + 1,
            unlinked: req.unlinked,
            content_only: false,
            wording_only: false,
            strength_weight: req.strength_weight.unwrap_or(DEFAULT_STRENGTH_WEIGHT),
        };
        let found = related::related(&snap, &source, &options)?;
        let next_offset = (found.len() > offset + limit).then_some(offset + limit);
        let mut results = Vec::with_capacity(limit);
        for (i, r) in found.into_iter().enumerate().skip(offset).take(limit) {
            let chars = match snap.notes().find(&r.note)? {
                Some(ord) => snap.notes().record(ord)?.map_or(0, |n| n.chars),
                None => 0,
            };
            results.push(RelatedHit {
                rank: i + 1,
                note: r.note,
                title: r.title,
                score: r.score,
                strength: r.strength,
                chars,
                reasons: match meta {
                    true => Vec::new(),
                    false => r.reasons.iter().map(ToString::to_string).collect(),
                },
                evidence: req.explain.then_some(r.evidence),
            });
        }
        Ok(RelatedResponse {
            note: subject,
            results,
            next_offset,
        })
    }

    /// The most recently updated notes (last updated, else established, else the file's
    /// date), the stronger first on the same day.
    pub fn recent(&self, req: &RecentRequest) -> Result<RecentResponse> {
        let (limit, offset) = page(req.limit, req.offset)?;
        let snap = self.snapshot();
        let mut query = Query::default();
        if let Some(tag) = &req.tag {
            query
                .filters
                .push(Filter::Tag(tag.trim_start_matches('#').to_lowercase()));
        }
        if let Some(path) = &req.path {
            query.filters.push(Filter::Path(path.clone()));
        }
        let allowed = (!query.filters.is_empty())
            .then(|| snap.lexical().allowed_notes(&query, &Constraints::default()))
            .transpose()?;
        let priors = snap.priors()?;
        let mut candidates: Vec<u32> = snap
            .notes()
            .ords()?
            .into_iter()
            .filter(|ord| allowed.as_ref().is_none_or(|a| a.contains(ord)))
            .collect();
        // Newest first, stronger first on the same day, then by ordinal (stable).
        candidates.sort_by(|a, b| {
            let (pa, pb) = (priors.get(*a), priors.get(*b));
            pb.updated
                .cmp(&pa.updated)
                .then(
                    pb.strength
                        .unwrap_or(-1.0)
                        .total_cmp(&pa.strength.unwrap_or(-1.0)),
                )
                .then(a.cmp(b))
        });
        let mut results = Vec::with_capacity(limit);
        let (mut skipped, mut next_offset) = (0, None);
        for ord in candidates {
            let Some(n) = snap.notes().record(ord)? else {
                continue;
            };
            if !snap.still_there(&n.relative) {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if results.len() == limit {
                next_offset = Some(offset + limit);
                break;
            }
            results.push(RecentHit {
                rank: offset + results.len() + 1,
                note: n.note.id.to_string(),
                title: n.note.title.clone(),
                path: n.relative.to_string_lossy().into_owned(),
                updated: priors.get(ord).updated,
                strength: n.note.meta.strength,
                tags: n.note.tags.clone(),
                chars: n.chars,
            });
        }
        Ok(RecentResponse { results, next_offset })
    }

    /// Whether the index is fresh (one `stat` per note file), and what it holds.
    pub fn status(&self) -> Result<StatusResponse> {
        let snap = self.snapshot();
        let g = &snap.generation;
        let files = g.file_table()?;
        let started = Instant::now();
        let changed = crate::vault::changed_since(&g.manifest.vault, &files);
        let check_ms = started.elapsed().as_secs_f64() * 1000.0;
        let started = Instant::now();
        let watched = self.dir.is_watched();
        let probe_ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(StatusResponse {
            vault: g.manifest.vault.clone(),
            index: self.dir.root.clone(),
            notes: g.manifest.notes,
            sections: g.manifest.sections,
            fresh: changed == 0,
            changed,
            check_ms,
            query_check_ms: if watched { probe_ms } else { check_ms },
            files: files.files(),
            built_at: g.manifest.built_at.clone(),
            model: g.manifest.model.clone(),
            model_choice: g.manifest.model_choice.clone(),
            language: g.manifest.language.clone(),
            watched,
        })
    }

    /// Counts and sizes.
    pub fn stats(&self) -> Result<StatsResponse> {
        let snap = self.snapshot();
        let m = &snap.generation.manifest;
        Ok(StatsResponse {
            notes: m.notes,
            sections: m.sections,
            tags: snap.notes().tag_kinds()? as usize,
            links_resolved: m.links_resolved,
            links_unresolved: m.links_unresolved,
            skipped: m.skipped.len(),
            index_bytes: snap.generation.size_bytes(),
            index: self.dir.root.clone(),
            vault: m.vault.clone(),
            built_at: m.built_at.clone(),
            model: m.model.clone(),
            model_choice: m.model_choice.clone(),
            language: m.language.clone(),
            front_matter: snap
                .notes()
                .front_matter_keys()?
                .into_iter()
                .map(|(key, notes)| KeyCount { key, notes })
                .collect(),
        })
    }
}

/// A ranked note as the API shows it (a hit searched without `render` has nothing to show).
fn search_hit(h: search::Hit, explain: bool, meta: bool) -> Option<SearchHit> {
    let s = &h.signals;
    let explain = explain.then(|| Explain {
        lexical: s.lexical.map(|(rank, score)| ExplainLexical { rank, score }),
        semantic: s
            .semantic
            .map(|(rank, similarity)| ExplainSemantic { rank, similarity }),
        fused: s.fused,
        keyword_share: s.evidence.keyword,
        similarity: s.evidence.similarity,
        relevance: s.relevance,
        corrected: s.corrected.clone(),
    });
    let search::Shown { section, spans } = h.shown?;
    Some(SearchHit {
        chars: section.chars,
        rank: h.rank,
        note: h.note,
        title: section.title,
        path: section.file,
        section: section.heading,
        line: section.line,
        score: h.score,
        strength: section.strength,
        tags: section.tags,
        snippet: (!meta).then(|| snippet::marked(&spans)),
        explain,
        spans,
    })
}

/// A call's `limit`, checked as on every face.
fn limit(asked: Option<usize>) -> Result<usize> {
    check_limit(asked.unwrap_or(DEFAULT_LIMIT)).map_err(Error::Usage)
}

/// A page of a result list, (`limit`, `offset`), checked as on every face.
fn page(limit_asked: Option<usize>, offset: Option<usize>) -> Result<(usize, usize)> {
    let limit = limit(limit_asked)?;
    Ok((limit, check_offset(offset.unwrap_or(0)).map_err(Error::Usage)?))
}
