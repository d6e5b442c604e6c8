//! Byte-exact JSON writing as Prometheus' API emits it: Go float formatting, millisecond
//! timestamps, the two string escapers (jsoniter's plain `WriteString` for label sets,
//! Go's HTML-escaping encoder for everything else), result values and the response envelope.

use std::fmt::Write as _;

use strata_promql::QueryValue;
use strata_tsdb::labels::Labels;

/// How a JSON string is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// jsoniter's `Stream.WriteString` (label names and values in metrics and series): only
    /// `"`, `\` and control characters.
    Plain,
    /// jsoniter's standard-library-compatible encoder (warnings, errors, label-name and
    /// label-value lists): also `<`, `>`, `&`, U+2028 and U+2029.
    Html,
    /// Go's `encoding/json` (string results, Thanos' `lastError`): like `Html`, but `\b` and
    /// `\f` as short escapes (Go ≥ 1.22).
    GoStd,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal.
pub(crate) fn write_str(out: &mut String, s: &str, esc: Escape) {
    out.push('"');
    let html = esc != Escape::Plain;
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' if esc == Escape::GoStd => out.push_str("\\b"),
            '\u{c}' if esc == Escape::GoStd => out.push_str("\\f"),
            '<' | '>' | '&' if html => push_u00(out, c as u8),
            c if (c as u32) < 0x20 => push_u00(out, c as u8),
            '\u{2028}' if html => out.push_str("\\u2028"),
            '\u{2029}' if html => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_u00(out: &mut String, b: u8) {
    out.push_str("\\u00");
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xf)]));
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
pub(crate) fn go_float_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: shortest digits, `e`, sign, ≥ 2 exponent digits.
fn go_float_e(v: f64) -> String {
    let s = format!("{v:e}");
    match s.split_once('e') {
        Some((mant, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            let pad = if digits.len() < 2 { "0" } else { "" };
            format!("{mant}e{sign}{pad}{digits}")
        }
        None => s,
    }
}

/// A sample value as Prometheus writes it (`jsonutil.MarshalFloat`, without the quotes):
/// `'f'` for `1e-6 <= |v| < 1e21` (and 0), exponent form otherwise; `NaN`, `+Inf`, `-Inf`.
pub(crate) fn sample_value(v: f64) -> String {
    if !v.is_finite() {
        return go_float_f(v);
    }
    let a = v.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        go_float_e(v)
    } else {
        go_float_f(v)
    }
}

/// A sample timestamp (`jsonutil.MarshalTimestamp`): seconds, and `.` plus exactly three
/// digits when the milliseconds are not zero.
pub(crate) fn write_ts(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let a = t.unsigned_abs();
    let _ = write!(out, "{}", a / 1000);
    let frac = a % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// Go's `encoding/json` rendering of a float64 (used for the timestamp of scalar and string
/// results, which Prometheus marshals as `float64(t) / 1000`).
fn go_json_float(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        // encoding/json trims `e-07` to `e-7`.
        let s = go_float_e(v);
        match s.find("e-0") {
            Some(i) if s.len() == i + 4 => format!("{}{}", &s[..i + 2], &s[i + 3..]),
            _ => s,
        }
    } else {
        format!("{v}")
    }
}

/// A label set as a JSON object, in label order (jsoniter's plain string writer).
pub(crate) fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name, Escape::Plain);
        out.push(':');
        write_str(out, &l.value, Escape::Plain);
    }
    out.push('}');
}

fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_ts(out, t);
    out.push_str(",\"");
    let a = v.abs();
    if v.is_finite() && (a == 0.0 || (1e-6..1e21).contains(&a)) {
        let _ = write!(out, "{v}");
    } else {
        out.push_str(&sample_value(v));
    }
    out.push_str("\"]");
}

/// `{"resultType":…,"result":…}` for a query value.
pub(crate) fn write_query_data(out: &mut String, value: &QueryValue) {
    match value {
        QueryValue::Scalar(t, v) => {
            out.push_str("{\"resultType\":\"scalar\",\"result\":[");
            out.push_str(&go_json_float(*t as f64 / 1000.0));
            out.push(',');
            write_str(out, &go_float_f(*v), Escape::GoStd);
            out.push_str("]}");
        }
        QueryValue::String(t, s) => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            out.push_str(&go_json_float(*t as f64 / 1000.0));
            out.push(',');
            write_str(out, s, Escape::GoStd);
            out.push_str("]}");
        }
        QueryValue::Vector(samples) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":[");
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"value\":");
                write_point(out, s.t, s.v);
                out.push('}');
            }
            out.push_str("]}");
        }
        QueryValue::Matrix(series) => {
            out.push_str("{\"resultType\":\"matrix\",\"result\":[");
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                if !s.points.is_empty() {
                    out.push_str(",\"values\":[");
                    for (j, (t, v)) in s.points.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        write_point(out, *t, *v);
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push_str("]}");
        }
    }
}

/// Go's `time.Time` JSON form (RFC 3339 with nanoseconds, trailing zeros trimmed), in UTC.
pub(crate) use strata_units::time::format_rfc3339_nanos as rfc3339_nano;

/// A JSON array of strings (label names, label values).
pub(crate) fn write_str_array(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, s, Escape::Html);
    }
    out.push(']');
}

/// Most warnings (and, separately, infos) a response carries; the rest are counted.
const MAX_ANNOTATIONS: usize = 10;

fn write_annotations(out: &mut String, key: &str, items: &[String], kind: &str) {
    if items.is_empty() {
        return;
    }
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":[");
    for (i, s) in items.iter().take(MAX_ANNOTATIONS).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, s, Escape::Html);
    }
    if items.len() > MAX_ANNOTATIONS {
        let more = format!(
            "{} more {kind} annotations omitted",
            items.len() - MAX_ANNOTATIONS
        );
        out.push(',');
        write_str(out, &more, Escape::Html);
    }
    out.push(']');
}

/// The start of a success envelope; the data is written right after it.
pub(crate) const SUCCESS_PREFIX: &str = "{\"status\":\"success\",\"data\":";

/// Completes a success envelope: `body` is [`SUCCESS_PREFIX`] followed by the data.
pub(crate) fn finish_success(mut body: String, warnings: &[String], infos: &[String]) -> String {
    write_annotations(&mut body, "warnings", warnings, "warning");
    write_annotations(&mut body, "infos", infos, "info");
    body.push('}');
    body
}

/// The error envelope.
pub(crate) fn error(error_type: &str, message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 64);
    out.push_str("{\"status\":\"error\",\"errorType\":");
    write_str(&mut out, error_type, Escape::Html);
    out.push_str(",\"error\":");
    write_str(&mut out, message, Escape::Html);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_values_match_go() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-6, "0.000001"),
            (1e-7, "1e-07"),
            (1.5e-7, "1.5e-07"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (1e20, "100000000000000000000"),
            (-2.5e-300, "-2.5e-300"),
            (123456.789, "123456.789"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (v, want) in cases {
            assert_eq!(sample_value(*v), *want, "{v:e}");
        }
    }

    #[test]
    fn timestamps_match_go() {
        let cases: &[(i64, &str)] = &[
            (0, "0"),
            (1000, "1"),
            (1500, "1.500"),
            (1001, "1.001"),
            (1010, "1.010"),
            (-1500, "-1.500"),
            (-1, "-0.001"),
            (1435781451781, "1435781451.781"),
        ];
        for (t, want) in cases {
            let mut s = String::new();
            write_ts(&mut s, *t);
            assert_eq!(s, *want);
        }
        assert_eq!(go_json_float(1500.0 / 1000.0), "1.5");
        assert_eq!(go_json_float(-1.0 / 1000.0), "-0.001");
        assert_eq!(go_json_float(0.0), "0");
        assert_eq!(go_json_float(1435781451781.0 / 1000.0), "1435781451.781");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(1e21), "1e+21");
    }

    #[test]
    fn escaping_matches_go() {
        let mut s = String::new();
        write_str(&mut s, "a<b>&\"\\\n\u{1}\u{8}\u{2028}é", Escape::Plain);
        assert_eq!(s, "\"a<b>&\\\"\\\\\\n\\u0001\\u0008\u{2028}é\"");
        s.clear();
        write_str(&mut s, "a<b>&\u{8}\u{2028}", Escape::Html);
        assert_eq!(s, "\"a\\u003cb\\u003e\\u0026\\u0008\\u2028\"");
        s.clear();
        write_str(&mut s, "\u{8}\u{c}<", Escape::GoStd);
        assert_eq!(s, "\"\\b\\f\\u003c\"");
    }

    #[test]
    fn annotations_are_capped_at_ten() {
        let w: Vec<String> = (0..13).map(|i| format!("w{i}")).collect();
        let body = finish_success(format!("{SUCCESS_PREFIX}[]"), &w, &[]);
        assert!(body.ends_with(",\"w9\",\"3 more warning annotations omitted\"]}"));
        assert!(!body.contains("infos"));
    }
}
