//! Fuzz the index reader: open an arbitrary byte string as an index and walk every postings
//! list and series entry. Must return errors, never panic or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let _ = strata_tsdb::index::verify_index(bytes::Bytes::copy_from_slice(data)).await;
    });
});
