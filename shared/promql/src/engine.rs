//! The public entry points: [`Engine::instant_query`] and [`Engine::range_query`], the
//! options (lookback, limits, timeout) and the result types.

use std::time::Duration;

use strata_tsdb::labels::Labels;

use crate::error::{Error, Result};
use crate::select::Queryable;
use crate::value::Annotations;

/// Engine settings. `Default` matches Prometheus' defaults.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (`--query.lookback-delta`).
    pub lookback_delta: Duration,
    /// Most samples a query may hold in memory at once (`--query.max-samples`).
    pub max_samples: usize,
    /// Most series one selector may return (0 = unlimited).
    pub max_series: usize,
    /// Query timeout (`--query.timeout`).
    pub timeout: Duration,
    /// Step of a subquery without one (`[5m:]`): the global evaluation interval.
    pub default_subquery_step: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            max_series: 0,
            timeout: Duration::from_secs(120),
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

/// One sample of an instant-vector result.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: Labels,
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub v: f64,
}

/// One series of a range-vector or range-query result.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: Labels,
    /// `(timestamp ms, value)` points in time order.
    pub points: Vec<(i64, f64)>,
}

/// The value of a query, typed as the Prometheus HTTP API reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// `scalar`: timestamp (ms) and value.
    Scalar(i64, f64),
    /// `string`: timestamp (ms) and value.
    String(i64, String),
    /// `vector` (instant queries).
    Vector(Vec<Sample>),
    /// `matrix` (range queries, and range vectors in instant queries); sorted by labels for
    /// range queries.
    Matrix(Vec<RangeSeries>),
}

/// A query's value plus the annotations produced on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The result.
    pub value: QueryValue,
    /// Warnings and infos (including partial-response warnings from the stores).
    pub annotations: Annotations,
}

/// The PromQL engine. Cheap to clone and share; holds only settings.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// An engine with the given settings.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The engine's settings.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `t_ms`.
    pub async fn instant_query(
        &self,
        source: &dyn Queryable,
        query: &str,
        t_ms: i64,
    ) -> Result<QueryResult> {
        let _ = (source, query, t_ms);
        Err(Error::NotSupported("instant queries".into()))
    }

    /// Evaluates `query` at `start_ms, start_ms + step_ms, … ≤ end_ms`.
    pub async fn range_query(
        &self,
        source: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult> {
        let _ = (source, query, start_ms, end_ms, step_ms);
        Err(Error::NotSupported("range queries".into()))
    }
}
