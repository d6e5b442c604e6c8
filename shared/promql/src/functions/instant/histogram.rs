//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` on classic
//! histograms (series with an `le` label, grouped by all their other labels).

use std::collections::HashMap;

use strata_tsdb::labels::{Labels, METRIC_NAME};

use super::CallCtx;
use super::gofmt::{fmt_g, openmetrics_float};
use super::labels::merge_same_labels;
use crate::error::Result;
use crate::value::{Annotations, Data, Grid, Point, Series};

const LE: &str = "le";

/// Relative differences between bucket counts below this are float noise, ignored silently.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// One classic histogram bucket: upper bound and cumulative count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bucket {
    pub(super) upper: f64,
    pub(super) count: f64,
}

/// Where monotonicity had to be forced in one evaluation of [`bucket_quantile`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Forced {
    pub(super) min_bucket: f64,
    pub(super) max_bucket: f64,
    pub(super) max_diff: f64,
}

/// One classic histogram: its output labels (input labels without `le`) and its bucket
/// series as `(upper bound, index into the input vector)`, sorted by upper bound.
struct Group {
    labels: Labels,
    members: Vec<(f64, usize)>,
}

/// Groups the bucket series of `v`; series without a parseable `le` are skipped with a warning.
fn group_buckets(v: &[Series], ann: &mut Annotations) -> Vec<Group> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (i, s) in v.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        let le = s.labels.get(LE).unwrap_or("");
        let Some(upper) = parse_go_float(le) else {
            ann.warn(format_args!(
                "bucket label \"le\" is missing or has a malformed value of {le:?}{}",
                name_suffix(&s.labels)
            ));
            continue;
        };
        let mut key = s.labels.clone();
        key.remove(LE);
        let g = match index.get(&key) {
            Some(&g) => g,
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(Group {
                    labels: key,
                    members: Vec::new(),
                });
                groups.len() - 1
            }
        };
        groups[g].members.push((upper, i));
    }
    for g in &mut groups {
        g.members.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    groups
}

/// Go's `strconv.ParseFloat` for decimal input: like Rust's parser, except that finite
/// numbers too large for f64 are an error rather than ±Inf.
fn parse_go_float(s: &str) -> Option<f64> {
    let v = s.parse::<f64>().ok()?;
    if v.is_infinite() && !s.to_ascii_lowercase().contains("inf") {
        return None;
    }
    Some(v)
}

/// ` for metric name "x"`, or nothing if the series has no name.
fn name_suffix(labels: &Labels) -> String {
    match labels.get(METRIC_NAME) {
        Some(n) if !n.is_empty() => format!(" for metric name {n:?}"),
        _ => String::new(),
    }
}

/// Calls `f(step, t, group, buckets)` for every step and every group with at least one bucket
/// at that step; `buckets` is sorted by upper bound.
fn for_each_step(
    v: &[Series],
    groups: &[Group],
    grid: &Grid,
    mut f: impl FnMut(usize, i64, usize, &mut Vec<Bucket>),
) {
    let mut cursor = vec![0usize; v.len()];
    let mut buf: Vec<Bucket> = Vec::new();
    for (i, t) in grid.times().enumerate() {
        for (gi, g) in groups.iter().enumerate() {
            buf.clear();
            for &(upper, si) in &g.members {
                let pts = &v[si].points;
                let c = &mut cursor[si];
                while *c < pts.len() && pts[*c].t < t {
                    *c += 1;
                }
                if let Some(p) = pts.get(*c)
                    && p.t == t
                {
                    buf.push(Bucket { upper, count: p.v });
                    *c += 1;
                }
            }
            if !buf.is_empty() {
                f(i, t, gi, &mut buf);
            }
        }
    }
}

/// Warns once if any step's φ is outside [0, 1] or NaN.
fn warn_invalid_quantile(q: &[f64], ann: &mut Annotations) {
    if let Some(bad) = q.iter().find(|q| q.is_nan() || **q < 0.0 || **q > 1.0) {
        ann.warn(format_args!(
            "quantile value should be between 0 and 1, got {}",
            fmt_g(*bad, None)
        ));
    }
}

/// Aggregated forced-monotonicity occurrences per metric name, reported as one info each.
#[derive(Default)]
struct MonotonicityInfos(Vec<(String, i64, i64, Forced, usize)>);

impl MonotonicityInfos {
    fn add(&mut self, labels: &Labels, t: i64, f: Forced) {
        let name = name_suffix(labels);
        if let Some(e) = self.0.iter_mut().find(|e| e.0 == name) {
            e.1 = e.1.min(t);
            e.2 = e.2.max(t);
            e.3.min_bucket = e.3.min_bucket.min(f.min_bucket);
            e.3.max_bucket = e.3.max_bucket.max(f.max_bucket);
            e.3.max_diff = e.3.max_diff.max(f.max_diff);
            e.4 += 1;
        } else {
            self.0.push((name, t, t, f, 1));
        }
    }

    /// Prometheus' text without the query-position details (as its test engine reports it;
    /// the HTTP API appends bucket range, diff and time span).
    fn emit(self, ann: &mut Annotations) {
        for (name, ..) in self.0 {
            ann.info(format_args!(
                "input to histogram_quantile needed to be fixed for monotonicity (see \
                 https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)\
                 {name}"
            ));
        }
    }
}

fn into_series(groups: &[Group], out: Vec<Vec<Point>>) -> Vec<Series> {
    groups
        .iter()
        .zip(out)
        .filter(|(_, p)| !p.is_empty())
        .map(|(g, points)| Series {
            labels: g.labels.clone(),
            drop_name: true,
            points,
        })
        .collect()
}

/// `histogram_quantile(φ, v)`.
pub(super) fn quantile(q: &[f64], v: &[Series], ctx: &mut CallCtx<'_>) -> Data {
    warn_invalid_quantile(q, ctx.ann);
    let groups = group_buckets(v, ctx.ann);
    let mut out: Vec<Vec<Point>> = vec![Vec::new(); groups.len()];
    let mut infos = MonotonicityInfos::default();
    for_each_step(v, &groups, ctx.grid, |i, t, g, buckets| {
        let phi = q.get(i).copied().unwrap_or(f64::NAN);
        let (val, forced) = bucket_quantile(phi, buckets);
        if let Some(f) = forced {
            infos.add(&groups[g].labels, t, f);
        }
        out[g].push(Point { t, v: val });
    });
    infos.emit(ctx.ann);
    Data::Vector(into_series(&groups, out))
}

/// `histogram_quantiles(v, label, φ...)`: one output series per histogram and φ, with the
/// φ (formatted like OpenMetrics floats) in `label`.
pub(super) fn quantiles(
    v: &[Series],
    label: &str,
    qs: &[Vec<f64>],
    ctx: &mut CallCtx<'_>,
) -> Result<Data> {
    // Per φ argument: the distinct label values and, per step, which one applies.
    let mut qlabels: Vec<(Vec<String>, Vec<usize>)> = Vec::with_capacity(qs.len());
    for q in qs {
        warn_invalid_quantile(q, ctx.ann);
        let mut distinct: Vec<(u64, String)> = Vec::new();
        let mut per_step = Vec::with_capacity(q.len());
        for &x in q {
            let bits = if x.is_nan() {
                f64::NAN.to_bits()
            } else {
                x.to_bits()
            };
            let idx = match distinct.iter().position(|d| d.0 == bits) {
                Some(i) => i,
                None => {
                    distinct.push((bits, openmetrics_float(x)));
                    distinct.len() - 1
                }
            };
            per_step.push(idx);
        }
        qlabels.push((distinct.into_iter().map(|d| d.1).collect(), per_step));
    }
    let groups = group_buckets(v, ctx.ann);
    let mut index: HashMap<(usize, usize, usize), usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::new();
    let mut infos = MonotonicityInfos::default();
    let mut work: Vec<Bucket> = Vec::new();
    for_each_step(v, &groups, ctx.grid, |i, t, g, buckets| {
        for (k, q) in qs.iter().enumerate() {
            let phi = q.get(i).copied().unwrap_or(f64::NAN);
            work.clear();
            work.extend_from_slice(buckets);
            let (val, forced) = bucket_quantile(phi, &mut work);
            if let Some(f) = forced {
                infos.add(&groups[g].labels, t, f);
            }
            let li = qlabels[k].1.get(i).copied().unwrap_or(0);
            let oi = *index.entry((g, k, li)).or_insert_with(|| {
                let mut labels = groups[g].labels.clone();
                let value = qlabels[k].0.get(li).map_or("NaN", String::as_str);
                labels.set(label, value);
                out.push(Series {
                    labels,
                    drop_name: true,
                    points: Vec::new(),
                });
                out.len() - 1
            });
            out[oi].points.push(Point { t, v: val });
        }
    });
    infos.emit(ctx.ann);
    Ok(Data::Vector(merge_same_labels(out)?))
}

/// `histogram_fraction(lower, upper, v)` on classic histograms.
pub(super) fn fraction(lower: &[f64], upper: &[f64], v: &[Series], ctx: &mut CallCtx<'_>) -> Data {
    let groups = group_buckets(v, ctx.ann);
    let mut out: Vec<Vec<Point>> = vec![Vec::new(); groups.len()];
    for_each_step(v, &groups, ctx.grid, |i, t, g, buckets| {
        let lo = lower.get(i).copied().unwrap_or(f64::NAN);
        let hi = upper.get(i).copied().unwrap_or(f64::NAN);
        out[g].push(Point {
            t,
            v: bucket_fraction(lo, hi, buckets),
        });
    });
    Data::Vector(into_series(&groups, out))
}

/// Merges adjacent buckets with the same upper bound (input sorted by upper bound).
fn coalesce(b: &mut Vec<Bucket>) {
    b.dedup_by(|later, kept| {
        if later.upper == kept.upper {
            kept.count += later.count;
            true
        } else {
            false
        }
    });
}

/// Prometheus' `almost.Equal` for non-stale values.
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if (a.is_nan() && b.is_nan()) || a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Flattens float-noise differences silently and raises any decrease to the previous count;
/// returns where the latter happened.
fn ensure_monotonic(b: &mut [Bucket]) -> Option<Forced> {
    let mut forced: Option<Forced> = None;
    let mut prev = b.first()?.count;
    for bucket in b.iter_mut().skip(1) {
        let curr = bucket.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            bucket.count = prev;
            continue;
        }
        if curr < prev {
            bucket.count = prev;
            let f = forced.get_or_insert(Forced {
                min_bucket: f64::INFINITY,
                max_bucket: f64::NEG_INFINITY,
                max_diff: 0.0,
            });
            if bucket.upper < f.min_bucket {
                f.min_bucket = bucket.upper;
            }
            if bucket.upper > f.max_bucket {
                f.max_bucket = bucket.upper;
            }
            if prev - curr > f.max_diff {
                f.max_diff = prev - curr;
            }
            continue;
        }
        prev = curr;
    }
    forced
}

/// Go's `sort.Search(n, pred)`: the smallest index in `0..n` where `pred` holds (assumed
/// monotone), or `n`.
fn go_search(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The φ-quantile of classic buckets sorted by upper bound (they are coalesced and made
/// monotonic in place), linearly interpolated within the bucket it falls into.
pub(super) fn bucket_quantile(q: f64, b: &mut Vec<Bucket>) -> (f64, Option<Forced>) {
    if q.is_nan() {
        return (f64::NAN, None);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, None);
    }
    if q > 1.0 {
        return (f64::INFINITY, None);
    }
    match b.last() {
        Some(l) if l.upper == f64::INFINITY => {}
        _ => return (f64::NAN, None),
    }
    coalesce(b);
    let forced = ensure_monotonic(b);
    let n = b.len();
    if n < 2 {
        return (f64::NAN, forced);
    }
    let observations = b[n - 1].count;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let i = go_search(n - 1, |i| b[i].count >= rank);
    let v = if i == n - 1 {
        b[n - 2].upper
    } else if i == 0 && b[0].upper <= 0.0 {
        b[0].upper
    } else {
        let mut start = 0.0;
        let end = b[i].upper;
        let mut count = b[i].count;
        if i > 0 {
            start = b[i - 1].upper;
            count -= b[i - 1].count;
            rank -= b[i - 1].count;
        }
        start + (end - start) * (rank / count)
    };
    (v, forced)
}

/// The fraction of observations between `lower` and `upper` in classic buckets sorted by
/// upper bound (coalesced in place), interpolating linearly within buckets.
pub(super) fn bucket_fraction(lower: f64, upper: f64, b: &mut Vec<Bucket>) -> f64 {
    match b.last() {
        Some(l) if l.upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    coalesce(b);
    let Some(count) = b.last().map(|l| l.count) else {
        return f64::NAN;
    };
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let mut rank = 0.0;
    let (mut lower_rank, mut upper_rank): (Option<f64>, Option<f64>) = (None, None);
    // Positive buckets only: the first bucket starts at 0; otherwise at -Inf.
    let mut lower_bound = if b[0].upper <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, bucket) in b.iter().enumerate() {
        if i > 0 {
            lower_bound = b[i - 1].upper;
        }
        let upper_bound = bucket.upper;
        // No interpolation within a bucket of infinite width: it contributes nothing.
        let interpolate = |x: f64| {
            if lower_bound == f64::NEG_INFINITY {
                bucket.count
            } else {
                rank + (bucket.count - rank) * (x - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if lower_rank.is_none() && lower_bound >= lower {
            lower_rank = Some(rank);
        }
        if upper_rank.is_none() && lower_bound >= upper {
            upper_rank = Some(rank);
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        if lower_rank.is_none() && lower_bound < lower && upper_bound > lower {
            lower_rank = Some(interpolate(lower));
        }
        if upper_rank.is_none() && lower_bound < upper && upper_bound > upper {
            upper_rank = Some(interpolate(upper));
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        rank = bucket.count;
    }
    let cap = |r: Option<f64>| match r {
        Some(r) if r > count => count,
        Some(r) => r,
        None => count,
    };
    let (lo, hi) = (cap(lower_rank), cap(upper_rank));
    (hi - lo) / count
}
