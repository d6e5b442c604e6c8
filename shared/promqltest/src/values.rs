//! Series value sequences: `1+2x10`, `_x3`, `stale`, `NaN`, `{{…}}` histograms, `@st` offsets.

use crate::duration::parse_signed_duration;

/// Bit pattern of Prometheus' staleness marker (a special NaN).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Largest number of positions one value line may expand to (guards memory on bad input).
const MAX_EXPANSION: u64 = 10_000_000;

/// The staleness marker as an `f64`.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True when `v` carries exactly the staleness-marker bit pattern.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One position of an expanded value sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqValue {
    /// `_`: no sample at this position.
    Omitted,
    /// A float sample (including NaN, ±Inf and the stale marker, see [`is_stale_nan`]).
    Float(f64),
    /// A native histogram literal; recognised but not interpreted.
    Histogram(HistogramValue),
}

/// A native histogram sample given by a `{{…}}` literal, optionally advanced by a step
/// (`{{a}}+{{b}}xN` yields `a`, `a+b`, …, `a+N·b`; this is the `a + times·b` element).
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramValue {
    /// Text between `{{` and `}}`, e.g. `schema:0 sum:5 count:4 buckets:[1 2 1]`.
    pub literal: String,
    /// Bucket-wise increment applied `times` times, if any.
    pub step: Option<HistogramStep>,
}

/// The increment part of `{{a}}+{{b}}xN` / `{{a}}-{{b}}xN`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramStep {
    /// `-` instead of `+`.
    pub negative: bool,
    /// Text between `{{` and `}}` of the increment.
    pub delta: String,
    /// How many times the increment is applied for this element.
    pub times: u64,
}

/// Splits a value list on whitespace, keeping `{{ … }}` literals (which contain spaces) whole.
pub fn split_value_tokens(s: &str) -> Result<Vec<&str>, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut depth = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| format!("unbalanced '}}' in {s:?}"))?;
                }
                c if c.is_ascii_whitespace() && depth == 0 => break,
                _ => {}
            }
            i += 1;
        }
        if depth != 0 {
            return Err(format!("unterminated '{{{{' in {:?}", &s[start..]));
        }
        out.push(&s[start..i]);
    }
    Ok(out)
}

/// Parses a float the way the test files write them: decimal, scientific notation,
/// `Inf`/`+Inf`/`-Inf`/`NaN` (any case), and hexadecimal integers (`0x1f`).
pub fn parse_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains('_') {
        return None;
    }
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let (neg, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let hex = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let v = u64::from_str_radix(hex, 16).ok()? as f64;
    Some(if neg { -v } else { v })
}

/// Length of the number at the start of `s` (sign, digits, fraction, exponent, Inf/NaN).
fn scan_number(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let rest = &s[i..];
    for word in ["infinity", "inf", "nan"] {
        if rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word) {
            return i + word.len();
        }
    }
    let digits_start = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i == digits_start {
        return 0;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    i
}

fn parse_times(s: &str, token: &str) -> Result<u64, String> {
    let n: u64 = s
        .parse()
        .map_err(|_| format!("invalid repetition count {s:?} in {token:?}"))?;
    if n > MAX_EXPANSION {
        return Err(format!("repetition count {n} too large in {token:?}"));
    }
    Ok(n)
}

/// Expands one whitespace-free token (see [`expand_values`]) and appends it to `out`.
fn expand_token(token: &str, out: &mut Vec<SeqValue>) -> Result<(), String> {
    if token == "_" {
        out.push(SeqValue::Omitted);
        return Ok(());
    }
    if let Some(n) = token.strip_prefix("_x") {
        let n = parse_times(n, token)?;
        out.extend((0..n).map(|_| SeqValue::Omitted));
        return Ok(());
    }
    if token == "stale" {
        out.push(SeqValue::Float(stale_nan()));
        return Ok(());
    }
    if token.starts_with("{{") {
        return expand_histogram(token, out);
    }
    let base_len = scan_number(token);
    if base_len == 0 {
        return Err(format!("invalid value {token:?}"));
    }
    let base = parse_float(&token[..base_len])
        .ok_or_else(|| format!("invalid number {:?} in {token:?}", &token[..base_len]))?;
    let rest = &token[base_len..];
    if rest.is_empty() {
        out.push(SeqValue::Float(base));
        return Ok(());
    }
    if let Some(n) = rest.strip_prefix('x') {
        let n = parse_times(n, token)?;
        out.extend((0..=n).map(|_| SeqValue::Float(base)));
        return Ok(());
    }
    if rest.starts_with('+') || rest.starts_with('-') {
        let delta_len = scan_number(rest);
        let delta = parse_float(&rest[..delta_len])
            .ok_or_else(|| format!("invalid increment in {token:?}"))?;
        let n = rest[delta_len..]
            .strip_prefix('x')
            .ok_or_else(|| format!("expected 'x<count>' after increment in {token:?}"))?;
        let n = parse_times(n, token)?;
        // Accumulate step by step (not base + i·delta): same rounding as upstream.
        let mut v = base;
        out.push(SeqValue::Float(v));
        for _ in 0..n {
            v += delta;
            out.push(SeqValue::Float(v));
        }
        return Ok(());
    }
    Err(format!("invalid value {token:?}"))
}

/// Returns the literal's inner text and the remainder after the closing `}}`.
fn split_histogram_literal(s: &str) -> Result<(&str, &str), String> {
    let inner = s
        .strip_prefix("{{")
        .ok_or_else(|| format!("expected '{{{{' in {s:?}"))?;
    let end = inner
        .find("}}")
        .ok_or_else(|| format!("unterminated histogram literal {s:?}"))?;
    Ok((inner[..end].trim(), &inner[end + 2..]))
}

fn expand_histogram(token: &str, out: &mut Vec<SeqValue>) -> Result<(), String> {
    let (literal, rest) = split_histogram_literal(token)?;
    let plain = |step| {
        SeqValue::Histogram(HistogramValue {
            literal: literal.to_string(),
            step,
        })
    };
    if rest.is_empty() {
        out.push(plain(None));
        return Ok(());
    }
    if let Some(n) = rest.strip_prefix('x') {
        let n = parse_times(n, token)?;
        out.extend((0..=n).map(|_| plain(None)));
        return Ok(());
    }
    let (negative, rest) = match rest.as_bytes()[0] {
        b'+' => (false, &rest[1..]),
        b'-' => (true, &rest[1..]),
        _ => return Err(format!("invalid histogram value {token:?}")),
    };
    let (delta, rest) = split_histogram_literal(rest)?;
    let n = rest
        .strip_prefix('x')
        .ok_or_else(|| format!("expected 'x<count>' after histogram increment in {token:?}"))?;
    let n = parse_times(n, token)?;
    out.push(plain(None));
    for times in 1..=n {
        out.push(plain(Some(HistogramStep {
            negative,
            delta: delta.to_string(),
            times,
        })));
    }
    Ok(())
}

/// Expands a value list (`0+10x3 _ stale {{sum:1}}x2`) into one entry per position.
pub fn expand_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    for token in split_value_tokens(s)? {
        expand_token(token, &mut out)?;
        if out.len() as u64 > MAX_EXPANSION {
            return Err(format!(
                "value list expands to more than {MAX_EXPANSION} items"
            ));
        }
    }
    Ok(out)
}

/// Length of a (possibly negative) duration at the start of `s` (`-30s`, `0`, `59999ms`).
fn scan_duration(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-') | Some(b'+')));
    while i < b.len() && (b[i].is_ascii_digit() || b"ywdhms".contains(&b[i])) {
        i += 1;
    }
    i
}

/// Expands an `@st` offset list (`_ _ -30s-1mx2 -1mx15`) into per-position offsets in ms
/// (`None` = no start timestamp at that position).
pub fn expand_offsets(s: &str) -> Result<Vec<Option<i64>>, String> {
    let mut out = Vec::new();
    for token in s.split_whitespace() {
        if token == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = token.strip_prefix("_x") {
            let n = parse_times(n, token)?;
            out.extend((0..n).map(|_| None));
            continue;
        }
        let base_len = scan_duration(token);
        let base = parse_signed_duration(&token[..base_len])
            .map_err(|e| format!("invalid offset in {token:?}: {e}"))?;
        let rest = &token[base_len..];
        let (delta, rest) = match rest.as_bytes().first() {
            Some(b'+') | Some(b'-') => {
                let sign = if rest.starts_with('-') { -1 } else { 1 };
                let len = scan_duration(&rest[1..]);
                let d = parse_signed_duration(&rest[1..1 + len])
                    .map_err(|e| format!("invalid offset increment in {token:?}: {e}"))?;
                (sign * d, &rest[1 + len..])
            }
            _ => (0, rest),
        };
        if rest.is_empty() {
            out.push(Some(base));
            continue;
        }
        let n = rest
            .strip_prefix('x')
            .ok_or_else(|| format!("invalid offset {token:?}"))?;
        let n = parse_times(n, token)?;
        let mut v = base;
        out.push(Some(v));
        for _ in 0..n {
            v = v.saturating_add(delta);
            out.push(Some(v));
        }
        if out.len() as u64 > MAX_EXPANSION {
            return Err(format!(
                "offset list expands to more than {MAX_EXPANSION} items"
            ));
        }
    }
    Ok(out)
}
