//! The index v2 reader (Prometheus `tsdb/docs/format/index.md`) over any [`RangeSource`]: opening
//! reads the header, TOC, symbol table and postings offset table with ranged reads; postings lists
//! and series entries are then fetched by range on demand. Versions 2 and 3 are read, 1 is refused.

use std::collections::HashSet;
use std::ops::Range;

use bytes::Bytes;

use crate::encoding::Decbuf;
use crate::index::series::series_entry_size;
use crate::index::{
    FORMAT_V1, FORMAT_V2, FORMAT_V3, HEADER_LEN, MAGIC_INDEX, PostingsOffsetTable, SERIES_ALIGN,
    SeriesEntry, Symbols, Toc, decode_postings, decode_series_entry, parse_postings_offset_table,
    parse_symbol_table, parse_toc,
};
use crate::matchers::Matcher;
use crate::postings::{intersect_many, merge, without};
use crate::range::RangeSource;
use crate::{Error, Result};

/// Bytes read for a series entry before knowing its length; longer entries take a second read.
const SERIES_WINDOW: u64 = 512;

/// Read the `BE32 len | body | BE32 crc` section at `off`. If `hint_end` leaves room for the
/// whole section it is read in one request, otherwise the length is read first.
async fn read_section<S: RangeSource>(
    source: &S,
    off: u64,
    hint_end: u64,
    what: &'static str,
) -> Result<Bytes> {
    let size = source.size();
    let hint_end = hint_end.min(size);
    let total = |b: &[u8]| -> Result<u64> { Ok(8 + u64::from(Decbuf::new(b, what).be32()?)) };
    if hint_end >= off.saturating_add(8) {
        let b = source.read(off..hint_end).await?;
        let n = total(&b)?;
        if n <= b.len() as u64 {
            return Ok(b.slice(..n as usize));
        }
    }
    if off.saturating_add(8) > size {
        return Err(Error::corrupted(
            what,
            format!("section at {off} is past the end of the {size} byte file"),
        ));
    }
    let n = total(&source.read(off..off + 4).await?)?;
    if off + n > size {
        return Err(Error::corrupted(
            what,
            format!("section of {n} bytes at {off} exceeds the {size} byte file"),
        ));
    }
    source.read(off..off + n).await
}

/// A reader of one index file.
#[derive(Debug)]
pub struct IndexReader<S> {
    source: S,
    version: u8,
    toc: Toc,
    symbols: Symbols,
    table: PostingsOffsetTable,
    series: Range<u64>,
}

impl<S: RangeSource> IndexReader<S> {
    /// Open an index: check the header and TOC, load the symbols and the postings offset table.
    pub async fn open(source: S) -> Result<Self> {
        let size = source.size();
        let min = (HEADER_LEN + Toc::LEN) as u64;
        if size < min {
            return Err(Error::corrupted(
                "index",
                format!("{size} bytes is too small for an index"),
            ));
        }
        let header = source.read(0..HEADER_LEN as u64).await?;
        let mut d = Decbuf::new(&header, "index header");
        let magic = d.be32()?;
        if magic != MAGIC_INDEX {
            return Err(Error::corrupted(
                "index header",
                format!("invalid magic number {magic:#010x}"),
            ));
        }
        let version = d.byte()?;
        match version {
            FORMAT_V2 | FORMAT_V3 => {}
            FORMAT_V1 => {
                return Err(Error::Unsupported {
                    what: "index version",
                    value: "1 (written before prometheus 2.0 stable)".into(),
                });
            }
            v => {
                return Err(Error::Unsupported {
                    what: "index version",
                    value: v.to_string(),
                });
            }
        }
        let toc_start = size - Toc::LEN as u64;
        let toc = parse_toc(&source.read(toc_start..size).await?)?;
        toc.check_order(size)?;
        let series_end = toc.series_end();
        let b = read_section(&source, toc.symbols, toc.series, "index symbols").await?;
        let symbols = parse_symbol_table(&b)?;
        drop(b);
        let b = read_section(
            &source,
            toc.postings_table,
            toc_start,
            "index postings offset table",
        )
        .await?;
        let table = parse_postings_offset_table(&b, toc.postings_table)?;
        Ok(Self {
            source,
            version,
            toc,
            symbols,
            table,
            series: toc.series..series_end,
        })
    }

    /// The underlying source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The format version (2 or 3).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The table of contents.
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// The symbol table.
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// The postings offset table.
    pub fn postings_table(&self) -> &PostingsOffsetTable {
        &self.table
    }

    /// The byte range of the series section.
    pub fn series_range(&self) -> Range<u64> {
        self.series.clone()
    }

    /// The symbol with reference `id`.
    pub fn symbol(&self, id: u32) -> Result<&str> {
        self.symbols.get(id)
    }

    /// All label names, sorted.
    pub fn label_names(&self) -> Vec<&str> {
        self.table.label_names()
    }

    /// All values of label `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<&str> {
        self.table.label_values(name)
    }

    async fn read_postings(&self, range: Range<u64>) -> Result<Vec<u32>> {
        let b = read_section(&self.source, range.start, range.end, "index postings list").await?;
        decode_postings(&b)
    }

    /// The postings list of `(name, value)`; empty if the pair is absent.
    pub async fn postings(&self, name: &str, value: &str) -> Result<Vec<u32>> {
        match self.table.postings_range(name, value) {
            Some(r) => self.read_postings(r).await,
            None => Ok(Vec::new()),
        }
    }

    /// Every series ref of the index.
    pub async fn all_postings(&self) -> Result<Vec<u32>> {
        match self.table.all_postings_range() {
            Some(r) => self.read_postings(r).await,
            None => Ok(Vec::new()),
        }
    }

    async fn union_of(&self, ranges: impl IntoIterator<Item = Range<u64>>) -> Result<Vec<u32>> {
        let mut lists = Vec::new();
        for r in ranges {
            lists.push(self.read_postings(r).await?);
        }
        Ok(merge(&lists))
    }

    /// The series selected by all `matchers`, Prometheus semantics: a matcher that matches `""`
    /// also selects series without the label. No matchers select nothing.
    pub async fn postings_for_matchers(&self, matchers: &[Matcher]) -> Result<Vec<u32>> {
        if matchers.is_empty() {
            return Ok(Vec::new());
        }
        let must_be_set: HashSet<&str> = matchers
            .iter()
            .filter(|m| !m.matches_empty())
            .map(|m| m.name())
            .collect();
        let mut its: Vec<Vec<u32>> = Vec::new();
        let mut not_its: Vec<Vec<u32>> = Vec::new();
        for m in matchers {
            if m.name().is_empty() {
                // No series has a label named "": its value is always "".
                if m.matches_empty() {
                    continue;
                }
                return Ok(Vec::new());
            }
            let list = if !m.matches_empty() {
                if let Some(values) = m.set_matches() {
                    let ranges = values
                        .iter()
                        .filter_map(|v| self.table.postings_range(m.name(), v));
                    self.union_of(ranges.collect::<Vec<_>>()).await?
                } else {
                    let values = self.table.values_with_ranges(m.name());
                    let ranges = values.into_iter().filter(|(v, _)| m.matches(v));
                    self.union_of(ranges.map(|(_, r)| r).collect::<Vec<_>>())
                        .await?
                }
            } else {
                let (matching, other): (Vec<_>, Vec<_>) = self
                    .table
                    .values_with_ranges(m.name())
                    .into_iter()
                    .partition(|(v, _)| m.matches(v));
                if must_be_set.contains(m.name()) && matching.len() < other.len() {
                    // Series without the label are excluded by another matcher anyway.
                    self.union_of(matching.into_iter().map(|(_, r)| r)).await?
                } else {
                    if !other.is_empty() {
                        not_its.push(self.union_of(other.into_iter().map(|(_, r)| r)).await?);
                    }
                    continue;
                }
            };
            if list.is_empty() {
                return Ok(Vec::new());
            }
            its.push(list);
        }
        let base = if its.is_empty() {
            self.all_postings().await?
        } else {
            intersect_many(&its)
        };
        Ok(without(&base, &merge(&not_its)))
    }

    /// The series entry with ref `series_ref` (its offset divided by 16).
    pub async fn series(&self, series_ref: u32) -> Result<SeriesEntry> {
        let off = u64::from(series_ref) * SERIES_ALIGN;
        if off < self.series.start || off >= self.series.end {
            return Err(Error::corrupted(
                "index series",
                format!(
                    "series ref {series_ref} (offset {off}) is outside the series section {:?}",
                    self.series
                ),
            ));
        }
        let window_end = off.saturating_add(SERIES_WINDOW).min(self.series.end);
        let mut b = self.source.read(off..window_end).await?;
        let Some(size) = series_entry_size(&b)? else {
            return Err(Error::corrupted(
                "index series",
                format!("truncated series entry at offset {off}"),
            ));
        };
        let have = b.len() as u64;
        if size > have {
            let end = off.checked_add(size).filter(|&e| e <= self.series.end);
            let Some(end) = end else {
                return Err(Error::corrupted(
                    "index series",
                    format!("series entry of {size} bytes at offset {off} exceeds the section"),
                ));
            };
            let rest = self.source.read(off + have..end).await?;
            let mut all = Vec::with_capacity(size as usize);
            all.extend_from_slice(&b);
            all.extend_from_slice(&rest);
            b = Bytes::from(all);
        }
        let (entry, _) = decode_series_entry(&b, |id| self.symbols.get(id))?;
        Ok(entry)
    }
}
