//! Tests of cache YAML parsing: Thanos examples, defaults, and clear errors.

use super::*;

fn parse(yaml: &str) -> CacheConfig {
    CacheConfig::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}\n=> {e}"))
}

fn parse_err(yaml: &str) -> String {
    match CacheConfig::from_yaml(yaml) {
        Ok(c) => panic!("expected an error for\n{yaml}\ngot {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn in_memory_frontend_example() {
    let c = parse(
        "type: IN-MEMORY\nconfig:\n  max_size: 250MB\n  max_size_items: 1000\n  validity: 12h\n",
    );
    assert_eq!(
        c.backend,
        BackendConfig::InMemory(InMemoryOptions {
            max_size: 250 << 20,
            max_size_items: 1000,
            max_item_size: 0,
            validity: Duration::from_secs(12 * 3600),
        })
    );
    assert_eq!(c.backend_name(), "in-memory");
    assert!(c.build().is_ok());
}

#[test]
fn in_memory_defaults_and_case() {
    let c = parse("type: in-memory\n");
    let BackendConfig::InMemory(o) = c.backend else {
        panic!("{c:?}")
    };
    assert_eq!(o.max_size, 250 << 20);
    let c = parse("type: IN-MEMORY\nconfig:\n  max_size: 0\n  max_item_size: 0\n  validity: 0s\n");
    assert!(c.build().is_ok());
    let c = parse(
        "type: IN-MEMORY\nconfig:\n  max_size: 1048576\n  max_item_size: 64KiB\n  single_flight: true\n",
    );
    let BackendConfig::InMemory(o) = c.backend else {
        panic!("{c:?}")
    };
    assert_eq!((o.max_size, o.max_item_size), (1 << 20, 64 << 10));
}

#[test]
fn index_cache_example() {
    let c = parse(
        "type: MEMCACHED\nconfig:\n  addresses: [\"127.0.0.1:11211\", \"mc-2:11211\"]\n  timeout: 100ms\n  max_idle_connections: 10\n  max_async_concurrency: 20\n  max_async_buffer_size: 10000\n  max_item_size: 2MiB\n  max_get_multi_concurrency: 50\n  max_get_multi_batch_size: 100\n  dns_provider_update_interval: 10s\nenabled_items: [Postings, Series]\nttl: 36h\n",
    );
    assert_eq!(
        c.backend,
        BackendConfig::Memcached(MemcachedOptions {
            addresses: vec!["127.0.0.1:11211".into(), "mc-2:11211".into()],
            timeout: Duration::from_millis(100),
            max_idle_connections: 10,
            max_item_size: 2 << 20,
            max_get_multi_batch_size: 100,
            max_get_multi_concurrency: 50,
            max_set_concurrency: 20,
            expiration: Duration::ZERO,
        })
    );
    assert_eq!(c.enabled_items, vec!["Postings", "Series"]);
    assert_eq!(c.ttl, Some(Duration::from_secs(36 * 3600)));
    assert!(c.item_enabled("Series"));
    assert!(!c.item_enabled("ExpandedPostings"));
    assert!(c.build().is_ok(), "building connects lazily");
}

#[test]
fn memcached_defaults_and_expiration() {
    let c =
        parse("type: memcached\nconfig:\n  addresses:\n    - localhost:11211\n  expiration: 0s\n");
    let BackendConfig::Memcached(o) = &c.backend else {
        panic!("{c:?}")
    };
    assert_eq!(o.timeout, Duration::from_millis(500));
    assert_eq!(o.max_item_size, 1 << 20);
    assert_eq!(o.max_idle_connections, 100);
    assert_eq!(o.expiration, Duration::ZERO);
    let c = parse("type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  expiration: 1h\n");
    let BackendConfig::Memcached(o) = &c.backend else {
        panic!("{c:?}")
    };
    assert_eq!(o.expiration, Duration::from_secs(3600));
    assert!(
        c.item_enabled("Postings"),
        "empty enabled_items enables all"
    );
}

#[test]
fn unknown_keys_are_named() {
    let e = parse_err("type: IN-MEMORY\nconfig:\n  max_sise: 1MB\n");
    assert!(e.contains("max_sise"), "{e}");
    let e = parse_err("type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  timeuot: 1s\n");
    assert!(e.contains("timeuot"), "{e}");
    let e = parse_err("type: IN-MEMORY\nconfg: {}\n");
    assert!(e.contains("confg"), "{e}");
}

#[test]
fn redis_is_not_supported_yet() {
    let e = parse_err("type: REDIS\nconfig:\n  addr: localhost:6379\n");
    assert!(e.contains("REDIS is not supported yet"), "{e}");
    assert!(matches!(
        CacheConfig::from_yaml("type: redis\n"),
        Err(Error::Unsupported(t)) if t == "REDIS"
    ));
}

#[test]
fn bad_values_are_errors() {
    for (yaml, needle) in [
        ("", "empty document"),
        ("config: {}\n", "missing required key `type`"),
        ("type: FOO\n", "unknown type \"FOO\""),
        (
            "type: IN-MEMORY\nconfig:\n  max_size: 12XB\n",
            "unknown unit",
        ),
        (
            "type: IN-MEMORY\nconfig:\n  validity: 10\n",
            "a unit is required",
        ),
        (
            "type: IN-MEMORY\nconfig:\n  max_size: 1KB\n  max_item_size: 1MB\n",
            "",
        ),
        ("type: MEMCACHED\nconfig: {}\n", "no memcached addresses"),
        ("type: MEMCACHED\n", "no memcached addresses"),
        (
            "type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  timeout: 0s\n",
            "timeout must be greater than 0",
        ),
        (
            "type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  auto_discovery: true\n",
            "auto_discovery is not supported",
        ),
        (
            "type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  max_idle_connections: -1\n",
            "line 4",
        ),
        (
            "type: IN-MEMORY\nenabled_items: [Postings, Chunks]\n",
            "unknown item \"Chunks\"",
        ),
        ("type: IN-MEMORY\nttl: forever\n", "invalid duration"),
        ("type: [IN-MEMORY\n", "cache config"),
    ] {
        match CacheConfig::from_yaml(yaml) {
            Ok(c) => {
                // Some errors appear only when building (limits checked against each other).
                let e = c.build().err().map(|e| e.to_string()).unwrap_or_default();
                assert!(
                    !e.is_empty() && e.contains(needle),
                    "{yaml:?}: expected error containing {needle:?}, got {e:?}"
                );
            }
            Err(e) => assert!(e.to_string().contains(needle), "{yaml:?}: {e}"),
        }
    }
}

#[test]
fn memcached_addresses_are_checked_when_building() {
    for (addr, needle) in [
        (
            "dnssrv+_memcached._tcp.mc",
            "service discovery (dnssrv+) is not supported yet",
        ),
        ("dns+mc:11211", "service discovery (dns+)"),
        ("no-port", "is not host:port"),
        ("host:notaport", "is not host:port"),
    ] {
        let c = parse(&format!(
            "type: MEMCACHED\nconfig:\n  addresses: [\"{addr}\"]\n"
        ));
        let e = c.build().unwrap_err().to_string();
        assert!(e.contains(needle), "{addr}: {e}");
    }
}

#[tokio::test]
async fn instrumented_build_counts_hits() {
    let metrics = CacheMetrics::new();
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let cache = CacheConfig::in_memory(1 << 20)
        .build_instrumented("index-cache", &metrics)
        .unwrap();
    cache
        .set_multi(
            vec![("k".into(), bytes::Bytes::from_static(b"v"))],
            Duration::ZERO,
        )
        .await;
    let got = cache
        .get_multi(&["k".to_string(), "missing".to_string()])
        .await;
    assert_eq!(got.len(), 1);
    let snap = metrics.snapshot("index-cache", "in-memory");
    assert_eq!((snap.requests, snap.hits, snap.items_set), (2, 1, 1));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("thanos_cache_hits_total{name=\"index-cache\",backend=\"in-memory\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("thanos_cache_requests_total{name=\"index-cache\",backend=\"in-memory\"} 2"),
        "{text}"
    );
}
