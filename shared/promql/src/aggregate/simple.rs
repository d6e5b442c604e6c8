//! The aggregations producing one value per group and step: `sum`, `avg`, `count`, `min`,
//! `max`, `group`, `stddev`, `stdvar` and `quantile`, computed like Prometheus'
//! `evaluator.aggregation` (same operation order, so the same rounding).

use super::{Grouping, group_members, sort_by_step, step_index};
use crate::value::{Grid, Point, Series};

/// Which aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Quantile,
}

/// Running state of one group at one step (Prometheus' `groupedAggregation`, floats only).
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    value: f64,
    mean: f64,
    kahan_c: f64,
    count: f64,
    seen: bool,
    incremental: bool,
    drop_name: bool,
}

/// Kahan–Neumaier increment, as Prometheus' `kahansum.Inc`.
pub(super) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

impl Acc {
    fn first(kind: Kind, f: f64, drop_name: bool) -> Acc {
        let mut a = Acc {
            value: f,
            mean: f,
            kahan_c: 0.0,
            count: 1.0,
            seen: true,
            incremental: false,
            drop_name,
        };
        match kind {
            Kind::Stddev | Kind::Stdvar => {
                a.value = if f.is_nan() || f.is_infinite() {
                    f64::NAN
                } else {
                    0.0
                };
            }
            Kind::Group => a.value = 1.0,
            _ => {}
        }
        a
    }

    fn add(&mut self, kind: Kind, f: f64, drop_name: bool) {
        self.drop_name |= drop_name;
        match kind {
            Kind::Sum => {
                (self.value, self.kahan_c) = kahan_inc(f, self.value, self.kahan_c);
            }
            Kind::Avg => {
                self.count += 1.0;
                if !self.incremental {
                    let (v, c) = kahan_inc(f, self.value, self.kahan_c);
                    if !v.is_infinite() {
                        self.value = v;
                        self.kahan_c = c;
                        return;
                    }
                    // The sum would overflow: switch to an incremental mean.
                    self.incremental = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.kahan_c /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.kahan_c) =
                    kahan_inc(f / self.count, q * self.mean, q * self.kahan_c);
            }
            Kind::Max => {
                if self.value < f || self.value.is_nan() {
                    self.value = f;
                }
            }
            Kind::Min => {
                if self.value > f || self.value.is_nan() {
                    self.value = f;
                }
            }
            Kind::Count => self.count += 1.0,
            Kind::Stddev | Kind::Stdvar => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            Kind::Group | Kind::Quantile => {}
        }
    }

    fn result(&self, kind: Kind) -> f64 {
        match kind {
            Kind::Sum => self.value + self.kahan_c,
            Kind::Avg if self.incremental => self.mean + self.kahan_c,
            Kind::Avg => self.value / self.count + self.kahan_c / self.count,
            Kind::Count => self.count,
            Kind::Stdvar => self.value / self.count,
            Kind::Stddev => (self.value / self.count).sqrt(),
            Kind::Min | Kind::Max | Kind::Group | Kind::Quantile => self.value,
        }
    }
}

/// Evaluates `kind` over `input`; `q` holds quantile's φ per step.
///
/// Groups are processed one at a time with one accumulator per step (reused), so memory
/// stays O(steps) besides the output; within a (group, step) the series are folded in input
/// order, as Prometheus does.
pub(super) fn aggregate(
    kind: Kind,
    q: Option<&[f64]>,
    grouping: &Grouping,
    input: &[Series],
    grid: &Grid,
) -> Vec<Series> {
    let (of_series, group_labels) = grouping.assign(input, true);
    let n = grid.len();
    let ng = group_labels.len();
    let (members, gstart) = group_members(&of_series, ng);
    let mut row = vec![Acc::default(); if kind == Kind::Quantile { 0 } else { n }];
    let mut touched: Vec<usize> = Vec::new();
    let mut samples: Vec<(usize, (f64, bool))> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let mut out = Vec::with_capacity(ng);
    for (g, labels) in group_labels.into_iter().enumerate() {
        let group = &members[gstart[g]..gstart[g + 1]];
        let mut points = Vec::new();
        let mut drop_name = false;
        if kind == Kind::Quantile {
            // (step, value, drop_name) of all the group's samples, stably sorted by step.
            samples.clear();
            for &si in group {
                let s = &input[si];
                for p in &s.points {
                    if let Some(i) = step_index(grid, n, p.t) {
                        samples.push((i, (p.v, s.drop_name)));
                    }
                }
            }
            sort_by_step(&mut samples, n, &mut counts);
            let mut j = 0;
            while j < samples.len() {
                let i = samples[j].0;
                values.clear();
                drop_name = false;
                while j < samples.len() && samples[j].0 == i {
                    values.push(samples[j].1.0);
                    drop_name |= samples[j].1.1;
                    j += 1;
                }
                let phi = q.and_then(|q| q.get(i)).copied().unwrap_or(0.0);
                points.push(Point {
                    t: grid.at(i),
                    v: quantile(phi, &mut values),
                });
            }
        } else {
            touched.clear();
            for &si in group {
                let s = &input[si];
                for p in &s.points {
                    let Some(i) = step_index(grid, n, p.t) else {
                        continue;
                    };
                    let a = &mut row[i];
                    if a.seen {
                        a.add(kind, p.v, s.drop_name);
                    } else {
                        *a = Acc::first(kind, p.v, s.drop_name);
                        touched.push(i);
                    }
                }
            }
            if group.len() > 1 {
                touched.sort_unstable();
            }
            points.reserve_exact(touched.len());
            for &i in &touched {
                let a = &mut row[i];
                points.push(Point {
                    t: grid.at(i),
                    v: a.result(kind),
                });
                // Prometheus overwrites the output's flag at every step: the last one wins.
                drop_name = a.drop_name;
                a.seen = false;
            }
        }
        if !points.is_empty() {
            out.push(Series {
                labels,
                drop_name,
                points,
            });
        }
    }
    out
}

/// Prometheus' `quantile`: NaN sorts lowest; linear interpolation between the closest ranks.
pub(super) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // Order: NaN lowest, then ascending. Only the two ranks around φ are needed, so select
    // them instead of sorting everything.
    fn order(a: &f64, b: &f64) -> std::cmp::Ordering {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            (false, false) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
        }
    }
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    let (li, ui) = (lower as usize, upper as usize);
    let (_, lv, rest) = values.select_nth_unstable_by(li, order);
    let lv = *lv;
    let uv = if ui > li {
        rest.iter().copied().min_by(order).unwrap_or(lv)
    } else {
        lv
    };
    lv * (1.0 - weight) + uv * weight
}
