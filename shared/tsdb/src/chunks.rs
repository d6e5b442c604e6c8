//! Chunk segment files `<block>/chunks/NNNNNN` (Prometheus `tsdb/docs/format/chunks.md`): an
//! 8-byte header (BE32 magic 0x85BD40DD, version 1, 3 zero bytes), then chunks as
//! `uvarint len | encoding byte | data | BE32 CRC32C(encoding + data)`. A chunk reference is
//! `segment_index << 32 | offset`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::chunkenc::Encoding;
use crate::encoding::{Decbuf, Encbuf, crc32, uvarint_len};
use crate::range::RangeSource;
use crate::{Error, Result};

/// Segment file magic.
pub const MAGIC_CHUNKS: u32 = 0x85BD_40DD;
/// Segment header size.
pub const SEGMENT_HEADER_SIZE: u64 = 8;
/// Default maximum segment size (512 MiB).
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 * 1024 * 1024;

/// Name of segment `index` (0-based): `000001` for index 0.
pub fn segment_name(index: usize) -> String {
    format!("{:06}", index + 1)
}

/// Split a chunk reference into (segment index, offset).
pub fn split_ref(r: u64) -> (usize, u64) {
    ((r >> 32) as usize, r & 0xffff_ffff)
}

/// Writes chunks into numbered segment files in a directory.
#[derive(Debug)]
pub struct ChunkWriter {
    dir: PathBuf,
    max_segment_size: u64,
    file: Option<BufWriter<std::fs::File>>,
    segment: usize,
    offset: u64,
    segments: Vec<(String, u64)>,
    scratch: Encbuf,
}

impl ChunkWriter {
    /// Write segments into `dir` (created if missing) with the default segment size.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self> {
        Self::with_segment_size(dir, DEFAULT_SEGMENT_SIZE)
    }

    /// Write segments into `dir`, cutting a new file before a chunk would exceed `max`.
    pub fn with_segment_size(dir: impl AsRef<Path>, max: u64) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Self {
            dir,
            max_segment_size: max.max(SEGMENT_HEADER_SIZE + 1),
            file: None,
            segment: 0,
            offset: 0,
            segments: Vec::new(),
            scratch: Encbuf::new(),
        })
    }

    fn cut(&mut self) -> Result<()> {
        self.finish_segment()?;
        let index = self.segments.len();
        let path = self.dir.join(segment_name(index));
        let f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut hdr = Encbuf::new();
        hdr.put_be32(MAGIC_CHUNKS);
        hdr.put_byte(1);
        hdr.put_bytes(&[0, 0, 0]);
        w.write_all(&hdr.buf).map_err(|e| Error::io(&path, e))?;
        self.file = Some(w);
        self.segment = index;
        self.offset = SEGMENT_HEADER_SIZE;
        self.segments.push((segment_name(index), 0));
        Ok(())
    }

    fn finish_segment(&mut self) -> Result<()> {
        if let Some(mut w) = self.file.take() {
            let path = self.dir.join(segment_name(self.segment));
            w.flush().map_err(|e| Error::io(&path, e))?;
            let f = w
                .into_inner()
                .map_err(|e| Error::io(&path, e.into_error()))?;
            f.sync_all().map_err(|e| Error::io(&path, e))?;
            if let Some(last) = self.segments.last_mut() {
                last.1 = self.offset;
            }
        }
        Ok(())
    }

    /// Append one chunk; returns its reference.
    pub fn write_chunk(&mut self, encoding: Encoding, data: &[u8]) -> Result<u64> {
        let size = (uvarint_len(data.len() as u64) + 1 + data.len() + 4) as u64;
        // Cut a new segment when this chunk would overflow the current one, unless the current
        // one is still empty (a chunk larger than a segment is written whole, never split).
        let overflows = self.offset + size > self.max_segment_size;
        if self.file.is_none() || (overflows && self.offset > SEGMENT_HEADER_SIZE) {
            self.cut()?;
        }
        if self.offset > u64::from(u32::MAX) {
            return Err(Error::InvalidInput(
                "chunk segment offset exceeds 4 GiB".to_string(),
            ));
        }
        let r = ((self.segment as u64) << 32) | self.offset;
        self.scratch.reset();
        self.scratch.put_uvarint(data.len() as u64);
        let enc = encoding.to_byte();
        self.scratch.put_byte(enc);
        // CRC over encoding byte + data, without copying the data.
        let crc = crc32c::crc32c_append(crc32c::crc32c(&[enc]), data);
        let path = self.dir.join(segment_name(self.segment));
        let Some(w) = self.file.as_mut() else {
            return Err(Error::InvalidInput(
                "chunk writer has no open segment".to_string(),
            ));
        };
        w.write_all(&self.scratch.buf)
            .and_then(|()| w.write_all(data))
            .and_then(|()| w.write_all(&crc.to_be_bytes()))
            .map_err(|e| Error::io(&path, e))?;
        self.offset += size;
        Ok(r)
    }

    /// Flush, fsync and close; returns (file name, size) of every segment written.
    pub fn finish(mut self) -> Result<Vec<(String, u64)>> {
        self.finish_segment()?;
        Ok(std::mem::take(&mut self.segments))
    }
}

/// A chunk as read from a segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawChunk {
    /// Its encoding.
    pub encoding: Encoding,
    /// Its data (without length, encoding byte or CRC).
    pub data: Bytes,
}

/// Parse the chunk starting at `buf[0]` (a buffer that starts at a chunk reference's offset);
/// returns the encoding, the data range within `buf`, and the total bytes the chunk occupies,
/// or how many bytes are needed when `buf` is too short.
pub fn parse_chunk(buf: &[u8]) -> Result<ParsedChunk> {
    let mut d = Decbuf::new(buf, "chunk");
    let len = match d.uvarint() {
        Ok(l) => l,
        Err(_) if buf.len() < 10 => return Ok(ParsedChunk::NeedMore(10)),
        Err(e) => return Err(e),
    };
    let header = d.position();
    let total = usize::try_from(len)
        .ok()
        .and_then(|len| len.checked_add(header + 1 + 4))
        .ok_or_else(|| Error::corrupted("chunk", format!("impossible chunk length {len}")))?;
    let len = total - header - 1 - 4;
    if buf.len() < total {
        return Ok(ParsedChunk::NeedMore(total));
    }
    let enc = buf[header];
    let data = header + 1..header + 1 + len;
    let expected = u32::from_be_bytes([
        buf[total - 4],
        buf[total - 3],
        buf[total - 2],
        buf[total - 1],
    ]);
    let actual = crc32(&buf[header..header + 1 + len]);
    if expected != actual {
        return Err(Error::Checksum {
            what: "chunk",
            expected,
            actual,
        });
    }
    Ok(ParsedChunk::Done {
        encoding: Encoding::from_byte(enc),
        data,
        total,
    })
}

/// Result of [`parse_chunk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedChunk {
    /// The buffer is too short: at least this many bytes are needed.
    NeedMore(usize),
    /// A whole, CRC-checked chunk.
    Done {
        /// Its encoding.
        encoding: Encoding,
        /// Data range within the buffer.
        data: std::ops::Range<usize>,
        /// Bytes occupied from the start of the buffer.
        total: usize,
    },
}

/// Bytes read speculatively for one chunk (Prometheus chunks are at most ~1 KiB).
const CHUNK_READ_GUESS: u64 = 1024 + 16;

/// Reads chunks by reference from a block's segment files.
#[derive(Debug)]
pub struct ChunkReader<S> {
    segments: Vec<S>,
}

impl<S: RangeSource> ChunkReader<S> {
    /// A reader over segment sources in order (`000001` first). Checks every header.
    pub async fn new(segments: Vec<S>) -> Result<Self> {
        for s in &segments {
            if s.size() < SEGMENT_HEADER_SIZE {
                return Err(Error::corrupted("chunk segment", "shorter than its header"));
            }
            let h = s.read(0..SEGMENT_HEADER_SIZE).await?;
            let mut d = Decbuf::new(&h, "chunk segment header");
            let magic = d.be32()?;
            if magic != MAGIC_CHUNKS {
                return Err(Error::corrupted(
                    "chunk segment",
                    format!("bad magic {magic:#010x}"),
                ));
            }
            let version = d.byte()?;
            if version != 1 {
                return Err(Error::Unsupported {
                    what: "chunk segment version",
                    value: version.to_string(),
                });
            }
        }
        Ok(Self { segments })
    }

    /// Number of segment files.
    pub fn num_segments(&self) -> usize {
        self.segments.len()
    }

    /// Read and CRC-check the chunk at `chunk_ref`.
    pub async fn chunk(&self, chunk_ref: u64) -> Result<RawChunk> {
        let (seg, off) = split_ref(chunk_ref);
        let Some(src) = self.segments.get(seg) else {
            return Err(Error::corrupted(
                "chunk reference",
                format!(
                    "segment {seg} does not exist ({} segments)",
                    self.segments.len()
                ),
            ));
        };
        let size = src.size();
        if off < SEGMENT_HEADER_SIZE || off >= size {
            return Err(Error::corrupted(
                "chunk reference",
                format!("offset {off} is outside segment {seg} of {size} bytes"),
            ));
        }
        let mut end = (off + CHUNK_READ_GUESS).min(size);
        let mut buf = src.read(off..end).await?;
        loop {
            match parse_chunk(&buf)? {
                ParsedChunk::Done { encoding, data, .. } => {
                    return Ok(RawChunk {
                        encoding,
                        data: buf.slice(data),
                    });
                }
                ParsedChunk::NeedMore(n) => {
                    let want = off.saturating_add(n as u64);
                    if want > size || end == size {
                        return Err(Error::corrupted(
                            "chunk",
                            format!("chunk at {off} in segment {seg} runs past the end"),
                        ));
                    }
                    end = want;
                    buf = src.read(off..end).await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::LocalFile;

    #[tokio::test]
    async fn write_then_read_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::with_segment_size(dir.path(), 64).unwrap();
        let payloads: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 10 + i as usize]).collect();
        let refs: Vec<u64> = payloads
            .iter()
            .map(|p| w.write_chunk(Encoding::Xor, p).unwrap())
            .collect();
        let segs = w.finish().unwrap();
        assert!(segs.len() > 1, "small segment size cuts files");
        assert_eq!(refs[0], 8, "first chunk sits after the 8-byte header");
        let sources = segs
            .iter()
            .map(|(n, _)| LocalFile::open(dir.path().join(n)).unwrap())
            .collect();
        let r = ChunkReader::new(sources).await.unwrap();
        for (rf, p) in refs.iter().zip(&payloads) {
            let c = r.chunk(*rf).await.unwrap();
            assert_eq!(c.encoding, Encoding::Xor);
            assert_eq!(&c.data[..], &p[..]);
        }
        assert!(r.chunk(1 << 40).await.is_err());
        assert!(r.chunk(3).await.is_err());
    }

    #[tokio::test]
    async fn corrupted_segments_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::create(dir.path()).unwrap();
        let r0 = w.write_chunk(Encoding::Xor, &[1, 2, 3]).unwrap();
        w.finish().unwrap();
        let good = std::fs::read(dir.path().join("000001")).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            let res = match ChunkReader::new(vec![Bytes::from(bad)]).await {
                Ok(r) => r.chunk(r0).await.map(|_| ()),
                Err(e) => Err(e),
            };
            // Flipping the padding bytes of the header is harmless; anything else is caught.
            if !(5..8).contains(&i) {
                assert!(res.is_err(), "flip at byte {i} not detected");
            }
        }
        for n in 0..good.len() {
            let cut = Bytes::from(good[..n].to_vec());
            if let Ok(r) = ChunkReader::new(vec![cut]).await {
                assert!(r.chunk(r0).await.is_err());
            }
        }
    }
}
