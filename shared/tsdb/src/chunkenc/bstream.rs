//! The MSB-first bit stream under XOR chunks (Prometheus `chunkenc/bstream.go` semantics):
//! bits fill each byte from the most significant end, the last byte is zero-padded.
//! The reader refills a 64-bit register eight bytes at a time, so decoding is branch-light.

use crate::{Error, Result};

/// Appends bits MSB-first to a byte vector. Bits gather in a 64-bit register that is flushed
/// eight bytes at a time, so small writes cost a shift and an OR.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    /// Flushed whole bytes.
    buf: Vec<u8>,
    /// Pending bits, left-aligned.
    acc: u64,
    /// Number of pending bits (always < 64 between calls).
    n: u32,
}

impl BitWriter {
    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
            acc: 0,
            n: 0,
        }
    }

    /// Bytes written so far, counting a partly filled last byte.
    pub fn len(&self) -> usize {
        self.buf.len() + self.n.div_ceil(8) as usize
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes written (last byte zero-padded), as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.clone().into_bytes()
    }

    /// Consume into the bytes written (last byte zero-padded).
    pub fn into_bytes(mut self) -> Vec<u8> {
        let tail = self.n.div_ceil(8) as usize;
        self.buf.extend_from_slice(&self.acc.to_be_bytes()[..tail]);
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

    /// Write the low `nbits` bits of `v`, most significant first. `nbits` must be in 0..=64.
    #[inline]
    pub fn write_bits(&mut self, v: u64, nbits: u32) {
        debug_assert!(nbits <= 64);
        if nbits == 0 {
            return;
        }
        let v = if nbits == 64 {
            v
        } else {
            v & ((1u64 << nbits) - 1)
        };
        let free = 64 - self.n; // 1..=64
        if nbits < free {
            self.acc |= v << (free - nbits);
            self.n += nbits;
        } else {
            let rest = nbits - free; // bits of v that do not fit, 0..=63
            self.acc |= v >> rest;
            self.buf.extend_from_slice(&self.acc.to_be_bytes());
            self.acc = if rest == 0 { 0 } else { v << (64 - rest) };
            self.n = rest;
        }
    }
}

/// The end-of-data refill: loads the last bytes, then zero padding (counted).
#[cold]
#[inline(never)]
fn fill_tail(
    data: &[u8],
    mut pos: usize,
    mut acc: u64,
    mut valid: u32,
    mut padding: u64,
) -> (usize, u64, u32, u64) {
    while valid <= 56 {
        if let Some(&b) = data.get(pos) {
            acc |= u64::from(b) << (56 - valid);
            pos += 1;
        } else {
            padding += 8;
        }
        valid += 8;
    }
    (pos, acc, valid, padding)
}

/// Reads bits MSB-first from a byte slice.
///
/// Refills load eight bytes at a time into a 64-bit register. Past the end of the data the
/// register is padded with zero bits that are counted, so hot loops can read without bounds
/// checks and call [`BitReader::overrun`] once per item; the checked `read_*` methods do it
/// for every read.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load into the register.
    pos: usize,
    /// Left-aligned bit register; bits below `valid` are either exact stream bits or zero.
    acc: u64,
    valid: u32,
    /// Zero bits added past the end of the data.
    padding: u64,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            acc: 0,
            valid: 0,
            padding: 0,
        }
    }

    /// Make at least 56 bits available (zero padding past the end of the data).
    #[inline(always)]
    pub fn fill(&mut self) {
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let word = u64::from_be_bytes(w);
            self.acc |= word >> self.valid;
            let added = (63 - self.valid) >> 3;
            self.pos += added as usize;
            self.valid += added * 8;
        } else {
            // By value, so the reader's address never escapes the hot loops (which keeps the
            // register and counters in CPU registers).
            (self.pos, self.acc, self.valid, self.padding) =
                fill_tail(self.data, self.pos, self.acc, self.valid, self.padding);
        }
    }

    /// Bits available in the register without a refill.
    #[inline(always)]
    pub fn available(&self) -> u32 {
        self.valid
    }

    /// True if more bits were consumed than the data holds.
    #[inline(always)]
    pub fn overrun(&self) -> bool {
        // No padding yet means every consumed bit was real data.
        self.padding != 0
            && (self.pos as u64 * 8 + self.padding).saturating_sub(u64::from(self.valid))
                > self.data.len() as u64 * 8
    }

    /// The next 64 bits of the register without consuming them (only the first
    /// `available()` are meaningful).
    #[inline(always)]
    pub fn peek(&self) -> u64 {
        self.acc
    }

    /// Take `n` (1..=63) bits without any check; the caller ensured `available() >= n`.
    #[inline(always)]
    pub fn take(&mut self, n: u32) -> u64 {
        debug_assert!((1..64).contains(&n) && n <= self.valid);
        let v = self.acc >> (64 - n);
        self.acc <<= n;
        self.valid -= n;
        v
    }

    /// Drop `n` (0..=63) bits without any check; the caller ensured `available() >= n`.
    #[inline(always)]
    pub fn skip(&mut self, n: u32) {
        debug_assert!(n < 64 && n <= self.valid);
        self.acc <<= n;
        self.valid -= n;
    }

    /// Count up to `max` (<= 8) leading one bits and consume them plus the terminating zero
    /// when the count is below `max`; the caller ensured `available() >= max`.
    #[inline(always)]
    pub fn take_unary(&mut self, max: u32) -> u32 {
        let ones = (!self.acc).leading_zeros().min(max);
        let used = if ones < max { ones + 1 } else { max };
        self.acc <<= used;
        self.valid -= used;
        ones
    }

    #[cold]
    fn eof() -> Error {
        Error::corrupted("xor chunk", "unexpected end of bit stream")
    }

    fn checked<T>(&self, v: T) -> Result<T> {
        if self.overrun() {
            Err(Self::eof())
        } else {
            Ok(v)
        }
    }

    /// Read `n` bits (1..=56) as the low bits of the result.
    #[inline]
    pub fn read_bits_short(&mut self, n: u32) -> Result<u64> {
        debug_assert!((1..=56).contains(&n));
        if self.valid < n {
            self.fill();
        }
        let v = self.take(n);
        self.checked(v)
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
    #[inline]
    pub fn read_bit(&mut self) -> Result<bool> {
        Ok(self.read_bits_short(1)? == 1)
    }

    /// Checked [`BitReader::take_unary`].
    #[inline]
    pub fn read_unary(&mut self, max: u32) -> Result<u32> {
        if self.valid < max {
            self.fill();
        }
        let v = self.take_unary(max);
        self.checked(v)
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
        let mut total_bits = 0u64;
        for &(v, n) in &fields {
            total_bits += u64::from(n);
            w.write_bits(v, n);
        }
        assert_eq!(w.len() as u64, total_bits.div_ceil(8));
        let bytes = w.into_bytes();
        assert_eq!(bytes.len() as u64, total_bits.div_ceil(8));
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
        assert_eq!(w.to_vec(), [0b1010_0000]);
        w.write_byte(0xff);
        assert_eq!(w.to_vec(), [0b1011_1111, 0b1110_0000]);
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
