//! Walking a vault: which files are notes, reading them safely, and resolving links.
//!
//! The walk uses the `ignore` crate (the one ripgrep uses), so hidden folders, `.gitignore`
//! and `.ignore` are honoured and symlink loops are detected rather than followed forever.
//! A file that cannot be a note (too big, binary, not UTF-8, unreadable) is reported as a
//! [`Skipped`] with its reason and the walk goes on: one bad file never fails an index run.
//!
//! Link resolution needs every note id at once, so it happens here, after parsing, the way
//! Obsidian does it: exact id first (case-insensitive), then a unique note whose path ends
//! with the target, then a unique note with that file name.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::note::{strip_md_suffix, Note, NoteId};
use crate::record::{FileStamp, Skipped};
use crate::store::{FileRow, FileTable, Files, NO_NOTE};

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

/// What a walk found: the note files and the folders they are in, each with its stamp as
/// seen during the walk (before any file was read, so a change made while indexing shows
/// up as a change next time).
#[derive(Debug, Default)]
pub struct Listing {
    /// The vault's root, which the paths below are relative to.
    pub root: PathBuf,
    /// (relative path, stamp).
    pub files: Vec<(PathBuf, FileStamp)>,
    /// (relative path, modification time in ns): a folder's time changes when entries are
    /// added, removed or renamed in it.
    pub dirs: Vec<(PathBuf, u128)>,
    /// Entries the walk itself could not read (symlink loops, unreadable folders).
    pub errors: Vec<Skipped>,
}

impl Listing {
    /// (absolute, relative) of every file.
    pub fn paths(&self) -> Vec<(PathBuf, PathBuf)> {
        self.files
            .iter()
            .map(|(r, _)| (self.root.join(r), r.clone()))
            .collect()
    }
}

/// Lists the note files under `root`.
pub fn note_files(root: &Path, options: &WalkOptions) -> Listing {
    let exclude = options.exclude.as_ref().and_then(|p| p.canonicalize().ok());
    let mut walker = ignore::WalkBuilder::new(root);
    walker
        .hidden(true)
        .parents(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .ignore(true)
        .require_git(false)
        .follow_links(true)
        .sort_by_file_name(|a, b| a.cmp(b));
    if let Some(exclude) = exclude {
        walker.filter_entry(move |e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && e.path().canonicalize().map(|p| p == exclude).unwrap_or(false))
        });
    }
    let mut listing = Listing {
        root: root.to_path_buf(),
        ..Listing::default()
    };
    for entry in walker.build() {
        match entry {
            Ok(e) => {
                let path = e.path();
                let relative = path.strip_prefix(root).unwrap_or(path).to_path_buf();
                let Ok(meta) = e.metadata() else { continue };
                if meta.is_dir() {
                    listing.dirs.push((relative, FileStamp::of(&meta).mtime_ns));
                    continue;
                }
                let is_md = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| strip_md_suffix(n).is_some());
                if is_md {
                    listing.files.push((relative, FileStamp::of(&meta)));
                }
            }
            Err(err) => {
                let path = walk_error_path(&err).unwrap_or_else(|| root.to_path_buf());
                let relative = path.strip_prefix(root).map(Path::to_path_buf).unwrap_or(path);
                listing.errors.push(Skipped {
                    path: relative,
                    reason: walk_error_reason(&err),
                })
            }
        }
    }
    listing
}

/// The vault's files as walked, with the ordinal and content hash of each note `notes`
/// holds (files that are not notes, having been skipped, keep their stamp so that the
/// freshness check does not count them again, and are read again by the next update).
pub fn files_of(listing: &Listing, notes: &Notes) -> Files {
    // Keyed by the path's bytes with a fast hash, as an update's plan does.
    let by_path: rustc_hash::FxHashMap<&OsStr, (u32, [u8; 16])> = notes
        .iter()
        .map(|(ord, n)| (n.relative.as_os_str(), (ord, n.hash)))
        .collect();
    listing.table(|rel| by_path.get(rel.as_os_str()).copied())
}

impl Listing {
    /// The files table of this listing: each file's stamp, and the ordinal and content
    /// hash `note_of` gives for the notes among them.
    pub fn table(&self, note_of: impl Fn(&Path) -> Option<(u32, [u8; 16])>) -> Files {
        Files {
            rows: self
                .files
                .iter()
                .map(|(rel, stamp)| {
                    let (ord, hash) = note_of(rel).unwrap_or((NO_NOTE, [0; 16]));
                    FileRow {
                        path: rel.clone(),
                        stamp: stamp.clone(),
                        ord,
                        hash,
                    }
                })
                .collect(),
            dirs: self.dirs.clone(),
        }
    }
}

/// The stamp of each of `rels` (paths relative to `root`) now, `None` where it is gone:
/// one `stat` each, spread over the cores, with no allocation per file.
fn stat_all(root: &Path, rels: &[&OsStr]) -> Vec<Option<FileStamp>> {
    let threads = crate::cores().min(8);
    let chunk = rels.len().div_ceil(threads).max(1);
    let root_dir = RootDir::open(root);
    let root_dir = &root_dir;
    std::thread::scope(|scope| {
        let handles: Vec<_> = rels
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut buf = Vec::with_capacity(256);
                    part.iter()
                        .map(|rel| root_dir.stamp(rel, &mut buf))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// The vault's root, opened once so that each `stat` resolves only the path inside it
/// (`fstatat`): at 50k notes the walk down the root's own path was a large share of the
/// check (the check's cost: BENCHMARKS.md, "Scale").
struct RootDir {
    root: PathBuf,
    #[cfg(unix)]
    dir: Option<std::fs::File>,
}

impl RootDir {
    fn open(root: &Path) -> RootDir {
        RootDir {
            root: root.to_path_buf(),
            #[cfg(unix)]
            dir: std::fs::File::open(root).ok(),
        }
    }

    /// The stamp of `rel` now; `buf` is scratch space kept between calls.
    fn stamp(&self, rel: &OsStr, buf: &mut Vec<u8>) -> Option<FileStamp> {
        #[cfg(unix)]
        if let Some(dir) = &self.dir {
            use std::os::unix::ffi::OsStrExt;
            use std::os::unix::io::AsRawFd;
            buf.clear();
            // The root itself is recorded as "" (fstatat wants "." for it).
            buf.extend_from_slice(if rel.is_empty() { b"." } else { rel.as_bytes() });
            buf.push(0);
            let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
            // SAFETY: `buf` is NUL-terminated and outlives the call; `st` is written by
            // fstatat before it is read, and only read when the call succeeded.
            let st = unsafe {
                if libc::fstatat(dir.as_raw_fd(), buf.as_ptr().cast(), st.as_mut_ptr(), 0) != 0 {
                    return None;
                }
                st.assume_init()
            };
            // As `FileStamp::of`: a time before the epoch is unknown (0).
            let mtime_ns =
                u128::try_from(st.st_mtime).map_or(0, |s| s * 1_000_000_000 + st.st_mtime_nsec as u128);
            return Some(FileStamp {
                size: st.st_size as u64,
                mtime_ns,
            });
        }
        let _ = buf;
        std::fs::metadata(self.root.join(rel))
            .ok()
            .map(|m| FileStamp::of(&m))
    }
}

/// About how many notes changed in `root` since `table` was written (0: nothing did):
/// recorded files whose stamp differs or that are gone, plus new note files in folders
/// whose time moved (new folders counted in full). Hidden and ignored files may be
/// counted; the update that follows decides exactly. One `stat` per file and folder.
pub fn changed_since(root: &Path, table: &FileTable) -> usize {
    let mut files: Vec<(&OsStr, FileStamp)> = Vec::with_capacity(table.files());
    let mut dirs: Vec<(&OsStr, u128)> = Vec::new();
    if table
        .visit(|r| files.push((r.path(), r.stamp())), |d, t| dirs.push((d, t)))
        .is_err()
    {
        return usize::MAX / 2;
    }
    let rels: Vec<&OsStr> = files.iter().map(|(r, _)| *r).collect();
    let mut changed = stat_all(root, &rels)
        .iter()
        .zip(&files)
        .filter(|(now, (_, then))| now.as_ref() != Some(then))
        .count();
    let dir_rels: Vec<&OsStr> = dirs.iter().map(|(r, _)| *r).collect();
    let moved: Vec<&OsStr> = stat_all(root, &dir_rels)
        .iter()
        .zip(&dirs)
        .filter(|(now, (_, then))| now.as_ref().map(|s| s.mtime_ns) != Some(*then))
        .map(|(_, (rel, _))| *rel)
        .collect();
    if !moved.is_empty() {
        let known: std::collections::HashSet<&Path> = files.iter().map(|(r, _)| Path::new(r)).collect();
        let known_dirs: std::collections::HashSet<&Path> = dirs.iter().map(|(r, _)| Path::new(r)).collect();
        for rel in moved {
            let rel = Path::new(rel);
            changed += match root.join(rel).is_dir() {
                true => new_notes_in(root, rel, &known, &known_dirs),
                false => 1,
            };
        }
    }
    changed
}

/// The vault's files now, from the files recorded in `files` (at `since`) alone, one
/// `stat` each and no walk, when that is enough to know them all: no folder's time moved,
/// so no file was added, removed or renamed, and no ignore file changed. `None` when the
/// vault must be walked.
pub fn restat(root: &Path, files: &Files, since: SystemTime) -> Option<Listing> {
    let dir_rels: Vec<&OsStr> = files.dirs.iter().map(|(r, _)| r.as_os_str()).collect();
    let dirs_now = stat_all(root, &dir_rels);
    let moved = dirs_now
        .iter()
        .zip(&files.dirs)
        .any(|(now, (_, then))| now.as_ref().map(|s| s.mtime_ns) != Some(*then));
    let ignores_changed = files.dirs.iter().any(|(dir, _)| {
        [".gitignore", ".ignore"].iter().any(|name| {
            std::fs::metadata(root.join(dir).join(name))
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
    });
    if moved || ignores_changed {
        return None;
    }
    let rels: Vec<&OsStr> = files.rows.iter().map(|r| r.path.as_os_str()).collect();
    let now = stat_all(root, &rels);
    Some(Listing {
        root: root.to_path_buf(),
        files: files
            .rows
            .iter()
            .zip(now)
            .filter_map(|(row, stamp)| Some((row.path.clone(), stamp?)))
            .collect(),
        dirs: files.dirs.clone(),
        errors: Vec::new(),
    })
}

/// Note files under `root/rel` that are not in `known` (recursing into unknown folders).
fn new_notes_in(
    root: &Path,
    rel: &Path,
    known: &std::collections::HashSet<&Path>,
    known_dirs: &std::collections::HashSet<&Path>,
) -> usize {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return 0;
    };
    let mut count = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let child = rel.join(&name);
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() && !known_dirs.contains(child.as_path()) => {
                count += new_notes_in(root, &child, known, known_dirs)
            }
            Ok(t) if !t.is_dir() => {
                let md = name.to_str().is_some_and(|n| strip_md_suffix(n).is_some());
                count += usize::from(md && !known.contains(child.as_path()));
            }
            _ => {}
        }
    }
    count
}

fn walk_error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

fn walk_error_reason(err: &ignore::Error) -> String {
    match err {
        ignore::Error::Loop { ancestor, .. } => {
            format!("symlink loop back to {}", ancestor.display())
        }
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => walk_error_reason(err),
        ignore::Error::Io(e) => format!("unreadable: {e}"),
        other => other.to_string(),
    }
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
    })
}

/// A short content hash.
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
    fn stat_all_sees_the_root_files_and_what_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.md"), "hello").unwrap();
        let rels: Vec<&OsStr> = ["", "sub", "sub/a.md", "gone.md"]
            .iter()
            .map(OsStr::new)
            .collect();
        let got = stat_all(dir.path(), &rels);
        let want = |p: &Path| Some(FileStamp::of(&std::fs::metadata(p).unwrap()));
        assert_eq!(got[0], want(dir.path()));
        assert_eq!(got[1], want(&dir.path().join("sub")));
        assert_eq!(got[2], want(&dir.path().join("sub/a.md")));
        assert_eq!(got[2].as_ref().map(|s| s.size), Some(5));
        assert_eq!(got[3], None);
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
