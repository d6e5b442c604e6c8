//! Set operations on postings lists: strictly increasing `u32` series refs as stored in an index v2
//! postings list (Prometheus `tsdb/docs/format/index.md`, "Postings"). Intersection gallops when
//! the sizes are skewed, union merges any number of lists (k-way), and difference removes one list
//! from another.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// When the larger list is at least this many times longer, intersection gallops through it.
const GALLOP_RATIO: usize = 16;

/// True if `p` is strictly increasing (the invariant of every postings list).
pub fn is_strictly_sorted(p: &[u32]) -> bool {
    p.windows(2).all(|w| w[0] < w[1])
}

/// First index `i >= from` with `p[i] >= target` (or `p.len()`), by exponential then binary search.
fn gallop(p: &[u32], from: usize, target: u32) -> usize {
    let mut lo = from;
    let mut step = 1;
    let mut hi = from;
    while hi < p.len() && p[hi] < target {
        lo = hi + 1;
        hi = from.saturating_add(step).min(p.len());
        step = step.saturating_mul(2);
    }
    // The answer is in [lo, hi]: p[lo-1] < target (or lo == from) and p[hi] >= target (or hi == len).
    lo + p[lo..hi].partition_point(|&x| x < target)
}

/// Refs present in both `a` and `b`.
pub fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if small.is_empty() {
        return Vec::new();
    }
    if large.len() / small.len() >= GALLOP_RATIO {
        let mut out = Vec::with_capacity(small.len());
        let mut j = 0;
        for &x in small {
            j = gallop(large, j, x);
            if j == large.len() {
                break;
            }
            if large[j] == x {
                out.push(x);
                j += 1;
            }
        }
        return out;
    }
    // Branch-free merge: write every candidate, advance the output only on a match.
    let mut buf = vec![0u32; small.len()];
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < small.len() && j < large.len() {
        let (x, y) = (small[i], large[j]);
        buf[k] = x;
        k += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    buf.truncate(k);
    buf
}

/// Refs present in every list (empty if `lists` is empty). Intersects the shortest lists first.
pub fn intersect_many<L: AsRef<[u32]>>(lists: &[L]) -> Vec<u32> {
    let mut order: Vec<&[u32]> = lists.iter().map(AsRef::as_ref).collect();
    order.sort_by_key(|l| l.len());
    let mut iter = order.into_iter();
    let Some(first) = iter.next() else {
        return Vec::new();
    };
    let mut acc = first.to_vec();
    for l in iter {
        if acc.is_empty() {
            break;
        }
        acc = intersect(&acc, l);
    }
    acc
}

/// Refs present in `a` or `b`.
pub fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x == y {
            out.push(x);
            i += 1;
            j += 1;
        } else if x < y {
            out.push(x);
            i += 1;
        } else {
            out.push(y);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Refs present in any of the lists: a k-way merge with duplicates removed.
pub fn merge<L: AsRef<[u32]>>(lists: &[L]) -> Vec<u32> {
    let lists: Vec<&[u32]> = lists
        .iter()
        .map(AsRef::as_ref)
        .filter(|l| !l.is_empty())
        .collect();
    match lists.len() {
        0 => return Vec::new(),
        1 => return lists[0].to_vec(),
        2 => return union(lists[0], lists[1]),
        _ => {}
    }
    let total: usize = lists.iter().map(|l| l.len()).sum();
    let lo = lists.iter().map(|l| l[0]).min().unwrap_or(0);
    let hi = lists.iter().map(|l| l[l.len() - 1]).max().unwrap_or(0);
    let words = (hi.saturating_sub(lo) / 64) as usize + 1;
    if words <= total {
        return merge_bitmap(&lists, lo, words, total);
    }
    let mut out = Vec::with_capacity(total);
    // Heap of (next value, list index, position in that list); smallest value on top.
    let mut heap: BinaryHeap<Reverse<(u32, usize, usize)>> = lists
        .iter()
        .enumerate()
        .map(|(i, l)| Reverse((l[0], i, 0)))
        .collect();
    while let Some(mut top) = heap.peek_mut() {
        let Reverse((v, li, pos)) = *top;
        if out.last() != Some(&v) {
            out.push(v);
        }
        let list = lists[li];
        if pos + 1 < list.len() {
            *top = Reverse((list[pos + 1], li, pos + 1));
        } else {
            std::collections::binary_heap::PeekMut::pop(top);
        }
    }
    out
}

/// Union through a bitmap over `lo..`: linear in the input and the value range, used when the
/// lists are dense (the bitmap has no more words than there are refs).
fn merge_bitmap(lists: &[&[u32]], lo: u32, words: usize, total: usize) -> Vec<u32> {
    let mut bits = vec![0u64; words];
    for l in lists {
        for &v in *l {
            // Lists are sorted, so `v` is within `lo..=hi`; stay panic-free if they are not.
            let d = v.wrapping_sub(lo) as usize;
            if let Some(w) = bits.get_mut(d / 64) {
                *w |= 1 << (d % 64);
            }
        }
    }
    let mut out = Vec::with_capacity(total);
    for (w, &word) in bits.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            let bit = word.trailing_zeros();
            out.push(lo + (w as u32) * 64 + bit);
            word &= word - 1;
        }
    }
    out
}

/// Refs of `a` that are not in `b`.
pub fn without(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len());
    if b.is_empty() {
        out.extend_from_slice(a);
        return out;
    }
    let skewed = b.len() / a.len().max(1) >= GALLOP_RATIO;
    let mut j = 0;
    for &x in a {
        if skewed {
            j = gallop(b, j, x);
        } else {
            while j < b.len() && b[j] < x {
                j += 1;
            }
        }
        if j < b.len() && b[j] == x {
            j += 1;
        } else {
            out.push(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn sorted(max: u32, len: usize) -> impl Strategy<Value = Vec<u32>> {
        proptest::collection::btree_set(0..max, 0..len).prop_map(|s| s.into_iter().collect())
    }

    #[test]
    fn gallop_finds_lower_bound() {
        let p: Vec<u32> = (0..100).map(|x| x * 2).collect();
        for t in 0..210 {
            for from in [0usize, 3, 50, 99, 100] {
                let want = from + p[from..].partition_point(|&x| x < t);
                assert_eq!(gallop(&p, from, t), want, "t={t} from={from}");
            }
        }
    }

    #[test]
    fn small_cases() {
        assert_eq!(intersect(&[1, 3, 5], &[3, 4, 5]), vec![3, 5]);
        assert_eq!(union(&[1, 3], &[2, 3]), vec![1, 2, 3]);
        assert_eq!(without(&[1, 2, 3], &[2]), vec![1, 3]);
        assert_eq!(merge::<Vec<u32>>(&[]), Vec::<u32>::new());
        assert_eq!(intersect_many::<Vec<u32>>(&[]), Vec::<u32>::new());
        assert_eq!(
            merge(&[vec![5], vec![1, 5], vec![2], vec![]]),
            vec![1, 2, 5]
        );
    }

    proptest! {
        #[test]
        fn ops_match_btreeset(
            a in sorted(2000, 300),
            b in sorted(2000, 20),
            c in sorted(5000, 600),
            more in proptest::collection::vec(sorted(500, 50), 0..12),
            sparse in proptest::collection::vec(sorted(u32::MAX, 30), 0..8),
        ) {
            let sa: BTreeSet<u32> = a.iter().copied().collect();
            let sb: BTreeSet<u32> = b.iter().copied().collect();
            let sc: BTreeSet<u32> = c.iter().copied().collect();
            let v = |s: BTreeSet<u32>| s.into_iter().collect::<Vec<_>>();
            prop_assert_eq!(intersect(&a, &b), v(&sa & &sb));
            prop_assert_eq!(intersect(&b, &c), v(&sb & &sc));
            prop_assert_eq!(union(&a, &c), v(&sa | &sc));
            prop_assert_eq!(without(&a, &b), v(&sa - &sb));
            prop_assert_eq!(without(&b, &c), v(&sb - &sc));
            prop_assert_eq!(without(&c, &a), v(&sc - &sa));
            prop_assert_eq!(intersect_many(&[&a[..], &b[..], &c[..]]), v(&(&sa & &sb) & &sc));
            let mut all = BTreeSet::new();
            for l in &more {
                all.extend(l.iter().copied());
            }
            prop_assert_eq!(merge(&more), v(all));
            let mut all = BTreeSet::new();
            for l in &sparse {
                all.extend(l.iter().copied());
            }
            prop_assert_eq!(merge(&sparse), v(all));
            for out in [intersect(&a, &c), union(&a, &b), merge(&more)] {
                prop_assert!(is_strictly_sorted(&out));
            }
        }
    }
}
