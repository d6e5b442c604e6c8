//! Parser and engine-agnostic runner for Prometheus' PromQL test-file syntax (`promqltest`).
//!
//! The corpus itself is not part of this crate: it is read at run time from
//! `../shared/promqltest/*.test` (see `SOURCE.md` there for the syntax and provenance).
//!
//! * [`parse_script`] turns test-file text into a typed [`Script`] (`load`, `clear`, `eval`
//!   with expectations), keeping 1-based line numbers, and classifies every eval with the
//!   [`Need`]s (native histograms, experimental features) a runner may have to skip.
//! * [`run_file`] runs a file against any [`TestEngine`] and compares results the way the
//!   upstream framework does, returning a [`FileReport`] (`passed / failed / skipped`).

mod classify;
mod compare;
mod duration;
mod runner;
mod scan;
mod script;
mod series;
mod values;

pub use classify::{Feature, Need, classify_script, file_needs};
pub use compare::{
    Annotations, EPSILON, Value, almost_equal, check_annotations, check_error, compare_matrix,
    compare_result, compare_vector, match_message,
};
pub use duration::{parse_duration, parse_interval, parse_signed_duration, parse_time};
pub use runner::{
    FileReport, RunOptions, TestEngine, corpus_dir, corpus_files, run_eval, run_file,
    run_file_with, run_script,
};
pub use scan::{ExprScan, Matcher, Selector, scan_expr, selector_matches};
pub use script::{
    AnnotationExpect, Command, Eval, EvalKind, Expected, ExpectedSeries, Load, LoadedSeries,
    MsgMatch, Sample, Script, SeriesDef, parse_script,
};
pub use series::{
    Labels, METRIC_NAME, format_labels, normalize_labels, parse_series_prefix, read_quoted,
};
pub use values::{
    HistogramStep, HistogramValue, STALE_NAN_BITS, SeqValue, expand_offsets, expand_values,
    is_stale_nan, parse_float, split_value_tokens, stale_nan,
};

/// A test file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}
