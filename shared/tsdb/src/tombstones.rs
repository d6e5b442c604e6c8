//! The tombstones file of a block (Prometheus `tsdb/docs/format/tombstones.md`,
//! `tsdb/tombstones/tombstones.go`): deleted time intervals per series. A missing file means no
//! tombstones; intervals are closed and merged per series when read.

use std::collections::BTreeMap;
use std::path::Path;

use crate::encoding::{Decbuf, Encbuf, crc32};
use crate::{Error, Result};

/// Magic number at the start of a tombstones file.
pub const MAGIC_TOMBSTONE: u32 = 0x0130_BA30;
/// The only tombstones format version.
pub const TOMBSTONES_V1: u8 = 1;
/// The file name inside a block directory.
pub const TOMBSTONES_FILENAME: &str = "tombstones";

const WHAT: &str = "tombstones";

/// A closed time interval `[min_time, max_time]` in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    /// First deleted timestamp.
    pub min_time: i64,
    /// Last deleted timestamp.
    pub max_time: i64,
}

impl Interval {
    /// The interval `[min_time, max_time]`.
    pub fn new(min_time: i64, max_time: i64) -> Self {
        Self { min_time, max_time }
    }

    /// True if `t` is inside the interval.
    pub fn contains(&self, t: i64) -> bool {
        self.min_time <= t && t <= self.max_time
    }
}

/// Deleted intervals per series ref; each series' intervals are sorted, disjoint and not
/// adjacent (Prometheus `Intervals.Add` semantics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tombstones {
    series: BTreeMap<u64, Vec<Interval>>,
}

impl Tombstones {
    /// No tombstones.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a deleted interval for `series_ref`, merging overlapping or adjacent intervals.
    pub fn add(&mut self, series_ref: u64, iv: Interval) {
        let ivs = self.series.entry(series_ref).or_default();
        ivs.push(iv);
        ivs.sort_unstable();
        let mut merged: Vec<Interval> = Vec::with_capacity(ivs.len());
        for &i in ivs.iter() {
            match merged.last_mut() {
                Some(last) if i.min_time <= last.max_time.saturating_add(1) => {
                    last.max_time = last.max_time.max(i.max_time);
                }
                _ => merged.push(i),
            }
        }
        *ivs = merged;
    }

    /// The deleted intervals of `series_ref` (empty if none).
    pub fn get(&self, series_ref: u64) -> &[Interval] {
        self.series.get(&series_ref).map_or(&[], Vec::as_slice)
    }

    /// Iterate over (series ref, intervals) in ref order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[Interval])> + '_ {
        self.series.iter().map(|(r, v)| (*r, v.as_slice()))
    }

    /// Number of series with tombstones.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True if nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Encode as a tombstones file.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encbuf::new();
        e.put_be32(MAGIC_TOMBSTONE);
        e.put_byte(TOMBSTONES_V1);
        let start = e.len();
        for (r, ivs) in &self.series {
            for iv in ivs {
                e.put_uvarint(*r);
                e.put_varint(iv.min_time);
                e.put_varint(iv.max_time);
            }
        }
        let crc = crc32(&e.buf[start..]);
        e.put_be32(crc);
        e.buf
    }

    /// Decode a tombstones file, checking magic, version and CRC.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut d = Decbuf::new(b, WHAT);
        let magic = d.be32()?;
        if magic != MAGIC_TOMBSTONE {
            return Err(Error::corrupted(
                WHAT,
                format!("invalid magic number {magic:#010x}"),
            ));
        }
        let version = d.byte()?;
        if version != TOMBSTONES_V1 {
            return Err(Error::Unsupported {
                what: "tombstones version",
                value: version.to_string(),
            });
        }
        let rest = d.rest();
        if rest.len() < 4 {
            return Err(Error::corrupted(WHAT, "missing checksum"));
        }
        let (entries, crc) = rest.split_at(rest.len() - 4);
        let expected = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let actual = crc32(entries);
        if expected != actual {
            return Err(Error::Checksum {
                what: WHAT,
                expected,
                actual,
            });
        }
        let mut d = Decbuf::new(entries, WHAT);
        let mut t = Tombstones::new();
        while d.remaining() > 0 {
            let r = d.uvarint()?;
            let min_time = d.varint()?;
            let max_time = d.varint()?;
            t.add(r, Interval::new(min_time, max_time));
        }
        Ok(t)
    }

    /// Read `<dir>/tombstones`; a missing file is no tombstones.
    pub fn read_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let path = dir.as_ref().join(TOMBSTONES_FILENAME);
        match std::fs::read(&path) {
            Ok(b) => Self::decode(&b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Write `<dir>/tombstones` through a temporary file and a rename.
    pub fn write_dir(&self, dir: impl AsRef<Path>) -> Result<()> {
        let path = dir.as_ref().join(TOMBSTONES_FILENAME);
        let tmp = dir.as_ref().join(format!("{TOMBSTONES_FILENAME}.tmp"));
        std::fs::write(&tmp, self.encode()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_merge() {
        let mut t = Tombstones::new();
        t.add(3, Interval::new(10, 20));
        t.add(3, Interval::new(21, 30)); // adjacent: merged
        t.add(3, Interval::new(50, 60));
        t.add(3, Interval::new(55, 70)); // overlapping: merged
        t.add(1, Interval::new(-5, -1));
        assert_eq!(t.get(3), &[Interval::new(10, 30), Interval::new(50, 70)]);
        let b = t.encode();
        assert_eq!(&b[..5], &[0x01, 0x30, 0xBA, 0x30, 1]);
        assert_eq!(Tombstones::decode(&b).unwrap(), t);
        assert!(t.get(2).is_empty());
    }

    #[test]
    fn corrupt_files_are_errors() {
        let mut t = Tombstones::new();
        t.add(7, Interval::new(1, 2));
        let b = t.encode();
        for n in 0..b.len() {
            assert!(Tombstones::decode(&b[..n]).is_err(), "truncated to {n}");
        }
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x40;
            assert!(Tombstones::decode(&c).is_err(), "flipped byte {i}");
        }
        assert!(
            Tombstones::decode(&Tombstones::new().encode())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Tombstones::read_dir(dir.path()).unwrap().is_empty());
        let mut t = Tombstones::new();
        t.add(1, Interval::new(0, 9));
        t.write_dir(dir.path()).unwrap();
        assert_eq!(Tombstones::read_dir(dir.path()).unwrap(), t);
    }
}
