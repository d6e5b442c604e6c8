//! The streaming index v2 writer (Prometheus `tsdb/docs/format/index.md`, in the write order of
//! `tsdb/index/index.go`): header, symbol table, 16-byte aligned series, 4-byte aligned postings
//! (all-postings first), postings offset table and TOC, byte-compatible with Prometheus ≥ 3.7 (no
//! legacy label index sections).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::encoding::{Encbuf, crc32, uvarint_len};
use crate::index::series::encode_series_body;
use crate::index::{ChunkMeta, FORMAT_V2, MAGIC_INDEX, POSTINGS_ALIGN, SERIES_ALIGN, Symbols, Toc};
use crate::{Error, Labels, Result};

/// Writes an index file. Call [`IndexWriter::add_series`] for every series in label order, then
/// [`IndexWriter::finish`]; a writer dropped before `finish` leaves an incomplete file behind.
#[derive(Debug)]
pub struct IndexWriter {
    path: PathBuf,
    out: BufWriter<File>,
    pos: u64,
    toc: Toc,
    symbols: Symbols,
    /// Postings per `(name ref << 32) | value ref`; symbol order is string order.
    postings: HashMap<u64, Vec<u32>>,
    all: Vec<u32>,
    last_series: Option<Labels>,
    last_chunk_ref: u64,
    buf: Encbuf,
    label_refs: Vec<(u32, u32)>,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidInput(msg.into())
}

impl IndexWriter {
    /// Create (or truncate) the index at `path` and write its header and symbol table.
    /// `symbols` must be sorted and unique and contain every label name and value to be added.
    pub fn create(
        path: &Path,
        symbols: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<IndexWriter> {
        let mut table = Symbols::new();
        for s in symbols {
            table.push(s.as_ref())?;
        }
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut w = IndexWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            pos: 0,
            toc: Toc::default(),
            symbols: table,
            postings: HashMap::new(),
            all: Vec::new(),
            last_series: None,
            last_chunk_ref: 0,
            buf: Encbuf::new(),
            label_refs: Vec::new(),
        };
        let mut header = Encbuf::new();
        header.put_be32(MAGIC_INDEX);
        header.put_byte(FORMAT_V2);
        w.write(&header.buf)?;
        w.write_symbols()?;
        w.toc.series = w.pos;
        Ok(w)
    }

    fn write(&mut self, b: &[u8]) -> Result<()> {
        self.out
            .write_all(b)
            .map_err(|e| Error::io(&self.path, e))?;
        self.pos += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self, align: u64) -> Result<()> {
        let rem = self.pos % align;
        if rem != 0 {
            let zeros = [0u8; 16];
            self.write(&zeros[..(align - rem) as usize])?;
        }
        Ok(())
    }

    fn write_symbols(&mut self) -> Result<()> {
        self.toc.symbols = self.pos;
        let body_len: usize = 4 + self
            .symbols
            .iter()
            .map(|s| uvarint_len(s.len() as u64) + s.len())
            .sum::<usize>();
        let body_len = u32::try_from(body_len)
            .map_err(|_| invalid(format!("symbol table of {body_len} bytes exceeds 4 GiB")))?;
        let count = self.symbols.len() as u32; // push() caps the count at u32::MAX
        let mut e = Encbuf::new();
        e.put_be32(body_len);
        e.put_be32(count);
        let mut crc = crc32(&e.buf[4..]);
        let syms = std::mem::take(&mut self.symbols);
        for s in syms.iter() {
            if e.len() >= 1 << 16 {
                self.write(&e.buf)?;
                e.reset();
            }
            let start = e.len();
            e.put_uvarint_str(s);
            crc = crc32c::crc32c_append(crc, &e.buf[start..]);
        }
        e.put_be32(crc);
        self.symbols = syms;
        self.write(&e.buf)
    }

    /// Add the next series; returns its ref (offset / 16). Series must come in strictly
    /// increasing label order, every label name and value must be a symbol, and the chunks must
    /// be ordered in time without overlap with refs not decreasing (also across series).
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<u32> {
        if labels.is_empty() {
            return Err(invalid("series with an empty label set"));
        }
        if let Some(last) = &self.last_series
            && labels <= last
        {
            return Err(invalid(format!(
                "out-of-order series {labels}: not after {last}"
            )));
        }
        if !Labels::is_sorted_unique(labels.as_slice()) {
            return Err(invalid(format!(
                "labels of {labels} are not sorted and unique"
            )));
        }
        let mut last_ref = self.last_chunk_ref;
        for (i, c) in chunks.iter().enumerate() {
            if c.chunk_ref < last_ref {
                return Err(invalid(format!(
                    "series {labels}: chunk ref {} is before previous chunk ref {last_ref}",
                    c.chunk_ref
                )));
            }
            last_ref = c.chunk_ref;
            if c.max_time < c.min_time {
                return Err(invalid(format!(
                    "series {labels}: chunk max time {} is before min time {}",
                    c.max_time, c.min_time
                )));
            }
            if i > 0 && c.min_time <= chunks[i - 1].max_time {
                return Err(invalid(format!(
                    "series {labels}: chunk min time {} is not after previous max time {}",
                    c.min_time,
                    chunks[i - 1].max_time
                )));
            }
        }
        self.label_refs.clear();
        for l in labels {
            if l.name.is_empty() || l.value.is_empty() {
                return Err(invalid(format!(
                    "series {labels}: empty label name or value"
                )));
            }
            let sym = |s: &str| {
                self.symbols
                    .find(s)
                    .ok_or_else(|| invalid(format!("symbol {s:?} is not in the symbol table")))
            };
            let (n, v) = (sym(&l.name)?, sym(&l.value)?);
            self.label_refs.push((n, v));
        }

        self.pad(SERIES_ALIGN)?;
        let series_ref = u32::try_from(self.pos / SERIES_ALIGN)
            .map_err(|_| invalid("index exceeds 64 GiB of series"))?;
        let mut body = std::mem::take(&mut self.buf);
        body.reset();
        encode_series_body(&mut body, &self.label_refs, chunks);
        let mut head = Encbuf::new();
        head.put_uvarint(body.len() as u64);
        let crc = crc32(&body.buf);
        body.put_be32(crc);
        self.write(&head.buf)?;
        let res = self.write(&body.buf);
        self.buf = body;
        res?;

        for &(n, v) in &self.label_refs {
            let key = (u64::from(n) << 32) | u64::from(v);
            self.postings.entry(key).or_default().push(series_ref);
        }
        self.all.push(series_ref);
        self.last_chunk_ref = last_ref;
        self.last_series = Some(labels.clone());
        Ok(series_ref)
    }

    fn write_postings_list(&mut self, refs: &[u32]) -> Result<u64> {
        self.pad(POSTINGS_ALIGN)?;
        let off = self.pos;
        let len = u32::try_from(4 + 4 * refs.len() as u64)
            .map_err(|_| invalid("postings list exceeds 4 GiB"))?;
        let mut e = std::mem::take(&mut self.buf);
        e.reset();
        e.put_be32(len);
        e.put_be32(refs.len() as u32);
        for &r in refs {
            e.put_be32(r);
        }
        let crc = crc32(&e.buf[4..]);
        e.put_be32(crc);
        let res = self.write(&e.buf);
        self.buf = e;
        res.map(|()| off)
    }

    /// Write the postings, the postings offset table and the TOC, flush and sync the file;
    /// returns the file size.
    pub fn finish(mut self) -> Result<u64> {
        self.toc.label_indices = self.pos;
        self.toc.postings = self.pos;

        let all = std::mem::take(&mut self.all);
        let all_off = self.write_postings_list(&all)?;
        drop(all);
        let mut postings: Vec<(u64, Vec<u32>)> =
            std::mem::take(&mut self.postings).into_iter().collect();
        postings.sort_unstable_by_key(|(k, _)| *k);
        let mut key_offsets = Vec::with_capacity(postings.len());
        for (key, refs) in postings {
            key_offsets.push((key, self.write_postings_list(&refs)?));
        }

        self.toc.label_indices_table = self.pos;
        self.toc.postings_table = self.pos;
        let symbols = std::mem::take(&mut self.symbols);
        let mut entries: Vec<(&str, &str, u64)> = Vec::with_capacity(key_offsets.len() + 1);
        entries.push(("", "", all_off));
        for (key, off) in key_offsets {
            entries.push((
                symbols.get((key >> 32) as u32)?,
                symbols.get(key as u32)?,
                off,
            ));
        }
        let body_len: u64 = 4 + entries
            .iter()
            .map(|(n, v, off)| {
                (1 + uvarint_len(n.len() as u64)
                    + n.len()
                    + uvarint_len(v.len() as u64)
                    + v.len()
                    + uvarint_len(*off)) as u64
            })
            .sum::<u64>();
        let body_len =
            u32::try_from(body_len).map_err(|_| invalid("postings offset table exceeds 4 GiB"))?;
        let mut e = Encbuf::new();
        e.put_be32(body_len);
        e.put_be32(entries.len() as u32);
        let mut crc = crc32(&e.buf[4..]);
        for (n, v, off) in &entries {
            if e.len() >= 1 << 16 {
                self.write(&e.buf)?;
                e.reset();
            }
            let start = e.len();
            e.put_uvarint(2);
            e.put_uvarint_str(n);
            e.put_uvarint_str(v);
            e.put_uvarint(*off);
            crc = crc32c::crc32c_append(crc, &e.buf[start..]);
        }
        e.put_be32(crc);
        self.write(&e.buf)?;
        drop(entries);

        let toc = self.toc.encode();
        self.write(&toc)?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        Ok(self.pos)
    }
}
