//! The postings offset table and postings lists of an index (Prometheus
//! `tsdb/docs/format/index.md`, "Postings" and "Postings Offset Table").
//! Every entry of the table is kept in memory (values in one string arena), grouped by label
//! name with values sorted, so a postings list can be fetched with a single ranged read.

use std::ops::Range;

use crate::encoding::{Decbuf, checked_section};
use crate::postings::is_strictly_sorted;
use crate::{Error, Result};

const TABLE: &str = "index postings offset table";
const LIST: &str = "index postings list";
/// The smallest possible postings list: len, count and CRC.
const MIN_LIST_LEN: u64 = 12;

/// The decoded postings offset table.
#[derive(Debug, Clone, Default)]
pub struct PostingsOffsetTable {
    /// Label names, sorted, with the range of their entries (file order) in the arrays below.
    names: Vec<(String, Range<usize>)>,
    /// Entry `i`'s value is `values[value_ends[i-1]..value_ends[i]]`.
    values: String,
    value_ends: Vec<usize>,
    /// Entry `i`'s postings list offset.
    offsets: Vec<u64>,
    /// Offset of the all-postings list (key `("", "")`), if present.
    all: Option<u64>,
    /// Where the postings lists end (the start of the table): the bound of the last list.
    postings_end: u64,
}

impl PostingsOffsetTable {
    fn value(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.value_ends[i - 1] };
        &self.values[start..self.value_ends[i]]
    }

    /// A byte range that starts at entry `i`'s list and contains at least the whole list when the
    /// lists are written in table order (as Prometheus does); readers must still check.
    fn range_of(&self, i: usize) -> Range<u64> {
        let off = self.offsets[i];
        let end = match self.offsets.get(i + 1) {
            Some(&next) if next >= off + MIN_LIST_LEN => next,
            _ => self.postings_end,
        };
        off..end.max(off)
    }

    fn find_name(&self, name: &str) -> Option<&Range<usize>> {
        self.names
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| &self.names[i].1)
    }

    /// Number of (name, value) entries, without the all-postings key.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// True if there are no entries besides the all-postings key.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Label names, sorted (the all-postings key `""` is not one).
    pub fn label_names(&self) -> Vec<&str> {
        self.names.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Values of label `name`, sorted; empty if the name is absent.
    pub fn label_values(&self, name: &str) -> Vec<&str> {
        self.find_name(name)
            .map(|r| r.clone().map(|i| self.value(i)).collect())
            .unwrap_or_default()
    }

    /// Values of label `name` with the byte range to read for each postings list.
    pub fn values_with_ranges(&self, name: &str) -> Vec<(&str, Range<u64>)> {
        self.find_name(name)
            .map(|r| {
                r.clone()
                    .map(|i| (self.value(i), self.range_of(i)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The byte range to read for the postings list of `(name, value)`, if present.
    pub fn postings_range(&self, name: &str, value: &str) -> Option<Range<u64>> {
        let r = self.find_name(name)?;
        let (start, end) = (r.start, r.end);
        let (mut lo, mut hi) = (start, end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.value(mid).cmp(value) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.range_of(mid)),
            }
        }
        None
    }

    /// The byte range to read for the all-postings list, if present.
    pub fn all_postings_range(&self) -> Option<Range<u64>> {
        let off = self.all?;
        let end = match self.offsets.first() {
            Some(&next) if next >= off + MIN_LIST_LEN => next,
            _ => self.postings_end,
        };
        Some(off..end.max(off))
    }
}

/// Parse the postings offset table section starting at `b[0]` (its `len` field). `postings_end`
/// is the file offset of the table itself: every postings list must lie before it.
pub fn parse_postings_offset_table(b: &[u8], postings_end: u64) -> Result<PostingsOffsetTable> {
    let body = checked_section(b, TABLE)?;
    let mut d = Decbuf::new(body, TABLE);
    let count = d.be32()? as usize;
    // An entry takes at least 4 bytes (key count, two lengths, offset).
    if count > d.remaining() / 4 {
        return Err(Error::corrupted(
            TABLE,
            format!("{count} entries cannot fit in {} bytes", d.remaining()),
        ));
    }
    let mut t = PostingsOffsetTable {
        postings_end,
        offsets: Vec::with_capacity(count),
        value_ends: Vec::with_capacity(count),
        ..Default::default()
    };
    let mut last: Option<(&str, &str)> = None;
    for _ in 0..count {
        let keys = d.uvarint()?;
        if keys != 2 {
            return Err(Error::corrupted(
                TABLE,
                format!("unexpected key count {keys}"),
            ));
        }
        let name = d.uvarint_str()?;
        let value = d.uvarint_str()?;
        let off = d.uvarint()?;
        if off
            .checked_add(MIN_LIST_LEN)
            .is_none_or(|e| e > postings_end)
        {
            return Err(Error::corrupted(
                TABLE,
                format!("postings offset {off} of {name:?}={value:?} is out of bounds"),
            ));
        }
        if let Some(prev) = last
            && prev >= (name, value)
        {
            return Err(Error::corrupted(
                TABLE,
                format!("entry {name:?}={value:?} is not sorted after {prev:?}"),
            ));
        }
        last = Some((name, value));
        if name.is_empty() {
            if !value.is_empty() {
                return Err(Error::corrupted(TABLE, "empty label name"));
            }
            t.all = Some(off);
            continue;
        }
        let i = t.offsets.len();
        match t.names.last_mut() {
            Some((n, r)) if n == name => r.end = i + 1,
            _ => t.names.push((name.to_string(), i..i + 1)),
        }
        t.values.push_str(value);
        t.value_ends.push(t.values.len());
        t.offsets.push(off);
    }
    if d.remaining() != 0 {
        return Err(Error::corrupted(
            TABLE,
            format!("{} trailing bytes after {count} entries", d.remaining()),
        ));
    }
    Ok(t)
}

/// Decode a postings list starting at `b[0]` (its `len` field; `b` may extend past the list),
/// checking the CRC and that the refs are strictly increasing.
pub fn decode_postings(b: &[u8]) -> Result<Vec<u32>> {
    let body = checked_section(b, LIST)?;
    let mut d = Decbuf::new(body, LIST);
    let n = d.be32()? as usize;
    if d.remaining() != n.saturating_mul(4) {
        return Err(Error::corrupted(
            LIST,
            format!("{n} refs do not match {} bytes", d.remaining()),
        ));
    }
    let out: Vec<u32> = d
        .rest()
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if !is_strictly_sorted(&out) {
        return Err(Error::corrupted(LIST, "refs are not strictly increasing"));
    }
    Ok(out)
}
