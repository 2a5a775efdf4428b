//! "Find related memories": the notes that belong with a given note (or piece of text).
//!
//! Four kinds of evidence, each a score in [0, 1] for every candidate note, combined by a
//! weighted sum (wording first scaled to the spread of meaning, see [`wording_scale`]) and
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

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::embed::dot;
use crate::error::{Error, Result};
use crate::rank::{self, NoteScore};
use crate::snapshot::Snapshot;
use crate::vector::quant;

/// Weights of the evidence kinds, in units of similarity of meaning. Wording (after
/// [`wording_scale`]) and tags were tuned on the links of dendron-site and logseq-docs, and
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

/// The part of the link graph "related" looks at: the source's links both ways, and the
/// neighbours of each of its neighbours (for two hops), read from the note store.
struct Links {
    out: HashSet<u32>,
    inc: HashSet<u32>,
    /// Neighbour → its own neighbours (either way).
    around: HashMap<u32, HashSet<u32>>,
}

impl Links {
    fn of(snap: &Snapshot, src: u32) -> Result<Links> {
        let notes = snap.notes();
        let neighbours = |n: u32| -> Result<HashSet<u32>> {
            let mut all: HashSet<u32> = notes.links(n)?.into_iter().collect();
            all.extend(notes.backlinks(n)?);
            all.remove(&n);
            Ok(all)
        };
        let out: HashSet<u32> = notes.links(src)?.into_iter().filter(|&n| n != src).collect();
        let inc: HashSet<u32> = notes.backlinks(src)?.into_iter().filter(|&n| n != src).collect();
        let mut around = HashMap::new();
        for &n in out.union(&inc) {
            around.insert(n, neighbours(n)?);
        }
        Ok(Links { out, inc, around })
    }

    fn neighbours(&self) -> impl Iterator<Item = u32> + '_ {
        self.out.union(&self.inc).copied()
    }

    fn degree(&self, n: u32) -> usize {
        self.around.get(&n).map_or(0, HashSet::len)
    }
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
        let n = &note_with_text(snap, ord)?;
        let mut chunks = Vec::new();
        if let Some(vectors) = snap.vectors()? {
            for &i in vectors.of_note(ord) {
                let section = vectors.entry(i as usize).section as usize;
                chunks.push((reason_heading(n, section), vectors.vector(i as usize)));
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
        let n = &note_with_text(snap, ord)?;
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
    let notes = snap.notes();
    let vectors = snap.vectors()?;
    let use_links = !options.content_only && !options.wording_only;
    let links = match (source.note, use_links || options.unlinked) {
        (Some(src), true) => Some(Links::of(snap, src)?),
        _ => None,
    };
    let mut candidates: HashSet<u32> = HashSet::new();

    // Wording: more like this.
    let MoreLikeThis {
        by_note: mlt,
        terms: mlt_terms,
    } = more_like_this(snap, &source.text)?;
    candidates.extend(mlt.keys());

    // Meaning: nearest sections and nearest centroids.
    let mut centroids: &[Option<Vec<f32>>] = &[];
    let source_centroid = centroid(
        source.chunks.iter().map(|(_, v)| v),
        vectors.map(|v| v.dim()).unwrap_or(0),
    );
    if let (Some(vectors), false) = (vectors, options.wording_only) {
        for (_, v) in &source.chunks {
            for (id, _) in vectors.search(v, 20, None) {
                candidates.insert(vectors.entry(id).note_ord);
            }
        }
        centroids = snap.centroids()?;
        // Notes without vectors have no centroid: not candidates.
        let mut by_centroid: Vec<(u32, f32)> = centroids
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i as u32, dot(c, &source_centroid))))
            .collect();
        by_centroid.sort_by(|a, b| b.1.total_cmp(&a.1));
        candidates.extend(by_centroid.iter().take(CANDIDATES).map(|(i, _)| *i));
    }

    // Tags: sharers of the source's tags, weighted by rarity (idf over notes).
    let total = notes.count().max(1) as f32;
    let tag_idf: HashMap<&String, f32> = source
        .tags
        .iter()
        .map(|t| (t, (1.0 + total / notes.tag_count(t).max(1) as f32).ln()))
        .collect();
    let source_tag_weight: f32 = tag_idf.values().sum();
    if !options.wording_only && source_tag_weight > 0.0 {
        let mut sharers: HashMap<u32, f32> = HashMap::new();
        for (t, idf) in &tag_idf {
            for ord in notes.with_tag(t)? {
                *sharers.entry(ord).or_default() += idf;
            }
        }
        let mut sharers: Vec<(u32, f32)> = sharers.into_iter().collect();
        sharers.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        candidates.extend(sharers.iter().take(CANDIDATES).map(|(i, _)| *i));
    }

    // Links: one and two hops.
    if let (Some(links), true) = (&links, use_links) {
        for n in links.neighbours() {
            candidates.insert(n);
            candidates.extend(links.around.get(&n).into_iter().flatten());
        }
    }
    if let Some(src) = source.note {
        candidates.remove(&src);
    }
    if let (Some(links), true) = (&links, options.unlinked) {
        candidates.retain(|c| !links.out.contains(c) && !links.inc.contains(c));
    }
    let records: HashMap<u32, crate::vault::LoadedNote> = candidates
        .iter()
        .filter_map(|&c| notes.record(c).transpose().map(|r| r.map(|r| (c, r))))
        .collect::<Result<_, _>>()?;
    let term_list: Vec<String> = mlt_terms.iter().map(|(t, _)| t.clone()).collect();
    let candidate_set: rustc_hash::FxHashSet<u32> = records.keys().copied().collect();
    let terms_in = notes.terms_in(&term_list, &candidate_set)?;

    let max_mlt = mlt.values().copied().fold(0.0f32, f32::max);
    let mut scored: Vec<(NoteScore, Evidence, Vec<Reason>)> = Vec::with_capacity(candidates.len());
    for (&c, record) in &records {
        let note = &record.note;
        let mut reasons = Vec::new();
        let mut ev = Evidence::default();
        let mut weak_wording = None;
        // Meaning.
        if let (Some(vectors), false) = (vectors, options.wording_only) {
            // The best pair overall is the evidence; the best pair of sections that can be
            // named (not link lists) is the reason.
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
            if let Some(sim) = best {
                let whole = centroids
                    .get(c as usize)
                    .and_then(Option::as_ref)
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
            let shared: Vec<String> = terms_in
                .get(&c)
                .into_iter()
                .flatten()
                .take(5)
                .map(|&i| mlt_terms[i].1.clone())
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
                ev.tags = shared.iter().filter_map(|t| tag_idf.get(t)).sum::<f32>() / source_tag_weight;
                reasons.push(Reason::SharedTags(shared));
            }
        }
        // Links.
        if let (Some(links), true) = (&links, use_links) {
            if links.out.contains(&c) {
                ev.links = 1.0;
                reasons.insert(0, Reason::LinksTo);
            }
            if links.inc.contains(&c) {
                ev.links = 1.0;
                reasons.insert(0, Reason::LinkedFrom);
            }
            if ev.links == 0.0 {
                let mut via: Vec<u32> = links
                    .neighbours()
                    .filter(|n| links.around.get(n).is_some_and(|a| a.contains(&c)))
                    .collect();
                via.sort_unstable();
                if !via.is_empty() {
                    ev.links = via
                        .iter()
                        .map(|v| 1.0 / (1.0 + (links.degree(*v) as f32).ln()))
                        .sum::<f32>()
                        .min(1.0)
                        * 0.5;
                    let hub = via
                        .iter()
                        .min_by_key(|v| links.degree(**v))
                        .copied()
                        .unwrap_or(via[0]);
                    reasons.push(Reason::TwoHops(snap.id(hub)?));
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
        scored.push((NoteScore::new(c, 0.0, Vec::new()), ev, reasons));
    }
    let w_wording = W_WORDING * wording_scale(scored.iter().map(|(_, e, _)| e));
    for (n, ev, _) in &mut scored {
        n.score = match options.wording_only {
            true => ev.wording,
            false => W_MEANING * ev.meaning + w_wording * ev.wording + W_TAGS * ev.tags + W_LINK * ev.links,
        };
    }
    scored.retain(|(n, _, _)| n.score > 0.0);
    let priors: HashMap<u32, (Evidence, Vec<Reason>)> = scored
        .iter()
        .map(|(n, e, r)| (n.note_ord, (*e, r.clone())))
        .collect();
    let mut ranked: Vec<NoteScore> = scored.into_iter().map(|(n, _, _)| n).collect();
    rank::apply_priors(
        &mut ranked,
        |ord| crate::record::Prior {
            strength: records.get(&ord).and_then(|n| n.note.meta.strength),
            updated: None,
        },
        options.strength_weight,
        None,
    );
    // A stale index must not offer a deleted note.
    let vault = &snap.generation.manifest.vault;
    ranked.retain(|n| {
        records
            .get(&n.note_ord)
            .is_some_and(|l| vault.join(&l.relative).is_file())
    });
    ranked.truncate(options.limit);
    Ok(ranked
        .into_iter()
        .map(|n| {
            let note = &records[&n.note_ord].note;
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

/// Note `ord` with the text of its sections, read from its file now (the index keeps
/// no note text); as indexed, without text, if the file cannot be read.
fn note_with_text(snap: &Snapshot, ord: u32) -> Result<crate::note::Note> {
    let record = snap
        .notes()
        .record(ord)?
        .ok_or_else(|| Error::Internal(format!("the index has no note with ordinal {ord}")))?;
    let path = snap.generation.manifest.vault.join(&record.relative);
    Ok(match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut note = crate::note::Note::parse(record.note.id.clone(), &text);
            // Links resolve as the index resolved them.
            note.links = record.note.links;
            note
        }
        Err(_) => record.note,
    })
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
}
