//! `label_replace` and `label_join`, Go `Regexp.Expand` template semantics, and merging of
//! series that end up with the same label set.

use std::collections::HashMap;

use regex::{Captures, Regex};
use strata_tsdb::labels::{Labels, METRIC_NAME};

use crate::error::{Error, Result};
use crate::value::{Data, Series};

/// Prometheus' (UTF-8) label name validity: any non-empty valid UTF-8 string.
fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// `label_replace(v, dst, replacement, src, regex)`.
pub(super) fn label_replace(
    mut v: Vec<Series>,
    dst: &str,
    repl: &str,
    src: &str,
    regex: &str,
) -> Result<Data> {
    let re = Regex::new(&format!("^(?s:{regex})$")).map_err(|_| {
        Error::Execution(format!(
            "invalid regular expression in label_replace(): {regex}"
        ))
    })?;
    if !valid_label_name(dst) {
        return Err(Error::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut buf = String::new();
    for s in &mut v {
        let src_val = s.labels.get(src).unwrap_or("");
        let Some(caps) = re.captures(src_val) else {
            continue;
        };
        buf.clear();
        expand(&mut buf, repl, &caps);
        s.labels.set(dst, &buf);
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(Data::Vector(merge_same_labels(v)?))
}

/// `label_join(v, dst, separator, src...)`.
pub(super) fn label_join(
    mut v: Vec<Series>,
    dst: &str,
    sep: &str,
    srcs: &[String],
) -> Result<Data> {
    if let Some(bad) = srcs.iter().find(|s| !valid_label_name(s)) {
        return Err(Error::Execution(format!(
            "invalid source label name in label_join(): {bad}"
        )));
    }
    if !valid_label_name(dst) {
        return Err(Error::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut buf = String::new();
    for s in &mut v {
        buf.clear();
        for (i, src) in srcs.iter().enumerate() {
            if i > 0 {
                buf.push_str(sep);
            }
            buf.push_str(s.labels.get(src).unwrap_or(""));
        }
        s.labels.set(dst, &buf);
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(Data::Vector(merge_same_labels(v)?))
}

/// Appends `template` to `out`, replacing `$n`, `${n}`, `$name`, `${name}` with the matched
/// groups (empty if absent or unmatched) and `$$` with `$`, as Go's `Regexp.Expand` does. A
/// `$` not followed by a valid reference is kept literally.
pub(super) fn expand(out: &mut String, template: &str, caps: &Captures<'_>) {
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let Some((name, num, after)) = extract_ref(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let m = match num {
            Some(n) => caps.get(n),
            None => caps.name(name),
        };
        if let Some(m) = m {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
}

/// Parses a group reference at the start of `s` (after a `$`): `name` or `{name}` where name
/// is letters, digits and `_`. Returns the name, its group number if it is a number (no
/// leading zeros, below 10^8), and the rest of `s`.
fn extract_ref(s: &str) -> Option<(&str, Option<usize>, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphabetic() || c.is_numeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let mut rest = &body[end..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                num = Some(n * 10 + usize::from(b - b'0'));
            }
            _ => {
                num = None;
                break;
            }
        }
    }
    if name.len() > 1 && name.starts_with('0') {
        num = None;
    }
    Some((name, num, rest))
}

const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// Merges series that have identical label sets (`__name__` included) into one, as
/// Prometheus does after `label_replace`/`label_join`; it is an error if two of them have a
/// point at the same step. The first series' `drop_name` and position are kept.
pub(super) fn merge_same_labels(v: Vec<Series>) -> Result<Vec<Series>> {
    if v.len() < 2 {
        return Ok(v);
    }
    let mut first: HashMap<&Labels, usize> = HashMap::with_capacity(v.len());
    let mut dup = false;
    for (i, s) in v.iter().enumerate() {
        if first.insert(&s.labels, i).is_some() {
            dup = true;
            break;
        }
    }
    if !dup {
        return Ok(v);
    }
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(v.len());
    let mut out: Vec<Series> = Vec::with_capacity(v.len());
    let mut merged: Vec<bool> = Vec::with_capacity(v.len());
    for s in v {
        if let Some(&i) = index.get(&s.labels) {
            out[i].points.extend(s.points);
            merged[i] = true;
        } else {
            index.insert(s.labels.clone(), out.len());
            out.push(s);
            merged.push(false);
        }
    }
    for (s, m) in out.iter_mut().zip(merged) {
        if m {
            s.points.sort_by_key(|p| p.t);
            if s.points.windows(2).any(|w| w[0].t == w[1].t) {
                return Err(Error::Execution(DUPLICATE_LABELSET.into()));
            }
        }
    }
    Ok(out)
}
