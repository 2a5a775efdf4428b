//! recall: a search engine over folders of markdown notes.
//!
//! Data flows one way through the modules, each a stage of the pipeline:
//! [`vault`] walks the folder and reads files → [`note`] parses each into sections and
//! metadata → [`indexer`] feeds them into the keyword index ([`lexical`], text analyzed by
//! [`analysis`]) and, through [`embed`], the vector index ([`vector`]), and publishes a
//! generation ([`store`]) → a [`snapshot`] opens it for reading → [`search`] takes a
//! parsed [`query`] (its dates read by [`dates`]), reads its typos against the index's own
//! dictionary (`lexical::spell`), turns its constraints into the notes they allow,
//! retrieves from both indexes, weighs how much of the query each candidate holds
//! ([`share`], which also coordinates the keyword list of a query in Chinese, Japanese or
//! Korean), takes the multilingual model's language gap off the semantic side ([`gap`]),
//! merges the lists ([`fuse`]; a note in another [`language`] than the query's is judged by
//! meaning there), drops the candidates with too
//! little evidence ([`relevance`] says how sure each result is) and then applies the
//! priors of [`rank`] → [`snippet`] shows why a note matched. [`related`] finds the
//! notes that belong with a note, from the same indexes plus the link graph and tags.
//!
//! [`engine`] is the one API on top: it serves a snapshot, swaps in new generations
//! ([`watch`] keeps it current) and answers typed requests with the serde types of
//! [`api`]; the only changes it makes to a vault go through [`write`](mod@write) (new memory notes,
//! footer edits), when a face allows them. The faces are thin adapters over it, each a
//! cargo feature: `cli` (the command line), `serve` (HTTP) and `mcp` (the Model Context
//! Protocol); the servers take one request path, `calls` (a cap on calls at once, a time
//! limit). [`eval`] measures ranking
//! quality against judged queries. [`record`] holds the facts every stage shares (file
//! stamps, skip reasons, priors), [`error`] the errors, each with its kind.

pub mod analysis;
pub mod api;
#[cfg(feature = "mcp")]
pub mod calls;
#[cfg(feature = "cli")]
pub mod cli;
pub mod dates;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fuse;
pub mod gap;
pub mod indexer;
pub mod language;
pub mod lexical;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod note;
pub mod query;
pub mod rank;
pub mod record;
pub mod related;
pub mod relevance;
pub mod search;
#[cfg(feature = "serve")]
pub mod serve;
pub mod share;
pub mod snapshot;
pub mod snippet;
pub mod store;
pub mod vault;
pub mod vector;
pub mod watch;
pub mod write;

pub use error::{Error, Result};

/// How many threads the work that spreads over the machine (reading files, stat checks,
/// indexing, embedding) may use: the cores available to this process, at least one.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Returns the heap that earlier work freed to the system. glibc keeps freed pages for
/// reuse (in one arena per thread, for a server), so without this a build's stages (notes,
/// then the model and chunk texts, then the graph) add up in RSS, and so do a server's
/// updates, each of which writes a keyword index and embeds.
pub fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages at the top and inside the heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// For a process that runs for long and updates its index as it goes (`watch`, `serve`,
/// `mcp`): allocations of a megabyte or more get pages of their own, returned when freed.
/// glibc raises that threshold to the largest block freed so far (up to 32 MB), so after
/// the first update's big indexing buffers, the next ones came from the heaps of the
/// threads that ran them and stayed there: a server's RSS grew with every edit over the
/// serve soak (BENCHMARKS.md, "Serving"). One arena for all threads stopped it too, but
/// cost keyword-query throughput.
pub fn steady_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes how future allocations are served.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
