//! The embedding index: section vectors in a file of our own, and an hnsw_rs graph over them.
//!
//! `vectors.bin` is the source of truth: every chunk's (note, section, content hash) and
//! its unit vector, tagged with the model fingerprint. It doubles as the embedding cache
//! for the next build (a chunk whose text hash is already there is not embedded again) and
//! is what exact search and note centroids read. The HNSW graph (`hnsw.hnsw.graph` /
//! `.data`, hnsw_rs's own dump format) answers nearest-neighbour queries without touching
//! every vector. Filtered queries whose allowed set is small are answered exactly instead:
//! an HNSW walk through a mostly-forbidden graph loses recall, and a scan of a few thousand
//! vectors costs well under a millisecond.

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use hnsw_rs::prelude::{AnnT, DistCosine, Hnsw, HnswIo};

/// Graph degree (hnsw_rs `max_nb_connection`); see BENCHMARKS.md for the measurement.
pub const M: usize = 16;
/// Candidate list size while building the graph.
pub const EF_CONSTRUCTION: usize = 200;
/// Candidate list size while searching (raised to k when k is larger).
pub const EF_SEARCH: usize = 128;
/// Filtered queries allowing at most this many vectors are answered by exact scan.
const EXACT_SCAN_MAX: usize = 20_000;

const MAGIC: &[u8; 8] = b"RCLVEC01";
const VECTORS: &str = "vectors.bin";
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

    fn save(&self, dir: &Path) -> Result<(), VectorError> {
        let path = dir.join(VECTORS);
        let file = std::fs::File::create(&path).map_err(io_err(&path))?;
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
        .map_err(io_err(&path))?;
        let file = w.into_inner().map_err(|e| io_err(&path)(e.into_error()))?;
        file.sync_all().map_err(io_err(&path))
    }

    /// Reads `vectors.bin` of an index generation; `None` when it has none.
    pub fn load(dir: &Path) -> Result<Option<Vectors>, VectorError> {
        let path = dir.join(VECTORS);
        let mut bytes = Vec::new();
        match std::fs::File::open(&path) {
            Ok(mut f) => f.read_to_end(&mut bytes).map_err(io_err(&path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
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

/// Vectors plus the graph over them.
pub struct VectorIndex {
    pub vectors: Vectors,
    graph: Hnsw<'static, f32, DistCosine>,
}

impl VectorIndex {
    /// Builds the graph over `vectors` and writes both into `dir`.
    pub fn build(vectors: Vectors, dir: &Path) -> Result<VectorIndex, VectorError> {
        vectors.save(dir)?;
        let graph = Hnsw::<f32, DistCosine>::new(M, vectors.len().max(1), 16, EF_CONSTRUCTION, DistCosine {});
        let items: Vec<(&[f32], usize)> = (0..vectors.len()).map(|i| (vectors.vector(i), i)).collect();
        graph.parallel_insert_slice(&items);
        graph
            .file_dump(dir, GRAPH)
            .map_err(|e| VectorError::Graph(format!("{}: {e}", dir.display())))?;
        drop(items);
        let mut graph = graph;
        graph.set_searching_mode(true);
        Ok(VectorIndex { vectors, graph })
    }

    /// Opens the vector index of a generation; `None` when it was built without one.
    pub fn open(dir: &Path) -> Result<Option<VectorIndex>, VectorError> {
        let Some(vectors) = Vectors::load(dir)? else {
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
            io.load_hnsw::<f32, DistCosine>()
        });
        match loaded {
            Ok(Ok(mut graph)) if graph.get_nb_point() == vectors.len() => {
                graph.set_searching_mode(true);
                Ok(Some(VectorIndex { vectors, graph }))
            }
            _ => Err(VectorError::Graph(dir.display().to_string())),
        }
    }

    /// The `k` vectors most similar to `query` (unit length), as (vector id, cosine),
    /// best first. `allowed` restricts the candidates.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allowed: Option<&dyn Fn(&Entry) -> bool>,
    ) -> Vec<(usize, f32)> {
        if let Some(allow) = allowed {
            let ids: Vec<usize> = (0..self.vectors.len())
                .filter(|&i| allow(&self.vectors.entries[i]))
                .collect();
            if ids.len() <= EXACT_SCAN_MAX {
                return self.exact(query, k, ids.into_iter());
            }
            let filter = |id: &usize| ids.binary_search(id).is_ok();
            return self.graph_search(query, k, Some(&filter));
        }
        self.graph_search(query, k, None)
    }

    fn graph_search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn hnsw_rs::filter::FilterT>,
    ) -> Vec<(usize, f32)> {
        let ef = EF_SEARCH.max(k);
        self.graph
            .search_filter(query, k, ef, filter)
            .into_iter()
            .map(|n| (n.d_id, 1.0 - n.distance))
            .collect()
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
        let built = VectorIndex::build(vectors, dir.path()).unwrap();
        let opened = VectorIndex::open(dir.path()).unwrap().unwrap();
        assert_eq!(opened.vectors.entries, built.vectors.entries);
        assert_eq!(opened.vectors.fingerprint, "test-model");
        let q = opened.vectors.vector(57).to_vec();
        let hits = opened.search(&q, 5, None);
        assert_eq!(hits[0].0, 57);
        assert!((hits[0].1 - 1.0).abs() < 1e-5);
        let only_odd = |e: &Entry| e.section == 1;
        let filtered = opened.search(&q, 5, Some(&only_odd));
        assert!(filtered.iter().all(|(i, _)| i % 2 == 1));
        assert_eq!(filtered.len(), 5);
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
