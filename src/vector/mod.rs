//! The embedding index: every chunk's vector, stored once as int8 ([`quant`]), and an HNSW
//! graph over them ([`graph`]), all read through memory maps.
//!
//! `vectors.bin` holds each chunk's (note, section, content hash) and its row, tagged with
//! the model fingerprint. It doubles as the embedding cache of the next build (a chunk
//! whose text hash is there is not embedded again) and is what exact search, note
//! centroids and "related" read. `graph.bin` answers nearest-neighbour queries while
//! touching only the nodes it visits, so opening an index costs the same at 1k or 50k
//! notes.
//!
//! Incremental updates never rewrite those two: an update hard-links them into the new
//! generation, writes new vectors to `delta.bin` (searched exactly: it is small) and lists
//! vectors of changed or deleted notes in `dead.bin` (tombstones, filtered out of every
//! search). When delta and tombstones grow past a share of the index, the next update
//! rebuilds everything (see `indexer`).
//!
//! Filtered queries whose allowed set is small are answered exactly: a graph walk through
//! a mostly-forbidden graph loses recall, and a scan of a few thousand rows is cheap.

pub mod graph;
pub mod quant;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::OnceLock;

use memmap2::Mmap;
use rustc_hash::FxHashMap;

use graph::Graph;

/// Graph degree (hnsw_rs `max_nb_connection`), measured with the others in
/// `benches/hnsw_recall.rs` (BENCHMARKS.md, "HNSW recall against exact search").
pub const M: usize = 16;
/// Candidate list size while building the graph: 100 builds much faster than 200 and loses
/// almost no recall at `EF_SEARCH` on SciFact (BENCHMARKS.md, "HNSW recall against exact
/// search").
pub const EF_CONSTRUCTION: usize = 100;
/// Candidate list size while searching (raised to k when k is larger).
pub const EF_SEARCH: usize = 128;
/// Filtered queries allowing at most this many vectors are answered by exact scan.
const EXACT_SCAN_MAX: usize = 20_000;

const MAGIC: &[u8; 8] = b"RCLVEC02";
const VECTORS: &str = "vectors.bin";
const DELTA: &str = "delta.bin";
const DEAD: &str = "dead.bin";
const GRAPH: &str = "graph.bin";
const ENTRY_BYTES: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}: corrupt vector file; rebuild with `recall index --rebuild`")]
    Corrupt(String),
    #[error("vector graph in {0} could not be loaded; rebuild with `recall index --rebuild`")]
    Graph(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VectorError + '_ {
    move |source| VectorError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Which section a vector belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub note_ord: u32,
    pub section: u32,
    /// Hash of the embedded text: the cache key.
    pub hash: [u8; 16],
}

/// The cache key of a text.
pub fn text_hash(text: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(text.as_bytes()).as_bytes()[..16]);
    out
}

/// Vectors being written: entries and rows in memory.
#[derive(Debug, Clone, Default)]
pub struct VectorTable {
    pub dim: usize,
    pub fingerprint: String,
    pub entries: Vec<Entry>,
    rows: Vec<u8>,
}

impl VectorTable {
    pub fn new(dim: usize, fingerprint: &str) -> VectorTable {
        VectorTable {
            dim,
            fingerprint: fingerprint.to_string(),
            entries: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes per stored row.
    pub fn row_len(&self) -> usize {
        quant::row_len(self.dim)
    }

    /// Adds a unit vector (stored quantized).
    pub fn push(&mut self, entry: Entry, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dim);
        self.entries.push(entry);
        quant::quantize_into(vector, &mut self.rows);
    }

    /// Adds a stored row as it is (a cached vector, never quantized twice).
    pub fn push_row(&mut self, entry: Entry, row: &[u8]) {
        debug_assert_eq!(row.len(), quant::row_len(self.dim));
        self.entries.push(entry);
        self.rows.extend_from_slice(row);
    }

    pub fn row(&self, i: usize) -> &[u8] {
        let len = quant::row_len(self.dim);
        &self.rows[i * len..(i + 1) * len]
    }

    fn write(&self, path: &Path) -> Result<(), VectorError> {
        let file = std::fs::File::create(path).map_err(io_err(path))?;
        let mut w = BufWriter::new(file);
        let fp = self.fingerprint.as_bytes();
        (|| -> std::io::Result<()> {
            w.write_all(MAGIC)?;
            w.write_all(&(self.dim as u32).to_le_bytes())?;
            w.write_all(&(self.entries.len() as u32).to_le_bytes())?;
            w.write_all(&(fp.len() as u32).to_le_bytes())?;
            w.write_all(fp)?;
            w.write_all(&[0u8; 3][..padding(fp.len())])?;
            for e in &self.entries {
                w.write_all(&e.note_ord.to_le_bytes())?;
                w.write_all(&e.section.to_le_bytes())?;
                w.write_all(&e.hash)?;
            }
            w.write_all(&self.rows)
        })()
        .map_err(io_err(path))?;
        let file = w.into_inner().map_err(|e| io_err(path)(e.into_error()))?;
        file.sync_all().map_err(io_err(path))
    }
}

/// Bytes that bring a fingerprint of `len` bytes to a multiple of 4.
fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// A vector file, mapped.
struct Mapped {
    map: Mmap,
    dim: usize,
    count: usize,
    fingerprint: String,
    entries_at: usize,
    rows_at: usize,
}

impl Mapped {
    /// Maps `path`; `None` when it does not exist.
    fn open(path: &Path) -> Result<Option<Mapped>, VectorError> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        };
        // SAFETY: generations are immutable once published; nothing writes this file while
        // it is mapped (updates write new generations).
        let map = unsafe { Mmap::map(&file) }.map_err(io_err(path))?;
        let corrupt = || VectorError::Corrupt(path.display().to_string());
        let u32_at = |at: usize| -> Result<usize, VectorError> {
            let b = map.get(at..at + 4).ok_or_else(corrupt)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        if map.get(..8) != Some(&MAGIC[..]) {
            return Err(corrupt());
        }
        let (dim, count, fp_len) = (u32_at(8)?, u32_at(12)?, u32_at(16)?);
        let fingerprint = map
            .get(20..20 + fp_len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(corrupt)?
            .to_string();
        let entries_at = 20 + fp_len + padding(fp_len);
        let rows_at = entries_at + count * ENTRY_BYTES;
        let end = count
            .checked_mul(quant::row_len(dim))
            .and_then(|r| r.checked_add(rows_at))
            .ok_or_else(corrupt)?;
        if dim == 0 || map.len() != end {
            return Err(corrupt());
        }
        Ok(Some(Mapped {
            map,
            dim,
            count,
            fingerprint,
            entries_at,
            rows_at,
        }))
    }

    fn entry(&self, i: usize) -> Entry {
        let b = &self.map[self.entries_at + i * ENTRY_BYTES..self.entries_at + (i + 1) * ENTRY_BYTES];
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&b[8..24]);
        Entry {
            note_ord: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            section: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            hash,
        }
    }

    fn row(&self, i: usize) -> &[u8] {
        let len = quant::row_len(self.dim);
        &self.map[self.rows_at + i * len..self.rows_at + (i + 1) * len]
    }
}

/// The vectors of a generation without the graph: what an update needs (the embedding
/// cache, the delta, the tombstones), and what exact search and "related" read. A vector's
/// id is its position: graph vectors first, then delta vectors.
pub struct VectorStore {
    base: Mapped,
    delta: Option<Mapped>,
    /// Tombstones, ascending: ids of vectors whose note changed or went away.
    dead: Vec<u32>,
    /// Live ids by note, made on first use.
    by_note: OnceLock<FxHashMap<u32, Vec<u32>>>,
}

impl VectorStore {
    /// Opens the vectors of a generation; `None` when it was built without them.
    pub fn open(dir: &Path) -> Result<Option<VectorStore>, VectorError> {
        let Some(base) = Mapped::open(&dir.join(VECTORS))? else {
            return Ok(None);
        };
        let delta = Mapped::open(&dir.join(DELTA))?;
        if delta
            .as_ref()
            .is_some_and(|d| d.dim != base.dim || d.fingerprint != base.fingerprint)
        {
            return Err(VectorError::Corrupt(dir.join(DELTA).display().to_string()));
        }
        let dead = match std::fs::read(dir.join(DEAD)) {
            Ok(bytes) if bytes.len() % 4 == 0 => bytes
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Ok(_) => return Err(VectorError::Corrupt(dir.join(DEAD).display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&dir.join(DEAD))(e)),
        };
        Ok(Some(VectorStore {
            base,
            delta,
            dead,
            by_note: OnceLock::new(),
        }))
    }

    pub fn dim(&self) -> usize {
        self.base.dim
    }

    pub fn fingerprint(&self) -> &str {
        &self.base.fingerprint
    }

    /// All vectors, tombstoned ones included.
    pub fn len(&self) -> usize {
        self.base.count + self.delta.as_ref().map_or(0, |d| d.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Vectors `0..graph_len()` are in the graph.
    pub fn graph_len(&self) -> usize {
        self.base.count
    }

    fn part(&self, id: usize) -> (&Mapped, usize) {
        match &self.delta {
            Some(d) if id >= self.base.count => (d, id - self.base.count),
            _ => (&self.base, id),
        }
    }

    pub fn entry(&self, id: usize) -> Entry {
        let (m, i) = self.part(id);
        m.entry(i)
    }

    pub fn row(&self, id: usize) -> &[u8] {
        let (m, i) = self.part(id);
        m.row(i)
    }

    /// The vector `id`, as f32.
    pub fn vector(&self, id: usize) -> Vec<f32> {
        quant::dequantize(self.row(id))
    }

    pub fn is_live(&self, id: usize) -> bool {
        self.dead.binary_search(&(id as u32)).is_err()
    }

    pub fn dead(&self) -> &[u32] {
        &self.dead
    }

    /// The live vectors of note `ord`.
    pub fn of_note(&self, ord: u32) -> &[u32] {
        let index = self.by_note.get_or_init(|| {
            let mut map: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
            for id in 0..self.len() {
                if self.is_live(id) {
                    map.entry(self.entry(id).note_ord).or_default().push(id as u32);
                }
            }
            map
        });
        index.get(&ord).map_or(&[], Vec::as_slice)
    }

    /// Exact nearest neighbours among `ids`.
    pub fn exact(&self, query: &[f32], k: usize, ids: impl Iterator<Item = usize>) -> Vec<(usize, f32)> {
        let mut scored: Vec<(usize, f32)> = ids.map(|i| (i, quant::dot_query(query, self.row(i)))).collect();
        scored.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored
    }

    /// Text hash → the row of a live vector with that text, for reusing embeddings.
    pub fn cache(&self) -> FxHashMap<[u8; 16], &[u8]> {
        (0..self.len())
            .filter(|&id| self.is_live(id))
            .map(|id| (self.entry(id).hash, self.row(id)))
            .collect()
    }

    /// The delta vectors as a table an update can extend.
    pub fn delta_table(&self) -> VectorTable {
        let mut t = VectorTable::new(self.dim(), self.fingerprint());
        if let Some(d) = &self.delta {
            for i in 0..d.count {
                t.push_row(d.entry(i), d.row(i));
            }
        }
        t
    }
}

/// Vectors plus the graph over them.
pub struct VectorIndex {
    store: VectorStore,
    graph: Graph,
}

impl std::ops::Deref for VectorIndex {
    type Target = VectorStore;

    fn deref(&self) -> &VectorStore {
        &self.store
    }
}

impl VectorIndex {
    /// Writes `table` and the graph over it into `dir`.
    pub fn build(table: &VectorTable, dir: &Path) -> Result<(), VectorError> {
        Self::build_with(table, dir, M, EF_CONSTRUCTION)
    }

    /// `build` with other graph parameters (for measuring them).
    pub fn build_with(
        table: &VectorTable,
        dir: &Path,
        m: usize,
        ef_construction: usize,
    ) -> Result<(), VectorError> {
        table.write(&dir.join(VECTORS))?;
        graph::build(
            &table.rows,
            quant::row_len(table.dim),
            m,
            ef_construction,
            &dir.join(GRAPH),
        )
    }

    /// Writes an updated copy of the vector index in `old` into `dir`: the base vectors and
    /// the graph are shared (hard links, or copies where links are impossible), `delta`
    /// replaces the delta, `dead` the tombstones.
    pub fn write_update(
        old: &Path,
        dir: &Path,
        delta: &VectorTable,
        dead: &[u32],
    ) -> Result<(), VectorError> {
        for name in [VECTORS, GRAPH] {
            let (from, to) = (old.join(name), dir.join(name));
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(io_err(&from))?;
            }
        }
        delta.write(&dir.join(DELTA))?;
        let mut dead = dead.to_vec();
        dead.sort_unstable();
        dead.dedup();
        let bytes: Vec<u8> = dead.iter().flat_map(|d| d.to_le_bytes()).collect();
        let path = dir.join(DEAD);
        std::fs::write(&path, bytes).map_err(io_err(&path))
    }

    /// Opens the vector index of a generation; `None` when it was built without one.
    pub fn open(dir: &Path) -> Result<Option<VectorIndex>, VectorError> {
        let Some(store) = VectorStore::open(dir)? else {
            return Ok(None);
        };
        let graph =
            Graph::open(&dir.join(GRAPH)).map_err(|_| VectorError::Graph(dir.display().to_string()))?;
        if graph.len() != store.graph_len() {
            return Err(VectorError::Graph(dir.display().to_string()));
        }
        Ok(Some(VectorIndex { store, graph }))
    }

    /// The `k` live vectors most similar to `query` (unit length), as (vector id, cosine),
    /// best first. `allowed` restricts the candidates.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allowed: Option<&dyn Fn(&Entry) -> bool>,
    ) -> Vec<(usize, f32)> {
        let ok = |i: usize| self.is_live(i) && allowed.is_none_or(|a| a(&self.entry(i)));
        let delta = self.exact(query, k, (self.graph_len()..self.len()).filter(|&i| ok(i)));
        let mut hits = if allowed.is_some() {
            let ids: Vec<usize> = (0..self.graph_len()).filter(|&i| ok(i)).collect();
            if ids.len() <= EXACT_SCAN_MAX {
                self.exact(query, k, ids.into_iter())
            } else {
                self.graph_search_ef(query, k, EF_SEARCH, Some(&|i| ids.binary_search(&i).is_ok()))
            }
        } else if self.dead().is_empty() {
            self.graph_search_ef(query, k, EF_SEARCH, None)
        } else {
            self.graph_search_ef(query, k, EF_SEARCH, Some(&|i| self.is_live(i)))
        };
        hits.extend(delta);
        hits.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(k);
        hits
    }

    /// The graph alone, with candidate list `ef` (at least k), as (id, cosine), best first.
    pub fn graph_search_ef(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<(usize, f32)> {
        let distance = |i: u32| 1.0 - quant::dot_query(query, self.row(i as usize));
        let prefetch = |i: u32| quant::prefetch(self.row(i as usize));
        let accept = |i: u32| accept.is_none_or(|a| a(i as usize));
        self.graph
            .search(&distance, &prefetch, k, ef.max(k), &accept)
            .into_iter()
            .map(|(i, d)| (i as usize, 1.0 - d))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// `n` pseudo-random unit vectors of dimension 16, two per note.
    fn table(n: u32) -> VectorTable {
        let mut t = VectorTable::new(16, "test-model");
        let mut seed = 42u64;
        for i in 0..n {
            let v: Vec<f32> = (0..16)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            t.push(
                Entry {
                    note_ord: i / 2,
                    section: i % 2,
                    hash: text_hash(&i.to_string()),
                },
                &unit(&v),
            );
        }
        t
    }

    #[test]
    fn save_open_search_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let vectors = table(200);
        VectorIndex::build(&vectors, dir.path()).unwrap();
        let opened = VectorIndex::open(dir.path()).unwrap().unwrap();
        assert_eq!(opened.len(), 200);
        assert_eq!(opened.entry(57), vectors.entries[57]);
        assert_eq!(opened.fingerprint(), "test-model");
        let q = opened.vector(57);
        let hits = opened.search(&q, 5, None);
        assert_eq!(hits[0].0, 57);
        assert!((hits[0].1 - 1.0).abs() < 0.02, "{hits:?}");
        let only_odd = |e: &Entry| e.section == 1;
        let filtered = opened.search(&q, 5, Some(&only_odd));
        assert!(filtered.iter().all(|(i, _)| i % 2 == 1));
        assert_eq!(filtered.len(), 5);
        // The graph alone agrees with exact search.
        let exact: Vec<usize> = opened.exact(&q, 10, 0..200).into_iter().map(|h| h.0).collect();
        let graph: Vec<usize> = opened
            .graph_search_ef(&q, 10, 64, None)
            .into_iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(graph, exact);

        // An update: vector 57 dies, a copy of it arrives in the delta.
        let next = tempfile::tempdir().unwrap();
        let mut delta = VectorTable::new(16, "test-model");
        delta.push(
            Entry {
                note_ord: 500,
                section: 0,
                hash: text_hash("new"),
            },
            &q,
        );
        VectorIndex::write_update(dir.path(), next.path(), &delta, &[57]).unwrap();
        let updated = VectorIndex::open(next.path()).unwrap().unwrap();
        let hits = updated.search(&q, 3, None);
        assert_eq!(hits[0].0, 200, "the delta vector, found by exact scan");
        assert!(hits.iter().all(|(i, _)| *i != 57), "tombstoned: {hits:?}");
        assert_eq!(updated.of_note(500), &[200]);
        assert_eq!(updated.of_note(28), &[56], "note 28 keeps its live vector");
        assert_eq!(updated.delta_table().len(), 1);
        assert_eq!(updated.cache().len(), 200);
    }

    #[test]
    fn corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(VECTORS), b"RCLVEC02\x03\0\0\0\xff\xff\0\0").unwrap();
        assert!(matches!(
            VectorStore::open(dir.path()),
            Err(VectorError::Corrupt(_))
        ));
        let ok = tempfile::tempdir().unwrap();
        VectorIndex::build(&table(10), ok.path()).unwrap();
        std::fs::write(ok.path().join(GRAPH), b"RCLGRPH1garbage!").unwrap();
        assert!(matches!(VectorIndex::open(ok.path()), Err(VectorError::Graph(_))));
    }
}
