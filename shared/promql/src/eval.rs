//! The evaluator: walks a `promql-parser` AST over a [`Grid`] of steps, all steps at once.
//! Selectors read pre-fetched series ([`crate::plan`]); windows follow Prometheus 3.x
//! (left-open range and lookback windows, `@` and offset, epoch-aligned subquery steps).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AggregateExpr, Call, Expr, MatrixSelector, SubqueryExpr, VectorSelector,
};
use strata_tsdb::chunkenc::STALE_NAN_BITS;
use strata_tsdb::labels::{Labels, METRIC_NAME};

use crate::aggregate::aggregate;
use crate::binary::binary;
use crate::error::{Error, Result};
use crate::functions::{instant, range};
use crate::plan::{SelectorKey, at_ms, offset_ms};
use crate::select::{RawSeries, Scratch};
use crate::value::{Annotations, Data, Grid, Point, Series};

/// Everything an evaluation needs besides the AST.
pub(crate) struct Evaluator {
    /// Query start and end (ms), for `@ start()` / `@ end()`.
    pub(crate) query_start: i64,
    pub(crate) query_end: i64,
    /// Lookback window of instant selectors (ms).
    pub(crate) lookback: i64,
    /// Step of subqueries without one (ms).
    pub(crate) default_sub_step: i64,
    /// Series fetched for each selector. Every selector node is evaluated exactly once (a
    /// range query covers all steps in one pass), so its series are taken out of the map and
    /// each one's chunks are freed as soon as it has been evaluated.
    pub(crate) selected: HashMap<SelectorKey, Vec<RawSeries>>,
    /// Sample limit and the number of samples currently held by selectors and subqueries.
    pub(crate) max_samples: usize,
    pub(crate) samples: usize,
    pub(crate) deadline: Instant,
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) ann: Annotations,
}

/// Gives back the growth slack of a result's point list when it is large (results live until
/// the query ends; growth by doubling would otherwise waste up to half).
fn trim(points: &mut Vec<Point>) {
    if points.capacity() - points.len() > points.len() / 4 {
        points.shrink_to_fit();
    }
}

/// The effective evaluation time of step `t` for a node with `@` and offset.
fn effective(t: i64, at: Option<i64>, offset: i64) -> i64 {
    at.unwrap_or(t) - offset
}

fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// Strips any number of parentheses.
pub(crate) fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

impl Evaluator {
    fn check(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::Canceled("query execution"));
        }
        if Instant::now() > self.deadline {
            return Err(Error::Timeout("query execution"));
        }
        Ok(())
    }

    fn add_samples(&mut self, n: usize) -> Result<()> {
        self.samples += n;
        if self.samples > self.max_samples {
            return Err(Error::TooManySamples("query execution"));
        }
        Ok(())
    }

    /// Evaluates `expr` at every step of `grid`.
    pub(crate) fn eval(&mut self, expr: &Expr, grid: &Grid) -> Result<Data> {
        self.check()?;
        match expr {
            Expr::NumberLiteral(n) => Ok(Data::Scalar(vec![n.val; grid.len()])),
            Expr::StringLiteral(s) => Ok(Data::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, grid),
            Expr::Unary(u) => match self.eval(&u.expr, grid)? {
                Data::Scalar(v) => Ok(Data::Scalar(v.into_iter().map(|x| -x).collect())),
                Data::Vector(mut s) => {
                    for series in &mut s {
                        series.drop_name = true;
                        for p in &mut series.points {
                            p.v = -p.v;
                        }
                    }
                    Ok(Data::Vector(s))
                }
                other => Err(Error::BadData(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => self.eval_vector_selector(vs, grid, false),
            Expr::MatrixSelector(ms) => {
                let input = self.matrix_selector_input(ms)?;
                Ok(Data::Matrix(self.raw_window_matrix(input, grid)?))
            }
            Expr::Subquery(sq) => {
                let input = self.subquery_input(sq, grid)?;
                Ok(Data::Matrix(self.raw_window_matrix(input, grid)?))
            }
            Expr::Call(c) => self.eval_call(c, grid),
            Expr::Aggregate(a) => self.eval_aggregate(a, grid),
            Expr::Binary(b) => {
                let lhs = self.eval(&b.lhs, grid)?;
                let rhs = self.eval(&b.rhs, grid)?;
                binary(b.op, b.modifier.as_ref(), lhs, rhs, grid, &mut self.ann)
            }
            Expr::Extension(_) => Err(Error::NotSupported("extension expressions".into())),
        }
    }

    fn resolve_at(&self, at: &Option<promql_parser::parser::AtModifier>) -> Option<i64> {
        at.as_ref()
            .map(|a| at_ms(a, self.query_start, self.query_end))
    }

    fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        grid: &Grid,
        timestamps: bool,
    ) -> Result<Data> {
        let key = SelectorKey::of_vector(vs);
        let Some(raw) = self.selected.remove(&key) else {
            return Err(Error::Execution(format!(
                "internal error: selector {vs} was not fetched"
            )));
        };
        let at = self.resolve_at(&vs.at);
        let offset = offset_ms(&vs.offset);
        let lookback = self.lookback;
        let mut out = Vec::with_capacity(raw.len());
        let mut total = 0usize;
        let mut scratch = Scratch::default();
        for (i, s) in raw.into_iter().enumerate() {
            if i % 1024 == 0 {
                self.check()?;
            }
            let (ts, vs) = s.samples(&mut scratch, false)?;
            let mut points = Vec::new();
            let mut j = 0usize; // first sample with ts > eff (for a non-decreasing eff)
            let mut prev_eff = i64::MIN;
            for t in grid.times() {
                let eff = effective(t, at, offset);
                if eff < prev_eff {
                    j = 0;
                }
                prev_eff = eff;
                while j < ts.len() && ts[j] <= eff {
                    j += 1;
                }
                if j == 0 {
                    continue;
                }
                let (st, sv) = (ts[j - 1], vs[j - 1]);
                if st <= eff - lookback || is_stale(sv) {
                    continue;
                }
                let v = if timestamps { st as f64 / 1000.0 } else { sv };
                points.push(Point { t, v });
            }
            if !points.is_empty() {
                trim(&mut points);
                total += points.len();
                out.push(Series {
                    labels: s.labels.clone(),
                    drop_name: timestamps,
                    points,
                });
            }
        }
        self.add_samples(total)?;
        Ok(Data::Vector(out))
    }

    fn matrix_selector_input(&mut self, ms: &MatrixSelector) -> Result<RangeInput> {
        let key = SelectorKey::of_matrix(ms);
        let Some(raw) = self.selected.remove(&key) else {
            return Err(Error::Execution(format!(
                "internal error: selector {ms} was not fetched"
            )));
        };
        Ok(RangeInput {
            source: RangeSource::Selected(raw),
            range: ms.range.as_millis() as i64,
            offset: offset_ms(&ms.vs.offset),
            at: self.resolve_at(&ms.vs.at),
            selector: Some(ms.vs.clone()),
        })
    }

    /// Evaluates a subquery's inner expression on its epoch-aligned grid covering every
    /// window the outer `grid` needs.
    fn subquery_input(&mut self, sq: &SubqueryExpr, grid: &Grid) -> Result<RangeInput> {
        let range = sq.range.as_millis() as i64;
        let step = match sq.step {
            Some(s) if !s.is_zero() => s.as_millis() as i64,
            _ => self.default_sub_step,
        };
        if step <= 0 {
            return Err(Error::BadData("zero or negative subquery step".into()));
        }
        let offset = offset_ms(&sq.offset);
        let at = self.resolve_at(&sq.at);
        let (first, last) = match at {
            Some(a) => (a - offset, a - offset),
            None => (grid.start - offset, grid.end - offset),
        };
        let lo = first - range;
        let start = lo.div_euclid(step) * step + step;
        let end = last.div_euclid(step) * step;
        let mut series = Vec::new();
        if start <= end {
            let inner = Grid { start, end, step };
            match self.eval(&sq.expr, &inner)? {
                Data::Vector(v) => {
                    for s in v {
                        let (ts, vs) = s.points.iter().map(|p| (p.t, p.v)).unzip();
                        series.push(OwnedSeries {
                            labels: s.labels,
                            drop_name: s.drop_name,
                            ts,
                            vs,
                        });
                    }
                }
                Data::Scalar(v) => {
                    let (ts, vs) = inner.times().zip(v).unzip();
                    series.push(OwnedSeries {
                        labels: Labels::empty(),
                        drop_name: false,
                        ts,
                        vs,
                    });
                }
                other => {
                    return Err(Error::BadData(format!(
                        "subquery is only allowed on instant vector, got {} instead",
                        other.type_name()
                    )));
                }
            }
        }
        let n: usize = series.iter().map(|s| s.ts.len()).sum();
        self.add_samples(n)?;
        Ok(RangeInput {
            source: RangeSource::Owned(series),
            range,
            offset,
            at,
            selector: None,
        })
    }

    /// A range vector at the single step of `grid` (instant queries): the raw samples of
    /// each series in the window.
    fn raw_window_matrix(&mut self, mut input: RangeInput, grid: &Grid) -> Result<Vec<Series>> {
        if grid.len() != 1 {
            return Err(Error::BadData(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into(),
            ));
        }
        let end = effective(grid.start, input.at, input.offset);
        let start = end - input.range;
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        for i in 0..input.len() {
            let s = input.series(i, &mut scratch)?;
            let lo = s.ts.partition_point(|&t| t <= start);
            let hi = s.ts.partition_point(|&t| t <= end);
            let points: Vec<Point> = (lo..hi)
                .map(|i| Point {
                    t: s.ts[i],
                    v: s.vs[i],
                })
                .collect();
            if !points.is_empty() {
                out.push(Series {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name,
                    points,
                });
            }
            input.release(i);
        }
        self.add_samples(out.iter().map(|s| s.points.len()).sum())?;
        Ok(out)
    }

    fn range_input(&mut self, arg: &Expr, grid: &Grid) -> Result<RangeInput> {
        match unparen(arg) {
            Expr::MatrixSelector(ms) => self.matrix_selector_input(ms),
            Expr::Subquery(sq) => self.subquery_input(sq, grid),
            other => Err(Error::BadData(format!(
                "expected type range vector in call to function, got {}",
                other.value_type()
            ))),
        }
    }

    fn eval_call(&mut self, call: &Call, grid: &Grid) -> Result<Data> {
        let name = call.func.name;
        let args = &call.args.args;
        if name == "timestamp"
            && let Some(Expr::VectorSelector(vs)) = args.first().map(|a| unparen(a))
        {
            return self.eval_vector_selector(vs, grid, true);
        }
        if name == "absent" {
            return self.eval_absent(args, grid);
        }
        if name == "absent_over_time" {
            return self.eval_absent_over_time(args, grid);
        }
        if range::is_range_function(name) {
            return self.eval_range_function(name, args, grid);
        }
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval(a, grid)?);
        }
        let mut ctx = instant::CallCtx {
            grid,
            ann: &mut self.ann,
        };
        instant::call(name, values, &mut ctx)
    }

    fn eval_range_function(&mut self, name: &str, args: &[Box<Expr>], grid: &Grid) -> Result<Data> {
        let mut matrix_arg = None;
        let mut params = Vec::new();
        for a in args {
            if matrix_arg.is_none() && a.value_type() == ValueType::Matrix {
                matrix_arg = Some(a);
            } else {
                match self.eval(a, grid)? {
                    Data::Scalar(v) => params.push(v),
                    other => {
                        return Err(Error::BadData(format!(
                            "expected type scalar in call to function {name:?}, got {}",
                            other.type_name()
                        )));
                    }
                }
            }
        }
        let Some(arg) = matrix_arg else {
            return Err(Error::BadData(format!(
                "expected type range vector in call to function {name:?}"
            )));
        };
        let mut input = self.range_input(arg, grid)?;
        let keeps_name = range::keeps_name(name);
        let Some(func) = range::RangeFn::from_name(name) else {
            return Err(Error::NotSupported(format!("function {name}()")));
        };
        let mut out = Vec::with_capacity(input.len());
        let mut step_params = vec![0.0; params.len()];
        let mut total = 0usize;
        let mut scratch = Scratch::default();
        for si in 0..input.len() {
            if si % 256 == 0 {
                self.check()?;
            }
            // One series decoded at a time, stale markers removed.
            let s = input.series(si, &mut scratch)?;
            let (ts, vs) = (s.ts, s.vs);
            let metric_name = s.labels.get(METRIC_NAME);
            let mut points = Vec::new();
            let (mut lo, mut hi) = (0usize, 0usize);
            let mut prev_end = i64::MIN;
            for (i, t) in grid.times().enumerate() {
                let end = effective(t, input.at, input.offset);
                let start = end - input.range;
                if end < prev_end {
                    lo = 0;
                    hi = 0;
                }
                prev_end = end;
                while lo < ts.len() && ts[lo] <= start {
                    lo += 1;
                }
                if hi < lo {
                    hi = lo;
                }
                while hi < ts.len() && ts[hi] <= end {
                    hi += 1;
                }
                if lo == hi {
                    continue;
                }
                for (k, p) in params.iter().enumerate() {
                    step_params[k] = p[i];
                }
                let w = range::Window {
                    ts: &ts[lo..hi],
                    vs: &vs[lo..hi],
                    range_start: start,
                    range_end: end,
                    eval_t: t,
                    metric_name,
                };
                if let Some(v) = range::eval_fn(func, &w, &step_params, &mut self.ann)? {
                    points.push(Point { t, v });
                }
            }
            if !points.is_empty() {
                trim(&mut points);
                total += points.len();
                out.push(Series {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name || !keeps_name,
                    points,
                });
            }
            input.release(si);
        }
        self.add_samples(total)?;
        Ok(Data::Vector(out))
    }

    /// `absent(v)`: 1 at steps where `v` has no element, labelled from the equality matchers
    /// of a plain selector argument.
    fn eval_absent(&mut self, args: &[Box<Expr>], grid: &Grid) -> Result<Data> {
        let Some(arg) = args.first() else {
            return Err(Error::BadData("absent() needs one argument".into()));
        };
        let present = match self.eval(arg, grid)? {
            Data::Vector(v) => presence(&v, grid),
            other => {
                return Err(Error::BadData(format!(
                    "expected type instant vector in call to function \"absent\", got {}",
                    other.type_name()
                )));
            }
        };
        let labels = match unparen(arg) {
            Expr::VectorSelector(vs) => absent_labels(vs),
            _ => Labels::empty(),
        };
        Ok(absent_series(labels, &present, grid))
    }

    fn eval_absent_over_time(&mut self, args: &[Box<Expr>], grid: &Grid) -> Result<Data> {
        let Some(arg) = args.first() else {
            return Err(Error::BadData(
                "absent_over_time() needs one argument".into(),
            ));
        };
        let mut input = self.range_input(arg, grid)?;
        let mut present = vec![false; grid.len()];
        let mut scratch = Scratch::default();
        for si in 0..input.len() {
            let s = input.series(si, &mut scratch)?;
            for (i, t) in grid.times().enumerate() {
                if present[i] {
                    continue;
                }
                let end = effective(t, input.at, input.offset);
                let start = end - input.range;
                let lo = s.ts.partition_point(|&x| x <= start);
                let hi = s.ts.partition_point(|&x| x <= end);
                if lo < hi {
                    present[i] = true;
                }
            }
            input.release(si);
        }
        let labels = match &input.selector {
            Some(vs) => absent_labels(vs),
            None => Labels::empty(),
        };
        Ok(absent_series(labels, &present, grid))
    }

    fn eval_aggregate(&mut self, a: &AggregateExpr, grid: &Grid) -> Result<Data> {
        let param = match &a.param {
            Some(p) => Some(self.eval(p, grid)?),
            None => None,
        };
        let input = match self.eval(&a.expr, grid)? {
            Data::Vector(v) => v,
            other => {
                return Err(Error::BadData(format!(
                    "expected type instant vector in aggregation expression, got {}",
                    other.type_name()
                )));
            }
        };
        let out = aggregate(a.op, param, a.modifier.as_ref(), input, grid, &mut self.ann)?;
        Ok(Data::Vector(out))
    }
}

/// The series of a range-vector argument plus its window parameters.
pub(crate) struct RangeInput {
    source: RangeSource,
    range: i64,
    offset: i64,
    at: Option<i64>,
    /// The selector, for `absent_over_time`'s labels.
    selector: Option<VectorSelector>,
}

/// Range selectors read the fetched series (decoded one at a time); subqueries own their
/// inner results.
enum RangeSource {
    Selected(Vec<RawSeries>),
    Owned(Vec<OwnedSeries>),
}

struct OwnedSeries {
    labels: Labels,
    drop_name: bool,
    ts: Vec<i64>,
    vs: Vec<f64>,
}

/// One series of a range input, ready for windowing (no stale markers).
struct SeriesView<'s> {
    labels: &'s Labels,
    drop_name: bool,
    ts: &'s [i64],
    vs: &'s [f64],
}

impl RangeInput {
    fn len(&self) -> usize {
        match &self.source {
            RangeSource::Selected(s) => s.len(),
            RangeSource::Owned(s) => s.len(),
        }
    }

    /// Frees series `i`'s data once it has been evaluated.
    fn release(&mut self, i: usize) {
        match &mut self.source {
            RangeSource::Selected(s) => {
                s[i] = RawSeries::new(Labels::empty(), Vec::new(), Vec::new())
            }
            RangeSource::Owned(s) => {
                s[i].ts = Vec::new();
                s[i].vs = Vec::new();
            }
        }
    }

    fn series<'s>(&'s self, i: usize, scratch: &'s mut Scratch) -> Result<SeriesView<'s>> {
        match &self.source {
            RangeSource::Selected(s) => {
                let (ts, vs) = s[i].samples(scratch, true)?;
                Ok(SeriesView {
                    labels: &s[i].labels,
                    drop_name: false,
                    ts,
                    vs,
                })
            }
            RangeSource::Owned(s) => Ok(SeriesView {
                labels: &s[i].labels,
                drop_name: s[i].drop_name,
                ts: &s[i].ts,
                vs: &s[i].vs,
            }),
        }
    }
}

fn presence(v: &[Series], grid: &Grid) -> Vec<bool> {
    let mut present = vec![false; grid.len()];
    for s in v {
        for p in &s.points {
            present[grid.index_of(p.t)] = true;
        }
    }
    present
}

fn absent_series(labels: Labels, present: &[bool], grid: &Grid) -> Data {
    let points: Vec<Point> = grid
        .times()
        .zip(present)
        .filter(|(_, p)| !**p)
        .map(|(t, _)| Point { t, v: 1.0 })
        .collect();
    if points.is_empty() {
        return Data::Vector(Vec::new());
    }
    Data::Vector(vec![Series {
        labels,
        drop_name: false,
        points,
    }])
}

/// The labels `absent()` gives its sample: every label with exactly one matcher, that
/// matcher being an equality (the metric name excluded).
fn absent_labels(vs: &VectorSelector) -> Labels {
    use promql_parser::label::MatchOp;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in &vs.matchers.matchers {
        *counts.entry(m.name.as_str()).or_default() += 1;
    }
    let pairs = vs.matchers.matchers.iter().filter(|m| {
        m.name != METRIC_NAME
            && matches!(m.op, MatchOp::Equal)
            && counts.get(m.name.as_str()) == Some(&1)
    });
    Labels::from_pairs(pairs.map(|m| (m.name.clone(), m.value.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluator(cancel: bool, deadline: Instant) -> Evaluator {
        Evaluator {
            query_start: 0,
            query_end: 0,
            lookback: 300_000,
            default_sub_step: 60_000,
            selected: HashMap::new(),
            max_samples: 1000,
            samples: 0,
            deadline,
            cancel: Arc::new(AtomicBool::new(cancel)),
            ann: Annotations::default(),
        }
    }

    /// Dropping the query future sets the flag; the evaluator then stops with `Canceled`.
    #[test]
    fn cancellation_and_deadline_stop_evaluation() {
        let expr = promql_parser::parser::parse("1 + 2").expect("parse");
        let far = Instant::now() + std::time::Duration::from_secs(60);
        let mut ev = evaluator(true, far);
        let err = ev.eval(&expr, &Grid::instant(0)).expect_err("canceled");
        assert_eq!(err, Error::Canceled("query execution"));
        let mut ev = evaluator(false, Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(2));
        let err = ev.eval(&expr, &Grid::instant(0)).expect_err("timed out");
        assert_eq!(err, Error::Timeout("query execution"));
        let mut ev = evaluator(false, far);
        assert_eq!(
            ev.eval(&expr, &Grid::instant(0)).expect("evaluates"),
            Data::Scalar(vec![3.0])
        );
    }
}
