//! The MSB-first bit stream under XOR chunks (Prometheus `chunkenc/bstream.go` semantics):
//! bits fill each byte from the most significant end, the last byte is zero-padded.
//! The reader refills a 64-bit register eight bytes at a time, so decoding is branch-light.

use crate::{Error, Result};

/// Appends bits MSB-first to a byte vector.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    /// Unused low bits in the last byte (0 = last byte full, or no bytes).
    free: u32,
}

impl BitWriter {
    /// A writer that continues after `prefix` (which is treated as whole bytes).
    pub fn with_prefix(prefix: &[u8], capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(prefix.len()));
        buf.extend_from_slice(prefix);
        Self { buf, free: 0 }
    }

    /// The bytes written (last byte zero-padded).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Mutable access to the bytes (to patch a header in place).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Consume into the byte vector.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Write one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Write one byte (bit-aligned continuation if the stream is not byte aligned).
    #[inline]
    pub fn write_byte(&mut self, b: u8) {
        self.write_bits(u64::from(b), 8);
    }

    /// Write the low `n` bits of `v`, most significant first. `n` must be in 0..=64.
    #[inline]
    pub fn write_bits(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        // Left-align the n payload bits in a 64-bit word.
        let mut word = v << (64 - n);
        let mut left = n;
        if self.free > 0 {
            let take = self.free.min(left);
            let last = self.buf.len() - 1;
            self.buf[last] |= (word >> (64 - self.free)) as u8;
            self.free -= take;
            left -= take;
            word = if take == 64 { 0 } else { word << take };
        }
        // Whole bytes.
        while left >= 8 {
            self.buf.push((word >> 56) as u8);
            word <<= 8;
            left -= 8;
        }
        if left > 0 {
            self.buf.push((word >> 56) as u8);
            self.free = 8 - left;
        }
    }
}

/// Reads bits MSB-first from a byte slice.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load into the register.
    pos: usize,
    /// Left-aligned bit register; bits below `valid` are either exact stream bits or zero.
    acc: u64,
    valid: u32,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            acc: 0,
            valid: 0,
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let word = u64::from_be_bytes(w);
            self.acc |= word >> self.valid;
            let added = (63 - self.valid) >> 3;
            self.pos += added as usize;
            self.valid += added * 8;
        } else {
            while self.valid <= 56 && self.pos < self.data.len() {
                self.acc |= u64::from(self.data[self.pos]) << (56 - self.valid);
                self.pos += 1;
                self.valid += 8;
            }
        }
    }

    #[cold]
    fn eof() -> Error {
        Error::corrupted("xor chunk", "unexpected end of bit stream")
    }

    /// Read `n` bits (1..=56) as the low bits of the result.
    #[inline(always)]
    pub fn read_bits_short(&mut self, n: u32) -> Result<u64> {
        debug_assert!((1..=56).contains(&n));
        if self.valid < n {
            self.refill();
            if self.valid < n {
                return Err(Self::eof());
            }
        }
        let v = self.acc >> (64 - n);
        self.acc <<= n;
        self.valid -= n;
        Ok(v)
    }

    /// Read `n` bits (0..=64) as the low bits of the result.
    #[inline]
    pub fn read_bits(&mut self, n: u32) -> Result<u64> {
        match n {
            0 => Ok(0),
            1..=56 => self.read_bits_short(n),
            _ => {
                let hi = self.read_bits_short(n - 32)?;
                let lo = self.read_bits_short(32)?;
                Ok((hi << 32) | lo)
            }
        }
    }

    /// Read one bit.
    #[inline(always)]
    pub fn read_bit(&mut self) -> Result<bool> {
        Ok(self.read_bits_short(1)? == 1)
    }

    /// Count up to `max` leading one bits and consume them plus the terminating zero (if the
    /// count is below `max`). Returns the count. Used for the dod and value control prefixes.
    #[inline(always)]
    pub fn read_unary(&mut self, max: u32) -> Result<u32> {
        if self.valid < max {
            self.refill();
        }
        let ones = (!self.acc).leading_zeros().min(max);
        let used = if ones < max { ones + 1 } else { max };
        if used > self.valid {
            return Err(Self::eof());
        }
        self.acc <<= used;
        self.valid -= used;
        Ok(ones)
    }

    /// Read a uvarint made of whole bytes from the bit stream.
    pub fn read_uvarint(&mut self) -> Result<u64> {
        let mut x: u64 = 0;
        let mut s = 0u32;
        for i in 0..10 {
            let b = self.read_bits_short(8)?;
            if b < 0x80 {
                if i == 9 && b > 1 {
                    break;
                }
                return Ok(x | (b << s));
            }
            x |= (b & 0x7f) << s;
            s += 7;
        }
        Err(Error::corrupted("xor chunk", "invalid varint"))
    }

    /// Read a zig-zag varint made of whole bytes from the bit stream.
    pub fn read_varint(&mut self) -> Result<i64> {
        let u = self.read_uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_byte_and_word_boundaries() {
        let fields: Vec<(u64, u32)> = (0..500u64)
            .map(|i| {
                let n = (i % 64) as u32 + 1;
                let v = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                (if n == 64 { v } else { v & ((1 << n) - 1) }, n)
            })
            .collect();
        let mut w = BitWriter::default();
        for &(v, n) in &fields {
            w.write_bits(v, n);
        }
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &fields {
            assert_eq!(r.read_bits(n).unwrap(), v, "field of {n} bits");
        }
    }

    #[test]
    fn msb_first_layout() {
        let mut w = BitWriter::default();
        w.write_bit(true);
        w.write_bits(0b01, 2);
        assert_eq!(w.bytes(), &[0b1010_0000]);
        w.write_byte(0xff);
        assert_eq!(w.bytes(), &[0b1011_1111, 0b1110_0000]);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert!(r.read_bits(8).is_ok());
        assert!(r.read_bit().is_err());
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_unary(4).unwrap(), 4);
        assert_eq!(r.read_unary(4).unwrap(), 4);
        assert!(r.read_unary(4).is_err());
    }
}
