//! Unit tests of histogram_quantile(s) and histogram_fraction on classic buckets.

use super::super::gofmt::fmt_g;
use super::{T, close, ok_vec, one, run, s, ser, value_of, vector};
use crate::value::{Data, Grid, Series};

/// The classic buckets of histograms.test's `testhistogram` at 50m.
fn testhistogram() -> Vec<Series> {
    let b = |le: &str, start: &str, v: f64| {
        one(
            &[
                ("__name__", "testhistogram_bucket"),
                ("le", le),
                ("start", start),
            ],
            T,
            v,
        )
    };
    vec![
        b("0.1", "positive", 50.0),
        b(".2", "positive", 70.0),
        b("1e0", "positive", 110.0),
        b("+Inf", "positive", 120.0),
        b("-.2", "negative", 10.0),
        b("-0.1", "negative", 20.0),
        b("0.3", "negative", 20.0),
        b("+Inf", "negative", 30.0),
    ]
}

#[test]
fn histogram_quantile_classic() {
    let g = Grid::instant(T);
    let cases = [
        (0.0, 0.0, -0.2),
        (1.0, 1.0, 0.3),
        (0.2, 0.048, -0.2),
        (0.5, 0.15, -0.15),
        (0.8, 0.72, 0.3),
        (-0.1, f64::NEG_INFINITY, f64::NEG_INFINITY),
        (1.01, f64::INFINITY, f64::INFINITY),
        (f64::NAN, f64::NAN, f64::NAN),
    ];
    for (q, pos, neg) in cases {
        let (r, ann) = run(
            "histogram_quantile",
            vec![Data::Scalar(vec![q]), Data::Vector(testhistogram())],
            &g,
        );
        let out = vector(r.unwrap());
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|s| s.drop_name && s.labels.get("le").is_none())
        );
        assert!(close(value_of(&out, "start", "positive"), pos), "q={q}");
        assert!(close(value_of(&out, "start", "negative"), neg), "q={q}");
        if (0.0..=1.0).contains(&q) {
            assert!(ann.warnings.is_empty());
        } else {
            assert_eq!(
                ann.warnings,
                [format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    fmt_g(q, None)
                )]
            );
        }
        assert!(ann.infos.is_empty());
    }
    // The warning comes even without input.
    let (r, ann) = run(
        "histogram_quantile",
        vec![Data::Scalar(vec![f64::NAN]), Data::Vector(vec![])],
        &g,
    );
    assert!(vector(r.unwrap()).is_empty());
    assert_eq!(
        ann.warnings,
        ["PromQL warning: quantile value should be between 0 and 1, got NaN"]
    );
}

#[test]
fn histogram_quantile_monotonicity_and_edge_cases() {
    let g = Grid::instant(T);
    let nonmono: Vec<Series> = [
        ("0.1", 20.0),
        ("1", 10.0),
        ("10", 50.0),
        ("100", 40.0),
        ("1000", 90.0),
        ("+Inf", 80.0),
    ]
    .iter()
    .map(|(le, v)| one(&[("__name__", "nonmonotonic_bucket"), ("le", le)], T, *v))
    .collect();
    for (q, want) in [(0.01, 0.0045), (0.5, 8.5), (0.99, 979.75)] {
        let (r, ann) = run(
            "histogram_quantile",
            vec![Data::Scalar(vec![q]), Data::Vector(nonmono.clone())],
            &g,
        );
        let out = vector(r.unwrap());
        assert!(close(out[0].points[0].v, want), "q={q}: {out:?}");
        assert_eq!(
            ann.infos,
            [
                "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"nonmonotonic_bucket\""
            ]
        );
    }
    // Same upper bound spelled differently, bad and missing le, no +Inf bucket.
    let v = vec![
        one(&[("i", "1"), ("le", "0.1")], T, 1.0),
        one(&[("i", "1"), ("le", "0.2")], T, 1.0),
        one(&[("i", "1"), ("le", "2e-1")], T, 1.0),
        one(&[("i", "1"), ("le", "2.0e-1")], T, 1.0),
        one(&[("i", "1"), ("le", "+Inf")], T, 4.0),
        one(&[("i", "2"), ("le", "+inf")], T, 0.0),
        one(&[("i", "2"), ("le", "+Inf")], T, 0.0),
        one(&[("i", "3"), ("le", "1")], T, 3.0),
        one(&[("__name__", "series"), ("le", "Hello World")], T, 2.0),
        one(&[("__name__", "series"), ("ale", "0.1")], T, 2.0),
    ];
    let (r, ann) = run(
        "histogram_quantile",
        vec![Data::Scalar(vec![0.5]), Data::Vector(v)],
        &g,
    );
    let out = vector(r.unwrap());
    assert_eq!(out.len(), 3);
    assert!(close(value_of(&out, "i", "1"), 0.15));
    assert!(value_of(&out, "i", "2").is_nan());
    assert!(value_of(&out, "i", "3").is_nan());
    assert_eq!(
        ann.warnings,
        [
            "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"Hello World\" for metric name \"series\"",
            "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"\" for metric name \"series\"",
        ]
    );
}

#[test]
fn histogram_quantile_range_grid() {
    // Two steps; the second step has only part of the buckets, and q varies per step.
    let g = Grid {
        start: 0,
        end: 60_000,
        step: 60_000,
    };
    let v = vec![
        ser(&[("le", "0")], &[(0, 0.0), (60_000, 0.0)]),
        ser(&[("le", "2")], &[(0, 1.0)]),
        ser(&[("le", "4")], &[(0, 2.0), (60_000, 2.0)]),
        ser(&[("le", "6")], &[(0, 3.0), (60_000, 3.0)]),
        ser(&[("le", "+Inf")], &[(0, 3.0), (60_000, 3.0)]),
    ];
    let out = ok_vec(
        "histogram_quantile",
        vec![Data::Scalar(vec![1.0 / 6.0, 0.5]), Data::Vector(v)],
        &g,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].points.len(), 2);
    assert!(close(out[0].points[0].v, 1.0));
    // Step 2: buckets 0:0, 4:2, 6:3, +Inf:3; rank 1.5 falls into (0, 4].
    assert!(close(out[0].points[1].v, 3.0));
}

#[test]
fn histogram_quantiles_and_fraction() {
    let g = Grid::instant(T);
    let (r, ann) = run(
        "histogram_quantiles",
        vec![
            Data::Vector(testhistogram()),
            s("q"),
            Data::Scalar(vec![0.5]),
            Data::Scalar(vec![1.0]),
        ],
        &g,
    );
    let out = vector(r.unwrap());
    assert!(ann.warnings.is_empty());
    assert_eq!(out.len(), 4);
    let find = |q: &str, start: &str| {
        out.iter()
            .find(|s| s.labels.get("q") == Some(q) && s.labels.get("start") == Some(start))
            .map(|s| s.points[0].v)
    };
    assert!(close(find("0.5", "positive").unwrap(), 0.15));
    assert!(close(find("1.0", "negative").unwrap(), 0.3));
    // Overwriting an existing label makes the output ambiguous.
    let (r, _) = run(
        "histogram_quantiles",
        vec![
            Data::Vector(testhistogram()),
            s("start"),
            Data::Scalar(vec![0.5]),
        ],
        &g,
    );
    assert!(r.is_err());

    let h2: Vec<Series> = [
        ("0", 0.0),
        ("2", 10.0),
        ("4", 20.0),
        ("6", 30.0),
        ("+Inf", 30.0),
    ]
    .iter()
    .map(|(le, v)| one(&[("__name__", "testhistogram2_bucket"), ("le", le)], T, *v))
    .collect();
    for (lo, hi, want) in [
        (0.0, 4.0, 2.0 / 3.0),
        (0.0, 6.0, 1.0),
        (0.0, 3.5, 0.583_333_333_333_333_4),
        (3.0, 2.0, 0.0),
        (f64::NAN, 1.0, f64::NAN),
    ] {
        let out = ok_vec(
            "histogram_fraction",
            vec![
                Data::Scalar(vec![lo]),
                Data::Scalar(vec![hi]),
                Data::Vector(h2.clone()),
            ],
            &g,
        );
        assert!(close(out[0].points[0].v, want), "{lo}..{hi}: {out:?}");
    }
    let neg: Vec<Series> = [("-3", 10.0), ("-2", 12.0), ("-1", 15.0), ("+Inf", 100.0)]
        .iter()
        .map(|(le, v)| one(&[("le", le)], T, *v))
        .collect();
    let out = ok_vec(
        "histogram_fraction",
        vec![
            Data::Scalar(vec![-4.0]),
            Data::Scalar(vec![-2.0]),
            Data::Vector(neg),
        ],
        &g,
    );
    assert!(close(out[0].points[0].v, 0.02));
}
