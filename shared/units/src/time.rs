//! Times as Prometheus and Thanos write them, on `chrono`: RFC 3339 parsing (Go's strict
//! `time.RFC3339Nano` layout for HTTP API parameters, the lenient form for flags), RFC 3339
//! formatting (milliseconds for humans, Go's `time.Time` JSON form), and the UTC calendar
//! fields PromQL's date functions (`year()`, `day_of_week()`, ...) read.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Timelike, Utc};

const NS_PER_S: i128 = 1_000_000_000;

/// Nanoseconds since the epoch of an RFC 3339 time in Go's `time.RFC3339Nano` layout, as
/// Prometheus' `parseTime` reads it: `YYYY-MM-DDThh:mm:ss`, an optional fraction of one to
/// nine digits, then `Z` or `±hh:mm`. `None` for anything else (a lower-case `t` or `z`, a
/// space, a leap second, an impossible date).
pub fn parse_rfc3339_nanos(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.get(10) != Some(&b'T') || s.ends_with('z') || b.get(17..19) == Some(b"60") {
        return None;
    }
    if let Some(frac) = s.get(19..).and_then(|r| r.strip_prefix('.')) {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 9 {
            return None;
        }
    }
    let t = DateTime::parse_from_rfc3339(s).ok()?;
    Some(i128::from(t.timestamp()) * NS_PER_S + i128::from(t.timestamp_subsec_nanos()))
}

/// Milliseconds since the epoch of an RFC 3339 time (`2024-01-02T03:04:05.678Z`,
/// `…+02:00`; `t`/space and `z` accepted, digits past milliseconds dropped), as Thanos'
/// `--min-time`/`--max-time` flags take them.
pub fn parse_rfc3339_ms(s: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("invalid RFC 3339 time {s:?}"))
}

/// `YYYY-MM-DDThh:mm:ss.mmmZ` (UTC) of milliseconds since the epoch; the bare number when
/// the time is beyond `chrono`'s range (±262,000 years).
pub fn format_rfc3339_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    )
}

/// Go's `time.Time` JSON form in UTC (`time.RFC3339Nano`: the fraction with trailing zeros
/// trimmed, none when zero).
pub fn format_rfc3339_nanos(t: SystemTime) -> String {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let (s, n) = (d.as_secs() as i64, d.subsec_nanos());
            if n == 0 {
                (-s, 0)
            } else {
                (-s - 1, 1_000_000_000 - n)
            }
        }
    };
    let Some(t) = DateTime::<Utc>::from_timestamp(secs, nanos) else {
        return format!("{secs}.{nanos:09}");
    };
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos != 0 {
        out.push('.');
        out.push_str(format!("{nanos:09}").trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The UTC calendar fields of one instant (proleptic Gregorian calendar), as Go's
/// `time.Time` methods give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
    /// 1..=366
    pub yday: u32,
    /// Days in this month (28..=31).
    pub days_in_month: u32,
}

impl Civil {
    /// The calendar fields of `secs` seconds since the Unix epoch; `None` beyond `chrono`'s
    /// range (±262,000 years).
    pub fn from_unix_seconds(secs: i64) -> Option<Civil> {
        let t = DateTime::<Utc>::from_timestamp(secs, 0)?;
        Some(Civil {
            year: t.year(),
            month: t.month(),
            day: t.day(),
            hour: t.hour(),
            minute: t.minute(),
            second: t.second(),
            weekday: t.weekday().num_days_from_sunday(),
            yday: t.ordinal(),
            days_in_month: u32::from(t.num_days_in_month()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn strict_rfc3339_as_prometheus_parse_time() {
        let ms = |s: &str| parse_rfc3339_nanos(s).map(|ns| ns.div_euclid(1_000_000) as i64);
        assert_eq!(ms("2015-07-01T20:10:51.781Z"), Some(1_435_781_451_781));
        assert_eq!(ms("2015-07-01T22:10:51.781+02:00"), Some(1_435_781_451_781));
        assert_eq!(
            parse_rfc3339_nanos("1970-01-01T00:00:00.000000001Z"),
            Some(1)
        );
        assert_eq!(
            parse_rfc3339_nanos("1969-12-31T23:59:59.5Z"),
            Some(-500_000_000)
        );
        for bad in [
            "2015-13-01T00:00:00Z",
            "2015-02-29T00:00:00Z",
            "2015-07-01t20:10:51Z",
            "2015-07-01 20:10:51Z",
            "2015-07-01T20:10:51z",
            "2015-07-01T20:10:60Z",
            "2015-07-01T20:10:51.Z",
            "2015-07-01T20:10:51.1234567891Z",
            "2015-07-01T20:10:51+02:60",
            "2015-07-01T20:10:51+0200",
            "2015-07-01T20:10:51",
            "abc",
        ] {
            assert_eq!(parse_rfc3339_nanos(bad), None, "{bad}");
        }
    }

    #[test]
    fn lenient_rfc3339_ms_for_flags() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339_ms("2023-11-14T22:13:20.123Z"),
            Ok(1_700_000_000_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-11-15T00:13:20.5+02:00"),
            Ok(1_700_000_000_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2023-11-14 22:13:20.1239z"),
            Ok(1_700_000_000_123)
        );
        assert!(parse_rfc3339_ms("0000-01-01T00:00:00Z").unwrap() < -62_000_000_000_000);
        assert!(parse_rfc3339_ms("9999-12-31T23:59:59Z").unwrap() > 253_000_000_000_000);
        assert!(parse_rfc3339_ms("2023-13-01T00:00:00Z").is_err());
        assert!(parse_rfc3339_ms("-2w").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339_ms(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        let t = UNIX_EPOCH + Duration::new(1_435_781_451, 781_000_000);
        assert_eq!(format_rfc3339_nanos(t), "2015-07-01T20:10:51.781Z");
        assert_eq!(format_rfc3339_nanos(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(951_782_400, 5);
        assert_eq!(format_rfc3339_nanos(t), "2000-02-29T00:00:00.000000005Z");
        let t = UNIX_EPOCH - Duration::new(0, 500_000_000);
        assert_eq!(format_rfc3339_nanos(t), "1969-12-31T23:59:59.5Z");
    }

    #[test]
    fn calendar_fields() {
        let c = Civil::from_unix_seconds(1_136_239_445).expect("in range");
        assert_eq!(
            c,
            Civil {
                year: 2006,
                month: 1,
                day: 2,
                hour: 22,
                minute: 4,
                second: 5,
                weekday: 1,
                yday: 2,
                days_in_month: 31,
            }
        );
        let at = |s| Civil::from_unix_seconds(s).expect("in range");
        assert_eq!(at(1_230_767_999).year, 2008);
        assert_eq!(at(1_230_768_000).year, 2009);
        assert_eq!((at(1_456_790_399).month, at(1_456_790_399).day), (2, 29));
        assert_eq!(at(1_456_790_400).day, 1);
        assert_eq!(at(1_483_191_420).yday, 366);
        assert_eq!(at(1_672_493_820).yday, 365);
        assert_eq!(at(1_454_284_800).days_in_month, 29);
        assert_eq!(at(1_485_907_200).days_in_month, 28);
        assert_eq!(at(-1).year, 1969);
        assert_eq!(at(-86_400).weekday, 3);
        assert_eq!(at(0).weekday, 4);
        assert_eq!(Civil::from_unix_seconds(i64::MIN), None);
    }
}
