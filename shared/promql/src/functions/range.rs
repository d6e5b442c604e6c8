//! Range-vector functions (`rate`, `increase`, `*_over_time`, …): one value per window.

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

/// True if `name` is a function taking a range vector that this module evaluates.
pub(crate) fn is_range_function(name: &str) -> bool {
    let _ = name;
    false
}

/// Evaluates range function `name` on one window. `params` are the function's scalar
/// arguments at this step, in call order without the range argument (`quantile_over_time`:
/// `[φ]`, `predict_linear`: `[t]`, `double_exponential_smoothing`: `[sf, tf]`).
/// `None` means no output for this series at this step.
pub(crate) fn eval(
    name: &str,
    w: &Window<'_>,
    params: &[f64],
    ann: &mut Annotations,
) -> Result<Option<f64>> {
    let _ = (name, w, params, ann);
    Ok(None)
}
