//! Wording evidence: lexical "more like this". The source's most distinctive terms
//! (highest tf·idf) are searched with BM25 and rolled up to notes.

use std::collections::HashMap;

use super::{CANDIDATES, MLT_TERMS};
use crate::error::Result;
use crate::snapshot::Snapshot;

/// The result of "more like this".
pub(super) struct MoreLikeThis {
    /// Best section BM25 of each note.
    pub by_note: HashMap<u32, f32>,
    /// (index term, word as written), most distinctive first.
    pub terms: Vec<(String, String)>,
}

/// BM25 of the source's most distinctive terms, rolled up to notes.
pub(super) fn more_like_this(snap: &Snapshot, text: &str) -> Result<MoreLikeThis> {
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
