//! `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`: reorder an instant query's
//! result (no-op with a warning in range queries, whose output is always label-sorted).

use std::cmp::Ordering;

use super::CallCtx;
use crate::value::{Data, Series};

const SORT_IN_RANGE_QUERY: &str =
    "sort is ineffective for range queries since results are always ordered by labels";

/// True (after warning) if sorting has no effect because the grid has several steps.
fn is_range(ctx: &mut CallCtx<'_>) -> bool {
    if ctx.grid.len() > 1 {
        ctx.ann.warn(SORT_IN_RANGE_QUERY);
        true
    } else {
        false
    }
}

/// `sort` / `sort_desc`: by value, NaN (and series without a point) last in both orders.
pub(super) fn by_value(mut v: Vec<Series>, desc: bool, ctx: &mut CallCtx<'_>) -> Data {
    if is_range(ctx) {
        return Data::Vector(v);
    }
    // 0: a number, 1: NaN, 2: no point.
    let key = |s: &Series| match s.points.first() {
        Some(p) if !p.v.is_nan() => (0u8, p.v),
        Some(_) => (1, 0.0),
        None => (2, 0.0),
    };
    v.sort_by(|a, b| {
        let (ka, va) = key(a);
        let (kb, vb) = key(b);
        ka.cmp(&kb).then_with(|| {
            let o = va.partial_cmp(&vb).unwrap_or(Ordering::Equal);
            if desc { o.reverse() } else { o }
        })
    });
    Data::Vector(v)
}

/// `sort_by_label` / `sort_by_label_desc`: natural order of the listed labels' values, ties
/// broken by the full label set.
pub(super) fn by_label(
    mut v: Vec<Series>,
    names: &[String],
    desc: bool,
    ctx: &mut CallCtx<'_>,
) -> Data {
    if is_range(ctx) {
        return Data::Vector(v);
    }
    v.sort_by(|a, b| {
        let mut o = Ordering::Equal;
        for n in names {
            let x = a.labels.get(n).unwrap_or("");
            let y = b.labels.get(n).unwrap_or("");
            if x != y {
                o = natural_cmp(x, y);
                if o != Ordering::Equal {
                    break;
                }
            }
        }
        let o = o.then_with(|| a.labels.cmp(&b.labels));
        if desc { o.reverse() } else { o }
    });
    Data::Vector(v)
}

/// Splits `s` into maximal runs of ASCII digits and of other characters.
fn chunks(s: &str) -> impl Iterator<Item = &str> {
    let b = s.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= b.len() {
            return None;
        }
        let digit = b[start].is_ascii_digit();
        let mut end = start + 1;
        while end < b.len() && b[end].is_ascii_digit() == digit {
            end += 1;
        }
        // Digit runs end at ASCII bytes, so `end` is always a char boundary.
        let c = s.get(start..end);
        start = end;
        c
    })
}

/// Compares two runs of ASCII digits by numeric value (any length).
fn numeric_cmp(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Natural ("human") string order as used by Prometheus' `sort_by_label`: the strings are
/// compared run by run, digit runs by numeric value and other runs byte-wise; a string that
/// is a prefix (run-wise) of the other sorts first. Strings that compare equal this way (e.g.
/// differing only in leading zeros) are ordered byte-wise, so the order is total.
pub(super) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let mut ca = chunks(a);
    let mut cb = chunks(b);
    loop {
        match (ca.next(), cb.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let both_numeric =
                    x.as_bytes()[0].is_ascii_digit() && y.as_bytes()[0].is_ascii_digit();
                let o = if both_numeric {
                    numeric_cmp(x, y)
                } else {
                    x.cmp(y)
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}
