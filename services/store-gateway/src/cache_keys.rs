//! Cache keys of the index and chunk caches, in a `strata:` namespace of their own: strata
//! frames its cached values differently from Thanos, so sharing Thanos' key names in one
//! memcached would let each gateway read the other's entries as garbage.
//!
//! - `strata:P:<block>:<len(name)>:<name>:<value>` for postings lists. The name length makes the
//!   key unambiguous (label names may contain `:`). When the label part is long or not
//!   memcached-safe (spaces, control characters) an xxh3-128 hex digest of the same
//!   length-prefixed encoding replaces it, so every key stays under memcached's 250 bytes.
//! - `strata:S:<block>:<ref>` for series entries, `strata:C:<block>:<ref>` for chunks.

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
        format!("strata:P:{block}:{}:{name}:{value}", name.len())
    } else {
        let mut buf = Vec::with_capacity(raw_len + 8);
        buf.extend_from_slice(&(name.len() as u64).to_le_bytes());
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(value.as_bytes());
        let h = xxhash_rust::xxh3::xxh3_128(&buf);
        format!("strata:P:{block}:h{h:032x}")
    }
}

/// Key of the series entry with ref `series_ref` in `block`.
pub(crate) fn series(block: &Ulid, series_ref: u32) -> String {
    format!("strata:S:{block}:{series_ref}")
}

/// Key of the chunk with ref `chunk_ref` in `block`.
pub(crate) fn chunk(block: &Ulid, chunk_ref: u64) -> String {
    format!("strata:C:{block}:{chunk_ref}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_safe_and_unambiguous() {
        let b = Ulid::nil();
        assert_eq!(
            postings(&b, "job", "api"),
            format!("strata:P:{b}:3:job:api"),
            "plain keys stay readable"
        );
        let spaced = postings(&b, "path", "a b");
        assert!(spaced.starts_with(&format!("strata:P:{b}:h")), "{spaced}");
        let long = postings(&b, "x", &"v".repeat(1000));
        assert!(long.len() < 250);
        assert_ne!(postings(&b, "x", "a b"), postings(&b, "x", "a c"));
        // Label names may contain ':' (UTF-8 names): a="b:c" and "a:b"="c" must differ.
        assert_ne!(postings(&b, "a", "b:c"), postings(&b, "a:b", "c"));
        assert_ne!(postings(&b, "a", "b c:d"), postings(&b, "a:b c", "d"));
        assert_eq!(series(&b, 7), format!("strata:S:{b}:7"));
        assert!(!series(&b, 7).starts_with("S:"), "never a Thanos key");
    }
}
