//! The Series acceptance cases (the server contract of Thanos' `pkg/store/storepb/rpc.proto`),
//! grouped by data set: matchers of all four types, empty results, errors, external labels,
//! skip_chunks, limits, time clipping.

use super::group::{ALL, DAY, Group, HOUR, Input, MIN, T0, out, samples};
use super::{Feature, Report, StoreFactory, eq, ls, neq, nre, re, series_req};
use crate::error::StoreError;
use crate::pb::thanos::LabelValuesRequest;
use crate::store::RequestContext;

pub(super) async fn run_all<F: StoreFactory>(f: &F, r: &mut Report) {
    empty_store(f, r).await;
    matching(f, r).await;
    external_labels(f, r).await;
    time_clipping(f, r).await;
    super::label_cases::label_apis(f, r).await;
    super::label_cases::label_apis_by_metric(f, r).await;
}

async fn empty_store<F: StoreFactory>(f: &F, r: &mut Report) {
    let mut g = Group::new(f, r, "empty store", Vec::new()).await;
    g.series_all("series n=1", vec![eq("n", "1")], &[]).await;
    g.series_all("series n=~.+", vec![re("n", ".+")], &[]).await;
    g.names("label names", ALL, vec![], 0, &[]).await;
    g.values("label values foo", "foo", ALL, vec![], 0, &[])
        .await;
    // External labels are visible to LabelValues even without series (as in Thanos' TSDB
    // store). A bucket store learns them from blocks, so it has none when it has no block.
    if f.supports(Feature::ExternalLabelValuesWithoutSeries) {
        g.values(
            "label values of an external label",
            "region",
            ALL,
            vec![],
            0,
            &["eu-west"],
        )
        .await;
    }
    let case = g.case("label values of the empty name");
    let req = LabelValuesRequest {
        start: ALL.0,
        end: ALL.1,
        ..Default::default()
    };
    match g.store.label_values(&RequestContext::default(), req).await {
        Err(StoreError::InvalidArgument(_)) => {}
        other => {
            g.r.fail(&case, format!("want InvalidArgument, got {other:?}"))
        }
    }
}

async fn matching<F: StoreFactory>(f: &F, r: &mut Report) {
    let input: Input = vec![
        (ls(&[("n", "1")]), samples(T0, 5, 15_000, 1.0)),
        (ls(&[("n", "1"), ("i", "a")]), samples(T0, 5, 15_000, 2.0)),
        (ls(&[("n", "1"), ("i", "b")]), samples(T0, 5, 15_000, 3.0)),
        (ls(&[("n", "2")]), samples(T0, 5, 15_000, 4.0)),
        (ls(&[("n", "2.5")]), samples(T0, 5, 15_000, 5.0)),
    ];
    let mut g = Group::new(f, r, "matching", input).await;
    let ia = out(&[("i", "a"), ("n", "1")]);
    let ib = out(&[("i", "b"), ("n", "1")]);
    let n1 = out(&[("n", "1")]);
    let n2 = out(&[("n", "2")]);
    let n25 = out(&[("n", "2.5")]);
    let all = [ia.clone(), ib.clone(), n1.clone(), n2.clone(), n25.clone()];

    g.series_all(
        r#"n="1""#,
        vec![eq("n", "1")],
        &[ia.clone(), ib.clone(), n1.clone()],
    )
    .await;
    g.series_all(
        r#"n="1",i="a""#,
        vec![eq("n", "1"), eq("i", "a")],
        std::slice::from_ref(&ia),
    )
    .await;
    g.series_all(
        r#"n="1",i="missing""#,
        vec![eq("n", "1"), eq("i", "missing")],
        &[],
    )
    .await;
    g.series_all(r#"missing="""#, vec![eq("missing", "")], &all)
        .await;
    g.series_all(r#"n!="1""#, vec![neq("n", "1")], &[n2.clone(), n25.clone()])
        .await;
    g.series_all(r#"i=~".+""#, vec![re("i", ".+")], &[ia.clone(), ib.clone()])
        .await;
    g.series_all(r#"i=~".*""#, vec![re("i", ".*")], &all).await;
    g.series_all(
        r#"i="""#,
        vec![eq("i", "")],
        &[n1.clone(), n2.clone(), n25.clone()],
    )
    .await;
    g.series_all(r#"i!="""#, vec![neq("i", "")], &[ia.clone(), ib.clone()])
        .await;
    g.series_all(r#"missing!="""#, vec![neq("missing", "")], &[])
        .await;
    g.series_all(
        r#"n="1",i!="a""#,
        vec![eq("n", "1"), neq("i", "a")],
        &[ib.clone(), n1.clone()],
    )
    .await;
    g.series_all(
        r#"n=~"^1$""#,
        vec![re("n", "^1$")],
        &[ia.clone(), ib.clone(), n1.clone()],
    )
    .await;
    g.series_all(
        r#"n="1",i=~"^a?$""#,
        vec![eq("n", "1"), re("i", "^a?$")],
        &[ia.clone(), n1.clone()],
    )
    .await;
    g.series_all(
        r#"i=~"^$""#,
        vec![re("i", "^$")],
        &[n1.clone(), n2.clone(), n25.clone()],
    )
    .await;
    g.series_all(
        r#"n="1",i=~"^.+$""#,
        vec![eq("n", "1"), re("i", "^.+$")],
        &[ia.clone(), ib.clone()],
    )
    .await;
    g.series_all(
        r#"n!~"^1$""#,
        vec![nre("n", "^1$")],
        &[n2.clone(), n25.clone()],
    )
    .await;
    g.series_all(
        r#"n!~"1|2.5""#,
        vec![nre("n", "1|2.5")],
        std::slice::from_ref(&n2),
    )
    .await;
    g.series_all(
        r#"n!~"(1|2.5)""#,
        vec![nre("n", "(1|2.5)")],
        std::slice::from_ref(&n2),
    )
    .await;
    g.series_all(
        r#"n="1",i!~"^a?$""#,
        vec![eq("n", "1"), nre("i", "^a?$")],
        std::slice::from_ref(&ib),
    )
    .await;
    g.series_all(
        r#"n="1",i!~"^.*$""#,
        vec![eq("n", "1"), nre("i", "^.*$")],
        &[],
    )
    .await;
    g.series_all(
        r#"n="1",i!~"^.+$""#,
        vec![eq("n", "1"), nre("i", "^.+$")],
        std::slice::from_ref(&n1),
    )
    .await;
    g.series_all(
        r#"n="1",i!="b",i=~"^(b|a).*$""#,
        vec![eq("n", "1"), neq("i", "b"), re("i", "^(b|a).*$")],
        std::slice::from_ref(&ia),
    )
    .await;
    g.series_all(
        r#"n=~"(1|2)""#,
        vec![re("n", "(1|2)")],
        &[ia.clone(), ib.clone(), n1.clone(), n2.clone()],
    )
    .await;
    g.series_all(
        r#"i=~"a|b""#,
        vec![re("i", "a|b")],
        &[ia.clone(), ib.clone()],
    )
    .await;
    g.series_all(
        r#"n=~"x1|2""#,
        vec![re("n", "x1|2")],
        std::slice::from_ref(&n2),
    )
    .await;
    g.series_all(
        r#"n=~"2|2\.5""#,
        vec![re("n", r"2|2\.5")],
        &[n2.clone(), n25.clone()],
    )
    .await;
    g.series_all(
        r#"i=~"c||d""#,
        vec![re("i", "c||d")],
        &[n1.clone(), n2.clone(), n25.clone()],
    )
    .await;
    // Matchers on the external label.
    g.series_all(
        r#"region="eu-west",n="1""#,
        vec![eq("region", "eu-west"), eq("n", "1")],
        &[ia.clone(), ib.clone(), n1.clone()],
    )
    .await;
    g.series_all(
        r#"region=~"eu-.*",n="2""#,
        vec![re("region", "eu-.*"), eq("n", "2")],
        std::slice::from_ref(&n2),
    )
    .await;
    g.series_all(
        r#"region="us-east",n="1""#,
        vec![eq("region", "us-east"), eq("n", "1")],
        &[],
    )
    .await;
    g.series_all(
        r#"region!="eu-west",n=~".+""#,
        vec![neq("region", "eu-west"), re("n", ".+")],
        &[],
    )
    .await;
    // skip_chunks: labels only.
    let mut req = series_req(ALL.0, ALL.1, vec![eq("n", "1")]);
    req.skip_chunks = true;
    g.series("skip_chunks", req, &[ia.clone(), ib.clone(), n1.clone()])
        .await;
    // Errors.
    g.series_err("no matchers", series_req(ALL.0, ALL.1, vec![]))
        .await;
    g.series_err("bad regex", series_req(ALL.0, ALL.1, vec![re("i", "(")]))
        .await;
    // Limits.
    if f.supports(Feature::SeriesLimit) {
        let mut req = series_req(ALL.0, ALL.1, vec![eq("missing", "")]);
        req.limit = 2;
        g.series("limit 2", req, &[ia.clone(), ib.clone()]).await;
        let mut req = series_req(ALL.0, ALL.1, vec![eq("missing", "")]);
        req.limit = 4;
        req.skip_chunks = true;
        g.series("limit 4 skip_chunks", req, &all[..4]).await;
    }
}

async fn external_labels<F: StoreFactory>(f: &F, r: &mut Report) {
    let input: Input = vec![
        (
            ls(&[("foo", "bar"), ("region", "somewhere")]),
            samples(T0, 3, 30_000, 7.0),
        ),
        (ls(&[("foo", "baz")]), samples(T0, 3, 30_000, 8.0)),
    ];
    let mut g = Group::new(f, r, "external labels", input).await;
    let bar = out(&[("foo", "bar")]);
    let baz_series = out(&[("foo", "baz")]);
    g.series_all(
        "external label overrides the series label",
        vec![eq("foo", "bar")],
        std::slice::from_ref(&bar),
    )
    .await;
    let mut req = series_req(ALL.0, ALL.1, vec![eq("foo", "bar")]);
    req.skip_chunks = true;
    g.series("override with skip_chunks", req, std::slice::from_ref(&bar))
        .await;
    g.series_all(
        "added to every series",
        vec![re("foo", "ba.")],
        &[bar.clone(), baz_series.clone()],
    )
    .await;
    g.series_all(
        "matcher on the overridden series value",
        vec![re("foo", ".+"), eq("region", "somewhere")],
        &[],
    )
    .await;
    g.series_all(
        "external matcher =~",
        vec![re("foo", ".+"), re("region", "eu-.*")],
        &[bar.clone(), baz_series.clone()],
    )
    .await;
    g.series_all(
        "external matcher !=",
        vec![re("foo", ".+"), neq("region", "eu-west")],
        &[],
    )
    .await;
    g.names(
        r#"names foo="bar""#,
        ALL,
        vec![eq("foo", "bar")],
        0,
        &["foo", "region"],
    )
    .await;
    g.values(
        r#"values region foo="bar""#,
        "region",
        ALL,
        vec![eq("foo", "bar")],
        0,
        &["eu-west"],
    )
    .await;
}

async fn time_clipping<F: StoreFactory>(f: &F, r: &mut Report) {
    let long = samples(T0, 600, 15_000, 11.0); // T0 .. T0+149m45s, 5 chunks of 120
    let last_long = long.last().map_or(T0, |s| s.0);
    let input: Input = vec![
        (ls(&[("__name__", "metric"), ("s", "long")]), long),
        (
            ls(&[("__name__", "metric"), ("s", "early")]),
            samples(T0 - 10 * HOUR, 10, MIN, 12.0),
        ),
        (
            ls(&[("__name__", "metric"), ("s", "late")]),
            samples(T0 + 10 * HOUR, 10, MIN, 13.0),
        ),
    ];
    let mut g = Group::new(f, r, "time clipping", input).await;
    let m = || vec![eq("__name__", "metric")];
    let early = out(&[("__name__", "metric"), ("s", "early")]);
    let late = out(&[("__name__", "metric"), ("s", "late")]);
    let longl = out(&[("__name__", "metric"), ("s", "long")]);
    g.series_all(
        "all time",
        m(),
        &[early.clone(), late.clone(), longl.clone()],
    )
    .await;
    g.series(
        "inside long only",
        series_req(T0 + HOUR, T0 + HOUR + 30 * MIN, m()),
        std::slice::from_ref(&longl),
    )
    .await;
    g.series(
        "start of early",
        series_req(T0 - 10 * HOUR, T0 - 10 * HOUR + 5 * MIN, m()),
        std::slice::from_ref(&early),
    )
    .await;
    g.series(
        "inclusive end of late",
        series_req(T0 + 10 * HOUR + 9 * MIN, T0 + 20 * HOUR, m()),
        std::slice::from_ref(&late),
    )
    .await;
    g.series(
        "single point",
        series_req(last_long, last_long, m()),
        std::slice::from_ref(&longl),
    )
    .await;
    g.series(
        "gap between series",
        series_req(T0 - 5 * HOUR, T0 - HOUR, m()),
        &[],
    )
    .await;
    g.series(
        "after everything",
        series_req(T0 + 20 * HOUR, T0 + 30 * HOUR, m()),
        &[],
    )
    .await;
    g.series("before everything", series_req(0, T0 - DAY, m()), &[])
        .await;
}
