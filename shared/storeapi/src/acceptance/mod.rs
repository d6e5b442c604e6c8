//! The StoreAPI acceptance suite every [`Store`] implementation runs in its own tests: one set of
//! black-box cases over the server contract of Thanos' `pkg/store/storepb/rpc.proto` (matchers of
//! all four types, empty results, time clipping, external labels overriding and filtering,
//! `skip_chunks`, the label APIs with matchers and time ranges, limits, sorted output, exact
//! samples). Strata's own cases, in the spirit of Thanos' `pkg/store/acceptance_test.go`.
//!
//! Every request carries `without_replica_labels: ["replica"]` (as Thanos' suite does), so a
//! factory may put replicas behind a proxy with a `replica` external label. Failures are
//! collected across all cases and reported together, each with its case name and a diff.

mod cases;
mod group;
mod label_cases;
mod unnamed;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use futures::StreamExt;
use strata_tsdb::chunkenc::decode_xor;
use strata_tsdb::labels::Labels;

use crate::convert::{compare_labels, labels_from_pb, pb_matcher};
use crate::error::StoreError;
use crate::pb::thanos::{
    LabelMatcher, Series, SeriesRequest, chunk, label_matcher, series_response,
};
use crate::store::{RequestContext, Store};

/// Optional behaviours a store may lack; cases needing one are skipped when unsupported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// `SeriesRequest.limit` caps the number of series.
    SeriesLimit,
    /// `limit` in the label APIs caps the number of names/values.
    LabelLimit,
    /// The label APIs honour time ranges (at least at a one-day distance from the data).
    LabelTimeRange,
    /// Series may lack a metric name. Stores built from OpenMetrics text cannot hold such
    /// series; without this feature the suite names them with a placeholder it strips again.
    SeriesWithoutMetricName,
    /// LabelValues of an external label answers its value even when the store holds no series
    /// (stores that learn external labels from their data, like a bucket store, cannot).
    ExternalLabelValuesWithoutSeries,
}

/// Builds a fresh store holding the given series for one group of cases.
#[async_trait::async_trait]
pub trait StoreFactory: Send + Sync {
    /// A store with these external labels and these float series (samples sorted by time).
    async fn make(
        &self,
        external_labels: Labels,
        series: Vec<(Labels, Vec<(i64, f64)>)>,
    ) -> Arc<dyn Store>;

    /// Whether the store supports `feature` (default: everything).
    fn supports(&self, _feature: Feature) -> bool {
        true
    }
}

/// One failed case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Case name, `group/case`.
    pub case: String,
    /// What went wrong, with a diff where it helps.
    pub detail: String,
}

/// Run the whole suite; panics with every failure (case name and diff) if any case fails.
pub async fn run_acceptance<F: StoreFactory>(factory: &F) {
    let failures = check_acceptance(factory).await;
    if !failures.is_empty() {
        let mut report = format!("{} StoreAPI acceptance case(s) failed:\n", failures.len());
        for f in &failures {
            let _ = writeln!(report, "\n=== {} ===\n{}", f.case, f.detail);
        }
        panic!("{report}");
    }
}

/// Run the whole suite and return the failures (empty: all passed).
pub async fn check_acceptance<F: StoreFactory>(factory: &F) -> Vec<Failure> {
    let mut r = Report::default();
    cases::run_all(factory, &mut r).await;
    r.failures
}

/// Collects failures.
#[derive(Debug, Default)]
pub(crate) struct Report {
    failures: Vec<Failure>,
}

impl Report {
    pub(crate) fn fail(&mut self, case: &str, detail: impl Into<String>) {
        let detail = detail.into();
        tracing::error!(case, %detail, "acceptance case failed");
        self.failures.push(Failure {
            case: case.to_string(),
            detail,
        });
    }
}

/// The replica label every request asks to drop.
pub(crate) const REPLICA: &str = "replica";

pub(crate) fn m(t: label_matcher::Type, name: &str, value: &str) -> LabelMatcher {
    pb_matcher(t, name, value)
}
pub(crate) fn eq(n: &str, v: &str) -> LabelMatcher {
    m(label_matcher::Type::Eq, n, v)
}
pub(crate) fn neq(n: &str, v: &str) -> LabelMatcher {
    m(label_matcher::Type::Neq, n, v)
}
pub(crate) fn re(n: &str, v: &str) -> LabelMatcher {
    m(label_matcher::Type::Re, n, v)
}
pub(crate) fn nre(n: &str, v: &str) -> LabelMatcher {
    m(label_matcher::Type::Nre, n, v)
}

pub(crate) fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

pub(crate) fn series_req(mint: i64, maxt: i64, matchers: Vec<LabelMatcher>) -> SeriesRequest {
    SeriesRequest {
        min_time: mint,
        max_time: maxt,
        matchers,
        without_replica_labels: vec![REPLICA.to_string()],
        ..Default::default()
    }
}

/// Series of a `Series` call, consecutive frames of one series joined; warnings are errors.
pub(crate) async fn collect_series(
    store: &dyn Store,
    req: SeriesRequest,
) -> Result<Vec<Series>, StoreError> {
    let mut stream = store.series(&RequestContext::default(), req).await?;
    let mut out: Vec<Series> = Vec::new();
    while let Some(frame) = stream.next().await {
        let batch = match frame?.result {
            Some(series_response::Result::Series(s)) => vec![s],
            Some(series_response::Result::Batch(b)) => b.series,
            Some(series_response::Result::Warning(w)) => {
                return Err(StoreError::Internal(format!(
                    "unexpected warning frame: {w}"
                )));
            }
            Some(series_response::Result::Hints(_)) | None => Vec::new(),
        };
        for s in batch {
            match out.last_mut() {
                Some(last) if compare_labels(&last.labels, &s.labels).is_eq() => {
                    last.chunks.extend(s.chunks);
                }
                _ => out.push(s),
            }
        }
    }
    Ok(out)
}

/// A readable diff of two label lists sorted by labels (`-` expected only, `+` got only).
pub(crate) fn diff_labels(expected: &[Labels], got: &[Labels]) -> String {
    let mut s = String::new();
    let (mut e, mut g) = (expected.iter().peekable(), got.iter().peekable());
    loop {
        let line = match (e.peek(), g.peek()) {
            (Some(x), Some(y)) if x == y => format!("  {x}"),
            (Some(x), Some(y)) if x < y => format!("- {x}"),
            (Some(x), None) => format!("- {x}"),
            (_, Some(y)) => format!("+ {y}"),
            (None, None) => break,
        };
        if line.starts_with(' ') || line.starts_with('-') {
            e.next();
        }
        if line.starts_with(' ') || line.starts_with('+') {
            g.next();
        }
        let _ = writeln!(s, "{line}");
    }
    s
}

/// A readable diff of two string lists.
pub(crate) fn diff_strings(expected: &[String], got: &[String]) -> String {
    format!("expected: {expected:?}\n     got: {got:?}\n")
}

/// Check a series answer: labels (order included) equal `expected`; unless `skip_chunks`,
/// every series' XOR chunks decode to samples of the input (`input`: output labels -> samples)
/// that include every input sample in `[mint, maxt]`; with `skip_chunks`, no chunks at all.
pub(crate) fn check_series(
    r: &mut Report,
    case: &str,
    got: &[Series],
    expected: &[Labels],
    input: &BTreeMap<Labels, Vec<(i64, f64)>>,
    (mint, maxt): (i64, i64),
    skip_chunks: bool,
) {
    let got_labels: Vec<Labels> = got.iter().map(|s| labels_from_pb(&s.labels)).collect();
    let sorted = got
        .windows(2)
        .all(|w| compare_labels(&w[0].labels, &w[1].labels).is_lt());
    if !sorted {
        r.fail(
            case,
            format!(
                "series are not strictly sorted by labels:\n{}",
                got_labels
                    .iter()
                    .map(|l| format!("  {l}\n"))
                    .collect::<String>()
            ),
        );
        return;
    }
    if got_labels != expected {
        r.fail(
            case,
            format!(
                "series labels differ:\n{}",
                diff_labels(expected, &got_labels)
            ),
        );
        return;
    }
    for (s, l) in got.iter().zip(&got_labels) {
        if skip_chunks {
            if !s.chunks.is_empty() {
                r.fail(
                    case,
                    format!("{l}: skip_chunks set but {} chunks sent", s.chunks.len()),
                );
            }
            continue;
        }
        let Some(want) = input.get(l) else {
            r.fail(case, format!("{l}: no such input series"));
            continue;
        };
        if let Err(detail) = check_samples(s, want, mint, maxt) {
            r.fail(case, format!("{l}: {detail}"));
        }
    }
}

fn check_samples(s: &Series, want: &[(i64, f64)], mint: i64, maxt: i64) -> Result<(), String> {
    let mut decoded: BTreeMap<i64, u64> = BTreeMap::new();
    for c in &s.chunks {
        let raw = c
            .raw
            .as_ref()
            .ok_or_else(|| format!("chunk [{}, {}] has no raw data", c.min_time, c.max_time))?;
        if raw.r#type != chunk::Encoding::Xor as i32 {
            return Err(format!(
                "chunk [{}, {}] is not XOR (type {})",
                c.min_time, c.max_time, raw.r#type
            ));
        }
        let samples = decode_xor(&raw.data).map_err(|e| {
            format!(
                "chunk [{}, {}] does not decode: {e}",
                c.min_time, c.max_time
            )
        })?;
        for (t, v) in samples {
            if t < c.min_time || t > c.max_time {
                return Err(format!(
                    "sample at {t} outside its chunk's [{}, {}]",
                    c.min_time, c.max_time
                ));
            }
            if let Some(prev) = decoded.insert(t, v.to_bits())
                && prev != v.to_bits()
            {
                return Err(format!(
                    "two different values at {t}: {} and {v}",
                    f64::from_bits(prev)
                ));
            }
        }
    }
    let want_map: BTreeMap<i64, u64> = want.iter().map(|&(t, v)| (t, v.to_bits())).collect();
    for (t, bits) in &decoded {
        match want_map.get(t) {
            Some(w) if w == bits => {}
            Some(w) => {
                return Err(format!(
                    "sample at {t}: got {}, want {}",
                    f64::from_bits(*bits),
                    f64::from_bits(*w)
                ));
            }
            None => {
                return Err(format!(
                    "sample at {t} ({}) was never written",
                    f64::from_bits(*bits)
                ));
            }
        }
    }
    let missing: Vec<i64> = want_map
        .range(mint..=maxt)
        .filter(|(t, _)| !decoded.contains_key(t))
        .map(|(t, _)| *t)
        .collect();
    if !missing.is_empty() {
        let shown: Vec<_> = missing.iter().take(5).collect();
        return Err(format!(
            "{} samples inside [{mint}, {maxt}] missing, first: {shown:?}",
            missing.len()
        ));
    }
    Ok(())
}
