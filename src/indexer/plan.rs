//! Planning an update: what changed in the vault since the generation being updated, in
//! named steps that each take and return plain tables.
//!
//! 1. [`diff`]: the files read again (new, or stamped differently) against the old files
//!    table: changed notes keep their ordinal, new ones take the next, files that stopped
//!    being notes (now unreadable, too large) leave; a file touched but not changed moves
//!    only its stamp.
//! 2. [`deleted`]: recorded notes whose files are no longer listed.
//! 3. [`drop_id_clashes`]: a new note whose id another file already gives (`Note.md` and
//!    `note.MD` in one folder) is skipped, as a full build does.
//! 4. [`relink`]: notes that came or went can change what other notes' links resolve to;
//!    those notes are read again and rewritten (only when a link of theirs really moved).
//!
//! Only the first and last steps touch the disk or the old index; the middle ones are
//! pure and unit-tested below.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};

use super::{walk_options, Changes, IndexOptions, Progress, Stage};
use crate::error::Result;
use crate::lexical::notes::keys_answered_by;
use crate::lexical::LexicalIndex;
use crate::note::NoteId;
use crate::record::{FileStamp, Skipped};
use crate::store::{FileRow, Files, Generation, IndexDir, NO_NOTE};
use crate::vault::{note_files, read_all, LoadedNote, Resolver};

/// What changed in the vault since generation `g`.
pub(super) struct Plan {
    /// Notes to write, under their ordinals, text included: changed and new notes, and
    /// notes whose links resolve differently now that notes came or went.
    pub write: Vec<(u32, LoadedNote)>,
    /// Ordinals whose documents and vectors must go (changed, deleted and relinked notes).
    pub remove: Vec<u32>,
    pub changes: Changes,
    pub skipped: Vec<Skipped>,
    pub files: Files,
    pub next_ord: u32,
}

/// The old files table by path: keyed by the path's bytes with a fast hash, as std's
/// component-wise path hashing was a large share of planning a big vault.
type ByPath<'a> = FxHashMap<&'a OsStr, &'a FileRow>;

/// The plan as the steps build it.
#[derive(Default)]
struct Draft {
    write: Vec<(u32, LoadedNote)>,
    remove: Vec<u32>,
    changes: Changes,
    skipped: Vec<Skipped>,
    /// Notes written, under their ordinal and new hash.
    fresh: FxHashMap<PathBuf, (u32, [u8; 16])>,
    /// Old notes whose files stopped being notes.
    unnoted: FxHashSet<PathBuf>,
    next_ord: u32,
}

impl Draft {
    /// The note a listed file holds now, by ordinal and hash: the one written, else its
    /// old row's unless it stopped being a note.
    fn note_now(&self, by_path: &ByPath<'_>, rel: &Path) -> Option<(u32, [u8; 16])> {
        self.fresh.get(rel).copied().or_else(|| {
            let row = by_path.get(rel.as_os_str())?;
            (row.ord != NO_NOTE && !self.unnoted.contains(rel)).then_some((row.ord, row.hash))
        })
    }
}

pub(super) fn plan(
    g: &Generation,
    old: &LexicalIndex,
    options: &IndexOptions,
    index: &IndexDir,
    progress: Progress<'_>,
) -> Result<Plan> {
    let vault = &g.manifest.vault;
    let before = g.files()?;
    let by_path: ByPath<'_> = before.rows.iter().map(|r| (r.path.as_os_str(), r)).collect();
    // Contents changed in place leave folders alone: then one stat per recorded file is
    // the whole listing; a file added, removed or renamed moves a folder: walk again.
    let listing = g
        .files_written()
        .and_then(|since| crate::vault::restat(vault, &before, since))
        .unwrap_or_else(|| note_files(vault, &walk_options(index, options)));
    let to_read: Vec<(PathBuf, PathBuf)> = to_read(&by_path, &listing.files)
        .map(|rel| (vault.join(rel), rel.to_path_buf()))
        .collect();
    let read = read_all(&to_read, options.max_file_bytes, &|d, t| {
        progress(Stage::Reading, d, t)
    });
    let mut draft = diff(&by_path, read, g.manifest.next_ord);
    draft.skipped.splice(0..0, listing.errors.iter().cloned());
    let gone_ids = deleted(&before, &listing.files, &mut draft);
    drop_id_clashes(&by_path, &listing.files, &mut draft);
    relink(g, old, options, &gone_ids, &mut draft)?;
    draft.remove.sort_unstable();
    draft.remove.dedup();
    let files = listing.table(|rel| draft.note_now(&by_path, rel));
    Ok(Plan {
        write: draft.write,
        remove: draft.remove,
        changes: draft.changes,
        skipped: draft.skipped,
        files,
        next_ord: draft.next_ord,
    })
}

/// The listed files to read again: new ones, ones stamped differently, and ones skipped
/// last time (no note), which may have been fixed.
fn to_read<'a>(
    by_path: &'a ByPath<'_>,
    listed: &'a [(PathBuf, FileStamp)],
) -> impl Iterator<Item = &'a Path> {
    listed
        .iter()
        .filter(|(rel, stamp)| {
            by_path
                .get(rel.as_os_str())
                .is_none_or(|row| row.ord == NO_NOTE || row.stamp != *stamp)
        })
        .map(|(rel, _)| rel.as_path())
}

/// Step 1: the files read again, against the old table.
fn diff(
    by_path: &ByPath<'_>,
    read: impl IntoIterator<Item = Result<LoadedNote, Skipped>>,
    next_ord: u32,
) -> Draft {
    let mut d = Draft {
        next_ord,
        ..Draft::default()
    };
    for r in read {
        match r {
            Ok(loaded) => match by_path
                .get(loaded.relative.as_os_str())
                .filter(|row| row.ord != NO_NOTE)
            {
                // Touched, not changed: only the stamp moves.
                Some(row) if row.hash == loaded.hash => {}
                Some(row) => {
                    d.remove.push(row.ord);
                    d.fresh.insert(loaded.relative.clone(), (row.ord, loaded.hash));
                    d.write.push((row.ord, loaded));
                    d.changes.changed += 1;
                }
                None => {
                    d.fresh.insert(loaded.relative.clone(), (d.next_ord, loaded.hash));
                    d.write.push((d.next_ord, loaded));
                    d.next_ord += 1;
                    d.changes.added += 1;
                }
            },
            Err(skip) => {
                if let Some(row) = by_path
                    .get(skip.path.as_os_str())
                    .filter(|row| row.ord != NO_NOTE)
                {
                    d.unnoted.insert(row.path.clone());
                    d.remove.push(row.ord);
                    d.changes.deleted += 1;
                }
                d.skipped.push(skip);
            }
        }
    }
    d
}

/// Step 2: recorded notes whose files are no longer listed leave; returns their ids.
fn deleted(before: &Files, listed: &[(PathBuf, FileStamp)], d: &mut Draft) -> Vec<String> {
    let listed: FxHashSet<&OsStr> = listed.iter().map(|(rel, _)| rel.as_os_str()).collect();
    let mut gone = Vec::new();
    for row in before
        .rows
        .iter()
        .filter(|r| r.ord != NO_NOTE && !listed.contains(r.path.as_os_str()))
    {
        d.remove.push(row.ord);
        d.changes.deleted += 1;
        gone.push(NoteId::from_relative_path(&row.path).0);
    }
    gone
}

/// Step 3: a new note whose id another listed file gives is skipped. Only a new file can
/// take an id: a changed one keeps its path, so its id.
fn drop_id_clashes(by_path: &ByPath<'_>, listed: &[(PathBuf, FileStamp)], d: &mut Draft) {
    if d.changes.added == 0 {
        return;
    }
    // The note that keeps an id is the one that had it (old ordinals are lower), else
    // the first new one, as in a full build; whichever order the listing has.
    let mut taken: HashMap<String, u32> = HashMap::new();
    for (rel, _) in listed {
        if let Some((ord, _)) = d.note_now(by_path, rel) {
            let id = NoteId::from_relative_path(rel).0;
            taken.entry(id).and_modify(|o| *o = (*o).min(ord)).or_insert(ord);
        }
    }
    let mut clashes = Vec::new();
    d.write.retain(|(ord, n)| {
        let clash = taken.get(n.note.id.as_str()).is_some_and(|o| o != ord);
        if clash {
            clashes.push(n.relative.clone());
            d.skipped.push(Skipped {
                path: n.relative.clone(),
                reason: format!("duplicate note id {}", n.note.id),
            });
        }
        !clash
    });
    for rel in clashes {
        d.fresh.remove(&rel);
        d.changes.added -= 1;
    }
}

/// Step 4: links resolve against every note there is now; notes of the old index whose
/// links now resolve differently are read again and written.
fn relink(
    g: &Generation,
    old: &LexicalIndex,
    options: &IndexOptions,
    gone_ids: &[String],
    d: &mut Draft,
) -> Result<()> {
    let added_ids: Vec<&str> = d
        .write
        .iter()
        .filter(|(ord, _)| !d.remove.contains(ord))
        .map(|(_, n)| n.note.id.as_str())
        .collect();
    let mut affected: Vec<(u32, LoadedNote)> = Vec::new();
    if !added_ids.is_empty() || !gone_ids.is_empty() {
        let keys: Vec<String> = added_ids
            .iter()
            .copied()
            .chain(gone_ids.iter().map(String::as_str))
            .flat_map(keys_answered_by)
            .collect();
        let mut linking: HashSet<u32> = old.notes().linking_by_key(&keys)?.into_iter().collect();
        for &ord in &d.remove {
            linking.extend(old.notes().backlinks(ord)?);
        }
        let written: HashSet<u32> = d
            .write
            .iter()
            .map(|(o, _)| *o)
            .chain(d.remove.iter().copied())
            .collect();
        for ord in linking.into_iter().filter(|o| !written.contains(o)) {
            if let Some(record) = old.notes().record(ord)? {
                affected.push((ord, record));
            }
        }
    }
    // The old notes that stay (their ids from the mapped ids table, no path to turn into
    // an id) and the ones written.
    let old_ids = g.ids()?;
    let leaving: FxHashSet<u32> = d.remove.iter().copied().collect();
    let live = (0..g.manifest.next_ord)
        .filter(|o| !leaving.contains(o))
        .filter_map(|o| old_ids.get(o).filter(|id| !id.is_empty()))
        .chain(d.write.iter().map(|(_, n)| n.note.id.as_str()));
    let targets = d
        .write
        .iter()
        .chain(&affected)
        .flat_map(|(_, n)| n.note.links.iter().map(|l| l.target.as_str()));
    let resolver = Resolver::for_targets(live, targets);
    for (_, n) in &mut d.write {
        for link in &mut n.note.links {
            link.resolved = resolver.resolve(&link.target);
        }
    }
    for (ord, record) in affected {
        let moved = record
            .note
            .links
            .iter()
            .any(|l| resolver.resolve(&l.target) != l.resolved);
        if !moved {
            continue;
        }
        let abs = g.manifest.vault.join(&record.relative);
        match crate::vault::read_note(&abs, &record.relative, options.max_file_bytes) {
            Ok(mut loaded) => {
                for link in &mut loaded.note.links {
                    link.resolved = resolver.resolve(&link.target);
                }
                d.fresh.insert(loaded.relative.clone(), (ord, loaded.hash));
                d.remove.push(ord);
                d.write.push((ord, loaded));
            }
            Err(reason) => d.skipped.push(Skipped {
                path: record.relative.clone(),
                reason,
            }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Note;

    fn stamp(size: u64) -> FileStamp {
        FileStamp { size, mtime_ns: 1 }
    }

    fn row(path: &str, ord: u32, hash: u8) -> FileRow {
        FileRow {
            path: path.into(),
            stamp: stamp(1),
            ord,
            hash: [hash; 16],
        }
    }

    fn loaded(path: &str, hash: u8) -> LoadedNote {
        let relative = PathBuf::from(path);
        let id = NoteId::from_relative_path(&relative);
        LoadedNote {
            note: Note::parse(id, "# A note\n\nSome text.\n"),
            relative,
            stamp: stamp(2),
            hash: [hash; 16],
            chars: 22,
        }
    }

    fn by_path(files: &Files) -> ByPath<'_> {
        files.rows.iter().map(|r| (r.path.as_os_str(), r)).collect()
    }

    fn table(rows: Vec<FileRow>) -> Files {
        Files {
            rows,
            dirs: Vec::new(),
        }
    }

    #[test]
    fn diff_keeps_ordinals_of_changed_notes_and_numbers_new_ones_on() {
        let before = table(vec![
            row("a.md", 0, 1),
            row("b.md", 1, 2),
            row("c.md", 2, 3),
            row("junk.md", NO_NOTE, 0),
        ]);
        let read = vec![
            Ok(loaded("a.md", 1)), // touched, same content
            Ok(loaded("b.md", 9)), // changed
            Err(Skipped {
                path: "c.md".into(),
                reason: "too large".into(),
            }),
            Ok(loaded("junk.md", 4)), // fixed: now a note
            Ok(loaded("new.md", 5)),
        ];
        let d = diff(&by_path(&before), read, 3);
        let written: Vec<(u32, &str)> = d
            .write
            .iter()
            .map(|(o, n)| (*o, n.relative.to_str().unwrap()))
            .collect();
        assert_eq!(written, [(1, "b.md"), (3, "junk.md"), (4, "new.md")]);
        assert_eq!(d.remove, [1, 2]);
        assert_eq!((d.changes.added, d.changes.changed, d.changes.deleted), (2, 1, 1));
        assert_eq!(d.next_ord, 5);
        assert_eq!(d.skipped.len(), 1);
        let bp = by_path(&before);
        assert_eq!(d.note_now(&bp, Path::new("a.md")), Some((0, [1; 16])));
        assert_eq!(d.note_now(&bp, Path::new("b.md")), Some((1, [9; 16])));
        assert_eq!(d.note_now(&bp, Path::new("c.md")), None, "stopped being a note");
    }

    #[test]
    fn files_no_longer_listed_are_deleted_with_their_ids() {
        let before = table(vec![
            row("a.md", 0, 1),
            row("dir/b.md", 1, 2),
            row("junk.md", NO_NOTE, 0),
        ]);
        let mut d = Draft::default();
        let gone = deleted(&before, &[("a.md".into(), stamp(1))], &mut d);
        assert_eq!(gone, ["dir/b"]);
        assert_eq!(d.remove, [1]);
        assert_eq!(d.changes.deleted, 1);
    }

    #[test]
    fn a_new_note_may_not_take_an_id_another_file_gives() {
        let before = table(vec![row("note.md", 0, 1)]);
        let bp = by_path(&before);
        // The new file listed after the old one (a listing in that order once let both in).
        let listed = [
            ("note.md".into(), stamp(1)),
            ("note.MD".into(), stamp(2)),
            ("other.md".into(), stamp(2)),
        ];
        let mut d = diff(&bp, vec![Ok(loaded("note.MD", 7)), Ok(loaded("other.md", 8))], 1);
        assert_eq!(d.changes.added, 2);
        drop_id_clashes(&bp, &listed, &mut d);
        let written: Vec<&str> = d
            .write
            .iter()
            .map(|(_, n)| n.relative.to_str().unwrap())
            .collect();
        assert_eq!(written, ["other.md"]);
        assert_eq!(d.changes.added, 1);
        assert_eq!(d.skipped[0].path, Path::new("note.MD"));
        assert!(
            d.skipped[0].reason.contains("duplicate note id"),
            "{:?}",
            d.skipped
        );
        assert_eq!(d.note_now(&bp, Path::new("note.MD")), None);
        assert_eq!(d.note_now(&bp, Path::new("note.md")), Some((0, [1; 16])));
    }
}
