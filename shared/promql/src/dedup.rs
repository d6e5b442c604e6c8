//! Thanos' replica deduplication and counter handling for the store reader (`pkg/dedup/iter.go`,
//! `pkg/compact/downsample/downsample.go`): the penalty iterator that folds whole replicas pairwise
//! (`((r0⊕r1)⊕r2)…`) with the counter adjustment on replica switches, and `ApplyCounterResets` for
//! downsampled counter chunks.

/// The decoded samples of one replica: timestamps ascending, values alongside.
pub(crate) type Decoded = (Vec<i64>, Vec<f64>);

/// Penalty added to the input not picked while no sample was emitted yet (ms).
const INITIAL_PENALTY: i64 = 5000;

/// Functions whose input is deduplicated as a counter (Thanos `isCounter`).
pub(crate) fn is_counter_func(func: Option<&str>) -> bool {
    matches!(func, Some("rate" | "increase" | "irate" | "resets"))
}

/// Thanos `ApplyCounterResetsSeriesIterator` over decoded chunks in order: NaN samples are
/// skipped, the first sample sets the total, a later sample adds its increase (its whole
/// value after a drop, i.e. a reset), and a sample repeating the last timestamp only records
/// the true last raw value (how downsampled counter chunks carry it, so a reset at the next
/// chunk boundary is seen). Samples going back in time are dropped.
pub(crate) fn apply_counter_resets(chunks: &[Decoded]) -> Decoded {
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    let (mut last_t, mut last_v, mut total) = (0i64, 0f64, 0f64);
    let mut started = false;
    for (cts, cvs) in chunks {
        for (&t, &v) in cts.iter().zip(cvs) {
            if v.is_nan() {
                continue;
            }
            if !started {
                started = true;
                (last_t, last_v, total) = (t, v, v);
            } else if t > last_t {
                total += if v >= last_v { v - last_v } else { v };
                (last_t, last_v) = (t, v);
            } else {
                if t == last_t {
                    last_v = v;
                }
                continue;
            }
            ts.push(t);
            vs.push(total);
        }
    }
    (ts, vs)
}

/// Folds replicas with Thanos' penalty algorithm and returns the deduplicated samples. With
/// `counter`, a replica whose value is below the last emitted one when the iterator switches
/// replicas is shifted up by the difference from then on (thanos-io/thanos#2401).
pub(crate) fn penalty_merge(replicas: Vec<Decoded>, counter: bool) -> Decoded {
    let mut it = replicas.into_iter().map(|(ts, vs)| {
        Node::Leaf(Leaf {
            ts,
            vs,
            pos: 0,
            started: false,
            adjust: 0.0,
            counter,
        })
    });
    let Some(first) = it.next() else {
        return (Vec::new(), Vec::new());
    };
    let mut root = it.fold(first, |a, b| Node::Pair(Box::new(Pair::new(a, b))));
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    while root.next() {
        let (t, v) = root.at();
        ts.push(t);
        vs.push(v);
    }
    (ts, vs)
}

/// One replica's samples with Prometheus chunk-iterator semantics and Thanos'
/// `counterErrAdjustSeriesIterator` offset.
#[derive(Debug)]
struct Leaf {
    ts: Vec<i64>,
    vs: Vec<f64>,
    /// Index of the current sample (valid when `started` and `< ts.len()`).
    pos: usize,
    started: bool,
    /// Running counter offset added to every value.
    adjust: f64,
    counter: bool,
}

impl Leaf {
    fn valid(&self) -> bool {
        self.started && self.pos < self.ts.len()
    }

    fn next(&mut self) -> bool {
        if self.started {
            self.pos = self.pos.saturating_add(1).min(self.ts.len());
        } else {
            self.started = true;
        }
        self.valid()
    }

    /// Advances to the first sample at or after `t`; never goes back.
    fn seek(&mut self, t: i64) -> bool {
        if !self.started && !self.next() {
            return false;
        }
        while self.valid() && self.ts[self.pos] < t {
            self.pos += 1;
        }
        self.valid()
    }

    fn at_t(&self) -> i64 {
        self.ts.get(self.pos).copied().unwrap_or(i64::MAX)
    }

    fn at(&self) -> (i64, f64) {
        let v = self.vs.get(self.pos).copied().unwrap_or(f64::NAN);
        // NaN (stale markers included) passes through unchanged.
        let v = if v.is_nan() { v } else { v + self.adjust };
        (self.at_t(), v)
    }

    fn adjust_at(&mut self, last: f64) {
        if !self.counter {
            return;
        }
        let (_, v) = self.at();
        if last > v {
            self.adjust += last - v;
        }
    }
}

/// A replica input of the penalty iterator: one replica, or an already folded pair.
#[derive(Debug)]
enum Node {
    Leaf(Leaf),
    Pair(Box<Pair>),
}

impl Node {
    fn next(&mut self) -> bool {
        match self {
            Node::Leaf(l) => l.next(),
            Node::Pair(p) => p.next(),
        }
    }

    fn seek(&mut self, t: i64) -> bool {
        match self {
            Node::Leaf(l) => l.seek(t),
            Node::Pair(p) => p.seek(t),
        }
    }

    fn at_t(&self) -> i64 {
        match self {
            Node::Leaf(l) => l.at_t(),
            Node::Pair(p) => p.at_t(),
        }
    }

    fn at(&self) -> (i64, f64) {
        match self {
            Node::Leaf(l) => l.at(),
            Node::Pair(p) => p.at(),
        }
    }

    fn adjust_at(&mut self, last: f64) {
        match self {
            Node::Leaf(l) => l.adjust_at(last),
            Node::Pair(p) => p.adjust_at(last),
        }
    }
}

/// Thanos `dedupSeriesIterator` over two inputs.
#[derive(Debug)]
struct Pair {
    a: Node,
    b: Node,
    a_ok: bool,
    b_ok: bool,
    /// Timestamp of the last emitted sample (`i64::MIN`: none yet).
    last_t: i64,
    /// Whether the last emitted sample came from `a` (Thanos `lastIter`).
    last_from_a: bool,
    pen_a: i64,
    pen_b: i64,
    use_a: bool,
}

impl Pair {
    fn new(mut a: Node, mut b: Node) -> Self {
        let a_ok = a.next();
        let b_ok = b.next();
        Pair {
            a,
            b,
            a_ok,
            b_ok,
            last_t: i64::MIN,
            last_from_a: true,
            pen_a: 0,
            pen_b: 0,
            use_a: true,
        }
    }

    fn next(&mut self) -> bool {
        // The last emitted value, to adjust counters if the replica changes. Unlike Thanos,
        // nothing is adjusted before the first sample: Thanos compares with `a`'s first
        // sample even when `b`'s earlier one is emitted first, shifting `b` by a value that
        // was never emitted (a flat start that lowers the first window's rate).
        let in_use = if self.use_a { self.a_ok } else { self.b_ok };
        let last_val = (in_use && self.last_t != i64::MIN).then(|| self.at().1);
        let was_a = self.use_a;
        let ok = self.advance();
        if self.use_a != was_a
            && let Some(v) = last_val
        {
            self.adjust_at(v);
        }
        ok
    }

    fn advance(&mut self) -> bool {
        // Advance both inputs to at least the next timestamp plus their penalty.
        let from = self.last_t.saturating_add(1);
        if self.a_ok {
            self.a_ok = self.a.seek(from.saturating_add(self.pen_a));
        }
        if self.b_ok {
            self.b_ok = self.b.seek(from.saturating_add(self.pen_b));
        }
        if !self.a_ok {
            self.use_a = false;
            if self.b_ok {
                self.last_t = self.b.at_t();
                self.last_from_a = false;
                self.pen_b = 0;
            }
            return self.b_ok;
        }
        if !self.b_ok {
            self.use_a = true;
            self.last_t = self.a.at_t();
            self.last_from_a = true;
            self.pen_a = 0;
            return true;
        }
        let (ta, tb) = (self.a.at_t(), self.b.at_t());
        self.use_a = ta <= tb;
        let (picked, other_pen) = if self.use_a {
            self.pen_a = 0;
            (ta, &mut self.pen_b)
        } else {
            self.pen_b = 0;
            (tb, &mut self.pen_a)
        };
        // The input not picked may not yield a sample closer than twice the last delta
        // (keeps the sample rate and guards against clock drift).
        *other_pen = if self.last_t == i64::MIN {
            INITIAL_PENALTY
        } else {
            picked.saturating_sub(self.last_t).saturating_mul(2)
        };
        self.last_t = picked;
        self.last_from_a = self.use_a;
        true
    }

    /// Seeks by stepping with `next` (never seeking the inputs directly, so gaps are seen).
    fn seek(&mut self, t: i64) -> bool {
        loop {
            let ts = self.at_t();
            if ts >= t {
                return if self.use_a {
                    self.a.seek(ts)
                } else {
                    self.b.seek(ts)
                };
            }
            if !self.next() {
                return false;
            }
        }
    }

    fn at_t(&self) -> i64 {
        if self.use_a {
            self.a.at_t()
        } else {
            self.b.at_t()
        }
    }

    fn at(&self) -> (i64, f64) {
        if self.last_from_a {
            self.a.at()
        } else {
            self.b.at()
        }
    }

    fn adjust_at(&mut self, last: f64) {
        if self.a_ok {
            self.a.adjust_at(last);
        }
        if self.b_ok {
            self.b.adjust_at(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(samples: &[(i64, f64)]) -> Decoded {
        samples.iter().copied().unzip()
    }

    fn merged(replicas: &[&[(i64, f64)]], counter: bool) -> Vec<(i64, f64)> {
        let (ts, vs) = penalty_merge(replicas.iter().map(|r| s(r)).collect(), counter);
        ts.into_iter().zip(vs).collect()
    }

    #[test]
    fn prefers_the_first_replica() {
        let a = [(10000, 10.0), (20000, 11.0), (30000, 12.0), (40000, 13.0)];
        let b = [(10000, 20.0), (20000, 21.0), (30000, 22.0), (40000, 23.0)];
        assert_eq!(merged(&[&a, &b], false), a.to_vec());
    }

    #[test]
    fn prefers_the_replica_that_starts_earlier() {
        let a = [(10100, 1.0), (20100, 1.0), (30100, 1.0), (40100, 1.0)];
        let b = [(10000, 2.0), (20000, 2.0), (30000, 2.0), (40000, 2.0)];
        assert_eq!(merged(&[&a, &b], false), b.to_vec());
    }

    #[test]
    fn does_not_switch_on_a_gap_of_one_delta() {
        let a = [(10000, 1.0), (20000, 1.0), (40000, 1.0)];
        let b = [(10000, 2.0), (20000, 2.0), (30000, 2.0), (40000, 2.0)];
        assert_eq!(merged(&[&a, &b], false), a.to_vec());
        let b = [(15000, 2.0), (25000, 2.0), (35000, 2.0), (45000, 2.0)];
        assert_eq!(merged(&[&a, &b], false), a.to_vec());
    }

    #[test]
    fn switches_and_stays_once_the_gap_exceeds_two_deltas() {
        let a = [
            (10000, 1.0),
            (20000, 1.0),
            (30000, 1.0),
            (60000, 1.0),
            (70000, 1.0),
        ];
        let b = [
            (10100, 2.0),
            (20100, 2.0),
            (30100, 2.0),
            (40100, 2.0),
            (50100, 2.0),
            (60100, 2.0),
        ];
        let want = vec![
            (10000, 1.0),
            (20000, 1.0),
            (30000, 1.0),
            (50100, 2.0),
            (60100, 2.0),
        ];
        assert_eq!(merged(&[&a, &b], false), want);
    }

    #[test]
    fn penalties_skip_samples_of_the_replica_not_picked() {
        // b's sample 4s after a's first one is inside the 5000ms initial penalty; once b is
        // picked at 5002, a must wait 2×(5002−0) and then 2×(30000−5002) past the last
        // sample, which drops a's sample at 60000 altogether (as Thanos does).
        let a = [(0, 1.0), (60000, 1.0)];
        let b = [(4000, 2.0), (5002, 3.0), (30000, 4.0)];
        assert_eq!(
            merged(&[&a, &b], false),
            vec![(0, 1.0), (5002, 3.0), (30000, 4.0)]
        );
    }

    /// thanos-io/thanos#2401: the replica switched to is behind; for counters it is
    /// shifted up so the output does not drop, for gauges it is not. (Thanos' own test of
    /// this case expects a's sample at 90000 too, because its mock iterator seeks backwards;
    /// real chunk iterators never do, so a, seeked past 95003 at the switch, resumes at
    /// 100000.)
    #[test]
    fn counter_adjustment_on_replica_switch() {
        let a = [
            (10000, 8.0),
            (20000, 9.0),
            (50001, 10.0),
            (60000, 11.0),
            (70000, 12.0),
            (80000, 13.0),
            (90000, 14.0),
            (100000, 15.0),
        ];
        let b = [(10001, 8.0), (45001, 8.5), (55001, 9.5), (65001, 10.5)];
        assert_eq!(
            merged(&[&a, &b], true),
            vec![
                (10000, 8.0),
                (20000, 9.0),
                (45001, 9.0),
                (55001, 10.0),
                (65001, 11.0),
                (100000, 15.0)
            ]
        );
        assert_eq!(
            merged(&[&a, &b], false),
            vec![
                (10000, 8.0),
                (20000, 9.0),
                (45001, 8.5),
                (55001, 9.5),
                (65001, 10.5),
                (100000, 15.0)
            ]
        );
    }

    #[test]
    fn no_counter_adjustment_before_the_first_sample() {
        // b starts earlier with a lower value: it is emitted as is.
        let a = [(15000, 20.0), (30000, 25.0)];
        let b = [(1200, 10.0), (16200, 20.5), (31200, 25.5)];
        assert_eq!(
            merged(&[&a, &b], true),
            vec![(1200, 10.0), (15000, 20.0), (30000, 25.0)]
        );
    }

    #[test]
    fn three_replicas_fold_pairwise_and_fill_each_others_gaps() {
        let step = 15000;
        let full: Vec<(i64, f64)> = (0..60).map(|i| (i * step, i as f64)).collect();
        let gap = |from: i64, to: i64| -> Vec<(i64, f64)> {
            full.iter()
                .copied()
                .filter(|&(t, _)| t < from * step || t >= to * step)
                .collect()
        };
        let (r0, r1, r2) = (gap(5, 15), gap(12, 25), gap(22, 35));
        let out = merged(&[&r0, &r1, &r2], false);
        // Every sample is a real one, in order, from the first to the last; a switch may
        // skip the new replica's samples within the penalty (at most two scrape intervals).
        assert!(out.iter().all(|p| full.contains(p)), "{out:?}");
        assert!(
            out.windows(2)
                .all(|w| w[1].0 > w[0].0 && w[1].0 - w[0].0 <= 3 * step)
        );
        assert_eq!(out.first(), full.first());
        assert_eq!(out.last(), full.last());
        // Without the third replica, r0⊕r1 has nothing for [22, 25).
        let two = merged(&[&r0, &r1], false);
        assert!(two.windows(2).any(|w| w[1].0 - w[0].0 > 3 * step));
    }

    #[test]
    fn stale_markers_are_kept_and_not_shifted() {
        let stale = f64::from_bits(strata_tsdb::chunkenc::STALE_NAN_BITS);
        let a = [(10000, 5.0), (20000, stale), (80000, 1.0)];
        let b = [(10001, 4.0), (50000, 3.0), (60000, 3.5), (70000, 4.0)];
        let out = merged(&[&a, &b], true);
        assert_eq!(out[1].0, 20000);
        assert_eq!(out[1].1.to_bits(), strata_tsdb::chunkenc::STALE_NAN_BITS);
        // b joins at 50000 below a's last value (a stale marker): nothing to compare with.
        assert_eq!(out[2], (50000, 3.0));
    }

    #[test]
    fn empty_and_single_inputs() {
        assert_eq!(merged(&[], false), vec![]);
        assert_eq!(merged(&[&[(1, 1.0)]], false), vec![(1, 1.0)]);
        assert_eq!(merged(&[&[], &[(1, 1.0)]], true), vec![(1, 1.0)]);
        assert_eq!(merged(&[&[(1, 1.0)], &[]], true), vec![(1, 1.0)]);
    }

    #[test]
    fn counter_resets_are_applied_across_chunks() {
        // Downsampled counter chunks: first raw sample, window ends, last raw value repeated.
        let c1 = s(&[(0, 10.0), (299, 30.0), (599, 50.0), (599, 45.0)]);
        // The next chunk starts below 45: a reset at the boundary.
        let c2 = s(&[(600, 2.0), (899, 12.0), (899, 12.0)]);
        let (ts, vs) = apply_counter_resets(&[c1, c2]);
        assert_eq!(ts, vec![0, 299, 599, 600, 899]);
        assert_eq!(vs, vec![10.0, 30.0, 50.0, 52.0, 62.0]);
    }

    #[test]
    fn counter_resets_skip_nan_and_samples_back_in_time() {
        let c1 = s(&[(100, 10.0), (200, f64::NAN), (300, 5.0), (400, 20.0)]);
        let c2 = s(&[(350, 1.0), (400, 25.0), (500, 30.0)]);
        let (ts, vs) = apply_counter_resets(&[c1, c2]);
        assert_eq!(ts, vec![100, 300, 400, 500]);
        // 10, reset to 5 (+5), 20 (+15), then 400 repeats: last raw value 25, 30 (+5).
        assert_eq!(vs, vec![10.0, 15.0, 30.0, 35.0]);
    }
}
