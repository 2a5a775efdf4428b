//! The HNSW graph: built by hnsw_rs, stored and searched as flat arrays through a memory
//! map.
//!
//! hnsw_rs builds the graph well, but reloading its dump rebuilds every point and
//! neighbour list on the heap, in time and memory that grow with the vault, on every
//! command-line query. So after the build the layers are copied out into `graph.bin` as
//! compressed sparse rows (a node's neighbours are a slice of one `u32` array), which
//! opens in constant time (cold searches: BENCHMARKS.md, "Scale"); a search reads the few
//! thousand nodes it visits and nothing else. The search is the classic one: greedy
//! descent through the upper layers, then a best-first beam of width `ef` on layer 0,
//! rejected points traversed but never returned.
//!
//! Layout (little-endian u32s after the magic): node count, top layer, entry node; layer 0
//! as `offsets[n + 1]`, `neighbours[...]`; each upper layer as its node count, its nodes
//! (ascending), `offsets[count + 1]`, `neighbours[...]`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufWriter, Write};
use std::path::Path;

use hnsw_rs::prelude::{Distance, Hnsw};
use memmap2::Mmap;

use super::quant;
use super::{io_err, VectorError};

const MAGIC: &[u8; 8] = b"RCLGRPH1";

/// Distance between two stored rows: 1 − their dot product (the vectors are unit length).
#[derive(Debug, Default, Clone, Copy)]
struct RowDistance;

impl Distance<i8> for RowDistance {
    fn eval(&self, a: &[i8], b: &[i8]) -> f32 {
        // Rows are bytes; hnsw_rs wants a signed element type of the same layout.
        let (a, b) = (as_bytes(a), as_bytes(b));
        (1.0 - quant::dot_rows(a, b)).max(0.0)
    }
}

fn as_bytes(v: &[i8]) -> &[u8] {
    // SAFETY: i8 and u8 have the same size, alignment and validity (every bit pattern).
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), v.len()) }
}

fn as_signed(v: &[u8]) -> &[i8] {
    // SAFETY: as for `as_bytes`.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<i8>(), v.len()) }
}

/// Builds the graph over `rows` (each `row_len` bytes) and writes it to `path`.
pub fn build(
    rows: &[u8],
    row_len: usize,
    m: usize,
    ef_construction: usize,
    path: &Path,
) -> Result<(), VectorError> {
    let n = rows.len() / row_len.max(1);
    let hnsw = Hnsw::<i8, RowDistance>::new(m, n.max(1), 16, ef_construction, RowDistance);
    // hnsw_rs copies each point it inserts: hand it the rows as they are.
    let items: Vec<(&[i8], usize)> = rows.chunks_exact(row_len).map(as_signed).zip(0..).collect();
    hnsw.parallel_insert_slice(&items);
    drop(items);
    // Copy the layers out: per node its level, per layer its neighbour ids.
    let mut level = vec![0u8; n];
    let mut lists: Vec<Vec<Vec<u32>>> = vec![Vec::new(); n];
    for point in hnsw.get_point_indexation() {
        let id = point.get_origin_id();
        let l = point.get_point_id().0;
        level[id] = l;
        lists[id] = point
            .get_neighborhood_id()
            .iter()
            .take(usize::from(l) + 1)
            .map(|layer| layer.iter().map(|nb| nb.d_id as u32).collect())
            .collect();
    }
    drop(hnsw);
    // Any node of the top layer will do as the entry point.
    let top = level.iter().copied().max().unwrap_or(0);
    let entry = level.iter().position(|&l| l == top).unwrap_or(0) as u32;
    write(path, n, top, entry, &level, &lists)
}

fn write(
    path: &Path,
    n: usize,
    top: u8,
    entry: u32,
    level: &[u8],
    lists: &[Vec<Vec<u32>>],
) -> Result<(), VectorError> {
    let file = std::fs::File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::new(file);
    let put = |x: u32, w: &mut BufWriter<std::fs::File>| w.write_all(&x.to_le_bytes());
    (|| -> std::io::Result<()> {
        w.write_all(MAGIC)?;
        put(n as u32, &mut w)?;
        put(u32::from(top), &mut w)?;
        put(entry, &mut w)?;
        for layer in 0..=usize::from(top) {
            let nodes: Vec<u32> = (0..n as u32)
                .filter(|&i| usize::from(level[i as usize]) >= layer)
                .collect();
            if layer > 0 {
                put(nodes.len() as u32, &mut w)?;
                for &i in &nodes {
                    put(i, &mut w)?;
                }
            }
            let mut offset = 0u32;
            put(0, &mut w)?;
            for &i in &nodes {
                offset += lists[i as usize].get(layer).map_or(0, Vec::len) as u32;
                put(offset, &mut w)?;
            }
            for &i in &nodes {
                for &nb in lists[i as usize].get(layer).into_iter().flatten() {
                    put(nb, &mut w)?;
                }
            }
        }
        Ok(())
    })()
    .map_err(io_err(path))?;
    let file = w.into_inner().map_err(|e| io_err(path)(e.into_error()))?;
    file.sync_all().map_err(io_err(path))
}

/// One layer: `nodes` (absent on layer 0, where every node is), then CSR arrays; all as
/// offsets (in u32 words) into the map.
#[derive(Debug, Clone, Copy)]
struct Layer {
    nodes: usize,
    count: usize,
    offsets: usize,
    neighbours: usize,
}

/// An open graph.
pub struct Graph {
    map: Mmap,
    entry: u32,
    layers: Vec<Layer>,
}

impl Graph {
    pub fn open(path: &Path) -> Result<Graph, VectorError> {
        let corrupt = || VectorError::Corrupt(path.display().to_string());
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        // SAFETY: generations are immutable once published; nothing writes this file while
        // it is mapped (updates write new generations).
        let map = unsafe { Mmap::map(&file) }.map_err(io_err(path))?;
        if map.len() < 20 || map[..8] != MAGIC[..] || map.len() % 4 != 0 {
            return Err(corrupt());
        }
        let word = |i: usize| -> Option<u32> {
            map.get(8 + i * 4..12 + i * 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let n = word(0).ok_or_else(corrupt)? as usize;
        let top = word(1).ok_or_else(corrupt)? as usize;
        let entry = word(2).ok_or_else(corrupt)?;
        let words = (map.len() - 8) / 4;
        let mut at = 3usize;
        let mut layers = Vec::with_capacity(top + 1);
        for layer in 0..=top {
            let (nodes, count) = if layer == 0 {
                (0, n)
            } else {
                let count = word(at).ok_or_else(corrupt)? as usize;
                at += 1;
                let nodes = at;
                at += count;
                (nodes, count)
            };
            let offsets = at;
            at += count + 1;
            let total = word(at - 1).ok_or_else(corrupt)? as usize;
            let neighbours = at;
            at += total;
            if at > words {
                return Err(corrupt());
            }
            layers.push(Layer {
                nodes,
                count,
                offsets,
                neighbours,
            });
        }
        if n > 0 && entry as usize >= n {
            return Err(corrupt());
        }
        Ok(Graph { map, entry, layers })
    }

    fn word(&self, i: usize) -> u32 {
        let b = &self.map[8 + i * 4..12 + i * 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, |l| l.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The neighbours of `node` on `layer` (none when it is not on that layer).
    fn neighbours(&self, layer: usize, node: u32) -> impl Iterator<Item = u32> + '_ {
        let l = self.layers[layer];
        let slot = if layer == 0 {
            Some(node as usize)
        } else {
            // Upper layers list their nodes in ascending order.
            let (mut lo, mut hi) = (0, l.count);
            let mut found = None;
            while lo < hi {
                let mid = (lo + hi) / 2;
                match self.word(l.nodes + mid).cmp(&node) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => {
                        found = Some(mid);
                        break;
                    }
                }
            }
            found
        };
        let range = slot
            .filter(|&s| s < l.count)
            .map(|s| self.word(l.offsets + s) as usize..self.word(l.offsets + s + 1) as usize)
            .unwrap_or(0..0);
        range.map(move |i| self.word(l.neighbours + i))
    }

    /// The `k` accepted nodes nearest by `distance`, nearest first, exploring `ef` at a time.
    pub fn search(
        &self,
        distance: &dyn Fn(u32) -> f32,
        prefetch: &dyn Fn(u32),
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let n = self.len();
        if n == 0 || k == 0 {
            return Vec::new();
        }
        let ef = ef.max(k);
        let mut current = self.entry;
        let mut best = distance(current);
        for layer in (1..self.layers.len()).rev() {
            loop {
                let mut moved = false;
                for nb in self.neighbours(layer, current) {
                    let d = distance(nb);
                    if d < best {
                        best = d;
                        current = nb;
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        let mut visited = vec![0u64; n.div_ceil(64)];
        let mut seen = |i: u32| {
            let (w, b) = (i as usize / 64, 1u64 << (i % 64));
            let was = visited[w] & b != 0;
            visited[w] |= b;
            was
        };
        seen(current);
        // Candidates to expand, nearest first; results, farthest first (to drop it).
        let mut candidates = BinaryHeap::new();
        let mut results: BinaryHeap<(Ordered, u32)> = BinaryHeap::new();
        candidates.push(Reverse((Ordered(best), current)));
        let mut fresh: Vec<u32> = Vec::new();
        if accept(current) {
            results.push((Ordered(best), current));
        }
        while let Some(Reverse((Ordered(d), node))) = candidates.pop() {
            if results.len() >= ef && results.peek().is_some_and(|(Ordered(worst), _)| d > *worst) {
                break;
            }
            // The rows of a node's new neighbours are scattered over the whole table: ask
            // for all of them before reading any, so their loads from memory overlap.
            fresh.clear();
            fresh.extend(self.neighbours(0, node).filter(|&nb| !seen(nb)));
            for &nb in &fresh {
                prefetch(nb);
            }
            for &nb in &fresh {
                let dn = distance(nb);
                let full = results.len() >= ef;
                if !full || results.peek().is_some_and(|(Ordered(worst), _)| dn < *worst) {
                    candidates.push(Reverse((Ordered(dn), nb)));
                    if accept(nb) {
                        results.push((Ordered(dn), nb));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        let mut out: Vec<(u32, f32)> = results.into_iter().map(|(Ordered(d), i)| (i, d)).collect();
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }
}

/// An f32 with a total order, for the heaps.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ordered(f32);

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
