//! Freshness: whether the files of a vault still have the stamps the index recorded,
//! checked with one `stat` per file (relative to an open root folder, spread over the
//! cores), and the listing of an update when no folder changed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Listing;
use crate::note::strip_md_suffix;
use crate::record::FileStamp;
use crate::store::{FileTable, Files};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
