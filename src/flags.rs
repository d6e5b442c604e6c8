//! Parsers for flag values shared by the subcommands: Prometheus durations (`30s`, `1h30m`,
//! `2w`) and Thanos time bounds (`--min-time`/`--max-time`: RFC 3339 or a duration relative to
//! now such as `-2w`).

/// Parse a duration flag into milliseconds: Prometheus (`30s`, `1h30m`, `2w`) or Go (`1.5s`)
/// syntax, `0` allowed.
pub(crate) fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let d = strata_units::parse_duration(s)?;
    i64::try_from(d.as_millis()).map_err(|_| format!("duration {s:?} overflows"))
}

/// Like [`parse_duration_ms`] but the duration must be positive.
pub(crate) fn parse_positive_duration_ms(s: &str) -> Result<i64, String> {
    match parse_duration_ms(s)? {
        0 => Err(format!("duration {s:?} must be positive")),
        v => Ok(v),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parse an RFC 3339 timestamp (`2024-01-02T03:04:05.678Z`, `…+02:00`) into ms since the epoch.
pub(crate) fn parse_rfc3339_ms(s: &str) -> Result<i64, String> {
    let bad = || format!("invalid RFC 3339 time {s:?}");
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        s.get(r).and_then(|x| x.parse::<i64>().ok()).ok_or_else(bad)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = s.get(start..i).ok_or_else(bad)?;
        if frac.is_empty() {
            return Err(bad());
        }
        let padded: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
        ms = padded.parse().map_err(|_| bad())?;
    }
    let offset_min = match s.get(i..) {
        Some("Z" | "z") => 0,
        Some(tz) if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let oh: i64 = tz.get(1..3).and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            let om: i64 = tz.get(4..6).and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            sign * (oh * 60 + om)
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_min * 60;
    Ok(secs * 1000 + ms)
}

/// Thanos `--min-time`/`--max-time`: RFC 3339, or a duration relative to now (`-2w`, `1h`).
pub(crate) fn parse_time_or_duration_ms(s: &str) -> Result<i64, String> {
    if let Ok(t) = parse_rfc3339_ms(s) {
        return Ok(t);
    }
    let (neg, d) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let d = parse_duration_ms(d)
        .map_err(|_| format!("{s:?} is neither an RFC 3339 time nor a duration such as -2w"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Ok(if neg { now - d } else { now + d })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_prometheus() {
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("0s"), Ok(0));
        assert!(parse_positive_duration_ms("0s").is_err());
        assert!(parse_duration_ms("2").is_err());
        assert!(parse_duration_ms("h").is_err());
        assert!(parse_duration_ms("2x").is_err());
    }

    #[test]
    fn times_parse_like_thanos() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339_ms("2023-11-14T22:13:20.123Z"),
            Ok(1_700_000_000_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-11-15T00:13:20.5+02:00"),
            Ok(1_700_000_000_500)
        );
        assert!(parse_rfc3339_ms("0000-01-01T00:00:00Z").unwrap() < -62_000_000_000_000);
        assert!(parse_rfc3339_ms("9999-12-31T23:59:59Z").unwrap() > 253_000_000_000_000);
        assert!(parse_rfc3339_ms("2023-13-01T00:00:00Z").is_err());
        let now = parse_time_or_duration_ms("0s").unwrap();
        let two_weeks_ago = parse_time_or_duration_ms("-2w").unwrap();
        assert!((now - two_weeks_ago - 1_209_600_000).abs() < 1000);
        assert!(parse_time_or_duration_ms("yesterday").is_err());
    }
}
