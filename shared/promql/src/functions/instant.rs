//! Functions on instant vectors and scalars (math, date, clamp/round, label_*, sort*,
//! histogram_quantile, vector/scalar/time, …).
//!
//! Every function works on whole point lists over the evaluation grid (a range query is
//! evaluated over all steps at once); label-derived work is done once per series. Where
//! Prometheus drops `__name__`, the series is only marked (`drop_name`), as with Prometheus'
//! delayed name removal.

mod date;
mod gofmt;
mod histogram;
mod labels;
mod sort;
#[cfg(test)]
mod tests;

use std::f64::consts::PI;

use strata_tsdb::labels::Labels;

use crate::error::{Error, Result};
use crate::value::{Annotations, Data, Grid, Point, Series};

/// What a function call may need besides its arguments.
#[derive(Debug)]
pub(crate) struct CallCtx<'a> {
    /// The evaluation steps.
    pub(crate) grid: &'a Grid,
    /// Where warnings and infos go.
    pub(crate) ann: &'a mut Annotations,
}

/// Calls function `name` (anything but the range-vector functions, `absent`,
/// `absent_over_time` and `timestamp` of a selector, which the evaluator handles) on
/// evaluated arguments.
pub(crate) fn call(name: &str, args: Vec<Data>, ctx: &mut CallCtx<'_>) -> Result<Data> {
    let mut a = Args {
        name,
        it: args.into_iter(),
    };
    let grid = ctx.grid;
    match name {
        "abs" => Ok(simple(a.vector()?, f64::abs)),
        "ceil" => Ok(simple(a.vector()?, f64::ceil)),
        "floor" => Ok(simple(a.vector()?, f64::floor)),
        "exp" => Ok(simple(a.vector()?, f64::exp)),
        "ln" => Ok(simple(a.vector()?, f64::ln)),
        "log2" => Ok(simple(a.vector()?, f64::log2)),
        "log10" => Ok(simple(a.vector()?, f64::log10)),
        "sqrt" => Ok(simple(a.vector()?, f64::sqrt)),
        "sgn" => Ok(simple(a.vector()?, sgn)),
        "sin" => Ok(simple(a.vector()?, f64::sin)),
        "cos" => Ok(simple(a.vector()?, f64::cos)),
        "tan" => Ok(simple(a.vector()?, f64::tan)),
        "asin" => Ok(simple(a.vector()?, f64::asin)),
        "acos" => Ok(simple(a.vector()?, f64::acos)),
        "atan" => Ok(simple(a.vector()?, f64::atan)),
        "sinh" => Ok(simple(a.vector()?, f64::sinh)),
        "cosh" => Ok(simple(a.vector()?, f64::cosh)),
        "tanh" => Ok(simple(a.vector()?, f64::tanh)),
        "asinh" => Ok(simple(a.vector()?, f64::asinh)),
        "acosh" => Ok(simple(a.vector()?, f64::acosh)),
        "atanh" => Ok(simple(a.vector()?, f64::atanh)),
        "deg" => Ok(simple(a.vector()?, |v| v * 180.0 / PI)),
        "rad" => Ok(simple(a.vector()?, |v| v * PI / 180.0)),
        "pi" => Ok(Data::Scalar(vec![PI; grid.len()])),
        "time" => Ok(Data::Scalar(
            grid.times().map(|t| t as f64 / 1000.0).collect(),
        )),
        "vector" => Ok(vector(a.scalar()?, grid)),
        "scalar" => Ok(scalar(&a.vector()?, grid)),
        "timestamp" => Ok(timestamp(a.vector()?)),
        "min_of" => Ok(scalar_pair(a.scalar()?, a.scalar()?, go_min)),
        "max_of" => Ok(scalar_pair(a.scalar()?, a.scalar()?, go_max)),
        "clamp" => {
            let v = a.vector()?;
            let lo = a.scalar()?;
            let hi = a.scalar()?;
            Ok(clamp(v, Some(&lo), Some(&hi), grid))
        }
        "clamp_min" => {
            let v = a.vector()?;
            let lo = a.scalar()?;
            Ok(clamp(v, Some(&lo), None, grid))
        }
        "clamp_max" => {
            let v = a.vector()?;
            let hi = a.scalar()?;
            Ok(clamp(v, None, Some(&hi), grid))
        }
        "round" => {
            let v = a.vector()?;
            let to = a.opt_scalar()?;
            Ok(round(v, to.as_deref(), grid))
        }
        "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute"
        | "month" | "year" => date::call(name, a.opt_vector()?, grid),
        "sort" | "sort_desc" => Ok(sort::by_value(a.vector()?, name == "sort_desc", ctx)),
        "sort_by_label" | "sort_by_label_desc" => {
            let v = a.vector()?;
            let names = a.rest_strings()?;
            Ok(sort::by_label(v, &names, name == "sort_by_label_desc", ctx))
        }
        "label_replace" => {
            let v = a.vector()?;
            let dst = a.string()?;
            let repl = a.string()?;
            let src = a.string()?;
            let re = a.string()?;
            labels::label_replace(v, &dst, &repl, &src, &re)
        }
        "label_join" => {
            let v = a.vector()?;
            let dst = a.string()?;
            let sep = a.string()?;
            let srcs = a.rest_strings()?;
            labels::label_join(v, &dst, &sep, &srcs)
        }
        "histogram_quantile" => {
            let q = a.scalar()?;
            let v = a.vector()?;
            Ok(histogram::quantile(&q, &v, ctx))
        }
        "histogram_quantiles" => {
            let v = a.vector()?;
            let label = a.string()?;
            let mut qs = Vec::new();
            while let Some(q) = a.opt_scalar()? {
                qs.push(q);
            }
            histogram::quantiles(&v, &label, &qs, ctx)
        }
        "histogram_fraction" => {
            let lower = a.scalar()?;
            let upper = a.scalar()?;
            let v = a.vector()?;
            Ok(histogram::fraction(&lower, &upper, &v, ctx))
        }
        // Native histograms do not exist in this engine: these functions only look at
        // native histogram samples, so on float data the result is always empty.
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            a.vector()?;
            Ok(Data::Vector(Vec::new()))
        }
        _ => Err(Error::NotSupported(format!("function {name}()"))),
    }
}

/// The evaluated arguments of one call, taken in order.
struct Args<'n> {
    name: &'n str,
    it: std::vec::IntoIter<Data>,
}

impl Args<'_> {
    fn missing(&self, what: &str) -> Error {
        Error::BadData(format!(
            "expected type {what} in call to function {:?}, got none",
            self.name
        ))
    }

    fn wrong(&self, what: &str, got: &Data) -> Error {
        Error::BadData(format!(
            "expected type {what} in call to function {:?}, got {}",
            self.name,
            got.type_name()
        ))
    }

    fn vector(&mut self) -> Result<Vec<Series>> {
        self.opt_vector()?
            .ok_or_else(|| self.missing("instant vector"))
    }

    fn opt_vector(&mut self) -> Result<Option<Vec<Series>>> {
        match self.it.next() {
            None => Ok(None),
            Some(Data::Vector(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong("instant vector", &other)),
        }
    }

    fn scalar(&mut self) -> Result<Vec<f64>> {
        self.opt_scalar()?.ok_or_else(|| self.missing("scalar"))
    }

    fn opt_scalar(&mut self) -> Result<Option<Vec<f64>>> {
        match self.it.next() {
            None => Ok(None),
            Some(Data::Scalar(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong("scalar", &other)),
        }
    }

    fn string(&mut self) -> Result<String> {
        match self.it.next() {
            None => Err(self.missing("string")),
            Some(Data::String(s)) => Ok(s),
            Some(other) => Err(self.wrong("string", &other)),
        }
    }

    fn rest_strings(&mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        while self.it.len() > 0 {
            out.push(self.string()?);
        }
        Ok(out)
    }
}

/// The value of per-step scalar `vals` at grid timestamp `t` (NaN off the grid).
fn at_step(grid: &Grid, vals: &[f64], t: i64) -> f64 {
    if t < grid.start || t > grid.end {
        return f64::NAN;
    }
    vals.get(grid.index_of(t)).copied().unwrap_or(f64::NAN)
}

/// Applies `f` to every value; the result drops the metric name.
fn simple(mut v: Vec<Series>, f: impl Fn(f64) -> f64) -> Data {
    for s in &mut v {
        s.drop_name = true;
        for p in &mut s.points {
            p.v = f(p.v);
        }
    }
    Data::Vector(v)
}

fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// Go's `math.Max`: +Inf wins over NaN, NaN wins over everything else, +0 over -0.
pub(super) fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        f64::INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() { y } else { x }
    } else if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`: -Inf wins over NaN, NaN wins over everything else, -0 over +0.
pub(super) fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() { x } else { y }
    } else if x < y {
        x
    } else {
        y
    }
}

/// `vector(s)`: one series without labels, one point per step.
fn vector(s: Vec<f64>, grid: &Grid) -> Data {
    let points = grid.times().zip(s).map(|(t, v)| Point { t, v }).collect();
    Data::Vector(vec![Series::new(Labels::empty(), points)])
}

/// `scalar(v)`: the single element's value at each step, NaN unless there is exactly one.
fn scalar(v: &[Series], grid: &Grid) -> Data {
    let n = grid.len();
    let mut vals = vec![f64::NAN; n];
    let mut counts = vec![0u32; n];
    for s in v {
        for p in &s.points {
            if p.t < grid.start || p.t > grid.end {
                continue;
            }
            let i = grid.index_of(p.t);
            if let (Some(c), Some(x)) = (counts.get_mut(i), vals.get_mut(i)) {
                *c += 1;
                *x = p.v;
            }
        }
    }
    for (x, c) in vals.iter_mut().zip(&counts) {
        if *c != 1 {
            *x = f64::NAN;
        }
    }
    Data::Scalar(vals)
}

/// `timestamp(v)` of a computed vector: the step time of each point, in seconds.
fn timestamp(mut v: Vec<Series>) -> Data {
    for s in &mut v {
        s.drop_name = true;
        for p in &mut s.points {
            p.v = p.t as f64 / 1000.0;
        }
    }
    Data::Vector(v)
}

/// `min_of` / `max_of` of two scalars, step by step.
fn scalar_pair(a: Vec<f64>, b: Vec<f64>, f: fn(f64, f64) -> f64) -> Data {
    Data::Scalar(a.into_iter().zip(b).map(|(x, y)| f(x, y)).collect())
}

/// `clamp`, `clamp_min`, `clamp_max`: a step where max < min has no output.
fn clamp(mut v: Vec<Series>, lo: Option<&[f64]>, hi: Option<&[f64]>, grid: &Grid) -> Data {
    for s in &mut v {
        s.drop_name = true;
        s.points.retain_mut(|p| {
            let min = lo.map_or(f64::NEG_INFINITY, |l| at_step(grid, l, p.t));
            let max = hi.map_or(f64::INFINITY, |h| at_step(grid, h, p.t));
            if max < min {
                return false;
            }
            p.v = go_max(min, go_min(max, p.v));
            true
        });
    }
    v.retain(|s| !s.points.is_empty());
    Data::Vector(v)
}

/// `round(v, to_nearest=1)`: ties round up.
fn round(mut v: Vec<Series>, to: Option<&[f64]>, grid: &Grid) -> Data {
    for s in &mut v {
        s.drop_name = true;
        for p in &mut s.points {
            let to_nearest = to.map_or(1.0, |t| at_step(grid, t, p.t));
            // Multiplying by the inverse is what Prometheus does (fewer rounding artefacts).
            let inv = 1.0 / to_nearest;
            p.v = (p.v * inv + 0.5).floor() / inv;
        }
    }
    Data::Vector(v)
}
