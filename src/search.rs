//! Answering a query over one [`Snapshot`], as explicit steps:
//! read the query (typo tolerance) → constraints → retrieve → roll up → fuse → evidence
//! and the floor → priors → cut → render.
//!
//! The query's constraints (required and excluded terms, filters) hold in every mode: the
//! keyword search applies them inside tantivy, the semantic search walks the graph only
//! to notes they allow, so a note that lacks a required word is never listed however
//! close its meaning. A query of filters alone is a listing: every note that passes,
//! strongest first, then most recently updated.

use std::collections::HashSet;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::analysis::Analysis;
use crate::embed::ModelKind;
use crate::error::{Error, Result};
use crate::fuse::{fuse, Fusion, Ranked};
use crate::gap;
use crate::language::{self, language_of, Language};
use crate::lexical::{Constraints, StoredSection};
use crate::query::{Clause, Mode, Query};
use crate::rank::{self, NoteScore, Rule, Signals};
use crate::record::Gaps;
use crate::relevance::{self, Evidence};
use crate::share::{self, Share};
use crate::snapshot::Snapshot;
use crate::snippet;
use crate::store::PriorTable;
use crate::vector::{Entry, VectorIndex};

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub mode: Mode,
    pub fusion: Fusion,
    /// How many notes to rank (a page's `offset` plus its `limit`, and one more to know
    /// whether a next page exists).
    pub limit: usize,
    /// The first ranked notes not to return (the pages before): they are ranked, neither
    /// read nor shown.
    pub skip: usize,
    pub strength_weight: f32,
    /// (today, half-life in days) for the recency boost.
    pub recency: Option<(chrono::NaiveDate, f32)>,
    /// Compute snippets and stored fields for the results (off for evaluation).
    pub render: bool,
    /// Results whose evidence gives a lower probability of relevance are dropped
    /// (`relevance::DEFAULT_MIN_SCORE`; 0 keeps everything).
    pub min_score: f32,
    /// Read words one typo away from indexed words as those words (`lexical::spell`).
    pub typos: bool,
    /// Also count what each constraint removed (`--explain`; it costs a second retrieval).
    pub explain: bool,
}

/// One ranked note, with the evidence for it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// 1-based.
    pub rank: usize,
    pub note: String,
    /// After the priors.
    pub score: f32,
    /// Where it stood in each ranking and what evidence it has.
    pub signals: Signals,
    /// With `render`: the section to show and its snippet.
    pub shown: Option<Shown>,
}

/// The section a hit shows, and the part of it that matched.
#[derive(Debug, Clone)]
pub struct Shown {
    pub section: StoredSection,
    pub spans: Vec<snippet::Span>,
}

/// The ranked notes of a query.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    pub hits: Vec<Hit>,
    /// Candidates dropped for too little evidence (see `relevance`).
    pub dropped: usize,
    /// The query as it was read: with its typo corrections.
    pub query: Query,
    /// With `explain`: each constraint, as written, and how many of the candidates the
    /// query's words found it removed.
    pub removed: Vec<(String, usize)>,
}

/// How many sections each retriever contributes for `limit` notes. Fusion needs depth:
/// it and the priors can promote notes from well below the cut. Keyword mode only rolls
/// sections up to notes (a note may have several) and blends in whole-note scores: two
/// sections a note rank as well as five or ten on every collection of the quality table,
/// in less time, since the top-k search's work grows with the sections it keeps
/// (docs/experiments.md, "Keyword mode: two sections a result instead of five").
fn depth(limit: usize, mode: Mode) -> usize {
    match mode {
        Mode::Lexical => (limit * 2).max(50),
        _ => (limit * 10).max(300),
    }
}

/// Ranks notes for `query`: each hit explains where it stood in each ranking and what
/// evidence it has.
pub fn search(snap: &Snapshot, query: &Query, options: &SearchOptions) -> Result<Ranking> {
    let mut query = query.clone();
    if options.typos && !query.is_filter_only() {
        query.corrections = snap.lexical().corrections(&query)?;
    }
    let constraints = match query.has_constraints() {
        true => snap.lexical().constraints(&query)?,
        false => Constraints::default(),
    };
    let (ranked, dropped) = match query.is_filter_only() {
        true => (listing(snap, &query, &constraints, options)?, 0),
        false => rank(snap, &query, &constraints, options)?,
    };
    let removed = match options.explain && query.has_constraints() {
        true => removed_by_constraints(snap, &query, options)?,
        false => Vec::new(),
    };
    let analysis = snap.lexical().analysis();
    let terms = highlight_terms(&query, analysis);
    let mut hits = Vec::with_capacity(ranked.len());
    for n in ranked.into_iter().skip(options.skip) {
        let (note, shown) = match options.render {
            true => {
                let Some(section) = shown_section(snap, &n)? else {
                    continue;
                };
                if !snap.still_there(&section.file) {
                    continue;
                }
                let spans = snippet::snippet(&section.body, &terms, snippet::SNIPPET_CHARS, analysis);
                (section.note.clone(), Some(Shown { section, spans }))
            }
            false => (snap.id(n.note_ord)?, None),
        };
        hits.push(Hit {
            rank: options.skip + hits.len() + 1,
            note,
            score: n.score,
            signals: n.signals,
            shown,
        });
    }
    Ok(Ranking {
        hits,
        dropped,
        query,
        removed,
    })
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

/// A query of filters alone: every note that passes, strongest first, then most
/// recently updated, then in index order; each fully relevant (score = the priors).
fn listing(
    snap: &Snapshot,
    query: &Query,
    constraints: &Constraints,
    options: &SearchOptions,
) -> Result<Vec<NoteScore>> {
    let priors = snap.priors()?;
    let mut ords: Vec<u32> = snap
        .lexical()
        .allowed_notes(query, constraints)?
        .into_iter()
        .collect();
    ords.sort_unstable_by(|a, b| {
        let (pa, pb) = (priors.get(*a), priors.get(*b));
        let strength = |s: Option<f32>| s.unwrap_or(-1.0);
        strength(pb.strength)
            .total_cmp(&strength(pa.strength))
            .then(pb.updated.cmp(&pa.updated))
            .then(a.cmp(b))
    });
    ords.truncate(options.limit);
    let mut notes: Vec<NoteScore> = ords
        .into_iter()
        .map(|ord| {
            let mut n = NoteScore::new(ord, 1.0, Vec::new());
            n.signals.fused = 1.0;
            n.signals.relevance = relevance::probability(Evidence::default());
            n
        })
        .collect();
    show_scores(snap, &mut notes, options)?;
    Ok(notes)
}

/// The ranking pipeline: retrieve → roll up → fuse → evidence and floor → priors → cut.
/// Returns the ranked notes and how many the floor dropped.
fn rank(
    snap: &Snapshot,
    query: &Query,
    constraints: &Constraints,
    options: &SearchOptions,
) -> Result<(Vec<NoteScore>, usize)> {
    let query_vector = match options.mode != Mode::Lexical {
        true => Some(vector_of(snap, query)?),
        false => None,
    };
    let languages = Languages::of(snap, query, options.mode, query_vector.as_ref())?;
    let (mut notes, shares) = retrieve(
        snap,
        query,
        constraints,
        options,
        query_vector.as_ref(),
        &languages,
    )?;
    // Absolute evidence of each candidate, and the floor.
    weigh(
        &mut notes,
        &shares,
        query_vector.as_ref().map(|(v, q)| (*v, q.as_slice())),
        &languages,
    );
    let priors = snap.priors()?;
    let rules = [
        Rule::Floor(options.min_score),
        Rule::Priors {
            strength_weight: options.strength_weight,
            recency: options.recency,
        },
        Rule::Cut(options.limit),
    ];
    let dropped = rank::apply_rules(&rules, &mut notes, |n| n.signals.relevance, |ord| priors.get(ord));
    show_scores(snap, &mut notes, options)?;
    Ok((notes, dropped))
}

/// The score shown: the probability of relevance times the priors, never rising as rank
/// falls.
fn show_scores(snap: &Snapshot, notes: &mut [NoteScore], options: &SearchOptions) -> Result<()> {
    let priors = snap.priors()?;
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
    Ok(())
}

/// The candidates of the query's retrievers among the notes its constraints allow, rolled
/// up to notes, the keyword list coordinated (`rank::coordinate`), and (hybrid) fused;
/// with the keyword share of every candidate.
fn retrieve(
    snap: &Snapshot,
    query: &Query,
    constraints: &Constraints,
    options: &SearchOptions,
    query_vector: Option<&(&VectorIndex, Vec<f32>)>,
    languages: &Languages<'_>,
) -> Result<(Vec<NoteScore>, FxHashMap<u32, Share>)> {
    let depth = depth(options.limit, options.mode);
    let lexical_wanted = options.mode != Mode::Semantic;
    let keywords = || match lexical_wanted {
        true => lexical(snap, query, constraints, depth),
        false => Ok((Vec::new(), false)),
    };
    let vectors =
        |(v, q): &(&VectorIndex, Vec<f32>)| semantic(snap, query, constraints, v, q, depth, languages);
    // A process that answers one query at a time embeds the query on every core, then
    // runs the two retrievals side by side, the graph walk and the keyword search each on
    // a core of its own. A server's queries already keep the cores busy: there a thread
    // more a query would only cost.
    let (lexical, semantic) = match (query_vector, snap.model().one_query_at_a_time()) {
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
    let ((mut lexical, lexical_complete), semantic) = (lexical?, semantic?);
    let candidates: FxHashSet<u32> = lexical.iter().chain(&semantic).map(|n| n.note_ord).collect();
    let shares = share::shares(snap, query, &candidates)?;
    rank::coordinate(&mut lexical, &shares);
    let notes = match options.mode {
        Mode::Hybrid => {
            let lexical = Ranked {
                notes: &lexical,
                complete: lexical_complete,
            };
            let semantic = Ranked {
                notes: &semantic,
                complete: false,
            };
            fuse(lexical, semantic, options.fusion, &|ord| languages.foreign(ord))
        }
        Mode::Semantic => with_signals(semantic, |s, rank, score| s.semantic = Some((rank, score))),
        Mode::Lexical => with_signals(lexical, |s, rank, score| s.lexical = Some((rank, score))),
    };
    Ok((notes, shares))
}

/// The query's language against each note's, read once a query: which notes are in
/// another language (see `fuse`) and what the language gap adds to their cosine (see
/// `gap`). The first needs a model that reads every language, the second gaps the index
/// measured. The query's language is the one its text shows, or, in an index with gaps,
/// the one the model hears (`gap::query_language`).
#[derive(Default)]
struct Languages<'s> {
    asked: Option<(Language, &'s PriorTable)>,
    multilingual: bool,
    gaps: Option<&'s Gaps>,
}

impl<'s> Languages<'s> {
    /// Keyword mode neither fuses nor compares meaning: there it knows no language.
    fn of(
        snap: &'s Snapshot,
        query: &Query,
        mode: Mode,
        query_vector: Option<&(&VectorIndex, Vec<f32>)>,
    ) -> Result<Languages<'s>> {
        if mode == Mode::Lexical {
            return Ok(Languages::default());
        }
        let gaps = snap.generation.manifest.language_gaps.as_ref();
        let spoken = language_of(&query.text(), language::QUERY);
        let asked = match (gaps, query_vector) {
            (Some(g), Some((_, q))) => gap::query_language(g, spoken, q),
            _ => spoken,
        };
        let asked = match asked {
            Some(l) => Some((l, snap.priors()?)),
            None => None,
        };
        Ok(Languages {
            asked,
            multilingual: ModelKind::of_dir(&snap.model().paths().model_dir) == ModelKind::Multilingual,
            gaps,
        })
    }

    fn foreign(&self, ord: u32) -> bool {
        match (self.asked, self.multilingual) {
            (Some((asked, priors)), true) => priors.get(ord).language.is_some_and(|l| l != asked),
            _ => false,
        }
    }

    fn shift(&self, ord: u32) -> f32 {
        match (self.asked, self.gaps) {
            (Some((asked, priors)), Some(gaps)) => gaps.shift(asked, priors.get(ord).language),
            _ => 0.0,
        }
    }
}

/// For `--explain`: what each constraint removed from the candidates the query's words
/// find on their own (a query of filters alone: from every note).
fn removed_by_constraints(
    snap: &Snapshot,
    query: &Query,
    options: &SearchOptions,
) -> Result<Vec<(String, usize)>> {
    let candidates: Vec<u32> = if query.is_filter_only() {
        snap.notes().ords()?
    } else {
        // Required terms still rank, as optional ones.
        let free = Query {
            should: query.should.iter().chain(&query.must).cloned().collect(),
            corrections: query.corrections.clone(),
            ..Query::default()
        };
        let query_vector = match options.mode != Mode::Lexical {
            true => Some(vector_of(snap, &free)?),
            false => None,
        };
        retrieve(
            snap,
            &free,
            &Constraints::default(),
            options,
            query_vector.as_ref(),
            &Languages::of(snap, &free, options.mode, query_vector.as_ref())?,
        )?
        .0
        .iter()
        .map(|n| n.note_ord)
        .collect()
    };
    Ok(snap.lexical().removed_by(query, &candidates)?)
}

/// Fills in each candidate's absolute evidence (its keyword share from `shares`, its
/// similarity, with the language gap's shift as the semantic list has it) and its
/// probability of relevance (see `relevance`).
fn weigh(
    notes: &mut [NoteScore],
    shares: &FxHashMap<u32, Share>,
    query_vector: Option<(&VectorIndex, &[f32])>,
    languages: &Languages<'_>,
) {
    for n in notes.iter_mut() {
        let share = shares.get(&n.note_ord).cloned().unwrap_or_default();
        let similarity = match (n.signals.semantic, query_vector) {
            (Some((_, sim)), _) => Some(sim),
            (None, Some((v, q))) => v
                .of_note(n.note_ord)
                .iter()
                .map(|&id| crate::vector::quant::dot_query(q, v.row(id as usize)))
                .reduce(f32::max)
                .map(|sim| sim + languages.shift(n.note_ord)),
            _ => None,
        };
        n.signals.evidence = Evidence {
            keyword: Some(share.share),
            similarity,
        };
        n.signals.relevance = relevance::probability(n.signals.evidence);
        n.signals.corrected = share.corrected;
    }
}

/// Notes ranked by their best sections' keyword scores, blended with the whole note's;
/// and whether the list holds every match.
fn lexical(
    snap: &Snapshot,
    query: &Query,
    constraints: &Constraints,
    depth: usize,
) -> Result<(Vec<NoteScore>, bool)> {
    let hits = snap.lexical().search(query, constraints, depth)?;
    // Fewer sections than asked for: every match is in the list.
    let complete = hits.len() < depth;
    let mut notes = rank::rollup(hits.iter().map(|h| (h.note_ord, h.section, h.score)));
    let ords: Vec<u32> = notes.iter().map(|n| n.note_ord).collect();
    let whole = snap.lexical().note_scores(query, &ords)?;
    rank::blend_whole(&mut notes, &whole, rank::WHOLE_NOTE_WEIGHT);
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

/// Notes ranked by their best chunk's similarity to the query vector `q`, among the notes
/// the query's constraints allow.
fn semantic(
    snap: &Snapshot,
    query: &Query,
    constraints: &Constraints,
    vectors: &VectorIndex,
    q: &[f32],
    depth: usize,
    languages: &Languages<'_>,
) -> Result<Vec<NoteScore>> {
    let allowed: Option<HashSet<u32>> = match query.has_constraints() {
        true => Some(snap.lexical().allowed_notes(query, constraints)?),
        false => None,
    };
    let allow = |e: &Entry| allowed.as_ref().is_none_or(|a| a.contains(&e.note_ord));
    let filter: Option<&dyn Fn(&Entry) -> bool> = if allowed.is_some() { Some(&allow) } else { None };
    // Several chunks of one note can fill the list; ask for more than `depth` vectors.
    let hits = vectors.search(q, depth * 2, filter);
    Ok(rank::rollup(hits.into_iter().map(|(id, sim)| {
        let e = vectors.entry(id);
        (e.note_ord, e.section, sim + languages.shift(e.note_ord))
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

/// The analyzed terms of a query's positive clauses and of its corrections, for
/// highlighting.
fn highlight_terms(query: &Query, analysis: &Analysis) -> HashSet<String> {
    query
        .should
        .iter()
        .chain(&query.must)
        .flat_map(Clause::texts)
        .chain(query.corrections.iter().map(|c| c.to.as_str()))
        .flat_map(|w| analysis.analyze(w))
        .collect()
}
