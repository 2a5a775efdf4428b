//! Walking a vault: which files are notes (`walk`), whether they changed (`fresh`),
//! reading them safely, and resolving links (`links`).
//!
//! The walk uses the `ignore` crate (the one ripgrep uses), so hidden folders, `.gitignore`
//! and `.ignore` are honoured and symlink loops are detected rather than followed forever.
//! A file that cannot be a note (too big, binary, not UTF-8, unreadable) is reported as a
//! [`Skipped`] with its reason and the walk goes on: one bad file never fails an index run.
//!
//! Link resolution needs every note id at once, so it happens here, after parsing, the way
//! Obsidian does it: exact id first (case-insensitive), then a unique note whose path ends
//! with the target, then a unique note with that file name.

mod fresh;
mod links;
mod walk;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::note::{Note, NoteId};
use crate::record::{FileStamp, Skipped};
use crate::store::Files;
pub use fresh::{changed_since, restat};
pub use links::{suggestions, Resolver};
pub use walk::{files_of, note_files, Listing};

/// Files larger than this are skipped unless the caller says otherwise.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Options for walking a vault.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub max_file_bytes: u64,
    /// A folder never to descend into (the index, when it lives inside the vault).
    pub exclude: Option<PathBuf>,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            exclude: None,
        }
    }
}

/// A parsed note with where it came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadedNote {
    pub note: Note,
    /// Path relative to the vault root.
    pub relative: PathBuf,
    pub stamp: FileStamp,
    /// Content hash: a file touched but not changed is not re-indexed.
    pub hash: [u8; 16],
    /// The file's size in characters (what reading it whole costs a caller), counted once
    /// here so that no result list reads files to say it.
    pub chars: usize,
}

impl LoadedNote {
    /// The date freshness is judged by: last updated, else established, else the file's
    /// modification time.
    pub fn effective_updated(&self) -> Option<NaiveDate> {
        self.note.meta.updated.or(self.note.meta.established).or_else(|| {
            let secs = i64::try_from(self.stamp.mtime_ns / 1_000_000_000).ok()?;
            chrono::DateTime::from_timestamp(secs, 0).map(|d| d.date_naive())
        })
    }
}

/// Every note of a vault, parsed and with links resolved.
#[derive(Debug)]
pub struct Vault {
    pub root: PathBuf,
    pub notes: Notes,
    pub skipped: Vec<Skipped>,
    /// The files as walked, with the ordinal and hash of each note.
    pub files: Files,
}

/// Errors that stop a whole walk (a single bad file never does).
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("vault {0} does not exist or is not a folder")]
    NotAFolder(PathBuf),
}

/// Reads one note file, or says why it is not a note.
pub fn read_note(path: &Path, relative: &Path, max_bytes: u64) -> Result<LoadedNote, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("unreadable: {e}"))?;
    // A FIFO would block forever and /dev/zero never end: only regular files are notes.
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let too_large = |len: u64| format!("too large: {len} bytes (limit {max_bytes}; see --max-file-size)");
    if meta.len() > max_bytes {
        return Err(too_large(meta.len()));
    }
    // The file may grow between the stat and the read: never read past the limit.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, max_bytes + 1), &mut bytes))
        .map_err(|e| format!("unreadable: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    if bytes.contains(&0) {
        return Err("binary: contains NUL bytes".into());
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))?;
    let hash = content_hash(text.as_bytes());
    let note = Note::parse(NoteId::from_relative_path(relative), &text);
    Ok(LoadedNote {
        note,
        relative: relative.to_path_buf(),
        stamp: FileStamp::of(&meta),
        hash,
        chars: text.chars().count(),
    })
}

/// A short content hash.
/// The text of up to `max` of the vault's notes, spread evenly over its sorted listing:
/// what a measure of the whole vault (its languages) reads instead of every note.
pub fn sample_texts(root: &Path, max: usize) -> Vec<String> {
    let listing = note_files(root, &WalkOptions::default());
    let step = listing.files.len().div_ceil(max.max(1)).max(1);
    listing
        .files
        .iter()
        .step_by(step)
        .filter_map(|(relative, _)| {
            // Regular files only (a FIFO would block, /dev/zero never end), and only their
            // start.
            let path = root.join(relative);
            if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                return None;
            }
            let mut bytes = Vec::new();
            let file = std::fs::File::open(&path).ok()?;
            std::io::Read::read_to_end(&mut std::io::Read::take(file, 64 * 1024), &mut bytes).ok()?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

pub fn content_hash(bytes: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(bytes).as_bytes()[..16]);
    out
}

/// Every indexed note by ordinal (its number in the indexes). A deleted note leaves an
/// empty slot until the next full build, so ordinals stay valid across incremental
/// updates.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Notes {
    slots: Vec<Option<LoadedNote>>,
}

impl Notes {
    pub fn new(notes: Vec<LoadedNote>) -> Notes {
        Notes {
            slots: notes.into_iter().map(Some).collect(),
        }
    }

    pub fn get(&self, ord: u32) -> Option<&LoadedNote> {
        self.slots.get(ord as usize).and_then(Option::as_ref)
    }

    /// Live notes with their ordinals.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &LoadedNote)> + Clone {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i as u32, n)))
    }

    /// Number of ordinals in use, empty slots included.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Number of live notes.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|n| n.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a note under a new ordinal.
    pub fn push(&mut self, note: LoadedNote) -> u32 {
        self.slots.push(Some(note));
        (self.slots.len() - 1) as u32
    }

    pub fn replace(&mut self, ord: u32, note: LoadedNote) {
        self.slots[ord as usize] = Some(note);
    }

    pub fn remove(&mut self, ord: u32) {
        self.slots[ord as usize] = None;
    }

    pub fn get_mut(&mut self, ord: u32) -> Option<&mut LoadedNote> {
        self.slots.get_mut(ord as usize).and_then(Option::as_mut)
    }

    /// Resolves every link again (after notes came or went).
    pub fn resolve_links(&mut self) {
        let resolver = Resolver::new(self.slots.iter().flatten().map(|n| &n.note.id));
        for n in self.slots.iter_mut().flatten() {
            for link in &mut n.note.links {
                link.resolved = resolver.resolve(&link.target);
            }
        }
    }
}

/// Reads and parses `files` (absolute, relative) on every core; `progress` hears (done,
/// total) after each file.
pub fn read_all(
    files: &[(PathBuf, PathBuf)],
    max_bytes: u64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<Result<LoadedNote, Skipped>> {
    let total = files.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let threads = crate::cores().min(8);
    let chunk = total.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                scope.spawn(move || {
                    part.iter()
                        .map(|(abs, rel)| {
                            let r = read_note(abs, rel, max_bytes).map_err(|reason| Skipped {
                                path: rel.clone(),
                                reason,
                            });
                            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, total);
                            r
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("parser thread panicked"))
            .collect()
    })
}

impl Vault {
    /// Walks, reads and parses every note under `root`, then resolves links.
    /// `progress` is called after each file with (done, total).
    pub fn load(
        root: &Path,
        options: &WalkOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Vault, VaultError> {
        if !root.is_dir() {
            return Err(VaultError::NotAFolder(root.to_path_buf()));
        }
        let listing = note_files(root, options);
        let mut skipped = listing.errors.clone();
        let mut notes = Vec::with_capacity(listing.files.len());
        for r in read_all(&listing.paths(), options.max_file_bytes, progress) {
            match r {
                Ok(n) => notes.push(n),
                Err(s) => skipped.push(s),
            }
        }
        dedupe_ids(&mut notes, &mut skipped);
        let mut notes = Notes::new(notes);
        notes.resolve_links();
        Ok(Vault {
            root: root.to_path_buf(),
            files: files_of(&listing, &notes),
            notes,
            skipped,
        })
    }
}

/// `Note.md` and `note.MD` in one folder would share an id; keep the first, skip the rest.
fn dedupe_ids(notes: &mut Vec<LoadedNote>, skipped: &mut Vec<Skipped>) {
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| {
        if seen.insert(n.note.id.clone()) {
            true
        } else {
            skipped.push(Skipped {
                path: n.relative.clone(),
                reason: format!("duplicate note id {}", n.note.id),
            });
            false
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_bad_files_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("good.md"), "# Good\ntext").unwrap();
        std::fs::write(root.join("binary.md"), b"# B\0\x01").unwrap();
        std::fs::write(root.join("latin1.md"), b"# Caf\xe9").unwrap();
        std::fs::write(root.join("big.md"), "x".repeat(2000)).unwrap();
        std::fs::write(root.join("ignored.md"), "# I").unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.md\n").unwrap();
        std::fs::create_dir(root.join(".obsidian")).unwrap();
        std::fs::write(root.join(".obsidian/hidden.md"), "# H").unwrap();
        std::fs::write(root.join("notes.txt"), "not markdown").unwrap();
        let options = WalkOptions {
            max_file_bytes: 1000,
            exclude: None,
        };
        let vault = Vault::load(root, &options, &|_, _| {}).unwrap();
        let ids: Vec<&str> = vault.notes.iter().map(|(_, n)| n.note.id.as_str()).collect();
        assert_eq!(ids, vec!["good"]);
        let mut reasons: Vec<(String, String)> = vault
            .skipped
            .iter()
            .map(|s| (s.path.display().to_string(), s.reason.clone()))
            .collect();
        reasons.sort();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].0 == "big.md" && reasons[0].1.starts_with("too large"));
        assert!(reasons[1].0 == "binary.md" && reasons[1].1.starts_with("binary"));
        assert!(reasons[2].0 == "latin1.md" && reasons[2].1.contains("UTF-8"));
    }
}
