//! The index symbol table (Prometheus `tsdb/docs/format/index.md`, "Symbol Table"): every label
//! name and value, sorted and unique; in v2 a symbol reference is the 0-based position in the
//! table. Kept in memory as one string arena plus end offsets.

use crate::encoding::{Decbuf, checked_section};
use crate::{Error, Result};

/// An in-memory symbol table: symbol `i` is `data[ends[i-1]..ends[i]]`.
#[derive(Debug, Clone, Default)]
pub struct Symbols {
    data: String,
    ends: Vec<usize>,
}

impl Symbols {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a symbol; it must sort strictly after the previous one.
    pub fn push(&mut self, s: &str) -> Result<()> {
        if let Some(last) = self.ends.len().checked_sub(1)
            && s <= self.get_unchecked(last)
        {
            return Err(Error::InvalidInput(format!(
                "symbol {s:?} is not sorted after {:?}",
                self.get_unchecked(last)
            )));
        }
        if self.ends.len() >= u32::MAX as usize {
            return Err(Error::InvalidInput("too many symbols".into()));
        }
        self.data.push_str(s);
        self.ends.push(self.data.len());
        Ok(())
    }

    fn get_unchecked(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True if there are no symbols.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The symbol with reference `id`.
    pub fn get(&self, id: u32) -> Result<&str> {
        let i = id as usize;
        if i >= self.ends.len() {
            return Err(Error::corrupted(
                "index symbols",
                format!(
                    "unknown symbol reference {id} ({} symbols)",
                    self.ends.len()
                ),
            ));
        }
        Ok(self.get_unchecked(i))
    }

    /// The reference of symbol `s`, if present (binary search: the table is sorted).
    pub fn find(&self, s: &str) -> Option<u32> {
        let (mut lo, mut hi) = (0usize, self.ends.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get_unchecked(mid).cmp(s) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return u32::try_from(mid).ok(),
            }
        }
        None
    }

    /// Iterate over the symbols in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|i| self.get_unchecked(i))
    }

    /// Bytes used by the strings.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Parse a symbol table section starting at `b[0]` (its `len` field); `b` may extend past the
/// section. Checks the CRC, UTF-8 and the sort order.
pub fn parse_symbol_table(b: &[u8]) -> Result<Symbols> {
    const WHAT: &str = "index symbols";
    let body = checked_section(b, WHAT)?;
    let mut d = Decbuf::new(body, WHAT);
    let count = d.be32()? as usize;
    // Every symbol takes at least one byte: never trust the count for allocation.
    if count > d.remaining() {
        return Err(Error::corrupted(
            WHAT,
            format!("{count} symbols cannot fit in {} bytes", d.remaining()),
        ));
    }
    let mut syms = Symbols {
        data: String::with_capacity(d.remaining().saturating_sub(count)),
        ends: Vec::with_capacity(count),
    };
    for _ in 0..count {
        let s = d.uvarint_str()?;
        syms.push(s)
            .map_err(|_| Error::corrupted(WHAT, format!("symbol {s:?} out of order")))?;
    }
    if d.remaining() != 0 {
        return Err(Error::corrupted(
            WHAT,
            format!("{} trailing bytes after {count} symbols", d.remaining()),
        ));
    }
    Ok(syms)
}
