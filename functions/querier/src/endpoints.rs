//! The StoreAPI endpoints a querier reads from (`--endpoint`, static `host:port` or `dns+`),
//! their health (Info polled every 5s, dropped after 5m unhealthy), and the proxy over the
//! healthy ones.
//!
//! Health follows Thanos' `pkg/query/endpointset.go`:
//! - every poll re-resolves the `dns+` names (each address becomes an endpoint `ip:port`; an
//!   address that no longer resolves is dropped at once; a failed lookup keeps the last answer)
//!   and asks every endpoint for its Info concurrently, within `info_timeout`;
//! - an endpoint whose Info fails stays queried and listed in [`EndpointSet::status`] with its
//!   error and last known labels and time range until it has had no successful Info for
//!   `unhealthy_timeout` (5m, as the issue specifies; Thanos drops it from queries at once):
//!   meanwhile a query sees its failure as a partial-response warning, or an error without
//!   partial response; after that it is dropped, keeps being polled, and returns when it
//!   answers again;
//! - *strict* endpoints (Thanos `--endpoint-strict`, [`EndpointOptions::strict`]) and the
//!   stores given to [`EndpointSet::from_stores`] are always queried and never dropped, so a
//!   failing one shows up as a partial-response warning or error.
//!
//! Differences from Thanos, on purpose: an endpoint that has never answered is listed in
//! `status` (with its error) instead of being invisible, so a mistyped or down `--endpoint` can
//! be seen in `/api/v1/stores`; `storeMatch[]` matches `__address__` against the endpoint name
//! as Thanos does *and* other label matchers against the external label sets (Thanos ignores
//! them), see [`store_matches`].

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use strata_storeapi::convert::label_sets_match;
use strata_storeapi::{GrpcStore, MemStore, ProxyOptions, ProxyStore, Store, StoreMeta};
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;

/// Component type shown for an endpoint that never answered Info or reported an unknown one
/// (Thanos `component.UnknownStoreAPI`).
pub const UNKNOWN_COMPONENT: &str = "unknown-store-api";

/// The `storeMatch[]` label that holds an endpoint's address.
pub const ADDRESS_LABEL: &str = "__address__";

/// Longest `external_labels` value of the connections gauge (Thanos `externalLabelLimit`).
const EXTERNAL_LABELS_LIMIT: usize = 1000;

/// Errors of the endpoint set.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// An `--endpoint` value that is not `host:port` or `dns+host:port`.
    #[error("invalid endpoint address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No endpoint was given.
    #[error("no --endpoint given: name at least one StoreAPI (e.g. --endpoint=127.0.0.1:10905)")]
    NoEndpoints,
}

/// Endpoint health and proxy settings.
#[derive(Debug, Clone)]
pub struct EndpointOptions {
    /// Longest wait for an endpoint's Info answer in a poll (Thanos `--endpoint.info-timeout`,
    /// 5s).
    pub info_timeout: Duration,
    /// An endpoint without a successful Info for this long is dropped from `status` (Thanos
    /// `--store.unhealthy-timeout`, 5m).
    pub unhealthy_timeout: Duration,
    /// Per-store response timeout of the proxy (Thanos `--store.response-timeout`); `None`:
    /// wait as long as the query may.
    pub response_timeout: Option<Duration>,
    /// Static `host:port` endpoints that are always queried, healthy or not, and never dropped
    /// (Thanos `--endpoint-strict`). They need not be repeated in the address list.
    pub strict: Vec<String>,
}

impl Default for EndpointOptions {
    fn default() -> Self {
        EndpointOptions {
            info_timeout: Duration::from_secs(5),
            unhealthy_timeout: Duration::from_secs(300),
            response_timeout: None,
            strict: Vec::new(),
        }
    }
}

impl EndpointOptions {
    fn proxy_options(&self) -> ProxyOptions {
        ProxyOptions {
            response_timeout: self.response_timeout,
            ..ProxyOptions::default()
        }
    }
}

/// One endpoint as `/api/v1/stores` shows it (Thanos `query.EndpointStatus`).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointStatus {
    /// The address (`host:port`, or `ip:port` for `dns+` names); `name` in Thanos' JSON.
    pub name: String,
    /// Component type from the last successful Info (`store`, `sidecar`, `query`, `rule`,
    /// `receive`, `debug`), or [`UNKNOWN_COMPONENT`] if it never answered or reported another
    /// one. Thanos groups `/api/v1/stores` by this.
    pub component_type: String,
    /// When Info last succeeded (`lastCheck` in Thanos' JSON, which only moves on success);
    /// `None` if it never did.
    pub last_check: Option<SystemTime>,
    /// When Info was last attempted, successful or not; `None` before the first poll.
    pub last_poll: Option<SystemTime>,
    /// The error of the last Info call; `None` when it succeeded (`lastError`, JSON `null`).
    pub last_error: Option<String>,
    /// External label sets from the last successful Info (`labelSets`), empty sets left out.
    pub label_sets: Vec<Labels>,
    /// Earliest timestamp held, ms (`minTime`); `i64::MIN` when unknown.
    pub min_time: i64,
    /// Latest timestamp held, ms (`maxTime`); `i64::MAX` when unknown.
    pub max_time: i64,
    /// Whether queries currently read from this endpoint (healthy, or strict).
    pub active: bool,
}

/// Where endpoints come from.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    /// `host:port`, one endpoint of that name (the gRPC client resolves the host).
    Static { addr: String, strict: bool },
    /// `dns+host:port`: one endpoint per address the name resolves to.
    Dns { host: String, port: u16 },
}

/// Parse an `--endpoint` value.
fn parse_spec(address: &str, strict: bool) -> Result<Spec, EndpointError> {
    let bad = |reason: &str| EndpointError::InvalidAddress {
        address: address.to_string(),
        reason: reason.to_string(),
    };
    let (dns, rest) = match address.split_once('+') {
        Some(("dns", rest)) => (true, rest),
        Some((scheme @ ("dnssrv" | "dnssrvnoa"), _)) => {
            return Err(bad(&format!(
                "{scheme}+ (SRV) discovery is not supported; use dns+host:port"
            )));
        }
        Some(_) if !address.contains("://") => {
            return Err(bad(
                "unknown discovery prefix; use host:port or dns+host:port",
            ));
        }
        _ => (false, address),
    };
    if rest.contains("://") || rest.contains('/') {
        return Err(bad("expected host:port without scheme or path"));
    }
    let Some((host, port)) = rest.rsplit_once(':') else {
        return Err(bad("missing :port"));
    };
    if host.is_empty() {
        return Err(bad("missing host"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| bad(&format!("port {port:?} is not a number from 0 to 65535")))?;
    if dns {
        if strict {
            return Err(bad("strict endpoints must be static host:port"));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Spec::Dns {
            host: host.to_string(),
            port,
        })
    } else {
        Ok(Spec::Static {
            addr: rest.to_string(),
            strict,
        })
    }
}

/// Whether an endpoint named `name` with external `label_sets` is selected by `storeMatch[]`
/// (`lists`; none selects everything). A list selects it when its `__address__` matchers all
/// match the name and its other matchers all hold for one of the label sets, where a matcher
/// on a label a set lacks does not reject it (Thanos `LabelSetsMatch`); lists are ORed.
pub fn store_matches(name: &str, label_sets: &[Labels], lists: &[Vec<Matcher>]) -> bool {
    if lists.is_empty() {
        return true;
    }
    lists.iter().any(|list| {
        let (addr, rest): (Vec<Matcher>, Vec<Matcher>) = list
            .iter()
            .cloned()
            .partition(|m| m.name() == ADDRESS_LABEL);
        addr.iter().all(|m| m.matches(name)) && label_sets_match(&rest, label_sets)
    })
}

/// Thanos' `external_labels` value: every label set as `{a="1", b="2"}`, sorted, joined by
/// `,`; `no_external_labels` when there are none; cut to 1000 bytes.
fn external_labels_value(sets: &[Labels]) -> String {
    let mut strings: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    strings.sort();
    let s = strings.join(",");
    if s.is_empty() {
        return "no_external_labels".to_string();
    }
    if s.len() <= EXTERNAL_LABELS_LIMIT {
        return s;
    }
    let mut cut = EXTERNAL_LABELS_LIMIT - 1;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}}}", &s[..cut])
}

fn component_name(t: &str) -> String {
    match t {
        "query" | "rule" | "sidecar" | "store" | "receive" | "debug" => t.to_string(),
        _ => UNKNOWN_COMPONENT.to_string(),
    }
}

/// What is known about one endpoint.
#[derive(Debug)]
struct Endpoint {
    /// The client; `None` when it could not be built (the error is in `last_error`).
    store: Option<Arc<dyn Store>>,
    /// Always queried, never dropped.
    strict: bool,
    created: Instant,
    /// From the last successful Info (or given to `from_stores`).
    meta: Option<StoreMeta>,
    component_type: Option<String>,
    last_check: Option<SystemTime>,
    last_success_at: Option<Instant>,
    last_poll: Option<SystemTime>,
    last_error: Option<String>,
}

impl Endpoint {
    fn new(store: Option<Arc<dyn Store>>, strict: bool) -> Self {
        Endpoint {
            store,
            strict,
            created: Instant::now(),
            meta: None,
            component_type: None,
            last_check: None,
            last_success_at: None,
            last_poll: None,
            last_error: None,
        }
    }

    fn healthy(&self) -> bool {
        self.last_error.is_none() && self.meta.is_some()
    }

    /// Whether queries read from it: until it has been unhealthy for `timeout`, a failing
    /// endpoint is still queried, so its failure shows as a partial-response warning (or an
    /// error without partial response) instead of silently missing data.
    fn active(&self, now: Instant, timeout: Duration) -> bool {
        self.store.is_some() && (self.strict || self.healthy() || !self.timed_out(now, timeout))
    }

    /// Unhealthy (no successful Info) for at least `timeout`: hidden from `status`.
    fn timed_out(&self, now: Instant, timeout: Duration) -> bool {
        !self.strict
            && !self.healthy()
            && now.duration_since(self.last_success_at.unwrap_or(self.created)) >= timeout
    }

    fn label_sets(&self) -> Vec<Labels> {
        self.meta
            .as_ref()
            .map(|m| {
                m.label_sets
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn proxy_entry(&self, name: &str) -> Option<(Arc<dyn Store>, StoreMeta)> {
        let store = self.store.clone()?;
        let meta = self
            .meta
            .clone()
            .unwrap_or_else(|| StoreMeta::unknown(name));
        Some((store, meta))
    }
}

#[derive(Debug, Default)]
struct State {
    endpoints: BTreeMap<String, Endpoint>,
    /// Last successful resolution of each `dns+` spec (by index).
    resolved: HashMap<usize, Vec<String>>,
}

type ConnectionLabels = Vec<(String, String)>;

/// The set of endpoints.
#[derive(Debug)]
pub struct EndpointSet {
    specs: Vec<Spec>,
    opts: EndpointOptions,
    state: Mutex<State>,
    /// The proxy over all active endpoints, updated in place after every poll.
    proxy: Arc<ProxyStore>,
    /// Serializes polls.
    poll_lock: tokio::sync::Mutex<()>,
    polled: AtomicBool,
    connections: Family<ConnectionLabels, Gauge>,
}

impl EndpointSet {
    /// The options the set was made with.
    pub fn options(&self) -> &EndpointOptions {
        &self.opts
    }

    /// A set with fixed stores (tests, `strata local`): always queried, never dropped, ready at
    /// once. `poll_once` refreshes their Info like any other endpoint's.
    pub fn from_stores(stores: Vec<(Arc<dyn Store>, StoreMeta)>) -> Self {
        let mut state = State::default();
        for (store, meta) in &stores {
            let mut e = Endpoint::new(Some(Arc::clone(store)), true);
            e.meta = Some(meta.clone());
            state.endpoints.insert(meta.name.clone(), e);
        }
        let opts = EndpointOptions::default();
        let set = EndpointSet {
            specs: Vec::new(),
            proxy: Arc::new(ProxyStore::with_stores(stores, opts.proxy_options())),
            opts,
            state: Mutex::new(state),
            poll_lock: tokio::sync::Mutex::new(()),
            polled: AtomicBool::new(true),
            connections: Family::default(),
        };
        set.update_metrics(&set.lock());
        set
    }

    /// A set over `--endpoint` addresses (`host:port` or `dns+host:port`) and the strict ones
    /// in `opts`. Nothing is contacted until [`poll_once`](Self::poll_once).
    pub fn new(addresses: Vec<String>, opts: EndpointOptions) -> Result<Self, EndpointError> {
        let mut specs = Vec::new();
        for a in &opts.strict {
            let s = parse_spec(a.trim(), true)?;
            if !specs.contains(&s) {
                specs.push(s);
            }
        }
        for a in &addresses {
            let s = parse_spec(a.trim(), false)?;
            let strict_dup = matches!(&s, Spec::Static { addr, .. } if specs.iter().any(
                |x| matches!(x, Spec::Static { addr: y, .. } if y == addr)));
            if !strict_dup && !specs.contains(&s) {
                specs.push(s);
            }
        }
        Ok(EndpointSet {
            specs,
            proxy: Arc::new(ProxyStore::new(opts.proxy_options())),
            opts,
            state: Mutex::new(State::default()),
            poll_lock: tokio::sync::Mutex::new(()),
            polled: AtomicBool::new(false),
            connections: Family::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register `thanos_store_nodes_grpc_connections{external_labels, store_type}`: the number
    /// of active endpoints per label sets and component type.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "thanos_store_nodes_grpc_connections",
            "Number of gRPC connection to Store APIs. Opened connection means healthy store APIs available for Querier.",
            self.connections.clone(),
        );
    }

    /// Resolve every spec to endpoint names (with their strictness).
    async fn resolve(&self) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for (i, spec) in self.specs.iter().enumerate() {
            match spec {
                Spec::Static { addr, strict } => out.push((addr.clone(), *strict)),
                Spec::Dns { host, port } => {
                    let looked_up = tokio::time::timeout(
                        self.opts.info_timeout,
                        tokio::net::lookup_host((host.as_str(), *port)),
                    )
                    .await;
                    let names = match looked_up {
                        Ok(Ok(addrs)) => {
                            let mut names: Vec<String> = addrs.map(|a| a.to_string()).collect();
                            names.sort();
                            names.dedup();
                            self.lock().resolved.insert(i, names.clone());
                            names
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(host = %host, error = %e, "endpoint DNS lookup failed; keeping the last addresses");
                            self.lock().resolved.get(&i).cloned().unwrap_or_default()
                        }
                        Err(_) => {
                            tracing::warn!(host = %host, "endpoint DNS lookup timed out; keeping the last addresses");
                            self.lock().resolved.get(&i).cloned().unwrap_or_default()
                        }
                    };
                    out.extend(names.into_iter().map(|n| (n, false)));
                }
            }
        }
        out
    }

    /// Bring the endpoint list in line with the resolved names.
    fn sync_endpoints(&self, names: &[(String, bool)]) {
        let mut state = self.lock();
        if !self.specs.is_empty() {
            let keep: std::collections::HashSet<&str> =
                names.iter().map(|(n, _)| n.as_str()).collect();
            state.endpoints.retain(|name, e| {
                let keep = e.strict || keep.contains(name.as_str());
                if !keep {
                    tracing::info!(address = %name, "removing endpoint: its name no longer resolves to it");
                }
                keep
            });
        }
        for (name, strict) in names {
            if let Some(e) = state.endpoints.get_mut(name) {
                e.strict |= *strict;
                continue;
            }
            let e = match GrpcStore::lazy(name) {
                Ok(s) => Endpoint::new(Some(Arc::new(s) as Arc<dyn Store>), *strict),
                Err(err) => {
                    let mut e = Endpoint::new(None, *strict);
                    e.last_error = Some(err.to_string());
                    e
                }
            };
            state.endpoints.insert(name.clone(), e);
        }
    }

    /// Resolve the addresses, then ask every endpoint for its Info concurrently (each within
    /// `info_timeout`) and update health, the proxy and the metrics.
    pub async fn poll_once(&self) {
        let _serial = self.poll_lock.lock().await;
        if !self.specs.is_empty() {
            let names = self.resolve().await;
            self.sync_endpoints(&names);
        }
        let targets: Vec<(String, Arc<dyn Store>)> = self
            .lock()
            .endpoints
            .iter()
            .filter_map(|(n, e)| e.store.clone().map(|s| (n.clone(), s)))
            .collect();
        let timeout = self.opts.info_timeout;
        let answers = futures::future::join_all(targets.iter().map(|(_, s)| async move {
            match tokio::time::timeout(timeout, s.info()).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no Info answer within {timeout:?}")),
            }
        }))
        .await;

        let now = SystemTime::now();
        let mut state = self.lock();
        for ((name, _), answer) in targets.iter().zip(answers) {
            let Some(e) = state.endpoints.get_mut(name) else {
                continue;
            };
            e.last_poll = Some(now);
            match answer {
                Ok(info) => {
                    if e.last_check.is_none() || e.last_error.is_some() {
                        tracing::info!(address = %name, component = %info.component_type, "endpoint is healthy");
                    }
                    e.meta = Some(StoreMeta::from_info(name.clone(), &info));
                    e.component_type = Some(component_name(&info.component_type));
                    e.last_check = Some(now);
                    e.last_success_at = Some(Instant::now());
                    e.last_error = None;
                }
                Err(err) => {
                    if e.last_error.is_none() {
                        tracing::warn!(address = %name, error = %err, "endpoint Info failed; still queried until unhealthy for the timeout");
                    } else {
                        tracing::debug!(address = %name, error = %err, "endpoint still failing");
                    }
                    e.last_error = Some(err);
                }
            }
        }
        let now = Instant::now();
        let timeout = self.opts.unhealthy_timeout;
        let entries: Vec<(Arc<dyn Store>, StoreMeta)> = state
            .endpoints
            .iter()
            .filter(|(_, e)| e.active(now, timeout))
            .filter_map(|(n, e)| e.proxy_entry(n))
            .collect();
        self.proxy.set_stores(entries);
        self.update_metrics(&state);
        drop(state);
        self.polled.store(true, Ordering::Release);
    }

    fn update_metrics(&self, state: &State) {
        let mut counts: BTreeMap<ConnectionLabels, i64> = BTreeMap::new();
        let now = Instant::now();
        let timeout = self.opts.unhealthy_timeout;
        for e in state.endpoints.values().filter(|e| e.active(now, timeout)) {
            let labels = vec![
                (
                    "external_labels".to_string(),
                    external_labels_value(&e.label_sets()),
                ),
                (
                    "store_type".to_string(),
                    e.component_type
                        .clone()
                        .unwrap_or_else(|| UNKNOWN_COMPONENT.to_string()),
                ),
            ];
            *counts.entry(labels).or_default() += 1;
        }
        self.connections.clear();
        for (labels, n) in counts {
            self.connections.get_or_create(&labels).set(n);
        }
    }

    /// Poll every `interval` (first poll at once) until `shutdown` resolves.
    pub async fn run(
        self: Arc<Self>,
        interval: Duration,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.poll_once() => {}
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// The proxy over the active endpoints whose name or external labels match one of
    /// `store_matchers` (`storeMatch[]`, see [`store_matches`]); all active endpoints when
    /// empty. The unfiltered proxy follows later polls; a filtered one is a snapshot for one
    /// request.
    pub fn proxy_for(&self, store_matchers: &[Vec<Matcher>]) -> Arc<dyn Store> {
        if store_matchers.is_empty() {
            return self.proxy.clone();
        }
        let state = self.lock();
        let now = Instant::now();
        let timeout = self.opts.unhealthy_timeout;
        let active: Vec<(&String, &Endpoint)> = state
            .endpoints
            .iter()
            .filter(|(_, e)| e.active(now, timeout))
            .collect();
        let selected: Vec<(Arc<dyn Store>, StoreMeta)> = active
            .iter()
            .filter(|(n, e)| store_matches(n, &e.label_sets(), store_matchers))
            .filter_map(|(n, e)| e.proxy_entry(n))
            .collect();
        if selected.is_empty() && !active.is_empty() {
            // Thanos answers "no StoreAPIs matched" with an empty result, not an error (only
            // an empty store list is "no StoreAPIs available").
            return MemStore::new(Labels::empty()).into_store();
        }
        drop(state);
        Arc::new(ProxyStore::with_stores(selected, self.opts.proxy_options()))
    }

    /// Status of every known endpoint, sorted by name; endpoints without a successful Info for
    /// `unhealthy_timeout` are left out (they keep being polled and return when healthy).
    pub fn status(&self) -> Vec<EndpointStatus> {
        let now = Instant::now();
        self.lock()
            .endpoints
            .iter()
            .filter(|(_, e)| !e.timed_out(now, self.opts.unhealthy_timeout))
            .map(|(name, e)| EndpointStatus {
                name: name.clone(),
                component_type: e
                    .component_type
                    .clone()
                    .unwrap_or_else(|| UNKNOWN_COMPONENT.to_string()),
                last_check: e.last_check,
                last_poll: e.last_poll,
                last_error: e.last_error.clone(),
                label_sets: e.label_sets(),
                min_time: e.meta.as_ref().map_or(i64::MIN, |m| m.min_time),
                max_time: e.meta.as_ref().map_or(i64::MAX, |m| m.max_time),
                active: e.active(now, self.opts.unhealthy_timeout),
            })
            .collect()
    }

    /// True once every endpoint was polled at least once (even if that poll failed).
    pub fn ready(&self) -> bool {
        self.polled.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_tsdb::matchers::MatchType;

    #[test]
    fn parses_addresses() {
        assert_eq!(
            parse_spec("store:10901", false).unwrap(),
            Spec::Static {
                addr: "store:10901".into(),
                strict: false
            }
        );
        assert_eq!(
            parse_spec("dns+store.ns.svc:10901", false).unwrap(),
            Spec::Dns {
                host: "store.ns.svc".into(),
                port: 10901
            }
        );
        assert_eq!(
            parse_spec("dns+[::1]:10901", false).unwrap(),
            Spec::Dns {
                host: "::1".into(),
                port: 10901
            }
        );
        assert!(matches!(
            parse_spec("[::1]:10901", false).unwrap(),
            Spec::Static { addr, .. } if addr == "[::1]:10901"
        ));
        for bad in [
            "store",
            ":10901",
            "store:http",
            "store:70000",
            "dnssrv+_grpc._tcp.store",
            "foo+store:1",
            "http://store:1",
        ] {
            let err = parse_spec(bad, false).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert!(parse_spec("dns+store:1", true).is_err());
        assert!(EndpointSet::new(vec!["nope".into()], EndpointOptions::default()).is_err());
    }

    #[test]
    fn store_match_semantics() {
        let sets = vec![
            Labels::from_pairs([("cluster", "eu"), ("replica", "0")]),
            Labels::from_pairs([("cluster", "us")]),
        ];
        let eq = |n: &str, v: &str| Matcher::equal(n, v);
        let name = "10.0.0.1:10901";
        assert!(store_matches(name, &sets, &[]));
        assert!(store_matches(name, &sets, &[vec![eq("cluster", "us")]]));
        assert!(!store_matches(name, &sets, &[vec![eq("cluster", "asia")]]));
        // All matchers of one list must hold for the same label set.
        assert!(!store_matches(
            name,
            &sets,
            &[vec![eq("cluster", "eu"), eq("replica", "1")]]
        ));
        // Lists are ORed.
        assert!(store_matches(
            name,
            &sets,
            &[vec![eq("cluster", "asia")], vec![eq("cluster", "eu")]]
        ));
        // A label the set lacks does not reject it.
        assert!(store_matches(name, &sets, &[vec![eq("zone", "a")]]));
        // __address__ against the name.
        let re = Matcher::new(MatchType::Regex, ADDRESS_LABEL, "10\\.0\\..*").unwrap();
        assert!(store_matches(name, &sets, &[vec![re.clone()]]));
        assert!(!store_matches("10.1.0.1:1", &sets, &[vec![re]]));
        assert!(!store_matches(
            name,
            &sets,
            &[vec![eq(ADDRESS_LABEL, name), eq("cluster", "asia")]]
        ));
    }

    #[test]
    fn external_labels_metric_value() {
        assert_eq!(external_labels_value(&[]), "no_external_labels");
        let sets = vec![
            Labels::from_pairs([("b", "2")]),
            Labels::from_pairs([("a", "1"), ("c", "x")]),
        ];
        assert_eq!(external_labels_value(&sets), r#"{a="1", c="x"},{b="2"}"#);
        let long = vec![Labels::from_pairs([("a", "é".repeat(800))])];
        let v = external_labels_value(&long);
        assert!(
            v.len() <= EXTERNAL_LABELS_LIMIT && v.ends_with('}'),
            "{}",
            v.len()
        );
    }
}
