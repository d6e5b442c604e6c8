//! The index-header: the parts of a block's index the gateway keeps resident (symbol table and
//! postings offset table), built with three ranged GETs (TOC, header + symbols, postings offset
//! table; never the whole index) and kept in `<data-dir>/<ULID>/index-header` so a restart loads
//! it from disk instead of the bucket.
//!
//! File layout (modelled on Thanos' binary index-header, `docs/operating/binary-index-header.md`):
//! ```text
//! BE32 magic 0xBAAAD792 | u8 version=1 | u8 index version | BE64 index file size
//! the index TOC (52 bytes, with its own CRC)
//! the index symbol table section, copied verbatim (len | body | crc)
//! the index postings offset table section, copied verbatim (len | body | crc)
//! BE32 CRC32C of everything above
//! ```
//! The whole postings offset table is kept in memory (not 1 in 32 entries): it costs about the
//! size of the section itself, measured in the tests.

use std::ops::Range;
use std::path::Path;

use bytes::Bytes;
use strata_tsdb::encoding::{Decbuf, crc32};
use strata_tsdb::index::{
    FORMAT_V2, FORMAT_V3, HEADER_LEN, MAGIC_INDEX, PostingsOffsetTable, Symbols, Toc,
    parse_postings_offset_table, parse_symbol_table, parse_toc,
};
use strata_tsdb::{Error, Result};

use strata_objstore::ObjectRange;
use strata_tsdb::range::RangeSource;

/// Magic of an index-header file.
pub const MAGIC_INDEX_HEADER: u32 = 0xBAAA_D792;
/// Version of the index-header layout written here.
pub const INDEX_HEADER_VERSION: u8 = 1;
/// File name inside `<data-dir>/<ULID>/`.
pub const INDEX_HEADER_FILENAME: &str = "index-header";
/// Bytes before the symbol table copy.
const PREFIX_LEN: usize = 4 + 1 + 1 + 8 + Toc::LEN;
/// Bytes read speculatively for the index header and symbol table when building.
const SYMBOLS_READ_GUESS: u64 = 64 * 1024;

fn corrupted(reason: impl Into<String>) -> Error {
    Error::Corrupted {
        what: "index-header",
        reason: reason.into(),
    }
}

/// The resident part of one block's index.
#[derive(Debug)]
pub struct IndexHeader {
    /// Index format version (2 or 3).
    pub index_version: u8,
    /// Size of the index file in bytes.
    pub index_size: u64,
    /// The index TOC.
    pub toc: Toc,
    /// Every symbol.
    pub symbols: Symbols,
    /// Every postings offset table entry.
    pub table: PostingsOffsetTable,
    /// Size of the encoded index-header file.
    pub file_size: u64,
}

/// Length of a `BE32 len | body | BE32 crc` section starting at `b[0]`.
fn section_len(b: &[u8], what: &'static str) -> Result<usize> {
    let len = Decbuf::new(b, what).be32()? as usize;
    Ok(len + 8)
}

impl IndexHeader {
    /// The byte range of the series section in the index.
    pub fn series_range(&self) -> Range<u64> {
        self.toc.series..self.toc.series_end()
    }

    /// Approximate resident bytes (symbols and postings offset table).
    pub fn resident_bytes(&self) -> usize {
        // Strings plus one end offset per symbol; table: values, ends and offsets.
        self.symbols.data_len()
            + self.symbols.len() * std::mem::size_of::<usize>()
            + self.table.len() * (std::mem::size_of::<usize>() + std::mem::size_of::<u64>() + 16)
    }

    /// Build the index-header of `index` with three ranged GETs (four when the symbol table is
    /// larger than the first read); returns it and the file bytes.
    pub(crate) async fn build(index: &ObjectRange) -> Result<(Self, Vec<u8>)> {
        let size = index.size();
        if size < (HEADER_LEN + Toc::LEN) as u64 {
            return Err(Error::Corrupted {
                what: "index",
                reason: format!("{size} bytes is too small for an index"),
            });
        }
        let toc_start = size - Toc::LEN as u64;
        let toc_bytes = index.read(toc_start..size).await?;
        let toc = parse_toc(&toc_bytes)?;
        toc.check_order(size)?;
        // Header and symbol table, usually in one GET: read up to 64 KiB speculatively, then
        // exactly the symbol table's declared length if it is longer. Never trust the TOC's
        // series offset for the size: a forged one could make this read the whole index.
        let series_start = toc.series.max(HEADER_LEN as u64);
        let guess = series_start.min(SYMBOLS_READ_GUESS);
        let mut head = index.read(0..guess).await?;
        let sym_len_at = toc.symbols as usize;
        if let Some(b) = head.get(sym_len_at..sym_len_at + 4) {
            let declared = u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            // BE32 len, the len bytes, BE32 CRC.
            let end = toc.symbols + 4 + declared + 4;
            if end > series_start {
                return Err(corrupted("symbol table runs into the series section"));
            }
            if end > guess {
                head = index.read(0..end).await?;
            }
        }
        let mut d = Decbuf::new(&head, "index header");
        let magic = d.be32()?;
        if magic != MAGIC_INDEX {
            return Err(Error::Corrupted {
                what: "index header",
                reason: format!("invalid magic number {magic:#010x}"),
            });
        }
        let version = d.byte()?;
        if version != FORMAT_V2 && version != FORMAT_V3 {
            return Err(Error::Unsupported {
                what: "index version",
                value: version.to_string(),
            });
        }
        let sym_start = toc.symbols as usize;
        let syms = head
            .get(sym_start..)
            .ok_or_else(|| corrupted("symbol table offset past the series section"))?;
        let sym_len = section_len(syms, "index symbols")?;
        let syms = syms
            .get(..sym_len)
            .ok_or_else(|| corrupted("symbol table runs into the series section"))?;
        let table_bytes = index.read(toc.postings_table..toc_start).await?;
        let table_len = section_len(&table_bytes, "index postings offset table")?;
        let table_sec = table_bytes
            .get(..table_len)
            .ok_or_else(|| corrupted("postings offset table runs into the TOC"))?;

        let mut out = Vec::with_capacity(PREFIX_LEN + syms.len() + table_sec.len() + 4);
        out.extend_from_slice(&MAGIC_INDEX_HEADER.to_be_bytes());
        out.push(INDEX_HEADER_VERSION);
        out.push(version);
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(&toc_bytes);
        out.extend_from_slice(syms);
        out.extend_from_slice(table_sec);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        let header = Self::decode(&out)?;
        Ok((header, out))
    }

    /// Decode an index-header file, checking its CRC and every section.
    pub fn decode(b: &[u8]) -> Result<Self> {
        if b.len() < PREFIX_LEN + 4 {
            return Err(corrupted(format!("{} bytes is too short", b.len())));
        }
        let (body, crc) = b.split_at(b.len() - 4);
        let expected = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let actual = crc32(body);
        if expected != actual {
            return Err(Error::Checksum {
                what: "index-header",
                expected,
                actual,
            });
        }
        let mut d = Decbuf::new(body, "index-header");
        let magic = d.be32()?;
        if magic != MAGIC_INDEX_HEADER {
            return Err(corrupted(format!("invalid magic number {magic:#010x}")));
        }
        let version = d.byte()?;
        if version != INDEX_HEADER_VERSION {
            return Err(Error::Unsupported {
                what: "index-header version",
                value: version.to_string(),
            });
        }
        let index_version = d.byte()?;
        let index_size = d.be64()?;
        let toc = parse_toc(d.bytes(Toc::LEN)?)?;
        toc.check_order(index_size)?;
        let rest = d.rest();
        let sym_len = section_len(rest, "index symbols")?;
        let symbols = parse_symbol_table(
            rest.get(..sym_len)
                .ok_or_else(|| corrupted("truncated symbol table"))?,
        )?;
        let rest = &rest[sym_len..];
        let table_len = section_len(rest, "index postings offset table")?;
        if table_len != rest.len() {
            return Err(corrupted(format!(
                "postings offset table is {table_len} bytes, {} remain",
                rest.len()
            )));
        }
        let table = parse_postings_offset_table(rest, toc.postings_table)?;
        Ok(Self {
            index_version,
            index_size,
            toc,
            symbols,
            table,
            file_size: b.len() as u64,
        })
    }

    /// Load `<dir>/index-header` if it is valid for an index of `index.size()` bytes, otherwise
    /// build it from the bucket and write it (temp file + rename). Returns whether it was built.
    pub(crate) async fn load_or_build(dir: &Path, index: &ObjectRange) -> Result<(Self, bool)> {
        let path = dir.join(INDEX_HEADER_FILENAME);
        match tokio::fs::read(&path).await {
            Ok(b) => match Self::decode(&b) {
                Ok(h) if h.index_size == index.size() => return Ok((h, false)),
                Ok(h) => tracing::warn!(
                    path = %path.display(),
                    header_index_size = h.index_size,
                    index_size = index.size(),
                    "index-header is for another index; rebuilding"
                ),
                Err(e) => tracing::warn!(
                    path = %path.display(), error = %e, "invalid index-header; rebuilding"
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read index-header; rebuilding");
            }
        }
        let (header, bytes) = Self::build(index).await?;
        let io = |e: std::io::Error, p: &Path| Error::Io {
            path: p.display().to_string(),
            source: e,
        };
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io(e, dir))?;
        let tmp = dir.join(format!("{INDEX_HEADER_FILENAME}.tmp"));
        tokio::fs::write(&tmp, Bytes::from(bytes))
            .await
            .map_err(|e| io(e, &tmp))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io(e, &path))?;
        Ok((header, true))
    }
}
