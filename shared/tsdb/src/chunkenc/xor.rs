//! The XOR float chunk, bit-exact with Prometheus (prometheus-formats.md §4.2): a BE16 sample
//! count, the first timestamp as a varint and value as 64 raw bits, the second timestamp as a
//! uvarint delta, then delta-of-delta timestamps (0 / 10+14 / 110+17 / 1110+20 / 1111+64 bits) and
//! Gorilla XOR values with a leading/trailing-zero window.

use super::bstream::{BitReader, BitWriter};
use crate::{Error, Result};

/// "No window yet" marker for the appender's leading-zero state.
const NO_WINDOW: u8 = 0xff;

/// Builds one XOR chunk sample by sample.
#[derive(Debug, Clone)]
pub struct XorAppender {
    w: BitWriter,
    num: u16,
    t: i64,
    t_delta: u64,
    v: f64,
    leading: u8,
    trailing: u8,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

fn bit_range(x: i64, nbits: u32) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= (1i64 << (nbits - 1))
}

impl XorAppender {
    /// An empty chunk.
    pub fn new() -> Self {
        Self {
            w: BitWriter::with_prefix(&[0, 0], 128),
            num: 0,
            t: 0,
            t_delta: 0,
            v: 0.0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Number of samples appended.
    pub fn num_samples(&self) -> usize {
        usize::from(self.num)
    }

    /// The chunk bytes so far (a valid chunk at any point).
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Size of the chunk in bytes.
    pub fn len(&self) -> usize {
        self.w.bytes().len()
    }

    /// True if no sample was appended.
    pub fn is_empty(&self) -> bool {
        self.num == 0
    }

    /// Consume into the chunk bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_bytes()
    }

    /// Timestamp of the last sample (meaningless when empty).
    pub fn last_timestamp(&self) -> i64 {
        self.t
    }

    /// Append a sample. Timestamps must increase strictly; callers validate (the format stores
    /// any delta, so a violation would not corrupt the chunk, only break ordering guarantees).
    /// At most 65535 samples fit in one chunk; callers cut long before that.
    pub fn append(&mut self, t: i64, v: f64) {
        match self.num {
            0 => {
                let mut buf = crate::encoding::Encbuf::new();
                buf.put_varint(t);
                for &b in &buf.buf {
                    self.w.write_byte(b);
                }
                self.w.write_bits(v.to_bits(), 64);
            }
            1 => {
                let delta = t.wrapping_sub(self.t) as u64;
                let mut buf = crate::encoding::Encbuf::new();
                buf.put_uvarint(delta);
                for &b in &buf.buf {
                    self.w.write_byte(b);
                }
                self.write_value(v);
                self.t_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.t) as u64;
                let dod = delta.wrapping_sub(self.t_delta) as i64;
                if dod == 0 {
                    self.w.write_bit(false);
                } else if bit_range(dod, 14) {
                    self.w.write_bits(0b10, 2);
                    self.w.write_bits(dod as u64 & ((1 << 14) - 1), 14);
                } else if bit_range(dod, 17) {
                    self.w.write_bits(0b110, 3);
                    self.w.write_bits(dod as u64 & ((1 << 17) - 1), 17);
                } else if bit_range(dod, 20) {
                    self.w.write_bits(0b1110, 4);
                    self.w.write_bits(dod as u64 & ((1 << 20) - 1), 20);
                } else {
                    self.w.write_bits(0b1111, 4);
                    self.w.write_bits(dod as u64, 64);
                }
                self.write_value(v);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v = v;
        self.num = self.num.wrapping_add(1);
        let n = self.num.to_be_bytes();
        let b = self.w.bytes_mut();
        b[0] = n[0];
        b[1] = n[1];
    }

    #[inline]
    fn write_value(&mut self, v: f64) {
        let x = v.to_bits() ^ self.v.to_bits();
        if x == 0 {
            self.w.write_bit(false);
            return;
        }
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            // Reuse the previous window.
            self.w.write_bits(0b10, 2);
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.w.write_bits(x >> self.trailing, sig);
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        let sig = 64 - u32::from(leading) - u32::from(trailing);
        // 2 control bits, 5 bits leading, 6 bits significant (64 is written as 0).
        let header = (0b11u64 << 11) | (u64::from(leading) << 6) | u64::from(sig & 63);
        self.w.write_bits(header, 13);
        self.w.write_bits(x >> trailing, sig);
    }
}

/// Number of samples in an XOR chunk (its BE16 header).
pub fn xor_num_samples(data: &[u8]) -> Result<usize> {
    match data {
        [a, b, ..] => Ok(usize::from(u16::from_be_bytes([*a, *b]))),
        _ => Err(Error::corrupted(
            "xor chunk",
            "shorter than its 2-byte header",
        )),
    }
}

/// Iterates over the samples of an XOR chunk. Errors end the iteration.
#[derive(Debug, Clone)]
pub struct XorIterator<'a> {
    r: BitReader<'a>,
    total: usize,
    read: usize,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u32,
    trailing: u32,
}

impl<'a> XorIterator<'a> {
    /// An iterator over `data`; fails if the header is missing.
    pub fn new(data: &'a [u8]) -> Result<Self> {
        let total = xor_num_samples(data)?;
        Ok(Self {
            r: BitReader::new(&data[2..]),
            total,
            read: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
        })
    }

    /// Samples announced by the header.
    pub fn num_samples(&self) -> usize {
        self.total
    }

    /// The next sample, `Ok(None)` at the end.
    #[inline(always)]
    pub fn next_sample(&mut self) -> Result<Option<(i64, f64)>> {
        if self.read >= self.total {
            return Ok(None);
        }
        match self.read {
            0 => {
                self.t = self.r.read_varint()?;
                self.v = self.r.read_bits(64)?;
            }
            1 => {
                self.t_delta = self.r.read_uvarint()? as i64;
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
            _ => {
                let dod = match self.r.read_unary(4)? {
                    0 => 0,
                    1 => sign_extend(self.r.read_bits_short(14)?, 14),
                    2 => sign_extend(self.r.read_bits_short(17)?, 17),
                    3 => sign_extend(self.r.read_bits_short(20)?, 20),
                    _ => self.r.read_bits(64)? as i64,
                };
                self.t_delta = self.t_delta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
        }
        self.read += 1;
        Ok(Some((self.t, f64::from_bits(self.v))))
    }

    #[inline(always)]
    fn read_value(&mut self) -> Result<()> {
        match self.r.read_unary(2)? {
            0 => {}
            1 => {
                let sig = 64 - self.leading - self.trailing;
                let bits = self.r.read_bits(sig)?;
                self.v ^= bits << self.trailing;
            }
            _ => {
                let h = self.r.read_bits_short(11)? as u32;
                let leading = h >> 6;
                let mut sig = h & 63;
                if sig == 0 {
                    sig = 64;
                }
                if leading + sig > 64 {
                    return Err(Error::corrupted(
                        "xor chunk",
                        format!("value window of {leading} leading and {sig} significant bits"),
                    ));
                }
                self.leading = leading;
                self.trailing = 64 - leading - sig;
                let bits = self.r.read_bits(sig)?;
                self.v ^= bits << self.trailing;
            }
        }
        Ok(())
    }
}

/// Interpret the low `n` bits as Prometheus does: values above 2^(n-1) are negative.
#[inline(always)]
fn sign_extend(bits: u64, n: u32) -> i64 {
    if bits > (1 << (n - 1)) {
        bits as i64 - (1i64 << n)
    } else {
        bits as i64
    }
}

impl Iterator for XorIterator<'_> {
    type Item = Result<(i64, f64)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_sample() {
            Ok(Some(s)) => Some(Ok(s)),
            Ok(None) => None,
            Err(e) => {
                self.read = self.total; // stop after the first error
                Some(Err(e))
            }
        }
    }
}

/// Decode a whole chunk, appending timestamps and values to the two columns.
/// On error the columns may hold a prefix of the samples.
pub fn decode_xor_into(data: &[u8], ts: &mut Vec<i64>, vs: &mut Vec<f64>) -> Result<()> {
    let mut it = XorIterator::new(data)?;
    // The header is untrusted: cap the reservation by what the bytes could possibly hold
    // (every sample after the first takes at least 2 bits).
    let plausible = it.total.min(data.len().saturating_mul(4) + 1);
    ts.reserve(plausible);
    vs.reserve(plausible);
    while let Some((t, v)) = it.next_sample()? {
        ts.push(t);
        vs.push(v);
    }
    Ok(())
}

/// Decode a whole chunk into (timestamp, value) pairs.
pub fn decode_xor(data: &[u8]) -> Result<Vec<(i64, f64)>> {
    XorIterator::new(data)?.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(samples: &[(i64, f64)]) {
        let mut a = XorAppender::new();
        for &(t, v) in samples {
            a.append(t, v);
        }
        let bytes = a.into_bytes();
        let got = decode_xor(&bytes).unwrap();
        assert_eq!(got.len(), samples.len());
        for (g, w) in got.iter().zip(samples) {
            assert_eq!(g.0, w.0);
            assert_eq!(g.1.to_bits(), w.1.to_bits());
        }
    }

    #[test]
    fn known_bytes_match_prometheus_layout() {
        // t0=1000 (varint 0xd0 0x0f), v0=1.0, t1=1015: delta 15, same value -> '0'.
        let mut a = XorAppender::new();
        a.append(1000, 1.0);
        assert_eq!(
            a.bytes(),
            &[0, 1, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0][..]
        );
        a.append(1015, 1.0);
        assert_eq!(a.bytes()[..2], [0, 2]);
        assert_eq!(a.bytes()[12..], [15, 0b0000_0000]);
        a.append(1030, 1.0); // dod 0 -> '0', value same -> '0'
        assert_eq!(a.bytes()[12..], [15, 0b0000_0000]);
        assert_eq!(a.bytes().len(), 14);
    }

    #[test]
    fn special_values_and_deltas() {
        round_trip(&[]);
        round_trip(&[(-5, f64::NAN)]);
        round_trip(&[
            (0, 0.0),
            (1, f64::INFINITY),
            (2, f64::NEG_INFINITY),
            (3, f64::from_bits(super::super::STALE_NAN_BITS)),
            (4, -0.0),
            (5, f64::MIN_POSITIVE),
            (1 << 40, f64::MAX),
            (i64::MAX / 2, 1.5),
            (i64::MAX / 2 + 8192, 1.5),
            (i64::MAX / 2 + 8192 * 2 + 1, 2.5),
        ]);
    }

    #[test]
    fn a_reused_zero_window_decodes() {
        // A decoder starts with window (0,0): a reuse block then carries 64 bits.
        let mut w = BitWriter::with_prefix(&[0, 2], 32);
        w.write_byte(0); // t0 = 0
        w.write_bits(1.0f64.to_bits(), 64);
        w.write_byte(10); // t1 delta
        w.write_bits(0b10, 2);
        w.write_bits(1.0f64.to_bits() ^ 3.0f64.to_bits(), 64);
        let got = decode_xor(w.bytes()).unwrap();
        assert_eq!(got, vec![(0, 1.0), (10, 3.0)]);
    }

    #[test]
    fn truncated_chunks_error_never_panic() {
        let mut a = XorAppender::new();
        for i in 0..120 {
            a.append(i * 15_000 + (i % 7), (i as f64).sin());
        }
        let bytes = a.into_bytes();
        for n in 0..bytes.len() - 1 {
            assert!(decode_xor(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
    }
}
