//! Set operators `and`, `or`, `unless`: per step, an element is kept depending on whether
//! any element with the same signature is present on the other side at that step.

use std::collections::HashMap;

use super::sig::{Groups, Signatures};
use crate::value::{Grid, Point, Series};

/// Keeps the points of `points` whose timestamp is (`keep_present`) or is not (otherwise)
/// in the ascending timestamp sequence `other`.
fn filter_by<I: Iterator<Item = i64>>(points: &mut Vec<Point>, other: I, keep_present: bool) {
    let mut other = other.peekable();
    points.retain(|p| {
        while other.next_if(|&t| t < p.t).is_some() {}
        let present = other.peek() == Some(&p.t);
        present == keep_present
    });
}

/// The steps at which any member of a group is present.
fn union_steps(series: &[Series], members: &[u32], grid: &Grid) -> Vec<bool> {
    let mut present = vec![false; grid.len()];
    for s in members.iter().filter_map(|&i| series.get(i as usize)) {
        for p in &s.points {
            if let Some(b) = present.get_mut(grid.index_of(p.t)) {
                *b = true;
            }
        }
    }
    present
}

/// Filters each series of `target` (whose signature ordinals are `target_sigs`) by the
/// presence of its signature in `other` (grouped by `groups`).
fn filter_side(
    target: &mut [Series],
    target_sigs: &[u32],
    other: &[Series],
    groups: &Groups,
    keep_present: bool,
    grid: &Grid,
) {
    let mut unions: HashMap<u32, Vec<bool>> = HashMap::new();
    for (s, &g) in target.iter_mut().zip(target_sigs) {
        let members = groups.get(g as usize);
        match members {
            [] => {
                if keep_present {
                    s.points.clear();
                }
            }
            [one] => {
                if let Some(o) = other.get(*one as usize) {
                    filter_by(&mut s.points, o.points.iter().map(|p| p.t), keep_present);
                }
            }
            _ => {
                let present = unions
                    .entry(g)
                    .or_insert_with(|| union_steps(other, members, grid));
                s.points.retain(|p| {
                    present.get(grid.index_of(p.t)).copied().unwrap_or(false) == keep_present
                });
            }
        }
    }
}

/// `lhs and rhs`: the left elements whose signature is present on the right at that step.
pub(super) fn and(
    mut lhs: Vec<Series>,
    rhs: &[Series],
    sigs: &Signatures,
    grid: &Grid,
) -> Vec<Series> {
    if rhs.is_empty() {
        return Vec::new();
    }
    let groups = Groups::new(&sigs.rhs, sigs.count);
    filter_side(&mut lhs, &sigs.lhs, rhs, &groups, true, grid);
    lhs.retain(|s| !s.points.is_empty());
    lhs
}

/// `lhs unless rhs`: the left elements whose signature is absent on the right at that step.
pub(super) fn unless(
    mut lhs: Vec<Series>,
    rhs: &[Series],
    sigs: &Signatures,
    grid: &Grid,
) -> Vec<Series> {
    if rhs.is_empty() {
        return lhs;
    }
    let groups = Groups::new(&sigs.rhs, sigs.count);
    filter_side(&mut lhs, &sigs.lhs, rhs, &groups, false, grid);
    lhs.retain(|s| !s.points.is_empty());
    lhs
}

/// `lhs or rhs`: all left elements, then the right elements whose signature is absent on the
/// left at that step.
pub(super) fn or(
    mut lhs: Vec<Series>,
    mut rhs: Vec<Series>,
    sigs: &Signatures,
    grid: &Grid,
) -> Vec<Series> {
    if lhs.is_empty() {
        return rhs;
    }
    let groups = Groups::new(&sigs.lhs, sigs.count);
    filter_side(&mut rhs, &sigs.rhs, &lhs, &groups, false, grid);
    lhs.extend(rhs.into_iter().filter(|s| !s.points.is_empty()));
    lhs
}
