//! The opt-in write path: the only code in recall that changes a vault.
//!
//! It does two things, and nothing else. `remember` writes a **new** note in the memory
//! format (H1 title, body, `## Tags`, `## Related Memories`, the italic footer), never over
//! an existing file. `reinforce` changes the footer lines `Last updated` and `Strength` of
//! a note (adding them when missing), every other byte kept, and only when the file still
//! has the content the caller read (its hash).
//!
//! Both write atomically: the new content goes to a hidden temporary file in the same
//! folder (which the vault walk skips), is flushed to disk, then takes the note's name in
//! one rename (`persist_noclobber` for a new note, so a file that appeared meanwhile is
//! never replaced); the folder is flushed too. A process killed at any point leaves the
//! note whole, old or new, and at most a hidden temporary file. Which faces may call this
//! (the command line always; servers only with `--allow-write`) is the faces' decision.

mod footer;
mod memory;

use std::fs;
use std::io::Write;
use std::path::Path;

pub use footer::reinforce_text;
pub use memory::{check_folder, check_tag, render, slug, NewMemory, MAX_BODY_BYTES};

use crate::error::{Error, Result};

/// Writes `text` as the new file `path`, atomically, failing with [`Error::Conflict`] when
/// a file of that name exists (or appears meanwhile). Creates the folder when missing.
pub fn create_new(path: &Path, text: &str, id: &str) -> Result<()> {
    let dir = path.parent().ok_or_else(|| io_error(path, "no folder"))?;
    fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    if path.exists() {
        return Err(clash(id));
    }
    let tmp = write_temporary(dir, text, None)?;
    match tmp.persist_noclobber(path) {
        Ok(_) => sync_dir(dir),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(clash(id)),
        Err(e) => Err(Error::Io {
            path: path.to_path_buf(),
            source: e.error,
        }),
    }
}

/// The bytes of note `id`'s file `path`, if they still hash to `expected` (what the index
/// read): else [`Error::Conflict`], the edit since then kept.
pub fn read_unchanged(path: &Path, expected: [u8; 16], id: &str) -> Result<Vec<u8>> {
    let bytes = fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    match crate::vault::content_hash(&bytes) == expected {
        true => Ok(bytes),
        false => Err(Error::Conflict(format!(
            "note `{id}` changed since it was indexed; nothing written: run `recall update` (a server \
             does it by itself), read the note again, then retry"
        ))),
    }
}

/// Replaces the file `path` with `text`, atomically, but only while its content still
/// hashes to `expected` (the caller read it with [`read_unchanged`]): else
/// [`Error::Conflict`]. The file keeps its permissions.
pub fn replace_unchanged(path: &Path, expected: [u8; 16], text: &str, id: &str) -> Result<()> {
    let dir = path.parent().ok_or_else(|| io_error(path, "no folder"))?;
    let permissions = fs::metadata(path)
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?
        .permissions();
    let tmp = write_temporary(dir, text, Some(permissions))?;
    // The last look before the rename: an edit since the caller's read is refused too.
    read_unchanged(path, expected, id)?;
    tmp.persist(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    sync_dir(dir)
}

/// A hidden temporary file in `dir` holding `text`, flushed to disk.
fn write_temporary(
    dir: &Path,
    text: &str,
    permissions: Option<fs::Permissions>,
) -> Result<tempfile::NamedTempFile> {
    let io = |e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".recall-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    if let Some(p) = permissions {
        tmp.as_file().set_permissions(p).map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    Ok(tmp)
}

/// Flushes a folder's entries (the rename) to disk.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
    Ok(())
}

/// The error of a new note whose id is taken.
pub fn clash(id: &str) -> Error {
    Error::Conflict(format!(
        "note `{id}` already exists; nothing written: choose another title (or folder), or reinforce that note"
    ))
}

fn io_error(path: &Path, what: &str) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(what.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_note_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memories/a.md");
        create_new(&path, "one\n", "memories/a").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "one\n");
        let e = create_new(&path, "two\n", "memories/a").unwrap_err();
        assert!(matches!(e, Error::Conflict(_)), "{e}");
        assert!(e.to_string().contains("`memories/a` already exists"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "one\n");
        let left: Vec<_> = fs::read_dir(dir.path().join("memories")).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_replacement_needs_the_content_that_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.md");
        fs::write(&path, "old\n").unwrap();
        let read = crate::vault::content_hash(b"old\n");
        fs::write(&path, "edited meanwhile\n").unwrap();
        let e = replace_unchanged(&path, read, "new\n", "n").unwrap_err();
        assert!(matches!(e, Error::Conflict(_)), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "edited meanwhile\n");
        let now = crate::vault::content_hash(b"edited meanwhile\n");
        replace_unchanged(&path, now, "new\n", "n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
    }
}
