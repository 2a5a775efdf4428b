//! The embedding index: section vectors in files of our own, and an hnsw_rs graph over them.
//!
//! `vectors.bin` holds every chunk's (note, section, content hash) and unit vector, tagged
//! with the model fingerprint. It doubles as the embedding cache for the next build (a
//! chunk whose text hash is already there is not embedded again) and is what exact search
//! and note centroids read. The HNSW graph (`hnsw.hnsw.graph` / `.data`, hnsw_rs's own dump
//! format) answers nearest-neighbour queries without touching every vector.
//!
//! Incremental updates never rewrite those two: hnsw_rs cannot delete points, so an update
//! hard-links them into the new generation, appends new vectors to `delta.bin` (searched
//! exactly, it is small) and lists vectors of changed or deleted notes in `dead.json`
//! (tombstones, filtered out of every search). When delta and tombstones grow past a share
//! of the index, the next update rebuilds everything (see `indexer`).
//!
//! Filtered queries whose allowed set is small are answered exactly: an HNSW walk through
//! a mostly-forbidden graph loses recall, and a scan of a few thousand vectors costs well
//! under a millisecond.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use hnsw_rs::prelude::{AnnT, Distance, Hnsw, HnswIo};

/// Graph degree (hnsw_rs `max_nb_connection`); see BENCHMARKS.md for the measurement.
pub const M: usize = 16;
/// Candidate list size while building the graph: 100 builds 2.4x faster than 200 and
/// still gives recall@10 0.9995 at `EF_SEARCH` on SciFact (BENCHMARKS.md).
pub const EF_CONSTRUCTION: usize = 100;
/// Candidate list size while searching (raised to k when k is larger).
pub const EF_SEARCH: usize = 128;
/// Filtered queries allowing at most this many vectors are answered by exact scan.
const EXACT_SCAN_MAX: usize = 20_000;

const MAGIC: &[u8; 8] = b"RCLVEC01";
const VECTORS: &str = "vectors.bin";
const DELTA: &str = "delta.bin";
const DEAD: &str = "dead.json";
const GRAPH: &str = "hnsw";

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}: corrupt vector file; rebuild with `recall index --rebuild`")]
    Corrupt(String),
    #[error("vector graph in {0} could not be loaded; rebuild with `recall index --rebuild`")]
    Graph(String),
}

/// Cosine distance between unit vectors, 1 − a·b. Every stored and query vector is
/// normalized when embedded, so hnsw_rs's `DistCosine`, which recomputes both norms in f64
/// on every call, does three times the work without vectorizing.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnitDot;

impl Distance<f32> for UnitDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - crate::embed::dot(a, b)).max(0.0)
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

/// Every chunk vector of an index.
#[derive(Debug, Clone, Default)]
pub struct Vectors {
    pub dim: usize,
    pub fingerprint: String,
    pub entries: Vec<Entry>,
    /// `entries.len() * dim` values.
    pub data: Vec<f32>,
}

/// The cache key of a text.
pub fn text_hash(text: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(text.as_bytes()).as_bytes()[..16]);
    out
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VectorError + '_ {
    move |source| VectorError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Vectors {
    pub fn new(dim: usize, fingerprint: &str) -> Vectors {
        Vectors {
            dim,
            fingerprint: fingerprint.to_string(),
            entries: Vec::new(),
            data: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn push(&mut self, entry: Entry, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dim);
        self.entries.push(entry);
        self.data.extend_from_slice(vector);
    }

    pub fn vector(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// hash → vector, for reusing embeddings of unchanged text.
    pub fn cache(&self) -> HashMap<[u8; 16], &[f32]> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.hash, self.vector(i)))
            .collect()
    }

    fn save(&self, path: &Path) -> Result<(), VectorError> {
        let file = std::fs::File::create(path).map_err(io_err(path))?;
        let mut w = BufWriter::new(file);
        let mut write = |bytes: &[u8]| w.write_all(bytes);
        let fp = self.fingerprint.as_bytes();
        (|| -> std::io::Result<()> {
            write(MAGIC)?;
            write(&(self.dim as u32).to_le_bytes())?;
            write(&(self.entries.len() as u32).to_le_bytes())?;
            write(&(fp.len() as u32).to_le_bytes())?;
            write(fp)?;
            for e in &self.entries {
                write(&e.note_ord.to_le_bytes())?;
                write(&e.section.to_le_bytes())?;
                write(&e.hash)?;
            }
            for x in &self.data {
                write(&x.to_le_bytes())?;
            }
            Ok(())
        })()
        .map_err(io_err(path))?;
        let file = w.into_inner().map_err(|e| io_err(path)(e.into_error()))?;
        file.sync_all().map_err(io_err(path))
    }

    /// Reads the vectors of an index generation (graph and delta); `None` when it has none.
    pub fn load(dir: &Path) -> Result<Option<Vectors>, VectorError> {
        let Some(mut all) = Vectors::read(&dir.join(VECTORS))? else {
            return Ok(None);
        };
        if let Some(delta) = Vectors::read(&dir.join(DELTA))? {
            all.append(&delta);
        }
        Ok(Some(all))
    }

    fn append(&mut self, other: &Vectors) {
        self.entries.extend_from_slice(&other.entries);
        self.data.extend_from_slice(&other.data);
    }

    /// Reads one vector file; `None` when it does not exist.
    fn read(path: &Path) -> Result<Option<Vectors>, VectorError> {
        let mut bytes = Vec::new();
        match std::fs::File::open(path) {
            Ok(mut f) => f.read_to_end(&mut bytes).map_err(io_err(path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        };
        let corrupt = || VectorError::Corrupt(path.display().to_string());
        let mut pos = 0usize;
        let mut take = |n: usize| -> Result<&[u8], VectorError> {
            let s = bytes.get(pos..pos + n).ok_or_else(corrupt)?;
            pos += n;
            Ok(s)
        };
        if take(8)? != MAGIC {
            return Err(corrupt());
        }
        let u32_at = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize;
        let dim = u32_at(take(4)?);
        let count = u32_at(take(4)?);
        let fp_len = u32_at(take(4)?);
        let fingerprint = String::from_utf8(take(fp_len)?.to_vec()).map_err(|_| corrupt())?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let e = take(24)?;
            let mut hash = [0u8; 16];
            hash.copy_from_slice(&e[8..24]);
            entries.push(Entry {
                note_ord: u32_at(&e[0..4]) as u32,
                section: u32_at(&e[4..8]) as u32,
                hash,
            });
        }
        let raw = take(
            count
                .checked_mul(dim)
                .and_then(|n| n.checked_mul(4))
                .ok_or_else(corrupt)?,
        )?;
        let data = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Some(Vectors {
            dim,
            fingerprint,
            entries,
            data,
        }))
    }
}

/// The vectors of a generation without the graph over them: all an update needs (the
/// embedding cache, the delta, the tombstones), and cheap to open.
pub struct VectorStore {
    /// Graph vectors first, then delta vectors; a vector's id is its position here.
    pub vectors: Vectors,
    /// Vectors `0..graph_len` are in the graph.
    graph_len: usize,
    /// Tombstones: ids of vectors whose note changed or went away.
    dead: HashSet<usize>,
}

/// Vectors plus the graph over them.
pub struct VectorIndex {
    store: VectorStore,
    graph: Hnsw<'static, f32, UnitDot>,
}

impl std::ops::Deref for VectorIndex {
    type Target = VectorStore;

    fn deref(&self) -> &VectorStore {
        &self.store
    }
}

impl VectorStore {
    /// Opens the vectors of a generation; `None` when it was built without them.
    pub fn open(dir: &Path) -> Result<Option<VectorStore>, VectorError> {
        let Some(base) = Vectors::read(&dir.join(VECTORS))? else {
            return Ok(None);
        };
        let graph_len = base.len();
        let mut vectors = base;
        if let Some(delta) = Vectors::read(&dir.join(DELTA))? {
            vectors.append(&delta);
        }
        let dead: HashSet<usize> = match std::fs::read(dir.join(DEAD)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| VectorError::Corrupt(dir.join(DEAD).display().to_string()))?,
            Err(_) => HashSet::new(),
        };
        Ok(Some(VectorStore {
            vectors,
            graph_len,
            dead,
        }))
    }

    /// Vectors of the delta (not in the graph).
    pub fn delta(&self) -> Vectors {
        Vectors {
            dim: self.vectors.dim,
            fingerprint: self.vectors.fingerprint.clone(),
            entries: self.vectors.entries[self.graph_len..].to_vec(),
            data: self.vectors.data[self.graph_len * self.vectors.dim..].to_vec(),
        }
    }

    pub fn dead(&self) -> &HashSet<usize> {
        &self.dead
    }

    pub fn is_live(&self, id: usize) -> bool {
        !self.dead.contains(&id)
    }

    /// Ids of the live vectors of each note, by note ordinal (`slots` ordinals).
    pub fn by_note(&self, slots: usize) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); slots];
        for (i, e) in self.vectors.entries.iter().enumerate() {
            if self.is_live(i) {
                if let Some(v) = out.get_mut(e.note_ord as usize) {
                    v.push(i);
                }
            }
        }
        out
    }

    /// Exact nearest neighbours among `ids`.
    pub fn exact(&self, query: &[f32], k: usize, ids: impl Iterator<Item = usize>) -> Vec<(usize, f32)> {
        let mut scored: Vec<(usize, f32)> = ids
            .map(|i| (i, crate::embed::dot(query, self.vectors.vector(i))))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored
    }
}

impl VectorIndex {
    /// Builds the graph over `vectors` and writes both into `dir`.
    pub fn build(vectors: &Vectors, dir: &Path) -> Result<(), VectorError> {
        Self::build_with(vectors, dir, M, EF_CONSTRUCTION)
    }

    /// `build` with other graph parameters (for measuring them).
    pub fn build_with(
        vectors: &Vectors,
        dir: &Path,
        m: usize,
        ef_construction: usize,
    ) -> Result<(), VectorError> {
        vectors.save(&dir.join(VECTORS))?;
        let graph = Hnsw::<f32, UnitDot>::new(m, vectors.len().max(1), 16, ef_construction, UnitDot);
        let items: Vec<(&[f32], usize)> = (0..vectors.len()).map(|i| (vectors.vector(i), i)).collect();
        graph.parallel_insert_slice(&items);
        graph
            .file_dump(dir, GRAPH)
            .map_err(|e| VectorError::Graph(format!("{}: {e}", dir.display())))?;
        Ok(())
    }

    /// Writes an updated copy of the vector index in `old` into `dir`: the graph and its
    /// vectors are shared (hard links, or copies where links are impossible), `delta`
    /// replaces the delta, `dead` the tombstones.
    pub fn write_update(
        old: &Path,
        dir: &Path,
        delta: &Vectors,
        dead: &HashSet<usize>,
    ) -> Result<(), VectorError> {
        for name in [
            VECTORS.to_string(),
            format!("{GRAPH}.hnsw.graph"),
            format!("{GRAPH}.hnsw.data"),
        ] {
            let (from, to) = (old.join(&name), dir.join(&name));
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(io_err(&from))?;
            }
        }
        delta.save(&dir.join(DELTA))?;
        let mut dead: Vec<usize> = dead.iter().copied().collect();
        dead.sort_unstable();
        let path = dir.join(DEAD);
        std::fs::write(&path, serde_json::to_vec(&dead).unwrap_or_default()).map_err(io_err(&path))
    }

    /// Opens the vector index of a generation; `None` when it was built without one.
    pub fn open(dir: &Path) -> Result<Option<VectorIndex>, VectorError> {
        let Some(store) = VectorStore::open(dir)? else {
            return Ok(None);
        };
        let files = [format!("{GRAPH}.hnsw.graph"), format!("{GRAPH}.hnsw.data")];
        if files.iter().any(|f| !dir.join(f).is_file()) {
            return Err(VectorError::Graph(dir.display().to_string()));
        }
        // hnsw_rs asserts on malformed files; a corrupt index must be an error, not a crash.
        let dir_owned = dir.to_path_buf();
        let loaded = std::panic::catch_unwind(move || {
            // The loader is leaked: the graph borrows from it for as long as it lives, which
            // is the life of the process for a command-line search.
            let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir_owned, GRAPH)));
            io.load_hnsw::<f32, UnitDot>()
        });
        match loaded {
            Ok(Ok(mut graph)) if graph.get_nb_point() == store.graph_len => {
                graph.set_searching_mode(true);
                Ok(Some(VectorIndex { store, graph }))
            }
            _ => Err(VectorError::Graph(dir.display().to_string())),
        }
    }
    /// The `k` live vectors most similar to `query` (unit length), as (vector id, cosine),
    /// best first. `allowed` restricts the candidates.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allowed: Option<&dyn Fn(&Entry) -> bool>,
    ) -> Vec<(usize, f32)> {
        let ok = |i: usize| self.is_live(i) && allowed.is_none_or(|a| a(&self.vectors.entries[i]));
        let delta = self.exact(query, k, (self.graph_len..self.vectors.len()).filter(|&i| ok(i)));
        let mut hits = if allowed.is_some() {
            let ids: Vec<usize> = (0..self.graph_len).filter(|&i| ok(i)).collect();
            if ids.len() <= EXACT_SCAN_MAX {
                self.exact(query, k, ids.into_iter())
            } else {
                let filter = |id: &usize| ids.binary_search(id).is_ok();
                self.graph_search(query, k, Some(&filter))
            }
        } else if self.dead.is_empty() {
            self.graph_search(query, k, None)
        } else {
            let filter = |id: &usize| self.is_live(*id);
            self.graph_search(query, k, Some(&filter))
        };
        hits.extend(delta);
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(k);
        hits
    }

    fn graph_search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn hnsw_rs::filter::FilterT>,
    ) -> Vec<(usize, f32)> {
        self.graph_search_ef(query, k, EF_SEARCH.max(k), filter)
    }

    /// The graph alone, with candidate list `ef` (for measuring recall against `exact`).
    pub fn graph_search_ef(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&dyn hnsw_rs::filter::FilterT>,
    ) -> Vec<(usize, f32)> {
        self.graph
            .search_filter(query, k, ef, filter)
            .into_iter()
            .map(|n| (n.d_id, 1.0 - n.distance))
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

    #[test]
    fn save_load_search_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let mut vectors = Vectors::new(3, "test-model");
        for i in 0..200u32 {
            let a = i as f32 / 200.0 * std::f32::consts::PI;
            let v = unit(&[a.cos(), a.sin(), 0.1]);
            vectors.push(
                Entry {
                    note_ord: i / 2,
                    section: i % 2,
                    hash: text_hash(&i.to_string()),
                },
                &v,
            );
        }
        VectorIndex::build(&vectors, dir.path()).unwrap();
        let opened = VectorIndex::open(dir.path()).unwrap().unwrap();
        assert_eq!(opened.vectors.entries, vectors.entries);
        assert_eq!(opened.vectors.fingerprint, "test-model");
        let q = opened.vectors.vector(57).to_vec();
        let hits = opened.search(&q, 5, None);
        assert_eq!(hits[0].0, 57);
        assert!((hits[0].1 - 1.0).abs() < 1e-5);
        let only_odd = |e: &Entry| e.section == 1;
        let filtered = opened.search(&q, 5, Some(&only_odd));
        assert!(filtered.iter().all(|(i, _)| i % 2 == 1));
        assert_eq!(filtered.len(), 5);

        // An update: vector 57 dies, a copy of it arrives in the delta.
        let next = tempfile::tempdir().unwrap();
        let mut delta = Vectors::new(3, "test-model");
        delta.push(
            Entry {
                note_ord: 500,
                section: 0,
                hash: text_hash("new"),
            },
            &q,
        );
        VectorIndex::write_update(dir.path(), next.path(), &delta, &HashSet::from([57])).unwrap();
        let updated = VectorIndex::open(next.path()).unwrap().unwrap();
        let hits = updated.search(&q, 3, None);
        assert_eq!(hits[0].0, 200, "the delta vector, found by exact scan");
        assert!(hits.iter().all(|(i, _)| *i != 57), "tombstoned: {hits:?}");
        assert_eq!(updated.by_note(501)[500], vec![200]);
        assert_eq!(
            updated.by_note(501)[28],
            vec![56],
            "note 28 keeps its live vector"
        );
    }

    #[test]
    fn corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(VECTORS), b"RCLVEC01\x03\0\0\0\xff\xff\0\0").unwrap();
        assert!(matches!(Vectors::load(dir.path()), Err(VectorError::Corrupt(_))));
        assert!(Vectors::load(tempfile::tempdir().unwrap().path())
            .unwrap()
            .is_none());
    }
}
