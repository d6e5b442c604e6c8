//! The Thanos downsampled aggregate chunk (chunk encoding byte 0xff,
//! `pkg/compact/downsample/aggr.go`): five slots in the order count, sum, min, max, counter; each
//! slot is `uvarint(len)` followed, when `len > 0`, by one encoding byte and `len` bytes of chunk
//! data. An absent slot has len 0.

use crate::chunkenc::Encoding;
use crate::encoding::{Decbuf, Encbuf};
use crate::{Error, Result};

/// The aggregates of a downsampled series, in slot order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggrType {
    /// Number of raw samples in the window.
    Count = 0,
    /// Sum of raw samples in the window.
    Sum = 1,
    /// Minimum raw sample in the window.
    Min = 2,
    /// Maximum raw sample in the window.
    Max = 3,
    /// Counter with resets applied (for rate/increase).
    Counter = 4,
}

impl AggrType {
    /// All five, in slot order.
    pub const ALL: [AggrType; 5] = [
        AggrType::Count,
        AggrType::Sum,
        AggrType::Min,
        AggrType::Max,
        AggrType::Counter,
    ];
}

/// One slot's encoding and chunk bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggrSlot<'a> {
    /// Encoding of the chunk in this slot (XOR for float series).
    pub encoding: Encoding,
    /// The chunk bytes.
    pub data: &'a [u8],
}

/// Encode up to five slot chunks into aggregate chunk data (without the 0xff byte, which the
/// segment file stores as the chunk encoding).
pub fn encode_aggr_chunk(slots: [Option<AggrSlot<'_>>; 5]) -> Vec<u8> {
    let mut e = Encbuf::new();
    for slot in slots {
        match slot {
            Some(s) if !s.data.is_empty() => {
                e.put_uvarint(s.data.len() as u64);
                e.put_byte(s.encoding.to_byte());
                e.put_bytes(s.data);
            }
            _ => e.put_uvarint(0),
        }
    }
    e.buf
}

/// Decoded view of an aggregate chunk's slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AggrChunk<'a> {
    slots: [Option<AggrSlot<'a>>; 5],
}

impl<'a> AggrChunk<'a> {
    /// Parse aggregate chunk data; every slot must be present (possibly empty) and nothing may
    /// follow the fifth slot.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let mut d = Decbuf::new(data, "aggregate chunk");
        let mut slots = [None; 5];
        for slot in &mut slots {
            let len = d.uvarint()?;
            if len == 0 {
                continue;
            }
            let len = usize::try_from(len)
                .map_err(|_| Error::corrupted("aggregate chunk", "slot length overflows"))?;
            let encoding = Encoding::from_byte(d.byte()?);
            let data = d.bytes(len)?;
            *slot = Some(AggrSlot { encoding, data });
        }
        if d.remaining() != 0 {
            return Err(Error::corrupted(
                "aggregate chunk",
                format!("{} trailing bytes after the fifth slot", d.remaining()),
            ));
        }
        Ok(Self { slots })
    }

    /// The slot for `t`, if present.
    pub fn get(&self, t: AggrType) -> Option<AggrSlot<'a>> {
        self.slots[t as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_len_encoding_data() {
        let count = [0u8, 1, 2];
        let data = encode_aggr_chunk([
            Some(AggrSlot {
                encoding: Encoding::Xor,
                data: &count,
            }),
            None,
            None,
            None,
            None,
        ]);
        assert_eq!(data, vec![3, 1, 0, 1, 2, 0, 0, 0, 0]);
        let c = AggrChunk::parse(&data).unwrap();
        assert_eq!(c.get(AggrType::Count).unwrap().data, &count);
        assert!(c.get(AggrType::Sum).is_none());
    }

    #[test]
    fn malformed_is_an_error() {
        assert!(AggrChunk::parse(&[]).is_err());
        assert!(AggrChunk::parse(&[5, 1, 0]).is_err());
        assert!(AggrChunk::parse(&[0, 0, 0, 0, 0, 9]).is_err());
    }
}
