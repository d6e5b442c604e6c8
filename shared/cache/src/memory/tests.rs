//! Tests of the in-memory cache: bounds by bytes and items, max item size, TTL.

use super::*;

fn opts(max_size: u64, max_item_size: u64) -> InMemoryOptions {
    InMemoryOptions {
        max_size,
        max_item_size,
        ..InMemoryOptions::default()
    }
}

fn keys(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("key-{i:04}")).collect()
}

#[tokio::test]
async fn get_set_round_trip() {
    let c = InMemoryCache::new(InMemoryOptions::default()).unwrap();
    c.set_multi(
        vec![
            ("a".into(), Bytes::from_static(b"1")),
            ("b".into(), Bytes::from_static(b"22")),
        ],
        Duration::from_secs(60),
    )
    .await;
    let got = c
        .get_multi(&["a".to_string(), "b".to_string(), "c".to_string()])
        .await;
    assert_eq!(got.len(), 2);
    assert_eq!(got["a"], Bytes::from_static(b"1"));
    assert_eq!(got["b"], Bytes::from_static(b"22"));
    assert_eq!(c.weight(), 1 + 1 + 1 + 2);
    assert_eq!(c.name(), "in-memory");
}

#[tokio::test]
async fn eviction_keeps_total_bytes_bounded() {
    // 10 KiB cache, items of 8 + 1000 bytes: at most 10 fit.
    let c = InMemoryCache::new(opts(10 * 1024, 2048)).unwrap();
    let all = keys(0..100);
    for k in &all {
        c.set_multi(
            vec![(k.clone(), Bytes::from(vec![7u8; 1000]))],
            Duration::ZERO,
        )
        .await;
        assert!(
            c.weight() <= 10 * 1024,
            "weight {} over capacity",
            c.weight()
        );
    }
    let got = c.get_multi(&all).await;
    assert!(!got.is_empty(), "recent items survive");
    assert!(got.len() <= 10, "{} items kept", got.len());
    assert!(got.values().all(|v| v.len() == 1000));
    // The most recently written item is resident.
    assert!(got.contains_key("key-0099"));
}

#[tokio::test]
async fn max_size_items_bounds_item_count() {
    let c = InMemoryCache::new(InMemoryOptions {
        max_size: 1 << 20,
        max_size_items: 5,
        ..InMemoryOptions::default()
    })
    .unwrap();
    let all = keys(0..50);
    let items = all
        .iter()
        .map(|k| (k.clone(), Bytes::from_static(b"x")))
        .collect();
    c.set_multi(items, Duration::ZERO).await;
    assert!(c.len() <= 5, "{} items", c.len());
    assert!(!c.get_multi(&all).await.is_empty());
}

#[tokio::test]
async fn items_over_max_item_size_are_skipped() {
    let metrics = ScopedMetrics::detached();
    let c = InMemoryCache::with_metrics(opts(1 << 20, 100), metrics.clone()).unwrap();
    c.set_multi(
        vec![
            ("big".into(), Bytes::from(vec![0u8; 200])),
            ("small".into(), Bytes::from(vec![0u8; 50])),
        ],
        Duration::ZERO,
    )
    .await;
    let got = c.get_multi(&["big".to_string(), "small".to_string()]).await;
    assert_eq!(got.keys().collect::<Vec<_>>(), vec!["small"]);
    assert_eq!(metrics.snapshot().items_skipped, 1);
}

#[tokio::test]
async fn expired_items_are_misses() {
    let c = InMemoryCache::new(InMemoryOptions::default()).unwrap();
    c.set_multi(
        vec![("short".into(), Bytes::from_static(b"v"))],
        Duration::from_millis(50),
    )
    .await;
    c.set_multi(
        vec![("long".into(), Bytes::from_static(b"v"))],
        Duration::from_secs(60),
    )
    .await;
    let both = vec!["short".to_string(), "long".to_string()];
    assert_eq!(c.get_multi(&both).await.len(), 2);
    tokio::time::sleep(Duration::from_millis(80)).await;
    let got = c.get_multi(&both).await;
    assert_eq!(got.keys().collect::<Vec<_>>(), vec!["long"]);
    assert_eq!(c.len(), 1, "expired item removed on access");
}

#[tokio::test]
async fn validity_caps_ttl() {
    let c = InMemoryCache::new(InMemoryOptions {
        validity: Duration::from_millis(40),
        ..InMemoryOptions::default()
    })
    .unwrap();
    c.set_multi(
        vec![("k".into(), Bytes::from_static(b"v"))],
        Duration::from_secs(3600),
    )
    .await;
    c.set_multi(vec![("z".into(), Bytes::from_static(b"v"))], Duration::ZERO)
        .await;
    assert_eq!(
        c.get_multi(&["k".to_string(), "z".to_string()]).await.len(),
        2
    );
    tokio::time::sleep(Duration::from_millis(70)).await;
    assert!(
        c.get_multi(&["k".to_string(), "z".to_string()])
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn overwrite_replaces_value() {
    let c = InMemoryCache::new(InMemoryOptions::default()).unwrap();
    c.set_multi(
        vec![("k".into(), Bytes::from_static(b"old"))],
        Duration::ZERO,
    )
    .await;
    c.set_multi(
        vec![("k".into(), Bytes::from_static(b"new!"))],
        Duration::ZERO,
    )
    .await;
    assert_eq!(
        c.get_multi(&["k".to_string()]).await["k"],
        Bytes::from_static(b"new!")
    );
    assert_eq!(c.weight(), 1 + 4);
}

#[test]
fn max_item_size_above_max_size_is_an_error() {
    let err = InMemoryCache::new(opts(100, 200)).unwrap_err();
    assert!(
        err.to_string()
            .contains("max_item_size (200) cannot be bigger than max_size (100)"),
        "{err}"
    );
}

#[tokio::test]
async fn large_item_fits_when_allowed() {
    // An item of nearly the whole capacity must not be refused by internal sharding.
    let c = InMemoryCache::new(opts(1 << 20, 900 << 10)).unwrap();
    c.set_multi(
        vec![("big".into(), Bytes::from(vec![1u8; 800 << 10]))],
        Duration::ZERO,
    )
    .await;
    assert_eq!(c.get_multi(&["big".to_string()]).await.len(), 1);
}
