//! Result comparison with the upstream test framework's rules: float tolerance, set vs.
//! ordered vectors, per-step range matching, error and annotation message matching.

use std::collections::HashSet;

use crate::script::{AnnotationExpect, Eval, EvalKind, Expected, ExpectedSeries, MsgMatch};
use crate::series::{Labels, format_labels};
use crate::values::{SeqValue, is_stale_nan};

/// Relative tolerance used by the upstream runner.
pub const EPSILON: f64 = 1e-6;

/// Smallest positive normal `f64` (absolute tolerance scale near zero).
const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

/// A query result as returned by a [`crate::TestEngine`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar.
    Scalar(f64),
    /// A string.
    String(String),
    /// An instant vector: sorted labels and value per element.
    Vector(Vec<(Labels, f64)>),
    /// A range vector / range-query result: sorted labels and `(t_ms, value)` points.
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::String(_) => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// Annotations produced by a query (texts like `PromQL warning: …`, no position suffix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// Warning texts.
    pub warnings: Vec<String>,
    /// Info texts.
    pub infos: Vec<String>,
}

/// Float equality as in the upstream tests: both stale markers, both NaN (stale only equals
/// stale), exactly equal, or relative difference `|a−b| / (|a|+|b|) < epsilon`; when either
/// side is zero or both are tiny, the difference must be below `epsilon × MIN_NORMAL`.
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Matches an error or annotation text: `Exact` compares the whole text, `Regex` searches.
pub fn match_message(m: &MsgMatch, text: &str) -> bool {
    match m {
        MsgMatch::Any => true,
        MsgMatch::Exact(s) => s == text,
        MsgMatch::Regex(r) => regex::Regex::new(r).is_ok_and(|re| re.is_match(text)),
    }
}

fn describe(m: &MsgMatch) -> String {
    match m {
        MsgMatch::Any => "any".to_string(),
        MsgMatch::Exact(s) => format!("msg {s:?}"),
        MsgMatch::Regex(r) => format!("regex {r:?}"),
    }
}

/// Checks a query error against `expect fail` (the caller ensures one is present).
pub fn check_error(expected: &MsgMatch, err: &str) -> Result<(), String> {
    if match_message(expected, err) {
        Ok(())
    } else {
        Err(format!(
            "expected error matching {}, got error {err:?}",
            describe(expected)
        ))
    }
}

fn check_level(level: &str, exp: &AnnotationExpect, got: &[String]) -> Result<(), String> {
    if exp.forbidden && !got.is_empty() {
        return Err(format!("expected no {level} annotations, got {got:?}"));
    }
    if exp.expected.is_empty() {
        return Ok(());
    }
    if got.is_empty() {
        return Err(format!(
            "expected at least one {level} annotation, got none"
        ));
    }
    for g in got {
        if !exp.expected.iter().any(|m| match_message(m, g)) {
            let want: Vec<String> = exp.expected.iter().map(describe).collect();
            return Err(format!(
                "unexpected {level} annotation {g:?}; expected one of [{}]",
                want.join(", ")
            ));
        }
    }
    Ok(())
}

/// Checks `expect warn|info|no_warn|no_info` against produced annotations.
pub fn check_annotations(ev: &Eval, got: &Annotations) -> Result<(), String> {
    check_level("warning", &ev.warn, &got.warnings)?;
    check_level("info", &ev.info, &got.infos)
}

fn fmt_value(v: &SeqValue) -> String {
    match v {
        SeqValue::Omitted => "_".to_string(),
        SeqValue::Float(f) if is_stale_nan(*f) => "stale".to_string(),
        SeqValue::Float(f) => f.to_string(),
        SeqValue::Histogram(h) => format!("{{{{{}}}}}", h.literal),
    }
}

fn check_float(expected: &SeqValue, got: f64, what: &str) -> Result<(), String> {
    match expected {
        SeqValue::Float(e) if almost_equal(*e, got, EPSILON) => Ok(()),
        SeqValue::Float(e) => Err(format!("expected {e} for {what} but got {got}")),
        other => Err(format!(
            "expected {} for {what} but got float {got}",
            fmt_value(other)
        )),
    }
}

fn duplicates<'a>(labels: impl Iterator<Item = &'a Labels>) -> Option<String> {
    let mut seen = HashSet::new();
    for l in labels {
        if !seen.insert(l) {
            return Some(format!("duplicate series {} in result", format_labels(l)));
        }
    }
    None
}

/// Compares an instant vector with the expected lines (as a set, or in order).
pub fn compare_vector(
    expected: &[ExpectedSeries],
    got: &[(Labels, f64)],
    ordered: bool,
) -> Result<(), String> {
    if let Some(d) = duplicates(got.iter().map(|(l, _)| l)) {
        return Err(d);
    }
    for (pos, (labels, v)) in got.iter().enumerate() {
        let name = format_labels(labels);
        let Some(idx) = expected.iter().position(|e| e.labels == *labels) else {
            return Err(format!("unexpected metric {name} in result, has value {v}"));
        };
        if ordered && idx != pos {
            return Err(format!(
                "expected metric {name} at position {} but was at {}",
                idx + 1,
                pos + 1
            ));
        }
        let exp = expected[idx].values.first().unwrap_or(&SeqValue::Omitted);
        check_float(exp, *v, &name)?;
    }
    for e in expected {
        if !got.iter().any(|(l, _)| *l == e.labels) {
            let v = e.values.first().map(fmt_value).unwrap_or_default();
            return Err(format!(
                "expected metric {} with {v} not found",
                format_labels(&e.labels)
            ));
        }
    }
    Ok(())
}

/// Compares a matrix with expected per-step values (`start_ms + i × step_ms`; `_` = no point).
pub fn compare_matrix(
    expected: &[ExpectedSeries],
    got: &[(Labels, Vec<(i64, f64)>)],
    start_ms: i64,
    step_ms: i64,
    require_sorted: bool,
) -> Result<(), String> {
    if let Some(d) = duplicates(got.iter().map(|(l, _)| l)) {
        return Err(d);
    }
    if require_sorted && got.windows(2).any(|w| w[0].0 > w[1].0) {
        return Err("range result is not sorted by label set".to_string());
    }
    for (labels, points) in got {
        let name = format_labels(labels);
        let Some(exp) = expected.iter().find(|e| e.labels == *labels) else {
            return Err(format!(
                "unexpected metric {name} in result, has {} points",
                points.len()
            ));
        };
        let want: Vec<(i64, &SeqValue)> = exp
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| !matches!(v, SeqValue::Omitted))
            .map(|(i, v)| {
                (
                    start_ms.saturating_add((i as i64).saturating_mul(step_ms)),
                    v,
                )
            })
            .collect();
        if want.len() != points.len() {
            let got_s: Vec<String> = points.iter().map(|(t, v)| format!("{v} @{t}")).collect();
            let want_s: Vec<String> = want
                .iter()
                .map(|(t, v)| format!("{} @{t}", fmt_value(v)))
                .collect();
            return Err(format!(
                "expected {} points for {name}, got {}: want [{}], got [{}]",
                want.len(),
                points.len(),
                want_s.join(", "),
                got_s.join(", ")
            ));
        }
        for (i, ((wt, wv), (gt, gv))) in want.iter().zip(points).enumerate() {
            if wt != gt {
                return Err(format!(
                    "expected point {i} of {name} at t={wt} but it was at t={gt}"
                ));
            }
            check_float(wv, *gv, &format!("{name} at t={gt}"))?;
        }
    }
    for e in expected {
        if !got.iter().any(|(l, _)| *l == e.labels) {
            return Err(format!(
                "expected metric {} not found",
                format_labels(&e.labels)
            ));
        }
    }
    Ok(())
}

/// Compares a successful query result with the eval's expectation.
pub fn compare_result(ev: &Eval, got: &Value) -> Result<(), String> {
    match (&ev.expected, got) {
        (Expected::String(want), Value::String(s)) => {
            if want == s {
                Ok(())
            } else {
                Err(format!("expected string {want:?} but got {s:?}"))
            }
        }
        (Expected::String(want), other) => Err(format!(
            "expected string {want:?} but got a {}",
            other.type_name()
        )),
        (Expected::Scalar(want), Value::Scalar(v)) => {
            check_float(&SeqValue::Float(*want), *v, "scalar")
        }
        (Expected::Scalar(want), other) => Err(format!(
            "expected scalar {want} but got a {}",
            other.type_name()
        )),
        (Expected::Series(list), got) => match (ev.kind, ev.range_vector, got) {
            (EvalKind::Instant { .. }, None, Value::Vector(v)) => {
                compare_vector(list, v, ev.ordered)
            }
            (EvalKind::Instant { .. }, Some((start, _, step)), Value::Matrix(m)) => {
                compare_matrix(list, m, start, step, false)
            }
            (
                EvalKind::Range {
                    start_ms, step_ms, ..
                },
                _,
                Value::Matrix(m),
            ) => compare_matrix(list, m, start_ms, step_ms, true),
            (EvalKind::Instant { .. }, None, other) => Err(format!(
                "expected an instant vector but got a {}",
                other.type_name()
            )),
            (EvalKind::Instant { .. }, Some(_), other) => Err(format!(
                "expected a range vector but got a {}",
                other.type_name()
            )),
            (EvalKind::Range { .. }, _, other) => Err(format!(
                "expected a matrix from a range query but got a {}",
                other.type_name()
            )),
        },
    }
}
