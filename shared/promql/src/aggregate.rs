//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, …) with
//! `by`/`without`, over all steps of the grid at once.
//!
//! Each input series' group is computed once (from its labels); each group's series are then
//! folded step-wise into one reused per-step array, so no per-step hashing or allocation
//! happens.

mod count_values;
mod kselect;
mod simple;
mod xxh64;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMIT_RATIO, T_LIMITK, T_MAX, T_MIN,
    T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{LabelModifier, token::TokenType};
use strata_tsdb::labels::{Label, Labels, METRIC_NAME};

use crate::error::{Error, Result};
use crate::value::{Annotations, Data, Grid, Series};

/// Evaluates aggregation `op` over `input`. `param` is the evaluated parameter (`topk`'s k,
/// `quantile`'s φ, … as a per-step scalar; `count_values`' label as a string).
pub(crate) fn aggregate(
    op: TokenType,
    param: Option<Data>,
    modifier: Option<&LabelModifier>,
    input: Vec<Series>,
    grid: &Grid,
    ann: &mut Annotations,
) -> Result<Vec<Series>> {
    let grouping = Grouping::new(modifier);
    let id = op.id();
    match id {
        T_COUNT_VALUES => {
            let label = match param {
                Some(Data::String(s)) => s,
                other => return Err(param_type_error(op, "string", other.as_ref())),
            };
            count_values::count_values(&label, &grouping, &input, grid)
        }
        T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
            let params = scalar_param(op, param)?;
            let kind = match id {
                T_TOPK => kselect::Kind::Top,
                T_BOTTOMK => kselect::Kind::Bottom,
                T_LIMITK => kselect::Kind::Limit,
                _ => kselect::Kind::Ratio,
            };
            kselect::select(kind, &params, &grouping, input, grid, ann)
        }
        T_QUANTILE => {
            let params = scalar_param(op, param)?;
            let (min, max, any_nan) = go_min_max(&params);
            if any_nan {
                ann.warn(format!(
                    "quantile value should be between 0 and 1, got {}",
                    go_fmt_g(f64::NAN)
                ));
            }
            if max > 1.0 {
                ann.warn(format!(
                    "quantile value should be between 0 and 1, got {}",
                    go_fmt_g(max)
                ));
            }
            if min < 0.0 {
                ann.warn(format!(
                    "quantile value should be between 0 and 1, got {}",
                    go_fmt_g(min)
                ));
            }
            Ok(simple::aggregate(
                simple::Kind::Quantile,
                Some(&params),
                &grouping,
                &input,
                grid,
            ))
        }
        _ => {
            let kind = match id {
                T_SUM => simple::Kind::Sum,
                T_AVG => simple::Kind::Avg,
                T_COUNT => simple::Kind::Count,
                T_MIN => simple::Kind::Min,
                T_MAX => simple::Kind::Max,
                T_GROUP => simple::Kind::Group,
                T_STDDEV => simple::Kind::Stddev,
                T_STDVAR => simple::Kind::Stdvar,
                _ => return Err(Error::NotSupported(format!("aggregation {op}"))),
            };
            Ok(simple::aggregate(kind, None, &grouping, &input, grid))
        }
    }
}

fn param_type_error(op: TokenType, want: &str, got: Option<&Data>) -> Error {
    Error::Execution(format!(
        "internal error: {op} expects a {want} parameter, got {}",
        got.map_or("none", Data::type_name)
    ))
}

/// The per-step values of a scalar parameter (a missing step counts as 0, as with
/// Prometheus' `fParams.Next`).
fn scalar_param(op: TokenType, param: Option<Data>) -> Result<Vec<f64>> {
    match param {
        Some(Data::Scalar(v)) => Ok(v),
        other => Err(param_type_error(op, "scalar", other.as_ref())),
    }
}

/// Minimum and maximum the way Prometheus' `fParams` computes them with Go's `math.Min` /
/// `math.Max` (a NaN anywhere makes both NaN), plus whether any value is NaN.
fn go_min_max(v: &[f64]) -> (f64, f64, bool) {
    let mut min = f64::MAX;
    let mut max = -f64::MAX;
    let mut nan = false;
    for &x in v {
        if x.is_nan() {
            nan = true;
        }
        if nan {
            continue;
        }
        min = min.min(x);
        max = max.max(x);
    }
    if nan {
        (f64::NAN, f64::NAN, true)
    } else {
        (min, max, false)
    }
}

/// The `by`/`without` clause: which labels identify a group and appear in the output.
pub(super) struct Grouping {
    without: bool,
    /// Sorted, deduplicated label names.
    names: Vec<String>,
}

impl Grouping {
    fn new(modifier: Option<&LabelModifier>) -> Self {
        let (without, names) = match modifier {
            None => (false, Vec::new()),
            Some(m) => (!m.is_include(), m.labels().labels.clone()),
        };
        let mut names = names;
        names.sort();
        names.dedup();
        Grouping { without, names }
    }

    fn contains(&self, name: &str) -> bool {
        self.names
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
    }

    /// True if every series falls into one group (no clause, or `by ()`).
    fn single_group(&self) -> bool {
        !self.without && self.names.is_empty()
    }

    /// The group's labels: `by` keeps only the listed labels, `without` removes the listed
    /// labels and `__name__`.
    fn labels(&self, l: &Labels) -> Labels {
        if self.single_group() {
            return Labels::empty();
        }
        let kept: Vec<Label> = l
            .iter()
            .filter(|lb| {
                if self.without {
                    lb.name != METRIC_NAME && !self.contains(&lb.name)
                } else {
                    self.contains(&lb.name)
                }
            })
            .cloned()
            .collect();
        Labels::from_sorted(kept)
    }

    /// Assigns each series a group index (in order of first appearance) and returns the
    /// per-series group indices plus each group's labels (empty when `want_labels` is false).
    fn assign(&self, input: &[Series], want_labels: bool) -> (Vec<usize>, Vec<Labels>) {
        if self.single_group() {
            let groups = if input.is_empty() {
                Vec::new()
            } else {
                vec![Labels::empty()]
            };
            return (vec![0; input.len()], groups);
        }
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut of_series = Vec::with_capacity(input.len());
        let mut labels = Vec::new();
        for s in input {
            let key = self.labels(&s.labels);
            let next = index.len();
            let g = *index.entry(key).or_insert_with_key(|k| {
                labels.push(if want_labels {
                    k.clone()
                } else {
                    Labels::empty()
                });
                next
            });
            of_series.push(g);
        }
        (of_series, labels)
    }
}

/// Series indices by group: `members[start[g]..start[g + 1]]` are group `g`'s series, in
/// input order.
fn group_members(of_series: &[usize], ng: usize) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![0usize; ng + 1];
    for &g in of_series {
        start[g + 1] += 1;
    }
    for g in 0..ng {
        start[g + 1] += start[g];
    }
    let mut fill = start.clone();
    let mut members = vec![0usize; of_series.len()];
    for (si, &g) in of_series.iter().enumerate() {
        members[fill[g]] = si;
        fill[g] += 1;
    }
    (members, start)
}

/// Stably sorts `(step, value)` pairs by step (`step < n`): a counting sort when the pairs
/// are dense relative to the grid, else a merge sort (each series contributes one sorted run).
fn sort_by_step<T: Copy>(v: &mut Vec<(usize, T)>, n: usize, counts: &mut Vec<usize>) {
    if v.len() < 2 {
        return;
    }
    if v.len() < n / 4 {
        v.sort_by_key(|e| e.0);
        return;
    }
    counts.clear();
    counts.resize(n + 1, 0);
    for e in v.iter() {
        counts[e.0 + 1] += 1;
    }
    for i in 0..n {
        counts[i + 1] += counts[i];
    }
    let mut sorted = v.clone();
    for e in v.iter() {
        sorted[counts[e.0]] = *e;
        counts[e.0] += 1;
    }
    *v = sorted;
}

/// Step index of `t` on the grid, if `t` is one of its steps.
fn step_index(grid: &Grid, n: usize, t: i64) -> Option<usize> {
    if t < grid.start || grid.step <= 0 {
        return None;
    }
    let off = t - grid.start;
    if off % grid.step != 0 {
        return None;
    }
    let i = usize::try_from(off / grid.step).ok()?;
    (i < n).then_some(i)
}

/// Go's `%g` / `%v` formatting of a float64: shortest round-trip digits, exponent form
/// (`1e+06`, `1.5e-05`) when the decimal exponent is < -4 or >= 6, `NaN`, `+Inf`, `-Inf`.
pub(crate) fn go_fmt_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Shortest round-trip digits and decimal exponent from Rust's `{:e}`.
    let e = format!("{v:e}");
    let (mant, exp) = match e.split_once('e') {
        Some((m, x)) => (m, x.parse::<i32>().unwrap_or(0)),
        None => (e.as_str(), 0),
    };
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}
