//! The one error type of the objstore crate: bucket configuration, object-store calls and block
//! format problems, each with enough context (key, path, block) to act on.

use std::path::PathBuf;

use ulid::Ulid;

/// Result alias for the objstore crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong configuring a bucket or moving blocks through it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The objstore YAML is malformed, incomplete or names something unsupported.
    #[error("{0}")]
    Config(String),
    /// An object-store call failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// A block file (meta.json, marker, index...) is invalid.
    #[error("block {id}: {source}")]
    Block {
        id: Ulid,
        #[source]
        source: strata_tsdb::Error,
    },
    /// A tsdb-level error outside a specific block.
    #[error(transparent)]
    Tsdb(#[from] strata_tsdb::Error),
    /// A local block directory cannot be uploaded as it is.
    #[error("invalid block directory {}: {reason}", dir.display())]
    InvalidBlockDir { dir: PathBuf, reason: String },
    /// Local file I/O failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// True when the error means "the object (or file) does not exist".
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::ObjectStore(object_store::Error::NotFound { .. }) => true,
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            Error::Block { source, .. } | Error::Tsdb(source) => tsdb_not_found(source),
            _ => false,
        }
    }

    /// True when a conditional create found the object already there.
    pub fn is_already_exists(&self) -> bool {
        matches!(
            self,
            Error::ObjectStore(object_store::Error::AlreadyExists { .. })
        )
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn block(id: Ulid, source: strata_tsdb::Error) -> Self {
        Error::Block { id, source }
    }
}

fn tsdb_not_found(e: &strata_tsdb::Error) -> bool {
    match e {
        strata_tsdb::Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        strata_tsdb::Error::Source { source, .. } => source
            .downcast_ref::<object_store::Error>()
            .is_some_and(|e| matches!(e, object_store::Error::NotFound { .. })),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_detected_through_wrappers() {
        let nf = object_store::Error::NotFound {
            path: "a".into(),
            source: "gone".into(),
        };
        assert!(Error::from(nf).is_not_found());
        let io = Error::io("/x", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(io.is_not_found());
        let src = strata_tsdb::Error::Source {
            what: "index".into(),
            source: Box::new(object_store::Error::NotFound {
                path: "a".into(),
                source: "gone".into(),
            }),
        };
        assert!(Error::block(Ulid::nil(), src).is_not_found());
        assert!(!Error::config("bad").is_not_found());
        let exists = object_store::Error::AlreadyExists {
            path: "a".into(),
            source: "there".into(),
        };
        assert!(Error::from(exists).is_already_exists());
    }
}
