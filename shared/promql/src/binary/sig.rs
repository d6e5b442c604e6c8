//! Matching signatures of vector/vector operations: each series of both operands is mapped
//! once to an ordinal of its signature (the `on` labels, or all labels but `__name__` and the
//! `ignoring` labels), and series are grouped by ordinal.

use std::collections::HashMap;

use strata_tsdb::labels::{Label, Labels, METRIC_NAME};

use crate::value::Series;

/// True if label `name` takes part in the signature.
fn in_signature(name: &str, on: bool, names: &[String]) -> bool {
    let listed = names.iter().any(|n| n == name);
    if on {
        listed
    } else {
        !listed && name != METRIC_NAME
    }
}

/// The labels a signature is made of (Prometheus' `MatchLabels`): with `on`, only the listed
/// labels; otherwise all labels except `__name__` and the listed ones.
pub(super) fn match_labels(labels: &Labels, on: bool, names: &[String]) -> Labels {
    let v: Vec<Label> = labels
        .iter()
        .filter(|l| in_signature(&l.name, on, names))
        .cloned()
        .collect();
    Labels::from_sorted(v)
}

/// Signature ordinals of the series of both operands, shared between the sides.
#[derive(Debug)]
pub(super) struct Signatures {
    /// Ordinal of each left-hand series.
    pub(super) lhs: Vec<u32>,
    /// Ordinal of each right-hand series.
    pub(super) rhs: Vec<u32>,
    /// Number of distinct signatures.
    pub(super) count: usize,
}

impl Signatures {
    /// Computes the signature of every series once. Ordinals are assigned in order of first
    /// appearance, left-hand side first.
    pub(super) fn new(lhs: &[Series], rhs: &[Series], on: bool, names: &[String]) -> Self {
        let mut map: HashMap<Vec<u8>, u32> = HashMap::with_capacity(lhs.len() + rhs.len());
        let mut buf = Vec::with_capacity(256);
        let mut ordinal = |s: &Series, map: &mut HashMap<Vec<u8>, u32>| -> u32 {
            buf.clear();
            for l in s.labels.iter() {
                if in_signature(&l.name, on, names) {
                    buf.extend_from_slice(l.name.as_bytes());
                    buf.push(0xff);
                    buf.extend_from_slice(l.value.as_bytes());
                    buf.push(0xff);
                }
            }
            let next = map.len() as u32;
            match map.get(buf.as_slice()) {
                Some(&o) => o,
                None => {
                    map.insert(buf.clone(), next);
                    next
                }
            }
        };
        let l: Vec<u32> = lhs.iter().map(|s| ordinal(s, &mut map)).collect();
        let r: Vec<u32> = rhs.iter().map(|s| ordinal(s, &mut map)).collect();
        Signatures {
            lhs: l,
            rhs: r,
            count: map.len(),
        }
    }
}

/// Series indices grouped by signature ordinal (compressed rows: the members of group `g`
/// are `members[start[g]..start[g + 1]]`, in ascending series order).
#[derive(Debug)]
pub(super) struct Groups {
    start: Vec<u32>,
    members: Vec<u32>,
}

impl Groups {
    pub(super) fn new(sigs: &[u32], count: usize) -> Self {
        let mut start = vec![0u32; count + 1];
        for &s in sigs {
            start[s as usize + 1] += 1;
        }
        for g in 0..count {
            start[g + 1] += start[g];
        }
        let mut fill = start.clone();
        let mut members = vec![0u32; sigs.len()];
        for (i, &s) in sigs.iter().enumerate() {
            let pos = &mut fill[s as usize];
            members[*pos as usize] = i as u32;
            *pos += 1;
        }
        Groups { start, members }
    }

    /// The series indices of group `g`.
    pub(super) fn get(&self, g: usize) -> &[u32] {
        match (self.start.get(g), self.start.get(g + 1)) {
            (Some(&a), Some(&b)) => &self.members[a as usize..b as usize],
            _ => &[],
        }
    }
}
