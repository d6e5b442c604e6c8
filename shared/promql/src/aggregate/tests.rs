//! Unit tests of the aggregation operators (expectations from Prometheus' aggregators.test
//! and limit.test).

use promql_parser::parser::LabelModifier;
use promql_parser::parser::token::*;
use strata_tsdb::labels::Labels;

use super::*;
use crate::value::Point;

fn lbl(s: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(s.iter().copied())
}

fn series(l: &[(&str, &str)], pts: &[(i64, f64)]) -> Series {
    Series::new(lbl(l), pts.iter().map(|&(t, v)| Point { t, v }).collect())
}

fn inst(l: &[(&str, &str)], v: f64) -> Series {
    series(l, &[(0, v)])
}

fn run(
    op: u16,
    param: Option<Data>,
    m: Option<LabelModifier>,
    input: Vec<Series>,
    grid: &Grid,
) -> (Result<Vec<Series>>, Annotations) {
    let mut ann = Annotations::default();
    let r = aggregate(TokenType::new(op), param, m.as_ref(), input, grid, &mut ann);
    (r, ann)
}

fn by(l: &[&str]) -> Option<LabelModifier> {
    Some(LabelModifier::include(l.to_vec()))
}

fn without(l: &[&str]) -> Option<LabelModifier> {
    Some(LabelModifier::exclude(l.to_vec()))
}

/// Result as sorted (labels string, values) for comparison.
fn flat(r: &[Series]) -> Vec<(String, Vec<f64>)> {
    let mut v: Vec<_> = r
        .iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.points.iter().map(|p| p.v).collect::<Vec<_>>(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The first dataset of aggregators.test at 50m.
fn http_requests() -> Vec<Series> {
    let mut v = Vec::new();
    let mut i = 1.0;
    for job in ["api-server", "app-server"] {
        for group in ["production", "canary"] {
            for inst_ in ["0", "1"] {
                v.push(inst(
                    &[
                        ("__name__", "http_requests"),
                        ("job", job),
                        ("instance", inst_),
                        ("group", group),
                    ],
                    100.0 * i,
                ));
                i += 1.0;
            }
        }
    }
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    v
}

#[test]
fn sum_by_without_and_plain() {
    let g = Grid::instant(0);
    let (r, _) = run(T_SUM, None, by(&["group"]), http_requests(), &g);
    assert_eq!(
        flat(&r.unwrap()),
        vec![
            (r#"{group="canary"}"#.into(), vec![2200.0]),
            (r#"{group="production"}"#.into(), vec![1400.0]),
        ]
    );
    let (r, _) = run(T_SUM, None, without(&["instance"]), http_requests(), &g);
    let r = flat(&r.unwrap());
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].0, r#"{group="canary", job="api-server"}"#);
    let (r, _) = run(T_SUM, None, None, http_requests(), &g);
    assert_eq!(flat(&r.unwrap()), vec![("{}".into(), vec![3600.0])]);
    let (r, _) = run(
        T_COUNT,
        None,
        by(&["job", "nonexistent"]),
        http_requests(),
        &g,
    );
    assert_eq!(
        flat(&r.unwrap()),
        vec![
            (r#"{job="api-server"}"#.into(), vec![4.0]),
            (r#"{job="app-server"}"#.into(), vec![4.0]),
        ]
    );
    let (r, _) = run(T_SUM, None, None, Vec::new(), &g);
    assert!(r.unwrap().is_empty());
}

#[test]
fn min_max_avg_stddev() {
    let g = Grid::instant(0);
    let (r, _) = run(T_AVG, None, by(&["job"]), http_requests(), &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![250.0]);
    let (r, _) = run(T_STDDEV, None, None, http_requests(), &g);
    let v = flat(&r.unwrap())[0].1[0];
    assert!((v - 229.12878474779).abs() < 1e-9);
    let (r, _) = run(T_STDVAR, None, by(&["instance"]), http_requests(), &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![50000.0]);
    let data = vec![
        inst(&[("i", "a")], 1.0),
        inst(&[("i", "b")], f64::NAN),
        inst(&[("i", "c")], 3.0),
    ];
    let (r, _) = run(T_MAX, None, None, data.clone(), &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![3.0]);
    let (r, _) = run(T_MIN, None, None, data.clone(), &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![1.0]);
    let (r, _) = run(T_STDDEV, None, None, data, &g);
    assert!(flat(&r.unwrap())[0].1[0].is_nan());
    let big = 9.988_465_674_311_58e307;
    let data: Vec<Series> = ["a", "b", "c", "d"]
        .iter()
        .map(|p| inst(&[("p", p)], big))
        .collect();
    let (r, _) = run(T_AVG, None, None, data, &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![big]);
    let data: Vec<Series> = [(-big), (-big), big, big]
        .iter()
        .enumerate()
        .map(|(i, &v)| inst(&[("p", &i.to_string())], v))
        .collect();
    let (r, _) = run(T_AVG, None, None, data, &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![0.0]);
    let data: Vec<Series> = [2.0, 8.0, 1e100, -1e100]
        .iter()
        .enumerate()
        .map(|(i, &v)| inst(&[("p", &i.to_string())], v))
        .collect();
    let (r, _) = run(T_SUM, None, None, data.clone(), &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![10.0]);
    let (r, _) = run(T_AVG, None, None, data, &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![2.5]);
    let data = vec![inst(&[("p", "a")], 52.0); 12]
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            s.labels.set("idx", &i.to_string());
            s
        })
        .collect();
    let (r, _) = run(T_AVG, None, None, data, &g);
    assert_eq!(flat(&r.unwrap())[0].1, vec![52.0]);
}

#[test]
fn range_steps_and_drop_name() {
    let g = Grid {
        start: 0,
        end: 20,
        step: 10,
    };
    let mut a = series(&[("__name__", "x"), ("i", "a")], &[(0, 1.0), (10, 2.0)]);
    a.drop_name = true;
    let b = series(&[("__name__", "x"), ("i", "b")], &[(10, 3.0), (20, 4.0)]);
    let (r, _) = run(T_SUM, None, by(&["__name__"]), vec![a, b], &g);
    let r = r.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].points,
        vec![
            Point { t: 0, v: 1.0 },
            Point { t: 10, v: 5.0 },
            Point { t: 20, v: 4.0 }
        ]
    );
    // The last step only had `b`, which keeps its name.
    assert!(!r[0].drop_name);
    assert_eq!(r[0].labels.to_string(), r#"{__name__="x"}"#);
}

#[test]
fn topk_bottomk_instant_order() {
    let g = Grid::instant(0);
    let (r, _) = run(
        T_TOPK,
        Some(Data::Scalar(vec![3.0])),
        None,
        http_requests(),
        &g,
    );
    let vals: Vec<f64> = r.unwrap().iter().map(|s| s.points[0].v).collect();
    assert_eq!(vals, vec![800.0, 700.0, 600.0]);
    let (r, _) = run(
        T_BOTTOMK,
        Some(Data::Scalar(vec![3.0])),
        None,
        http_requests(),
        &g,
    );
    let vals: Vec<f64> = r.unwrap().iter().map(|s| s.points[0].v).collect();
    assert_eq!(vals, vec![100.0, 200.0, 300.0]);
    let data = vec![
        inst(&[("i", "0")], 100.0),
        inst(&[("i", "1")], 200.0),
        inst(&[("i", "2")], f64::NAN),
    ];
    let (r, _) = run(
        T_TOPK,
        Some(Data::Scalar(vec![3.0])),
        None,
        data.clone(),
        &g,
    );
    let names: Vec<String> = r.unwrap().iter().map(|s| s.labels.to_string()).collect();
    assert_eq!(names, vec![r#"{i="1"}"#, r#"{i="0"}"#, r#"{i="2"}"#]);
    let (r, _) = run(
        T_BOTTOMK,
        Some(Data::Scalar(vec![9999999999.0])),
        None,
        data.clone(),
        &g,
    );
    let names: Vec<String> = r.unwrap().iter().map(|s| s.labels.to_string()).collect();
    assert_eq!(names, vec![r#"{i="0"}"#, r#"{i="1"}"#, r#"{i="2"}"#]);
    let (r, _) = run(
        T_TOPK,
        Some(Data::Scalar(vec![1.0])),
        None,
        data.clone(),
        &g,
    );
    assert_eq!(r.unwrap()[0].labels.to_string(), r#"{i="1"}"#);
    let (r, _) = run(
        T_TOPK,
        Some(Data::Scalar(vec![1.0])),
        by(&["group"]),
        http_requests(),
        &g,
    );
    assert_eq!(flat(&r.unwrap()).len(), 2);
    let (r, _) = run(
        T_TOPK,
        Some(Data::Scalar(vec![0.5])),
        None,
        data.clone(),
        &g,
    );
    assert!(r.unwrap().is_empty());
    let (r, _) = run(
        T_TOPK,
        Some(Data::Scalar(vec![f64::NAN])),
        None,
        Vec::new(),
        &g,
    );
    assert_eq!(
        r.unwrap_err(),
        Error::Execution("Parameter value is NaN".into())
    );
    let (r, _) = run(
        T_LIMIT_RATIO,
        Some(Data::Scalar(vec![f64::NAN])),
        None,
        Vec::new(),
        &g,
    );
    assert_eq!(
        r.unwrap_err(),
        Error::Execution("Ratio value is NaN".into())
    );
    let (r, _) = run(T_TOPK, Some(Data::Scalar(vec![1e19])), None, data, &g);
    assert_eq!(
        r.unwrap_err(),
        Error::Execution("Scalar value 1e+19 overflows int64".into())
    );
}

#[test]
fn topk_ties_prefer_earlier_series() {
    let g = Grid::instant(0);
    let data: Vec<Series> = (0..5)
        .map(|i| inst(&[("i", &i.to_string())], 1.0))
        .collect();
    let (r, _) = run(T_TOPK, Some(Data::Scalar(vec![2.0])), None, data, &g);
    let mut names: Vec<String> = r.unwrap().iter().map(|s| s.labels.to_string()).collect();
    names.sort();
    assert_eq!(names, vec![r#"{i="0"}"#, r#"{i="1"}"#]);
}

/// aggregators.test "Bug #15971": k from a scalar that changes per step.
#[test]
fn topk_range_per_step_k() {
    let g = Grid {
        start: 0,
        end: 50,
        step: 5,
    };
    let n = g.len();
    let input: Vec<Series> = (0..9)
        .map(|i| {
            let pts: Vec<(i64, f64)> = g.times().map(|t| (t, (i * 10 + t) as f64)).collect();
            series(&[("i", &i.to_string())], &pts)
        })
        .collect();
    let k: Vec<f64> = (0..n)
        .map(|i| if i == 10 { 3.0 } else { i as f64 + 1.0 })
        .collect();
    for op in [T_TOPK, T_BOTTOMK, T_LIMITK] {
        let (r, _) = run(op, Some(Data::Scalar(k.clone())), None, input.clone(), &g);
        let r = r.unwrap();
        let mut counts = vec![0; n];
        for s in &r {
            for p in &s.points {
                counts[g.index_of(p.t)] += 1;
            }
        }
        assert_eq!(counts, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 3]);
    }
}

#[test]
fn limit_ratio_complements() {
    let g = Grid {
        start: 0,
        end: 100,
        step: 10,
    };
    let input: Vec<Series> = (0..8)
        .map(|i| {
            let pts: Vec<(i64, f64)> = g.times().map(|t| (t, t as f64)).collect();
            series(
                &[("__name__", "http_requests"), ("instance", &i.to_string())],
                &pts,
            )
        })
        .collect();
    let count = |r: f64| -> Vec<usize> {
        let (res, _) = run(
            T_LIMIT_RATIO,
            Some(Data::Scalar(vec![r; g.len()])),
            None,
            input.clone(),
            &g,
        );
        let res = res.unwrap();
        let mut c = vec![0; g.len()];
        for s in &res {
            for p in &s.points {
                c[g.index_of(p.t)] += 1;
            }
        }
        c
    };
    for (a, b) in [(0.2, -0.8), (0.5, -0.5), (0.8, -0.2)] {
        let ca = count(a);
        let cb = count(b);
        for i in 0..g.len() {
            assert_eq!(ca[i] + cb[i], 8);
        }
    }
    assert_eq!(count(1.0), vec![8; g.len()]);
    assert_eq!(count(-1.0), vec![8; g.len()]);
    let (_, ann) = run(
        T_LIMIT_RATIO,
        Some(Data::Scalar(vec![1.1; g.len()])),
        None,
        input.clone(),
        &g,
    );
    assert_eq!(
        ann.warnings,
        vec!["PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1"]
    );
}

#[test]
fn quantile_nan_and_warnings() {
    let g = Grid::instant(0);
    let data = vec![
        inst(&[("p", "a")], 0.0),
        inst(&[("p", "b")], 1.0),
        inst(&[("p", "c")], f64::NAN),
    ];
    let (r, ann) = run(
        T_QUANTILE,
        Some(Data::Scalar(vec![0.8])),
        None,
        data.clone(),
        &g,
    );
    let v = flat(&r.unwrap())[0].1[0];
    assert!((v - 0.6).abs() < 1e-12);
    assert!(ann.warnings.is_empty());
    let (r, _) = run(
        T_QUANTILE,
        Some(Data::Scalar(vec![0.2])),
        None,
        data.clone(),
        &g,
    );
    assert!(flat(&r.unwrap())[0].1[0].is_nan());
    let (r, ann) = run(
        T_QUANTILE,
        Some(Data::Scalar(vec![f64::NAN])),
        None,
        data.clone(),
        &g,
    );
    assert!(flat(&r.unwrap())[0].1[0].is_nan());
    assert_eq!(
        ann.warnings,
        vec!["PromQL warning: quantile value should be between 0 and 1, got NaN"]
    );
    let (r, ann) = run(T_QUANTILE, Some(Data::Scalar(vec![1.5])), None, data, &g);
    assert_eq!(flat(&r.unwrap())[0].1[0], f64::INFINITY);
    assert_eq!(
        ann.warnings,
        vec!["PromQL warning: quantile value should be between 0 and 1, got 1.5"]
    );
}

#[test]
fn count_values_labels() {
    let g = Grid::instant(0);
    let mk = |job: &str, i: &str, v: f64| {
        inst(&[("__name__", "version"), ("job", job), ("instance", i)], v)
    };
    let data = vec![
        mk("a", "0", 6.0),
        mk("a", "1", 6.0),
        mk("b", "0", 7.0),
        mk("b", "1", 1e6),
    ];
    let (r, _) = run(
        T_COUNT_VALUES,
        Some(Data::String("version".into())),
        None,
        data.clone(),
        &g,
    );
    assert_eq!(
        flat(&r.unwrap()),
        vec![
            (r#"{version="1000000"}"#.into(), vec![1.0]),
            (r#"{version="6"}"#.into(), vec![2.0]),
            (r#"{version="7"}"#.into(), vec![1.0]),
        ]
    );
    let (r, _) = run(
        T_COUNT_VALUES,
        Some(Data::String("job".into())),
        without(&["instance"]),
        data.clone(),
        &g,
    );
    assert_eq!(
        flat(&r.unwrap()),
        vec![
            (r#"{job="1000000"}"#.into(), vec![1.0]),
            (r#"{job="6"}"#.into(), vec![2.0]),
            (r#"{job="7"}"#.into(), vec![1.0]),
        ]
    );
    let (r, _) = run(
        T_COUNT_VALUES,
        Some(Data::String("job".into())),
        by(&["job"]),
        data.clone(),
        &g,
    );
    assert_eq!(flat(&r.unwrap()).len(), 3);
    let (r, _) = run(
        T_COUNT_VALUES,
        Some(Data::String(String::new())),
        None,
        data,
        &g,
    );
    assert_eq!(
        r.unwrap_err(),
        Error::Execution(r#"invalid label name """#.into())
    );
}

#[test]
fn go_float_formatting() {
    assert_eq!(go_fmt_g(1.1), "1.1");
    assert_eq!(go_fmt_g(1.0), "1");
    assert_eq!(go_fmt_g(-1.1), "-1.1");
    assert_eq!(go_fmt_g(100000.0), "100000");
    assert_eq!(go_fmt_g(1e6), "1e+06");
    assert_eq!(go_fmt_g(1234567.0), "1.234567e+06");
    assert_eq!(go_fmt_g(0.0001), "0.0001");
    assert_eq!(go_fmt_g(0.00001), "1e-05");
    assert_eq!(go_fmt_g(9.223372036854776e18), "9.223372036854776e+18");
    assert_eq!(go_fmt_g(1e100), "1e+100");
    assert_eq!(go_fmt_g(f64::NAN), "NaN");
    assert_eq!(go_fmt_g(f64::NEG_INFINITY), "-Inf");
    assert_eq!(count_values::go_fmt_f(1e21), "1000000000000000000000");
    assert_eq!(count_values::go_fmt_f(1e-7), "0.0000001");
    assert_eq!(count_values::go_fmt_f(-0.0), "-0");
    assert_eq!(count_values::go_fmt_f(f64::INFINITY), "+Inf");
}

#[test]
fn labels_hash_matches_prometheus_layout() {
    let l = lbl(&[("a", "b")]);
    let mut buf = Vec::new();
    assert_eq!(
        xxh64::labels_hash(&l, &mut buf),
        xxhash_rust::xxh64::xxh64(b"a\xffb\xff", 0)
    );
}
