//! The engine-agnostic runner: [`TestEngine`], [`run_file`] and the per-file [`FileReport`].

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use crate::classify::{Feature, Need, file_needs};
use crate::compare::{
    Annotations, EPSILON, Value, almost_equal, check_annotations, check_error, compare_result,
};
use crate::script::{Command, Eval, EvalKind, LoadedSeries, Script, parse_script};
use crate::series::Labels;

/// A PromQL engine under test. Times are ms since epoch.
pub trait TestEngine {
    /// Adds the series of one `load` block (additive; same labels extend a series).
    fn load(&mut self, series: &[LoadedSeries]);
    /// A `load_with_nhcb` block: an engine with native histograms also converts classic
    /// histograms to custom-bucket histograms. Default: a plain [`TestEngine::load`].
    fn load_with_nhcb(&mut self, series: &[LoadedSeries]) {
        self.load(series);
    }
    /// Drops all data.
    fn clear(&mut self);
    /// Runs an instant query.
    fn instant(&mut self, expr: &str, t_ms: i64) -> Result<Value, String>;
    /// Runs a range query (`end_ms` inclusive).
    fn range(
        &mut self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value, String>;
    /// Annotations of the most recent successful query; `None` if the engine does not report
    /// them (then `expect warn|info|no_warn|no_info` are not checked, and counted as such).
    fn last_annotations(&mut self) -> Option<Annotations> {
        None
    }
}

/// Which features the engine supports; evals needing anything else are skipped.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Supported features (default: none, i.e. float-only and no experimental features).
    pub enabled: HashSet<Feature>,
    /// Apply SOURCE.md's whole-file skip list (see [`crate::file_needs`]). Default true.
    pub whole_file_rules: bool,
    /// Like the upstream runner, re-run every passing instant eval as a range query from
    /// `t−1m` to `t+1m` step `1m` and require the point at `t` to equal the instant result
    /// (not for ordered evals, string or range-vector results, or `start()`/`end()`/`range()`/
    /// `step()`). Default false.
    pub range_check: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            enabled: HashSet::new(),
            whole_file_rules: true,
            range_check: false,
        }
    }
}

impl RunOptions {
    /// Marks a feature as supported.
    pub fn enable(mut self, f: Feature) -> Self {
        self.enabled.insert(f);
        self
    }

    /// The first need that is not supported, i.e. the reason to skip.
    pub fn skip_reason<'a>(&self, needs: impl IntoIterator<Item = &'a Need>) -> Option<&'a Need> {
        needs
            .into_iter()
            .find(|n| !self.enabled.contains(&n.feature))
    }
}

/// Outcome of running one test file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileReport {
    /// File name (without directory).
    pub file: String,
    /// Evals that passed.
    pub passed: usize,
    /// `(line, expr, what differed)` per failed eval.
    pub failed: Vec<(usize, String, String)>,
    /// `(line, reason)` per skipped eval.
    pub skipped: Vec<(usize, String)>,
    /// Evals that passed whose annotation expectations could not be checked.
    pub annotations_unchecked: usize,
    /// The file could not be read or parsed (no evals were run).
    pub error: Option<String>,
}

impl FileReport {
    /// Number of evals that ran (passed + failed).
    pub fn ran(&self) -> usize {
        self.passed + self.failed.len()
    }

    /// Skips grouped by reason: reason → lines, ordered by reason.
    pub fn skips_by_reason(&self) -> BTreeMap<&str, Vec<usize>> {
        let mut m: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (line, reason) in &self.skipped {
            m.entry(reason.as_str()).or_default().push(*line);
        }
        m
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} passed / {} failed / {} skipped",
            self.file,
            self.passed,
            self.failed.len(),
            self.skipped.len()
        )?;
        if let Some(e) = &self.error {
            writeln!(f, "  ERROR: {e}")?;
        }
        if self.annotations_unchecked > 0 {
            writeln!(
                f,
                "  note: {} passing evals had annotation expectations the engine cannot report",
                self.annotations_unchecked
            )?;
        }
        for (line, expr, diff) in &self.failed {
            writeln!(f, "  FAIL line {line}: {expr}\n      {diff}")?;
        }
        for (reason, lines) in self.skips_by_reason() {
            let shown: Vec<String> = lines.iter().take(12).map(|l| l.to_string()).collect();
            let more = if lines.len() > 12 { ", …" } else { "" };
            writeln!(
                f,
                "  skipped {:>4}: {reason} (lines {}{more})",
                lines.len(),
                shown.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Runs one test file with default options (float-only, no experimental features).
pub fn run_file(path: impl AsRef<Path>, engine: &mut impl TestEngine) -> FileReport {
    run_file_with(path, engine, &RunOptions::default())
}

/// Runs one test file with the given options.
pub fn run_file_with(
    path: impl AsRef<Path>,
    engine: &mut impl TestEngine,
    opts: &RunOptions,
) -> FileReport {
    let path = path.as_ref();
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let parsed = std::fs::read(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
        .and_then(|bytes| {
            parse_script(&String::from_utf8_lossy(&bytes)).map_err(|e| e.to_string())
        });
    match parsed {
        Ok(script) => run_script(&file, &script, engine, opts),
        Err(e) => FileReport {
            file,
            error: Some(e),
            ..FileReport::default()
        },
    }
}

/// Runs a parsed script; `file` names it in the report and selects whole-file rules.
pub fn run_script(
    file: &str,
    script: &Script,
    engine: &mut impl TestEngine,
    opts: &RunOptions,
) -> FileReport {
    let mut report = FileReport {
        file: file.to_string(),
        ..FileReport::default()
    };
    let whole = if opts.whole_file_rules {
        file_needs(file)
    } else {
        Vec::new()
    };
    engine.clear();
    for cmd in &script.commands {
        match cmd {
            Command::Load(load) => {
                let series: Vec<LoadedSeries> = load
                    .series
                    .iter()
                    .map(|s| s.to_loaded(load.interval_ms))
                    .collect();
                if load.with_nhcb {
                    engine.load_with_nhcb(&series);
                } else {
                    engine.load(&series);
                }
            }
            Command::Clear { .. } => engine.clear(),
            Command::Eval(ev) => {
                if let Some(need) = opts.skip_reason(whole.iter().chain(&ev.needs)) {
                    report.skipped.push((ev.line, need.reason.clone()));
                    continue;
                }
                let outcome = run_eval(ev, engine).and_then(|checked| {
                    if opts.range_check {
                        range_recheck(ev, engine)?;
                    }
                    Ok(checked)
                });
                match outcome {
                    Ok(annotations_checked) => {
                        report.passed += 1;
                        if !annotations_checked {
                            report.annotations_unchecked += 1;
                        }
                    }
                    Err(diff) => report.failed.push((ev.line, ev.expr.clone(), diff)),
                }
            }
        }
    }
    report
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_string())
}

/// The upstream runner's range re-check of a passing instant eval (see
/// [`RunOptions::range_check`]).
fn range_recheck(ev: &Eval, engine: &mut impl TestEngine) -> Result<(), String> {
    const MINUTE: i64 = 60_000;
    let EvalKind::Instant { at_ms } = ev.kind else {
        return Ok(());
    };
    let bare = ["start()", "end()", "range()", "step()"];
    let uses_bare = bare.iter().any(|b| {
        ev.expr
            .match_indices(b)
            .any(|(i, _)| !ev.expr[..i].trim_end().ends_with('@'))
    });
    if ev.fail.is_some() || ev.ordered || uses_bare {
        return Ok(());
    }
    let instant = match engine.instant(&ev.expr, at_ms) {
        Ok(v @ (Value::Scalar(_) | Value::Vector(_))) => v,
        _ => return Ok(()),
    };
    let range = catch_unwind(AssertUnwindSafe(|| {
        engine.range(&ev.expr, at_ms - MINUTE, at_ms + MINUTE, MINUTE)
    }))
    .map_err(|p| {
        format!(
            "range re-check: engine panicked: {}",
            panic_text(p.as_ref())
        )
    })?
    .map_err(|e| format!("range re-check: unexpected error: {e}"))?;
    let Value::Matrix(m) = range else {
        return Err("range re-check: range query did not return a matrix".into());
    };
    let mut at_t: Vec<(Labels, f64)> = m
        .into_iter()
        .filter_map(|(l, pts)| pts.iter().find(|p| p.0 == at_ms).map(|p| (l, p.1)))
        .collect();
    at_t.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(Labels, f64)> = match instant {
        Value::Scalar(v) => vec![(Vec::new(), v)],
        Value::Vector(v) => v,
        _ => return Ok(()),
    };
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let same = want.len() == at_t.len()
        && want
            .iter()
            .zip(&at_t)
            .all(|(a, b)| a.0 == b.0 && almost_equal(a.1, b.1, EPSILON));
    if same {
        Ok(())
    } else {
        Err(format!(
            "range re-check: the range query's points at t ({at_t:?}) differ from the instant result ({want:?})"
        ))
    }
}

/// Runs one eval; Ok(false) = passed but annotation expectations went unchecked.
pub fn run_eval(ev: &Eval, engine: &mut impl TestEngine) -> Result<bool, String> {
    let result = catch_unwind(AssertUnwindSafe(|| match ev.kind {
        EvalKind::Instant { at_ms } => engine.instant(&ev.expr, at_ms),
        EvalKind::Range {
            start_ms,
            end_ms,
            step_ms,
        } => engine.range(&ev.expr, start_ms, end_ms, step_ms),
    }))
    .map_err(|p| format!("engine panicked: {}", panic_text(p.as_ref())))?;
    let value = match (result, &ev.fail) {
        (Err(e), Some(m)) => return check_error(m, &e).map(|()| true),
        (Err(e), None) => return Err(format!("unexpected error: {e}")),
        (Ok(v), Some(_)) => return Err(format!("expected an error, but the query returned {v:?}")),
        (Ok(v), None) => v,
    };
    compare_result(ev, &value)?;
    if ev.warn.is_unchecked() && ev.info.is_unchecked() {
        return Ok(true);
    }
    match engine.last_annotations() {
        Some(a) => check_annotations(ev, &a).map(|()| true),
        None => Ok(false),
    }
}

/// The corpus directory: `$STRATA_PROMQLTEST_DIR` if set, else `../shared/promqltest` next to
/// the workspace root. `None` when it does not exist or holds no `.test` files.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("STRATA_PROMQLTEST_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/promqltest"),
    };
    let has_tests = corpus_files(&dir).is_ok_and(|f| !f.is_empty());
    has_tests.then_some(dir)
}

/// The `*.test` files of a directory, sorted by name.
pub fn corpus_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    Ok(files)
}
