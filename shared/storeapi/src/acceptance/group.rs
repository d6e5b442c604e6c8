//! The acceptance suite's case runner (the StoreAPI server contract): a `Group` is one data set
//! in a store built by the factory, with named Series and label calls checked against it.

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_tsdb::labels::Labels;

use super::unnamed::{PLACEHOLDER, StripPlaceholder};
use super::{Feature, REPLICA, Report, StoreFactory, collect_series, diff_strings, ls, series_req};
use crate::convert::with_external_labels;
use crate::error::StoreError;
use crate::pb::thanos::{LabelMatcher, LabelNamesRequest, LabelValuesRequest, SeriesRequest};
use crate::store::{RequestContext, Store};

pub(super) const T0: i64 = 1_700_000_000_000;
pub(super) const MIN: i64 = 60_000;
pub(super) const HOUR: i64 = 60 * MIN;
pub(super) const DAY: i64 = 24 * HOUR;
/// "All time" as Thanos' suite spells it: the Unix epoch to the end of year 9999.
pub(super) const ALL: (i64, i64) = (0, 253_402_300_799_000);

pub(super) type Input = Vec<(Labels, Vec<(i64, f64)>)>;

/// `n` samples from `start` every `step` ms, with values that exercise the XOR encoding.
pub(super) fn samples(start: i64, n: usize, step: i64, seed: f64) -> Vec<(i64, f64)> {
    (0..n)
        .map(|i| {
            let k = i as f64;
            let v = match i % 5 {
                0 => seed + k,
                1 => -seed * k * 0.25,
                2 => seed,
                3 => k / 3.0,
                _ => 1e9 + k * 1.5,
            };
            (start + i as i64 * step, v)
        })
        .collect()
}

pub(super) fn ext() -> Labels {
    ls(&[("region", "eu-west")])
}

/// Each input series' labels as the store must return them -> its samples.
pub(super) fn expected_input(ext: &Labels, input: &Input) -> BTreeMap<Labels, Vec<(i64, f64)>> {
    input
        .iter()
        .map(|(l, s)| {
            let mut out = with_external_labels(l, ext);
            out.remove(REPLICA);
            (out, s.clone())
        })
        .collect()
}

/// Output labels for `pairs` plus the external label.
pub(super) fn out(pairs: &[(&str, &str)]) -> Labels {
    with_external_labels(&ls(pairs), &ext())
}

pub(super) struct Group<'a> {
    name: &'static str,
    pub(super) store: Arc<dyn Store>,
    input: BTreeMap<Labels, Vec<(i64, f64)>>,
    pub(super) r: &'a mut Report,
}

impl Group<'_> {
    pub(super) async fn new<'a, F: StoreFactory>(
        f: &F,
        r: &'a mut Report,
        name: &'static str,
        input: Input,
    ) -> Group<'a> {
        let ext = ext();
        let expected = expected_input(&ext, &input);
        let unnamed = !input.is_empty() && input.iter().all(|(l, _)| l.metric_name().is_none());
        let store = if unnamed && !f.supports(Feature::SeriesWithoutMetricName) {
            let named = input
                .into_iter()
                .map(|(mut l, s)| {
                    l.set("__name__", PLACEHOLDER);
                    (l, s)
                })
                .collect();
            let inner = f.make(ext, named).await;
            Arc::new(StripPlaceholder(inner)) as Arc<dyn Store>
        } else {
            f.make(ext, input).await
        };
        Group {
            name,
            store,
            input: expected,
            r,
        }
    }

    pub(super) fn case(&self, c: &str) -> String {
        format!("{}/{c}", self.name)
    }

    pub(super) async fn series(&mut self, c: &str, req: SeriesRequest, expected: &[Labels]) {
        let case = self.case(c);
        let range = (req.min_time, req.max_time);
        let skip = req.skip_chunks;
        match collect_series(self.store.as_ref(), req).await {
            Ok(got) => super::check_series(self.r, &case, &got, expected, &self.input, range, skip),
            Err(e) => self.r.fail(&case, format!("Series failed: {e}")),
        }
    }

    pub(super) async fn series_all(
        &mut self,
        c: &str,
        matchers: Vec<LabelMatcher>,
        expected: &[Labels],
    ) {
        self.series(c, series_req(ALL.0, ALL.1, matchers), expected)
            .await;
    }

    pub(super) async fn series_err(&mut self, c: &str, req: SeriesRequest) {
        let case = self.case(c);
        match collect_series(self.store.as_ref(), req).await {
            Err(StoreError::InvalidArgument(_)) => {}
            Err(e) => self
                .r
                .fail(&case, format!("want InvalidArgument, got error {e:?}")),
            Ok(s) => self.r.fail(
                &case,
                format!("want InvalidArgument, got {} series", s.len()),
            ),
        }
    }

    pub(super) async fn names(
        &mut self,
        c: &str,
        range: (i64, i64),
        matchers: Vec<LabelMatcher>,
        limit: i64,
        expected: &[&str],
    ) {
        let case = self.case(c);
        let req = LabelNamesRequest {
            start: range.0,
            end: range.1,
            matchers,
            limit,
            without_replica_labels: vec![REPLICA.to_string()],
            ..Default::default()
        };
        match self
            .store
            .label_names(&RequestContext::default(), req)
            .await
        {
            Ok(resp) => self.check_strings(&case, &resp.names, &resp.warnings, expected),
            Err(e) => self.r.fail(&case, format!("LabelNames failed: {e}")),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn values(
        &mut self,
        c: &str,
        label: &str,
        range: (i64, i64),
        matchers: Vec<LabelMatcher>,
        limit: i64,
        expected: &[&str],
    ) {
        let case = self.case(c);
        let req = LabelValuesRequest {
            label: label.to_string(),
            start: range.0,
            end: range.1,
            matchers,
            limit,
            without_replica_labels: vec![REPLICA.to_string()],
            ..Default::default()
        };
        match self
            .store
            .label_values(&RequestContext::default(), req)
            .await
        {
            Ok(resp) => self.check_strings(&case, &resp.values, &resp.warnings, expected),
            Err(e) => self.r.fail(&case, format!("LabelValues failed: {e}")),
        }
    }

    fn check_strings(
        &mut self,
        case: &str,
        got: &[String],
        warnings: &[String],
        expected: &[&str],
    ) {
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        if !warnings.is_empty() {
            self.r
                .fail(case, format!("unexpected warnings: {warnings:?}"));
        } else if got != expected.as_slice() {
            self.r.fail(case, diff_strings(&expected, got));
        }
    }
}
