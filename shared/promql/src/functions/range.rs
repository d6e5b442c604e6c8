//! Range-vector functions (`rate`, `increase`, `*_over_time`, …): one value per window.
//!
//! The evaluator slices each series into windows `(range_start, range_end]` (one per step) and
//! calls [`eval`] once per window. The numerics follow Prometheus 3.x (`promql/functions.go`):
//! extrapolated rates, Kahan-compensated sums and regressions, NaN ordering of min/max and
//! quantiles. Only float samples exist in this engine, so histogram-related branches are absent.

mod over_time;
mod rates;

use crate::error::Result;
use crate::value::Annotations;

/// The samples of one series in one window `(range_start, range_end]`, stale markers removed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window<'a> {
    /// Sample timestamps (ms), ascending.
    pub(crate) ts: &'a [i64],
    /// Sample values, same length as `ts`.
    pub(crate) vs: &'a [f64],
    /// Exclusive start of the window (ms), after offset and `@`.
    pub(crate) range_start: i64,
    /// Inclusive end of the window (ms), after offset and `@`.
    pub(crate) range_end: i64,
    /// The evaluation (step) timestamp (ms) — Prometheus' `enh.Ts`.
    pub(crate) eval_t: i64,
    /// The series' metric name, if it has one (for the "might not be a counter" info).
    pub(crate) metric_name: Option<&'a str>,
}

/// A range-vector function this module evaluates (resolve the name once with
/// [`RangeFn::from_name`], then call [`eval_fn`] per window to skip the name lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    Resets,
    Changes,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    StddevOverTime,
    StdvarOverTime,
    LastOverTime,
    FirstOverTime,
    PresentOverTime,
    QuantileOverTime,
    MadOverTime,
    DoubleExponentialSmoothing,
    TsOfMinOverTime,
    TsOfMaxOverTime,
    TsOfLastOverTime,
    TsOfFirstOverTime,
}

impl RangeFn {
    /// The function called `name`, if it is one of this module's.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        use RangeFn::*;
        Some(match name {
            "rate" => Rate,
            "increase" => Increase,
            "delta" => Delta,
            "irate" => Irate,
            "idelta" => Idelta,
            "deriv" => Deriv,
            "predict_linear" => PredictLinear,
            "resets" => Resets,
            "changes" => Changes,
            "avg_over_time" => AvgOverTime,
            "min_over_time" => MinOverTime,
            "max_over_time" => MaxOverTime,
            "sum_over_time" => SumOverTime,
            "count_over_time" => CountOverTime,
            "stddev_over_time" => StddevOverTime,
            "stdvar_over_time" => StdvarOverTime,
            "last_over_time" => LastOverTime,
            "first_over_time" => FirstOverTime,
            "present_over_time" => PresentOverTime,
            "quantile_over_time" => QuantileOverTime,
            "mad_over_time" => MadOverTime,
            "double_exponential_smoothing" => DoubleExponentialSmoothing,
            "ts_of_min_over_time" => TsOfMinOverTime,
            "ts_of_max_over_time" => TsOfMaxOverTime,
            "ts_of_last_over_time" => TsOfLastOverTime,
            "ts_of_first_over_time" => TsOfFirstOverTime,
            _ => return None,
        })
    }

    /// True if the result keeps the input's `__name__` (the function acts like an offset).
    pub(crate) fn keeps_name(self) -> bool {
        matches!(self, RangeFn::LastOverTime | RangeFn::FirstOverTime)
    }
}

/// True if `name` is a function taking a range vector that this module evaluates
/// (`absent_over_time` is not: the evaluator handles it).
pub(crate) fn is_range_function(name: &str) -> bool {
    RangeFn::from_name(name).is_some()
}

/// True if range function `name` keeps `__name__` in its result (`last_over_time`,
/// `first_over_time`); all others mark it for removal.
pub(crate) fn keeps_name(name: &str) -> bool {
    RangeFn::from_name(name).is_some_and(RangeFn::keeps_name)
}

/// Evaluates range function `name` on one window. `params` are the function's scalar
/// arguments at this step, in call order without the range argument (`quantile_over_time`:
/// `[φ]`, `predict_linear`: `[t]`, `double_exponential_smoothing`: `[sf, tf]`).
/// `None` means no output for this series at this step. (The evaluator resolves the name
/// once and calls [`eval_fn`]; this form is for tests.)
#[cfg(test)]
pub(crate) fn eval(
    name: &str,
    w: &Window<'_>,
    params: &[f64],
    ann: &mut Annotations,
) -> Result<Option<f64>> {
    match RangeFn::from_name(name) {
        Some(f) => eval_fn(f, w, params, ann),
        None => Err(crate::error::Error::NotSupported(format!(
            "function {name}()"
        ))),
    }
}

/// Evaluates a resolved range function on one window (see `eval` for `params`).
pub(crate) fn eval_fn(
    f: RangeFn,
    w: &Window<'_>,
    params: &[f64],
    ann: &mut Annotations,
) -> Result<Option<f64>> {
    use RangeFn::*;
    let n = w.vs.len().min(w.ts.len());
    if n == 0 {
        return Ok(None);
    }
    let (ts, vs) = (&w.ts[..n], &w.vs[..n]);
    let out = match f {
        Rate | Increase => {
            let r = rates::extrapolated_rate(w, true, f == Rate);
            if r.is_some()
                && let Some(name) = w.metric_name
            {
                possible_non_counter_info(name, ann);
            }
            r
        }
        Delta => rates::extrapolated_rate(w, false, false),
        Irate => rates::instant_value(ts, vs, true),
        Idelta => rates::instant_value(ts, vs, false),
        Deriv => rates::deriv(ts, vs),
        PredictLinear => match params.first() {
            Some(&d) => rates::predict_linear(ts, vs, w.eval_t, d),
            None => None,
        },
        Resets => Some(rates::resets(vs)),
        Changes => Some(rates::changes(vs)),
        DoubleExponentialSmoothing => match params {
            [sf, tf, ..] => rates::double_exponential_smoothing(vs, *sf, *tf)?,
            _ => None,
        },
        AvgOverTime => Some(over_time::avg(vs)),
        SumOverTime => Some(over_time::sum(vs)),
        MinOverTime => Some(over_time::min(vs)),
        MaxOverTime => Some(over_time::max(vs)),
        CountOverTime => Some(n as f64),
        StddevOverTime => Some(over_time::variance(vs).sqrt()),
        StdvarOverTime => Some(over_time::variance(vs)),
        LastOverTime => Some(vs[n - 1]),
        FirstOverTime => Some(vs[0]),
        PresentOverTime => Some(1.0),
        QuantileOverTime => match params.first() {
            Some(&q) => {
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    ann.warn(format_args!(
                        "quantile value should be between 0 and 1, got {}",
                        go_fmt_g(q)
                    ));
                }
                Some(over_time::quantile(q, vs))
            }
            None => None,
        },
        MadOverTime => Some(over_time::mad(vs)),
        TsOfMinOverTime => Some(secs(ts[over_time::ts_of_min(vs)])),
        TsOfMaxOverTime => Some(secs(ts[over_time::ts_of_max(vs)])),
        TsOfLastOverTime => Some(secs(ts[n - 1])),
        TsOfFirstOverTime => Some(secs(ts[0])),
    };
    Ok(out)
}

/// Milliseconds to seconds.
fn secs(t: i64) -> f64 {
    t as f64 / 1000.0
}

const NON_COUNTER_PREFIX: &str =
    "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ";

/// Adds Prometheus' "might not be a counter" info for `rate`/`increase` on a metric whose name
/// lacks a counter suffix. Avoids formatting when the same info is already present.
fn possible_non_counter_info(name: &str, ann: &mut Annotations) {
    if name.is_empty()
        || ["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|s| name.ends_with(s))
    {
        return;
    }
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if plain {
        let already = ann.infos.iter().any(|s| {
            s.strip_prefix("PromQL info: ")
                .and_then(|s| s.strip_prefix(NON_COUNTER_PREFIX))
                .and_then(|s| s.strip_prefix('"'))
                .and_then(|s| s.strip_suffix('"'))
                == Some(name)
        });
        if already {
            return;
        }
    }
    ann.info(format_args!("{NON_COUNTER_PREFIX}{name:?}"));
}

/// Formats `v` like Go's `%g`: shortest representation, exponent form (`1e+06`) when the
/// decimal exponent is < -4 or ≥ 6.
pub(crate) fn go_fmt_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, e.g. `-1.25e-7`.
    let e = format!("{v:e}");
    let Some((mant, exp)) = e.split_once('e') else {
        return e;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return e;
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    // Plain decimal notation with the same digits.
    format!("{v}")
}

/// Formats `v` like Go's `%f` (six decimals; `NaN`, `+Inf`, `-Inf`).
fn go_fmt_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v:.6}")
    }
}

#[cfg(test)]
mod tests;
