//! Unit tests of the binary operators (cases modelled on operators.test / collision.test).

use promql_parser::label::Labels as PLabels;
use promql_parser::parser::token::{self, TokenType};
use promql_parser::parser::{
    BinModifier, LabelModifier, VectorMatchCardinality, VectorMatchFillValues,
};
use strata_tsdb::labels::Labels;

use super::binary;
use crate::error::Error;
use crate::value::{Annotations, Data, Grid, Point, Series};

fn lbl(s: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(s.iter().copied())
}

/// A series on a grid with values per step (`None` = absent).
fn ser(l: &[(&str, &str)], grid: &Grid, vals: &[Option<f64>]) -> Series {
    let points = vals
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| Point { t: grid.at(i), v }))
        .collect();
    Series::new(lbl(l), points)
}

fn inst(l: &[(&str, &str)], v: f64) -> Series {
    ser(l, &Grid::instant(0), &[Some(v)])
}

fn modifier(
    card: VectorMatchCardinality,
    matching: Option<LabelModifier>,
    return_bool: bool,
) -> BinModifier {
    BinModifier {
        card,
        matching,
        return_bool,
        fill_values: VectorMatchFillValues::default(),
    }
}

fn on(names: &[&str]) -> Option<LabelModifier> {
    Some(LabelModifier::Include(PLabels::new(names.to_vec())))
}

fn ignoring(names: &[&str]) -> Option<LabelModifier> {
    Some(LabelModifier::Exclude(PLabels::new(names.to_vec())))
}

fn left(names: &[&str]) -> VectorMatchCardinality {
    VectorMatchCardinality::ManyToOne(PLabels::new(names.to_vec()))
}

fn right(names: &[&str]) -> VectorMatchCardinality {
    VectorMatchCardinality::OneToMany(PLabels::new(names.to_vec()))
}

fn run(op: token::TokenId, m: Option<&BinModifier>, l: Data, r: Data, grid: &Grid) -> Result<Data, Error> {
    let mut ann = Annotations::default();
    binary(TokenType::new(op), m, l, r, grid, &mut ann)
}

/// The result as sorted (output labels, drop_name, points) for comparison.
fn sorted(d: Data) -> Vec<(String, bool, Vec<(i64, f64)>)> {
    let Data::Vector(v) = d else {
        panic!("not a vector: {d:?}");
    };
    let mut out: Vec<_> = v
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.drop_name,
                s.points.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn vec_of(s: Vec<Series>) -> Data {
    Data::Vector(s)
}

#[test]
fn scalar_scalar() {
    let g = Grid::instant(0);
    let r = run(
        token::T_SUB,
        None,
        Data::Scalar(vec![2.0]),
        Data::Scalar(vec![3.0]),
        &g,
    );
    assert_eq!(r.unwrap(), Data::Scalar(vec![-1.0]));
    let m = modifier(VectorMatchCardinality::OneToOne, None, true);
    let r = run(
        token::T_EQLC,
        Some(&m),
        Data::Scalar(vec![1.0]),
        Data::Scalar(vec![1.0]),
        &g,
    );
    assert_eq!(r.unwrap(), Data::Scalar(vec![1.0]));
    let r = run(
        token::T_ATAN2,
        None,
        Data::Scalar(vec![10.0]),
        Data::Scalar(vec![20.0]),
        &g,
    );
    assert_eq!(r.unwrap(), Data::Scalar(vec![0.4636476090008061]));
    let r = run(
        token::T_MOD,
        None,
        Data::Scalar(vec![-7.0]),
        Data::Scalar(vec![3.0]),
        &g,
    );
    assert_eq!(r.unwrap(), Data::Scalar(vec![-1.0]));
}

#[test]
fn vector_scalar_filter_and_bool() {
    // left_floats 1 2 _ _ 3 against 3, range of 5 steps.
    let g = Grid {
        start: 0,
        end: 4,
        step: 1,
    };
    let lf = || {
        vec_of(vec![ser(
            &[("__name__", "left_floats")],
            &g,
            &[Some(1.0), Some(2.0), None, None, Some(3.0)],
        )])
    };
    let three = || Data::Scalar(vec![3.0; 5]);
    let r = sorted(run(token::T_LSS, None, three(), lf(), &g).unwrap());
    assert!(r.is_empty());
    let r = sorted(run(token::T_GTR, None, three(), lf(), &g).unwrap());
    assert_eq!(
        r,
        vec![(
            "{__name__=\"left_floats\"}".into(),
            false,
            vec![(0, 1.0), (1, 2.0)]
        )]
    );
    let m = modifier(VectorMatchCardinality::OneToOne, None, true);
    let r = sorted(run(token::T_EQLC, Some(&m), lf(), three(), &g).unwrap());
    assert_eq!(
        r,
        vec![(
            "{__name__=\"left_floats\"}".into(),
            true,
            vec![(0, 0.0), (1, 0.0), (4, 1.0)]
        )]
    );
    let r = sorted(run(token::T_MUL, None, lf(), Data::Scalar(vec![2.0; 5]), &g).unwrap());
    assert_eq!(r[0].1, true);
    assert_eq!(r[0].2, vec![(0, 2.0), (1, 4.0), (4, 6.0)]);
    // 2 - v
    let r = sorted(run(token::T_SUB, None, Data::Scalar(vec![2.0; 5]), lf(), &g).unwrap());
    assert_eq!(r[0].2, vec![(0, 1.0), (1, 0.0), (4, -1.0)]);
}

#[test]
fn one_to_one_range_with_gaps() {
    // left_floats 1 2 _ _ 3 stale 4 5 NaN Inf -Inf / right_floats 4 _ _ 5 3 7 -1 20 NaN Inf -Inf
    let g = Grid {
        start: 0,
        end: 10,
        step: 1,
    };
    let n = f64::NAN;
    let inf = f64::INFINITY;
    let l = || {
        vec_of(vec![ser(
            &[("__name__", "left_floats")],
            &g,
            &[
                Some(1.0),
                Some(2.0),
                None,
                None,
                Some(3.0),
                None,
                Some(4.0),
                Some(5.0),
                Some(n),
                Some(inf),
                Some(-inf),
            ],
        )])
    };
    let r = || {
        vec_of(vec![ser(
            &[("__name__", "right_floats")],
            &g,
            &[
                Some(4.0),
                None,
                None,
                Some(5.0),
                Some(3.0),
                Some(7.0),
                Some(-1.0),
                Some(20.0),
                Some(n),
                Some(inf),
                Some(-inf),
            ],
        )])
    };
    let out = sorted(run(token::T_EQLC, None, l(), r(), &g).unwrap());
    assert_eq!(
        out,
        vec![(
            "{__name__=\"left_floats\"}".into(),
            false,
            vec![(4, 3.0), (9, inf), (10, -inf)]
        )]
    );
    let m = modifier(VectorMatchCardinality::OneToOne, None, true);
    let out = sorted(run(token::T_GTE, Some(&m), l(), r(), &g).unwrap());
    assert_eq!(out[0].0, "{__name__=\"left_floats\"}");
    assert!(out[0].1);
    let vals: Vec<f64> = out[0].2.iter().map(|p| p.1).collect();
    assert_eq!(vals, vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
    let out = sorted(run(token::T_ADD, None, l(), r(), &g).unwrap());
    assert_eq!(out[0].0, "{}");
    assert_eq!(out[0].2.len(), 7);
}

#[test]
fn on_ignoring_and_name_handling() {
    let g = Grid::instant(0);
    let canary = || {
        vec_of(vec![
            inst(
                &[
                    ("__name__", "h"),
                    ("group", "canary"),
                    ("instance", "0"),
                    ("job", "api"),
                ],
                300.0,
            ),
            inst(
                &[
                    ("__name__", "h"),
                    ("group", "canary"),
                    ("instance", "1"),
                    ("job", "api"),
                ],
                400.0,
            ),
        ])
    };
    let prod = || {
        vec_of(vec![
            inst(
                &[
                    ("__name__", "h"),
                    ("group", "production"),
                    ("instance", "0"),
                    ("job", "api"),
                ],
                100.0,
            ),
            inst(
                &[
                    ("__name__", "h"),
                    ("group", "production"),
                    ("instance", "1"),
                    ("job", "api"),
                ],
                200.0,
            ),
        ])
    };
    let m = modifier(
        VectorMatchCardinality::OneToOne,
        on(&["instance", "job"]),
        false,
    );
    let out = sorted(run(token::T_DIV, Some(&m), canary(), prod(), &g).unwrap());
    assert_eq!(
        out,
        vec![
            (
                "{instance=\"0\", job=\"api\"}".into(),
                false,
                vec![(0, 3.0)]
            ),
            (
                "{instance=\"1\", job=\"api\"}".into(),
                false,
                vec![(0, 2.0)]
            ),
        ]
    );
    let m = modifier(
        VectorMatchCardinality::OneToOne,
        ignoring(&["group"]),
        false,
    );
    let out = sorted(run(token::T_GTR, Some(&m), canary(), prod(), &g).unwrap());
    assert_eq!(out[0].0, "{__name__=\"h\", instance=\"0\", job=\"api\"}");
    assert!(!out[0].1);
    // No matching at all: empty.
    let out = sorted(run(token::T_ADD, None, canary(), prod(), &g).unwrap());
    assert!(out.is_empty());
}

#[test]
fn group_left_right() {
    let g = Grid::instant(0);
    let node_var = || {
        vec_of(vec![inst(
            &[
                ("__name__", "node_var"),
                ("instance", "abc"),
                ("job", "node"),
            ],
            2.0,
        )])
    };
    let node_role = || {
        vec_of(vec![inst(
            &[
                ("__name__", "node_role"),
                ("instance", "abc"),
                ("job", "node"),
                ("role", "prometheus"),
            ],
            1.0,
        )])
    };
    let m = modifier(right(&["role"]), on(&["instance"]), false);
    let out = sorted(run(token::T_MUL, Some(&m), node_role(), node_var(), &g).unwrap());
    assert_eq!(
        out,
        vec![(
            "{instance=\"abc\", job=\"node\", role=\"prometheus\"}".into(),
            false,
            vec![(0, 2.0)]
        )]
    );
    let m = modifier(left(&["role"]), ignoring(&["role"]), false);
    let out = sorted(run(token::T_MUL, Some(&m), node_var(), node_role(), &g).unwrap());
    assert_eq!(
        out[0].0,
        "{instance=\"abc\", job=\"node\", role=\"prometheus\"}"
    );

    // node_cpu > on(job, instance) group_left(target) threshold keeps the name.
    let cpu = || {
        vec_of(vec![
            inst(
                &[
                    ("__name__", "node_cpu"),
                    ("instance", "abc"),
                    ("job", "node"),
                    ("mode", "idle"),
                ],
                3.0,
            ),
            inst(
                &[
                    ("__name__", "node_cpu"),
                    ("instance", "abc"),
                    ("job", "node"),
                    ("mode", "user"),
                ],
                1.0,
            ),
            inst(
                &[
                    ("__name__", "node_cpu"),
                    ("instance", "def"),
                    ("job", "node"),
                    ("mode", "idle"),
                ],
                8.0,
            ),
        ])
    };
    let thr = || {
        vec_of(vec![inst(
            &[
                ("__name__", "threshold"),
                ("instance", "abc"),
                ("job", "node"),
                ("target", "a@b.com"),
            ],
            0.0,
        )])
    };
    let m = modifier(left(&["target"]), on(&["job", "instance"]), false);
    let out = sorted(run(token::T_GTR, Some(&m), cpu(), thr(), &g).unwrap());
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].0,
        "{__name__=\"node_cpu\", instance=\"abc\", job=\"node\", mode=\"idle\", target=\"a@b.com\"}"
    );
    // group_right comparison keeps the left ("one") value, labels of the right.
    let m = modifier(right(&[]), on(&["job", "instance"]), false);
    let out = sorted(run(token::T_LSS, Some(&m), thr(), cpu(), &g).unwrap());
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].2, vec![(0, 0.0)]);
    assert!(out[0].0.starts_with("{__name__=\"node_cpu\""));
}

#[test]
fn matching_errors() {
    let g = Grid::instant(0);
    let many = || {
        vec_of(vec![
            inst(
                &[("__name__", "many_side"), ("job", "test"), ("label", "foo")],
                0.0,
            ),
            inst(
                &[("__name__", "many_side"), ("job", "test"), ("label", "bar")],
                1.0,
            ),
        ])
    };
    let one = || {
        vec_of(vec![inst(
            &[("__name__", "one_side"), ("job", "test")],
            1.0,
        )])
    };
    let m = modifier(VectorMatchCardinality::OneToOne, on(&["job"]), false);
    let e = run(token::T_GTR, Some(&m), many(), one(), &g).unwrap_err();
    assert_eq!(
        e,
        Error::Execution(
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into()
        )
    );
    let e = run(token::T_GTR, Some(&m), one(), many(), &g).unwrap_err();
    assert_eq!(
        e,
        Error::Execution(
            "found duplicate series for the match group {job=\"test\"} on the right hand-side of the operation: [{__name__=\"many_side\", job=\"test\", label=\"bar\"}, {__name__=\"many_side\", job=\"test\", label=\"foo\"}];many-to-many matching not allowed: matching labels must be unique on one side".into()
        )
    );
    let m = modifier(right(&[]), on(&["job"]), false);
    let e = run(token::T_ADD, Some(&m), many(), one(), &g).unwrap_err();
    assert!(matches!(e, Error::Execution(s) if s.contains("on the left hand-side")));
    // Grouping labels that do not make outputs unique (arithmetic drops the differing name).
    let m = modifier(left(&[]), on(&["job"]), false);
    let a = || {
        vec_of(vec![
            inst(&[("__name__", "a"), ("job", "test")], 1.0),
            inst(&[("__name__", "b"), ("job", "test")], 2.0),
        ])
    };
    let e = run(token::T_ADD, Some(&m), a(), one(), &g).unwrap_err();
    assert_eq!(
        e,
        Error::Execution(
            "multiple matches for labels: grouping labels must ensure unique matches".into()
        )
    );
    // ...but a filter keeps the names, so the outputs are distinct.
    let out = sorted(run(token::T_GTE, Some(&m), a(), one(), &g).unwrap());
    assert_eq!(out.len(), 2);
}

#[test]
fn per_step_matching() {
    // Two "one" series with the same signature at disjoint steps: no error; a series
    // renamed over time merges into one output series.
    let g = Grid {
        start: 0,
        end: 2,
        step: 1,
    };
    let l = vec_of(vec![ser(
        &[("__name__", "x"), ("a", "1")],
        &g,
        &[Some(1.0), Some(2.0), Some(3.0)],
    )]);
    let r = vec_of(vec![
        ser(
            &[("__name__", "old"), ("a", "1")],
            &g,
            &[Some(10.0), None, None],
        ),
        ser(
            &[("__name__", "new"), ("a", "1")],
            &g,
            &[None, Some(20.0), Some(30.0)],
        ),
    ]);
    let out = sorted(run(token::T_ADD, None, l, r, &g).unwrap());
    assert_eq!(
        out,
        vec![(
            "{a=\"1\"}".into(),
            false,
            vec![(0, 11.0), (1, 22.0), (2, 33.0)]
        )]
    );

    let l = vec_of(vec![
        ser(
            &[("__name__", "old"), ("a", "1")],
            &g,
            &[Some(1.0), None, None],
        ),
        ser(
            &[("__name__", "new"), ("a", "1")],
            &g,
            &[None, Some(2.0), Some(3.0)],
        ),
    ]);
    let r = vec_of(vec![ser(
        &[("__name__", "y"), ("a", "1")],
        &g,
        &[Some(10.0), Some(20.0), None],
    )]);
    let out = sorted(run(token::T_MUL, None, l, r, &g).unwrap());
    assert_eq!(
        out,
        vec![("{a=\"1\"}".into(), false, vec![(0, 10.0), (1, 40.0)])]
    );

    // Overlap at step 1 only: error.
    let l = vec_of(vec![ser(
        &[("__name__", "x"), ("a", "1")],
        &g,
        &[Some(1.0), Some(2.0), Some(3.0)],
    )]);
    let r = vec_of(vec![
        ser(
            &[("__name__", "old"), ("a", "1")],
            &g,
            &[Some(10.0), Some(1.0), None],
        ),
        ser(
            &[("__name__", "new"), ("a", "1")],
            &g,
            &[None, Some(20.0), Some(30.0)],
        ),
    ]);
    assert!(run(token::T_ADD, None, l, r, &g).is_err());
}

#[test]
fn set_operators() {
    let g = Grid {
        start: 0,
        end: 2,
        step: 1,
    };
    let l = || {
        vec_of(vec![
            ser(
                &[("__name__", "a"), ("x", "1")],
                &g,
                &[Some(1.0), Some(2.0), Some(3.0)],
            ),
            ser(
                &[("__name__", "a"), ("x", "2")],
                &g,
                &[Some(4.0), None, Some(6.0)],
            ),
        ])
    };
    let r = || {
        vec_of(vec![
            ser(
                &[("__name__", "b"), ("x", "1")],
                &g,
                &[None, Some(0.0), None],
            ),
            ser(
                &[("__name__", "c"), ("x", "1")],
                &g,
                &[None, None, Some(0.0)],
            ),
            ser(
                &[("__name__", "b"), ("x", "3")],
                &g,
                &[Some(9.0), Some(9.0), Some(9.0)],
            ),
        ])
    };
    let and = sorted(run(token::T_LAND, None, l(), r(), &g).unwrap());
    assert_eq!(
        and,
        vec![(
            "{__name__=\"a\", x=\"1\"}".into(),
            false,
            vec![(1, 2.0), (2, 3.0)]
        )]
    );
    let unless = sorted(run(token::T_LUNLESS, None, l(), r(), &g).unwrap());
    assert_eq!(
        unless,
        vec![
            ("{__name__=\"a\", x=\"1\"}".into(), false, vec![(0, 1.0)]),
            (
                "{__name__=\"a\", x=\"2\"}".into(),
                false,
                vec![(0, 4.0), (2, 6.0)]
            ),
        ]
    );
    let or = sorted(run(token::T_LOR, None, l(), r(), &g).unwrap());
    assert_eq!(or.len(), 3);
    assert_eq!(
        or[2],
        (
            "{__name__=\"b\", x=\"3\"}".into(),
            false,
            vec![(0, 9.0), (1, 9.0), (2, 9.0)]
        )
    );
    // or on(): the right side only where the left is empty.
    let m = modifier(VectorMatchCardinality::ManyToMany, on(&[]), false);
    let l2 = vec_of(vec![ser(
        &[("__name__", "a")],
        &g,
        &[Some(1.0), None, None],
    )]);
    let or = sorted(run(token::T_LOR, Some(&m), l2, r(), &g).unwrap());
    assert_eq!(or.len(), 4);
    assert_eq!(or[1].2, vec![(1, 0.0)]);
    // and on() with an empty right side.
    let m = modifier(VectorMatchCardinality::ManyToMany, on(&[]), false);
    let and = sorted(run(token::T_LAND, Some(&m), l(), vec_of(vec![]), &g).unwrap());
    assert!(and.is_empty());
}

#[test]
fn fill_modifiers() {
    let g = Grid::instant(0);
    let l = || {
        vec_of(vec![
            inst(&[("__name__", "l"), ("label", "a")], 10.0),
            inst(&[("__name__", "l"), ("label", "c")], 30.0),
        ])
    };
    let r = || {
        vec_of(vec![
            inst(&[("__name__", "r"), ("label", "a")], 100.0),
            inst(&[("__name__", "r"), ("label", "d")], 400.0),
        ])
    };
    let mut m = modifier(VectorMatchCardinality::OneToOne, None, false);
    m.fill_values = VectorMatchFillValues {
        lhs: Some(5.0),
        rhs: Some(7.0),
    };
    let out = sorted(run(token::T_ADD, Some(&m), l(), r(), &g).unwrap());
    assert_eq!(
        out,
        vec![
            ("{label=\"a\"}".into(), false, vec![(0, 110.0)]),
            ("{label=\"c\"}".into(), false, vec![(0, 37.0)]),
            ("{label=\"d\"}".into(), false, vec![(0, 405.0)]),
        ]
    );
    m.fill_values = VectorMatchFillValues {
        lhs: Some(30.0),
        rhs: Some(30.0),
    };
    let out = sorted(run(token::T_NEQ, Some(&m), l(), r(), &g).unwrap());
    assert_eq!(
        out,
        vec![
            (
                "{__name__=\"l\", label=\"a\"}".into(),
                false,
                vec![(0, 10.0)]
            ),
            ("{label=\"d\"}".into(), false, vec![(0, 30.0)]),
        ]
    );
}

/// Runs the operator-related corpus files through the whole engine (over a `MemStore`) and
/// prints the failures; the evaluator is developed in parallel, so this only asserts that the
/// files can be run.
mod corpus {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use strata_promqltest::{
        Annotations, Feature, LoadedSeries, RunOptions, SeqValue, TestEngine, Value, corpus_dir,
        run_file_with,
    };
    use strata_storeapi::{MemStore, Store};
    use strata_tsdb::labels::Labels;

    use crate::{Engine, EngineOptions, QueryValue, StoreQueryable};

    struct Harness {
        rt: tokio::runtime::Runtime,
        engine: Engine,
        data: BTreeMap<Labels, Vec<(i64, f64)>>,
        store: Option<Arc<dyn Store>>,
        last: Option<Annotations>,
        mismatches: Vec<String>,
    }

    fn pairs(l: &Labels) -> Vec<(String, String)> {
        l.iter().map(|l| (l.name.clone(), l.value.clone())).collect()
    }

    impl Harness {
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

        fn finish(&mut self, r: crate::Result<crate::QueryResult>) -> Result<Value, String> {
            let r = r.map_err(|e| e.to_string())?;
            self.last = Some(Annotations {
                warnings: r.annotations.warnings.clone(),
                infos: r.annotations.infos.clone(),
            });
            Ok(match r.value {
                QueryValue::Scalar(_, v) => Value::Scalar(v),
                QueryValue::String(_, s) => Value::String(s),
                QueryValue::Vector(v) => {
                    Value::Vector(v.iter().map(|s| (pairs(&s.labels), s.v)).collect())
                }
                QueryValue::Matrix(m) => Value::Matrix(
                    m.into_iter().map(|s| (pairs(&s.labels), s.points)).collect(),
                ),
            })
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
            let r = self.rt.block_on(self.engine.instant_query(&source, expr, t_ms));
            let res = self.finish(r);
            // Upstream's extra check: the same query as a range query around `t` must give
            // the instant result at `t`.
            if let Ok(Value::Vector(v)) = &res {
                let rr = self.rt.block_on(self.engine.range_query(
                    &source,
                    expr,
                    t_ms - 60_000,
                    t_ms + 60_000,
                    60_000,
                ));
                let mut at_t: Vec<(Vec<(String, String)>, f64)> = match rr {
                    Ok(r) => match r.value {
                        QueryValue::Matrix(m) => m
                            .into_iter()
                            .filter_map(|s| {
                                let p = s.points.iter().find(|p| p.0 == t_ms)?;
                                Some((pairs(&s.labels), p.1))
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                    Err(e) => {
                        self.mismatches.push(format!("{expr} @ {t_ms}: range error {e}"));
                        Vec::new()
                    }
                };
                let mut inst = v.clone();
                inst.sort_by(|a, b| a.0.cmp(&b.0));
                at_t.sort_by(|a, b| a.0.cmp(&b.0));
                let same = inst.len() == at_t.len()
                    && inst.iter().zip(&at_t).all(|(a, b)| {
                        a.0 == b.0
                            && (a.1 == b.1
                                || (a.1.is_nan() && b.1.is_nan())
                                || (a.1 - b.1).abs() <= 1e-9 * a.1.abs().max(b.1.abs()))
                    });
                if !same {
                    self.mismatches
                        .push(format!("{expr} @ {t_ms}: instant {inst:?} range {at_t:?}"));
                }
            }
            res
        }
        fn range(&mut self, expr: &str, s: i64, e: i64, step: i64) -> Result<Value, String> {
            let source = StoreQueryable::new(self.store());
            let r = self.rt.block_on(self.engine.range_query(&source, expr, s, e, step));
            self.finish(r)
        }
        fn last_annotations(&mut self) -> Option<Annotations> {
            self.last.clone()
        }
    }

    #[test]
    fn operator_corpus_files() {
        let Some(dir) = corpus_dir() else {
            return;
        };
        let files = std::env::var("BINARY_CORPUS")
            .unwrap_or_else(|_| "operators.test,collision.test,name_label_dropping.test,fill-modifier.test".into());
        for f in files.split(',') {
            let mut h = Harness {
                rt: tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
                engine: Engine::new(EngineOptions::default()),
                data: BTreeMap::new(),
                store: None,
                last: None,
                mismatches: Vec::new(),
            };
            let opts = RunOptions::default().enable(Feature::FillModifiers);
            let r = run_file_with(dir.join(f), &mut h, &opts);
            eprintln!(
                "{f}: passed {} failed {} skipped {} {:?}",
                r.passed,
                r.failed.len(),
                r.skipped.len(),
                r.error
            );
            for (line, expr, why) in &r.failed {
                eprintln!("  {f}:{line}: {expr}\n      {why}");
            }
            for m in &h.mismatches {
                eprintln!("  range/instant mismatch: {m}");
            }
            assert!(r.error.is_none());
        }
    }
}
