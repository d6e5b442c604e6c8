//! strata's PromQL engine: evaluates `promql-parser` ASTs with Prometheus 3.x semantics
//! (left-open windows, 5m lookback, staleness, `@`/offset, epoch-aligned subqueries, delayed
//! `__name__` removal) over any [`Queryable`] — a StoreAPI [`strata_storeapi::Store`] through
//! [`StoreQueryable`], or anything else that yields decoded series.
//!
//! A range query is evaluated over all its steps at once: selectors fetch each series once
//! for the whole query (matchers, time range and hints pushed down), each chunk is decoded
//! once, and functions, aggregations and operators work on whole series rather than per step.

mod aggregate;
mod binary;
mod dedup;
mod engine;
mod error;
mod eval;
mod functions;
mod limits;
mod plan;
mod select;
mod value;

pub use engine::{Engine, EngineOptions, QueryResult, QueryValue, RangeSeries, Sample};
pub use error::{Error, ErrorKind, Result};
pub use limits::{MAX_NESTING, MAX_OPERATORS};
pub use plan::parse_selector;
pub use select::{Queryable, RawSeries, SelectHints, SelectRequest, StoreQueryable};
pub use value::Annotations;
