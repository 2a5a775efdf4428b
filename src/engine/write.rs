//! The engine's side of the write path: `remember` and `reinforce` check their request,
//! look for what the write would duplicate or lose, write through [`crate::write`], and
//! bring the change into the index before answering, so the same process finds it at once.

use std::time::Duration;

use super::read::check_note_id;
use super::Engine;
use crate::api::{
    check_strength, ReinforceRequest, ReinforceResponse, RememberRequest, RememberResponse, SearchRequest,
    Similar,
};
use crate::dates;
use crate::error::{Error, Result};
use crate::related::{self, Closeness};
use crate::snapshot::Snapshot;
use crate::store::StoreError;
use crate::write::{self, NewMemory};

/// A new memory's strength unless the caller gives one.
pub const DEFAULT_NEW_STRENGTH: f32 = 0.5;
/// The folder new memories go to unless the caller or the server says otherwise.
pub const DEFAULT_WRITE_FOLDER: &str = "memories";
/// From these similarities on, an existing note holds a new memory already: the best
/// section cosine (meaning) and the share of the new memory's word triples it holds
/// (words; see `related::closest`). Measured on real vaults by `benches/duplicates.sh`
/// (BENCHMARKS.md, "Near-duplicates"): together they flag at most 1 % of the nearest
/// other notes that are not copies of the note, and catch every exact copy.
pub const DUPLICATE_MEANING: f32 = 0.89;
pub const DUPLICATE_WORDS: f32 = 0.75;
/// Candidates measured for a new memory, and how many of them a response shows.
const CLOSEST: usize = 10;
const SHOWN_CLOSEST: usize = 5;
/// How long a write waits for another process's index update before leaving its change
/// to the next update.
const INDEX_WAIT: Duration = Duration::from_secs(5);

impl Engine {
    /// Writes a new memory note, unless near-duplicates exist (then lists them, writes
    /// nothing; `force` writes anyway), its file exists (an error) or `dry_run` is set.
    pub fn remember(&self, req: &RememberRequest) -> Result<RememberResponse> {
        let strength = check_strength(req.strength.unwrap_or(DEFAULT_NEW_STRENGTH)).map_err(Error::Usage)?;
        let mut tags: Vec<String> = Vec::new();
        for t in &req.tags {
            let t = write::check_tag(t)?;
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let snap = self.snapshot();
        let mut warnings = Vec::new();
        let mut links: Vec<String> = Vec::new();
        for l in &req.links {
            let l = l.trim().trim_start_matches("[[").trim_end_matches("]]").trim();
            check_note_id(l)?;
            if snap.notes().find(l)?.is_none() {
                warnings.push(format!("link `{l}` names no note in the index; written as given"));
            }
            if !links.iter().any(|have| have == l) {
                links.push(l.to_string());
            }
        }
        let memory = NewMemory::new(&req.title, &req.body, tags, links, strength)?;
        let folder = write::check_folder(req.folder.as_deref().unwrap_or(&self.write_folder))?;
        let name = write::slug(&memory.title);
        let id = match folder.is_empty() {
            true => name,
            false => format!("{folder}/{name}"),
        };
        let path = format!("{id}.md");
        let file = snap.generation.manifest.vault.join(&path);
        let (duplicates, closest) = self.duplicates(&snap, &memory)?;
        if req.dry_run || (!duplicates.is_empty() && !req.force) {
            return Ok(RememberResponse {
                written: false,
                note: id,
                path,
                duplicates,
                closest,
                indexed: false,
                warnings,
            });
        }
        // Checked first in the index (a note of another case or extension holds the id),
        // then by the write itself, which never replaces a file.
        if snap.notes().find(&id)?.is_some() {
            return Err(write::clash(&id));
        }
        write::create_new(&file, &write::render(&memory, dates::today()), &id)?;
        let indexed = self.index_write(&mut warnings);
        Ok(RememberResponse {
            written: true,
            note: id,
            path,
            duplicates,
            closest,
            indexed,
            warnings,
        })
    }

    /// Sets a note's `Last updated` to today (and its strength, when given), changing only
    /// those footer lines, and only if the file is as the index last read it.
    pub fn reinforce(&self, req: &ReinforceRequest) -> Result<ReinforceResponse> {
        check_note_id(&req.note)?;
        let strength = req
            .strength
            .map(check_strength)
            .transpose()
            .map_err(Error::Usage)?;
        let snap = self.snapshot();
        let (_, n) = snap.find(&req.note)?;
        let id = n.note.id.to_string();
        let file = snap.generation.manifest.vault.join(&n.relative);
        let bytes = write::read_unchanged(&file, n.hash, &id)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Usage(format!("note `{id}` is not UTF-8 text; recall does not edit it")))?;
        let today = dates::today();
        write::replace_unchanged(&file, n.hash, &write::reinforce_text(&text, today, strength), &id)?;
        let mut warnings = Vec::new();
        let indexed = self.index_write(&mut warnings);
        Ok(ReinforceResponse {
            note: id,
            path: n.relative.to_string_lossy().into_owned(),
            updated: today,
            previous_updated: n.note.meta.updated,
            strength: strength.or(n.note.meta.strength),
            previous_strength: n.note.meta.strength,
            indexed,
            warnings,
        })
    }

    /// The notes closest to a new memory, and those that already hold it: the same
    /// title, most of its words ([`DUPLICATE_WORDS`]) or its meaning
    /// ([`DUPLICATE_MEANING`]).
    fn duplicates(&self, snap: &Snapshot, memory: &NewMemory) -> Result<(Vec<Similar>, Vec<Similar>)> {
        let title = memory.title.to_lowercase();
        let mut near = related::closest(snap, &format!("{}\n\n{}", memory.title, memory.body), CLOSEST)?;
        // The title's words, without query syntax, find the notes that could share it.
        let words: Vec<&str> = memory
            .title
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let mut same_title = Vec::new();
        if !words.is_empty() {
            let hits = self.search(&SearchRequest {
                query: words.join(" "),
                limit: Some(20),
                mode: Some(crate::query::Mode::Lexical),
                min_score: Some(0.0),
                exact: true,
                ..SearchRequest::default()
            })?;
            same_title.extend(
                hits.results
                    .into_iter()
                    .filter(|h| h.title.trim().to_lowercase() == title)
                    .map(|h| h.note),
            );
        }
        let why = |c: &Closeness| {
            if same_title.contains(&c.note) {
                Some("same title")
            } else if c.words >= DUPLICATE_WORDS {
                Some("same words")
            } else if c.meaning >= DUPLICATE_MEANING {
                Some("similar in meaning")
            } else {
                None
            }
        };
        let similar = |c: &Closeness| Similar {
            note: c.note.clone(),
            title: c.title.clone(),
            meaning: c.meaning,
            words: c.words,
            why: why(c).map(str::to_string),
        };
        let mut duplicates: Vec<Similar> = near.iter().map(similar).filter(|s| s.why.is_some()).collect();
        for note in same_title.iter().filter(|n| !near.iter().any(|c| &c.note == *n)) {
            let (_, n) = snap.find(note)?;
            duplicates.push(Similar {
                note: note.clone(),
                title: n.note.title.clone(),
                meaning: 0.0,
                words: 0.0,
                why: Some("same title".into()),
            });
        }
        near.truncate(SHOWN_CLOSEST);
        Ok((duplicates, near.iter().map(similar).collect()))
    }

    /// Brings a write into the index; waits a while for another process's update. A
    /// write that could not be indexed is still written: a warning says so.
    fn index_write(&self, warnings: &mut Vec<String>) -> bool {
        let started = std::time::Instant::now();
        loop {
            match self.update() {
                Ok(_) => return true,
                Err(Error::Store(StoreError::Locked { .. })) if started.elapsed() < INDEX_WAIT => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    warnings.push(format!(
                        "written, but not in the index yet ({e}); the next `recall update` (or the watcher) brings it in"
                    ));
                    return false;
                }
            }
        }
    }
}
