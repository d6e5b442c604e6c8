//! The label API acceptance cases (Thanos' `pkg/store/acceptance_test.go`): LabelNames and
//! LabelValues with and without matchers (series and external labels), time ranges, replica labels
//! and limits.

use super::group::{ALL, DAY, Group, Input, T0, samples};
use super::{Feature, REPLICA, Report, StoreFactory, eq, ls, neq, re};

pub(super) async fn label_apis<F: StoreFactory>(f: &F, r: &mut Report) {
    let input: Input = vec![
        (ls(&[("foo", "foovalue1")]), samples(T0, 4, 15_000, 1.0)),
        (ls(&[("foo", "foovalue2")]), samples(T0, 4, 15_000, 2.0)),
        (
            ls(&[("foo", "foovalue1"), ("bar", "barvalue1")]),
            samples(T0, 4, 15_000, 3.0),
        ),
    ];
    let mut g = Group::new(f, r, "label APIs", input).await;
    let before = (T0 - 2 * DAY, T0 - DAY);
    g.names("names", ALL, vec![], 0, &["bar", "foo", "region"])
        .await;
    g.names(
        r#"names bar="barvalue1""#,
        ALL,
        vec![eq("bar", "barvalue1")],
        0,
        &["bar", "foo", "region"],
    )
    .await;
    g.names(
        r#"names foo="foovalue2""#,
        ALL,
        vec![eq("foo", "foovalue2")],
        0,
        &["foo", "region"],
    )
    .await;
    g.names(
        r#"names bar="different""#,
        ALL,
        vec![eq("bar", "different")],
        0,
        &[],
    )
    .await;
    g.names(
        r#"names region="eu-west""#,
        ALL,
        vec![eq("region", "eu-west")],
        0,
        &["bar", "foo", "region"],
    )
    .await;
    g.names(
        r#"names region=~".*""#,
        ALL,
        vec![re("region", ".*")],
        0,
        &["bar", "foo", "region"],
    )
    .await;
    g.names(
        r#"names region="different""#,
        ALL,
        vec![eq("region", "different")],
        0,
        &[],
    )
    .await;
    g.values(
        "values foo",
        "foo",
        ALL,
        vec![],
        0,
        &["foovalue1", "foovalue2"],
    )
    .await;
    g.values("values bar", "bar", ALL, vec![], 0, &["barvalue1"])
        .await;
    g.values("values of a missing label", "nope", ALL, vec![], 0, &[])
        .await;
    g.values(
        r#"values foo bar="barvalue1""#,
        "foo",
        ALL,
        vec![eq("bar", "barvalue1")],
        0,
        &["foovalue1"],
    )
    .await;
    g.values(
        r#"values foo bar="different""#,
        "foo",
        ALL,
        vec![eq("bar", "different")],
        0,
        &[],
    )
    .await;
    g.values(
        r#"values foo bar!="barvalue1""#,
        "foo",
        ALL,
        vec![neq("bar", "barvalue1")],
        0,
        &["foovalue1", "foovalue2"],
    )
    .await;
    g.values(
        r#"values region __name__="nonexistent""#,
        "region",
        ALL,
        vec![eq("__name__", "nonexistent")],
        0,
        &[],
    )
    .await;
    g.values(
        r#"values region region="eu-east""#,
        "region",
        ALL,
        vec![eq("region", "eu-east")],
        0,
        &[],
    )
    .await;
    g.values(
        r#"values region foo="foovalue2""#,
        "region",
        ALL,
        vec![eq("foo", "foovalue2")],
        0,
        &["eu-west"],
    )
    .await;
    g.values(
        r#"values foo region="eu-west""#,
        "foo",
        ALL,
        vec![eq("region", "eu-west")],
        0,
        &["foovalue1", "foovalue2"],
    )
    .await;
    g.values(
        r#"values foo region="different""#,
        "foo",
        ALL,
        vec![eq("region", "different")],
        0,
        &[],
    )
    .await;
    g.values("values of the replica label", REPLICA, ALL, vec![], 0, &[])
        .await;
    if f.supports(Feature::LabelTimeRange) {
        g.names("names a day before the data", before, vec![], 0, &[])
            .await;
        g.values(
            "values foo a day before the data",
            "foo",
            before,
            vec![],
            0,
            &[],
        )
        .await;
        g.values(
            "values bar a day before the data",
            "bar",
            before,
            vec![],
            0,
            &[],
        )
        .await;
    }
    if f.supports(Feature::LabelLimit) {
        g.names("names limit 2", ALL, vec![], 2, &["bar", "foo"])
            .await;
        g.values("values foo limit 1", "foo", ALL, vec![], 1, &["foovalue1"])
            .await;
    }
}

pub(super) async fn label_apis_by_metric<F: StoreFactory>(f: &F, r: &mut Report) {
    let input: Input = vec![
        (
            ls(&[("__name__", "up"), ("pod", "pod-1")]),
            samples(T0, 3, 15_000, 1.0),
        ),
        (
            ls(&[("__name__", "up"), ("pod", "pod-2")]),
            samples(T0, 3, 15_000, 2.0),
        ),
        (
            ls(&[("__name__", "kube_pod_info"), ("pod", "pod-1")]),
            samples(T0, 3, 15_000, 3.0),
        ),
    ];
    let mut g = Group::new(f, r, "label APIs by metric", input).await;
    let kpi = || vec![eq("__name__", "kube_pod_info")];
    g.names("names", ALL, vec![], 0, &["__name__", "pod", "region"])
        .await;
    g.names(
        "names of kube_pod_info",
        ALL,
        kpi(),
        0,
        &["__name__", "pod", "region"],
    )
    .await;
    g.values("values pod", "pod", ALL, vec![], 0, &["pod-1", "pod-2"])
        .await;
    g.values(
        "values pod of kube_pod_info",
        "pod",
        ALL,
        kpi(),
        0,
        &["pod-1"],
    )
    .await;
    g.values(
        "values __name__",
        "__name__",
        ALL,
        vec![],
        0,
        &["kube_pod_info", "up"],
    )
    .await;
    g.values(
        r#"values pod __name__=~"up|kube_pod_info",pod!="pod-2""#,
        "pod",
        ALL,
        vec![re("__name__", "up|kube_pod_info"), neq("pod", "pod-2")],
        0,
        &["pod-1"],
    )
    .await;
    g.values(
        "values __name__ pod=pod-2",
        "__name__",
        ALL,
        vec![eq("pod", "pod-2")],
        0,
        &["up"],
    )
    .await;
}
