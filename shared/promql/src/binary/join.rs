//! Vector/vector arithmetic and comparison operators: one-to-one, many-to-one
//! (`group_left`) and one-to-many (`group_right`) matching, with `fill()` values, over all
//! steps at once.
//!
//! The "many" side is the left operand (the right one for `group_right`), the "one" side the
//! other. Series are grouped by signature once; a group with one series per side (or one
//! "one" series whose partners all give distinct outputs) is joined by walking the two point
//! lists; any other group is swept step by step, which is where the per-step errors of
//! Prometheus (duplicates on the "one" side, ambiguous matches) are detected.

use std::collections::HashMap;

use strata_tsdb::labels::{Label, Labels, METRIC_NAME};

use super::sig::{Groups, Signatures, match_labels};
use super::{Card, Matching, Op};
use crate::error::{Error, Result};
use crate::value::{Grid, Point, Series};

/// Marks a filled-in (missing) element in a pair.
const FILL: u32 = u32::MAX;
/// Marks a "many"-side entry in the sweep's event list.
const M_FLAG: u32 = 1 << 31;

/// Labels removed by arithmetic together with `__name__` (metric schema metadata).
const SCHEMA_LABELS: [&str; 2] = ["__type__", "__unit__"];

const MSG_ONE_TO_ONE: &str =
    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)";
const MSG_GROUPING: &str =
    "multiple matches for labels: grouping labels must ensure unique matches";
const MSG_SAME_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// An output series being built.
#[derive(Debug)]
struct Slot {
    labels: Labels,
    drop_name: bool,
    points: Vec<Point>,
}

/// The first error Prometheus would raise: ordered by (step, phase, series position).
#[derive(Debug)]
struct ErrCand {
    key: (usize, u8, usize),
    msg: String,
}

#[derive(Debug)]
struct Join<'a> {
    op: Op,
    m: &'a Matching<'a>,
    many: &'a [Series],
    one: &'a [Series],
    swapped: bool,
    grid: &'a Grid,
    slots: Vec<Slot>,
    index: HashMap<Labels, usize>,
    pair_slots: HashMap<(u32, u32), usize>,
    /// Per slot, the last sweep stamp that wrote it (duplicate detection within a step).
    slot_mark: Vec<u64>,
    stamp: u64,
    /// Per step, whether the "many" side has any element (computed on demand).
    many_any: Option<Vec<bool>>,
    events: Vec<(u32, u32, f64)>,
    err: Option<ErrCand>,
}

/// Evaluates a non-set operator between two vectors.
pub(super) fn join(
    op: Op,
    m: &Matching<'_>,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    grid: &Grid,
) -> Result<Vec<Series>> {
    let fill_any = m.fill_lhs.is_some() || m.fill_rhs.is_some();
    if (lhs.is_empty() && rhs.is_empty()) || ((lhs.is_empty() || rhs.is_empty()) && !fill_any) {
        return Ok(Vec::new());
    }
    let swapped = m.card == Card::OneToMany;
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let sigs = Signatures::new(&many, &one, m.on, m.names);
    let many_groups = Groups::new(&sigs.lhs, sigs.count);
    let one_groups = Groups::new(&sigs.rhs, sigs.count);
    let mut j = Join {
        op,
        m,
        many: &many,
        one: &one,
        swapped,
        grid,
        slots: Vec::new(),
        index: HashMap::new(),
        pair_slots: HashMap::new(),
        slot_mark: Vec::new(),
        stamp: 0,
        many_any: None,
        events: Vec::new(),
        err: None,
    };
    for g in 0..sigs.count {
        j.group(many_groups.get(g), one_groups.get(g));
    }
    j.finish()
}

impl<'a> Join<'a> {
    /// Records an error candidate; the earliest (as Prometheus would meet it) wins.
    fn offer(&mut self, key: (usize, u8, usize), msg: impl FnOnce(&Self) -> String) {
        if self.err.as_ref().is_none_or(|e| key < e.key) {
            let msg = msg(self);
            self.err = Some(ErrCand { key, msg });
        }
    }

    /// The output labels of a pair (Prometheus' `resultMetric`), and whether the name is to
    /// be dropped at the end.
    fn result_labels(&self, many: &Labels, many_drop: bool, one: &Labels) -> (Labels, bool) {
        let arith = self.op.is_arithmetic();
        let one_to_one = self.m.card == Card::OneToOne;
        let (on, names) = (self.m.on, self.m.names);
        let v: Vec<Label> = many
            .iter()
            .filter(|l| {
                if arith && (l.name == METRIC_NAME || SCHEMA_LABELS.contains(&l.name.as_str())) {
                    return false;
                }
                if one_to_one {
                    let listed = names.contains(&l.name);
                    listed == on
                } else {
                    true
                }
            })
            .cloned()
            .collect();
        let mut labels = Labels::from_sorted(v);
        for ln in self.m.include {
            match one.get(ln) {
                Some(v) => labels.set(ln, v),
                None => labels.remove(ln),
            }
        }
        (labels, !arith && (self.m.return_bool || many_drop))
    }

    /// The output slot of the pair (`mi`, `oi`) (global indices, or [`FILL`]).
    fn pair_slot(&mut self, mi: u32, oi: u32) -> usize {
        if let Some(&s) = self.pair_slots.get(&(mi, oi)) {
            return s;
        }
        let (many, one) = (self.many, self.one);
        let (on, names) = (self.m.on, self.m.names);
        let empty = Labels::empty();
        let (labels, drop) = match (many.get(mi as usize), one.get(oi as usize)) {
            (Some(ms), Some(os)) => self.result_labels(&ms.labels, ms.drop_name, &os.labels),
            (Some(ms), None) => {
                let synth = match_labels(&ms.labels, on, names);
                self.result_labels(&ms.labels, ms.drop_name, &synth)
            }
            (None, Some(os)) => {
                let synth = match_labels(&os.labels, on, names);
                self.result_labels(&synth, false, &os.labels)
            }
            (None, None) => self.result_labels(&empty, false, &empty),
        };
        let slot = match self.index.get(&labels) {
            Some(&s) => s,
            None => {
                let s = self.slots.len();
                self.index.insert(labels.clone(), s);
                self.slots.push(Slot {
                    labels,
                    drop_name: drop,
                    points: Vec::new(),
                });
                self.slot_mark.push(0);
                s
            }
        };
        self.pair_slots.insert((mi, oi), slot);
        slot
    }

    /// The output value of a pair from the "many" and "one" values, or `None` if filtered.
    fn value(&self, many_v: f64, one_v: f64) -> Option<f64> {
        let (l, r) = if self.swapped {
            (one_v, many_v)
        } else {
            (many_v, one_v)
        };
        self.op.apply(l, r, l, self.m.return_bool)
    }

    fn push(&mut self, slot: usize, idx: usize, v: f64) {
        let t = self.grid.at(idx);
        if let Some(s) = self.slots.get_mut(slot) {
            s.points.push(Point { t, v });
        }
    }

    fn many_any(&mut self, idx: usize) -> bool {
        let grid = self.grid;
        let many = self.many;
        let any = self.many_any.get_or_insert_with(|| {
            let mut any = vec![false; grid.len()];
            for s in many {
                for p in &s.points {
                    if let Some(a) = any.get_mut(grid.index_of(p.t)) {
                        *a = true;
                    }
                }
            }
            any
        });
        any.get(idx).copied().unwrap_or(false)
    }

    /// Joins one signature group: `ms`/`os` are the group's "many"/"one" series indices.
    fn group(&mut self, ms: &[u32], os: &[u32]) {
        let (fill_one, fill_many) = (self.m.fill_rhs, self.m.fill_lhs);
        if os.is_empty() && fill_one.is_none() {
            return;
        }
        if ms.is_empty() && fill_many.is_none() && os.len() < 2 {
            return;
        }
        if fill_one.is_none()
            && fill_many.is_none()
            && let [o] = os
            && self.walk_group(ms, *o)
        {
            return;
        }
        self.sweep(ms, os);
    }

    /// Fast path for a group with a single "one" series and no fill: each "many" series is
    /// joined by walking both point lists. Returns false (having done nothing observable) if
    /// the group needs the per-step sweep.
    fn walk_group(&mut self, ms: &[u32], o: u32) -> bool {
        if ms.len() > 1 {
            if self.m.card == Card::OneToOne {
                return false;
            }
            // Many-to-one: every "many" series must map to its own output series.
            self.stamp += 1;
            for &mi in ms {
                let slot = self.pair_slot(mi, o);
                match self.slot_mark.get_mut(slot) {
                    Some(mark) if *mark == self.stamp => return false,
                    Some(mark) => *mark = self.stamp,
                    None => return false,
                }
            }
        }
        let (many, one) = (self.many, self.one);
        let Some(os) = one.get(o as usize) else {
            return true;
        };
        for &mi in ms {
            let Some(mser) = many.get(mi as usize) else {
                continue;
            };
            let slot = self.pair_slot(mi, o);
            let mut op = os.points.iter().peekable();
            for mp in &mser.points {
                while op.next_if(|p| p.t < mp.t).is_some() {}
                if let Some(p) = op.peek()
                    && p.t == mp.t
                    && let Some(v) = self.value(mp.v, p.v)
                {
                    let idx = self.grid.index_of(mp.t);
                    self.push(slot, idx, v);
                }
            }
        }
        true
    }

    /// The general path: all points of the group, swept step by step as Prometheus does.
    fn sweep(&mut self, ms: &[u32], os: &[u32]) {
        let (many, one, grid) = (self.many, self.one, self.grid);
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        for (k, &oi) in os.iter().enumerate() {
            if let Some(s) = one.get(oi as usize) {
                for p in &s.points {
                    events.push((grid.index_of(p.t) as u32, k as u32, p.v));
                }
            }
        }
        for (k, &mi) in ms.iter().enumerate() {
            if let Some(s) = many.get(mi as usize) {
                for p in &s.points {
                    events.push((grid.index_of(p.t) as u32, M_FLAG | k as u32, p.v));
                }
            }
        }
        events.sort_unstable_by_key(|e| (e.0, e.1));

        let fill_any = self.m.fill_lhs.is_some() || self.m.fill_rhs.is_some();
        let mut i = 0;
        while i < events.len() {
            let idx = events[i].0;
            let end = events[i..]
                .iter()
                .position(|e| e.0 != idx)
                .map_or(events.len(), |n| i + n);
            let run = &events[i..end];
            i = end;
            let n_one = run.iter().take_while(|e| e.1 & M_FLAG == 0).count();
            let (one_run, many_run) = run.split_at(n_one);
            let idx = idx as usize;
            if let [first, second, ..] = one_run {
                if fill_any || self.many_any(idx) {
                    let a = os.get(first.1 as usize).copied().unwrap_or(0);
                    let b = os.get(second.1 as usize).copied().unwrap_or(0);
                    self.offer((idx, 0, b as usize), |j| j.duplicate_msg(a, b));
                }
                continue;
            }
            let one_elem = one_run
                .first()
                .and_then(|e| os.get(e.1 as usize).map(|&oi| (oi, e.2)));
            self.stamp += 1;
            let mut matched = false;
            for e in many_run {
                let Some(&mi) = ms.get((e.1 & !M_FLAG) as usize) else {
                    continue;
                };
                let (oi, ov) = match (one_elem, self.m.fill_rhs) {
                    (Some(x), _) => x,
                    (None, Some(f)) => (FILL, f),
                    (None, None) => continue,
                };
                if self.m.card == Card::OneToOne && matched {
                    self.offer((idx, 1, mi as usize), |_| MSG_ONE_TO_ONE.to_string());
                    continue;
                }
                matched = true;
                let slot = self.pair_slot(mi, oi);
                if self.m.card != Card::OneToOne && !self.mark(slot) {
                    self.offer((idx, 1, mi as usize), |_| MSG_GROUPING.to_string());
                    continue;
                }
                if let Some(v) = self.value(e.2, ov) {
                    self.push(slot, idx, v);
                }
            }
            if let (Some(f), false, Some((oi, ov))) = (self.m.fill_lhs, matched, one_elem) {
                let slot = self.pair_slot(FILL, oi);
                self.mark(slot);
                if let Some(v) = self.value(f, ov) {
                    self.push(slot, idx, v);
                }
            }
        }
        self.events = events;
    }

    /// Marks `slot` as written in the current step; false if it already was.
    fn mark(&mut self, slot: usize) -> bool {
        match self.slot_mark.get_mut(slot) {
            Some(m) if *m == self.stamp => false,
            Some(m) => {
                *m = self.stamp;
                true
            }
            None => true,
        }
    }

    /// Prometheus' error for two "one"-side series with the same signature at one step.
    fn duplicate_msg(&self, a: u32, b: u32) -> String {
        let (Some(sa), Some(sb)) = (self.one.get(a as usize), self.one.get(b as usize)) else {
            return String::new();
        };
        let side = if self.swapped { "left" } else { "right" };
        let group = match_labels(&sb.labels, self.m.on, self.m.names);
        let (mut d1, mut d2) = (sb.labels.to_string(), sa.labels.to_string());
        if d1 > d2 {
            std::mem::swap(&mut d1, &mut d2);
        }
        format!(
            "found duplicate series for the match group {group} on the {side} hand-side of the operation: [{d1}, {d2}];many-to-many matching not allowed: matching labels must be unique on one side"
        )
    }

    /// Builds the output series (dropping empty ones, ordering points merged from several
    /// groups) or returns the first error.
    fn finish(mut self) -> Result<Vec<Series>> {
        let mut out = Vec::with_capacity(self.slots.len());
        let slots = std::mem::take(&mut self.slots);
        for mut s in slots {
            if s.points.is_empty() {
                continue;
            }
            if s.points.windows(2).any(|w| w[0].t >= w[1].t) {
                s.points.sort_by_key(|p| p.t);
                if let Some(w) = s.points.windows(2).find(|w| w[0].t == w[1].t) {
                    let idx = self.grid.index_of(w[0].t);
                    self.offer((idx, 3, 0), |_| MSG_SAME_LABELSET.to_string());
                }
            }
            out.push(Series {
                labels: s.labels,
                drop_name: s.drop_name,
                points: s.points,
            });
        }
        match self.err {
            Some(e) => Err(Error::Execution(e.msg)),
            None => Ok(out),
        }
    }
}
