//! Cache keys of the index and chunk caches: `P:<block>:<name>:<value>` for postings lists,
//! `S:<block>:<ref>` for series entries, `C:<block>:<ref>` for chunks. A postings key whose
//! label part is long or not memcached-safe (spaces, control characters) uses an xxh3-128 hex
//! digest of `name:value` instead, so every key stays under memcached's 250-byte limit.

use ulid::Ulid;

/// Longest `name:value` kept verbatim in a postings key.
const MAX_VERBATIM: usize = 160;

fn memcached_safe(s: &str) -> bool {
    s.bytes().all(|b| b > b' ' && b != 0x7f)
}

/// Key of the postings list of `name=value` in `block`.
pub(crate) fn postings(block: &Ulid, name: &str, value: &str) -> String {
    let raw_len = name.len() + 1 + value.len();
    if raw_len <= MAX_VERBATIM && memcached_safe(name) && memcached_safe(value) {
        format!("P:{block}:{name}:{value}")
    } else {
        let mut buf = Vec::with_capacity(raw_len);
        buf.extend_from_slice(name.as_bytes());
        buf.push(b':');
        buf.extend_from_slice(value.as_bytes());
        let h = xxhash_rust::xxh3::xxh3_128(&buf);
        format!("P:{block}:h{h:032x}")
    }
}

/// Key of the series entry with ref `series_ref` in `block`.
pub(crate) fn series(block: &Ulid, series_ref: u32) -> String {
    format!("S:{block}:{series_ref}")
}

/// Key of the chunk with ref `chunk_ref` in `block`.
pub(crate) fn chunk(block: &Ulid, chunk_ref: u64) -> String {
    format!("C:{block}:{chunk_ref}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_and_safe() {
        let b = Ulid::nil();
        assert_eq!(
            postings(&b, "job", "api"),
            format!("P:{b}:job:api"),
            "plain keys stay readable"
        );
        let spaced = postings(&b, "path", "a b");
        assert!(spaced.starts_with(&format!("P:{b}:h")), "{spaced}");
        let long = postings(&b, "x", &"v".repeat(1000));
        assert!(long.len() < 250);
        assert_ne!(postings(&b, "x", "a b"), postings(&b, "x", "a c"));
        assert_eq!(series(&b, 7), format!("S:{b}:7"));
    }
}
