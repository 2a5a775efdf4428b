//! The index folder: generations, atomic publication, the writer lock.
//!
//! Every build writes a complete new *generation* into a staging folder, then publishes it
//! by renaming it into place and atomically replacing the `CURRENT` pointer file. Readers
//! only ever open what `CURRENT` names, so a build that fails, is interrupted or is killed
//! leaves the previous generation answering queries; its staging folder is swept by the
//! next writer. The previous generation is kept one round so that a reader that opened it
//! just before a publish can finish.
//!
//! One writer at a time: `LOCK` is held with an OS file lock (released by the kernel when
//! the process dies, so a crashed writer never leaves a stale lock) and names the holder.
//! A process that keeps the index current (`recall watch`, `serve`, `mcp`) holds `WATCH`
//! the same way, so that a command-line query can skip its own freshness check.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::record::{Prior, Skipped};

pub mod journal;
pub mod tables;

pub use journal::{alive, EmbedProgress, JournalWriter};
pub use tables::{FileRow, FileTable, Files, IdTable, PriorTable, NO_NOTE};

/// Bumped whenever the on-disk layout changes; an index of another format is refused. 9:
/// `priors.bin` holds each note's language (12 bytes a note), the manifest the language
/// gaps. An older recall thus refuses, by its format, an index a newer one wrote.
pub const FORMAT_VERSION: u32 = 9;
/// The oldest format still read: 8 differs only by the 8-byte priors table, read with
/// every note's language unknown (`store::tables`).
const OLDEST_READ: u32 = 8;

const CURRENT: &str = "CURRENT";
const LOCK: &str = "LOCK";
const WATCH: &str = "WATCH";
const MANIFEST: &str = "manifest.json";
const PRIORS: &str = "priors.bin";
const IDS: &str = "ids.bin";
const FILES: &str = "files.bin";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no index at {0}; build one with `recall index VAULT` (or pass --index DIR)")]
    Missing(PathBuf),
    #[error("index at {dir} has format {found}, this recall reads formats {OLDEST_READ} to {expected}; rebuild with `recall index --rebuild VAULT`")]
    Format { dir: PathBuf, found: u32, expected: u32 },
    #[error("index is locked by pid {pid} (another `recall index` or `update` is running)")]
    Locked { pid: String },
    #[error("pid {pid} already keeps this index up to date (`recall watch`, `serve` or `mcp`)")]
    Watched { pid: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: corrupt index file: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The manifest names a language this recall does not know.
    #[error("{dir}: {why}")]
    Language { dir: PathBuf, why: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a generation was built from and with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Absolute path of the vault.
    pub vault: PathBuf,
    /// RFC 3339 time the build finished.
    pub built_at: String,
    pub notes: usize,
    pub sections: usize,
    /// Links that resolve to a note, and links that do not.
    pub links_resolved: usize,
    pub links_unresolved: usize,
    /// The next note ordinal to give out (ordinals are never reused).
    pub next_ord: u32,
    pub skipped: Vec<Skipped>,
    pub max_file_bytes: u64,
    pub build_ms: u64,
    /// Fingerprint of the embedding model, when the index has vectors.
    pub model: Option<String>,
    /// The stemming language of the keyword index (`analysis::Analysis` code).
    pub language: String,
    /// A keyword index published while its embeddings are still being made (or were
    /// interrupted: the next `recall index` or `update` finishes them).
    #[serde(default)]
    pub embedding_pending: bool,
    /// How the embedding model was chosen (`--model`, or what `auto` measured).
    #[serde(default)]
    pub model_choice: Option<String>,
    /// The multilingual model's language gaps in this vault (`gap`), measured by a full
    /// build with that model; an update keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_gaps: Option<crate::record::Gaps>,
}

impl Manifest {
    /// Why the loaded model (`fingerprint`) cannot serve this index, if it cannot: the
    /// one model check of queries and updates.
    pub fn model_mismatch(&self, fingerprint: &str) -> Option<String> {
        self.model.as_deref().filter(|m| *m != fingerprint).map(|m| {
            format!(
                "the index was built with model {m} but {fingerprint} is loaded; rebuild with `recall index --rebuild`"
            )
        })
    }
}

/// The index folder.
#[derive(Debug, Clone)]
pub struct IndexDir {
    pub root: PathBuf,
}

/// A published, read-only generation.
#[derive(Debug, Clone)]
pub struct Generation {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// A generation being built; removed on drop unless published.
pub struct Staging {
    dir: PathBuf,
    root: PathBuf,
    published: bool,
    /// The tables are written (see [`Staging::write_tables`]).
    tables: bool,
}

/// The exclusive writer lock; released on drop (or by the kernel if the process dies).
pub struct WriteLock {
    _file: File,
}

/// Held while a process keeps the index current; released on drop (or by the kernel).
pub struct WatchLock {
    _file: File,
}

impl IndexDir {
    pub fn new(root: impl Into<PathBuf>) -> IndexDir {
        IndexDir { root: root.into() }
    }

    /// The name of the generation `CURRENT` names.
    pub fn current_name(&self) -> Result<String, StoreError> {
        let pointer = self.root.join(CURRENT);
        match fs::read_to_string(&pointer) {
            Ok(s) => Ok(s.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::Missing(self.root.clone())),
            Err(e) => Err(io(&pointer)(e)),
        }
    }

    /// The model the current generation's vectors were made with (`name:hash`), if it has
    /// vectors: what every query process embeds with.
    pub fn recorded_model(&self) -> Option<String> {
        self.open().ok().and_then(|g| g.manifest.model)
    }

    /// The generation `CURRENT` names.
    pub fn open(&self) -> Result<Generation, StoreError> {
        let dir = self.root.join(self.current_name()?);
        let manifest_path = dir.join(MANIFEST);
        let manifest: Manifest = read_json(&manifest_path)?;
        if !(OLDEST_READ..=FORMAT_VERSION).contains(&manifest.format) {
            return Err(StoreError::Format {
                dir: self.root.clone(),
                found: manifest.format,
                expected: FORMAT_VERSION,
            });
        }
        Ok(Generation { dir, manifest })
    }

    /// Takes the writer lock, or says who holds it.
    pub fn lock(&self) -> Result<WriteLock, StoreError> {
        match self.hold(LOCK)? {
            Ok(file) => Ok(WriteLock { _file: file }),
            Err(pid) => Err(StoreError::Locked { pid }),
        }
    }

    /// Declares that this process keeps the index current, or says who already does.
    pub fn watch_lock(&self) -> Result<WatchLock, StoreError> {
        match self.hold(WATCH)? {
            Ok(file) => Ok(WatchLock { _file: file }),
            Err(pid) => Err(StoreError::Watched { pid }),
        }
    }

    /// Takes an exclusive OS lock on the file `name` and writes this process's pid into
    /// it; or, when another process holds it, that process's pid.
    fn hold(&self, name: &str) -> Result<Result<File, String>, StoreError> {
        fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        let path = self.root.join(name);
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let pid = fs::read_to_string(&path).unwrap_or_default().trim().to_string();
                return Ok(Err(if pid.is_empty() { "?".into() } else { pid }));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        file.set_len(0).map_err(io(&path))?;
        write!(file, "{}", std::process::id()).map_err(io(&path))?;
        Ok(Ok(file))
    }

    /// Whether a live process holds the watch lock (one `open` and a lock probe).
    pub fn is_watched(&self) -> bool {
        let Ok(file) = File::open(self.root.join(WATCH)) else {
            return false;
        };
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(_) => true,
        }
    }

    /// A fresh staging folder. Sweeps staging folders left by dead writers (the caller
    /// holds the lock, so none of them is live).
    pub fn stage(&self, _lock: &WriteLock) -> Result<Staging, StoreError> {
        if let Ok(entries) = fs::read_dir(&self.root) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with("staging-") {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = self.root.join(format!("staging-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(Staging {
            dir,
            root: self.root.clone(),
            published: false,
            tables: false,
        })
    }

    fn generations(&self) -> Vec<(u64, PathBuf)> {
        let mut out: Vec<(u64, PathBuf)> = fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name.strip_prefix("gen-")?.parse().ok()?;
                Some((n, e.path()))
            })
            .collect();
        out.sort();
        out
    }
}

impl Staging {
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes the tables: priors and ids by ordinal, the vault's files. An update writes
    /// them while its model is still loading, so that their writing and syncing is not
    /// left for after the embedding.
    pub fn write_tables(
        &mut self,
        priors: &[Prior],
        ids: &[String],
        files: &Files,
    ) -> Result<(), StoreError> {
        tables::write_priors(&self.dir.join(PRIORS), priors)?;
        tables::write_ids(&self.dir.join(IDS), ids)?;
        files.write(&self.dir.join(FILES))?;
        self.tables = true;
        Ok(())
    }

    /// Writes the manifest and the tables (unless [`Staging::write_tables`] has), then
    /// makes this generation current.
    pub fn publish(
        mut self,
        manifest: &Manifest,
        priors: &[Prior],
        ids: &[String],
        files: &Files,
    ) -> Result<PathBuf, StoreError> {
        if !self.tables {
            self.write_tables(priors, ids, files)?;
        }
        write_json(&self.dir.join(MANIFEST), manifest)?;
        let index = IndexDir::new(&self.root);
        let generations = index.generations();
        let next = generations.last().map(|(n, _)| n + 1).unwrap_or(1);
        let name = format!("gen-{next:06}");
        let target = self.root.join(&name);
        fs::rename(&self.dir, &target).map_err(io(&target))?;
        self.published = true;
        sync_dir(&self.root);
        let tmp = self.root.join(format!("{CURRENT}.tmp"));
        fs::write(&tmp, &name).map_err(io(&tmp))?;
        File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
        fs::rename(&tmp, self.root.join(CURRENT)).map_err(io(&tmp))?;
        sync_dir(&self.root);
        // Keep the generation just replaced for readers that opened it a moment ago.
        for (_, old) in generations.iter().rev().skip(1) {
            let _ = fs::remove_dir_all(old);
        }
        Ok(target)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl Generation {
    /// The text analysis the index was built with (its manifest's language).
    pub fn analysis(&self) -> Result<Analysis, StoreError> {
        Analysis::new(&self.manifest.language).map_err(|why| StoreError::Language {
            dir: self.dir.clone(),
            why,
        })
    }

    pub fn tantivy_dir(&self) -> PathBuf {
        self.dir.join("tantivy")
    }

    /// Replaces the recorded files (after an update found nothing to re-index: only
    /// stamps moved). The only file a published generation ever rewrites: a hint for the
    /// freshness check, written atomically.
    pub fn save_files(&self, files: &Files) -> Result<(), StoreError> {
        files.write(&self.dir.join(FILES))
    }

    /// The vault's files when this generation was built, mapped (for the freshness check).
    pub fn file_table(&self) -> Result<FileTable, StoreError> {
        FileTable::open(&self.dir.join(FILES))
    }

    /// When the files table was last written (what it says is true as of then).
    pub fn files_written(&self) -> Option<std::time::SystemTime> {
        fs::metadata(self.dir.join(FILES)).and_then(|m| m.modified()).ok()
    }

    /// The vault's files when this generation was built.
    pub fn files(&self) -> Result<Files, StoreError> {
        Files::read(&self.dir.join(FILES))
    }

    /// Strength and date of every note, by ordinal, mapped.
    pub fn priors(&self) -> Result<PriorTable, StoreError> {
        PriorTable::open(&self.dir.join(PRIORS))
    }

    /// The id of every note, by ordinal, mapped.
    pub fn ids(&self) -> Result<IdTable, StoreError> {
        IdTable::open(&self.dir.join(IDS))
    }

    /// Bytes on disk of this generation.
    pub fn size_bytes(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        }
        walk(&self.dir)
    }
}

/// Makes `to` hold the files of `from` (a published generation) by hard links (copies
/// where links are impossible), folders included; its manifest is left out.
pub fn link_tree(from: &Path, to: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(to).map_err(io(to))?;
    for entry in fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == MANIFEST || entry.file_name().to_string_lossy().ends_with(".lock") {
            continue;
        }
        if entry.file_type().map_err(io(&src))?.is_dir() {
            link_tree(&src, &dst)?;
        } else if fs::hard_link(&src, &dst).is_err() {
            fs::copy(&src, &dst).map_err(io(&src))?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Writes JSON through a temporary file, synced, then renamed into place.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), StoreError> {
    let tmp = path.with_extension("json.tmp");
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, value).map_err(|source| StoreError::Corrupt {
        path: tmp.clone(),
        source,
    })?;
    let file = w.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, StoreError> {
    let bytes = fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}
