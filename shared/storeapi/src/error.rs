//! The storeapi crate's error, and its one mapping to and from gRPC status codes.

/// What can go wrong serving or calling the StoreAPI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The request is malformed (bad matcher, bad time range...).
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// A configured limit was hit (series, samples, bytes).
    #[error("limit exceeded: {0}")]
    ResourceExhausted(String),
    /// The store cannot answer now (down, not ready, bucket unreachable).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The request took longer than allowed.
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),
    /// The caller went away.
    #[error("request cancelled")]
    Cancelled,
    /// The store does not implement this call.
    #[error("not implemented: {0}")]
    Unimplemented(String),
    /// Anything else (a corrupted block, a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl StoreError {
    /// The gRPC code this error travels as.
    pub fn code(&self) -> tonic::Code {
        match self {
            StoreError::InvalidArgument(_) => tonic::Code::InvalidArgument,
            StoreError::ResourceExhausted(_) => tonic::Code::ResourceExhausted,
            StoreError::Unavailable(_) => tonic::Code::Unavailable,
            StoreError::DeadlineExceeded(_) => tonic::Code::DeadlineExceeded,
            StoreError::Cancelled => tonic::Code::Cancelled,
            StoreError::Unimplemented(_) => tonic::Code::Unimplemented,
            StoreError::Internal(_) => tonic::Code::Internal,
        }
    }
}

impl From<StoreError> for tonic::Status {
    fn from(e: StoreError) -> Self {
        let msg = match &e {
            StoreError::InvalidArgument(m)
            | StoreError::ResourceExhausted(m)
            | StoreError::Unavailable(m)
            | StoreError::DeadlineExceeded(m)
            | StoreError::Unimplemented(m)
            | StoreError::Internal(m) => m.clone(),
            StoreError::Cancelled => "request cancelled".to_string(),
        };
        tonic::Status::new(e.code(), msg)
    }
}

impl From<tonic::Status> for StoreError {
    fn from(s: tonic::Status) -> Self {
        let m = s.message().to_string();
        match s.code() {
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => {
                StoreError::InvalidArgument(m)
            }
            tonic::Code::ResourceExhausted => StoreError::ResourceExhausted(m),
            tonic::Code::Unavailable => StoreError::Unavailable(m),
            tonic::Code::DeadlineExceeded => StoreError::DeadlineExceeded(m),
            tonic::Code::Cancelled => StoreError::Cancelled,
            tonic::Code::Unimplemented => StoreError::Unimplemented(m),
            _ => StoreError::Internal(format!("{}: {m}", s.code())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_grpc_status() {
        for e in [
            StoreError::InvalidArgument("bad matcher".into()),
            StoreError::ResourceExhausted("too many series".into()),
            StoreError::Unavailable("down".into()),
            StoreError::DeadlineExceeded("slow".into()),
            StoreError::Cancelled,
            StoreError::Unimplemented("x".into()),
        ] {
            let s: tonic::Status = e.clone().into();
            assert_eq!(StoreError::from(s), e);
        }
    }
}
