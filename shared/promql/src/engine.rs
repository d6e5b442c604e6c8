//! The public entry points: [`Engine::instant_query`] and [`Engine::range_query`], the
//! options (lookback, limits, timeout) and the result types.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;
use strata_tsdb::labels::Labels;

use crate::error::{Error, Result};
use crate::eval::Evaluator;
use crate::limits;
use crate::plan::{Planned, Planner};
use crate::select::Queryable;
use crate::value::{Annotations, Data, Grid, Series};

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
        let (data, ann) = self.run(source, query, Grid::instant(t_ms), 0).await?;
        Ok(QueryResult {
            value: instant_value(data, t_ms)?,
            annotations: ann,
        })
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
        if step_ms <= 0 {
            return Err(Error::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end_ms < start_ms {
            return Err(Error::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        let grid = Grid {
            start: start_ms,
            end: end_ms,
            step: step_ms,
        };
        let (data, ann) = self.run(source, query, grid, step_ms).await?;
        Ok(QueryResult {
            value: range_value(data, &grid)?,
            annotations: ann,
        })
    }

    /// Checks `query` against the shape limits, parses and plans it, fetches every selection
    /// concurrently, then evaluates it on a blocking thread. Queries deeper than
    /// [`limits::SHALLOW_DEPTH`] are parsed, planned and evaluated on a thread with a deep
    /// stack instead. A range query (`step > 0`) must be of scalar or instant-vector type.
    async fn run(
        &self,
        source: &dyn Queryable,
        query: &str,
        grid: Grid,
        step: i64,
    ) -> Result<(Data, Annotations)> {
        let deadline = Instant::now() + self.opts.timeout;
        let lookback = self.opts.lookback_delta.as_millis() as i64;
        let planner = Planner {
            start: grid.start,
            end: grid.end,
            step,
            lookback,
            out: Vec::new(),
        };
        let shape = limits::check(query)?;
        let deep = shape.depth() > limits::SHALLOW_DEPTH;
        let (mut parsed, planned) = if deep {
            let query = query.to_owned();
            on_deep_stack(move || prepare(&query, planner, true)).await?
        } else {
            prepare(query, planner, false)?
        };
        let mut ann = Annotations::default();
        let fetches = planned.iter().map(|p| source.select(p.request.clone()));
        let results =
            match tokio::time::timeout_at(deadline.into(), futures::future::try_join_all(fetches))
                .await
            {
                Ok(r) => r?,
                Err(_) => return Err(Error::Timeout("query preparation")),
            };
        let mut selected = HashMap::with_capacity(planned.len());
        for (p, (series, warnings)) in planned.into_iter().zip(results) {
            for w in warnings {
                ann.storage_warning(w);
            }
            if self.opts.max_series > 0 && series.len() > self.opts.max_series {
                return Err(Error::TooManySeries(self.opts.max_series));
            }
            selected.insert(p.key, series);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let guard = CancelOnDrop(cancel.clone());
        let opts = self.opts.clone();
        let expr = parsed.expr.take();
        let evaluate = move || {
            let Some(expr) = expr else {
                return Err(Error::Execution("internal error: no expression".into()));
            };
            let mut ev = Evaluator {
                query_start: grid.start,
                query_end: grid.end,
                lookback,
                default_sub_step: opts.default_subquery_step.as_millis() as i64,
                selected,
                max_samples: opts.max_samples,
                samples: 0,
                deadline,
                cancel,
                ann,
            };
            let data = ev.eval(&expr, &grid)?;
            let data = finish(data)?;
            Ok::<_, Error>((data, ev.ann))
        };
        let out = if deep {
            on_deep_stack(evaluate).await
        } else {
            tokio::task::spawn_blocking(evaluate)
                .await
                .map_err(|e| Error::Execution(format!("query evaluation failed: {e}")))?
        };
        drop(guard);
        out
    }
}

/// A parsed query. Selectors are keyed by their address in the AST: the root stays on the
/// heap so moving the tree to the evaluation thread does not move any node. A deep tree is
/// dropped on a deep stack too (dropping recurses).
struct Parsed {
    expr: Option<Box<Expr>>,
    deep: bool,
}

impl Drop for Parsed {
    fn drop(&mut self) {
        if let Some(expr) = self.expr.take().filter(|_| self.deep) {
            let _ = deep_thread(move || drop(expr));
        }
    }
}

/// Parses `query`, checks that a range query's type is scalar or instant vector, and plans
/// its selections: everything that recurses over the tree before evaluation.
fn prepare(query: &str, planner: Planner, deep: bool) -> Result<(Parsed, Vec<Planned>)> {
    let expr = Box::new(promql_parser::parser::parse(query).map_err(Error::Parse)?);
    let parsed = Parsed {
        expr: Some(expr),
        deep,
    };
    let Some(expr) = parsed.expr.as_deref() else {
        return Err(Error::Execution("internal error: no expression".into()));
    };
    if planner.step > 0 {
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            other => {
                return Err(Error::BadData(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    type_name(other)
                )));
            }
        }
    }
    let planned = planner.plan(expr)?;
    Ok((parsed, planned))
}

/// At most this many deep-stack query threads run at once (more queries wait).
static DEEP_THREADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Runs `f` on a new thread with [`limits::DEEP_STACK_BYTES`] of stack; a panic is an error.
async fn on_deep_stack<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let _permit = DEEP_THREADS
        .acquire()
        .await
        .map_err(|e| Error::Execution(format!("query evaluation failed: {e}")))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    deep_thread(move || {
        let _ = tx.send(f());
    })
    .map_err(|e| Error::Execution(format!("cannot start a query thread: {e}")))?;
    rx.await.map_err(|_| {
        Error::Execution("query evaluation failed: the query thread panicked".into())
    })?
}

fn deep_thread(f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("promql-deep".into())
        .stack_size(limits::DEEP_STACK_BYTES)
        .spawn(f)
        .map(drop)
}

/// Sets the flag when the query future is dropped, so the evaluator stops.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
    }
}

/// Delayed name removal: drops marked names, then merges series that now share a label set
/// (an error if they overlap in time).
fn finish(data: Data) -> Result<Data> {
    match data {
        Data::Vector(v) => Ok(Data::Vector(merge_same_labels(v)?)),
        Data::Matrix(v) => Ok(Data::Matrix(merge_same_labels(v)?)),
        other => Ok(other),
    }
}

fn merge_same_labels(v: Vec<Series>) -> Result<Vec<Series>> {
    let mut out: Vec<Series> = Vec::with_capacity(v.len());
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(v.len());
    for s in v {
        let labels = s.output_labels();
        match index.get(&labels) {
            None => {
                index.insert(labels.clone(), out.len());
                out.push(Series {
                    labels,
                    drop_name: false,
                    points: s.points,
                });
            }
            Some(&i) => {
                let mut merged = Vec::with_capacity(out[i].points.len() + s.points.len());
                let (a, b) = (&out[i].points, &s.points);
                let (mut x, mut y) = (0, 0);
                while x < a.len() || y < b.len() {
                    if y == b.len() || (x < a.len() && a[x].t < b[y].t) {
                        merged.push(a[x]);
                        x += 1;
                    } else if x == a.len() || b[y].t < a[x].t {
                        merged.push(b[y]);
                        y += 1;
                    } else {
                        return Err(Error::Execution(
                            "vector cannot contain metrics with the same labelset".into(),
                        ));
                    }
                }
                out[i].points = merged;
            }
        }
    }
    Ok(out)
}

fn instant_value(data: Data, t: i64) -> Result<QueryValue> {
    Ok(match data {
        Data::Scalar(v) => QueryValue::Scalar(t, v.first().copied().unwrap_or(f64::NAN)),
        Data::String(s) => QueryValue::String(t, s),
        Data::Vector(v) => QueryValue::Vector(
            v.into_iter()
                .filter_map(|s| {
                    s.points.first().map(|p| Sample {
                        labels: s.labels.clone(),
                        t: p.t,
                        v: p.v,
                    })
                })
                .collect(),
        ),
        Data::Matrix(v) => QueryValue::Matrix(to_range_series(v)),
    })
}

fn range_value(data: Data, grid: &Grid) -> Result<QueryValue> {
    Ok(match data {
        Data::Scalar(v) => QueryValue::Matrix(vec![RangeSeries {
            labels: Labels::empty(),
            points: grid.times().zip(v).collect(),
        }]),
        Data::Vector(v) | Data::Matrix(v) => QueryValue::Matrix(to_range_series(v)),
        Data::String(_) => {
            return Err(Error::BadData(
                "invalid expression type \"string\" for range query, must be Scalar or instant Vector".into(),
            ));
        }
    })
}

fn to_range_series(v: Vec<Series>) -> Vec<RangeSeries> {
    let mut out: Vec<RangeSeries> = v
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .map(|s| RangeSeries {
            labels: s.labels,
            points: s.points.into_iter().map(|p| (p.t, p.v)).collect(),
        })
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}
