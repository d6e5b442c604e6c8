//! `count_values(label, v)`: counts, per group and step, the series having each distinct
//! value; the value (Go `'f'` shortest formatting) becomes label `label` of the output.

use std::collections::HashMap;

use strata_tsdb::labels::{Labels, METRIC_NAME};

use super::{Grouping, step_index};
use crate::error::{Error, Result};
use crate::value::{Grid, Point, Series};

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
pub(super) fn go_fmt_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // Rust's `Display` is the shortest round-trip representation without exponent.
        format!("{v}")
    }
}

/// Go's `strconv.Quote` for the error message (printable text kept, the rest escaped).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The canonical key of a value: NaNs with different payloads format the same.
fn value_key(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    }
}

pub(super) fn count_values(
    label: &str,
    grouping: &Grouping,
    input: &[Series],
    grid: &Grid,
) -> Result<Vec<Series>> {
    // Prometheus (UTF-8 validation): any non-empty valid UTF-8 name is allowed.
    if label.is_empty() {
        return Err(Error::Execution(format!(
            "invalid label name {}",
            go_quote(label)
        )));
    }
    // The output label is set before grouping; `without` may remove it again.
    let add_value = !(grouping.without && (grouping.contains(label) || label == METRIC_NAME));
    let n = grid.len();

    // Per series: its group labels without the value label (computed once).
    let mut bases: HashMap<Labels, usize> = HashMap::new();
    let mut base_labels: Vec<Labels> = Vec::new();
    let mut base_of = Vec::with_capacity(input.len());
    for s in input {
        let mut l = if !grouping.without && grouping.names.is_empty() {
            Labels::empty()
        } else {
            grouping.labels(&s.labels)
        };
        l.remove(label);
        let next = bases.len();
        let b = *bases.entry(l).or_insert_with_key(|k| {
            base_labels.push(k.clone());
            next
        });
        base_of.push(b);
    }
    drop(bases);

    // (base, value) → output index; one (output, step) entry per sample.
    let mut outputs: HashMap<(usize, u64), usize> = HashMap::new();
    let mut out_keys: Vec<(usize, f64)> = Vec::new();
    let mut entries: Vec<(usize, usize)> = Vec::new();
    for (s, &b) in input.iter().zip(&base_of) {
        // Series often keep their value: reuse the previous point's output without hashing.
        let mut last: Option<(u64, usize)> = None;
        for p in &s.points {
            let Some(i) = step_index(grid, n, p.t) else {
                continue;
            };
            let vk = if add_value { value_key(p.v) } else { 0 };
            let o = match last {
                Some((k, o)) if k == vk => o,
                _ => {
                    let next = outputs.len();
                    let o = *outputs.entry((b, vk)).or_insert_with(|| {
                        out_keys.push((b, p.v));
                        next
                    });
                    last = Some((vk, o));
                    o
                }
            };
            entries.push((o, i));
        }
    }
    drop(outputs);
    entries.sort_unstable();

    let mut out: Vec<Series> = out_keys
        .iter()
        .map(|&(b, v)| {
            let mut labels = base_labels[b].clone();
            if add_value {
                labels.set(label, &go_fmt_f(v));
            }
            Series::new(labels, Vec::new())
        })
        .collect();
    let mut j = 0;
    while j < entries.len() {
        let (o, i) = entries[j];
        let mut c = 0usize;
        while j < entries.len() && entries[j] == (o, i) {
            c += 1;
            j += 1;
        }
        out[o].points.push(Point {
            t: grid.at(i),
            v: c as f64,
        });
    }
    Ok(out)
}
