//! "Find related memories": the notes that belong with a given note (or piece of text).
//!
//! Four kinds of evidence, each a score in [0, 1] for every candidate note, combined by a
//! weighted sum (wording first scaled to the spread of meaning, see `wording_scale`) and
//! then the strength prior:
//!
//! - **meaning**: the best section-to-section cosine between the two notes, averaged with
//!   the cosine of their centroids (the best pair finds a shared sub-topic, the centroid
//!   rewards notes that are about the same thing as a whole);
//! - **wording**: lexical "more like this": BM25 of the source's most distinctive terms
//!   (highest tf·idf), relative to the best candidate;
//! - **tags**: shared tags weighted by rarity (idf), as a share of the source's tag weight;
//! - **links**: a direct link either way, or a shared neighbour two hops away (a hub shared
//!   by hundreds of notes counts for little).
//!
//! Candidates are gathered from every kind (nearest centroids, nearest sections, graph
//! neighbours, tag sharers, more-like-this hits) and then scored exactly on all four, so
//! the reasons reported for a note are always complete. Every result carries those reasons
//! in plain words.

mod duplicates;
mod links;
mod source;
mod wording;

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::embed::dot;
use crate::error::Result;
use crate::rank::{self, NoteScore, Rule};
use crate::snapshot::Snapshot;
use crate::vector::quant;
pub use duplicates::{closest, Closeness};
use links::Links;
use source::reason_heading;
pub use source::Source;
use wording::{more_like_this, MoreLikeThis};

/// Weights of the evidence kinds, in units of similarity of meaning. Wording (after
/// `wording_scale`) and tags were tuned on the links of dendron-site and logseq-docs, and
/// checked on flancian-garden (docs/experiments.md, "Related notes: wording scaled to the
/// spread of meaning"; today's figures: BENCHMARKS.md, "Related memories"); a direct link
/// is strong evidence by itself.
pub const W_MEANING: f32 = 1.0;
pub const W_WORDING: f32 = 0.6;
pub const W_TAGS: f32 = 0.05;
pub const W_LINK: f32 = 0.6;
/// Terms of the source used for "more like this".
const MLT_TERMS: usize = 25;
/// Candidates taken from each source of candidates.
const CANDIDATES: usize = 200;

/// Why a note is related, in words a person reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "String")]
pub enum Reason {
    LinksTo,
    LinkedFrom,
    TwoHops(String),
    SharedTags(Vec<String>),
    SimilarSection {
        from: String,
        to: String,
    },
    SimilarWording(Vec<String>),
    /// The notes are close as wholes, though no one pair of sections stands out.
    SimilarMeaning(f32),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::LinksTo => write!(f, "links to it"),
            Reason::LinkedFrom => write!(f, "linked from it"),
            Reason::TwoHops(via) => write!(f, "2 hops via {via}"),
            Reason::SharedTags(tags) => write!(f, "shared tags: {}", tags.join(", ")),
            Reason::SimilarSection { from, to } => write!(f, "similar section: {from:?} ~ {to:?}"),
            Reason::SimilarWording(terms) => write!(f, "shared distinctive words: {}", terms.join(", ")),
            Reason::SimilarMeaning(sim) => write!(f, "similar in meaning overall ({sim:.2})"),
        }
    }
}

impl From<Reason> for String {
    fn from(r: Reason) -> String {
        r.to_string()
    }
}

/// The evidence for one candidate, each in [0, 1].
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Evidence {
    pub meaning: f32,
    pub wording: f32,
    pub tags: f32,
    pub links: f32,
}

/// A related note.
#[derive(Debug, Clone, Serialize)]
pub struct Related {
    pub note: String,
    pub title: String,
    pub score: f32,
    pub strength: Option<f32>,
    pub reasons: Vec<Reason>,
    pub evidence: Evidence,
}

/// How to look.
#[derive(Debug, Clone)]
pub struct RelatedOptions {
    pub limit: usize,
    /// Only notes not linked to or from the source.
    pub unlinked: bool,
    /// Ignore the link graph (for measuring content-based relatedness).
    pub content_only: bool,
    /// Only the "more like this" evidence (the baseline of `eval-related`).
    pub wording_only: bool,
    pub strength_weight: f32,
}

/// What a unit of wording evidence is worth in similarity of meaning: the ratio of their
/// spreads (standard deviations) over the candidates. Wording is relative to the best
/// candidate and meaning absolute, and how widely each spreads the candidates differs from
/// note to note (a note of rare words has one clear wording match, a short note a flat
/// field); scaled this way each counts by how much it separates the candidates, the way
/// search fuses its two lists by z-scores. It found more of the vaults' links than any
/// fixed weight, on the tuning vaults and the held-out one (docs/experiments.md, "Related
/// notes: wording scaled to the spread of meaning"). Without vectors (so no spread of
/// meaning), wording keeps its own scale.
fn wording_scale<'e>(evidence: impl Iterator<Item = &'e Evidence> + Clone) -> f32 {
    let spread = |x: &dyn Fn(&Evidence) -> f32| {
        let n = evidence.clone().count().max(1) as f32;
        let mean = evidence.clone().map(x).sum::<f32>() / n;
        (evidence.clone().map(|e| (x(e) - mean).powi(2)).sum::<f32>() / n).sqrt()
    };
    let (meaning, wording) = (spread(&|e| e.meaning), spread(&|e| e.wording));
    match (meaning > 0.0, wording > 0.0) {
        (false, _) => 1.0,
        (true, true) => meaning / wording,
        (true, false) => 0.0,
    }
}

fn centroid(vectors: impl Iterator<Item = impl AsRef<[f32]>>, dim: usize) -> Vec<f32> {
    let mut c = crate::embed::sum(vectors, dim);
    crate::embed::normalize(&mut c);
    c
}

/// What scoring a candidate needs to know of the source, gathered once.
struct Context<'a> {
    snap: &'a Snapshot,
    vectors: Option<&'a crate::vector::VectorIndex>,
    /// The source's links (with a note as source, when links count or filter).
    links: Option<Links>,
    use_links: bool,
    wording_only: bool,
    mlt: MoreLikeThis,
    /// The best more-like-this score: wording is relative to it.
    max_mlt: f32,
    /// The source's tags, weighted by rarity (idf over notes), and their sum.
    tag_idf: HashMap<String, f32>,
    tag_weight: f32,
    centroids: &'a [Option<Vec<f32>>],
    source_centroid: Vec<f32>,
}

/// The notes most related to `source`, best first: gather candidates from every kind of
/// evidence, score each candidate on all four, combine.
pub fn related(snap: &Snapshot, source: &Source, options: &RelatedOptions) -> Result<Vec<Related>> {
    let ctx = context(snap, source, options)?;
    let candidates = gather(&ctx, source, options)?;
    let notes = snap.notes();
    let records: HashMap<u32, crate::vault::LoadedNote> = candidates
        .iter()
        .filter_map(|&c| notes.record(c).transpose().map(|r| r.map(|r| (c, r))))
        .collect::<Result<_, _>>()?;
    let term_list: Vec<String> = ctx.mlt.terms.iter().map(|(t, _)| t.clone()).collect();
    let candidate_set: rustc_hash::FxHashSet<u32> = records.keys().copied().collect();
    let terms_in = notes.terms_in(&term_list, &candidate_set)?;
    let mut scored = Vec::with_capacity(records.len());
    for (&c, record) in &records {
        scored.push(score(&ctx, source, c, &record.note, terms_in.get(&c))?);
    }
    let ranked = combine(scored, options, |ord| {
        records.get(&ord).and_then(|n| n.note.meta.strength)
    });
    Ok(ranked
        .into_iter()
        .filter(|r| records.get(&r.ord).is_some_and(|l| snap.still_there(&l.relative)))
        .take(options.limit)
        .map(|r| {
            let note = &records[&r.ord].note;
            Related {
                note: note.id.to_string(),
                title: note.title.clone(),
                score: r.score,
                strength: note.meta.strength,
                reasons: r.reasons,
                evidence: r.evidence,
            }
        })
        .collect())
}

fn context<'a>(snap: &'a Snapshot, source: &Source, options: &RelatedOptions) -> Result<Context<'a>> {
    let vectors = snap.vectors()?;
    let use_links = !options.content_only && !options.wording_only;
    let links = match (source.note, use_links || options.unlinked) {
        (Some(src), true) => Some(Links::of(snap, src)?),
        _ => None,
    };
    let notes = snap.notes();
    let total = notes.count().max(1) as f32;
    let tag_idf: HashMap<String, f32> = source
        .tags
        .iter()
        .map(|t| (t.clone(), (1.0 + total / notes.tag_count(t).max(1) as f32).ln()))
        .collect();
    let centroids = match (vectors, options.wording_only) {
        (Some(_), false) => snap.centroids()?,
        _ => &[],
    };
    let mlt = more_like_this(snap, &source.text)?;
    Ok(Context {
        snap,
        max_mlt: mlt.by_note.values().copied().fold(0.0f32, f32::max),
        vectors: vectors.filter(|_| !options.wording_only),
        links,
        use_links,
        wording_only: options.wording_only,
        mlt,
        tag_weight: tag_idf.values().sum(),
        tag_idf,
        centroids,
        source_centroid: centroid(
            source.chunks.iter().map(|(_, v)| v),
            vectors.map(|v| v.dim()).unwrap_or(0),
        ),
    })
}

/// Candidates from every kind: more-like-this hits, nearest sections and centroids, tag
/// sharers, notes one and two links away.
fn gather(ctx: &Context<'_>, source: &Source, options: &RelatedOptions) -> Result<HashSet<u32>> {
    let mut candidates: HashSet<u32> = ctx.mlt.by_note.keys().copied().collect();
    if let Some(vectors) = ctx.vectors {
        for (_, v) in &source.chunks {
            for (id, _) in vectors.search(v, 20, None) {
                candidates.insert(vectors.entry(id).note_ord);
            }
        }
        // Notes without vectors have no centroid: not candidates.
        let by_centroid = ctx
            .centroids
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i as u32, dot(c, &ctx.source_centroid))));
        candidates.extend(top(by_centroid, CANDIDATES));
    }
    if !ctx.wording_only && ctx.tag_weight > 0.0 {
        let mut sharers: HashMap<u32, f32> = HashMap::new();
        for (t, idf) in &ctx.tag_idf {
            for ord in ctx.snap.notes().with_tag(t)? {
                *sharers.entry(ord).or_default() += idf;
            }
        }
        candidates.extend(top(sharers, CANDIDATES));
    }
    if let (Some(links), true) = (&ctx.links, ctx.use_links) {
        for n in links.neighbours() {
            candidates.insert(n);
            candidates.extend(links.around.get(&n).into_iter().flatten());
        }
    }
    if let Some(src) = source.note {
        candidates.remove(&src);
    }
    if let (Some(links), true) = (&ctx.links, options.unlinked) {
        candidates.retain(|c| !links.out.contains(c) && !links.inc.contains(c));
    }
    Ok(candidates)
}

/// The `n` best-scoring ids, ties by id.
fn top(scores: impl IntoIterator<Item = (u32, f32)>, n: usize) -> impl Iterator<Item = u32> {
    let mut all: Vec<(u32, f32)> = scores.into_iter().collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.into_iter().take(n).map(|(i, _)| i)
}

/// One candidate, scored on every kind of evidence, with its reasons in order.
struct Scored {
    ord: u32,
    evidence: Evidence,
    reasons: Vec<Reason>,
    score: f32,
}

/// Scores candidate `c` on all four kinds. `shared_terms`: which of the more-like-this
/// terms it contains (indexes into `ctx.mlt.terms`).
fn score(
    ctx: &Context<'_>,
    source: &Source,
    c: u32,
    note: &crate::note::Note,
    shared_terms: Option<&Vec<usize>>,
) -> Result<Scored> {
    let mut reasons = Vec::new();
    let mut ev = Evidence::default();
    if let Some(vectors) = ctx.vectors {
        let (meaning, section) = meaning(ctx, vectors, source, c, note);
        ev.meaning = meaning;
        reasons.extend(section);
    }
    let mut weak_wording = None;
    if let Some(s) = ctx.mlt.by_note.get(&c) {
        ev.wording = if ctx.max_mlt > 0.0 { s / ctx.max_mlt } else { 0.0 };
        let shared: Vec<String> = shared_terms
            .into_iter()
            .flatten()
            .take(5)
            .map(|&i| ctx.mlt.terms[i].1.clone())
            .collect();
        weak_wording = (!shared.is_empty()).then_some(shared);
    }
    if !ctx.wording_only && ctx.tag_weight > 0.0 {
        let (tags, shared) = tags(&ctx.tag_idf, ctx.tag_weight, &note.tags);
        ev.tags = tags;
        if !shared.is_empty() {
            reasons.push(Reason::SharedTags(shared));
        }
    }
    if let (Some(links), true) = (&ctx.links, ctx.use_links) {
        let (score, link_reasons, hub) = links.evidence(c);
        ev.links = score;
        for r in link_reasons.into_iter().rev() {
            reasons.insert(0, r);
        }
        if let Some(hub) = hub {
            reasons.push(Reason::TwoHops(ctx.snap.id(hub)?));
        }
    }
    // Every result says why: the weaker evidence when nothing stronger did.
    match weak_wording {
        Some(shared) if ev.wording >= 0.3 || reasons.is_empty() => {
            reasons.push(Reason::SimilarWording(shared))
        }
        _ if reasons.is_empty() && ev.meaning > 0.0 => reasons.push(Reason::SimilarMeaning(ev.meaning)),
        _ => {}
    }
    Ok(Scored {
        ord: c,
        evidence: ev,
        reasons,
        score: 0.0,
    })
}

/// Meaning: the best section pair averaged with the centroids' cosine; the reason names
/// the best pair of sections that can be named (not link lists), when close enough.
fn meaning(
    ctx: &Context<'_>,
    vectors: &crate::vector::VectorIndex,
    source: &Source,
    c: u32,
    note: &crate::note::Note,
) -> (f32, Option<Reason>) {
    let mut best: Option<f32> = None;
    let mut named: Option<(f32, &str, String)> = None;
    for (heading, v) in &source.chunks {
        for &i in vectors.of_note(c) {
            let sim = quant::dot_query(v, vectors.row(i as usize));
            best = Some(best.map_or(sim, |b: f32| b.max(sim)));
            let to = reason_heading(note, vectors.entry(i as usize).section as usize);
            if !heading.is_empty() && !to.is_empty() && named.as_ref().is_none_or(|n| sim > n.0) {
                named = Some((sim, heading, to));
            }
        }
    }
    let meaning = best.map_or(0.0, |sim| {
        let whole = ctx
            .centroids
            .get(c as usize)
            .and_then(Option::as_ref)
            .map(|cc| dot(cc, &ctx.source_centroid))
            .unwrap_or(sim);
        (0.5 * (sim + whole)).clamp(0.0, 1.0)
    });
    let reason = named
        .filter(|n| n.0 >= 0.5)
        .map(|(_, from, to)| Reason::SimilarSection {
            from: from.to_string(),
            to,
        });
    (meaning, reason)
}

/// Tags: the share of the source's tag weight (idf) the candidate's tags carry, and the
/// tags shared.
fn tags(tag_idf: &HashMap<String, f32>, weight: f32, candidate: &[String]) -> (f32, Vec<String>) {
    let shared: Vec<String> = candidate
        .iter()
        .filter(|t| tag_idf.contains_key(*t))
        .cloned()
        .collect();
    let score = match weight > 0.0 {
        true => shared.iter().filter_map(|t| tag_idf.get(t)).sum::<f32>() / weight,
        false => 0.0,
    };
    (score, shared)
}

/// Combines each candidate's evidence into one score (wording scaled to the spread of
/// meaning), drops those with none, and applies the strength prior: best first.
fn combine(
    mut scored: Vec<Scored>,
    options: &RelatedOptions,
    strength: impl Fn(u32) -> Option<f32>,
) -> Vec<Scored> {
    let w_wording = W_WORDING * wording_scale(scored.iter().map(|s| &s.evidence));
    for s in &mut scored {
        let ev = &s.evidence;
        s.score = match options.wording_only {
            true => ev.wording,
            false => W_MEANING * ev.meaning + w_wording * ev.wording + W_TAGS * ev.tags + W_LINK * ev.links,
        };
    }
    let mut ranked: Vec<NoteScore> = scored
        .iter()
        .map(|s| NoteScore::new(s.ord, s.score, Vec::new()))
        .collect();
    let rules = [
        // Some evidence of any kind.
        Rule::Floor(f32::MIN_POSITIVE),
        Rule::Priors {
            strength_weight: options.strength_weight,
            recency: None,
        },
    ];
    let prior = |ord| crate::record::Prior {
        strength: strength(ord),
        ..Default::default()
    };
    rank::apply_rules(&rules, &mut ranked, |n| n.score, prior);
    let mut by_ord: HashMap<u32, Scored> = scored.into_iter().map(|s| (s.ord, s)).collect();
    ranked
        .into_iter()
        .filter_map(|n| {
            let mut s = by_ord.remove(&n.note_ord)?;
            s.score = n.score;
            Some(s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(meaning: f32, wording: f32) -> Evidence {
        Evidence {
            meaning,
            wording,
            ..Evidence::default()
        }
    }

    #[test]
    fn wording_counts_by_how_much_it_separates_the_candidates() {
        // Meaning spreads 0.1 either side, wording 0.5: a unit of wording is worth 0.2.
        let both = [ev(0.5, 0.0), ev(0.7, 1.0)];
        assert!((wording_scale(both.iter()) - 0.2).abs() < 1e-6);
        // The same wording where meaning spreads widely is worth more similarity.
        let wide = [ev(0.1, 0.0), ev(0.9, 1.0)];
        assert!(wording_scale(wide.iter()) > 4.0 * wording_scale(both.iter()));
        // No vectors: wording keeps its own scale. No wording spread: it says nothing.
        assert_eq!(wording_scale([ev(0.0, 0.0), ev(0.0, 1.0)].iter()), 1.0);
        assert_eq!(wording_scale([ev(0.2, 0.5), ev(0.6, 0.5)].iter()), 0.0);
    }

    #[test]
    fn shared_tags_count_by_rarity() {
        let idf = HashMap::from([("rare".to_string(), 3.0), ("common".to_string(), 1.0)]);
        let (all, shared) = tags(&idf, 4.0, &["common".into(), "rare".into(), "other".into()]);
        assert_eq!((all, shared.len()), (1.0, 2));
        let (rare, _) = tags(&idf, 4.0, &["rare".into()]);
        let (common, _) = tags(&idf, 4.0, &["common".into()]);
        assert!(rare > common);
        assert_eq!(tags(&idf, 4.0, &["other".into()]), (0.0, Vec::new()));
    }

    #[test]
    fn combining_weighs_the_kinds_drops_the_unrelated_and_lets_strength_break_ties() {
        let options = RelatedOptions {
            limit: 10,
            unlinked: false,
            content_only: false,
            wording_only: false,
            strength_weight: 0.3,
        };
        let scored = |ord, evidence| Scored {
            ord,
            evidence,
            reasons: Vec::new(),
            score: 0.0,
        };
        let linked = Evidence {
            links: 1.0,
            ..Evidence::default()
        };
        let tagged = Evidence {
            tags: 1.0,
            ..Evidence::default()
        };
        let ranked = combine(
            vec![
                scored(1, tagged),
                scored(2, Evidence::default()),
                scored(3, linked),
                scored(4, linked),
            ],
            &options,
            |ord| (ord == 4).then_some(0.9),
        );
        let order: Vec<u32> = ranked.iter().map(|s| s.ord).collect();
        // A link outweighs a shared tag; the stronger of two equally linked notes first;
        // a note with no evidence is not related at all.
        assert_eq!(order, [4, 3, 1]);
    }
}
