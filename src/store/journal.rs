//! Embedding in progress: what a first build has embedded so far, kept outside any
//! generation so that it survives the build being killed.
//!
//! A first build of a large vault publishes its keyword index first, then embeds for
//! minutes. Each finished group of vectors is appended to `embeddings.journal` (text hash
//! and stored row, after a header naming the model), and `EMBEDDING` says how far it got,
//! for searches to tell their users. A build that is killed leaves both behind; the next
//! build reads the journal back and embeds only what is missing. A build that completes
//! removes them. Rows are written whole or not at all as far as readers care: a truncated
//! last record is ignored.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{io, IndexDir, StoreError};

const JOURNAL: &str = "embeddings.journal";
const PROGRESS: &str = "EMBEDDING";
const MAGIC: &[u8; 8] = b"RCLJRN01";

/// How far embedding has got.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmbedProgress {
    pub done: usize,
    pub total: usize,
    /// The process embedding (to tell a live build from a dead one).
    pub pid: u32,
}

/// Whether process `pid` is alive (on Linux; elsewhere assumed alive).
pub fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Appends embedded rows to the journal.
pub struct JournalWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl JournalWriter {
    /// Appends `hash` and its stored `row`.
    pub fn append(&mut self, hash: &[u8; 16], row: &[u8]) -> Result<(), StoreError> {
        self.out.write_all(hash).map_err(io(&self.path))?;
        self.out.write_all(row).map_err(io(&self.path))
    }

    /// Makes what was appended durable.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.out.flush().map_err(io(&self.path))?;
        self.out.get_ref().sync_data().map_err(io(&self.path))
    }
}

fn header(fingerprint: &str, row_len: usize) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&(row_len as u32).to_le_bytes());
    h.extend_from_slice(&(fingerprint.len() as u32).to_le_bytes());
    h.extend_from_slice(fingerprint.as_bytes());
    h
}

impl IndexDir {
    /// The rows a killed build embedded with this model: text hash → stored row.
    pub fn journal(&self, fingerprint: &str, row_len: usize) -> HashMap<[u8; 16], Vec<u8>> {
        let mut bytes = Vec::new();
        let read = File::open(self.root.join(JOURNAL)).and_then(|mut f| f.read_to_end(&mut bytes));
        let header = header(fingerprint, row_len);
        if read.is_err() || !bytes.starts_with(&header) {
            return HashMap::new();
        }
        bytes[header.len()..]
            .chunks_exact(16 + row_len)
            .map(|r| {
                let mut hash = [0u8; 16];
                hash.copy_from_slice(&r[..16]);
                (hash, r[16..].to_vec())
            })
            .collect()
    }

    /// A journal to append to: the existing one when it is for this model, else a new one.
    pub fn journal_writer(&self, fingerprint: &str, row_len: usize) -> Result<JournalWriter, StoreError> {
        let path = self.root.join(JOURNAL);
        let header = header(fingerprint, row_len);
        let mut start = vec![0u8; header.len()];
        let matches = File::open(&path)
            .and_then(|mut f| f.read_exact(&mut start))
            .is_ok()
            && start == header;
        let file = if matches {
            // Drop a partial last record so that appends stay aligned.
            let len = fs::metadata(&path).map_err(io(&path))?.len() as usize;
            let whole = header.len() + (len - header.len()) / (16 + row_len) * (16 + row_len);
            let f = OpenOptions::new().append(true).open(&path).map_err(io(&path))?;
            f.set_len(whole as u64).map_err(io(&path))?;
            f
        } else {
            let mut f = File::create(&path).map_err(io(&path))?;
            f.write_all(&header).map_err(io(&path))?;
            f
        };
        Ok(JournalWriter {
            out: BufWriter::new(file),
            path,
        })
    }

    /// Records how far embedding has got (atomically: readers never see half of it).
    pub fn set_progress(&self, done: usize, total: usize) -> Result<(), StoreError> {
        let p = EmbedProgress {
            done,
            total,
            pid: std::process::id(),
        };
        super::write_json(&self.root.join(PROGRESS), &p)
    }

    /// How far a build's embedding has got, if one is under way or was interrupted.
    pub fn progress(&self) -> Option<EmbedProgress> {
        super::read_json(&self.root.join(PROGRESS)).ok()
    }

    /// Forgets a finished embedding: the journal and the progress.
    pub fn clear_embedding(&self) {
        let _ = fs::remove_file(self.root.join(JOURNAL));
        let _ = fs::remove_file(self.root.join(PROGRESS));
    }
}
