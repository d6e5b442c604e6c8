//! Unit tests: value expansion, durations/times, series descriptors, command parsing.

use strata_promqltest::{
    Command, EvalKind, Expected, Feature, HistogramStep, MsgMatch, SeqValue, expand_offsets,
    expand_values, is_stale_nan, parse_duration, parse_script, parse_series_prefix, parse_time,
};

fn floats(s: &str) -> Vec<Option<f64>> {
    expand_values(s)
        .expect("expand")
        .into_iter()
        .map(|v| match v {
            SeqValue::Float(f) => Some(f),
            SeqValue::Omitted => None,
            SeqValue::Histogram(_) => panic!("unexpected histogram"),
        })
        .collect()
}

#[test]
fn expands_arithmetic_sequences() {
    assert_eq!(floats("1+2x3"), [1.0, 3.0, 5.0, 7.0].map(Some));
    assert_eq!(
        floats("1-1x5"),
        [1.0, 0.0, -1.0, -2.0, -3.0, -4.0].map(Some)
    );
    assert_eq!(floats("-1-1x2"), [-1.0, -2.0, -3.0].map(Some));
    assert_eq!(floats("5x2"), [5.0, 5.0, 5.0].map(Some));
    assert_eq!(
        floats("0x2"),
        [0.0, 0.0, 0.0].map(Some),
        "0x… is repetition, not hex"
    );
    assert_eq!(
        floats("0+10x1 100+30x1"),
        [0.0, 10.0, 100.0, 130.0].map(Some)
    );
    assert_eq!(floats("7x0"), [Some(7.0)]);
    assert_eq!(
        floats("1e3 -2.5e-1 1E+2 .5 9.9e+307"),
        [1e3, -0.25, 100.0, 0.5, 9.9e307].map(Some)
    );
    assert_eq!(floats("1e3+1e3x1"), [1e3, 2e3].map(Some));
}

#[test]
fn expands_gaps_specials_and_stale() {
    assert_eq!(floats("_x2"), [None, None]);
    assert_eq!(
        floats("1 _ 2 _x3 3"),
        [Some(1.0), None, Some(2.0), None, None, None, Some(3.0)]
    );
    let v = floats("Inf -Inf +Inf inf NaN");
    assert_eq!(
        v[..4],
        [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::INFINITY
        ]
        .map(Some)
    );
    assert!(v[4].is_some_and(f64::is_nan) && !v[4].is_some_and(is_stale_nan));
    let s = floats("1 stale 2");
    assert!(s[1].is_some_and(is_stale_nan));
    assert!(expand_values("1+2").is_err());
    assert!(expand_values("abc").is_err());
    assert!(expand_values("1x").is_err());
}

#[test]
fn histograms_are_marked_not_expanded() {
    let v =
        expand_values("1 {{schema:0 sum:5 count:4 buckets:[1 2 1]}} {{sum:1}}x2").expect("hist");
    assert_eq!(v.len(), 5);
    assert_eq!(v[0], SeqValue::Float(1.0));
    let SeqValue::Histogram(h) = &v[1] else {
        panic!("histogram expected")
    };
    assert_eq!(h.literal, "schema:0 sum:5 count:4 buckets:[1 2 1]");
    assert!(matches!(&v[4], SeqValue::Histogram(h) if h.literal == "sum:1"));
    let v = expand_values("{{sum:2 count:2}}+{{sum:3 count:3}}x2").expect("step");
    assert_eq!(v.len(), 3);
    let SeqValue::Histogram(h) = &v[2] else {
        panic!("histogram expected")
    };
    assert_eq!(
        h.step,
        Some(HistogramStep {
            negative: false,
            delta: "sum:3 count:3".into(),
            times: 2
        })
    );
    assert!(expand_values("{{sum:1").is_err());
}

#[test]
fn start_timestamp_offsets() {
    let v = expand_offsets("_ _ -30s-1mx2 0 +1m -0msx1").expect("offsets");
    assert_eq!(
        v,
        [
            None,
            None,
            Some(-30_000),
            Some(-90_000),
            Some(-150_000),
            Some(0),
            Some(60_000),
            Some(0),
            Some(0)
        ]
    );
}

#[test]
fn durations_and_times() {
    assert_eq!(parse_duration("5m"), Ok(300_000));
    assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
    assert_eq!(parse_duration("10s53ms"), Ok(10_053));
    assert_eq!(parse_duration("1d"), Ok(86_400_000));
    assert!(parse_duration("1w1y").is_err(), "units must descend");
    assert_eq!(parse_duration("0"), Ok(0));
    assert!(
        parse_duration("5").is_err()
            && parse_duration("").is_err()
            && parse_duration("5x").is_err()
    );
    assert_eq!(parse_time("100"), Ok(100_000));
    assert_eq!(parse_time("1.5"), Ok(1_500));
    assert_eq!(parse_time("0h"), Ok(0));
    assert_eq!(parse_time("20s500ms"), Ok(20_500));
    assert_eq!(parse_time("-1m"), Ok(-60_000));
    assert!(parse_time("soon").is_err());
}

#[test]
fn series_descriptors() {
    let (l, rest) =
        parse_series_prefix(r#"http{job="api", instance="0"}	0+10x10"#).expect("series");
    let want: Vec<(String, String)> = [("__name__", "http"), ("instance", "0"), ("job", "api")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(l, want);
    assert_eq!(rest.trim(), "0+10x10");
    let (l, _) = parse_series_prefix(r#"{__name__="m", a="x\"y\n", b=""} 1"#).expect("escapes");
    assert_eq!(l[1], ("a".to_string(), "x\"y\n".to_string()));
    assert_eq!(l.len(), 2, "empty label values are dropped");
    let (l, rest) = parse_series_prefix(r#"{"my.metric", "a.b"="c"}@st 1"#).expect("utf8 names");
    assert_eq!(l[0], ("__name__".to_string(), "my.metric".to_string()));
    assert!(rest.starts_with("@st"));
    assert!(parse_series_prefix(r#"m{a=~"x"} 1"#).is_err());
    assert!(parse_series_prefix(r#"m{a="x", a="y"} 1"#).is_err());
    assert!(parse_series_prefix(r#"m{a="x" 1"#).is_err());
}

const SCRIPT: &str = r#"
# comment
load 5m
  m{a="1"} 0+1x2
  h {{schema:0 sum:1 count:1}}x1

clear
load_with_nhcb 1m
  x_bucket{le="1"} 1
  x_bucket{le="+Inf"} 2

eval instant at 10m m
  m{a="1"} 2

eval range from 0 to 10m step 5m m
  expect warn msg: PromQL warning: something
  expect no_info
  m{a="1"} 0 _ 2

eval instant at 0 1
  1

eval instant at 0 "s"
  expect string `s`

eval instant at 1m x[1m]
  expect range vector from 10s to 1m step 10s
  x_bucket{le="1"} 1 1

eval_fail instant at 0 foo(
  expected_fail_regexp unexpected.*

eval instant at 0 bar
  expect fail msg:   exact text

eval instant at 0 x
  expect ordered
  # a comment ends the block: the result must be empty
"#;

#[test]
fn parses_commands_and_expectations() {
    let script = parse_script(SCRIPT).expect("parse");
    let cmds = &script.commands;
    assert!(
        matches!(&cmds[0], Command::Load(l) if l.line == 3 && l.interval_ms == 300_000 && l.series.len() == 2)
    );
    assert!(matches!(&cmds[1], Command::Clear { line: 7 }));
    assert!(matches!(&cmds[2], Command::Load(l) if l.with_nhcb && l.series[1].line == 10));
    let evals: Vec<_> = cmds
        .iter()
        .filter_map(|c| {
            if let Command::Eval(e) = c {
                Some(e)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(evals.len(), 8);
    assert_eq!(evals[0].line, 12);
    assert_eq!(evals[0].kind, EvalKind::Instant { at_ms: 600_000 });
    let Expected::Series(s) = &evals[0].expected else {
        panic!("series")
    };
    assert_eq!(s[0].values, [SeqValue::Float(2.0)]);
    assert_eq!(
        evals[1].kind,
        EvalKind::Range {
            start_ms: 0,
            end_ms: 600_000,
            step_ms: 300_000
        }
    );
    assert_eq!(
        evals[1].warn.expected,
        [MsgMatch::Exact("PromQL warning: something".into())]
    );
    assert!(evals[1].info.forbidden);
    let Expected::Series(s) = &evals[1].expected else {
        panic!("series")
    };
    assert_eq!(s[0].values[1], SeqValue::Omitted);
    assert_eq!(evals[2].expected, Expected::Scalar(1.0));
    assert_eq!(evals[3].expected, Expected::String("s".into()));
    assert_eq!(evals[4].range_vector, Some((10_000, 60_000, 10_000)));
    assert_eq!(evals[5].fail, Some(MsgMatch::Regex("unexpected.*".into())));
    assert_eq!(evals[6].fail, Some(MsgMatch::Exact("exact text".into())));
    assert!(evals[7].ordered);
    assert_eq!(evals[7].expected, Expected::Series(vec![]));
}

#[test]
fn comment_terminates_block() {
    let err = parse_script("load 1m\n  a 1\n# c\n  b 2\n").expect_err("b is not a command");
    assert_eq!(err.line, 4);
    assert!(err.to_string().starts_with("line 4:"));
}

#[test]
fn parse_errors_carry_lines() {
    for (text, line) in [
        ("load 1m\n  a 1+\n", 2),
        ("eval instant at 0 x\n  a 1 2\n", 2),
        ("eval instant at xyz x\n", 1),
        ("eval range from 0 to 1m step 0 x\n", 1),
        ("\nfrobnicate\n", 2),
        ("eval instant at 0 x\n  expect fail\n  expect fail\n", 3),
        ("eval range from 0 to 1m step 1m x\n  expect ordered\n", 1),
        ("eval instant at 0 x\n  expect bogus\n", 2),
    ] {
        let e = parse_script(text).expect_err(text);
        assert_eq!(e.line, line, "{text:?}: {e}");
    }
}

fn needs_of(text: &str) -> Vec<Vec<Feature>> {
    parse_script(text)
        .expect("parse")
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Eval(e) => Some(e.needs.iter().map(|n| n.feature.clone()).collect()),
            _ => None,
        })
        .collect()
}

#[test]
fn classification() {
    let text = r#"
load 1m
  f{a="1"} 1
  f{a="2"} {{sum:1}}
  g 1

load_with_nhcb 1m
  c_bucket{le="1"} 1
  c_count 1


eval instant at 0 f{a="1"}

eval instant at 0 f

eval instant at 0 sum by (f) (g)

eval instant at 0 {__name__=~"f|g", a!="1"}

eval instant at 0 rate(c_bucket[5m])

eval instant at 0 histogram_count(c)

eval instant at 0 mad_over_time(g[5m]) + limitk by (a) (1, g)

eval instant at 0 g[5m+1m] * g offset (1m) + g[step()]

eval instant at 0 g @ start() + g @ end()

eval instant at 0 g + end()

eval instant at 0 rate(g[5m] anchored) + g / fill(0) g

eval instant at 0 g </ g

eval instant at 0 {__type__="counter"}

eval instant at 0 g
  {} {{sum:1}}

clear


eval instant at 0 f
"#;
    let n = needs_of(text);
    let h = [Feature::NativeHistograms];
    assert_eq!(n[0], []);
    assert_eq!(n[1], h);
    assert_eq!(n[2], [], "grouping labels are not selectors");
    assert_eq!(n[3], h);
    assert_eq!(n[4], []);
    assert_eq!(n[5], h, "NHCB base name");
    assert_eq!(
        n[6],
        [
            Feature::ExperimentalFunction("mad_over_time".into()),
            Feature::ExperimentalFunction("limitk".into())
        ]
    );
    assert!(n[7].iter().all(|f| *f == Feature::DurationExpressions) && !n[7].is_empty());
    assert_eq!(n[8], [], "@ start()/@ end() are stable");
    assert_eq!(n[9], [Feature::DurationExpressions]);
    assert_eq!(
        n[10],
        [Feature::ExtendedRangeSelectors, Feature::FillModifiers]
    );
    assert_eq!(n[11], h);
    assert_eq!(n[12], [Feature::TypeAndUnitLabels]);
    assert_eq!(n[13], h, "expected histogram");
    assert_eq!(n[14], [], "cleared");
}
