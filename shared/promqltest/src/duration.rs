//! Prometheus duration and test-clock time parsing (`5m`, `1h30m`, `10s53ms`, `0`, `1.5`).

/// Parses a Prometheus duration (`model.ParseDuration` syntax) into milliseconds.
///
/// Accepted: `0`, or one or more `<integer><unit>` parts with units `y w d h m s ms`, each unit
/// at most once and in that (descending) order, e.g. `1h30m`, `10s53ms`, `5m0s`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let d = strata_units::parse_prometheus_duration(s)?;
    i64::try_from(d.as_millis()).map_err(|_| format!("invalid duration {s:?}: overflow"))
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
