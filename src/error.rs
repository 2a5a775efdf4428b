//! The library's error type: every failure a command can report, each naming what is at
//! fault (a file, a flag, a query, a note), and the [`ErrorKind`] each face maps to its
//! own signal (an exit code, an HTTP status, an MCP tool error).

use crate::embed::EmbedError;
use crate::lexical::LexicalError;
use crate::query::QueryError;
use crate::store::StoreError;
use crate::vault::VaultError;
use crate::vector::VectorError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lexical(#[from] LexicalError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Vector(#[from] VectorError),
    #[error("bad query: {0}")]
    Query(#[from] QueryError),
    #[error("no note `{wanted}` in the index{}", did_you_mean(.suggestions))]
    UnknownNote {
        wanted: String,
        suggestions: Vec<String>,
    },
    #[error("{0}")]
    TooLarge(String),
    /// A request, flag or parameter that cannot be served as given: the caller can fix it.
    #[error("{0}")]
    Usage(String),
    /// The embedding model cannot be used: its files are missing or unreadable, or it is
    /// not the model the index was built with.
    #[error("{0}")]
    Model(String),
    /// A write that would lose data: the note exists, or changed since it was read.
    #[error("{0}")]
    Conflict(String),
    /// A write that this server was not started to allow.
    #[error("{0}")]
    Forbidden(String),
    /// The file watcher could not start or stopped.
    #[error("{0}")]
    Watcher(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The index contradicts itself (a note ordinal with no note): a damaged index or a bug.
    #[error("{0}")]
    Internal(String),
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean: {}", suggestions.join(", "))
    }
}

/// What kind of failure an error is, for the faces to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong: a bad query, flag or parameter.
    BadRequest,
    /// The note asked for is not in the index.
    NotFound,
    /// The request is larger than the limits allow.
    TooLarge,
    /// A write refused so as not to lose data (the note exists or changed meanwhile).
    Conflict,
    /// A write this server does not allow (started without `--allow-write`).
    Forbidden,
    /// Anything else: no index, unreadable files, a missing model, a watcher that failed.
    Internal,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(_) | Error::Query(_) => ErrorKind::BadRequest,
            Error::UnknownNote { .. } => ErrorKind::NotFound,
            Error::TooLarge(_) => ErrorKind::TooLarge,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::Store(_)
            | Error::Lexical(_)
            | Error::Vault(_)
            | Error::Embed(_)
            | Error::Vector(_)
            | Error::Model(_)
            | Error::Watcher(_)
            | Error::Io { .. }
            | Error::Internal(_) => ErrorKind::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
