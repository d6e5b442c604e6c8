//! The XOR float chunk, bit-exact with Prometheus' `tsdb/chunkenc/xor.go`: a BE16 sample
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
    /// The bit stream after the 2-byte sample-count header (written at the end).
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
            w: BitWriter::with_capacity(256),
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

    /// Size of the chunk in bytes (header included).
    pub fn len(&self) -> usize {
        2 + self.w.len()
    }

    /// True if no sample was appended.
    pub fn is_empty(&self) -> bool {
        self.num == 0
    }

    /// The chunk bytes so far, as a new vector (a valid chunk at any point).
    pub fn to_vec(&self) -> Vec<u8> {
        self.clone().into_bytes()
    }

    /// Consume into the chunk bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        let body = self.w.into_bytes();
        let mut out = Vec::with_capacity(2 + body.len());
        out.extend_from_slice(&self.num.to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Timestamp of the last sample (meaningless when empty).
    pub fn last_timestamp(&self) -> i64 {
        self.t
    }

    #[inline]
    fn write_uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.w.write_bits((v & 0x7f) | 0x80, 8);
            v >>= 7;
        }
        self.w.write_bits(v, 8);
    }

    /// Append a sample. Timestamps must increase strictly; callers validate (the format stores
    /// any delta, so a violation would not corrupt the chunk, only break ordering guarantees).
    /// At most 65535 samples fit in one chunk; callers cut long before that.
    #[inline]
    pub fn append(&mut self, t: i64, v: f64) {
        match self.num {
            0 => {
                self.write_uvarint(((t << 1) ^ (t >> 63)) as u64);
                self.w.write_bits(v.to_bits(), 64);
            }
            1 => {
                let delta = t.wrapping_sub(self.t) as u64;
                self.write_uvarint(delta);
                self.write_value(v);
                self.t_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.t) as u64;
                let dod = delta.wrapping_sub(self.t_delta) as i64;
                if dod == 0 {
                    self.w.write_bits(0, 1);
                } else if bit_range(dod, 14) {
                    self.w
                        .write_bits((0b10 << 14) | (dod as u64 & ((1 << 14) - 1)), 16);
                } else if bit_range(dod, 17) {
                    self.w
                        .write_bits((0b110 << 17) | (dod as u64 & ((1 << 17) - 1)), 20);
                } else if bit_range(dod, 20) {
                    self.w
                        .write_bits((0b1110 << 20) | (dod as u64 & ((1 << 20) - 1)), 24);
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
    }

    #[inline]
    fn write_value(&mut self, v: f64) {
        let x = v.to_bits() ^ self.v.to_bits();
        if x == 0 {
            self.w.write_bits(0, 1);
            return;
        }
        let leading = (x.leading_zeros() as u8).min(31);
        let trailing = x.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            // Reuse the previous window: control bits '10', then the significant bits.
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            let bits = x >> self.trailing;
            if sig <= 62 {
                self.w.write_bits((0b10 << sig) | bits, sig + 2);
            } else {
                self.w.write_bits(0b10, 2);
                self.w.write_bits(bits, sig);
            }
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        let sig = 64 - u32::from(leading) - u32::from(trailing);
        // 2 control bits '11', 5 bits leading, 6 bits significant (64 is written as 0).
        let header = (0b11u64 << 11) | (u64::from(leading) << 6) | u64::from(sig & 63);
        let bits = x >> trailing;
        if sig <= 51 {
            self.w.write_bits((header << sig) | bits, 13 + sig);
        } else {
            self.w.write_bits(header, 13);
            self.w.write_bits(bits, sig);
        }
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
///
/// This is the hot path of every query: after the first two samples it runs a dedicated loop
/// that keeps the bit register and the decoder state in locals, refills once per sample and
/// checks for running past the data once per sample.
pub fn decode_xor_into(data: &[u8], ts: &mut Vec<i64>, vs: &mut Vec<f64>) -> Result<()> {
    let mut it = XorIterator::new(data)?;
    let total = it.total;
    // The header is untrusted: cap the reservation by what the bytes could possibly hold
    // (every sample after the first takes at least 2 bits).
    let plausible = total.min(data.len().saturating_mul(4) + 1);
    ts.reserve(plausible);
    vs.reserve(plausible);
    while it.read < total.min(2) {
        let Some((t, v)) = it.next_sample()? else {
            return Ok(());
        };
        ts.push(t);
        vs.push(v);
    }
    let XorIterator {
        mut r,
        mut t,
        mut t_delta,
        mut v,
        mut leading,
        mut trailing,
        read,
        ..
    } = it;
    // Decode straight into the columns' memory: no capacity checks in the loop.
    let base = ts.len();
    let n = total - read;
    ts.resize(base + n, 0);
    vs.resize(base + n, 0.0);
    let out = ts[base..].iter_mut().zip(vs[base..].iter_mut());
    let mut result = Ok(());
    let mut done = 0;
    for (ot, ov) in out {
        if r.available() < 56 {
            r.fill(); // enough for any dod but the 64-bit one, plus the value header
        }
        if r.peek() >> 62 == 0 {
            // Fast path, the commonest sample of all: same spacing ('0'), same value ('0').
            r.take(2);
            t = t.wrapping_add(t_delta);
            if r.overrun() {
                result = Err(Error::corrupted(
                    "xor chunk",
                    "unexpected end of bit stream",
                ));
                break;
            }
            *ot = t;
            *ov = f64::from_bits(v);
            done += 1;
            continue;
        }
        let ones = r.take_unary(4);
        let dod = if ones < 4 {
            // Buckets 0/14/17/20 bits without a data-dependent branch: scrape jitter makes the
            // bucket change from sample to sample, and a jump there mispredicts.
            let i = ones as usize;
            let n = DOD_BITS[i];
            let raw = r.peek().wrapping_shr(64 - n) & DOD_MASK[i];
            r.skip(n);
            let neg = if raw > DOD_HALF[i] {
                DOD_MASK[i] as i64 + 1
            } else {
                0
            };
            raw as i64 - neg
        } else {
            read_wide(&mut r, 64) as i64
        };
        t_delta = t_delta.wrapping_add(dod);
        t = t.wrapping_add(t_delta);
        if r.available() < 13 {
            r.fill();
        }
        match r.take_unary(2) {
            0 => {}
            1 => v ^= read_wide(&mut r, 64 - leading - trailing) << trailing,
            _ => {
                let h = r.take(11) as u32;
                let l = h >> 6;
                let sig = match h & 63 {
                    0 => 64,
                    s => s,
                };
                if l + sig > 64 {
                    result = Err(Error::corrupted(
                        "xor chunk",
                        format!("value window of {l} leading and {sig} significant bits"),
                    ));
                    break;
                }
                leading = l;
                trailing = 64 - l - sig;
                v ^= read_wide(&mut r, sig) << trailing;
            }
        }
        if r.overrun() {
            result = Err(Error::corrupted(
                "xor chunk",
                "unexpected end of bit stream",
            ));
            break;
        }
        *ot = t;
        *ov = f64::from_bits(v);
        done += 1;
    }
    if result.is_err() {
        // Keep only the samples decoded before the error.
        ts.truncate(base + done);
        vs.truncate(base + done);
    }
    result
}

/// Payload bits of the dod buckets `0`, `10`, `110`, `1110`.
const DOD_BITS: [u32; 4] = [0, 14, 17, 20];
/// Masks of those payloads (0 for the empty one).
const DOD_MASK: [u64; 4] = [0, (1 << 14) - 1, (1 << 17) - 1, (1 << 20) - 1];
/// Payload values above these are negative (Prometheus' asymmetric ranges).
const DOD_HALF: [u64; 4] = [0, 1 << 13, 1 << 16, 1 << 19];

/// Read `n` (1..=64) bits without bounds checks (overrun is checked by the caller).
#[inline(always)]
fn read_wide(r: &mut BitReader<'_>, n: u32) -> u64 {
    if n <= 56 {
        if r.available() < n {
            r.fill();
        }
        r.take(n)
    } else {
        if r.available() < n - 32 {
            r.fill();
        }
        let hi = r.take(n - 32);
        r.fill();
        (hi << 32) | r.take(32)
    }
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
        assert_eq!(a.to_vec(), [0, 1, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
        a.append(1015, 1.0);
        assert_eq!(a.to_vec()[..2], [0, 2]);
        assert_eq!(a.to_vec()[12..], [15, 0b0000_0000]);
        a.append(1030, 1.0); // dod 0 -> '0', value same -> '0'
        assert_eq!(a.to_vec()[12..], [15, 0b0000_0000]);
        assert_eq!(a.len(), 14);
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
        let mut w = BitWriter::with_capacity(32);
        w.write_bits(2, 16); // two samples
        w.write_byte(0); // t0 = 0
        w.write_bits(1.0f64.to_bits(), 64);
        w.write_byte(10); // t1 delta
        w.write_bits(0b10, 2);
        w.write_bits(1.0f64.to_bits() ^ 3.0f64.to_bits(), 64);
        let bytes = w.into_bytes();
        assert_eq!(decode_xor(&bytes).unwrap(), vec![(0, 1.0), (10, 3.0)]);
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        decode_xor_into(&bytes, &mut ts, &mut vs).unwrap();
        assert_eq!((ts, vs), (vec![0, 10], vec![1.0, 3.0]));
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
