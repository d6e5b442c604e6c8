//! Runs Prometheus' own PromQL test files (`../shared/promqltest/*.test`, read in place) and
//! the project's own cases (`tests/testdata/*.test`) against the engine over a `MemStore`
//! (samples XOR-encoded into chunks, read back through the StoreAPI path), and reports
//! `passed / failed / skipped` per file.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use strata_promql::{Engine, EngineOptions, QueryValue, StoreQueryable};
use strata_promqltest::{
    Annotations, Feature, FileReport, LoadedSeries, RunOptions, SeqValue, TestEngine, Value,
    corpus_dir, corpus_files, run_file_with,
};
use strata_storeapi::{MemStore, Store};
use strata_tsdb::labels::Labels;

/// The experimental functions the engine implements (SOURCE.md lists them as experimental).
const EXPERIMENTAL: &[&str] = &[
    "double_exponential_smoothing",
    "mad_over_time",
    "sort_by_label",
    "sort_by_label_desc",
    "limitk",
    "limit_ratio",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "ts_of_last_over_time",
    "ts_of_first_over_time",
    "first_over_time",
    "histogram_quantiles",
];

struct Harness {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    data: BTreeMap<Labels, Vec<(i64, f64)>>,
    store: Option<Arc<dyn Store>>,
    last: Option<Annotations>,
}

impl Harness {
    fn new() -> Self {
        let opts = EngineOptions {
            max_samples: 50_000_000,
            ..EngineOptions::default()
        };
        Harness {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            engine: Engine::new(opts),
            data: BTreeMap::new(),
            store: None,
            last: None,
        }
    }

    fn store(&mut self) -> Arc<dyn Store> {
        if let Some(s) = &self.store {
            return s.clone();
        }
        let mem = MemStore::new(Labels::empty());
        for (labels, samples) in &self.data {
            mem.add_series(labels.clone(), samples);
        }
        let s = mem.into_store();
        self.store = Some(s.clone());
        s
    }

    fn finish(
        &mut self,
        r: strata_promql::Result<strata_promql::QueryResult>,
    ) -> Result<Value, String> {
        let r = r.map_err(|e| e.to_string())?;
        self.last = Some(Annotations {
            warnings: r.annotations.warnings.clone(),
            infos: r.annotations.infos.clone(),
        });
        Ok(to_test_value(r.value))
    }
}

fn pairs(l: &Labels) -> Vec<(String, String)> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

fn to_test_value(v: QueryValue) -> Value {
    match v {
        QueryValue::Scalar(_, v) => Value::Scalar(v),
        QueryValue::String(_, s) => Value::String(s),
        QueryValue::Vector(v) => Value::Vector(v.iter().map(|s| (pairs(&s.labels), s.v)).collect()),
        QueryValue::Matrix(m) => Value::Matrix(
            m.into_iter()
                .map(|s| (pairs(&s.labels), s.points))
                .collect(),
        ),
    }
}

impl TestEngine for Harness {
    fn load(&mut self, series: &[LoadedSeries]) {
        self.store = None;
        for s in series {
            let labels = Labels::from_pairs(s.labels.iter().cloned());
            let samples = self.data.entry(labels).or_default();
            for sample in &s.samples {
                if let SeqValue::Float(v) = sample.value {
                    samples.push((sample.t_ms, v));
                }
            }
            // A later sample for the same timestamp replaces the earlier one.
            samples.reverse();
            samples.sort_by_key(|p| p.0);
            samples.dedup_by_key(|p| p.0);
        }
    }

    fn clear(&mut self) {
        self.data.clear();
        self.store = None;
    }

    fn instant(&mut self, expr: &str, t_ms: i64) -> Result<Value, String> {
        let source = StoreQueryable::new(self.store());
        let r = self
            .rt
            .block_on(self.engine.instant_query(&source, expr, t_ms));
        self.finish(r)
    }

    fn range(
        &mut self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value, String> {
        let source = StoreQueryable::new(self.store());
        let r = self.rt.block_on(
            self.engine
                .range_query(&source, expr, start_ms, end_ms, step_ms),
        );
        self.finish(r)
    }

    fn last_annotations(&mut self) -> Option<Annotations> {
        self.last.clone()
    }
}

fn options() -> RunOptions {
    let mut opts = RunOptions {
        range_check: true,
        ..RunOptions::default()
    };
    opts.enabled.insert(Feature::FillModifiers);
    for f in EXPERIMENTAL {
        opts.enabled
            .insert(Feature::ExperimentalFunction((*f).to_string()));
    }
    opts
}

fn print_report(reports: &[FileReport], verbose: bool) -> (usize, usize, usize) {
    let (mut p, mut f, mut s) = (0, 0, 0);
    eprintln!(
        "{:<28} {:>7} {:>7} {:>8}",
        "file", "passed", "failed", "skipped"
    );
    for r in reports {
        eprintln!(
            "{:<28} {:>7} {:>7} {:>8}{}",
            r.file,
            r.passed,
            r.failed.len(),
            r.skipped.len(),
            r.error
                .as_deref()
                .map(|e| format!("  ERROR {e}"))
                .unwrap_or_default()
        );
        p += r.passed;
        f += r.failed.len();
        s += r.skipped.len();
        if verbose {
            for (reason, lines) in r.skips_by_reason() {
                eprintln!("    skipped {:>4}: {reason}", lines.len());
            }
            for (line, expr, why) in &r.failed {
                eprintln!("    {}:{line}: {expr}\n        {why}", r.file);
            }
        }
    }
    eprintln!("{:<28} {:>7} {:>7} {:>8}", "TOTAL", p, f, s);
    (p, f, s)
}

#[test]
fn prometheus_corpus() {
    let Some(dir) = corpus_dir() else {
        eprintln!(
            "\n*** SKIPPED: the PromQL corpus ../shared/promqltest was not found (set STRATA_PROMQLTEST_DIR) ***\n"
        );
        return;
    };
    let opts = options();
    let verbose = std::env::var_os("PROMQLTEST_VERBOSE").is_some();
    let filter = std::env::var("PROMQLTEST_FILE").ok();
    let mut reports = Vec::new();
    for path in corpus_files(&dir).expect("list corpus") {
        if filter
            .as_ref()
            .is_some_and(|f| !path.to_string_lossy().contains(f.as_str()))
        {
            continue;
        }
        let mut h = Harness::new();
        reports.push(run_file_with(&path, &mut h, &opts));
    }
    let (passed, failed, _) = print_report(&reports, verbose);
    let ran = passed + failed;
    let rate = passed as f64 / ran.max(1) as f64;
    eprintln!("pass rate {:.1}% of {ran} non-skipped evals", rate * 100.0);
    assert!(
        reports.iter().all(|r| r.error.is_none()),
        "a corpus file could not be run"
    );
    assert!(rate >= 0.95, "pass rate {:.1}% is below 95%", rate * 100.0);
}

#[test]
fn own_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata");
    let mut reports = Vec::new();
    for path in corpus_files(&dir).expect("list testdata") {
        let mut h = Harness::new();
        reports.push(run_file_with(&path, &mut h, &options()));
    }
    assert!(!reports.is_empty(), "no own test files");
    let (_, failed, _) = print_report(&reports, true);
    assert!(reports.iter().all(|r| r.error.is_none()));
    assert_eq!(failed, 0, "own PromQL cases failed");
}
