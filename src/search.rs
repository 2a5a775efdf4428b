//! Answering a query over one [`Snapshot`]: retrieve, roll up, fuse, apply priors, render.

use std::collections::HashSet;

use crate::analysis::Analysis;
use crate::api::{Explain, ExplainLexical, ExplainSemantic, Mode, SearchHit};
use crate::error::{Error, Result};
use crate::fuse::{fuse, Fusion, Ranked};
use crate::lexical::StoredSection;
use crate::query::{Clause, Query};
use crate::rank::{self, NoteScore, Signals};
use crate::relevance::{self, Evidence};
use crate::snapshot::Snapshot;
use crate::snippet;
use crate::vector::{Entry, VectorIndex};

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub mode: Mode,
    pub fusion: Fusion,
    pub limit: usize,
    pub strength_weight: f32,
    /// (today, half-life in days) for the recency boost.
    pub recency: Option<(chrono::NaiveDate, f32)>,
    /// Compute snippets and stored fields for the results (off for evaluation).
    pub render: bool,
    /// Results whose evidence gives a lower probability of relevance are dropped
    /// (`relevance::DEFAULT_MIN_SCORE`; 0 keeps everything).
    pub min_score: f32,
}

/// The ranked notes of a query.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    pub hits: Vec<SearchHit>,
    /// Candidates dropped for too little evidence (see `relevance`).
    pub dropped: usize,
}

/// How many sections each retriever contributes for `limit` notes. Fusion needs depth:
/// it and the priors can promote notes from well below the cut (halving it costs SciFact
/// 0.002 nDCG@10 and CACM 0.008). Keyword mode only rolls sections up to notes (a note
/// may have several) and blends in whole-note scores: two sections a note rank as well as
/// five or ten (the same nDCG@10 on every collection of the quality table) in a quarter
/// less time than five at 50k notes; the top-k search is most of a keyword query.
fn depth(limit: usize, mode: Mode) -> usize {
    match mode {
        Mode::Lexical => (limit * 2).max(50),
        _ => (limit * 10).max(300),
    }
}

/// Ranks notes for `query`: each hit explains where it stood in each ranking and what
/// evidence it has.
pub fn search(snap: &Snapshot, query: &Query, options: &SearchOptions) -> Result<Ranking> {
    let (ranked, dropped) = rank(snap, query, options)?;
    let analysis = snap.lexical().analysis();
    let terms = highlight_terms(query, analysis);
    let mut hits = Vec::with_capacity(ranked.len());
    for n in &ranked {
        let signals = n.signals;
        let mut hit = SearchHit {
            rank: hits.len() + 1,
            note: String::new(),
            title: String::new(),
            path: String::new(),
            section: String::new(),
            line: 0,
            score: n.score,
            strength: None,
            tags: Vec::new(),
            snippet: String::new(),
            explain: Some(Explain {
                lexical: signals
                    .lexical
                    .map(|(rank, score)| ExplainLexical { rank, score }),
                semantic: signals
                    .semantic
                    .map(|(rank, similarity)| ExplainSemantic { rank, similarity }),
                fused: signals.fused,
                keyword_share: signals.evidence.keyword,
                similarity: signals.evidence.similarity,
                relevance: signals.relevance,
            }),
            spans: Vec::new(),
        };
        if options.render {
            let Some(stored) = shown_section(snap, n)? else {
                continue;
            };
            // A stale index (refresh skipped or refused) must not show a deleted note.
            if !snap.generation.manifest.vault.join(&stored.file).is_file() {
                continue;
            }
            hit.spans = snippet::snippet(&stored.body, &terms, snippet::SNIPPET_CHARS, analysis);
            hit.snippet = snippet::marked(&hit.spans);
            hit.note = stored.note;
            hit.title = stored.title;
            hit.path = stored.file;
            hit.section = stored.heading;
            hit.line = stored.line;
            hit.strength = stored.strength;
            hit.tags = stored.tags;
        } else {
            hit.note = snap.id(n.note_ord)?;
        }
        hits.push(hit);
    }
    Ok(Ranking { hits, dropped })
}

/// The section to show for a ranked note: its best one that has text (a semantic match
/// may be a title-only section, which has no keyword document), else any of the note.
fn shown_section(snap: &Snapshot, n: &NoteScore) -> Result<Option<StoredSection>> {
    let mut fallback = None;
    for &(section, _) in &n.sections {
        if let Some(stored) = snap.lexical().section(n.note_ord, section)? {
            if !stored.body.trim().is_empty() {
                return Ok(Some(stored));
            }
            fallback.get_or_insert(stored);
        }
    }
    match fallback {
        Some(s) => Ok(Some(s)),
        None => Ok(snap.lexical().first_section(n.note_ord)?),
    }
}

/// The ranking pipeline: retrieve → roll up → fuse → priors → evidence and floor → cut.
/// Returns the ranked notes and how many the floor dropped.
fn rank(snap: &Snapshot, query: &Query, options: &SearchOptions) -> Result<(Vec<NoteScore>, usize)> {
    let depth = depth(options.limit, options.mode);
    let semantic_wanted = options.mode != Mode::Lexical && !query.is_filter_only();
    let lexical_wanted = options.mode != Mode::Semantic || query.is_filter_only();
    let query_vector = match semantic_wanted {
        true => Some(vector_of(snap, query)?),
        false => None,
    };
    let keywords = || match lexical_wanted {
        true => lexical(snap, query, depth),
        false => Ok((Vec::new(), false)),
    };
    let vectors = |(v, q): &(&VectorIndex, Vec<f32>)| semantic(snap, query, v, q, depth);
    // A process that answers one query at a time embeds the query on every core, then
    // runs the two retrievals side by side, the graph walk and the keyword search each on
    // a core of its own. A server's queries already keep the cores busy: there a thread
    // more a query would only cost.
    let (lexical, semantic) = match (&query_vector, snap.model().one_query_at_a_time()) {
        (Some(q), true) => std::thread::scope(|scope| {
            let walk = scope.spawn(|| vectors(q));
            let lexical = keywords();
            let semantic = walk
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (lexical, semantic)
        }),
        (Some(q), false) => (keywords(), vectors(q)),
        (None, _) => (keywords(), Ok(Vec::new())),
    };
    let ((lexical, lexical_complete), semantic) = (lexical?, semantic?);
    let mut notes = match options.mode {
        Mode::Hybrid if semantic_wanted => {
            let lexical = Ranked {
                notes: &lexical,
                complete: lexical_complete,
            };
            let semantic = Ranked {
                notes: &semantic,
                complete: false,
            };
            fuse(lexical, semantic, options.fusion)
        }
        Mode::Semantic if semantic_wanted => {
            with_signals(semantic, |s, rank, score| s.semantic = Some((rank, score)))
        }
        _ => with_signals(lexical, |s, rank, score| s.lexical = Some((rank, score))),
    };
    // Absolute evidence of each candidate, and the floor.
    weigh(
        snap,
        query,
        &mut notes,
        query_vector.as_ref().map(|(v, q)| (*v, q.as_slice())),
    )?;
    let before = notes.len();
    notes.retain(|n| n.signals.relevance >= options.min_score);
    let dropped = before - notes.len();
    let priors = snap.priors()?;
    rank::apply_priors(
        &mut notes,
        |ord| priors.get(ord),
        options.strength_weight,
        options.recency,
    );
    notes.truncate(options.limit);
    // The score shown: the probability of relevance with the priors, never rising as
    // rank falls.
    let shown: Vec<f32> = notes
        .iter()
        .map(|n| {
            let prior = rank::prior_factor(priors.get(n.note_ord), options.strength_weight, options.recency);
            (n.signals.relevance * prior).clamp(0.0, 1.0)
        })
        .collect();
    for (n, s) in notes.iter_mut().zip(relevance::monotone(shown.into_iter())) {
        n.score = s;
    }
    Ok((notes, dropped))
}

/// Fills in each candidate's absolute evidence (keyword share, similarity) and its
/// probability of relevance (see `relevance`).
fn weigh(
    snap: &Snapshot,
    query: &Query,
    notes: &mut [NoteScore],
    query_vector: Option<(&VectorIndex, &[f32])>,
) -> Result<()> {
    let terms = snap.lexical().evidence_terms(query);
    let note_index = snap.notes();
    let total = note_index.count().max(1) as f32;
    let idf_of = |df: u64| {
        let df = df as f32;
        (1.0 + (total - df + 0.5) / (df + 0.5)).ln()
    };
    let idf: Vec<f32> = terms.iter().map(|t| idf_of(note_index.doc_freq(t))).collect();
    let prefixes = snap.lexical().prefix_evidence(query)?;
    let prefix_idf: Vec<f32> = prefixes.iter().map(|set| idf_of(set.len() as u64)).collect();
    let weights: Vec<f32> = idf.iter().chain(&prefix_idf).copied().collect();
    let weight = relevance::keyword_weight(&weights);
    let candidates: rustc_hash::FxHashSet<u32> = notes.iter().map(|n| n.note_ord).collect();
    let matched = note_index.terms_in(&terms, &candidates)?;
    for n in notes.iter_mut() {
        let matched = {
            let words = matched
                .get(&n.note_ord)
                .map_or(0.0, |ts| ts.iter().map(|&i| idf[i]).sum::<f32>());
            let prefixes: f32 = prefixes
                .iter()
                .zip(&prefix_idf)
                .filter(|(set, _)| set.contains(&n.note_ord))
                .map(|(_, w)| w)
                .sum();
            words + prefixes
        };
        // A filter-only query has no words to weigh: a note passes or it does not.
        let keyword = (!query.is_filter_only()).then(|| match weight > 0.0 {
            true => (matched / weight).min(1.0),
            false => 0.0,
        });
        let similarity = match (n.signals.semantic, query_vector) {
            (Some((_, sim)), _) => Some(sim),
            (None, Some((v, q))) => v
                .of_note(n.note_ord)
                .iter()
                .map(|&id| crate::vector::quant::dot_query(q, v.row(id as usize)))
                .reduce(f32::max),
            _ => None,
        };
        n.signals.evidence = Evidence { keyword, similarity };
        n.signals.relevance = relevance::probability(n.signals.evidence);
    }
    Ok(())
}

/// Notes ranked by their best sections' keyword scores, blended with the whole note's;
/// and whether the list holds every match.
fn lexical(snap: &Snapshot, query: &Query, depth: usize) -> Result<(Vec<NoteScore>, bool)> {
    let hits = snap.lexical().search(query, depth)?;
    // Fewer sections than asked for: every match is in the list.
    let complete = hits.len() < depth;
    let base = |score: f32| if query.is_filter_only() { 1.0 } else { score };
    let mut notes = rank::rollup(hits.iter().map(|h| (h.note_ord, h.section, base(h.score))));
    if !query.is_filter_only() {
        let ords: Vec<u32> = notes.iter().map(|n| n.note_ord).collect();
        let whole = snap.lexical().note_scores(query, &ords)?;
        rank::blend_whole(&mut notes, &whole, rank::WHOLE_NOTE_WEIGHT);
    }
    Ok((notes, complete))
}

/// The index's vectors and the query text's (an error for an index without embeddings).
fn vector_of<'s>(snap: &'s Snapshot, query: &Query) -> Result<(&'s VectorIndex, Vec<f32>)> {
    let Some(vectors) = snap.vectors()? else {
        return Err(Error::Usage(
            "this index has no embeddings; rebuild with `recall index`".into(),
        ));
    };
    Ok((vectors, snap.embed_query(&query.text())?))
}

/// Notes ranked by their best chunk's similarity to the query vector `q`.
fn semantic(
    snap: &Snapshot,
    query: &Query,
    vectors: &VectorIndex,
    q: &[f32],
    depth: usize,
) -> Result<Vec<NoteScore>> {
    let allowed: Option<HashSet<u32>> = if query.filters.is_empty() && query.must_not.is_empty() {
        None
    } else {
        Some(snap.lexical().allowed_notes(query)?)
    };
    let allow = |e: &Entry| allowed.as_ref().is_none_or(|a| a.contains(&e.note_ord));
    let filter: Option<&dyn Fn(&Entry) -> bool> = if allowed.is_some() { Some(&allow) } else { None };
    // Several chunks of one note can fill the list; ask for more than `depth` vectors.
    let hits = vectors.search(q, depth * 2, filter);
    Ok(rank::rollup(hits.into_iter().map(|(id, sim)| {
        let e = vectors.entry(id);
        (e.note_ord, e.section, sim)
    })))
}

/// Records each note's rank and score in one retriever's list.
fn with_signals(mut notes: Vec<NoteScore>, set: impl Fn(&mut Signals, usize, f32)) -> Vec<NoteScore> {
    for (i, n) in notes.iter_mut().enumerate() {
        set(&mut n.signals, i + 1, n.score);
        n.signals.fused = n.score;
    }
    notes
}

/// The analyzed terms of a query's positive clauses, for highlighting.
fn highlight_terms(query: &Query, analysis: &Analysis) -> HashSet<String> {
    query
        .should
        .iter()
        .chain(&query.must)
        .flat_map(|c| match c {
            Clause::Word(w) | Clause::Phrase(w) | Clause::Prefix(w) => analysis.analyze(w),
        })
        .collect()
}
