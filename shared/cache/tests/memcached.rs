//! MemcachedCache against a real memcached process (Debian `memcached`, installed by
//! `tests/run`): get/set, multi-get with batching, sharding over two servers, large items,
//! unsafe keys, TTL, a hung server (timeout), and a server killed and restarted mid-test.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_cache::{
    Cache, CacheConfig, CacheMetrics, MemcachedCache, MemcachedOptions, ScopedMetrics,
    memcached_key,
};

fn memcached_binary() -> PathBuf {
    let default = PathBuf::from("/usr/bin/memcached");
    if default.exists() {
        return default;
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("memcached"))
            .find(|p| p.exists())
    }) {
        return found;
    }
    panic!(
        "memcached not found (/usr/bin/memcached or on PATH): run tests/run, which installs the \
         Debian package `memcached`, or `apt-get install memcached`"
    );
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A memcached process, killed when dropped.
struct Memcached {
    child: Option<Child>,
    port: u16,
}

impl Memcached {
    fn start() -> Self {
        Self::start_on(free_port())
    }

    fn start_on(port: u16) -> Self {
        let child = Command::new(memcached_binary())
            .args([
                "-u",
                "root",
                "-l",
                "127.0.0.1",
                "-U",
                "0",
                "-m",
                "64",
                "-I",
                "1m",
            ])
            .arg("-p")
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn memcached");
        let mut server = Self {
            child: Some(child),
            port,
        };
        server.wait_ready();
        server
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn wait_ready(&mut self) {
        let addr: SocketAddr = self.addr().parse().expect("socket addr");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("memcached on port {} exited early: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "memcached on port {} not ready",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        self.kill();
    }
}

fn options(addresses: Vec<String>) -> MemcachedOptions {
    MemcachedOptions {
        addresses,
        timeout: Duration::from_millis(500),
        ..MemcachedOptions::default()
    }
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("strata_cache=debug")
        .with_test_writer()
        .try_init();
}

fn cache(server: &Memcached) -> (MemcachedCache, ScopedMetrics) {
    init_logs();
    let metrics = ScopedMetrics::detached();
    let c = MemcachedCache::with_metrics(options(vec![server.addr()]), metrics.clone())
        .expect("memcached cache");
    (c, metrics)
}

fn items(n: usize, prefix: &str) -> Vec<(String, Bytes)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}-{i}"),
                Bytes::from(format!("value-{i}").repeat(i + 1)),
            )
        })
        .collect()
}

fn keys_of(items: &[(String, Bytes)]) -> Vec<String> {
    items.iter().map(|(k, _)| k.clone()).collect()
}

/// Send one text-protocol command on a fresh connection and return the whole reply.
fn raw_command(server: &Memcached, command: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("read timeout");
    stream.write_all(command.as_bytes()).expect("write");
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !reply.ends_with(b"END\r\n") {
        let n = stream.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "connection closed: {}",
            String::from_utf8_lossy(&reply)
        );
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn get_set_and_multi_get() {
    let server = Memcached::start();
    let (c, metrics) = cache(&server);
    assert!(c.get_multi(&["nothing".to_string()]).await.is_empty());

    let stored = items(20, "k");
    c.set_multi(stored.clone(), HOUR).await;
    let mut wanted = keys_of(&stored);
    wanted.push("absent".to_string());
    wanted.push("k-3".to_string()); // duplicates are fine
    let got = c.get_multi(&wanted).await;
    assert_eq!(got.len(), 20);
    for (k, v) in &stored {
        assert_eq!(got.get(k), Some(v), "{k}");
    }

    c.set_multi(vec![("k-0".into(), Bytes::from_static(b"replaced"))], HOUR)
        .await;
    assert_eq!(
        c.get_multi(&["k-0".to_string()]).await["k-0"],
        Bytes::from_static(b"replaced")
    );
    // Empty values are values.
    c.set_multi(vec![("empty".into(), Bytes::new())], HOUR)
        .await;
    assert_eq!(
        c.get_multi(&["empty".to_string()]).await.get("empty"),
        Some(&Bytes::new())
    );
    let snap = metrics.snapshot();
    assert_eq!((snap.get_errors, snap.set_errors), (0, 0), "{snap:?}");
}

#[tokio::test]
async fn multi_get_is_batched() {
    let server = Memcached::start();
    let c = MemcachedCache::new(MemcachedOptions {
        max_get_multi_batch_size: 7,
        max_get_multi_concurrency: 2,
        ..options(vec![server.addr()])
    })
    .expect("cache");
    let stored = items(50, "batch");
    c.set_multi(stored.clone(), HOUR).await;
    let got = c.get_multi(&keys_of(&stored)).await;
    assert_eq!(got.len(), 50);
}

#[tokio::test]
async fn keys_are_sharded_across_servers() {
    let (a, b) = (Memcached::start(), Memcached::start());
    let both = MemcachedCache::new(options(vec![a.addr(), b.addr()])).expect("cache");
    let stored = items(100, "shard");
    let keys = keys_of(&stored);
    both.set_multi(stored, HOUR).await;
    assert_eq!(both.get_multi(&keys).await.len(), 100);

    let (only_a, _) = cache(&a);
    let (only_b, _) = cache(&b);
    let in_a = only_a.get_multi(&keys).await;
    let in_b = only_b.get_multi(&keys).await;
    assert!(
        !in_a.is_empty() && !in_b.is_empty(),
        "{} / {}",
        in_a.len(),
        in_b.len()
    );
    assert_eq!(
        in_a.len() + in_b.len(),
        100,
        "every key on exactly one server"
    );
    assert!(in_a.keys().all(|k| !in_b.contains_key(k)));
}

#[tokio::test]
async fn large_items_are_skipped_or_refused() {
    let server = Memcached::start();
    let (c, metrics) = cache(&server);
    let big = Bytes::from(vec![b'x'; 2 << 20]);
    c.set_multi(
        vec![
            ("big".into(), big.clone()),
            ("small".into(), Bytes::from_static(b"s")),
        ],
        HOUR,
    )
    .await;
    let got = c.get_multi(&["big".to_string(), "small".to_string()]).await;
    assert_eq!(got.keys().collect::<Vec<_>>(), vec!["small"]);
    assert_eq!(metrics.snapshot().items_skipped, 1);
    assert_eq!(metrics.snapshot().set_errors, 0, "skipped, never sent");

    // Without a client limit the server (-I 1m) refuses it: a dropped set, not a failure,
    // and the connection stays usable.
    let unlimited_metrics = ScopedMetrics::detached();
    let unlimited = MemcachedCache::with_metrics(
        MemcachedOptions {
            max_item_size: 0,
            max_idle_connections: 1,
            ..options(vec![server.addr()])
        },
        unlimited_metrics.clone(),
    )
    .expect("cache");
    unlimited
        .set_multi(
            vec![
                ("big2".into(), big),
                ("after".into(), Bytes::from_static(b"a")),
            ],
            HOUR,
        )
        .await;
    assert_eq!(unlimited_metrics.snapshot().set_errors, 1);
    let got = unlimited
        .get_multi(&["big2".to_string(), "after".to_string()])
        .await;
    assert_eq!(got.keys().collect::<Vec<_>>(), vec!["after"]);
    // Just under the server limit is stored.
    let near = Bytes::from(vec![b'y'; (1 << 20) - 1024]);
    unlimited
        .set_multi(vec![("near".into(), near.clone())], HOUR)
        .await;
    assert_eq!(
        unlimited.get_multi(&["near".to_string()]).await.get("near"),
        Some(&near)
    );
    assert_eq!(unlimited_metrics.snapshot().get_errors, 0);
}

#[tokio::test]
async fn unsafe_keys_are_hashed() {
    let server = Memcached::start();
    let (c, metrics) = cache(&server);
    let unsafe_keys = [
        "with space".to_string(),
        "with\r\nset injected 0 0 1".to_string(),
        "tab\tkey".to_string(),
        "ünïcödé".to_string(),
        "l".repeat(300),
        "l".repeat(301),
    ];
    let stored: Vec<(String, Bytes)> = unsafe_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), Bytes::from(format!("v{i}"))))
        .collect();
    c.set_multi(stored.clone(), HOUR).await;
    let got = c.get_multi(&unsafe_keys).await;
    assert_eq!(got.len(), unsafe_keys.len());
    for (k, v) in &stored {
        assert_eq!(got.get(k), Some(v), "{k:?}");
    }
    // Stored under the hashed key, which is itself a safe key: ask memcached directly.
    let hashed = memcached_key(&unsafe_keys[0]);
    assert!(hashed.len() <= 250 && hashed.bytes().all(|b| b.is_ascii_graphic()));
    let raw = raw_command(&server, &format!("get {hashed}\r\n"));
    assert_eq!(raw, format!("VALUE {hashed} 0 2\r\nv0\r\nEND\r\n"));
    // Nothing was injected.
    assert!(c.get_multi(&["injected".to_string()]).await.is_empty());
    assert_eq!(metrics.snapshot().set_errors, 0);
}

#[tokio::test]
async fn ttl_is_honoured() {
    let server = Memcached::start();
    let (c, _) = cache(&server);
    c.set_multi(
        vec![("short".into(), Bytes::from_static(b"s"))],
        Duration::from_millis(300),
    )
    .await;
    c.set_multi(vec![("long".into(), Bytes::from_static(b"l"))], HOUR)
        .await;
    let both = vec!["short".to_string(), "long".to_string()];
    assert_eq!(c.get_multi(&both).await.len(), 2);
    // memcached counts whole seconds (a 300ms TTL becomes 1s).
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let got = c.get_multi(&both).await;
    assert_eq!(got.keys().collect::<Vec<_>>(), vec!["long"]);
}

#[tokio::test]
async fn killed_server_means_misses_and_restart_recovers() {
    let mut server = Memcached::start();
    let port = server.port;
    let (c, metrics) = cache(&server);
    let stored = items(10, "restart");
    let keys = keys_of(&stored);
    c.set_multi(stored.clone(), HOUR).await;
    assert_eq!(c.get_multi(&keys).await.len(), 10);

    server.kill();
    let start = Instant::now();
    assert!(c.get_multi(&keys).await.is_empty(), "errors become misses");
    c.set_multi(stored.clone(), HOUR).await; // dropped, not a panic or an error
    assert!(c.get_multi(&keys).await.is_empty());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let down = metrics.snapshot();
    assert!(down.get_errors >= 2 && down.set_errors >= 1, "{down:?}");

    let _restarted = Memcached::start_on(port);
    // The restarted server is empty; the first operations already succeed.
    assert!(c.get_multi(&keys).await.is_empty());
    c.set_multi(stored.clone(), HOUR).await;
    let got = c.get_multi(&keys).await;
    assert_eq!(got.len(), 10);
    let after = metrics.snapshot();
    assert_eq!(
        (after.get_errors, after.set_errors),
        (down.get_errors, down.set_errors),
        "no error after the restart"
    );
}

#[tokio::test]
async fn restart_between_operations_is_invisible() {
    let mut server = Memcached::start();
    let port = server.port;
    let (c, metrics) = cache(&server);
    let stored = items(10, "idle");
    let keys = keys_of(&stored);
    // Several pooled connections.
    futures_join(&c, &keys).await;
    c.set_multi(stored.clone(), HOUR).await;
    server.kill();
    let _restarted = Memcached::start_on(port);
    // Pooled connections are dead; the first operations reconnect and succeed.
    assert!(
        c.get_multi(&keys).await.is_empty(),
        "restarted server is empty"
    );
    c.set_multi(stored.clone(), HOUR).await;
    assert_eq!(c.get_multi(&keys).await.len(), 10);
    let snap = metrics.snapshot();
    assert_eq!((snap.get_errors, snap.set_errors), (0, 0), "{snap:?}");
}

/// Run a few gets at once so the pool holds more than one connection.
async fn futures_join(c: &MemcachedCache, keys: &[String]) {
    let (a, b, d) = tokio::join!(c.get_multi(keys), c.get_multi(keys), c.get_multi(keys));
    assert!(a.is_empty() && b.is_empty() && d.is_empty());
}

#[tokio::test]
async fn hung_server_times_out_as_miss() {
    init_logs();
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let acceptor = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let metrics = ScopedMetrics::detached();
    let c = MemcachedCache::with_metrics(
        MemcachedOptions {
            timeout: Duration::from_millis(200),
            ..options(vec![addr])
        },
        metrics.clone(),
    )
    .expect("cache");
    let start = Instant::now();
    assert!(c.get_multi(&["k".to_string()]).await.is_empty());
    c.set_multi(vec![("k".into(), Bytes::from_static(b"v"))], HOUR)
        .await;
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    let snap = metrics.snapshot();
    assert_eq!((snap.get_errors, snap.set_errors), (1, 1));
    acceptor.abort();
}

#[tokio::test]
async fn yaml_config_builds_an_instrumented_memcached_cache() {
    let server = Memcached::start();
    let yaml = format!(
        "type: MEMCACHED\nconfig:\n  addresses: [\"{}\"]\n  timeout: 1s\n  max_item_size: 1MiB\n  max_get_multi_batch_size: 3\n",
        server.addr()
    );
    let metrics = CacheMetrics::new();
    let c: Arc<dyn Cache> = CacheConfig::from_yaml(&yaml)
        .expect("parse")
        .build_instrumented("index-cache", &metrics)
        .expect("build");
    assert_eq!(c.name(), "memcached");
    let stored = items(5, "yaml");
    c.set_multi(stored.clone(), HOUR).await;
    let mut keys = keys_of(&stored);
    keys.push("miss".to_string());
    let got: HashMap<String, Bytes> = c.get_multi(&keys).await;
    assert_eq!(got.len(), 5);
    let snap = metrics.snapshot("index-cache", "memcached");
    assert_eq!(
        (snap.requests, snap.hits, snap.items_set),
        (6, 5, 5),
        "{snap:?}"
    );
}
