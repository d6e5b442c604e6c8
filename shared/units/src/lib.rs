//! Durations and byte sizes as Prometheus and Thanos write them, in one place for every flag
//! and YAML file:
//! - [`parse_prometheus_duration`]: Prometheus' strict form (`1y2w3d4h5m6s7ms`, units in that
//!   order, each at most once), as in PromQL and Thanos `model.Duration` settings;
//! - [`parse_duration`]: the lenient form Thanos' Go `time.Duration` settings take as well
//!   (fractions, `ns us µs ms s m h`, plus `d w y`);
//! - [`parse_bytes`]: Thanos `model.Bytes` sizes ("250MB", "1GiB", base 2);
//! - serde wrappers for YAML: [`PromDuration`], [`DurationValue`], [`ByteSize`];
//! - [`time`]: RFC 3339 parsing and formatting and UTC calendar fields, on `chrono`;
//! - [`yaml`]: the Thanos `{type, config}` YAML document (objstore and cache configs).

pub mod time;
pub mod yaml;

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Parse a byte size: a plain integer (bytes) or a number with a unit (`B`, `KB`/`KiB`/`K`,
/// `MB`, `GB`, `TB`, `PB`; case-insensitive; all base 2). Fractions such as "1.5GB" are allowed.
pub fn parse_bytes(input: &str) -> Result<u64, String> {
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!("invalid size {input:?}: expected a number"));
    }
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        "p" | "pb" | "pib" => 50,
        other => return Err(format!("invalid size {input:?}: unknown unit {other:?}")),
    };
    let multiplier = 1u64 << shift;
    if let Ok(whole) = number.parse::<u64>() {
        return whole
            .checked_mul(multiplier)
            .ok_or_else(|| format!("invalid size {input:?}: too large"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid size {input:?}: bad number {number:?}"))?;
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("invalid size {input:?}: too large"));
    }
    Ok(bytes as u64)
}

/// Parse a duration such as "500ms", "1.5s", "1h30m", "24h", "7d" or "0".
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("invalid duration \"\": empty".to_string());
    }
    let mut rest = s;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("invalid duration {input:?}: missing unit"))?;
        let (number, after) = rest.split_at(num_end);
        if number.is_empty() {
            return Err(format!("invalid duration {input:?}: expected a number"));
        }
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let unit_secs: f64 = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            other => {
                return Err(format!(
                    "invalid duration {input:?}: unknown unit {other:?}"
                ));
            }
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("invalid duration {input:?}: bad number {number:?}"))?;
        let part = Duration::try_from_secs_f64(value * unit_secs)
            .map_err(|_| format!("invalid duration {input:?}: out of range"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("invalid duration {input:?}: out of range"))?;
        rest = next;
    }
    Ok(total)
}

/// A byte size in YAML: an integer or a string with a unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte size such as 1048576, \"250MB\" or \"1GiB\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("invalid size {v}: negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_bytes(v).map(ByteSize).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A duration in YAML: a string with units ("500ms", "24h") or the integer 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\" or \"24h\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationValue, E> {
                if v == 0 {
                    Ok(DurationValue(Duration::ZERO))
                } else {
                    Err(E::custom(format!(
                        "invalid duration {v}: a unit is required (e.g. \"{v}s\")"
                    )))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationValue, E> {
                match u64::try_from(v) {
                    Ok(u) => self.visit_u64(u),
                    Err(_) => Err(E::custom(format!("invalid duration {v}: negative"))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationValue, E> {
                parse_duration(v).map(DurationValue).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A Prometheus duration (`1y2w3d4h5m6s7ms`, or `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PromDuration(pub Duration);

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_prometheus_duration(&s)
            .map(PromDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// Parse a Prometheus duration string: units y, w, d, h, m, s, ms in that order, each at most once.
pub fn parse_prometheus_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    // (unit, ms per unit), in the only order Prometheus accepts.
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let bad = || format!("invalid duration {s:?} (expected e.g. 30s, 5m, 1h30m)");
    let mut rest = s;
    let mut total: u64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let idx = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(bad)?
            + next_unit;
        next_unit = idx + 1;
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    Ok(Duration::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("0"), Ok(0));
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert_eq!(parse_bytes("250MB"), Ok(250 << 20));
        assert_eq!(parse_bytes("250MiB"), Ok(250 << 20));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("1gb"), Ok(1 << 30));
        assert_eq!(parse_bytes("64KB"), Ok(64 << 10));
        assert_eq!(parse_bytes("2 MiB"), Ok(2 << 20));
        assert_eq!(parse_bytes("1.5KB"), Ok(1536));
        assert_eq!(parse_bytes("10B"), Ok(10));
        assert!(parse_bytes("").is_err());
        assert!(parse_bytes("MB").is_err());
        assert!(parse_bytes("12XB").unwrap_err().contains("unknown unit"));
        assert!(
            parse_bytes("99999999999PB")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
        assert!(parse_duration("10").unwrap_err().contains("missing unit"));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("3x").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn prometheus_durations_are_strict() {
        assert_eq!(parse_prometheus_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_prometheus_duration("90s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_prometheus_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_prometheus_duration("1d").unwrap(),
            Duration::from_secs(86400)
        );
        assert_eq!(
            parse_prometheus_duration("1s500ms").unwrap(),
            Duration::from_millis(1500)
        );
        for bad in ["", "s", "10", "1x", "1m1h", "1s1s", "-1s", "1.5s"] {
            let e = parse_prometheus_duration(bad).unwrap_err();
            assert!(e.contains("duration"), "{bad}: {e}");
        }
        // The lenient form takes what Go's time.Duration takes too.
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
    }
}
