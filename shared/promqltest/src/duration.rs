//! Prometheus duration and test-clock time parsing (`5m`, `1h30m`, `10s53ms`, `0`, `1.5`).

/// Units accepted in a duration, in the only order they may appear, with their size in ms.
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration (`model.ParseDuration` syntax) into milliseconds.
///
/// Accepted: `0`, or one or more `<integer><unit>` parts with units `y w d h m s ms`, each unit
/// at most once and in that (descending) order, e.g. `1h30m`, `10s53ms`, `5m0s`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty duration".to_string());
    }
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut total: i64 = 0;
    // Index into UNITS of the next unit allowed (units must strictly descend).
    let mut next_unit = 0;
    while pos < bytes.len() {
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if start == pos {
            return Err(format!("invalid duration {s:?}: expected a number"));
        }
        let n: i64 = s[start..pos]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: number too large"))?;
        let ustart = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
            pos += 1;
        }
        let unit = &s[ustart..pos];
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| format!("invalid duration {s:?}: unknown unit {unit:?}"))?;
        if idx < next_unit {
            return Err(format!(
                "invalid duration {s:?}: units out of order or repeated"
            ));
        }
        next_unit = idx + 1;
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid duration {s:?}: overflow"))?;
    }
    Ok(total)
}

/// Like [`parse_duration`] but accepts a leading `-` or `+` (used by `@st` start-timestamp offsets).
pub fn parse_signed_duration(s: &str) -> Result<i64, String> {
    if let Some(rest) = s.strip_prefix('-') {
        parse_duration(rest).map(|v| -v)
    } else {
        parse_duration(s.strip_prefix('+').unwrap_or(s))
    }
}

/// Parses a test-clock time (ms since epoch): a duration (`50m`, `0`, `1000s`) or a plain
/// number of seconds (`100`, `1.5`, `-10`).
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(ms) = parse_signed_duration(s) {
        return Ok(ms);
    }
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("invalid time {s:?}: not a duration or number of seconds"))?;
    if !secs.is_finite() || secs.abs() > 9.0e15 {
        return Err(format!("invalid time {s:?}: out of range"));
    }
    Ok((secs * 1000.0).round() as i64)
}

/// Parses a duration that may also be written as plain seconds (`step 30` == `step 30s`).
pub fn parse_interval(s: &str) -> Result<i64, String> {
    let ms = parse_time(s)?;
    if ms < 0 {
        return Err(format!("invalid interval {s:?}: negative"));
    }
    Ok(ms)
}
