//! "Find related memories": the notes that belong with a given note (or piece of text).
//!
//! Four kinds of evidence, each a score in [0, 1] for every candidate note, combined by a
//! weighted sum and then the strength prior:
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

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::embed::dot;
use crate::error::{Error, Result};
use crate::rank::{self, NoteScore};
use crate::snapshot::Snapshot;
use crate::vault::Notes;

/// Weights of the evidence kinds. Meaning and wording were balanced on dendron-site's
/// links (see BENCHMARKS.md); a direct link is strong evidence by itself.
pub const W_MEANING: f32 = 1.0;
pub const W_WORDING: f32 = 0.4;
pub const W_TAGS: f32 = 0.3;
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

/// What related notes are found for.
pub struct Source {
    /// The note itself, when the source is a note (excluded from results; its links and
    /// tags count).
    pub note: Option<u32>,
    /// (section heading, unit vector) of each chunk.
    pub chunks: Vec<(String, Vec<f32>)>,
    /// Text for "more like this".
    pub text: String,
    pub tags: Vec<String>,
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

/// The link graph by note ordinal.
pub struct Graph {
    pub out: Vec<HashSet<u32>>,
    pub inc: Vec<HashSet<u32>>,
}

impl Graph {
    pub fn new(notes: &Notes) -> Graph {
        let ords: HashMap<&str, u32> = notes.iter().map(|(i, n)| (n.note.id.as_str(), i)).collect();
        let mut out = vec![HashSet::new(); notes.slots()];
        let mut inc = vec![HashSet::new(); notes.slots()];
        for (i, n) in notes.iter() {
            for l in &n.note.links {
                if let Some(&t) = l.resolved.as_ref().and_then(|r| ords.get(r.as_str())) {
                    if t != i {
                        out[i as usize].insert(t);
                        inc[t as usize].insert(i);
                    }
                }
            }
        }
        Graph { out, inc }
    }

    fn neighbours(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        self.out[n as usize].iter().chain(&self.inc[n as usize]).copied()
    }

    fn degree(&self, n: u32) -> usize {
        self.out[n as usize].len() + self.inc[n as usize].len()
    }
}

fn centroid(vectors: impl Iterator<Item = impl AsRef<[f32]>>, dim: usize) -> Vec<f32> {
    let mut c = vec![0.0; dim];
    for v in vectors {
        c.iter_mut().zip(v.as_ref()).for_each(|(a, b)| *a += b);
    }
    let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        c.iter_mut().for_each(|x| *x /= norm);
    }
    c
}

impl Source {
    /// A note of the index, with its stored vectors.
    pub fn note(snap: &Snapshot, ord: u32) -> Result<Source> {
        let notes = snap.notes()?;
        let n = &note_at(notes, ord)?.note;
        let mut chunks = Vec::new();
        if let Some(vectors) = snap.vectors()? {
            for &i in &vectors.by_note(notes.slots())[ord as usize] {
                let section = vectors.vectors.entries[i].section as usize;
                chunks.push((reason_heading(n, section), vectors.vectors.vector(i).to_vec()));
            }
        }
        Ok(Source {
            note: Some(ord),
            chunks,
            text: n.full_text(),
            tags: n.tags.clone(),
        })
    }

    /// A note as if it had no links: link text removed from its text and (with `embed`) its
    /// sections embedded again, so that neither wording nor meaning can see where it links.
    pub fn note_without_links(snap: &Snapshot, ord: u32, embed: bool) -> Result<Source> {
        let n = &note_at(snap.notes()?, ord)?.note;
        let mut stripped = n.clone();
        let link_words: Vec<String> = n
            .links
            .iter()
            .flat_map(|l| [Some(l.raw.clone()), Some(l.target.clone()), l.alias.clone()])
            .flatten()
            .filter(|w| !w.is_empty())
            .collect();
        for s in &mut stripped.sections {
            for w in &link_words {
                s.text = s.text.replace(w.as_str(), " ");
            }
        }
        if !embed {
            return Ok(Source {
                note: Some(ord),
                chunks: Vec::new(),
                text: stripped.full_text(),
                tags: n.tags.clone(),
            });
        }
        let chunks = snap.with_embedder(|e| {
            let chunks: Vec<(String, String)> = stripped
                .sections
                .iter()
                .enumerate()
                .filter(|(_, s)| !stripped.is_tag_list(s))
                .flat_map(|(i, s)| e.chunks(&stripped, i as u32, s))
                .map(|c| (reason_heading(&stripped, c.section as usize), c.text))
                .collect();
            let texts: Vec<String> = chunks.iter().map(|(_, t)| t.clone()).collect();
            let vectors = e.embed(&texts)?;
            Ok(chunks.into_iter().map(|(h, _)| h).zip(vectors).collect())
        })?;
        Ok(Source {
            note: Some(ord),
            chunks,
            text: stripped.full_text(),
            tags: n.tags.clone(),
        })
    }

    /// A piece of text.
    pub fn text(snap: &Snapshot, text: &str) -> Result<Source> {
        let chunks = match snap.vectors()? {
            Some(_) => vec![(String::new(), snap.embed_query(text)?)],
            None => Vec::new(),
        };
        Ok(Source {
            note: None,
            chunks,
            text: text.to_string(),
            tags: Vec::new(),
        })
    }
}

/// The notes most related to `source`, best first.
pub fn related(snap: &Snapshot, source: &Source, options: &RelatedOptions) -> Result<Vec<Related>> {
    let notes = snap.notes()?;
    let graph = Graph::new(notes);
    let vectors = snap.vectors()?;
    let use_links = !options.content_only && !options.wording_only;
    let mut candidates: HashSet<u32> = HashSet::new();

    // Wording: more like this.
    let MoreLikeThis {
        by_note: mlt,
        terms: mlt_terms,
    } = more_like_this(snap, &source.text)?;
    candidates.extend(mlt.keys());

    // Meaning: nearest sections and nearest centroids.
    let ranges = vectors.map(|v| v.by_note(notes.slots()));
    let mut centroids: Vec<Vec<f32>> = Vec::new();
    let source_centroid = centroid(
        source.chunks.iter().map(|(_, v)| v),
        vectors.map(|v| v.vectors.dim).unwrap_or(0),
    );
    if let (Some(vectors), Some(ranges), false) = (vectors, &ranges, options.wording_only) {
        for (_, v) in &source.chunks {
            for (id, _) in vectors.search(v, 20, None) {
                candidates.insert(vectors.vectors.entries[id].note_ord);
            }
        }
        centroids = ranges
            .iter()
            .map(|r| centroid(r.iter().map(|&i| vectors.vectors.vector(i)), vectors.vectors.dim))
            .collect();
        // Notes without vectors have an all-zero centroid: not candidates.
        let mut by_centroid: Vec<(u32, f32)> = centroids
            .iter()
            .enumerate()
            .filter(|(_, c)| c.iter().any(|x| *x != 0.0))
            .map(|(i, c)| (i as u32, dot(c, &source_centroid)))
            .collect();
        by_centroid.sort_by(|a, b| b.1.total_cmp(&a.1));
        candidates.extend(by_centroid.iter().take(CANDIDATES).map(|(i, _)| *i));
    }

    // Tags: sharers of the source's tags, weighted by rarity.
    let tag_idf = tag_idf(notes);
    let source_tag_weight: f32 = source
        .tags
        .iter()
        .map(|t| tag_idf.get(t).copied().unwrap_or(0.0))
        .sum();
    if !options.wording_only && source_tag_weight > 0.0 {
        let mut sharers: Vec<(u32, f32)> = notes
            .iter()
            .map(|(i, n)| {
                let w: f32 = n
                    .note
                    .tags
                    .iter()
                    .filter(|t| source.tags.contains(t))
                    .map(|t| tag_idf[t])
                    .sum();
                (i, w)
            })
            .filter(|(_, w)| *w > 0.0)
            .collect();
        sharers.sort_by(|a, b| b.1.total_cmp(&a.1));
        candidates.extend(sharers.iter().take(CANDIDATES).map(|(i, _)| *i));
    }

    // Links: one and two hops.
    if let (Some(src), true) = (source.note, use_links) {
        for n in graph.neighbours(src).collect::<Vec<_>>() {
            candidates.insert(n);
            candidates.extend(graph.neighbours(n));
        }
    }
    if let Some(src) = source.note {
        candidates.remove(&src);
    }
    if options.unlinked {
        if let Some(src) = source.note {
            candidates
                .retain(|c| !graph.out[src as usize].contains(c) && !graph.inc[src as usize].contains(c));
        }
    }

    let max_mlt = mlt.values().copied().fold(0.0f32, f32::max);
    let mut scored: Vec<(NoteScore, Evidence, Vec<Reason>)> = Vec::with_capacity(candidates.len());
    for c in candidates {
        let Some(note) = notes.get(c).map(|n| &n.note) else {
            continue;
        };
        let mut reasons = Vec::new();
        let mut ev = Evidence::default();
        let mut weak_wording = None;
        // Meaning.
        if let (Some(vectors), Some(ranges), false) = (vectors, &ranges, options.wording_only) {
            // The best pair overall is the evidence; the best pair of sections that can be
            // named (not link lists) is the reason.
            let mut best: Option<f32> = None;
            let mut named: Option<(f32, &str, String)> = None;
            for (heading, v) in &source.chunks {
                for &i in &ranges[c as usize] {
                    let sim = dot(v, vectors.vectors.vector(i));
                    best = Some(best.map_or(sim, |b: f32| b.max(sim)));
                    let to = reason_heading(note, vectors.vectors.entries[i].section as usize);
                    if !heading.is_empty() && !to.is_empty() && named.as_ref().is_none_or(|n| sim > n.0) {
                        named = Some((sim, heading, to));
                    }
                }
            }
            if let Some(sim) = best {
                let whole = centroids
                    .get(c as usize)
                    .map(|cc| dot(cc, &source_centroid))
                    .unwrap_or(sim);
                ev.meaning = (0.5 * (sim + whole)).clamp(0.0, 1.0);
            }
            if let Some((_, from, to)) = named.filter(|n| n.0 >= 0.5) {
                reasons.push(Reason::SimilarSection {
                    from: from.to_string(),
                    to,
                });
            }
        }
        // Wording.
        if let Some(s) = mlt.get(&c) {
            ev.wording = if max_mlt > 0.0 { s / max_mlt } else { 0.0 };
            let own: HashSet<String> = snap
                .lexical()
                .analysis()
                .analyze(&note.full_text())
                .into_iter()
                .collect();
            let shared: Vec<String> = mlt_terms
                .iter()
                .filter(|(t, _)| own.contains(t))
                .take(5)
                .map(|(_, s)| s.clone())
                .collect();
            if !shared.is_empty() {
                weak_wording = Some(shared);
            }
        }
        // Tags.
        if !options.wording_only && source_tag_weight > 0.0 {
            let shared: Vec<String> = note
                .tags
                .iter()
                .filter(|t| source.tags.contains(t))
                .cloned()
                .collect();
            if !shared.is_empty() {
                ev.tags = shared.iter().map(|t| tag_idf[t]).sum::<f32>() / source_tag_weight;
                reasons.push(Reason::SharedTags(shared));
            }
        }
        // Links.
        if let (Some(src), true) = (source.note, use_links) {
            let (s, cu) = (src as usize, c);
            if graph.out[s].contains(&cu) {
                ev.links = 1.0;
                reasons.insert(0, Reason::LinksTo);
            }
            if graph.inc[s].contains(&cu) {
                ev.links = 1.0;
                reasons.insert(0, Reason::LinkedFrom);
            }
            if ev.links == 0.0 {
                let via: Vec<u32> = graph
                    .neighbours(src)
                    .filter(|n| graph.neighbours(*n).any(|x| x == c))
                    .collect();
                if !via.is_empty() {
                    ev.links = via
                        .iter()
                        .map(|v| 1.0 / (1.0 + (graph.degree(*v) as f32).ln()))
                        .sum::<f32>()
                        .min(1.0)
                        * 0.5;
                    let hub = via
                        .iter()
                        .min_by_key(|v| graph.degree(**v))
                        .copied()
                        .unwrap_or(via[0]);
                    let hub = notes.get(hub).map(|n| n.note.id.to_string()).unwrap_or_default();
                    reasons.push(Reason::TwoHops(hub));
                }
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
        let score = if options.wording_only {
            ev.wording
        } else {
            W_MEANING * ev.meaning + W_WORDING * ev.wording + W_TAGS * ev.tags + W_LINK * ev.links
        };
        if score > 0.0 {
            scored.push((NoteScore::new(c, score, Vec::new()), ev, reasons));
        }
    }
    let priors: HashMap<u32, (Evidence, Vec<Reason>)> = scored
        .iter()
        .map(|(n, e, r)| (n.note_ord, (*e, r.clone())))
        .collect();
    let mut ranked: Vec<NoteScore> = scored.into_iter().map(|(n, _, _)| n).collect();
    rank::apply_priors(
        &mut ranked,
        |ord| rank::Prior {
            strength: notes.get(ord).and_then(|n| n.note.meta.strength),
            updated: None,
        },
        options.strength_weight,
        None,
    );
    // A stale index must not offer a deleted note.
    let vault = &snap.generation.manifest.vault;
    ranked.retain(|n| {
        notes
            .get(n.note_ord)
            .is_some_and(|l| vault.join(&l.relative).is_file())
    });
    ranked.truncate(options.limit);
    Ok(ranked
        .into_iter()
        .map(|n| {
            let note = &notes.get(n.note_ord).expect("ranked notes are live").note;
            let (evidence, reasons) = priors[&n.note_ord].clone();
            Related {
                note: note.id.to_string(),
                title: note.title.clone(),
                score: n.score,
                strength: note.meta.strength,
                reasons,
                evidence,
            }
        })
        .collect())
}

/// A section's heading as a reason can name it: empty for link lists (alike everywhere)
/// and text before the first heading.
fn reason_heading(note: &crate::note::Note, section: usize) -> String {
    match note.sections.get(section) {
        Some(s) if !note.is_link_list(s) => s.heading().to_string(),
        _ => String::new(),
    }
}

/// idf of each tag over notes: rare tags say more.
fn tag_idf(notes: &Notes) -> HashMap<String, f32> {
    let mut df: HashMap<&str, usize> = HashMap::new();
    for (_, n) in notes.iter() {
        for t in &n.note.tags {
            *df.entry(t).or_default() += 1;
        }
    }
    let total = notes.len().max(1) as f32;
    df.into_iter()
        .map(|(t, d)| (t.to_string(), (1.0 + total / d as f32).ln()))
        .collect()
}

/// The result of "more like this".
struct MoreLikeThis {
    /// Best section BM25 of each note.
    by_note: HashMap<u32, f32>,
    /// (index term, word as written), most distinctive first.
    terms: Vec<(String, String)>,
}

/// BM25 of the source's most distinctive terms, rolled up to notes.
fn more_like_this(snap: &Snapshot, text: &str) -> Result<MoreLikeThis> {
    let lexical = snap.lexical();
    let total = lexical.num_sections().max(1) as f32;
    let mut tf: HashMap<String, (f32, String)> = HashMap::new();
    for (term, surface) in lexical.analysis().content_terms(text) {
        if term.len() > 2 && !term.chars().all(|c| c.is_ascii_digit()) {
            tf.entry(term).or_insert((0.0, surface)).0 += 1.0;
        }
    }
    let mut weighted: Vec<(String, String, f32)> = tf
        .into_iter()
        .filter_map(|(t, (f, surface))| {
            let df = lexical.doc_freq(&t) as f32;
            // Terms in (almost) every section, or in none, tell nothing.
            (df > 0.0 && df < total * 0.5).then(|| {
                let idf = (total / df).ln();
                (t, surface, (1.0 + f.ln()) * idf)
            })
        })
        .collect();
    weighted.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    weighted.truncate(MLT_TERMS);
    let Some(max) = weighted.first().map(|w| w.2) else {
        return Ok(MoreLikeThis {
            by_note: HashMap::new(),
            terms: Vec::new(),
        });
    };
    let boosts: Vec<(String, f32)> = weighted.iter().map(|(t, _, w)| (t.clone(), w / max)).collect();
    let hits = lexical.search_terms(&boosts, CANDIDATES * 3)?;
    let mut by_note: HashMap<u32, f32> = HashMap::new();
    for h in hits {
        let e = by_note.entry(h.note_ord).or_default();
        *e = e.max(h.score);
    }
    Ok(MoreLikeThis {
        by_note,
        terms: weighted.into_iter().map(|(t, surface, _)| (t, surface)).collect(),
    })
}

/// The live note at `ord`.
fn note_at(notes: &Notes, ord: u32) -> Result<&crate::vault::LoadedNote> {
    notes
        .get(ord)
        .ok_or_else(|| Error::Usage(format!("no note with ordinal {ord}")))
}
