//! The aggregations that select input series per group and step: `topk`, `bottomk`,
//! `limitk` and `limit_ratio`. They reproduce Prometheus' `evaluator.aggregationK` including
//! its binary-heap mechanics (Go's `container/heap`), so ties pick the same series, and
//! return the selected input series unchanged (labels and `drop_name`).

use super::xxh64::labels_hash;
use super::{Grouping, go_fmt_g, go_min_max, group_members};
use crate::error::{Error, Result};
use crate::value::{Annotations, Grid, Series};

/// Which selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Top,
    Bottom,
    Limit,
    Ratio,
}

/// Prometheus' `maxInt64` / `minInt64` bounds for k (as float64).
const MAX_INT64: f64 = 9_223_372_036_854_774_784.0;
const MIN_INT64: f64 = -9_223_372_036_854_775_808.0;

/// One sample of the input: value, series index, global point index.
#[derive(Debug, Clone, Copy)]
struct Item {
    v: f64,
    series: usize,
    point: usize,
}

/// `vectorByValueHeap.Less` (NaN is smallest).
fn less_top(a: f64, b: f64) -> bool {
    a.is_nan() || a < b
}

/// `vectorByReverseValueHeap.Less` (NaN is "largest" for the reverse heap's top).
fn less_bottom(a: f64, b: f64) -> bool {
    a.is_nan() || a > b
}

/// Go `container/heap` `up`.
fn up(h: &mut [Item], mut j: usize, less: fn(f64, f64) -> bool) {
    while j > 0 {
        let i = (j - 1) / 2;
        if !less(h[j].v, h[i].v) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

/// Go `container/heap` `down`; true if the element moved.
fn down(h: &mut [Item], i0: usize, less: fn(f64, f64) -> bool) -> bool {
    let n = h.len();
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        let j2 = j1 + 1;
        if j2 < n && less(h[j2].v, h[j1].v) {
            j = j2;
        }
        if !less(h[j].v, h[i].v) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    i > i0
}

fn push(h: &mut Vec<Item>, it: Item, less: fn(f64, f64) -> bool) {
    h.push(it);
    let j = h.len() - 1;
    up(h, j, less);
}

fn fix(h: &mut [Item], i: usize, less: fn(f64, f64) -> bool) {
    if !down(h, i, less) {
        up(h, i, less);
    }
}

/// `sort.Sort(sort.Reverse(heap))`: Go's pdqsort runs an insertion sort for up to 12
/// elements (reproduced exactly); longer heaps get an equivalent total order.
fn sort_reverse(h: &mut [Item], less: fn(f64, f64) -> bool) {
    if h.len() <= 12 {
        for i in 1..h.len() {
            let mut j = i;
            while j > 0 && less(h[j - 1].v, h[j].v) {
                h.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        // Reverse order of `less`, NaN last.
        h.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => {
                if less(b.v, a.v) {
                    std::cmp::Ordering::Less
                } else if less(a.v, b.v) {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            }
        });
    }
}

/// Prometheus' `HashRatioSampler.AddRatioSampleWithOffset`.
fn ratio_keeps(r: f64, offset: f64) -> bool {
    (r >= 0.0 && offset < r) || (r < 0.0 && offset >= 1.0 + r)
}

/// Checks the parameter over all steps as `rangeEvalAgg` does; `Ok(false)` means the result
/// is empty.
fn check_params(kind: Kind, params: &[f64], ann: &mut Annotations) -> Result<bool> {
    let (min, max, any_nan) = go_min_max(params);
    if kind == Kind::Ratio {
        if max == 0.0 && min == 0.0 {
            return Ok(false);
        }
        if any_nan {
            return Err(Error::Execution("Ratio value is NaN".into()));
        }
        if max > 1.0 {
            ann.warn(format!(
                "ratio value should be between -1 and 1, got {}, capping to 1",
                go_fmt_g(max)
            ));
        }
        if min < -1.0 {
            ann.warn(format!(
                "ratio value should be between -1 and 1, got {}, capping to -1",
                go_fmt_g(min)
            ));
        }
        return Ok(true);
    }
    if max < 1.0 {
        return Ok(false);
    }
    if any_nan {
        return Err(Error::Execution("Parameter value is NaN".into()));
    }
    if min <= MIN_INT64 {
        return Err(Error::Execution(format!(
            "Scalar value {} underflows int64",
            go_fmt_g(min)
        )));
    }
    if max >= MAX_INT64 {
        return Err(Error::Execution(format!(
            "Scalar value {} overflows int64",
            go_fmt_g(max)
        )));
    }
    Ok(true)
}

/// Evaluates `kind` with per-step parameter `params` (k or ratio).
pub(super) fn select(
    kind: Kind,
    params: &[f64],
    grouping: &Grouping,
    input: Vec<Series>,
    grid: &Grid,
    ann: &mut Annotations,
) -> Result<Vec<Series>> {
    if !check_params(kind, params, ann)? || input.is_empty() {
        return Ok(Vec::new());
    }
    let n = grid.len();
    let (of_series, groups) = grouping.assign(&input, false);
    let (members, gstart) = group_members(&of_series, groups.len());
    let mut first_point = Vec::with_capacity(input.len());
    let mut total = 0usize;
    for s in &input {
        first_point.push(total);
        total += s.points.len();
    }

    // limit_ratio's per-series sampling offset: hash of the full label set / 2^64.
    let offsets: Vec<f64> = if kind == Kind::Ratio {
        let mut buf = Vec::new();
        input
            .iter()
            .map(|s| labels_hash(&s.labels, &mut buf) as f64 / u64::MAX as f64)
            .collect()
    } else {
        Vec::new()
    };
    // Step-wise parameter: k (clamped to the input size) or the capped ratio; None = no
    // output at this step.
    let step_param: Vec<Option<(usize, f64)>> = params
        .iter()
        .take(n)
        .map(|&p| match kind {
            Kind::Ratio => (p != 0.0).then_some((0, p.clamp(-1.0, 1.0))),
            _ => {
                let k = (p as i64).min(input.len() as i64);
                (k >= 1).then(|| (usize::try_from(k).unwrap_or(usize::MAX), 0.0))
            }
        })
        .collect();

    let instant = grid.start == grid.end;
    let mut keep = vec![false; total];
    let mut order: Vec<usize> = Vec::new();
    let mut heap: Vec<Item> = Vec::new();
    let mut bucket: Vec<Item> = Vec::new();
    let mut cursors: Vec<usize> = Vec::new();
    for g in 0..groups.len() {
        // Walk the group's series step by step with one cursor each (points sit on grid
        // steps, ascending), so a step's bucket lists them in input order without
        // materialising the group's samples.
        let group = &members[gstart[g]..gstart[g + 1]];
        cursors.clear();
        cursors.resize(group.len(), 0);
        for i in 0..n {
            let t = grid.at(i);
            bucket.clear();
            for (mi, &si) in group.iter().enumerate() {
                let pts = &input[si].points;
                let c = cursors[mi];
                if c < pts.len() && pts[c].t == t {
                    bucket.push(Item {
                        v: pts[c].v,
                        series: si,
                        point: first_point[si] + c,
                    });
                    cursors[mi] = c + 1;
                }
            }
            if bucket.is_empty() {
                continue;
            }
            let bucket = &bucket[..];
            let Some((k, r)) = step_param.get(i).copied().flatten() else {
                continue;
            };
            heap.clear();
            match kind {
                Kind::Top => {
                    for &it in bucket {
                        if heap.len() < k {
                            push(&mut heap, it, less_top);
                        } else if heap[0].v < it.v || (heap[0].v.is_nan() && !it.v.is_nan()) {
                            heap[0] = it;
                            if k > 1 {
                                fix(&mut heap, 0, less_top);
                            }
                        }
                    }
                    if instant {
                        sort_reverse(&mut heap, less_top);
                    }
                }
                Kind::Bottom => {
                    for &it in bucket {
                        if heap.len() < k {
                            push(&mut heap, it, less_bottom);
                        } else if heap[0].v > it.v || (heap[0].v.is_nan() && !it.v.is_nan()) {
                            heap[0] = it;
                            if k > 1 {
                                fix(&mut heap, 0, less_bottom);
                            }
                        }
                    }
                    if instant {
                        sort_reverse(&mut heap, less_bottom);
                    }
                }
                Kind::Limit => {
                    for &it in bucket.iter().take(k) {
                        push(&mut heap, it, less_top);
                    }
                }
                Kind::Ratio => {
                    for &it in bucket {
                        if ratio_keeps(r, offsets[it.series]) {
                            push(&mut heap, it, less_top);
                        }
                    }
                }
            }
            for it in &heap {
                keep[it.point] = true;
                if instant {
                    order.push(it.series);
                }
            }
        }
    }

    let mut slots: Vec<Option<Series>> = Vec::with_capacity(input.len());
    for (si, mut s) in input.into_iter().enumerate() {
        let base = first_point[si];
        let mut idx = 0;
        s.points.retain(|_| {
            let k = keep[base + idx];
            idx += 1;
            k
        });
        slots.push((!s.points.is_empty()).then_some(s));
    }
    if instant {
        Ok(order.iter().filter_map(|&si| slots[si].take()).collect())
    } else {
        Ok(slots.into_iter().flatten().collect())
    }
}
