//! Prometheus' label-set hash (`labels.Labels.Hash()`), used by `limit_ratio` to pick the
//! same series as Prometheus.

use strata_tsdb::labels::Labels;

/// XXH64 (seed 0) of `name 0xff value 0xff …` over all labels; `buf` is scratch space.
pub(crate) fn labels_hash(labels: &Labels, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    for l in labels.iter() {
        buf.extend_from_slice(l.name.as_bytes());
        buf.push(0xff);
        buf.extend_from_slice(l.value.as_bytes());
        buf.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(buf, 0)
}
