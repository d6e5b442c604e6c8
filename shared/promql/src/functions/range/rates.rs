//! Rate-like range functions: extrapolated `rate`/`increase`/`delta`, `irate`/`idelta`,
//! `deriv`/`predict_linear` (least squares), `resets`, `changes` and
//! `double_exponential_smoothing`.

use super::Window;
use super::over_time::kahan_inc;
use crate::error::{Error, Result};

/// The selector's range in seconds, computed like Go's `time.Duration.Seconds()`.
fn range_seconds(range_ms: i64) -> f64 {
    let secs = range_ms / 1000;
    let nanos = (range_ms % 1000) * 1_000_000;
    secs as f64 + nanos as f64 / 1e9
}

/// `rate` (`is_counter && is_rate`), `increase` (`is_counter`) and `delta` (neither):
/// the increase between the first and last sample (corrected for counter resets), extrapolated
/// towards the window boundaries. `None` with fewer than two samples.
pub(super) fn extrapolated_rate(w: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let n = w.ts.len().min(w.vs.len());
    if n < 2 {
        return None;
    }
    let (ts, vs) = (&w.ts[..n], &w.vs[..n]);
    let (first_t, last_t) = (ts[0], ts[n - 1]);
    let mut result = vs[n - 1] - vs[0];
    if is_counter {
        let mut prev = vs[0];
        for &v in &vs[1..] {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }

    let mut to_start = (first_t - w.range_start) as f64 / 1000.0;
    let mut to_end = (w.range_end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg_step = sampled / (n - 1) as f64;
    let threshold = avg_step * 1.1;

    if to_start >= threshold {
        to_start = avg_step / 2.0;
    }
    if is_counter {
        // A counter cannot go below zero: do not extrapolate past the point where the
        // observed slope would reach zero.
        let mut to_zero = to_start;
        if result > 0.0 && vs[0] >= 0.0 {
            to_zero = sampled * (vs[0] / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_step / 2.0;
    }

    let mut factor = 1.0;
    if sampled != 0.0 {
        factor = (sampled + to_start + to_end) / sampled;
    }
    if is_rate {
        factor /= range_seconds(w.range_end - w.range_start);
    }
    Some(result * factor)
}

/// `irate` (`is_rate`) and `idelta`: from the last two samples only.
pub(super) fn instant_value(ts: &[i64], vs: &[f64], is_rate: bool) -> Option<f64> {
    let n = ts.len().min(vs.len());
    if n < 2 {
        return None;
    }
    let (t0, v0, t1, v1) = (ts[n - 2], vs[n - 2], ts[n - 1], vs[n - 1]);
    let interval = t1 - t0;
    if interval == 0 {
        return None;
    }
    // On a counter reset, irate takes the last value as the increase.
    let reset = is_rate && v1 < v0;
    let mut r = if reset { v1 } else { v1 - v0 };
    if is_rate {
        r /= interval as f64 / 1000.0;
    }
    Some(r)
}

/// Least-squares regression of `vs` over `ts` (x in seconds relative to `intercept_t`,
/// Kahan-compensated sums). Returns `(slope, intercept at intercept_t)`.
pub(super) fn linear_regression(ts: &[i64], vs: &[f64], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = vs.first().copied().unwrap_or(f64::NAN);
    let mut const_y = true;
    for (i, (&t, &y)) in ts.iter().zip(vs).enumerate() {
        if const_y && i > 0 && y != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(y, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * y, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;

    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv`: the regression slope per second; `None` with fewer than two samples.
pub(super) fn deriv(ts: &[i64], vs: &[f64]) -> Option<f64> {
    if ts.len().min(vs.len()) < 2 {
        return None;
    }
    // Relative to the first sample to keep x small (precision).
    Some(linear_regression(ts, vs, ts[0]).0)
}

/// `predict_linear`: the regression line evaluated `duration` seconds after `eval_t`.
pub(super) fn predict_linear(ts: &[i64], vs: &[f64], eval_t: i64, duration: f64) -> Option<f64> {
    if ts.len().min(vs.len()) < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(ts, vs, eval_t);
    Some(slope * duration + intercept)
}

/// `resets`: the number of decreases between consecutive samples.
pub(super) fn resets(vs: &[f64]) -> f64 {
    vs.windows(2).filter(|p| p[1] < p[0]).count() as f64
}

/// `changes`: the number of value changes between consecutive samples (NaN → NaN is none).
pub(super) fn changes(vs: &[f64]) -> f64 {
    vs.windows(2)
        .filter(|p| p[1] != p[0] && !(p[1].is_nan() && p[0].is_nan()))
        .count() as f64
}

/// `double_exponential_smoothing(v, sf, tf)`. Errors if a factor is not in (0, 1) (NaN passes,
/// as in Prometheus); `None` with fewer than two samples.
pub(super) fn double_exponential_smoothing(vs: &[f64], sf: f64, tf: f64) -> Result<Option<f64>> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(Error::Execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
            super::go_fmt_f(sf)
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(Error::Execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {}",
            super::go_fmt_f(tf)
        )));
    }
    if vs.len() < 2 {
        return Ok(None);
    }
    // s1: smoothed value, s0: previous smoothed value, b: trend.
    let (mut s0, mut s1, mut b) = (0.0, vs[0], vs[1] - vs[0]);
    for (i, &v) in vs.iter().enumerate().skip(1) {
        let x = sf * v;
        // The trend starts as the first difference; afterwards it is updated from the last
        // two smoothed values.
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Ok(Some(s1))
}
