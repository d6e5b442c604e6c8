//! Byte-level building blocks shared by every section of the block format: big-endian fixed
//! integers, Go-compatible uvarint/varint (zig-zag), uvarint-prefixed strings and CRC32-Castagnoli
//! (Prometheus `tsdb/encoding/encoding.go`). `Decbuf` never panics: reading past the end is an
//! error.

use crate::{Error, Result};

/// CRC32-Castagnoli of `data`, as used in index, chunk and tombstone files.
pub fn crc32(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// An append-only byte buffer with the encodings the block format uses.
#[derive(Debug, Default, Clone)]
pub struct Encbuf {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Encbuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Forget the content, keep the allocation.
    pub fn reset(&mut self) {
        self.buf.clear();
    }

    /// Append one byte.
    pub fn put_byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// Append raw bytes.
    pub fn put_bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Append a big-endian u16.
    pub fn put_be16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Append a big-endian u32.
    pub fn put_be32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Append a big-endian u64.
    pub fn put_be64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Append an unsigned LEB128 varint (Go `binary.PutUvarint`).
    pub fn put_uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// Append a zig-zag signed varint (Go `binary.PutVarint`).
    pub fn put_varint(&mut self, v: i64) {
        self.put_uvarint(((v << 1) ^ (v >> 63)) as u64);
    }

    /// Append a uvarint length followed by the bytes of `s`.
    pub fn put_uvarint_str(&mut self, s: &str) {
        self.put_uvarint(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }
}

/// Bytes needed to write `v` as a uvarint.
pub fn uvarint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Decode a uvarint at the start of `b`; returns the value and the bytes consumed.
pub fn read_uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    let mut s: u32 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None; // overflows u64
            }
            return Some((x | (u64::from(byte) << s), i + 1));
        }
        x |= u64::from(byte & 0x7f) << s;
        s += 7;
    }
    None
}

/// A cursor over a byte slice that decodes the block format's primitives.
#[derive(Debug, Clone, Copy)]
pub struct Decbuf<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Decbuf<'a> {
    /// A cursor at the start of `buf`; `what` names the structure in error messages.
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, pos: 0, what }
    }

    fn short(&self, need: usize) -> Error {
        Error::corrupted(
            self.what,
            format!(
                "unexpected end of data at offset {} (need {need} more bytes, {} left)",
                self.pos,
                self.remaining()
            ),
        )
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread bytes.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Skip `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    /// Take the next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(self.short(n));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Read one byte.
    pub fn byte(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    /// Read a big-endian u16.
    pub fn be16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Read a big-endian u32.
    pub fn be32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Read a big-endian u64.
    pub fn be64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// Read a uvarint.
    pub fn uvarint(&mut self) -> Result<u64> {
        match read_uvarint(self.rest()) {
            Some((v, n)) => {
                self.pos += n;
                Ok(v)
            }
            None => Err(Error::corrupted(
                self.what,
                format!("invalid uvarint at offset {}", self.pos),
            )),
        }
    }

    /// Read a uvarint that must fit in u32.
    pub fn uvarint32(&mut self) -> Result<u32> {
        let v = self.uvarint()?;
        u32::try_from(v)
            .map_err(|_| Error::corrupted(self.what, format!("value {v} does not fit in 32 bits")))
    }

    /// Read a zig-zag varint.
    pub fn varint(&mut self) -> Result<i64> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// Read a uvarint-prefixed byte string.
    pub fn uvarint_bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.uvarint()?;
        let n = usize::try_from(n).map_err(|_| self.short(usize::MAX))?;
        self.bytes(n)
    }

    /// Read a uvarint-prefixed UTF-8 string.
    pub fn uvarint_str(&mut self) -> Result<&'a str> {
        let pos = self.pos;
        let b = self.uvarint_bytes()?;
        std::str::from_utf8(b).map_err(|_| {
            Error::corrupted(self.what, format!("invalid UTF-8 string at offset {pos}"))
        })
    }
}

/// Check a `BE32 len | body | BE32 crc` section starting at `b[0]`; returns the body.
pub fn checked_section<'a>(b: &'a [u8], what: &'static str) -> Result<&'a [u8]> {
    let mut d = Decbuf::new(b, what);
    let len = d.be32()? as usize;
    let body = d.bytes(len)?;
    let expected = d.be32()?;
    let actual = crc32(body);
    if expected != actual {
        return Err(Error::Checksum {
            what,
            expected,
            actual,
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_match_go() {
        let mut e = Encbuf::new();
        e.put_uvarint(300);
        assert_eq!(e.buf, [0xac, 0x02]);
        e.reset();
        e.put_varint(-1);
        assert_eq!(e.buf, [0x01]);
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1 << 40] {
            let mut e = Encbuf::new();
            e.put_varint(v);
            let mut d = Decbuf::new(&e.buf, "t");
            assert_eq!(d.varint().unwrap(), v);
            assert_eq!(d.remaining(), 0);
        }
        assert_eq!(uvarint_len(u64::MAX), 10);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let mut d = Decbuf::new(&[0x80, 0x80], "t");
        assert!(d.uvarint().is_err());
        let mut d = Decbuf::new(&[0, 1], "t");
        assert!(d.be32().is_err());
        assert!(read_uvarint(&[0xff; 11]).is_none());
    }

    #[test]
    fn crc_is_castagnoli() {
        assert_eq!(crc32(b"123456789"), 0xe306_9283);
    }
}
