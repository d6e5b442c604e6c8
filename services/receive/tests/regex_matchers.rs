//! Large regex matchers on receive's StoreAPI (issue 20): a pattern over the size bounds is
//! `InvalidArgument` before it costs memory, and an allowed one is held once per request, not
//! once per tenant. A counting global allocator (`peak_alloc`) measures the peak heap of each request.

use std::sync::Arc;

use peak_alloc::PeakAlloc;
use strata_receive::head::HeadOptions;
use strata_receive::tenants::{MultiTsdb, TenantOptions};
use strata_storeapi::convert::pb_matcher;
use strata_storeapi::pb::thanos::{LabelMatcher, SeriesRequest, label_matcher};
use strata_storeapi::{RequestContext, Store, StoreError};
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::{MAX_REGEX_LEN, MatchType, Matcher};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// Peak heap growth (bytes above the heap at the start) while `f` runs.
async fn peak_growth<T>(f: impl Future<Output = T>) -> (T, usize) {
    let base = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let out = f.await;
    (out, ALLOC.peak_usage().saturating_sub(base))
}

const T0: i64 = 1_700_000_000_000;
const MB: usize = 1 << 20;

/// A receive with `n` tenants, one series each.
fn receive(dir: &std::path::Path, n: usize) -> Arc<MultiTsdb> {
    let db = Arc::new(
        MultiTsdb::open(TenantOptions {
            dir: dir.to_path_buf(),
            head: HeadOptions::default(),
            tenant_label: "tenant_id".to_string(),
            external_labels: Labels::from_pairs([("replica", "r1")]),
            max_series_per_tenant: 0,
        })
        .expect("open receive"),
    );
    let s = Labels::from_pairs([("__name__", "up"), ("job", "v1")]);
    for i in 0..n {
        db.append(&format!("t{i:04}"), &[(s.clone(), vec![(T0, 1.0)])])
            .expect("append");
    }
    db
}

async fn series(store: &dyn Store, matchers: Vec<LabelMatcher>) -> Result<(), StoreError> {
    let req = SeriesRequest {
        min_time: i64::MIN,
        max_time: i64::MAX,
        matchers,
        skip_chunks: true,
        ..Default::default()
    };
    store
        .series(&RequestContext::default(), req)
        .await
        .map(drop)
}

#[tokio::test]
async fn a_multi_megabyte_regex_is_invalid_argument_without_the_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let db = receive(tmp.path(), 3);
    let store = db.store();
    // 4 MB of alternatives: compiling it would take hundreds of MB before any size limit hits.
    let pattern: String = (0..400_000).map(|i| format!("v{i:07}|")).collect();
    let (res, peak) = peak_growth(series(
        store.as_ref(),
        vec![pb_matcher(label_matcher::Type::Re, "job", &pattern)],
    ))
    .await;
    match res {
        Err(StoreError::InvalidArgument(msg)) => {
            assert!(msg.len() < 1000, "a {}-byte message", msg.len())
        }
        other => panic!(
            "want InvalidArgument, got {:?}",
            other.map_err(|e| e.to_string().len())
        ),
    }
    assert!(peak < 16 * MB, "a rejected regex cost {} MB", peak / MB);
}

#[tokio::test]
async fn an_allowed_large_regex_is_held_once_not_once_per_tenant() {
    const TENANTS: usize = 300;
    let tmp = tempfile::tempdir().unwrap();
    let db = receive(tmp.path(), TENANTS);
    let store = db.store();
    // ~100 KB of literal alternatives (a set matcher), within every bound.
    let pattern: String = (0..12_000)
        .map(|i| format!("v{i:07}"))
        .collect::<Vec<_>>()
        .join("|");
    assert!(pattern.len() < MAX_REGEX_LEN);
    let (m, compile_peak) =
        peak_growth(async { Matcher::new(MatchType::Regex, "job", pattern.as_str()).unwrap() })
            .await;
    drop(m);
    let (res, peak) = peak_growth(series(
        store.as_ref(),
        vec![pb_matcher(label_matcher::Type::Re, "job", &pattern)],
    ))
    .await;
    res.unwrap();
    eprintln!(
        "compiling once: {} KB; series over {TENANTS} tenants: {} KB",
        compile_peak >> 10,
        peak >> 10
    );
    // Once per request: the compile itself plus per-tenant bookkeeping, never a copy per tenant.
    assert!(
        peak < compile_peak + 8 * MB,
        "series peak {} KB vs {} KB to compile the matcher once",
        peak >> 10,
        compile_peak >> 10
    );
}
