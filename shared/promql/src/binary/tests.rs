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

fn run(
    op: token::TokenId,
    m: Option<&BinModifier>,
    l: Data,
    r: Data,
    grid: &Grid,
) -> Result<Data, Error> {
    let mut ann = Annotations::default();
    binary(TokenType::new(op), m, l, r, grid, &mut ann)
}

/// The result as sorted (output labels, drop_name, points) for comparison.
type Flat = Vec<(String, bool, Vec<(i64, f64)>)>;

fn sorted(d: Data) -> Flat {
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
    assert!(r[0].1);
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

#[test]
fn filter_keeps_pending_name_drop() {
    // `abs(x) > y`: the filter keeps the left labels, and the left's pending name removal.
    let g = Grid::instant(0);
    let mut x = inst(&[("__name__", "x"), ("a", "1")], 5.0);
    x.drop_name = true;
    let y = inst(&[("__name__", "y"), ("a", "1")], 1.0);
    let out = sorted(
        run(
            token::T_GTR,
            None,
            vec_of(vec![x.clone()]),
            vec_of(vec![y.clone()]),
            &g,
        )
        .unwrap(),
    );
    assert_eq!(
        out,
        vec![("{__name__=\"x\", a=\"1\"}".into(), true, vec![(0, 5.0)])]
    );
    let out = sorted(run(token::T_GTR, None, vec_of(vec![y]), vec_of(vec![x]), &g).unwrap());
    assert!(out.is_empty());
}
