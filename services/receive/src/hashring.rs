//! Thanos receive hashrings: which receivers own a tenant's series.
//!
//! Spec followed: Thanos' `pkg/receive/hashring.go` and `docs/components/receive.md` for the
//! `--receive.hashrings-file` JSON and the `hashmod` algorithm, so a strata receiver and a
//! Thanos receiver given the same file route every series to the same endpoints:
//!
//! * the file is a JSON list of hashrings `{hashring?, tenants?, tenant_matcher_type?,
//!   endpoints, algorithm?, external_labels?}`; an endpoint is `"host:port"` or `{"address":
//!   "host:port", "az": ...}`;
//! * a tenant belongs to the first hashring whose `tenants` matches it (`exact`, or `glob`
//!   with shell patterns as Go's `filepath.Match`); a hashring without tenants matches every
//!   tenant; no match is an error;
//! * `hashmod`: endpoints sorted by address, the series hash is xxhash64 of `tenant \xff
//!   (name \xff value \xff)*` over the labels as received, and the `n`-th replica is endpoint
//!   `(hash + n) % len`.
//!
//! `ketama` and `aligned_ketama` are refused with a clear error (not built yet); fields strata
//! does not use (`external_labels`, `shuffle_sharding_config`, `capnproto_address`) are
//! accepted and ignored.

use serde::Deserialize;
use strata_tsdb::labels::Labels;

use crate::Error;

/// The separator Thanos puts between the tenant, names and values before hashing.
const SEP: u8 = 0xff;

/// An endpoint: a plain address or an object with one (its other keys, `az` and
/// `capnproto_address`, are ignored, as are the hashring keys strata does not use).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EndpointConfig {
    Address(String),
    Object { address: String },
}

#[derive(Debug, Deserialize)]
struct HashringConfig {
    #[serde(default)]
    hashring: String,
    #[serde(default)]
    tenants: Vec<String>,
    #[serde(default)]
    tenant_matcher_type: String,
    #[serde(default)]
    endpoints: Vec<EndpointConfig>,
    #[serde(default)]
    algorithm: String,
}

/// How a hashring's `tenants` are matched.
#[derive(Debug, Clone)]
enum TenantSet {
    /// No tenants: the default hashring, matching every tenant.
    Any,
    /// Exact names.
    Exact(Vec<String>),
    /// Shell patterns (`*`, `?`, `[...]`).
    Glob(Vec<glob::Pattern>),
}

impl TenantSet {
    fn matches(&self, tenant: &str) -> bool {
        match self {
            TenantSet::Any => true,
            TenantSet::Exact(names) => names.iter().any(|n| n == tenant),
            TenantSet::Glob(patterns) => patterns.iter().any(|p| p.matches(tenant)),
        }
    }
}

/// One hashring: a named, sorted set of endpoints and the tenants it serves.
#[derive(Debug, Clone)]
pub struct Hashring {
    name: String,
    tenants: TenantSet,
    endpoints: Vec<String>,
}

impl Hashring {
    /// The hashring's name (`hashring` in the file; empty when unnamed).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its endpoints, sorted by address (the order `hashmod` indexes).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The endpoint holding replica `n` (0-based) of the series whose [`series_hash`] is
    /// `hash`.
    pub fn get_n(&self, hash: u64, n: usize) -> &str {
        let len = self.endpoints.len() as u64;
        // `len` > 0 and n < len are checked when the file is loaded.
        let i = hash.wrapping_add(n as u64) % len.max(1);
        &self.endpoints[i as usize]
    }
}

/// The series hash `hashmod` uses: xxhash64 of `tenant \xff (name \xff value \xff)*`.
pub fn series_hash(tenant: &str, labels: &Labels) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    h.update(tenant.as_bytes());
    h.update(&[SEP]);
    for l in labels.iter() {
        h.update(l.name.as_bytes());
        h.update(&[SEP]);
        h.update(l.value.as_bytes());
        h.update(&[SEP]);
    }
    h.digest()
}

/// Every hashring of a `--receive.hashrings-file`, in file order.
#[derive(Debug, Clone)]
pub struct Hashrings {
    rings: Vec<Hashring>,
}

impl Hashrings {
    /// Parses the Thanos JSON and checks every hashring can hold `replication_factor`
    /// distinct replicas.
    pub fn parse(json: &str, replication_factor: usize) -> Result<Self, Error> {
        let cfgs: Vec<HashringConfig> = serde_json::from_str(json).map_err(Error::HashringsJson)?;
        if cfgs.is_empty() {
            return Err(Error::NoHashrings);
        }
        let mut rings = Vec::with_capacity(cfgs.len());
        for (i, c) in cfgs.into_iter().enumerate() {
            let name = if c.hashring.is_empty() {
                format!("#{i}")
            } else {
                c.hashring.clone()
            };
            let invalid = |reason: String| Error::InvalidHashring {
                name: name.clone(),
                reason,
            };
            match c.algorithm.as_str() {
                "" | "hashmod" => {}
                "ketama" | "aligned_ketama" => {
                    return Err(invalid(format!(
                        "algorithm {:?} is not supported yet; use hashmod",
                        c.algorithm
                    )));
                }
                other => return Err(invalid(format!("unknown algorithm {other:?}"))),
            }
            let mut endpoints: Vec<String> = c
                .endpoints
                .into_iter()
                .map(|e| match e {
                    EndpointConfig::Address(a) | EndpointConfig::Object { address: a } => a,
                })
                .collect();
            if let Some(e) = endpoints.iter().find(|e| e.is_empty()) {
                return Err(invalid(format!("empty endpoint address {e:?}")));
            }
            endpoints.sort();
            let before = endpoints.len();
            endpoints.dedup();
            if endpoints.len() != before {
                return Err(invalid("an endpoint is listed twice".to_string()));
            }
            if endpoints.is_empty() {
                return Err(invalid("no endpoints".to_string()));
            }
            if endpoints.len() < replication_factor {
                return Err(invalid(format!(
                    "{} endpoints cannot hold --receive.replication-factor={replication_factor} replicas",
                    endpoints.len()
                )));
            }
            let tenants = if c.tenants.is_empty() {
                TenantSet::Any
            } else {
                match c.tenant_matcher_type.as_str() {
                    "" | "exact" => TenantSet::Exact(c.tenants),
                    "glob" => TenantSet::Glob(
                        c.tenants
                            .iter()
                            .map(|t| {
                                glob::Pattern::new(t).map_err(|source| Error::TenantPattern {
                                    name: name.clone(),
                                    pattern: t.clone(),
                                    source,
                                })
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    other => {
                        return Err(invalid(format!(
                            "unknown tenant_matcher_type {other:?} (exact or glob)"
                        )));
                    }
                }
            };
            rings.push(Hashring {
                name,
                tenants,
                endpoints,
            });
        }
        Ok(Self { rings })
    }

    /// The hashring serving `tenant`: the first that matches it.
    pub fn for_tenant(&self, tenant: &str) -> Result<&Hashring, Error> {
        self.rings
            .iter()
            .find(|r| r.tenants.matches(tenant))
            .ok_or_else(|| Error::NoHashring(tenant.to_string()))
    }

    /// Every hashring, in file order.
    pub fn rings(&self) -> &[Hashring] {
        &self.rings
    }

    /// Every endpoint of every hashring, sorted and unique.
    pub fn nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .rings
            .iter()
            .flat_map(|r| r.endpoints.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Replicas that must acknowledge a series (Thanos' `writeQuorum`): ⌊RF/2⌋+1, except 1 for
/// RF=2 (so a pair keeps accepting writes with one member down).
pub fn write_quorum(replication_factor: usize) -> usize {
    if replication_factor == 2 {
        1
    } else {
        replication_factor / 2 + 1
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_xxhash64_of_the_thanos_byte_layout() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
        let bytes = b"t\xff__name__\xffup\xffjob\xffa\xff";
        assert_eq!(
            series_hash("t", &l),
            xxhash_rust::xxh64::xxh64(bytes, 0),
            "streamed and one-shot hashes agree"
        );
        // Known value of Go's cespare/xxhash Sum64 on the empty input (seed 0).
        assert_eq!(xxhash_rust::xxh64::xxh64(b"", 0), 0xef46_db37_51d8_e999);
    }

    #[test]
    fn parses_thanos_files_and_routes_tenants() {
        let json = r#"[
          {"hashring": "tenant-a", "tenants": ["a", "b"], "endpoints": ["r2:10907", "r1:10907"]},
          {"hashring": "globbed", "tenants": ["team-*"], "tenant_matcher_type": "glob",
           "endpoints": [{"address": "g1:10907", "az": "x"}]},
          {"endpoints": ["d1:10907", "d3:10907", "d2:10907"], "external_labels": {"k": "v"}}
        ]"#;
        let h = Hashrings::parse(json, 1).unwrap();
        assert_eq!(h.for_tenant("a").unwrap().name(), "tenant-a");
        assert_eq!(
            h.for_tenant("a").unwrap().endpoints(),
            ["r1:10907", "r2:10907"],
            "sorted by address"
        );
        assert_eq!(h.for_tenant("team-x").unwrap().name(), "globbed");
        assert_eq!(h.for_tenant("other").unwrap().name(), "#2");
        assert_eq!(h.nodes().len(), 6);
        let only = Hashrings::parse(r#"[{"tenants": ["a"], "endpoints": ["x:1"]}]"#, 1).unwrap();
        assert!(matches!(
            only.for_tenant("b").unwrap_err(),
            Error::NoHashring(t) if t == "b"
        ));
    }

    #[test]
    fn replicas_land_on_distinct_endpoints() {
        let h = Hashrings::parse(r#"[{"endpoints": ["a:1", "b:1", "c:1"]}]"#, 3).unwrap();
        let ring = h.for_tenant("t").unwrap();
        for i in 0..50 {
            let l = Labels::from_pairs([("__name__", "m"), ("i", i.to_string().as_str())]);
            let hash = series_hash("t", &l);
            let mut got: Vec<&str> = (0..3).map(|n| ring.get_n(hash, n)).collect();
            assert_eq!(got[0], ring.endpoints()[(hash % 3) as usize]);
            got.sort();
            assert_eq!(got, ["a:1", "b:1", "c:1"]);
        }
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let err = |json: &str, rf: usize| Hashrings::parse(json, rf).unwrap_err().to_string();
        assert!(err("{", 1).contains("hashrings file"));
        assert!(err("[]", 1).contains("empty list"));
        assert!(err(r#"[{"endpoints": []}]"#, 1).contains("no endpoints"));
        assert!(err(r#"[{"endpoints": ["a:1"]}]"#, 3).contains("replication-factor=3"));
        assert!(
            err(r#"[{"endpoints": ["a:1"], "algorithm": "ketama"}]"#, 1)
                .contains("not supported yet")
        );
        assert!(err(r#"[{"endpoints": ["a:1", "a:1"]}]"#, 1).contains("twice"));
        assert!(
            err(
                r#"[{"tenants": ["["], "tenant_matcher_type": "glob", "endpoints": ["a:1"]}]"#,
                1
            )
            .contains("tenant pattern")
        );
    }

    #[test]
    fn quorum_follows_thanos() {
        assert_eq!(
            [1, 2, 3, 4, 5].map(write_quorum),
            [1, 1, 2, 3, 3],
            "RF=2 needs one acknowledgement, as Thanos"
        );
    }
}
