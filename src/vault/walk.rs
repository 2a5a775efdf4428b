//! The walk: which files of a vault are notes, with the `ignore` crate (the one ripgrep
//! uses), so hidden folders, `.gitignore` and `.ignore` are honoured and symlink loops are
//! detected rather than followed forever.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::{Notes, WalkOptions};
use crate::note::strip_md_suffix;
use crate::record::{FileStamp, Skipped};
use crate::store::{FileRow, Files, NO_NOTE};

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
