//! Helpers shared by the wire-compatibility tests.
#![allow(dead_code, unreachable_pub)]

use strata_storeapi::pb::thanos::Label;

/// Concatenates byte slices; keeps the hand-built messages readable (strings as `b"..."`).
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// 1_700_000_000_000 (ms) as a varint.
pub const T_1700000000000: &[u8] = &[0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31];
