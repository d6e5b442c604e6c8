//! A full consistency walk of an index (Prometheus `tsdb/docs/format/index.md`): every postings
//! list and every series entry is decoded and checked against the format's invariants. Used by
//! fuzzing and the corruption tests; it holds the postings in memory, so it is not meant for huge
//! indexes.

use std::collections::HashMap;

use crate::index::{IndexReader, SERIES_ALIGN};
use crate::range::RangeSource;
use crate::{Error, Labels, Result};

/// Counts gathered by [`verify_index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    /// Index file size in bytes.
    pub size: u64,
    /// Symbols in the symbol table.
    pub symbols: u64,
    /// Series entries.
    pub series: u64,
    /// Chunk metas over all series.
    pub chunks: u64,
    /// Distinct label names.
    pub label_names: u64,
    /// Postings lists, without the all-postings list.
    pub postings_lists: u64,
    /// Refs over all postings lists, without the all-postings list.
    pub postings_entries: u64,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::corrupted("index", reason)
}

/// Open the index in `source` and check all of it: series order, label order, chunk meta
/// constraints, and that the postings lists are exactly the label pairs of the series.
pub async fn verify_index<S: RangeSource>(source: S) -> Result<IndexStats> {
    let r = IndexReader::open(source).await?;
    let mut stats = IndexStats {
        size: r.source().size(),
        symbols: r.symbols().len() as u64,
        label_names: r.label_names().len() as u64,
        ..Default::default()
    };
    let all = r.all_postings().await?;
    let mut expected: HashMap<(String, String), Vec<u32>> = HashMap::new();
    let mut last: Option<Labels> = None;
    let mut last_chunk_ref = 0u64;
    let mut next_min_offset = r.series_range().start;
    for &sref in &all {
        let off = u64::from(sref) * SERIES_ALIGN;
        if off < next_min_offset {
            return Err(bad(format!(
                "series ref {sref} overlaps the previous series"
            )));
        }
        let s = r.series(sref).await?;
        next_min_offset = off + 1;
        if s.labels.is_empty() {
            return Err(bad(format!("series {sref} has no labels")));
        }
        if let Some(l) = &last
            && s.labels <= *l
        {
            return Err(bad(format!("series {} is not after {l}", s.labels)));
        }
        for (i, c) in s.chunks.iter().enumerate() {
            if c.max_time < c.min_time {
                return Err(bad(format!(
                    "series {sref}: chunk max time before min time"
                )));
            }
            if i > 0 && c.min_time <= s.chunks[i - 1].max_time {
                return Err(bad(format!("series {sref}: overlapping chunks")));
            }
            if c.chunk_ref < last_chunk_ref {
                return Err(bad(format!("series {sref}: chunk refs decrease")));
            }
            last_chunk_ref = c.chunk_ref;
        }
        for l in &s.labels {
            if l.value.is_empty() {
                return Err(bad(format!("series {sref}: empty value of {:?}", l.name)));
            }
            expected
                .entry((l.name.clone(), l.value.clone()))
                .or_default()
                .push(sref);
        }
        stats.series += 1;
        stats.chunks += s.chunks.len() as u64;
        last = Some(s.labels);
    }
    for name in r.label_names() {
        for value in r.label_values(name) {
            let p = r.postings(name, value).await?;
            let want = expected.remove(&(name.to_string(), value.to_string()));
            if want.as_deref() != Some(p.as_slice()) {
                return Err(bad(format!(
                    "postings of {name}={value:?} do not match the series"
                )));
            }
            stats.postings_lists += 1;
            stats.postings_entries += p.len() as u64;
        }
    }
    if let Some(((n, v), _)) = expected.into_iter().next() {
        return Err(bad(format!("no postings list for {n}={v:?}")));
    }
    Ok(stats)
}
