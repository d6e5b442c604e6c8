//! Request parameters as Prometheus reads them: the merged form (POST body first, then the
//! URL query, as Go's `Request.Form`), times (float seconds or RFC 3339), durations (float
//! seconds or Prometheus durations), `limit`, Go booleans, and `U__`-escaped label names.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, header};

/// Nanoseconds since the epoch (Prometheus keeps times at nanosecond precision until they
/// reach the engine).
pub(crate) type Nanos = i128;

const NS_PER_MS: i128 = 1_000_000;
const NS_PER_S: i128 = 1_000_000_000;

/// Prometheus' `MinTime` (the default `start` of series and label requests), in ns.
pub(crate) const MIN_TIME_NS: Nanos = (i64::MIN as i128 / 1000 + 62_135_596_801) * NS_PER_S;
/// Prometheus' `MaxTime` (the default `end`), in ns.
pub(crate) const MAX_TIME_NS: Nanos =
    (i64::MAX as i128 / 1000 - 62_135_596_801) * NS_PER_S + 999_999_999;
/// `MinTime` and `MaxTime` as RFC 3339 (clients send these back verbatim).
const MIN_TIME_TEXT: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT: &str = "292277025-08-18T07:12:54.999999999Z";

/// Largest POST body read (Go's `ParseForm` limit).
const MAX_FORM_BYTES: usize = 10 << 20;

/// The request's parameters: every `key=value` pair of the POST form body, then of the URL.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Reads the URL query and, for a form-encoded POST/PUT/PATCH, the body.
    pub(crate) async fn from_request(req: Request<Body>) -> Result<Self, String> {
        let (parts, body) = req.into_parts();
        let mut pairs = Vec::new();
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if is_form && matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|e| format!("http: POST too large or unreadable: {e}"))?;
            parse_urlencoded(&String::from_utf8_lossy(&bytes), &mut pairs);
        }
        if let Some(q) = parts.uri.query() {
            parse_urlencoded(q, &mut pairs);
        }
        Ok(Form { pairs })
    }

    /// The first value of `key`, or `""` (Go's `FormValue`).
    pub(crate) fn value(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `key` (Go's `Form[key]`).
    pub(crate) fn values(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Go's `url.ParseQuery`: `&`-separated pairs, `+` is a space, `%XX` escapes; pairs with a
/// `;` in the key or a bad escape are skipped.
fn parse_urlencoded(s: &str, out: &mut Vec<(String, String)>) {
    for part in s.split('&') {
        if part.is_empty() || part.contains(';') {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        if let (Some(k), Some(v)) = (unescape(k), unescape(v)) {
            out.push((k, v));
        }
    }
}

fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `strconv.ParseFloat` (enough of it: decimal, exponent, `Inf`, `NaN`).
fn parse_go_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains('_') || s.trim() != s {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("0x") {
        return None;
    }
    let is_inf = body == "inf" || body == "infinity";
    if body.starts_with("inf") && !is_inf {
        return None;
    }
    // Go answers `ErrRange` (not ±Inf) for a finite literal out of range, such as `1e400`.
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() || is_inf || f.is_nan())
}

/// Prometheus' `parseTime`: float Unix seconds (fraction rounded to ms) or RFC 3339. Unlike
/// Prometheus, `NaN` and `±Inf` are errors (Prometheus 2.42 turns them into the meaningless
/// time -9223372036.854).
pub(crate) fn parse_time(s: &str) -> Result<Nanos, String> {
    if let Some(f) = parse_go_float(s).filter(|f| f.is_finite()) {
        let secs = f.trunc();
        let frac = (f.fract() * 1000.0).round() / 1000.0;
        let ns = (frac * 1e9) as i64;
        return Ok(i128::from(secs as i64) * NS_PER_S + i128::from(ns));
    }
    if let Some(t) = strata_units::time::parse_rfc3339_nanos(s) {
        return Ok(t);
    }
    match s {
        MIN_TIME_TEXT => Ok(MIN_TIME_NS),
        MAX_TIME_TEXT => Ok(MAX_TIME_NS),
        _ => Err(format!("cannot parse {} to a valid timestamp", go_quote(s))),
    }
}

/// Prometheus' `parseTimeParam`: the default when absent, else [`parse_time`] with the
/// parameter named in the error.
pub(crate) fn parse_time_param(form: &Form, name: &str, default: Nanos) -> Result<Nanos, String> {
    let v = form.value(name);
    if v.is_empty() {
        return Ok(default);
    }
    parse_time(v).map_err(|e| format!("invalid time value for '{name}': {e}"))
}

/// Milliseconds of a time (Prometheus' `timestamp.FromTime`: floor).
pub(crate) fn to_ms(t: Nanos) -> i64 {
    let ms = t.div_euclid(NS_PER_MS);
    ms.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The current time, in ns.
pub(crate) fn now() -> Nanos {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Go's `time.Time.Sub` (saturating at the `Duration` range), in ns.
pub(crate) fn sub_saturating(a: Nanos, b: Nanos) -> i64 {
    (a - b).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Prometheus' `parseDuration`: float seconds or a Prometheus duration; in ns (may be
/// negative).
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    if let Some(d) = parse_go_float(s) {
        let ns = d * 1e9;
        if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                go_quote(s)
            ));
        }
        // Go converts NaN to MinInt64 on amd64.
        return Ok(if ns.is_nan() { i64::MIN } else { ns as i64 });
    }
    if s.trim() == s
        && let Ok(d) = strata_units::parse_prometheus_duration(s)
        && let Ok(ns) = i64::try_from(d.as_nanos())
    {
        return Ok(ns);
    }
    Err(format!("cannot parse {} to a valid duration", go_quote(s)))
}

/// A positive duration as [`Duration`] (`None` for ≤ 0).
pub(crate) fn positive(ns: i64) -> Option<Duration> {
    u64::try_from(ns)
        .ok()
        .filter(|n| *n > 0)
        .map(Duration::from_nanos)
}

/// Prometheus' `parseLimitParam`: 0 (no limit) when absent.
pub(crate) fn parse_limit(s: &str) -> Result<usize, String> {
    if s.is_empty() {
        return Ok(0);
    }
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    let n: i64 = s
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))?;
    if n < 0 {
        return Err("limit must be non-negative".to_string());
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            go_quote(s)
        )),
    }
}

/// Go's `%q` for the strings that appear in error messages.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Prometheus' `model.UnescapeName` for the `U__` value-encoding escaping of label names;
/// the name unchanged when it is not validly escaped.
pub(crate) fn unescape_label_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let b = rest.as_bytes();
    let mut out = String::with_capacity(rest.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'_' {
            // Copy one (possibly multi-byte) character.
            let Some(c) = rest[i..].chars().next() else {
                return name.to_string();
            };
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        i += 1;
        if i >= b.len() {
            return name.to_string();
        }
        if b[i] == b'_' {
            out.push('_');
            i += 1;
            continue;
        }
        let mut val: u32 = 0;
        let mut digits = 0;
        loop {
            if i >= b.len() || digits >= 6 {
                return name.to_string();
            }
            if b[i] == b'_' {
                match char::from_u32(val) {
                    Some(c) => out.push(c),
                    None => return name.to_string(),
                }
                i += 1;
                break;
            }
            match char::from(b[i]).to_digit(16) {
                Some(d) => val = val * 16 + d,
                None => return name.to_string(),
            }
            digits += 1;
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1.5").map(to_ms), Ok(1500));
        assert_eq!(parse_time("-1.5").map(to_ms), Ok(-1500));
        assert_eq!(parse_time("1435781451.781").map(to_ms), Ok(1435781451781));
        assert_eq!(parse_time("1.0004").map(to_ms), Ok(1000));
        assert_eq!(parse_time("1.0006").map(to_ms), Ok(1001));
        assert_eq!(parse_time("1e3").map(to_ms), Ok(1_000_000));
        for bad in ["1e400", "-1e400", "NaN", "nan", "Inf", "-Inf", "+infinity"] {
            assert_eq!(
                parse_time(bad),
                Err(format!("cannot parse \"{bad}\" to a valid timestamp"))
            );
        }
        assert_eq!(
            parse_duration("1e400"),
            Err("cannot parse \"1e400\" to a valid duration".into())
        );
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").map(to_ms),
            Ok(1435781451781)
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51.781+02:00").map(to_ms),
            Ok(1435781451781)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00.000000001Z"), Ok(1));
        assert_eq!(parse_time(MIN_TIME_TEXT), Ok(MIN_TIME_NS));
        assert_eq!(to_ms(MAX_TIME_NS), 9_223_309_901_257_974_999);
        assert_eq!(
            parse_time("abc"),
            Err("cannot parse \"abc\" to a valid timestamp".into())
        );
        assert!(parse_time("2015-13-01T00:00:00Z").is_err());
        assert!(parse_time("0x10").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15"), Ok(15_000_000_000));
        assert_eq!(parse_duration("0.5"), Ok(500_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("-1"), Ok(-1_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("1e300"),
            Err("cannot parse \"1e300\" to a valid duration. It overflows int64".into())
        );
        assert_eq!(
            parse_duration("1x"),
            Err("cannot parse \"1x\" to a valid duration".into())
        );
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn limits_and_bools() {
        assert_eq!(parse_limit(""), Ok(0));
        assert_eq!(parse_limit("+5"), Ok(5));
        assert_eq!(
            parse_limit("x"),
            Err("strconv.Atoi: parsing \"x\": invalid syntax".into())
        );
        assert_eq!(parse_limit("-1"), Err("limit must be non-negative".into()));
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("yes").is_err());
    }

    #[test]
    fn forms_and_names() {
        let mut pairs = Vec::new();
        parse_urlencoded("a=1&b=x+y%21&a=2&bad=%zz&c", &mut pairs);
        let f = Form { pairs };
        assert_eq!(f.value("a"), "1");
        assert_eq!(f.values("a"), vec!["1", "2"]);
        assert_eq!(f.value("b"), "x y!");
        assert_eq!(f.value("bad"), "");
        assert_eq!(f.values("c"), vec![""]);
        assert_eq!(unescape_label_name("U__a_2e_b__c"), "a.b_c");
        assert_eq!(unescape_label_name("U__a_zz_"), "U__a_zz_");
        assert_eq!(unescape_label_name("job"), "job");
    }
}
