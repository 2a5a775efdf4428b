//! How close a new memory is to the notes a vault already holds, before it is written.
//!
//! Two absolute measures, each in [0, 1], for the few notes that could hold it (the
//! nearest sections by meaning and the best "more like this" matches):
//!
//! - **meaning**: the best cosine between the new text and one of the note's sections;
//! - **words**: containment, the share of the new text's word triples (three words in a
//!   row; a Chinese, Japanese or Korean character counts as a word) that the note also
//!   holds. A copy, or a part of a note restated, is near 1; another note on the same
//!   subject shares phrases, not most of them.
//!
//! Unlike the evidence of `related`, which is relative to the best candidate, these can be
//! compared with fixed thresholds (measured on real vaults: `benches/duplicates.sh`).

use std::collections::{HashMap, HashSet};

use super::wording::more_like_this;
use crate::error::Result;
use crate::snapshot::Snapshot;
use crate::vector::quant;

/// Notes looked at: the nearest sections' notes and the best wording matches, each.
const CANDIDATES: usize = 20;

/// An existing note and how close a new text is to it.
#[derive(Debug, Clone)]
pub struct Closeness {
    pub note: String,
    pub title: String,
    pub meaning: f32,
    pub words: f32,
}

/// The notes closest to `text`, closest first (by the larger of the two measures).
pub fn closest(snap: &Snapshot, text: &str, k: usize) -> Result<Vec<Closeness>> {
    let mut meaning: HashMap<u32, f32> = HashMap::new();
    let query = match snap.vectors()? {
        Some(vectors) => {
            let q = snap.embed_query(text)?;
            for (id, sim) in vectors.search(&q, CANDIDATES * 3, None) {
                let best = meaning.entry(vectors.entry(id).note_ord).or_insert(sim);
                *best = best.max(sim);
            }
            Some((vectors, q))
        }
        None => None,
    };
    let mut wording: Vec<(u32, f32)> = more_like_this(snap, text)?.by_note.into_iter().collect();
    wording.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut ords: Vec<u32> = meaning.keys().copied().collect();
    ords.sort_by(|a, b| meaning[b].total_cmp(&meaning[a]).then(a.cmp(b)));
    ords.truncate(CANDIDATES);
    ords.extend(wording.iter().take(CANDIDATES).map(|(ord, _)| *ord));
    let mine = triples(text);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for ord in ords {
        if !seen.insert(ord) {
            continue;
        }
        let Some(n) = snap.notes().record(ord)? else {
            continue;
        };
        let Ok(theirs) = snap.note_text(&n) else {
            continue; // deleted since indexing
        };
        let m = match (&query, meaning.get(&ord)) {
            (_, Some(sim)) => *sim,
            (Some((vectors, q)), None) => vectors
                .of_note(ord)
                .iter()
                .map(|&i| quant::dot_query(q, vectors.row(i as usize)))
                .fold(0.0, f32::max),
            (None, None) => 0.0,
        };
        out.push(Closeness {
            note: n.note.id.to_string(),
            title: n.note.title.clone(),
            meaning: m.clamp(0.0, 1.0),
            words: containment(&mine, &triples(&theirs)),
        });
    }
    out.sort_by(|a, b| {
        b.meaning
            .max(b.words)
            .total_cmp(&a.meaning.max(a.words))
            .then_with(|| a.note.cmp(&b.note))
    });
    out.truncate(k);
    Ok(out)
}

/// The text's word triples, lower-cased (a text of fewer than three words: its words).
fn triples(text: &str) -> HashSet<String> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if crate::analysis::is_cjk(c) {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            words.push(c.to_string());
        } else if c.is_alphanumeric() {
            word.push(c);
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    match words.len() {
        0..=2 => words.into_iter().collect(),
        _ => words.windows(3).map(|w| w.join(" ")).collect(),
    }
}

/// The share of `mine` that `theirs` holds.
fn containment(mine: &HashSet<String>, theirs: &HashSet<String>) -> f32 {
    match mine.len() {
        0 => 0.0,
        n => mine.intersection(theirs).count() as f32 / n as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restated_part_is_contained_and_a_neighbour_is_not() {
        let note = "Levain at 1:5:5 peaks in about eight hours. Use it at its peak for an open crumb. \
                    Keep the starter in the fridge between bakes.";
        let part = triples("Use it at its peak, for an open crumb!");
        assert_eq!(containment(&part, &triples(note)), 1.0);
        let neighbour =
            triples("A stiff levain ferments slowly and gives a tangier loaf with a tight crumb.");
        assert!(containment(&neighbour, &triples(note)) < 0.1);
        assert_eq!(
            containment(&triples("静夜思"), &triples("李白 静夜思 床前明月光")),
            1.0
        );
        assert_eq!(containment(&HashSet::new(), &triples(note)), 0.0);
    }
}
