//! The values the evaluator passes between nodes. A range query is evaluated over all its
//! steps at once: a scalar is one value per step, an instant vector is a list of series whose
//! points sit on the step timestamps (a series may be absent at some steps).

use strata_tsdb::labels::{Labels, METRIC_NAME};

/// The evaluation steps: `start, start+step, … ≤ end` (ms). An instant query is one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: i64,
}

impl Grid {
    /// One step at `t`.
    pub(crate) fn instant(t: i64) -> Self {
        Grid {
            start: t,
            end: t,
            step: 1,
        }
    }
    /// Number of steps.
    pub(crate) fn len(&self) -> usize {
        ((self.end - self.start) / self.step + 1) as usize
    }
    /// Timestamp of step `i`.
    pub(crate) fn at(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }
    /// Step index of timestamp `t` (which must be on the grid).
    pub(crate) fn index_of(&self, t: i64) -> usize {
        ((t - self.start) / self.step) as usize
    }
    /// All step timestamps.
    pub(crate) fn times(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.at(i))
    }
}

/// One sample: timestamp (ms) and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub(crate) t: i64,
    pub(crate) v: f64,
}

/// A series in an instant vector (points on grid steps, ascending) or a range vector (raw
/// samples, ascending).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub(crate) labels: Labels,
    /// Delayed `__name__` removal: the name is dropped when the query finishes (or when an
    /// operation needs the final label set), not where the function was applied.
    pub(crate) drop_name: bool,
    pub(crate) points: Vec<Point>,
}

impl Series {
    pub(crate) fn new(labels: Labels, points: Vec<Point>) -> Self {
        Series {
            labels,
            drop_name: false,
            points,
        }
    }
    /// The labels as they will be output: without `__name__` if it is marked for removal.
    pub(crate) fn output_labels(&self) -> Labels {
        if self.drop_name {
            let mut l = self.labels.clone();
            l.remove(METRIC_NAME);
            l
        } else {
            self.labels.clone()
        }
    }
}

/// The value of an evaluated expression over the whole grid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    /// One value per grid step.
    Scalar(Vec<f64>),
    /// A string literal.
    String(String),
    /// An instant vector over the grid.
    Vector(Vec<Series>),
    /// A range vector (only as the result of an instant query); raw samples.
    Matrix(Vec<Series>),
}

impl Data {
    /// The PromQL type name, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Data::Scalar(_) => "scalar",
            Data::String(_) => "string",
            Data::Vector(_) => "instant vector",
            Data::Matrix(_) => "range vector",
        }
    }
}

/// Warnings and infos collected while evaluating (texts as Prometheus words them, without the
/// position suffix), deduplicated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// `PromQL warning: …` texts.
    pub warnings: Vec<String>,
    /// `PromQL info: …` texts.
    pub infos: Vec<String>,
}

impl Annotations {
    /// Add a warning; the text is prefixed with `PromQL warning: `.
    pub(crate) fn warn(&mut self, msg: impl std::fmt::Display) {
        let s = format!("PromQL warning: {msg}");
        if !self.warnings.contains(&s) {
            self.warnings.push(s);
        }
    }
    /// Add an info; the text is prefixed with `PromQL info: `.
    pub(crate) fn info(&mut self, msg: impl std::fmt::Display) {
        let s = format!("PromQL info: {msg}");
        if !self.infos.contains(&s) {
            self.infos.push(s);
        }
    }
    /// Add a storage warning (partial response) verbatim.
    pub(crate) fn storage_warning(&mut self, msg: String) {
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }
}
