//! Link evidence: a direct link either way, or a neighbour shared two hops away.

use std::collections::{HashMap, HashSet};

use super::Reason;
use crate::error::Result;
use crate::snapshot::Snapshot;

/// The part of the link graph "related" looks at: the source's links both ways, and the
/// neighbours of each of its neighbours (for two hops), read from the note store.
pub(super) struct Links {
    pub out: HashSet<u32>,
    pub inc: HashSet<u32>,
    /// Neighbour → its own neighbours (either way).
    pub around: HashMap<u32, HashSet<u32>>,
}

impl Links {
    pub(super) fn of(snap: &Snapshot, src: u32) -> Result<Links> {
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

    pub(super) fn neighbours(&self) -> impl Iterator<Item = u32> + '_ {
        self.out.union(&self.inc).copied()
    }

    fn degree(&self, n: u32) -> usize {
        self.around.get(&n).map_or(0, HashSet::len)
    }

    /// Links evidence for candidate `c`: 1 for a direct link either way (the reasons,
    /// "linked from" first); else half the summed weight of the neighbours it shares, a
    /// neighbour counting less the more notes it links (a hub links everything), with the
    /// least-linked one named.
    pub(super) fn evidence(&self, c: u32) -> (f32, Vec<Reason>, Option<u32>) {
        let mut reasons = Vec::new();
        if self.inc.contains(&c) {
            reasons.push(Reason::LinkedFrom);
        }
        if self.out.contains(&c) {
            reasons.push(Reason::LinksTo);
        }
        if !reasons.is_empty() {
            return (1.0, reasons, None);
        }
        let mut via: Vec<u32> = self
            .neighbours()
            .filter(|n| self.around.get(n).is_some_and(|a| a.contains(&c)))
            .collect();
        via.sort_unstable();
        let Some(&first) = via.first() else {
            return (0.0, reasons, None);
        };
        let score = via
            .iter()
            .map(|v| 1.0 / (1.0 + (self.degree(*v) as f32).ln()))
            .sum::<f32>()
            .min(1.0)
            * 0.5;
        let hub = via
            .iter()
            .min_by_key(|v| self.degree(**v))
            .copied()
            .unwrap_or(first);
        (score, reasons, Some(hub))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_link_is_whole_evidence_and_a_shared_hub_counts_little() {
        // Source links to 1 and is linked from 2; 1 also links 10; 2 (a hub) links 10, 11
        // and many more.
        let mut around = HashMap::new();
        around.insert(1, HashSet::from([10]));
        around.insert(2, (10..40).collect::<HashSet<u32>>());
        let links = Links {
            out: HashSet::from([1]),
            inc: HashSet::from([2, 1]),
            around,
        };
        let (score, reasons, hub) = links.evidence(1);
        assert_eq!((score, hub), (1.0, None));
        assert_eq!(reasons, [Reason::LinkedFrom, Reason::LinksTo]);
        // Two hops via 1 (one other neighbour) and the hub 2: named after the smaller.
        let (via_both, reasons, hub) = links.evidence(10);
        assert!(reasons.is_empty());
        assert_eq!(hub, Some(1));
        // Only via the hub: less.
        let (via_hub, _, hub) = links.evidence(11);
        assert_eq!(hub, Some(2));
        assert!(
            0.0 < via_hub && via_hub < via_both && via_both <= 0.5,
            "{via_hub} {via_both}"
        );
        assert_eq!(links.evidence(99), (0.0, Vec::new(), None));
    }
}
