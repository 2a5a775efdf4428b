//! The library's error type: every failure a command can report, each naming what is at
//! fault (a file, a flag, a query).

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
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
