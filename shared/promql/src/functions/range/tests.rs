//! Unit tests of the range-vector functions, with expected values from Prometheus'
//! `functions.test` (hand-checked).

use super::*;
use crate::error::Error;

const MIN: i64 = 60_000;

/// A series loaded like promqltest's `load <step>`: the i-th value at `i * step`; `None` = gap.
fn load(step: i64, vals: &[Option<f64>]) -> (Vec<i64>, Vec<f64>) {
    let mut ts = Vec::new();
    let mut vs = Vec::new();
    for (i, v) in vals.iter().enumerate() {
        if let Some(v) = v {
            ts.push(i as i64 * step);
            vs.push(*v);
        }
    }
    (ts, vs)
}

/// `a+bxN` expansion.
fn seq(a: f64, b: f64, n: usize) -> Vec<Option<f64>> {
    (0..=n).map(|i| Some(a + b * i as f64)).collect()
}

fn vals(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|&x| Some(x)).collect()
}

/// Evaluates `name` at `eval_t` over `[range]` with `offset` on the series `(ts, vs)`.
fn run_full(
    name: &str,
    s: &(Vec<i64>, Vec<f64>),
    eval_t: i64,
    range: i64,
    offset: i64,
    params: &[f64],
    metric_name: Option<&str>,
) -> (Result<Option<f64>>, Annotations) {
    let end = eval_t - offset;
    let start = end - range;
    let lo = s.0.partition_point(|&t| t <= start);
    let hi = s.0.partition_point(|&t| t <= end);
    let w = Window {
        ts: &s.0[lo..hi],
        vs: &s.1[lo..hi],
        range_start: start,
        range_end: end,
        eval_t,
        metric_name,
    };
    let mut ann = Annotations::default();
    let r = eval(name, &w, params, &mut ann);
    (r, ann)
}

fn run(
    name: &str,
    s: &(Vec<i64>, Vec<f64>),
    eval_t: i64,
    range: i64,
    params: &[f64],
) -> Option<f64> {
    match run_full(name, s, eval_t, range, 0, params, None).0 {
        Ok(v) => v,
        Err(e) => panic!("{name}: {e}"),
    }
}

#[track_caller]
fn close(got: Option<f64>, want: f64) {
    let Some(g) = got else {
        panic!("no value, want {want}");
    };
    if want.is_nan() {
        assert!(g.is_nan(), "got {g}, want NaN");
        return;
    }
    if g == want {
        return;
    }
    let tol = 1e-12 * want.abs().max(1e-300);
    assert!((g - want).abs() <= tol, "got {g}, want {want}");
}

#[test]
fn names() {
    assert!(is_range_function("rate"));
    assert!(is_range_function("ts_of_first_over_time"));
    assert!(!is_range_function("absent_over_time"));
    assert!(!is_range_function("abs"));
    assert!(keeps_name("last_over_time") && keeps_name("first_over_time"));
    assert!(!keeps_name("rate"));
}

#[test]
fn increase_extrapolation_and_zero_clamp() {
    let foo = load(5 * MIN, &seq(0.0, 10.0, 10));
    let mut bar_v = seq(0.0, 18.0, 5);
    bar_v.extend(seq(0.0, 18.0, 5));
    let bar = load(5 * MIN, &bar_v);
    let dings = load(5 * MIN, &seq(10.0, 10.0, 10));
    let bumms = load(5 * MIN, &seq(1.0, 10.0, 10));
    close(run("increase", &foo, 50 * MIN, 50 * MIN, &[]), 100.0);
    close(run("increase", &bar, 50 * MIN, 50 * MIN, &[]), 160.0);
    close(run("increase", &dings, 50 * MIN, 50 * MIN, &[]), 100.0);
    close(run("increase", &bumms, 50 * MIN, 50 * MIN, &[]), 100.0);
    close(run("increase", &foo, 50 * MIN, 100 * MIN, &[]), 100.0);
    close(run("increase", &bar, 50 * MIN, 100 * MIN, &[]), 162.0);
    close(run("increase", &dings, 50 * MIN, 100 * MIN, &[]), 105.0);
    close(run("increase", &bumms, 50 * MIN, 100 * MIN, &[]), 101.0);

    let reset = load(5 * MIN, &vals(&[0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0]));
    close(run("increase", &reset, 30 * MIN, 30 * MIN, &[]), 7.0);
}

#[test]
fn rate_cases() {
    let mut v = seq(0.0, 27.0, 4);
    v.extend(seq(0.0, 27.0, 5));
    let middle = load(5 * MIN, &v);
    close(run("rate", &middle, 50 * MIN, 50 * MIN, &[]), 0.08);

    let mut v = seq(0.0, 10.0, 9);
    v.extend(vals(&[0.0, 10.0]));
    let end = load(5 * MIN, &v);
    assert_eq!(run("rate", &end, 50 * MIN, 5 * MIN, &[]), None);
    close(run("rate", &end, 50 * MIN, 6 * MIN, &[]), 0.0);

    let window = load(5 * MIN, &seq(0.0, 80.0, 10));
    close(
        run("rate", &window, 50 * MIN, 50 * MIN, &[]),
        0.26666666666666666,
    );
    let a = load(5 * MIN, &seq(0.0, 10.0, 10));
    let (r, _) = run_full("rate", &a, 50 * MIN, 10 * MIN, 5 * MIN, &[], None);
    close(r.ok().flatten(), 0.03333333333333333);

    // Zero cutoff for the left-side extrapolation (load 4m).
    let want_10m = [0.5, 0.55, 0.6, 0.6, 0.6, 0.6];
    for (k, want) in want_10m.iter().enumerate() {
        let s = load(4 * MIN, &seq(60.0 * k as f64, 240.0, 10));
        close(run("rate", &s, 10 * MIN, 20 * MIN, &[]), *want);
        close(run("rate", &s, 50 * MIN, 20 * MIN, &[]), 0.6);
    }
}

#[test]
fn delta_and_non_counter_info() {
    let foo = load(5 * MIN, &vals(&[0.0, 50.0, 100.0, 150.0, 200.0]));
    let bar = load(5 * MIN, &vals(&[200.0, 150.0, 100.0, 50.0, 0.0]));
    close(run("delta", &foo, 20 * MIN, 20 * MIN, &[]), 200.0);
    close(run("delta", &bar, 20 * MIN, 20 * MIN, &[]), -200.0);

    let (r, ann) = run_full(
        "rate",
        &foo,
        20 * MIN,
        20 * MIN,
        0,
        &[],
        Some("http_requests"),
    );
    assert!(r.is_ok());
    assert_eq!(
        ann.infos,
        vec![
            "PromQL info: metric might not be a counter, name does not end in \
             _total/_sum/_count/_bucket: \"http_requests\""
                .to_string()
        ]
    );
    let mut ann2 = ann.clone();
    possible_non_counter_info("http_requests", &mut ann2);
    assert_eq!(ann2, ann);
    let (_, ann) = run_full(
        "increase",
        &foo,
        20 * MIN,
        20 * MIN,
        0,
        &[],
        Some("x_total"),
    );
    assert!(ann.infos.is_empty());
    let (_, ann) = run_full("delta", &foo, 20 * MIN, 20 * MIN, 0, &[], Some("x"));
    assert!(ann.infos.is_empty());
    // No output, no info.
    let (_, ann) = run_full("rate", &foo, 20 * MIN, MIN, 0, &[], Some("x"));
    assert!(ann.infos.is_empty());
}

#[test]
fn irate_idelta() {
    let foo = load(5 * MIN, &seq(0.0, 10.0, 10));
    let mut v = seq(0.0, 10.0, 5);
    v.extend(seq(0.0, 10.0, 5));
    let bar = load(5 * MIN, &v);
    close(
        run("irate", &foo, 50 * MIN, 50 * MIN, &[]),
        0.03333333333333333,
    );
    close(
        run("irate", &bar, 50 * MIN, 50 * MIN, &[]),
        0.03333333333333333,
    );
    close(
        run("irate", &foo, 30 * MIN, 50 * MIN, &[]),
        0.03333333333333333,
    );
    // Counter reset: the last value is the increase.
    close(run("irate", &bar, 30 * MIN, 50 * MIN, &[]), 0.0);
    let reset = load(5 * MIN, &vals(&[10.0, 3.0]));
    close(run("irate", &reset, 5 * MIN, 10 * MIN, &[]), 0.01);

    let nan = load(5 * MIN, &vals(&[1.0, f64::NAN, f64::NAN, 5.0, 11.0]));
    let range = 15 * MIN + 1000;
    let got: Vec<Option<f64>> = (0..5)
        .map(|i| run("irate", &nan, i * 5 * MIN, range, &[]))
        .collect();
    assert_eq!(got[0], None);
    for g in &got[1..4] {
        assert!(g.is_some_and(f64::is_nan), "{got:?}");
    }
    close(got[4], 0.02);
    let got: Vec<Option<f64>> = (0..5)
        .map(|i| run("idelta", &nan, i * 5 * MIN, range, &[]))
        .collect();
    assert_eq!(got[0], None);
    close(got[4], 6.0);

    let foo = load(5 * MIN, &vals(&[0.0, 50.0, 100.0, 150.0]));
    let bar = load(5 * MIN, &vals(&[0.0, 50.0, 100.0, 50.0]));
    close(run("idelta", &foo, 20 * MIN, 20 * MIN, &[]), 50.0);
    close(run("idelta", &bar, 20 * MIN, 20 * MIN, &[]), -50.0);
}

#[test]
fn deriv_predict_linear() {
    let mut v = seq(0.0, 10.0, 4);
    v.extend(seq(0.0, 10.0, 5));
    let middle = load(5 * MIN, &v);
    let total = load(5 * MIN, &seq(0.0, 80.0, 10));
    close(
        run("deriv", &total, 50 * MIN, 50 * MIN, &[]),
        0.26666666666666666,
    );
    close(
        run("deriv", &middle, 50 * MIN, 100 * MIN, &[]),
        0.010606060606060607,
    );
    close(
        run("predict_linear", &middle, 50 * MIN, 50 * MIN, &[3600.0]),
        70.0,
    );
    // `@ 3000`: the window ends at 3000 s, the intercept is at the evaluation time.
    for (eval_t, want) in [
        (50 * MIN, 76.81818181818181),
        (10 * MIN, 51.36363636363637),
        (70 * MIN, 89.54545454545455),
    ] {
        let (r, _) = run_full(
            "predict_linear",
            &middle,
            eval_t,
            55 * MIN,
            eval_t - 3_000_000,
            &[3600.0],
            None,
        );
        close(r.ok().flatten(), want);
    }
    let mut v = vals(&[f64::NEG_INFINITY]);
    v.extend(seq(0.0, 80.0, 10));
    v.push(Some(f64::INFINITY));
    let inf = load(5 * MIN, &v);
    close(run("deriv", &inf, 100 * MIN, 100 * MIN, &[]), f64::NAN);
    close(
        run("predict_linear", &inf, 100 * MIN, 100 * MIN, &[6000.0]),
        f64::NAN,
    );
    // Constant values: slope 0; one sample: no output.
    let c = load(MIN, &vals(&[3.0, 3.0, 3.0]));
    close(run("deriv", &c, 2 * MIN, 5 * MIN, &[]), 0.0);
    close(run("predict_linear", &c, 2 * MIN, 5 * MIN, &[100.0]), 3.0);
    assert_eq!(run("deriv", &c, 0, 5 * MIN, &[]), None);
    // predict_linear(x[50m], 3600) - (x + deriv(x[50m]) * 3600) == 0
    let p = run("predict_linear", &total, 50 * MIN, 50 * MIN, &[3600.0]);
    close(p.map(|p| p - (800.0 + 0.26666666666666666 * 3600.0)), 0.0);
}

#[test]
fn resets_changes() {
    let foo = load(5 * MIN, &vals(&[1., 2., 3., 0., 1., 0., 0., 1., 2., 0.]));
    let bar = load(5 * MIN, &vals(&[1., 2., 3., 4., 5., 1., 2., 3., 4., 5.]));
    let biz = load(5 * MIN, &vals(&[0., 0., 0., 0., 0., 1., 1., 1., 1., 1.]));
    let at = 45 * MIN; // the last sample is at 45m
    assert_eq!(run("resets", &foo, 50 * MIN, 5 * MIN, &[]), None);
    close(run("resets", &foo, 50 * MIN, 20 * MIN, &[]), 1.0);
    close(run("resets", &foo, 50 * MIN, 32 * MIN, &[]), 2.0);
    close(run("resets", &bar, 50 * MIN, 32 * MIN, &[]), 1.0);
    close(run("resets", &foo, 50 * MIN, 50 * MIN, &[]), 3.0);
    close(run("resets", &biz, 50 * MIN, 50 * MIN, &[]), 0.0);
    close(run("changes", &foo, 50 * MIN, 6 * MIN, &[]), 0.0);
    close(run("changes", &foo, 50 * MIN, 20 * MIN, &[]), 2.0);
    close(run("changes", &bar, 50 * MIN, 30 * MIN, &[]), 4.0);
    close(run("changes", &foo, 50 * MIN, 50 * MIN, &[]), 7.0);
    close(run("changes", &bar, 50 * MIN, 50 * MIN, &[]), 8.0);
    close(run("changes", &biz, at, 50 * MIN, &[]), 1.0);
    let b = load(5 * MIN, &vals(&[f64::NAN, f64::NAN, f64::NAN]));
    let c = load(5 * MIN, &vals(&[0.0, f64::NAN, 0.0]));
    close(run("changes", &b, 15 * MIN, 20 * MIN, &[]), 0.0);
    close(run("changes", &c, 15 * MIN, 20 * MIN, &[]), 2.0);
}

#[test]
#[allow(clippy::excessive_precision)]
fn avg_sum_extremes() {
    let s = |v: &[f64]| load(10_000, &vals(v));
    let at = 55_000;
    close(
        run("avg_over_time", &s(&[1., 2., 3., 4., 5.]), at, MIN, &[]),
        3.0,
    );
    close(
        run(
            "avg_over_time",
            &s(&[1., 2., 3., 4., f64::INFINITY]),
            at,
            MIN,
            &[],
        ),
        f64::INFINITY,
    );
    let inf = f64::INFINITY;
    close(
        run("avg_over_time", &s(&[1., 2., 3., inf, -inf]), at, MIN, &[]),
        f64::NAN,
    );
    close(run("avg_over_time", &s(&[inf, 0., inf]), at, MIN, &[]), inf);
    close(
        run("avg_over_time", &s(&[-inf, 0., -inf]), at, MIN, &[]),
        -inf,
    );
    close(
        run(
            "avg_over_time",
            &s(&[1., 2., -inf, -inf, inf]),
            at,
            MIN,
            &[],
        ),
        f64::NAN,
    );
    let big = 9.988465674311579e307;
    close(run("avg_over_time", &s(&[big, big]), at, MIN, &[]), big);
    close(run("sum_over_time", &s(&[big, big]), at, MIN, &[]), inf);
    close(
        run("avg_over_time", &s(&[-big, -big, -big]), at, MIN, &[]),
        -big,
    );
    close(run("avg_over_time", &s(&[-big, big]), at, MIN, &[]), 0.0);
    close(
        run("avg_over_time", &s(&[1., 2., 3., f64::NAN]), at, MIN, &[]),
        f64::NAN,
    );
    close(
        run(
            "sum_over_time",
            &s(&[1., 1e100, 1., -1e100]),
            MIN,
            2 * MIN,
            &[],
        ),
        2.0,
    );
    close(
        run(
            "avg_over_time",
            &s(&[1., 1e100, 1., -1e100]),
            MIN,
            2 * MIN,
            &[],
        ),
        0.5,
    );
    let s5 = |v: &[f64]| load(5_000, &vals(v));
    close(
        run(
            "avg_over_time",
            &s5(&[1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6]),
            at,
            MIN,
            &[],
        ),
        1.6666666666666675e9,
    );
    let m9 = [
        -1.78264e215,
        0.76342771,
        1.9592258,
        2.258e220,
        7.69805412,
        1.78264e215,
        -458.90154,
    ];
    close(
        run("avg_over_time", &s5(&m9), at, MIN, &[]),
        3.225714285714286e219,
    );
    let m10 = [
        -1.78264e219,
        0.76342771,
        1.9592258,
        2.3757689e217,
        -2.3757689e217,
        2.258e220,
        7.69805412,
        1.78264e219,
        -458.90154,
    ];
    close(
        run("avg_over_time", &s5(&m10), at, MIN, &[]),
        2.5088888888888888e219,
    );
    let foo = load(10_000, &seq(52.0, 0.0, 100));
    for r in [100_000, 110_000, 120_000, 130_000] {
        assert_eq!(run("avg_over_time", &foo, 10 * MIN, r, &[]), Some(52.0));
    }
    let dense = load(1, &seq(1.0, 0.0, 4000));
    assert_eq!(run("sum_over_time", &dense, 4000, 3003, &[]), Some(3003.0));

    let n = f64::NAN;
    close(
        run("max_over_time", &s(&[n, 1., 3., 2.]), at, MIN, &[]),
        3.0,
    );
    close(
        run("min_over_time", &s(&[n, 1., 3., 2.]), at, MIN, &[]),
        1.0,
    );
    close(run("max_over_time", &s(&[2., n, 1.]), at, MIN, &[]), 2.0);
    close(run("min_over_time", &s(&[n, n]), at, MIN, &[]), f64::NAN);
    close(run("count_over_time", &s(&[n, 1.]), at, MIN, &[]), 2.0);
    close(run("present_over_time", &s(&[n]), at, MIN, &[]), 1.0);
    close(run("last_over_time", &s(&[1., 2.]), at, MIN, &[]), 2.0);
    close(run("first_over_time", &s(&[1., 2.]), at, MIN, &[]), 1.0);
}

#[test]
fn variance() {
    let s = load(10_000, &vals(&[0., 8., 8., 2., 3.]));
    close(run("stdvar_over_time", &s, MIN, 2 * MIN, &[]), 10.56);
    let sd = run("stddev_over_time", &s, MIN, 2 * MIN, &[]).unwrap_or(0.0);
    assert!((sd - 3.249615).abs() < 1e-6);
    let c = load(10_000, &vals(&[1.5990505637277868; 3]));
    assert_eq!(run("stdvar_over_time", &c, 55_000, MIN, &[]), Some(0.0));
    assert_eq!(run("stddev_over_time", &c, 55_000, MIN, &[]), Some(0.0));
}

#[test]
fn quantiles_and_mad() {
    let two = load(10_000, &vals(&[0., 1.]));
    let three = load(10_000, &vals(&[0., 1., 2.]));
    let uneven = load(10_000, &vals(&[0., 1., 4.]));
    for (q, w) in [
        (0.0, [0.0, 0.0, 0.0]),
        (0.5, [0.5, 1.0, 1.0]),
        (0.75, [0.75, 1.5, 2.5]),
        (0.8, [0.8, 1.6, 2.8]),
        (1.0, [1.0, 2.0, 4.0]),
    ] {
        for (s, want) in [&two, &three, &uneven].into_iter().zip(w) {
            let (r, ann) = run_full("quantile_over_time", s, MIN, 2 * MIN, 0, &[q], None);
            close(r.ok().flatten(), want);
            assert!(ann.warnings.is_empty());
        }
    }
    let (r, ann) = run_full("quantile_over_time", &three, MIN, 2 * MIN, 0, &[-1.0], None);
    assert_eq!(r.ok().flatten(), Some(f64::NEG_INFINITY));
    assert_eq!(
        ann.warnings,
        vec!["PromQL warning: quantile value should be between 0 and 1, got -1".to_string()]
    );
    let (r, ann) = run_full("quantile_over_time", &three, MIN, 2 * MIN, 0, &[2.0], None);
    assert_eq!(r.ok().flatten(), Some(f64::INFINITY));
    assert_eq!(ann.warnings.len(), 1);
    let (r, ann) = run_full(
        "quantile_over_time",
        &three,
        MIN,
        2 * MIN,
        0,
        &[f64::NAN],
        None,
    );
    assert!(r.ok().flatten().is_some_and(f64::is_nan));
    assert!(ann.warnings[0].ends_with("got NaN"));
    // NaN sorts first.
    let nan = load(10_000, &vals(&[3., f64::NAN, 1.]));
    close(
        run("quantile_over_time", &nan, MIN, 2 * MIN, &[0.0]),
        f64::NAN,
    );
    close(run("quantile_over_time", &nan, MIN, 2 * MIN, &[1.0]), 3.0);
    close(run("quantile_over_time", &nan, MIN, 2 * MIN, &[0.75]), 2.0);

    let m = load(10_000, &vals(&[4., 6., 2., 1., 999., 1., 2.]));
    close(run("mad_over_time", &m, 70_000, 70_000, &[]), 1.0);
    let odd = load(10_000, &vals(&[1., 2., 3., 4., 5.]));
    close(run("mad_over_time", &odd, 40_000, 50_000, &[]), 1.0);
    let eq = load(10_000, &vals(&[7.; 5]));
    close(run("mad_over_time", &eq, 40_000, 50_000, &[]), 0.0);
    let single = load(10_000, &vals(&[5.]));
    close(run("mad_over_time", &single, 0, 10_000, &[]), 0.0);
    let n = load(10_000, &vals(&[1., 2., f64::NAN, 4.]));
    close(run("mad_over_time", &n, 30_000, 40_000, &[]), f64::NAN);
}

#[test]
fn timestamps_of() {
    let s = load(10_053, &vals(&[1., 2., 3., 0., 5., 6., 2., 1., 4.]));
    close(run("ts_of_min_over_time", &s, 90_000, 90_000, &[]), 30.159);
    close(run("ts_of_max_over_time", &s, 90_000, 90_000, &[]), 50.265);
    let l = load(10_053, &[Some(1.), Some(2.), Some(3.), None, None]);
    close(run("ts_of_last_over_time", &l, 90_000, 90_000, &[]), 20.106);
    close(run("ts_of_last_over_time", &l, 95_000, 90_000, &[]), 20.106);
    let f = load(
        10_053,
        &[None, None, Some(1.), Some(2.), Some(3.), None, None],
    );
    close(
        run("ts_of_first_over_time", &f, 90_000, 90_000, &[]),
        20.106,
    );
    assert_eq!(run("ts_of_first_over_time", &f, 15_000, 90_000, &[]), None);
    // Ties: the last occurrence wins.
    let t = load(1000, &vals(&[1., 0., 1., 0.]));
    close(run("ts_of_max_over_time", &t, 3000, 10_000, &[]), 2.0);
    close(run("ts_of_min_over_time", &t, 3000, 10_000, &[]), 3.0);
}

#[test]
fn double_exponential_smoothing() {
    let mut v = seq(0.0, 10.0, 1000);
    v.extend(seq(100.0, 30.0, 1000));
    let s = load(10_000, &v);
    close(
        run(
            "double_exponential_smoothing",
            &s,
            8_000_000,
            MIN,
            &[0.01, 0.1],
        ),
        8000.0,
    );
    let mut v = seq(0.0, 30.0, 1000);
    v.extend(seq(300.0, 80.0, 1000));
    let s2 = load(10_000, &v);
    close(
        run(
            "double_exponential_smoothing",
            &s2,
            20_010_000,
            MIN,
            &[0.01, 0.1],
        ),
        80300.0,
    );
    let neg = load(10_000, &seq(8000.0, -10.0, 1000));
    let r = run(
        "double_exponential_smoothing",
        &neg,
        8_000_000,
        MIN,
        &[0.01, 0.1],
    );
    assert!(r.is_some_and(|r| r.abs() < 1e-6), "{r:?}");

    let (r, _) = run_full(
        "double_exponential_smoothing",
        &s,
        8_000_000,
        MIN,
        0,
        &[0.0, 0.1],
        None,
    );
    assert_eq!(
        r,
        Err(Error::Execution(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: 0.000000".into()
        ))
    );
    let (r, _) = run_full(
        "double_exponential_smoothing",
        &s,
        8_000_000,
        MIN,
        0,
        &[0.5, 1.0],
        None,
    );
    assert_eq!(
        r,
        Err(Error::Execution(
            "invalid trend factor. Expected: 0 < tf < 1, got: 1.000000".into()
        ))
    );
    let one = load(10_000, &vals(&[1.0]));
    assert_eq!(
        run("double_exponential_smoothing", &one, 0, MIN, &[0.5, 0.5]),
        None
    );
}

#[test]
fn go_formatting() {
    assert_eq!(go_fmt_g(-1.0), "-1");
    assert_eq!(go_fmt_g(2.0), "2");
    assert_eq!(go_fmt_g(1.5), "1.5");
    assert_eq!(go_fmt_g(100000.0), "100000");
    assert_eq!(go_fmt_g(1e6), "1e+06");
    assert_eq!(go_fmt_g(1234567.0), "1.234567e+06");
    assert_eq!(go_fmt_g(0.0001), "0.0001");
    assert_eq!(go_fmt_g(0.00001), "1e-05");
    assert_eq!(go_fmt_g(f64::INFINITY), "+Inf");
    assert_eq!(go_fmt_g(f64::NAN), "NaN");
    assert_eq!(go_fmt_f(f64::NEG_INFINITY), "-Inf");
    assert_eq!(go_fmt_f(0.5), "0.500000");
}
