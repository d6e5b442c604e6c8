//! Per-eval classification: which native-histogram or experimental features (as listed in
//! the corpus' SOURCE.md) an eval needs, so a runner can skip it with a reason.

use std::fmt;

use crate::scan::{ExprScan, scan_expr, selector_matches};
use crate::script::{Command, Expected, Load, Script};
use crate::series::{Labels, METRIC_NAME};
use crate::values::SeqValue;

/// A capability an eval may need beyond a float-only engine without experimental features.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// Native histograms (`{{…}}` samples, NHCB from `load_with_nhcb`, trim operators).
    NativeHistograms,
    /// An experimental PromQL function or aggregation, by name (e.g. `limitk`, `info`).
    ExperimentalFunction(String),
    /// Duration expressions: arithmetic in `[…]`/`offset (…)`, `step()`, `range()`, bare
    /// `start()`/`end()`, `min_of`/`max_of`.
    DurationExpressions,
    /// Extended range selectors `anchored` / `smoothed`.
    ExtendedRangeSelectors,
    /// Binary-operator fill modifiers `fill()`, `fill_left()`, `fill_right()`.
    FillModifiers,
    /// Type-and-unit labels `__type__` / `__unit__`.
    TypeAndUnitLabels,
    /// Start timestamps (`@st` load lines, `start_timestamp()`).
    StartTimestamps,
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Feature::NativeHistograms => f.write_str("native histograms"),
            Feature::ExperimentalFunction(n) => write!(f, "experimental function {n}"),
            Feature::DurationExpressions => f.write_str("duration expressions"),
            Feature::ExtendedRangeSelectors => f.write_str("extended range selectors"),
            Feature::FillModifiers => f.write_str("fill modifiers"),
            Feature::TypeAndUnitLabels => f.write_str("type-and-unit labels"),
            Feature::StartTimestamps => f.write_str("start timestamps"),
        }
    }
}

/// One reason an eval may be skipped: the feature and a human-readable explanation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Need {
    /// The feature needed.
    pub feature: Feature,
    /// Why (quotes SOURCE.md where it lists the feature).
    pub reason: String,
}

impl Need {
    fn new(feature: Feature, reason: impl Into<String>) -> Need {
        Need {
            feature,
            reason: reason.into(),
        }
    }
}

const R_HIST_LOADED: &str =
    "native histograms: query selects series loaded with `{{…}}` histogram samples";
const R_HIST_NHCB: &str = "native histograms: query selects NHCB series made by `load_with_nhcb` (SOURCE.md: \"converts every classic histogram … into a native histogram with custom buckets\")";
const R_HIST_EXPECTED: &str = "native histograms: expected result contains a `{{…}}` histogram";
const R_HIST_TRIM: &str = "native histograms: trim operators `</`, `>/` (SOURCE.md: 3.11+)";
const R_DUR_ARITH: &str =
    "duration expressions: arithmetic inside `[…]` or `offset (…)` (SOURCE.md: experimental, 3.4+)";
const R_FILL: &str =
    "fill modifiers: `fill(`/`fill_left(`/`fill_right(` (SOURCE.md: \"3.10+, experimental\")";
const R_TYPE_UNIT: &str =
    "type-and-unit labels: `__type__`/`__unit__` (SOURCE.md: \"3.5+, experimental\")";
const R_ST_SERIES: &str = "start timestamps: query selects series with `@st` start timestamps (SOURCE.md: \"3.12+/3.14, experimental\")";

/// Functions and aggregations SOURCE.md lists as experimental per-eval skip keywords
/// (duration-expression and start-timestamp functions are classified separately).
fn experimental_function_reason(name: &str) -> Option<String> {
    let why = match name {
        "double_exponential_smoothing" => "experimental (3.0 rename of `holt_winters`)",
        "histogram_quantiles" => "3.11+",
        "info" => "\"experimental `info()`\"",
        "mad_over_time" | "sort_by_label" | "sort_by_label_desc" => "experimental function",
        "first_over_time" => "\"experimental until 3.14\"",
        "limitk" | "limit_ratio" => "\"experimental `limitk`/`limit_ratio`\"",
        n if n.starts_with("ts_of_") && n.ends_with("_over_time") => "experimental `ts_of_*`",
        _ => return None,
    };
    Some(format!(
        "experimental function `{name}` (SOURCE.md skip keyword: {why})"
    ))
}

/// Needs that follow from the file name alone: SOURCE.md's "Whole-file" list of files that
/// test 3.x/experimental features throughout (their data or settings depend on the feature
/// even where an expression does not show it).
pub fn file_needs(file_name: &str) -> Vec<Need> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let whole = |f: Feature, what: &str| {
        Need::new(
            f,
            format!("whole file `{base}` listed in SOURCE.md as 3.x/experimental: {what}"),
        )
    };
    match base {
        "duration_expression.test" => {
            vec![whole(Feature::DurationExpressions, "duration expressions")]
        }
        "extended_vectors.test" => {
            vec![whole(
                Feature::ExtendedRangeSelectors,
                "`anchored`/`smoothed`",
            )]
        }
        "fill-modifier.test" => vec![whole(Feature::FillModifiers, "fill modifiers")],
        "info.test" => vec![whole(
            Feature::ExperimentalFunction("info".into()),
            "`info()`",
        )],
        "limit.test" => vec![
            whole(
                Feature::ExperimentalFunction("limitk".into()),
                "`limitk`/`limit_ratio`",
            ),
            whole(
                Feature::ExperimentalFunction("limit_ratio".into()),
                "`limitk`/`limit_ratio`",
            ),
        ],
        "start_timestamps.test" => vec![whole(Feature::StartTimestamps, "start timestamps")],
        "type_and_unit.test" => vec![whole(Feature::TypeAndUnitLabels, "`__type__`/`__unit__`")],
        _ => Vec::new(),
    }
}

/// What is loaded at a point of the script.
#[derive(Debug)]
struct LoadedInfo {
    labels: Labels,
    histogram: bool,
    nhcb: bool,
    start_ts: bool,
}

fn push_load(state: &mut Vec<LoadedInfo>, load: &Load) {
    for s in &load.series {
        state.push(LoadedInfo {
            labels: s.labels.clone(),
            histogram: s.has_histograms(),
            nhcb: false,
            start_ts: s.start_offsets.is_some(),
        });
        if !load.with_nhcb {
            continue;
        }
        // The classic histogram `x_bucket{le=…}` also appears as native histogram `x`.
        let name = s
            .labels
            .iter()
            .find(|(k, _)| k == METRIC_NAME)
            .map(|(_, v)| v.as_str());
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suf| name.and_then(|n| n.strip_suffix(suf)));
        if let Some(base) = base {
            let labels: Labels = s
                .labels
                .iter()
                .filter(|(k, _)| k != "le")
                .map(|(k, v)| {
                    let v = if k == METRIC_NAME {
                        base.to_string()
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect();
            if !state.iter().any(|l| l.nhcb && l.labels == labels) {
                state.push(LoadedInfo {
                    labels,
                    histogram: true,
                    nhcb: true,
                    start_ts: false,
                });
            }
        }
    }
}

fn is_type_unit_label(k: &str) -> bool {
    k == "__type__" || k == "__unit__"
}

/// Classifies one expression against the loaded data; `expected_hist` is true when the
/// expected values contain histograms.
fn classify_expr(expr: &str, loaded: &[LoadedInfo], expected_hist: bool) -> Vec<Need> {
    let sc: ExprScan = scan_expr(expr);
    let mut needs = Vec::new();
    for f in &sc.functions {
        if let Some(reason) = experimental_function_reason(f) {
            needs.push(Need::new(Feature::ExperimentalFunction(f.clone()), reason));
        }
        if f == "min_of" || f == "max_of" {
            needs.push(Need::new(
                Feature::DurationExpressions,
                format!("duration expressions: `{f}(` (SOURCE.md: 3.13+)"),
            ));
        }
        if f == "start_timestamp" {
            needs.push(Need::new(
                Feature::StartTimestamps,
                "start timestamps: `start_timestamp(` (SOURCE.md: \"3.12+/3.14, experimental\")",
            ));
        }
    }
    for f in &sc.bare_time_functions {
        needs.push(Need::new(
            Feature::DurationExpressions,
            format!("duration expressions: bare `{f}` (SOURCE.md skip keyword; `@ start()`/`@ end()` are stable)"),
        ));
    }
    if sc.duration_arithmetic {
        needs.push(Need::new(Feature::DurationExpressions, R_DUR_ARITH));
    }
    for m in &sc.extended_range {
        needs.push(Need::new(
            Feature::ExtendedRangeSelectors,
            format!("extended range selectors: `{m}` (SOURCE.md: \"3.7+, experimental\")"),
        ));
    }
    if sc.fill_modifiers {
        needs.push(Need::new(Feature::FillModifiers, R_FILL));
    }
    if expr.contains("__type__") || expr.contains("__unit__") {
        needs.push(Need::new(Feature::TypeAndUnitLabels, R_TYPE_UNIT));
    }
    if sc.trim_operators {
        needs.push(Need::new(Feature::NativeHistograms, R_HIST_TRIM));
    }
    for info in loaded {
        let hit = sc.incomplete
            || sc
                .selectors
                .iter()
                .any(|s| selector_matches(s, &info.labels));
        if !hit {
            continue;
        }
        if info.nhcb {
            needs.push(Need::new(Feature::NativeHistograms, R_HIST_NHCB));
        } else if info.histogram {
            needs.push(Need::new(Feature::NativeHistograms, R_HIST_LOADED));
        }
        if info.start_ts {
            needs.push(Need::new(Feature::StartTimestamps, R_ST_SERIES));
        }
        if info.labels.iter().any(|(k, _)| is_type_unit_label(k)) {
            needs.push(Need::new(Feature::TypeAndUnitLabels, R_TYPE_UNIT));
        }
    }
    if expected_hist {
        needs.push(Need::new(Feature::NativeHistograms, R_HIST_EXPECTED));
    }
    let mut unique: Vec<Need> = Vec::new();
    for n in needs {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    unique
}

/// Fills [`crate::Eval::needs`] for every eval of the script, tracking what is loaded.
pub fn classify_script(script: &mut Script) {
    let mut loaded: Vec<LoadedInfo> = Vec::new();
    for cmd in &mut script.commands {
        match cmd {
            Command::Load(load) => push_load(&mut loaded, load),
            Command::Clear { .. } => loaded.clear(),
            Command::Eval(ev) => {
                let expected_hist = match &ev.expected {
                    Expected::Series(list) => list
                        .iter()
                        .any(|s| s.values.iter().any(|v| matches!(v, SeqValue::Histogram(_)))),
                    _ => false,
                };
                ev.needs = classify_expr(&ev.expr, &loaded, expected_hist);
            }
        }
    }
}
