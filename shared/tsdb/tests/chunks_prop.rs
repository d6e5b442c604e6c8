//! Random round trips of the chunk encodings: XOR chunks (NaN, ±Inf, the stale-marker NaN,
//! equal and huge timestamp deltas, every dod bucket) and Thanos aggregate chunks.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use strata_tsdb::aggr::{AggrChunk, AggrSlot, AggrType, encode_aggr_chunk};
use strata_tsdb::chunkenc::{Encoding, STALE_NAN_BITS, XorAppender, decode_xor, decode_xor_into};

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        2 => (-1000i64..1000).prop_map(|v| v as f64),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::from_bits(STALE_NAN_BITS)),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => (0u64..64).prop_map(|s| f64::from_bits(1u64 << s)),
    ]
}

fn delta() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => Just(15_000i64),
        2 => 0i64..20,
        2 => 14_990i64..15_010,
        1 => 8_000i64..9_000,       // around the 14-bit dod bucket edge
        1 => 60_000i64..70_000,     // 17-bit bucket edge
        1 => 500_000i64..530_000,   // 20-bit bucket edge
        1 => 1i64..(1i64 << 40),    // 64-bit dods
    ]
}

fn samples() -> impl Strategy<Value = Vec<(i64, f64)>> {
    (
        any::<i64>().prop_map(|t| t >> 2),
        prop::collection::vec((delta(), value()), 0..300),
    )
        .prop_map(|(t0, steps)| {
            let mut t = t0;
            steps
                .into_iter()
                .map(|(d, v)| {
                    t = t.saturating_add(d.max(1));
                    (t, v)
                })
                .collect()
        })
}

fn encode(s: &[(i64, f64)]) -> Vec<u8> {
    let mut a = XorAppender::new();
    for &(t, v) in s {
        a.append(t, v);
    }
    a.into_bytes()
}

fn bits(s: &[(i64, f64)]) -> Vec<(i64, u64)> {
    s.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn xor_round_trips_bit_exact(s in samples()) {
        let data = encode(&s);
        let got = decode_xor(&data).unwrap();
        prop_assert_eq!(bits(&got), bits(&s));
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        decode_xor_into(&data, &mut ts, &mut vs).unwrap();
        let columns: Vec<(i64, f64)> = ts.into_iter().zip(vs).collect();
        prop_assert_eq!(bits(&columns), bits(&s));
        // Every strict prefix of the bytes is rejected by both decoders.
        if !data.is_empty() {
            let cut = &data[..data.len() - 1];
            prop_assert!(decode_xor(cut).is_err() || s.is_empty());
            let (mut ts, mut vs) = (Vec::new(), Vec::new());
            prop_assert!(decode_xor_into(cut, &mut ts, &mut vs).is_err() || s.is_empty());
        }
    }

    #[test]
    fn xor_with_equal_deltas_is_compact(n in 2usize..120, v in value()) {
        let s: Vec<(i64, f64)> = (0..n as i64).map(|i| (1_700_000_000_000 + i * 15_000, v)).collect();
        let data = encode(&s);
        // Header + t0 + v0 + t1 delta, then 2 bits per constant sample.
        prop_assert!(data.len() <= 2 + 10 + 8 + 3 + (2 * n).div_ceil(8));
        prop_assert_eq!(bits(&decode_xor(&data).unwrap()), bits(&s));
    }

    #[test]
    fn xor_decoder_never_panics_on_garbage(data in prop::collection::vec(any::<u8>(), 0..200)) {
        let slow = decode_xor(&data);
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        let fast = decode_xor_into(&data, &mut ts, &mut vs);
        // Both decoders agree on garbage too.
        prop_assert_eq!(slow.is_ok(), fast.is_ok());
        if let Ok(s) = slow {
            let columns: Vec<(i64, f64)> = ts.into_iter().zip(vs).collect();
            prop_assert_eq!(bits(&columns), bits(&s));
        }
    }

    #[test]
    fn aggr_round_trips(
        slots in prop::collection::vec(prop::option::of(samples()), 5),
    ) {
        let encoded: Vec<Option<Vec<u8>>> =
            slots.iter().map(|s| s.as_ref().map(|s| encode(s))).collect();
        let mut arr: [Option<AggrSlot<'_>>; 5] = [None; 5];
        for (i, e) in encoded.iter().enumerate() {
            arr[i] = e.as_ref().map(|d| AggrSlot { encoding: Encoding::Xor, data: d });
        }
        let data = encode_aggr_chunk(arr);
        let c = AggrChunk::parse(&data).unwrap();
        for (i, t) in AggrType::ALL.into_iter().enumerate() {
            match (&slots[i], c.get(t)) {
                (Some(s), Some(slot)) => {
                    prop_assert_eq!(slot.encoding, Encoding::Xor);
                    prop_assert_eq!(bits(&decode_xor(slot.data).unwrap()), bits(s));
                }
                (None, None) => {}
                (Some(_), None) | (None, Some(_)) => prop_assert!(false, "slot {i} presence differs"),
            }
        }
    }

    #[test]
    fn aggr_parser_never_panics_on_garbage(data in prop::collection::vec(any::<u8>(), 0..100)) {
        let _ = AggrChunk::parse(&data);
    }
}
