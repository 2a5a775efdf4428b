//! Link resolution, the way Obsidian does it: exact id first (case-insensitive), then a
//! unique note whose path ends with the target, then a unique note with that file name.
//! It needs every note id at once, so it runs after parsing.

use std::collections::{HashMap, HashSet};

use crate::note::{strip_md_suffix, NoteId};

/// Lookup tables from link text to note ids.
pub struct Resolver {
    exact: HashMap<String, NoteId>,
    /// Lower-cased file stem → ids with that stem.
    stems: HashMap<String, Vec<NoteId>>,
}

impl Resolver {
    pub fn new<'a>(ids: impl Iterator<Item = &'a NoteId>) -> Resolver {
        Resolver::of(ids.map(NoteId::as_str), |_, _| true)
    }

    /// A resolver that answers only `targets` (the same as a full one for them): an
    /// update resolves the links of the few notes it writes, and a full table of every
    /// note would cost it time in proportion to the vault.
    pub fn for_targets<'a>(
        ids: impl Iterator<Item = &'a str>,
        targets: impl Iterator<Item = &'a str>,
    ) -> Resolver {
        let mut exact: HashSet<String> = HashSet::new();
        let mut stems: HashSet<String> = HashSet::new();
        for t in targets.filter_map(Resolver::key) {
            stems.insert(t.rsplit('/').next().unwrap_or(&t).to_string());
            exact.insert(t);
        }
        Resolver::of(ids, |id, stem| exact.contains(id) || stems.contains(stem))
    }

    /// The tables of the ids that `keep(lower-cased id, lower-cased stem)`; an id that is
    /// not kept costs no allocation.
    fn of<'a>(ids: impl Iterator<Item = &'a str>, keep: impl Fn(&str, &str) -> bool) -> Resolver {
        let mut exact = HashMap::new();
        let mut stems: HashMap<String, Vec<NoteId>> = HashMap::new();
        let mut lower = String::new();
        for id in ids {
            // As `str::to_lowercase` (which a final sigma makes differ from lowering each
            // char), in place for the common ASCII id.
            if id.is_ascii() {
                lower.clear();
                lower.push_str(id);
                lower.make_ascii_lowercase();
            } else {
                lower = id.to_lowercase();
            }
            let stem = lower.rsplit('/').next().unwrap_or(&lower);
            if !keep(&lower, stem) {
                continue;
            }
            let id = NoteId(id.to_string());
            stems.entry(stem.to_string()).or_default().push(id.clone());
            exact.insert(lower.clone(), id);
        }
        Resolver { exact, stems }
    }

    /// A link target as the tables know it: no `./` or leading `/`, no `.md`, lower case.
    fn key(target: &str) -> Option<String> {
        let t = target.trim().trim_start_matches("./").trim_start_matches('/');
        let t = strip_md_suffix(t).unwrap_or(t).to_lowercase();
        (!t.is_empty()).then_some(t)
    }

    pub fn resolve(&self, target: &str) -> Option<NoteId> {
        let t = Resolver::key(target)?;
        if let Some(id) = self.exact.get(&t) {
            return Some(id.clone());
        }
        let stem = t.rsplit('/').next().unwrap_or(&t);
        let candidates = self.stems.get(stem)?;
        let suffix = format!("/{t}");
        let matching: Vec<&NoteId> = if t.contains('/') {
            candidates
                .iter()
                .filter(|c| c.as_str().to_lowercase().ends_with(&suffix))
                .collect()
        } else {
            candidates.iter().collect()
        };
        match matching.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        }
    }
}

/// Note ids close to `wanted`, for "did you mean".
pub fn suggestions<'a>(wanted: &str, ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = ids
        .map(|id| {
            let l = id.to_lowercase();
            // A typo anywhere, or a typo in a prefix of the id (`topics/sourdogh`).
            let prefix: String = l.chars().take(w.chars().count()).collect();
            let d = if l.contains(&w) || w.contains(l.rsplit('/').next().unwrap_or(&l)) {
                0
            } else {
                crate::analysis::edit_distance(&w, &l).min(crate::analysis::edit_distance(&w, &prefix) + 1)
            };
            (d, id)
        })
        .filter(|(d, _)| *d <= w.len().max(4) / 2)
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, id)| id.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<NoteId> {
        list.iter().map(|s| NoteId(s.to_string())).collect()
    }

    #[test]
    fn resolution_order() {
        let all = ids(&[
            "topics/python",
            "people/alex_chen",
            "a/dup",
            "b/dup",
            "Notes/Case",
        ]);
        let r = Resolver::new(all.iter());
        assert_eq!(r.resolve("topics/python").unwrap().as_str(), "topics/python");
        assert_eq!(r.resolve("alex_chen").unwrap().as_str(), "people/alex_chen");
        assert_eq!(r.resolve("ALEX_CHEN.md").unwrap().as_str(), "people/alex_chen");
        assert_eq!(r.resolve("notes/case").unwrap().as_str(), "Notes/Case");
        assert_eq!(r.resolve("dup"), None, "ambiguous file names stay unresolved");
        assert_eq!(r.resolve("b/dup").unwrap().as_str(), "b/dup");
        assert_eq!(r.resolve("missing"), None);
        // A resolver for a few targets answers them as the full one does.
        let targets = ["alex_chen", "./Notes/Case.md", "dup", "b/dup", "missing", ""];
        let few = Resolver::for_targets(all.iter().map(NoteId::as_str), targets.into_iter());
        for t in targets {
            assert_eq!(few.resolve(t), r.resolve(t), "{t}");
        }
        assert_eq!(few.exact.len(), 4, "only the ids the targets can mean");
    }
}
