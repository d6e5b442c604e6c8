//! A streaming parser for the OpenMetrics text format's sample lines, as `promtool tsdb
//! create-blocks-from openmetrics` reads them: `name{label="value",...} value timestamp`, with
//! `# HELP/TYPE/UNIT` metadata and `# EOF`. Timestamps are seconds (float) converted to ms by
//! truncating `ts * 1000`, exactly like Prometheus' parser. Exemplars are skipped.
//!
//! Hand-written rather than a crate: backfill needs line-numbered errors on huge files and
//! zero-copy scanning; the grammar is small (OpenMetrics spec, "ABNF" section).

use strata_tsdb::labels::{Label, METRIC_NAME};

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A sample: labels (including `__name__`, unsorted), value, timestamp in ms.
    Sample {
        /// Labels in file order, the metric name first.
        labels: Vec<Label>,
        /// The value.
        value: f64,
        /// Timestamp in ms.
        timestamp_ms: i64,
    },
    /// `# HELP`, `# TYPE`, `# UNIT` or a blank line.
    Metadata,
    /// `# EOF`.
    Eof,
}

/// The NaN bit pattern Prometheus stores for a parsed `NaN` (`value.NormalNaN`).
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, b: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {what} at column {}", self.i + 1))
        }
    }

    fn name(&mut self, metric: bool) -> Result<&'a str, String> {
        let start = self.i;
        match self.peek() {
            Some(b) if is_name_start(b) && (metric || b != b':') => self.i += 1,
            _ => return Err(format!("expected a name at column {}", self.i + 1)),
        }
        while let Some(b) = self.peek() {
            if is_name_char(b) && (metric || b != b':') {
                self.i += 1;
            } else {
                break;
            }
        }
        // Only ASCII was consumed, so this is valid UTF-8.
        std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())
    }

    fn quoted(&mut self) -> Result<String, String> {
        self.expect(b'"', "'\"'")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated label value".to_string()),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'"') => out.push(b'"'),
                        Some(b'n') => out.push(b'\n'),
                        _ => return Err(format!("invalid escape at column {}", self.i + 1)),
                    }
                    self.i += 1;
                }
                Some(b) => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| "label value is not valid UTF-8".to_string())
    }

    fn token(&mut self) -> &'a str {
        let start = self.i;
        while let Some(b) = self.peek() {
            if b == b' ' {
                break;
            }
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    fn spaces(&mut self) -> usize {
        let start = self.i;
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
        self.i - start
    }
}

fn parse_float(tok: &str, what: &str) -> Result<f64, String> {
    if tok.is_empty() {
        return Err(format!("missing {what}"));
    }
    tok.parse::<f64>()
        .map_err(|_| format!("invalid {what} {tok:?}"))
}

/// Parse one line (without its trailing newline).
pub fn parse_line(line: &str) -> Result<Line, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Ok(Line::Metadata);
    }
    if let Some(rest) = line.strip_prefix('#') {
        let rest = rest.trim_start();
        if rest == "EOF" {
            return Ok(Line::Eof);
        }
        return Ok(Line::Metadata);
    }
    let mut c = Cursor {
        s: line.as_bytes(),
        i: 0,
    };
    let name = c.name(true)?;
    let mut labels = vec![Label::new(METRIC_NAME, name)];
    if c.peek() == Some(b'{') {
        c.i += 1;
        loop {
            c.spaces();
            if c.peek() == Some(b'}') {
                c.i += 1;
                break;
            }
            let lname = c.name(false)?;
            if lname == METRIC_NAME {
                return Err("label __name__ is not allowed inside braces".to_string());
            }
            c.expect(b'=', "'='")?;
            let value = c.quoted()?;
            if labels.iter().any(|l| l.name == lname) {
                return Err(format!("duplicate label {lname:?}"));
            }
            labels.push(Label::new(lname, value));
            c.spaces();
            match c.peek() {
                Some(b',') => c.i += 1,
                Some(b'}') => {
                    c.i += 1;
                    break;
                }
                _ => return Err(format!("expected ',' or '}}' at column {}", c.i + 1)),
            }
        }
    }
    if c.spaces() == 0 {
        return Err(format!(
            "expected a space before the value at column {}",
            c.i + 1
        ));
    }
    let mut value = parse_float(c.token(), "value")?;
    if value.is_nan() {
        // Prometheus' parser stores every parsed NaN as its "normal" NaN bit pattern.
        value = f64::from_bits(NORMAL_NAN_BITS);
    }
    c.spaces();
    let ts_tok = c.token();
    if ts_tok.is_empty() {
        return Err("sample has no timestamp (backfill needs one on every sample)".to_string());
    }
    let ts = parse_float(ts_tok, "timestamp")?;
    if !ts.is_finite() {
        return Err(format!("invalid timestamp {ts_tok:?}"));
    }
    let timestamp_ms = (ts * 1000.0) as i64;
    c.spaces();
    match c.peek() {
        None | Some(b'#') => {} // end of line or an exemplar (skipped)
        Some(_) => return Err(format!("unexpected text at column {}", c.i + 1)),
    }
    Ok(Line::Sample {
        labels,
        value,
        timestamp_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_with_labels_escapes_and_exemplars() {
        let l = parse_line(r#"http_requests_total{code="200",path="/a \"b\"\\n\n"} 1027 1520879607.789 # {trace_id="x"} 1"#)
            .unwrap();
        let Line::Sample {
            labels,
            value,
            timestamp_ms,
        } = l
        else {
            panic!("not a sample")
        };
        assert_eq!(labels[0].value, "http_requests_total");
        assert_eq!(labels[2].value, "/a \"b\"\\n\n");
        assert_eq!(value, 1027.0);
        assert_eq!(timestamp_ms, 1_520_879_607_789);
        assert_eq!(parse_line("# EOF").unwrap(), Line::Eof);
        assert_eq!(parse_line("# TYPE x gauge").unwrap(), Line::Metadata);
        assert!(matches!(
            parse_line("x NaN 1").unwrap(),
            Line::Sample { value, .. } if value.is_nan()
        ));
        assert!(matches!(
            parse_line("x{} -Inf 1").unwrap(),
            Line::Sample { value, .. } if value == f64::NEG_INFINITY
        ));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for (line, needle) in [
            ("x 1", "no timestamp"),
            ("x{a=\"1\" 1 2", "expected ','"),
            ("x{a=1} 1 2", "'\"'"),
            ("x{a=\"1\",a=\"2\"} 1 2", "duplicate"),
            ("1x 1 2", "expected a name"),
            ("x abc 2", "invalid value"),
            ("x 1 Inf", "invalid timestamp"),
            ("x 1 2 3", "unexpected text"),
            ("x{a=\"\\q\"} 1 2", "invalid escape"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(needle), "{line:?}: {err}");
        }
    }
}
