//! Memcached key rules and server selection.
//!
//! The text protocol allows keys of at most 250 bytes without spaces or control characters.
//! Keys that break the rule (or contain non-ASCII bytes) are replaced by a prefix and the hex
//! xxh3-128 hash of the key. Servers are picked by jump consistent hash (Lamping & Veach) of
//! the key's xxh64, so adding a server moves only about 1/n of the keys.

use xxhash_rust::xxh3::xxh3_128;
use xxhash_rust::xxh64::xxh64;

/// Longest key memcached accepts.
pub const MAX_KEY_LEN: usize = 250;
/// Prefix of keys replaced by their hash.
pub const HASHED_KEY_PREFIX: &str = "strata:h:";

/// Whether `key` can be sent as is.
pub fn is_safe_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The key sent to memcached for `key`.
pub fn memcached_key(key: &str) -> String {
    if is_safe_key(key) && !key.starts_with(HASHED_KEY_PREFIX) {
        key.to_string()
    } else {
        format!("{HASHED_KEY_PREFIX}{:032x}", xxh3_128(key.as_bytes()))
    }
}

/// Index of the server for `key` among `servers` (0 when `servers` is 0 or 1).
pub fn pick_server(key: &str, servers: usize) -> usize {
    if servers <= 1 {
        return 0;
    }
    jump_hash(xxh64(key.as_bytes(), 0), servers as i64) as usize
}

fn jump_hash(mut key: u64, buckets: i64) -> i64 {
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < buckets {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b.wrapping_add(1) as f64)
            * ((1u64 << 31) as f64 / ((key >> 33).wrapping_add(1) as f64))) as i64;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_keys_pass_through() {
        assert_eq!(memcached_key("P:01ABC:xyz"), "P:01ABC:xyz");
        let k = "a".repeat(250);
        assert_eq!(memcached_key(&k), k);
    }

    #[test]
    fn unsafe_keys_are_hashed() {
        for k in [
            "a".repeat(251),
            "has space".to_string(),
            "ctl\r\nset".to_string(),
            "tab\t".to_string(),
            "ünïcode".to_string(),
            String::new(),
            format!("{HASHED_KEY_PREFIX}00"),
        ] {
            let m = memcached_key(&k);
            assert!(m.starts_with(HASHED_KEY_PREFIX), "{k:?} -> {m}");
            assert!(is_safe_key(&m), "{m}");
            assert_eq!(m, memcached_key(&k), "stable");
        }
        assert_ne!(memcached_key("a b"), memcached_key("a  b"));
    }

    #[test]
    fn server_pick_is_stable_and_spread() {
        let mut counts = [0usize; 3];
        for i in 0..3000 {
            let key = format!("key-{i}");
            let s = pick_server(&key, 3);
            assert_eq!(s, pick_server(&key, 3));
            counts[s] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
        // Growing 3 -> 4 servers moves about a quarter of the keys, never between old servers.
        let mut moved = 0;
        for i in 0..3000 {
            let key = format!("key-{i}");
            let (a, b) = (pick_server(&key, 3), pick_server(&key, 4));
            if a != b {
                assert_eq!(b, 3);
                moved += 1;
            }
        }
        assert!((500..1000).contains(&moved), "{moved}");
        assert_eq!(pick_server("x", 1), 0);
        assert_eq!(pick_server("x", 0), 0);
    }
}
