//! Fuzz the XOR chunk and aggregate chunk decoders: any bytes must decode or fail, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = strata_tsdb::chunkenc::decode_xor(data);
    if let Ok(c) = strata_tsdb::aggr::AggrChunk::parse(data) {
        for t in strata_tsdb::aggr::AggrType::ALL {
            if let Some(slot) = c.get(t) {
                let _ = strata_tsdb::chunkenc::decode_xor(slot.data);
            }
        }
    }
});
