//! Tenancy enforcement across real processes: `strata receive` holding two tenants' series and
//! `strata query --query.enforce-tenancy` over its StoreAPI; each tenant (by the
//! `THANOS-TENANT` header) reads only its own series, and no header is the default tenant.
#![allow(clippy::unwrap_used)]

mod common;

use common::prometheus::url_encode;
use common::receive::{REMOTE_WRITE_HEADERS, Receiver, body, now_ms, pb_series};
use common::strata::start_query;
use strata_testkit::http;

#[test]
fn enforced_tenancy_confines_each_tenant_to_its_series() {
    let tmp = tempfile::tempdir().unwrap();
    let r = Receiver::start(
        &tmp.path().join("tsdb"),
        &tmp.path().join("receive.log"),
        &[],
    );
    let t = now_ms();
    for (tenant, v) in [(Some("team-a"), 1.0), (Some("team-b"), 2.0), (None, 3.0)] {
        let mut headers = REMOTE_WRITE_HEADERS.to_vec();
        headers.extend(tenant.map(|t| ("THANOS-TENANT", t)));
        let payload = body(vec![pb_series(&[("__name__", "e2e_up")], &[(t, v)])]);
        assert_eq!(r.write(&headers, &payload).unwrap().0, 200, "{tenant:?}");
    }
    let q = start_query(
        &[r.grpc.to_string()],
        &["--query.enforce-tenancy"],
        &tmp.path().join("query"),
    );
    let get = |tenant: Option<&str>, target: &str| {
        let headers: Vec<(&str, &str)> = tenant.map(|t| ("THANOS-TENANT", t)).into_iter().collect();
        let resp = http::blocking::send("GET", q.http, target, &headers, String::new()).unwrap();
        assert_eq!(resp.status, 200, "{target}: {}", resp.text());
        resp.text()
    };
    let at = (t as f64) / 1000.0;
    let query = format!(
        "/api/v1/query?time={at}&query={}",
        url_encode(r#"{__name__=~".+"}"#)
    );
    let values = "/api/v1/label/tenant_id/values";
    for (tenant, own, value) in [
        (Some("team-a"), "team-a", "1"),
        (Some("team-b"), "team-b", "2"),
        (None, "default-tenant", "3"),
    ] {
        let got = get(tenant, &query);
        assert!(
            got.contains(&format!(r#""tenant_id":"{own}"}},"value":["#))
                && got.contains(&format!(r#","{value}"]"#)),
            "{tenant:?}: {got}"
        );
        assert_eq!(got.matches("tenant_id").count(), 1, "{tenant:?}: {got}");
        let got = get(tenant, values);
        assert!(
            got.contains(&format!(r#""data":["{own}"]"#)),
            "{tenant:?}: {got}"
        );
    }
}
