//! Unit tests of the instant-vector functions (expected values from Prometheus' test files).

use strata_tsdb::labels::Labels;

use super::gofmt::{fmt_g, openmetrics_float};
use super::sort::natural_cmp;
use super::{CallCtx, call};
use crate::error::Error;
use crate::value::{Annotations, Data, Grid, Point, Series};

fn lbls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn ser(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series::new(
        lbls(pairs),
        points.iter().map(|&(t, v)| Point { t, v }).collect(),
    )
}

/// One series at the 1-step grid `t`.
fn one(pairs: &[(&str, &str)], t: i64, v: f64) -> Series {
    ser(pairs, &[(t, v)])
}

fn s(x: &str) -> Data {
    Data::String(x.into())
}

fn run(name: &str, args: Vec<Data>, grid: &Grid) -> (Result<Data, Error>, Annotations) {
    let mut ann = Annotations::default();
    let mut ctx = CallCtx {
        grid,
        ann: &mut ann,
    };
    let r = call(name, args, &mut ctx);
    (r, ann)
}

fn vector(d: Data) -> Vec<Series> {
    match d {
        Data::Vector(v) => v,
        other => panic!("expected a vector, got {other:?}"),
    }
}

fn ok_vec(name: &str, args: Vec<Data>, grid: &Grid) -> Vec<Series> {
    vector(run(name, args, grid).0.unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * (a.abs() + b.abs())
}

/// The value of the single point of the series whose label `k` is `v`.
fn value_of(out: &[Series], k: &str, v: &str) -> f64 {
    let s = out
        .iter()
        .find(|s| s.labels.get(k) == Some(v))
        .unwrap_or_else(|| panic!("no series with {k}={v} in {out:?}"));
    assert_eq!(s.points.len(), 1);
    s.points[0].v
}

const T: i64 = 3_000_000;

mod histogram;

#[test]
fn label_replace_expansion() {
    let g = Grid::instant(0);
    let input = || {
        Data::Vector(vec![
            one(
                &[
                    ("__name__", "testmetric"),
                    ("src", "source-value-10"),
                    ("dst", "orig"),
                ],
                0,
                0.0,
            ),
            one(
                &[
                    ("__name__", "testmetric"),
                    ("src", "source-value-20"),
                    ("dst", "orig"),
                ],
                0,
                1.0,
            ),
        ])
    };
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "destination-value-$1",
            "source-value-(.*)",
            &["destination-value-10", "destination-value-20"],
        ),
        ("destination-value-$1", "value-(.*)", &["orig", "orig"]),
        (
            "$1-value-$2",
            "(.*)-value-(.*)",
            &["source-value-10", "source-value-20"],
        ),
        ("${1}x", "source-value-(.*)", &["10x", "20x"]),
        // `$1x` refers to a group named "1x", which does not exist.
        ("a$1x", "source-value-(.*)", &["a", "a"]),
        (
            "$$1-${n}",
            "source-(?P<n>value)-.*",
            &["$1-value", "$1-value"],
        ),
        ("cost$", "source-value-(.*)", &["cost$", "cost$"]),
        ("$2", "source-value-(.*)", &[]),
    ];
    for (repl, re, want) in cases {
        let out = ok_vec(
            "label_replace",
            vec![input(), s("dst"), s(repl), s("src"), s(re)],
            &g,
        );
        let got: Vec<&str> = out.iter().filter_map(|s| s.labels.get("dst")).collect();
        assert_eq!(&got, want, "replacement {repl:?} regex {re:?}");
        assert!(out.iter().all(|s| !s.drop_name));
    }
    // A missing source label is the empty string, which `(.*)` matches.
    let out = ok_vec(
        "label_replace",
        vec![
            input(),
            s("dst"),
            s("value-$1"),
            s("nonexistent"),
            s("(.*)"),
        ],
        &g,
    );
    assert_eq!(out[0].labels.get("dst"), Some("value-"));
}

#[test]
fn label_replace_errors_and_name_handling() {
    let g = Grid::instant(0);
    let input = || {
        Data::Vector(vec![
            one(&[("__name__", "m"), ("src", "a"), ("idx", "1")], 0, 1.0),
            one(&[("__name__", "m"), ("src", "a"), ("idx", "2")], 0, 2.0),
        ])
    };
    let err = run(
        "label_replace",
        vec![input(), s("dst"), s("v-$1"), s("src"), s("(.*")],
        &g,
    )
    .0
    .unwrap_err();
    assert_eq!(
        err,
        Error::Execution("invalid regular expression in label_replace(): (.*".into())
    );
    let err = run(
        "label_replace",
        vec![input(), s(""), s(""), s("src"), s("(.*)")],
        &g,
    )
    .0
    .unwrap_err();
    assert_eq!(
        err,
        Error::Execution("invalid destination label name in label_replace(): ".into())
    );
    // Both series become {__name__="m", src="a"} at the same step.
    let err = run(
        "label_replace",
        vec![input(), s("idx"), s(""), s("idx"), s(".*")],
        &g,
    )
    .0
    .unwrap_err();
    assert_eq!(
        err,
        Error::Execution("vector cannot contain metrics with the same labelset".into())
    );

    // Non-overlapping series with the same result are merged.
    let g2 = Grid {
        start: 0,
        end: 1_200_000,
        step: 1_200_000,
    };
    let v = Data::Vector(vec![
        ser(&[("label", "a"), ("idx", "1")], &[(0, 2.0)]),
        ser(&[("label", "a"), ("idx", "2")], &[(1_200_000, 4.0)]),
    ]);
    let out = ok_vec(
        "label_replace",
        vec![v, s("idx"), s("replaced"), s("idx"), s(".*")],
        &g2,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].labels, lbls(&[("label", "a"), ("idx", "replaced")]));
    assert_eq!(
        out[0].points,
        vec![
            Point { t: 0, v: 2.0 },
            Point {
                t: 1_200_000,
                v: 4.0
            }
        ]
    );

    // Writing __name__ un-marks the name for removal; other labels keep the mark.
    let mut marked = one(&[("__name__", "rate_in"), ("job", "x")], 0, 1.0);
    marked.drop_name = true;
    let out = ok_vec(
        "label_replace",
        vec![
            Data::Vector(vec![marked.clone()]),
            s("__name__"),
            s("new_$1"),
            s("__name__"),
            s("(.+)"),
        ],
        &g,
    );
    assert_eq!(out[0].labels.get("__name__"), Some("new_rate_in"));
    assert!(!out[0].drop_name);
    let out = ok_vec(
        "label_replace",
        vec![
            Data::Vector(vec![marked]),
            s("n"),
            s("$1"),
            s("__name__"),
            s("(.+)"),
        ],
        &g,
    );
    assert_eq!(out[0].labels.get("n"), Some("rate_in"));
    assert!(out[0].drop_name);
}

#[test]
fn label_join_cases() {
    let g = Grid::instant(0);
    let input = || {
        Data::Vector(vec![one(
            &[("src", "a"), ("src1", "b"), ("src2", "c"), ("dst", "orig")],
            0,
            0.0,
        )])
    };
    let dst = |args: Vec<Data>| {
        ok_vec("label_join", args, &g)[0]
            .labels
            .get("dst")
            .map(str::to_owned)
    };
    assert_eq!(
        dst(vec![
            input(),
            s("dst"),
            s("-"),
            s("src"),
            s("src1"),
            s("src2")
        ])
        .as_deref(),
        Some("a-b-c")
    );
    assert_eq!(
        dst(vec![
            input(),
            s("dst"),
            s("-"),
            s("src"),
            s("src3"),
            s("src1")
        ])
        .as_deref(),
        Some("a--b")
    );
    assert_eq!(dst(vec![input(), s("dst"), s(", ")]), None);
    let err = run("label_join", vec![input(), s("dst"), s("-"), s("")], &g)
        .0
        .unwrap_err();
    assert_eq!(
        err,
        Error::Execution("invalid source label name in label_join(): ".into())
    );
    let dup = Data::Vector(vec![
        one(&[("label", "a"), ("this", "a")], 0, 1.0),
        one(&[("label", "b"), ("this", "a")], 0, 1.0),
    ]);
    let err = run("label_join", vec![dup, s("label"), s(""), s("this")], &g)
        .0
        .unwrap_err();
    assert_eq!(
        err,
        Error::Execution("vector cannot contain metrics with the same labelset".into())
    );
}

#[test]
fn natural_order() {
    let mut cpus = vec!["100", "21", "3", "0", "12", "1", "20", "2", "10", "11"];
    cpus.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        cpus,
        ["0", "1", "2", "3", "10", "11", "12", "20", "21", "100"]
    );
    let mut rel = vec!["1.111.3", "1.2.3", "1.11.3"];
    rel.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(rel, ["1.2.3", "1.11.3", "1.111.3"]);
    let mut inst = vec!["4m1000", "4m600", "4m5"];
    inst.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(inst, ["4m5", "4m600", "4m1000"]);
    assert!(natural_cmp("a", "a1").is_lt());
    assert!(natural_cmp("", "a").is_lt());
    assert!(natural_cmp("x9", "x10").is_lt());
    assert!(natural_cmp("abc", "abd").is_lt());
    assert!(natural_cmp("99999999999999999999", "100000000000000000000").is_lt());
}

#[test]
fn sort_by_label_and_value() {
    let g = Grid::instant(T);
    let v = || {
        Data::Vector(vec![
            one(&[("instance", "1"), ("group", "production")], T, 200.0),
            one(&[("instance", "0"), ("group", "production")], T, 100.0),
            one(&[("instance", "10"), ("group", "canary")], T, f64::NAN),
            one(&[("instance", "0"), ("group", "canary")], T, 300.0),
            one(&[("instance", "2"), ("group", "canary")], T, 50.0),
        ])
    };
    let order = |out: Vec<Series>| -> Vec<String> {
        out.iter()
            .map(|s| {
                format!(
                    "{}/{}",
                    s.labels.get("instance").unwrap_or(""),
                    s.labels.get("group").unwrap_or("")
                )
            })
            .collect()
    };
    let asc = order(ok_vec("sort_by_label", vec![v(), s("instance")], &g));
    assert_eq!(
        asc,
        [
            "0/canary",
            "0/production",
            "1/production",
            "2/canary",
            "10/canary"
        ]
    );
    let desc = order(ok_vec("sort_by_label_desc", vec![v(), s("instance")], &g));
    assert_eq!(
        desc,
        [
            "10/canary",
            "2/canary",
            "1/production",
            "0/production",
            "0/canary"
        ]
    );
    let by_val = order(ok_vec("sort", vec![v()], &g));
    assert_eq!(
        by_val,
        [
            "2/canary",
            "0/production",
            "1/production",
            "0/canary",
            "10/canary"
        ]
    );
    let by_val_desc = order(ok_vec("sort_desc", vec![v()], &g));
    assert_eq!(
        by_val_desc,
        [
            "0/canary",
            "1/production",
            "0/production",
            "2/canary",
            "10/canary"
        ]
    );
    // Range queries: unchanged, with a warning.
    let rg = Grid {
        start: 0,
        end: 60_000,
        step: 60_000,
    };
    let (r, ann) = run("sort", vec![v()], &rg);
    assert_eq!(order(vector(r.unwrap()))[0], "1/production");
    assert_eq!(
        ann.warnings,
        [
            "PromQL warning: sort is ineffective for range queries since results are always ordered by labels"
        ]
    );
}

#[test]
fn math_clamp_round() {
    let g = Grid::instant(0);
    let data = || {
        Data::Vector(
            [2.5, -2.5, -0.0, f64::INFINITY, f64::NAN, 1.25]
                .iter()
                .enumerate()
                .map(|(i, v)| one(&[("i", &i.to_string())], 0, *v))
                .collect(),
        )
    };
    let vals = |out: Vec<Series>| out.iter().map(|s| s.points[0].v).collect::<Vec<_>>();
    let r = vals(ok_vec("round", vec![data()], &g));
    assert_eq!(&r[..4], &[3.0, -2.0, 0.0, f64::INFINITY]);
    assert!(r[4].is_nan());
    let r = vals(ok_vec("round", vec![data(), Data::Scalar(vec![0.5])], &g));
    assert_eq!(r[5], 1.5);
    let r = vals(ok_vec("sgn", vec![data()], &g));
    assert_eq!(&r[..4], &[1.0, -1.0, 0.0, 1.0]);
    let out = ok_vec(
        "clamp",
        vec![data(), Data::Scalar(vec![-1.0]), Data::Scalar(vec![2.0])],
        &g,
    );
    assert!(out.iter().all(|s| s.drop_name));
    let r = vals(out);
    assert_eq!(&r[..4], &[2.0, -1.0, 0.0, 2.0]);
    assert!(r[4].is_nan());
    let r = vals(ok_vec(
        "clamp",
        vec![
            data(),
            Data::Scalar(vec![0.0]),
            Data::Scalar(vec![f64::NAN]),
        ],
        &g,
    ));
    assert!(r.iter().all(|v| v.is_nan()));
    assert!(
        ok_vec(
            "clamp",
            vec![data(), Data::Scalar(vec![5.0]), Data::Scalar(vec![-5.0])],
            &g
        )
        .is_empty()
    );
    let r = vals(ok_vec(
        "clamp_min",
        vec![data(), Data::Scalar(vec![0.0])],
        &g,
    ));
    assert_eq!(&r[..4], &[2.5, 0.0, 0.0, f64::INFINITY]);
    let r = vals(ok_vec("deg", vec![data()], &g));
    assert!(close(r[0], 143.239_448_782_705_8));
}

#[test]
fn scalar_vector_time() {
    let g = Grid {
        start: 0,
        end: 120_000,
        step: 60_000,
    };
    let v = Data::Vector(vec![
        ser(&[("a", "1")], &[(0, 1.0), (60_000, 2.0)]),
        ser(&[("a", "2")], &[(60_000, 3.0), (120_000, 4.0)]),
    ]);
    let Data::Scalar(sc) = run("scalar", vec![v], &g).0.unwrap() else {
        panic!("not a scalar");
    };
    assert_eq!(sc[0], 1.0);
    assert!(sc[1].is_nan());
    assert_eq!(sc[2], 4.0);
    let Data::Scalar(t) = run("time", vec![], &g).0.unwrap() else {
        panic!("not a scalar");
    };
    assert_eq!(t, [0.0, 60.0, 120.0]);
    let out = ok_vec("vector", vec![Data::Scalar(t)], &g);
    assert_eq!(out.len(), 1);
    assert!(out[0].labels.is_empty() && !out[0].drop_name);
    assert_eq!(
        out[0].points[2],
        Point {
            t: 120_000,
            v: 120.0
        }
    );
    let out = ok_vec(
        "timestamp",
        vec![Data::Vector(vec![ser(&[("a", "1")], &[(60_000, 7.0)])])],
        &g,
    );
    assert_eq!(out[0].points[0].v, 60.0);
    let Data::Scalar(m) = run(
        "max_of",
        vec![
            Data::Scalar(vec![3.0, f64::NAN, 1.0]),
            Data::Scalar(vec![5.0, 3.0, -1.0]),
        ],
        &g,
    )
    .0
    .unwrap() else {
        panic!("not a scalar");
    };
    assert_eq!(m[0], 5.0);
    assert!(m[1].is_nan());
    assert_eq!(m[2], 1.0);
    assert!(matches!(
        run("info", vec![], &g).0,
        Err(Error::NotSupported(_))
    ));
}

#[test]
fn date_functions() {
    let g = Grid::instant(0);
    let at = |name: &str, secs: f64| {
        let v = Data::Vector(vec![one(&[("__name__", "x")], 0, secs)]);
        let out = ok_vec(name, vec![v], &g);
        assert!(out[0].drop_name);
        out[0].points[0].v
    };
    assert_eq!(at("year", 1_136_239_445.0), 2006.0);
    assert_eq!(at("month", 1_136_239_445.0), 1.0);
    assert_eq!(at("day_of_month", 1_136_239_445.0), 2.0);
    assert_eq!(at("day_of_year", 1_136_239_445.0), 2.0);
    assert_eq!(at("day_of_week", 1_136_239_445.0), 1.0);
    assert_eq!(at("hour", 1_136_239_445.0), 22.0);
    assert_eq!(at("minute", 1_136_239_445.0), 4.0);
    assert_eq!(at("year", 1_230_767_999.0), 2008.0);
    assert_eq!(at("year", 1_230_768_000.0), 2009.0);
    assert_eq!(at("month", 1_456_790_399.0), 2.0);
    assert_eq!(at("day_of_month", 1_456_790_399.0), 29.0);
    assert_eq!(at("day_of_month", 1_456_790_400.0), 1.0);
    assert_eq!(at("day_of_year", 1_483_191_420.0), 366.0);
    assert_eq!(at("day_of_year", 1_672_493_820.0), 365.0);
    assert_eq!(at("days_in_month", 1_454_284_800.0), 29.0);
    assert_eq!(at("days_in_month", 1_485_907_200.0), 28.0);
    assert_eq!(at("year", -1.0), 1969.0);
    assert_eq!(at("day_of_week", -86_400.0), 3.0);
    // No argument: the step times.
    let out = ok_vec("day_of_week", vec![], &g);
    assert_eq!(out[0].points[0].v, 4.0);
    assert!(out[0].labels.is_empty() && !out[0].drop_name);
}

#[test]
fn go_formatting() {
    let cases = [
        (1e6, "1e+06"),
        (123_456.0, "123456"),
        (1_234_567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (1.01, "1.01"),
        (f64::NAN, "NaN"),
        (f64::NEG_INFINITY, "-Inf"),
    ];
    for (v, want) in cases {
        assert_eq!(fmt_g(v, None), want, "{v}");
    }
    for (v, want) in [
        (12_345.0, "1.2e+04"),
        (0.5, "0.5"),
        (1.0, "1"),
        (100.0, "1e+02"),
        (0.123, "0.12"),
        (10.0, "10"),
    ] {
        assert_eq!(fmt_g(v, Some(2)), want, "{v}");
    }
    for (v, want) in [
        (0.0, "0.0"),
        (1.0, "1.0"),
        (0.25, "0.25"),
        (-2.0, "-2.0"),
        (1e6, "1e+06"),
        (f64::NAN, "NaN"),
    ] {
        assert_eq!(openmetrics_float(v), want, "{v}");
    }
}
