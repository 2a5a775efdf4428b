//! recall: a search engine over folders of markdown notes.
//!
//! Data flows one way through the modules, each a stage of the pipeline:
//! [`vault`] walks the folder and reads files → [`note`] parses each into sections and
//! metadata → [`indexer`] feeds them into the keyword index ([`lexical`], text analyzed by
//! [`analysis`]) and, through [`embed`], the vector index ([`vector`]), and publishes a
//! generation ([`store`]) → a [`snapshot`] opens it for reading → [`search`] parses a
//! [`query`], retrieves from both indexes, merges the lists ([`fuse`]) and applies the
//! ranking rules of [`rank`], with [`relevance`] saying how sure each result is (and
//! dropping those with no evidence) → [`snippet`] shows why a note matched. [`related`] finds the
//! notes that belong with a note, from the same indexes plus the link graph and tags.
//!
//! [`engine`] is the one API on top: it serves a snapshot, swaps in new generations
//! ([`watch`] keeps it current) and answers typed requests with the serde types of
//! [`api`]. The faces are thin adapters over it: [`cli`] (the command line), [`serve`]
//! (HTTP) and [`mcp`] (the Model Context Protocol). [`eval`] measures ranking quality
//! against judged queries.

pub mod analysis;
pub mod api;
pub mod cli;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fuse;
pub mod indexer;
pub mod lexical;
pub mod mcp;
pub mod note;
pub mod query;
pub mod rank;
pub mod related;
pub mod relevance;
pub mod search;
pub mod serve;
pub mod snapshot;
pub mod snippet;
pub mod store;
pub mod vault;
pub mod vector;
pub mod watch;

pub use error::{Error, Result};

/// How many threads the work that spreads over the machine (reading files, stat checks,
/// indexing, embedding) may use: the cores available to this process, at least one.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
