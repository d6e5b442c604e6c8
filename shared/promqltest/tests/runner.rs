//! Comparison rules and a fake engine proving `run_file` counts pass / fail / skip.

use strata_promqltest::{
    Annotations, Expected, ExpectedSeries, Feature, Labels, LoadedSeries, MsgMatch, RunOptions,
    SeqValue, TestEngine, Value, almost_equal, check_annotations, compare_matrix, compare_vector,
    match_message, parse_script, run_file, run_file_with, stale_nan,
};

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn exp(l: &[(&str, &str)], vals: &[f64]) -> ExpectedSeries {
    ExpectedSeries {
        line: 1,
        labels: labels(l),
        values: vals.iter().map(|v| SeqValue::Float(*v)).collect(),
    }
}

#[test]
fn float_tolerance() {
    assert!(almost_equal(1.0, 1.0 + 1e-9, 1e-6));
    assert!(almost_equal(1e300, 1e300 * (1.0 + 5e-7), 1e-6));
    assert!(!almost_equal(1.0, 1.00001, 1e-6));
    assert!(almost_equal(f64::NAN, f64::NAN, 1e-6));
    assert!(!almost_equal(f64::NAN, 1.0, 1e-6));
    assert!(almost_equal(f64::INFINITY, f64::INFINITY, 1e-6));
    assert!(!almost_equal(f64::INFINITY, f64::NEG_INFINITY, 1e-6));
    assert!(!almost_equal(f64::INFINITY, f64::MAX, 1e-6));
    assert!(almost_equal(stale_nan(), stale_nan(), 1e-6));
    assert!(
        !almost_equal(stale_nan(), f64::NAN, 1e-6),
        "stale only equals stale"
    );
    assert!(
        !almost_equal(0.0, 1e-12, 1e-6),
        "near zero the tolerance is absolute and tiny"
    );
    assert!(almost_equal(0.0, -0.0, 1e-6));
}

#[test]
fn vectors_are_sets_unless_ordered() {
    let want = [exp(&[("a", "1")], &[1.0]), exp(&[("a", "2")], &[2.0])];
    let got = vec![
        (labels(&[("a", "2")]), 2.0),
        (labels(&[("a", "1")]), 1.0 + 1e-9),
    ];
    assert_eq!(compare_vector(&want, &got, false), Ok(()));
    assert!(compare_vector(&want, &got, true).is_err_and(|e| e.contains("position")));
    assert!(compare_vector(&want, &got[..1], false).is_err_and(|e| e.contains("not found")));
    let extra = vec![(labels(&[("a", "3")]), 3.0)];
    assert!(compare_vector(&want, &extra, false).is_err_and(|e| e.contains("unexpected metric")));
    let wrong = vec![(labels(&[("a", "1")]), 1.5), (labels(&[("a", "2")]), 2.0)];
    assert!(compare_vector(&want, &wrong, false).is_err_and(|e| e.contains("expected 1")));
    let dup = vec![(labels(&[("a", "1")]), 1.0), (labels(&[("a", "1")]), 1.0)];
    assert!(compare_vector(&want, &dup, false).is_err_and(|e| e.contains("duplicate")));
    assert_eq!(compare_vector(&[], &[], false), Ok(()));
}

#[test]
fn matrices_match_per_step() {
    let mut want = exp(&[("a", "1")], &[0.0, 0.0, 2.0]);
    want.values[1] = SeqValue::Omitted;
    let got = vec![(labels(&[("a", "1")]), vec![(0, 0.0), (120_000, 2.0)])];
    assert_eq!(
        compare_matrix(std::slice::from_ref(&want), &got, 0, 60_000, true),
        Ok(())
    );
    let shifted = vec![(labels(&[("a", "1")]), vec![(0, 0.0), (60_000, 2.0)])];
    assert!(compare_matrix(std::slice::from_ref(&want), &shifted, 0, 60_000, true).is_err());
    let short = vec![(labels(&[("a", "1")]), vec![(0, 0.0)])];
    assert!(
        compare_matrix(std::slice::from_ref(&want), &short, 0, 60_000, true)
            .is_err_and(|e| e.contains("expected 2 points"))
    );
    let w2 = [exp(&[("a", "1")], &[1.0]), exp(&[("a", "2")], &[1.0])];
    let unsorted = vec![
        (labels(&[("a", "2")]), vec![(0, 1.0)]),
        (labels(&[("a", "1")]), vec![(0, 1.0)]),
    ];
    assert!(compare_matrix(&w2, &unsorted, 0, 1, true).is_err_and(|e| e.contains("sorted")));
    assert_eq!(compare_matrix(&w2, &unsorted, 0, 1, false), Ok(()));
}

#[test]
fn message_matching() {
    assert!(match_message(&MsgMatch::Any, "whatever"));
    assert!(match_message(&MsgMatch::Exact("a b".into()), "a b"));
    assert!(
        !match_message(&MsgMatch::Exact("a b".into()), "a b c"),
        "msg: is an exact match"
    );
    assert!(match_message(
        &MsgMatch::Regex("conflicting label".into()),
        "found conflicting label: x"
    ));
    assert!(!match_message(&MsgMatch::Regex("^x$".into()), "xx"));
}

#[test]
fn annotation_rules() {
    let script = parse_script(
        "eval instant at 0 x\n  expect warn msg: PromQL warning: a\n  expect warn regex: b$\n  expect no_info\n",
    )
    .expect("parse");
    let strata_promqltest::Command::Eval(ev) = &script.commands[0] else {
        panic!("eval")
    };
    let ann = |w: &[&str], i: &[&str]| Annotations {
        warnings: w.iter().map(|s| s.to_string()).collect(),
        infos: i.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        check_annotations(ev, &ann(&["PromQL warning: a", "xb"], &[])),
        Ok(())
    );
    assert!(
        check_annotations(ev, &ann(&[], &[])).is_err(),
        "at least one warning"
    );
    assert!(
        check_annotations(ev, &ann(&["PromQL warning: c"], &[])).is_err(),
        "each must match"
    );
    assert!(check_annotations(ev, &ann(&["PromQL warning: a"], &["PromQL info: i"])).is_err());
}

/// Knows `time()`, `vector(<n>)` and bare metric names (latest sample within 5m).
#[derive(Default)]
struct FakeEngine {
    series: Vec<LoadedSeries>,
    loads: usize,
    clears: usize,
}

impl FakeEngine {
    fn at(&self, expr: &str, t: i64) -> Result<Value, String> {
        if expr == "time()" {
            return Ok(Value::Scalar(t as f64 / 1000.0));
        }
        if let Some(n) = expr
            .strip_prefix("vector(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let v: f64 = n.parse().map_err(|_| "bad number".to_string())?;
            return Ok(Value::Vector(vec![(vec![], v)]));
        }
        if !expr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("unsupported expression {expr:?}"));
        }
        let mut out = Vec::new();
        for s in &self.series {
            if !s.labels.iter().any(|(k, v)| k == "__name__" && v == expr) {
                continue;
            }
            let last = s
                .samples
                .iter()
                .rev()
                .find(|p| p.t_ms <= t && p.t_ms > t - 300_000);
            if let Some(p) = last
                && let SeqValue::Float(v) = p.value
            {
                out.push((s.labels.clone(), v));
            }
        }
        Ok(Value::Vector(out))
    }
}

impl TestEngine for FakeEngine {
    fn load(&mut self, series: &[LoadedSeries]) {
        self.loads += 1;
        self.series.extend_from_slice(series);
    }
    fn clear(&mut self) {
        self.clears += 1;
        self.series.clear();
    }
    fn instant(&mut self, expr: &str, t_ms: i64) -> Result<Value, String> {
        self.at(expr, t_ms)
    }
    fn range(&mut self, expr: &str, start: i64, end: i64, step: i64) -> Result<Value, String> {
        let mut out: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
        let mut t = start;
        while t <= end {
            let points = match self.at(expr, t)? {
                Value::Scalar(v) => vec![(vec![], v)],
                Value::Vector(v) => v,
                _ => return Err("unexpected".into()),
            };
            for (l, v) in points {
                match out.iter_mut().find(|(ol, _)| *ol == l) {
                    Some((_, pts)) => pts.push((t, v)),
                    None => out.push((l, vec![(t, v)])),
                }
            }
            t += step;
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Value::Matrix(out))
    }
}

const FILE: &str = r#"load 1m
  m{a="1"} 0+1x10
  m{a="2"} 5 _ 7
  h {{schema:0 sum:1 count:1}}x5

# pass
eval instant at 5m m
  m{a="1"} 5
  m{a="2"} 7

# fail: wrong value
eval instant at 5m m
  m{a="1"} 6
  m{a="2"} 7

# pass
eval instant at 90s time()
  90

# pass
eval range from 0 to 2m step 1m time()
  {} 0 60 120

# pass
eval range from 0 to 2m step 1m m
  m{a="1"} 0 1 2
  m{a="2"} 5 5 7

# skip: native histograms
eval instant at 1m h
  h {{schema:0 sum:1 count:1}}

# skip: experimental function
eval instant at 1m mad_over_time(m[5m])

# pass: expected error
eval instant at 1m nonsense(
  expect fail regex: unsupported

# fail: no error
eval_fail instant at 1m vector(1)

# fail: wrong error text
eval instant at 1m nonsense(
  expect fail msg: parse error

# pass, annotations not checkable
eval instant at 0 vector(3)
  expect warn
  {} 3

# fail: result should be empty
eval instant at 0 vector(3)

clear

# pass: empty after clear
eval instant at 5m m
"#;

#[test]
fn fake_engine_report() {
    let path = std::env::temp_dir().join(format!("strata-promqltest-{}.test", std::process::id()));
    std::fs::write(&path, FILE).expect("write");
    let mut engine = FakeEngine::default();
    let report = run_file(&path, &mut engine);
    let text = report.to_string();
    eprintln!("{text}");
    assert_eq!(report.error, None);
    assert_eq!(report.passed, 7, "{text}");
    let failed: Vec<usize> = report.failed.iter().map(|f| f.0).collect();
    assert_eq!(failed, [12, 41, 44, 53], "{text}");
    let skipped: Vec<usize> = report.skipped.iter().map(|s| s.0).collect();
    assert_eq!(skipped, [30, 34], "{text}");
    assert_eq!(report.annotations_unchecked, 1);
    assert_eq!((engine.loads, engine.clears), (1, 2));
    assert!(text.starts_with(&format!(
        "{}: 7 passed / 4 failed / 2 skipped\n",
        report.file
    )));
    assert!(text.contains("skipped    1: native histograms"), "{text}");
    assert!(
        text.contains("experimental function `mad_over_time`"),
        "{text}"
    );

    // Enabling a feature runs the eval instead of skipping it (here it then fails).
    let opts = RunOptions::default().enable(Feature::ExperimentalFunction("mad_over_time".into()));
    let report = run_file_with(&path, &mut FakeEngine::default(), &opts);
    assert_eq!(
        (report.passed, report.failed.len(), report.skipped.len()),
        (7, 5, 1)
    );

    let missing = run_file(path.with_extension("missing"), &mut FakeEngine::default());
    assert!(missing.error.is_some_and(|e| e.contains("cannot read")));
    std::fs::remove_file(&path).expect("cleanup");
}

#[test]
fn expected_variants_parse_into_results() {
    let s = parse_script("eval instant at 0 x\n  NaN\n").expect("parse");
    let strata_promqltest::Command::Eval(ev) = &s.commands[0] else {
        panic!("eval")
    };
    assert!(matches!(ev.expected, Expected::Scalar(v) if v.is_nan()));
}
