//! Keeping an index current while its vault changes.
//!
//! File-system notifications on the vault are debounced (editors save by writing a
//! temporary file and renaming it: the burst settles first), then one incremental update
//! publishes a new generation and the [`Engine`] swaps it in. Searches never wait for
//! this: they keep answering from the previous snapshot until the new one is loaded.
//! Whatever changed while nobody watched is caught up at the start.
//!
//! A watcher holds the index's watch lock, which tells command-line queries that the index
//! is kept current, so they skip their own freshness check. When another process already
//! watches, a server only follows the generations that process publishes.

use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use notify::Watcher as _;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::indexer::{BuildKind, IndexReport};
use crate::store::StoreError;

/// What a watcher did, for its owner to report.
#[derive(Debug)]
pub enum WatchEvent {
    /// An update published a new generation (or found nothing to do).
    Updated(IndexReport),
    /// An update failed; it is tried again after the next change.
    Failed(String),
    /// Another process published a generation, now served.
    Reloaded,
    /// Another process watches this index; this one only follows its generations.
    Following(String),
}

/// Watches the engine's vault until the process ends (or the notifications stop).
pub fn run(engine: &Engine, debounce: Duration, report: &mut dyn FnMut(WatchEvent)) -> Result<()> {
    let _lock = match engine.dir().watch_lock() {
        Ok(lock) => Some(lock),
        Err(e @ StoreError::Watched { .. }) => {
            report(WatchEvent::Following(e.to_string()));
            return follow(engine, debounce, report);
        }
        Err(e) => return Err(e.into()),
    };
    let vault = engine.snapshot().generation.manifest.vault.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx)
        .map_err(|e| Error::Watcher(format!("cannot start the file watcher: {e}")))?;
    watcher
        .watch(&vault, notify::RecursiveMode::Recursive)
        .map_err(|e| Error::Watcher(format!("cannot watch {}: {e}", vault.display())))?;
    let index_root = engine
        .dir()
        .root
        .canonicalize()
        .unwrap_or_else(|_| engine.dir().root.clone());
    let relevant = |event: &notify::Event| {
        !event.kind.is_access() && event.paths.iter().any(|p| !p.starts_with(&index_root))
    };
    // Catch up with whatever changed while nobody was watching.
    let mut pending = true;
    loop {
        match rx.recv_timeout(debounce) {
            Ok(Ok(event)) => pending |= relevant(&event),
            Ok(Err(e)) => report(WatchEvent::Failed(format!("watch error: {e}"))),
            Err(RecvTimeoutError::Timeout) if pending => {
                // Quiet for `debounce`: the burst of changes has settled.
                pending = false;
                match engine.update() {
                    Ok(r) => report(WatchEvent::Updated(r)),
                    Err(e) => report(WatchEvent::Failed(e.to_string())),
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                // A `recall index` or `update` run by hand publishes too.
                if engine.reload().unwrap_or(false) {
                    report(WatchEvent::Reloaded);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::Watcher("the file watcher stopped".into()));
            }
        }
    }
}

/// Serves each generation another process publishes.
pub fn follow(engine: &Engine, every: Duration, report: &mut dyn FnMut(WatchEvent)) -> Result<()> {
    loop {
        std::thread::sleep(every);
        match engine.reload_published() {
            Ok(true) => report(WatchEvent::Reloaded),
            Ok(false) => {}
            Err(e) => report(WatchEvent::Failed(e.to_string())),
        }
    }
}

impl WatchEvent {
    /// A line for a log, or `None` when there is nothing worth saying.
    pub fn describe(&self) -> Option<String> {
        match self {
            WatchEvent::Updated(r) if r.kind == BuildKind::UpToDate => None,
            WatchEvent::Updated(r) => Some(format!(
                "updated: {} added, {} changed, {} deleted ({} ms)",
                r.changes.added, r.changes.changed, r.changes.deleted, r.elapsed_ms
            )),
            WatchEvent::Failed(e) => Some(format!(
                "warning: update failed: {e}; will retry on the next change"
            )),
            WatchEvent::Reloaded => Some("serving a generation published by another process".into()),
            WatchEvent::Following(why) => Some(format!("not watching: {why}; following its updates")),
        }
    }
}
