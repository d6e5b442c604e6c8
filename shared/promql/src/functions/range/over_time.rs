//! `*_over_time` aggregations of one window's values: Kahan-compensated sum and average,
//! variance, min/max (and the index of the extreme for `ts_of_*`), quantile and MAD.

use std::cell::RefCell;
use std::cmp::Ordering;

/// Adds `inc` to the Kahan–Neumaier pair `(sum, c)`; returns the new pair. The compensation
/// is reset when the sum overflows to ±Inf.
pub(super) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// `sum_over_time`.
pub(super) fn sum(vs: &[f64]) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for &v in vs {
        (s, c) = kahan_inc(v, s, c);
    }
    if s.is_infinite() { s } else { s + c }
}

/// `avg_over_time`: direct mean with a Kahan sum while the sum stays finite, then an
/// incremental mean. `vs` must not be empty.
pub(super) fn avg(vs: &[f64]) -> f64 {
    let Some((&first, rest)) = vs.split_first() else {
        return f64::NAN;
    };
    let (mut sum, mut count, mut mean, mut c) = (first, 1.0, 0.0, 0.0);
    let mut incremental = false;
    for (i, &v) in rest.iter().enumerate() {
        count = (i + 2) as f64;
        if !incremental {
            let (ns, nc) = kahan_inc(v, sum, c);
            if !ns.is_infinite() {
                (sum, c) = (ns, nc);
                continue;
            }
            // The sum overflowed: continue with an incremental mean.
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// Population variance (Welford with Kahan-compensated mean and sum of squares).
pub(super) fn variance(vs: &[f64]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &v in vs {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// Index of the sample that wins under `better(cur, best)`, starting from the first sample.
fn extreme(vs: &[f64], better: impl Fn(f64, f64) -> bool) -> usize {
    let mut best = vs.first().copied().unwrap_or(f64::NAN);
    let mut idx = 0;
    for (i, &v) in vs.iter().enumerate() {
        if better(v, best) {
            best = v;
            idx = i;
        }
    }
    idx
}

/// `max_over_time`: a NaN is replaced by any later value; NaN only if all are NaN.
pub(super) fn max(vs: &[f64]) -> f64 {
    vs[extreme(vs, |cur, best| cur > best || best.is_nan())]
}

/// `min_over_time`: a NaN is replaced by any later value; NaN only if all are NaN.
pub(super) fn min(vs: &[f64]) -> f64 {
    vs[extreme(vs, |cur, best| cur < best || best.is_nan())]
}

/// Index of the (last) maximum, for `ts_of_max_over_time`.
pub(super) fn ts_of_max(vs: &[f64]) -> usize {
    extreme(vs, |cur, best| cur >= best || best.is_nan())
}

/// Index of the (last) minimum, for `ts_of_min_over_time`.
pub(super) fn ts_of_min(vs: &[f64]) -> usize {
    extreme(vs, |cur, best| cur <= best || best.is_nan())
}

thread_local! {
    /// Reused sort buffer for quantiles, so windows do not allocate.
    static SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a scratch buffer holding a copy of `vs`.
fn with_scratch<R>(vs: &[f64], f: impl FnOnce(&mut Vec<f64>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            buf.extend_from_slice(vs);
            f(&mut buf)
        }
        Err(_) => f(&mut vs.to_vec()),
    })
}

/// Ascending order with NaN first (Prometheus' `vectorByValueHeap` order).
fn cmp_nan_first(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// φ-quantile of `buf` (sorted in place), interpolating between the two nearest ranks.
/// φ < 0 gives -Inf, φ > 1 gives +Inf, NaN φ or no values give NaN.
fn quantile_in_place(q: f64, buf: &mut [f64]) -> f64 {
    if buf.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buf.sort_unstable_by(cmp_nan_first);
    let n = buf.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    buf[lower as usize] * (1.0 - weight) + buf[upper as usize] * weight
}

/// `quantile_over_time`.
pub(super) fn quantile(q: f64, vs: &[f64]) -> f64 {
    if vs.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if !(0.0..=1.0).contains(&q) {
        return if q < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    with_scratch(vs, |buf| quantile_in_place(q, buf))
}

/// `mad_over_time`: median absolute deviation from the median; NaN if any value is NaN.
pub(super) fn mad(vs: &[f64]) -> f64 {
    if vs.is_empty() || vs.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    with_scratch(vs, |buf| {
        let median = quantile_in_place(0.5, buf);
        for v in buf.iter_mut() {
            *v = (*v - median).abs();
        }
        quantile_in_place(0.5, buf)
    })
}
