//! Fuzz the chunk segment reader: a segment file of arbitrary bytes, read at every plausible
//! chunk reference, must give chunks or errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let src = bytes::Bytes::copy_from_slice(data);
        if let Ok(r) = strata_tsdb::chunks::ChunkReader::new(vec![src]).await {
            for off in 0..data.len().min(64) as u64 {
                if let Ok(c) = r.chunk(off).await {
                    let _ = strata_tsdb::chunkenc::decode_xor(&c.data);
                }
            }
        }
    });
});
