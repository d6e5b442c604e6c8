//! The index table of contents: the last 52 bytes of an index file (Prometheus
//! `tsdb/docs/format/index.md`, "TOC").

use crate::encoding::{Decbuf, Encbuf, crc32};
use crate::{Error, Result};

/// Section offsets of an index file. A zero offset means "section absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Toc {
    /// Start of the symbol table.
    pub symbols: u64,
    /// Start of the series section (possibly before the padding of the first entry).
    pub series: u64,
    /// Start of the legacy label indices, i.e. the end of the series section.
    pub label_indices: u64,
    /// Legacy label offset table; equal to `postings_table` in files without it.
    pub label_indices_table: u64,
    /// Start of the postings lists (possibly before the padding of the first list).
    pub postings: u64,
    /// Start of the postings offset table.
    pub postings_table: u64,
}

impl Toc {
    /// Size of the encoded TOC: six BE64 offsets and a CRC32.
    pub const LEN: usize = 6 * 8 + 4;

    /// End of the series section: the legacy label indices when present, else the postings.
    pub fn series_end(&self) -> u64 {
        if self.label_indices != 0 {
            self.label_indices
        } else {
            self.postings
        }
    }

    /// Check that the sections of an index of `index_size` bytes appear in file order
    /// (header, symbols, series, postings, postings offset table, TOC).
    pub fn check_order(&self, index_size: u64) -> Result<()> {
        let toc_start = index_size.saturating_sub(Self::LEN as u64);
        let ordered = [
            super::HEADER_LEN as u64,
            self.symbols,
            self.series,
            self.series_end(),
            self.postings,
            self.postings_table,
            toc_start,
        ];
        if ordered.windows(2).any(|w| w[0] > w[1]) {
            return Err(Error::corrupted(
                "index toc",
                format!("section offsets are out of order: {self:?} in {index_size} bytes"),
            ));
        }
        Ok(())
    }

    /// Encode the TOC with its checksum.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut e = Encbuf::new();
        for v in [
            self.symbols,
            self.series,
            self.label_indices,
            self.label_indices_table,
            self.postings,
            self.postings_table,
        ] {
            e.put_be64(v);
        }
        let crc = crc32(&e.buf);
        e.put_be32(crc);
        let mut out = [0u8; Self::LEN];
        out.copy_from_slice(&e.buf);
        out
    }
}

/// Parse a TOC from exactly its 52 bytes (the last 52 bytes of the file), checking the CRC.
pub fn parse_toc(b: &[u8]) -> Result<Toc> {
    if b.len() != Toc::LEN {
        return Err(Error::corrupted(
            "index toc",
            format!("expected {} bytes, got {}", Toc::LEN, b.len()),
        ));
    }
    let (body, crc) = b.split_at(Toc::LEN - 4);
    let mut d = Decbuf::new(crc, "index toc");
    let expected = d.be32()?;
    let actual = crc32(body);
    if expected != actual {
        return Err(Error::Checksum {
            what: "index toc",
            expected,
            actual,
        });
    }
    let mut d = Decbuf::new(body, "index toc");
    Ok(Toc {
        symbols: d.be64()?,
        series: d.be64()?,
        label_indices: d.be64()?,
        label_indices_table: d.be64()?,
        postings: d.be64()?,
        postings_table: d.be64()?,
    })
}
