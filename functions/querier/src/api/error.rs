//! API errors: Prometheus' `errorType` classes, their HTTP status codes, and the mapping
//! from engine and store errors.
//!
//! Status codes follow Prometheus (`bad_data` 400, `execution` 422, `timeout` 503, `canceled`
//! 499, `internal` 500). Store failures that abort a query (a store is down or too slow and
//! partial response is off) are `unavailable` with 503, as the querier cannot answer *now*
//! (Prometheus maps `unavailable` to 500 only because it uses it for "TSDB not ready");
//! other store errors are `internal` (500) or, for limits and rejected requests, `execution`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use strata_storeapi::StoreError;

use super::json;

/// Prometheus' `errorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Bad or missing parameter, unparsable query (400).
    BadData,
    /// The query failed while running (422).
    Execution,
    /// The query ran out of time (503).
    Timeout,
    /// The query was cancelled (499).
    Canceled,
    /// A storage or server error (500).
    Internal,
    /// The data is unavailable right now (503).
    Unavailable,
}

impl ErrorType {
    /// The `errorType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
        }
    }

    /// The HTTP status of this class.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout | ErrorType::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            // nginx' "client closed request", as Prometheus uses it.
            ErrorType::Canceled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", .kind.as_str())]
pub struct ApiError {
    /// The class.
    pub kind: ErrorType,
    /// The `error` text.
    pub message: String,
}

impl ApiError {
    /// An error of class `kind`.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// `bad_data` with a bare message.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorType::BadData, message)
    }

    /// Prometheus' `invalid parameter "<name>": <err>` (`bad_data`).
    pub fn invalid_param(name: &str, err: impl std::fmt::Display) -> Self {
        Self::bad_data(format!("invalid parameter \"{name}\": {err}"))
    }

    /// An error raised while executing a query (after it parsed).
    pub fn from_engine(e: &strata_promql::Error) -> Self {
        use strata_promql::ErrorKind;
        let message = e.to_string();
        let kind = match e.kind() {
            ErrorKind::BadData => return Self::invalid_param("query", message),
            ErrorKind::Execution => ErrorType::Execution,
            ErrorKind::Timeout => ErrorType::Timeout,
            ErrorKind::Canceled => ErrorType::Canceled,
            ErrorKind::Storage => storage_kind(&message),
        };
        Self::new(kind, message)
    }

    /// A store call (series, label names, label values) failed.
    pub fn from_store(e: &StoreError) -> Self {
        let kind = match e {
            StoreError::Unavailable(_) | StoreError::DeadlineExceeded(_) => ErrorType::Unavailable,
            StoreError::Cancelled => ErrorType::Canceled,
            StoreError::InvalidArgument(_)
            | StoreError::ResourceExhausted(_)
            | StoreError::Unimplemented(_) => ErrorType::Execution,
            StoreError::Internal(_) => ErrorType::Internal,
        };
        Self::new(kind, e.to_string())
    }
}

/// The class of an engine storage error, from the [`StoreError`] text it carries.
fn storage_kind(message: &str) -> ErrorType {
    let starts = |p: &str| message.starts_with(p);
    if starts("store unavailable:") || starts("deadline exceeded:") {
        ErrorType::Unavailable
    } else if starts("request cancelled") {
        ErrorType::Canceled
    } else if starts("invalid request:") || starts("limit exceeded:") || starts("not implemented:")
    {
        ErrorType::Execution
    } else {
        ErrorType::Internal
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.kind.status().is_server_error() {
            tracing::warn!(error_type = self.kind.as_str(), error = %self.message, "API request failed");
        } else {
            tracing::debug!(error_type = self.kind.as_str(), error = %self.message, "API request rejected");
        }
        let body = json::error(self.kind.as_str(), &self.message);
        let mut resp = (self.kind.status(), body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_prometheus_classes() {
        let e = ApiError::from_engine(&strata_promql::Error::Parse("boom".into()));
        assert_eq!(e, ApiError::bad_data("invalid parameter \"query\": boom"));
        let e = ApiError::from_engine(&strata_promql::Error::Timeout("query execution"));
        assert_eq!(e.kind, ErrorType::Timeout);
        assert_eq!(e.kind.status(), StatusCode::SERVICE_UNAVAILABLE);
        let e = ApiError::from_engine(&strata_promql::Error::Storage(
            StoreError::Unavailable("store a: down".into()).to_string(),
        ));
        assert_eq!(e.kind, ErrorType::Unavailable);
        let e = ApiError::from_engine(&strata_promql::Error::Storage("corrupted chunk".into()));
        assert_eq!(e.kind, ErrorType::Internal);
        assert_eq!(ErrorType::Canceled.status().as_u16(), 499);
    }
}
