//! The small per-note tables of a generation, in binary, read through memory maps.
//!
//! - `priors.bin`: each note's strength, date and language by ordinal (12 bytes a note), what the
//!   ranking's priors multiply in for every candidate of every query.
//! - `ids.bin`: each note's id by ordinal, what every result needs to be named. (Tantivy's
//!   string columns decompress a dictionary block per lookup, which showed in a page of
//!   results at 50k notes; here a lookup is two reads.)
//! - `files.bin`: the vault as it was indexed, each note file with its size, modification
//!   time, ordinal and content hash, and each folder with its modification time. It is
//!   what the freshness check stats against (one `stat` per file, nothing parsed into
//!   objects) and what an update compares the vault with.
//!
//! All are rewritten whole by every update: they are plain rows, small and quick to write
//! next to the rest of an update (BENCHMARKS.md, "Scale"). The notes themselves (their
//! records, their text) live in the tantivy indexes, where an update writes only the
//! notes that changed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use memmap2::Mmap;

use super::{io, StoreError};
use crate::language::Language;
use crate::record::{FileStamp, Prior};

const PRIORS_MAGIC: &[u8; 8] = b"RCLPRI02";
/// The table of index format 8, before notes had a language (8 bytes a note): still read,
/// every language unknown. An update carries the unknown languages over (it reads only
/// changed notes) and publishes format 9; `recall index` reads every note and knows them
/// all again.
const PRIORS_MAGIC_V1: &[u8; 8] = b"RCLPRI01";
const FILES_MAGIC: &[u8; 8] = b"RCLFIL01";
const IDS_MAGIC: &[u8; 8] = b"RCLIDS01";
/// The ordinal of a file that is not a note (it was skipped: too large, not UTF-8, ...).
pub const NO_NOTE: u32 = u32::MAX;

fn corrupt(path: &Path) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        source: serde::de::Error::custom(
            "not a table this recall wrote; rebuild with `recall index --rebuild`",
        ),
    }
}

fn map(path: &Path) -> Result<Mmap, StoreError> {
    let file = File::open(path).map_err(io(path))?;
    // SAFETY: tables are written to a temporary name and renamed into place, never changed
    // in place, so a mapping never sees a partial write.
    unsafe { Mmap::map(&file) }.map_err(io(path))
}

/// Writes `bytes` through a temporary file, synced, then renamed into place.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut w = BufWriter::new(file);
    write(&mut w).map_err(io(&tmp))?;
    let file = w.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Writes the priors of ordinals `0..priors.len()`.
pub fn write_priors(path: &Path, priors: &[Prior]) -> Result<(), StoreError> {
    write_atomic(path, |w| {
        w.write_all(PRIORS_MAGIC)?;
        for p in priors {
            w.write_all(&p.strength.unwrap_or(f32::NAN).to_le_bytes())?;
            w.write_all(&p.updated.map_or(i32::MIN, |d| d.num_days_from_ce()).to_le_bytes())?;
            w.write_all(&[Language::code(p.language), 0, 0, 0])?;
        }
        Ok(())
    })
}

/// `priors.bin`, mapped.
pub struct PriorTable {
    map: Mmap,
    /// Bytes a note: 12, or 8 in a table of the first layout.
    stride: usize,
}

impl PriorTable {
    pub fn open(path: &Path) -> Result<PriorTable, StoreError> {
        let map = map(path)?;
        let stride = match map.get(..8) {
            Some(m) if m == &PRIORS_MAGIC[..] => 12,
            Some(m) if m == &PRIORS_MAGIC_V1[..] => 8,
            _ => return Err(corrupt(path)),
        };
        if (map.len() - 8) % stride != 0 {
            return Err(corrupt(path));
        }
        Ok(PriorTable { map, stride })
    }

    /// The prior of note `ord` (neutral when the table has none).
    pub fn get(&self, ord: u32) -> Prior {
        let at = 8 + ord as usize * self.stride;
        let Some(b) = self.map.get(at..at + self.stride) else {
            return Prior::default();
        };
        let strength = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let days = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        Prior {
            strength: (!strength.is_nan()).then_some(strength),
            updated: (days != i32::MIN)
                .then(|| NaiveDate::from_num_days_from_ce_opt(days))
                .flatten(),
            language: b.get(8).and_then(|&c| Language::from_code(c)),
        }
    }

    /// Number of ordinals.
    pub fn len(&self) -> usize {
        (self.map.len() - 8) / self.stride
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes the ids of ordinals `0..ids.len()` (empty for an ordinal without a note): the
/// magic, the count, `count + 1` end offsets (u32), then the ids' bytes.
pub fn write_ids(path: &Path, ids: &[String]) -> Result<(), StoreError> {
    write_atomic(path, |w| {
        w.write_all(IDS_MAGIC)?;
        w.write_all(&(ids.len() as u32).to_le_bytes())?;
        let mut end = 0u32;
        w.write_all(&end.to_le_bytes())?;
        for id in ids {
            end += id.len() as u32;
            w.write_all(&end.to_le_bytes())?;
        }
        for id in ids {
            w.write_all(id.as_bytes())?;
        }
        Ok(())
    })
}

/// `ids.bin`, mapped.
pub struct IdTable {
    map: Mmap,
    count: usize,
}

impl IdTable {
    pub fn open(path: &Path) -> Result<IdTable, StoreError> {
        let map = map(path)?;
        let count = map
            .get(8..12)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        match count {
            Some(count) if map.get(..8) == Some(&IDS_MAGIC[..]) && map.len() >= 12 + 4 * (count + 1) => {
                Ok(IdTable { map, count })
            }
            _ => Err(corrupt(path)),
        }
    }

    fn offset(&self, i: usize) -> usize {
        let at = 12 + 4 * i;
        let b = &self.map[at..at + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    }

    /// The id of note `ord`; `None` for an ordinal without a note (or a damaged table).
    pub fn get(&self, ord: u32) -> Option<&str> {
        let ord = ord as usize;
        if ord >= self.count {
            return None;
        }
        let base = 12 + 4 * (self.count + 1);
        let bytes = self
            .map
            .get(base + self.offset(ord)..base + self.offset(ord + 1))?;
        std::str::from_utf8(bytes).ok().filter(|id| !id.is_empty())
    }

    /// Every note's id.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.count as u32).filter_map(|ord| self.get(ord))
    }
}

/// A note file as indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    /// Relative to the vault.
    pub path: PathBuf,
    pub stamp: FileStamp,
    /// The note's ordinal, or [`NO_NOTE`].
    pub ord: u32,
    /// Content hash of the note (zero for a file that is not a note).
    pub hash: [u8; 16],
}

/// The vault as indexed: its note files and folders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Files {
    pub rows: Vec<FileRow>,
    /// (relative path, modification time in ns): a folder's time changes when entries are
    /// added, removed or renamed in it.
    pub dirs: Vec<(PathBuf, u128)>,
}

fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

impl Files {
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        write_atomic(path, |w| {
            w.write_all(FILES_MAGIC)?;
            w.write_all(&(self.rows.len() as u32).to_le_bytes())?;
            w.write_all(&(self.dirs.len() as u32).to_le_bytes())?;
            for r in &self.rows {
                let p = path_bytes(&r.path);
                w.write_all(&(p.len() as u32).to_le_bytes())?;
                w.write_all(&r.stamp.size.to_le_bytes())?;
                w.write_all(&(r.stamp.mtime_ns as u64).to_le_bytes())?;
                w.write_all(&r.ord.to_le_bytes())?;
                w.write_all(&r.hash)?;
                w.write_all(p)?;
            }
            for (d, mtime) in &self.dirs {
                let p = path_bytes(d);
                w.write_all(&(p.len() as u32).to_le_bytes())?;
                w.write_all(&(*mtime as u64).to_le_bytes())?;
                w.write_all(p)?;
            }
            Ok(())
        })
    }

    /// Reads `files.bin` into rows.
    pub fn read(path: &Path) -> Result<Files, StoreError> {
        let table = FileTable::open(path)?;
        let mut files = Files::default();
        table.visit(
            |r| {
                files.rows.push(FileRow {
                    path: PathBuf::from(r.path()),
                    stamp: r.stamp(),
                    ord: r.ord,
                    hash: r.hash,
                })
            },
            |d, mtime| files.dirs.push((PathBuf::from(d), mtime)),
        )?;
        Ok(files)
    }
}

/// A row of `files.bin` as it lies in the map.
pub struct RawRow<'a> {
    path: &'a [u8],
    size: u64,
    mtime_ns: u64,
    pub ord: u32,
    pub hash: [u8; 16],
}

impl<'a> RawRow<'a> {
    pub fn path(&self) -> &'a std::ffi::OsStr {
        // SAFETY: the bytes were written by `Files::write` from an `OsStr` on this platform.
        unsafe { std::ffi::OsStr::from_encoded_bytes_unchecked(self.path) }
    }

    pub fn stamp(&self) -> FileStamp {
        FileStamp {
            size: self.size,
            mtime_ns: u128::from(self.mtime_ns),
        }
    }
}

/// `files.bin`, mapped.
pub struct FileTable {
    map: Mmap,
    path: PathBuf,
}

impl FileTable {
    pub fn open(path: &Path) -> Result<FileTable, StoreError> {
        let map = map(path)?;
        if map.get(..8) != Some(&FILES_MAGIC[..]) || map.len() < 16 {
            return Err(corrupt(path));
        }
        Ok(FileTable {
            map,
            path: path.to_path_buf(),
        })
    }

    /// Number of note files.
    pub fn files(&self) -> usize {
        u32::from_le_bytes([self.map[8], self.map[9], self.map[10], self.map[11]]) as usize
    }

    /// Calls `file` for each note file and `dir` for each folder, in order.
    pub fn visit<'a>(
        &'a self,
        mut file: impl FnMut(RawRow<'a>),
        mut dir: impl FnMut(&'a std::ffi::OsStr, u128),
    ) -> Result<(), StoreError> {
        let m = &self.map[..];
        let bad = || corrupt(&self.path);
        let u32_at = |at: usize| -> Result<u32, StoreError> {
            m.get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(bad)
        };
        let u64_at = |at: usize| -> Result<u64, StoreError> {
            m.get(at..at + 8)
                .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .ok_or_else(bad)
        };
        let (files, dirs) = (u32_at(8)? as usize, u32_at(12)? as usize);
        let mut at = 16;
        for _ in 0..files {
            let len = u32_at(at)? as usize;
            let hash_at = at + 24;
            let path_at = hash_at + 16;
            let mut hash = [0u8; 16];
            hash.copy_from_slice(m.get(hash_at..path_at).ok_or_else(bad)?);
            file(RawRow {
                size: u64_at(at + 4)?,
                mtime_ns: u64_at(at + 12)?,
                ord: u32_at(at + 20)?,
                hash,
                path: m.get(path_at..path_at + len).ok_or_else(bad)?,
            });
            at = path_at + len;
        }
        for _ in 0..dirs {
            let len = u32_at(at)? as usize;
            let mtime = u64_at(at + 4)?;
            let p = m.get(at + 12..at + 12 + len).ok_or_else(bad)?;
            // SAFETY: as for `RawRow::path`.
            dir(
                unsafe { std::ffi::OsStr::from_encoded_bytes_unchecked(p) },
                u128::from(mtime),
            );
            at += 12 + len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("priors.bin");
        let d = NaiveDate::from_ymd_opt(2024, 2, 18);
        write_priors(
            &p,
            &[
                Prior {
                    strength: Some(0.85),
                    updated: d,
                    language: Some(Language::ENGLISH),
                },
                Prior::default(),
            ],
        )
        .unwrap();
        let t = PriorTable::open(&p).unwrap();
        assert_eq!((t.len(), t.get(0).strength, t.get(0).updated), (2, Some(0.85), d));
        assert_eq!(t.get(0).language, Some(Language::ENGLISH));
        assert_eq!(t.get(1), Prior::default());
        assert_eq!(t.get(99), Prior::default());
        // A table of the first layout (no languages) still reads.
        let mut v1 = b"RCLPRI01".to_vec();
        v1.extend(0.5f32.to_le_bytes());
        v1.extend(i32::MIN.to_le_bytes());
        std::fs::write(&p, v1).unwrap();
        let t = PriorTable::open(&p).unwrap();
        assert_eq!(
            (t.len(), t.get(0).strength, t.get(0).language),
            (1, Some(0.5), None)
        );

        let files = Files {
            rows: vec![FileRow {
                path: PathBuf::from("topics/é x.md"),
                stamp: FileStamp {
                    size: 42,
                    mtime_ns: 1_700_000_000_123_456_789,
                },
                ord: 7,
                hash: [3; 16],
            }],
            dirs: vec![(PathBuf::from("topics"), 5)],
        };
        let p = dir.path().join("files.bin");
        files.write(&p).unwrap();
        assert_eq!(Files::read(&p).unwrap(), files);
        assert_eq!(FileTable::open(&p).unwrap().files(), 1);
        std::fs::write(&p, b"RCLFIL01\x09\0\0\0\0\0\0\0").unwrap();
        assert!(Files::read(&p).is_err(), "truncated rows are an error");
    }
}
