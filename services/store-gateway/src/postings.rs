//! Which postings lists a matcher set needs, and how to combine them, with Prometheus semantics
//! (`PostingsForMatchers`): a matcher that matches `""` also selects series without the label;
//! per matcher the lists of its matching values are unioned, positive matchers are intersected
//! and the values excluded by negative ones are subtracted. Pure planning: fetching is done by
//! the block, for all matchers at once, so nearby lists share GETs.

use std::collections::{HashMap, HashSet};

use strata_tsdb::index::PostingsOffsetTable;
use strata_tsdb::matchers::Matcher;
use strata_tsdb::postings::{intersect_many, merge, without};

/// A postings list key: (label name, label value); `("", "")` is the all-postings list.
pub(crate) type Key = (String, String);

/// What to fetch and how to combine it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// True if no series can match (no fetch needed).
    pub(crate) empty: bool,
    /// Per positive matcher: the lists to union; the unions are intersected.
    pub(crate) positive: Vec<Vec<Key>>,
    /// Per negative matcher: the lists whose union is subtracted.
    pub(crate) negative: Vec<Vec<Key>>,
}

/// The all-postings key.
pub(crate) fn all_key() -> Key {
    (String::new(), String::new())
}

impl Plan {
    /// Every distinct list the plan needs (the all-postings list when nothing is positive).
    pub(crate) fn keys(&self) -> Vec<Key> {
        if self.empty {
            return Vec::new();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        if self.positive.is_empty() {
            seen.insert(all_key());
            out.push(all_key());
        }
        for k in self.positive.iter().chain(&self.negative).flatten() {
            if seen.insert(k.clone()) {
                out.push(k.clone());
            }
        }
        out
    }

    /// Combine fetched lists (missing keys count as empty lists).
    pub(crate) fn combine(&self, lists: &HashMap<Key, Vec<u32>>) -> Vec<u32> {
        if self.empty {
            return Vec::new();
        }
        let union = |keys: &Vec<Key>| -> Vec<u32> {
            let ls: Vec<&[u32]> = keys
                .iter()
                .filter_map(|k| lists.get(k).map(Vec::as_slice))
                .collect();
            merge(&ls)
        };
        let base = if self.positive.is_empty() {
            lists.get(&all_key()).cloned().unwrap_or_default()
        } else {
            let unions: Vec<Vec<u32>> = self.positive.iter().map(union).collect();
            if unions.iter().any(Vec::is_empty) {
                return Vec::new();
            }
            intersect_many(&unions)
        };
        if self.negative.is_empty() {
            return base;
        }
        let negs: Vec<Vec<u32>> = self.negative.iter().map(union).collect();
        without(&base, &merge(&negs))
    }
}

fn keys_of(name: &str, values: impl IntoIterator<Item = String>) -> Vec<Key> {
    values.into_iter().map(|v| (name.to_string(), v)).collect()
}

/// Plan the postings lookups for `matchers` over one block's postings offset table. No
/// matchers select every series.
pub(crate) fn plan(table: &PostingsOffsetTable, matchers: &[Matcher]) -> Plan {
    let must_be_set: HashSet<&str> = matchers
        .iter()
        .filter(|m| !m.matches_empty())
        .map(|m| m.name())
        .collect();
    let mut p = Plan::default();
    let empty = || Plan {
        empty: true,
        ..Plan::default()
    };
    for m in matchers {
        if m.name().is_empty() {
            // No series has a label named "": its value is always "".
            if m.matches_empty() {
                continue;
            }
            return empty();
        }
        if !m.matches_empty() {
            let values: Vec<String> = match m.set_matches() {
                Some(vs) => vs
                    .into_iter()
                    .filter(|v| table.postings_range(m.name(), v).is_some())
                    .map(str::to_string)
                    .collect(),
                None => table
                    .label_values(m.name())
                    .into_iter()
                    .filter(|v| m.matches(v))
                    .map(str::to_string)
                    .collect(),
            };
            if values.is_empty() {
                return empty();
            }
            p.positive.push(keys_of(m.name(), values));
            continue;
        }
        let (matching, other): (Vec<&str>, Vec<&str>) = table
            .label_values(m.name())
            .into_iter()
            .partition(|v| m.matches(v));
        if must_be_set.contains(m.name()) && matching.len() < other.len() {
            // Series without the label are excluded by another matcher anyway.
            if matching.is_empty() {
                return empty();
            }
            p.positive
                .push(keys_of(m.name(), matching.into_iter().map(str::to_string)));
        } else if !other.is_empty() {
            p.negative
                .push(keys_of(m.name(), other.into_iter().map(str::to_string)));
        }
    }
    p
}
