//! Series descriptors (`metric{a="b"}`, `{__name__="x"}`, `{"utf8.name"}`) and string quoting.

/// A label set: `(name, value)` pairs sorted by name (byte order), no duplicates, no empty
/// values. The metric name, if any, is the `__name__` label.
pub type Labels = Vec<(String, String)>;

/// Name of the label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// True for characters that may start a metric/label name.
pub(crate) fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

/// True for characters that may continue a metric/label name.
pub(crate) fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// Reads a quoted string (`"…"`, `'…'` with Go escapes, or raw `` `…` ``) at the start of
/// `s`; returns the unescaped content and the number of bytes consumed.
pub fn read_quoted(s: &str) -> Result<(String, usize), String> {
    let b = s.as_bytes();
    let quote = *b.first().ok_or("expected a quoted string")?;
    if quote == b'`' {
        let end = s[1..]
            .find('`')
            .ok_or_else(|| format!("unterminated raw string {s:?}"))?;
        return Ok((s[1..1 + end].to_string(), end + 2));
    }
    if quote != b'"' && quote != b'\'' {
        return Err(format!("expected a quoted string at {s:?}"));
    }
    let mut out: Vec<u8> = Vec::new();
    let mut i = 1;
    while i < b.len() {
        let c = b[i];
        if c == quote {
            return Ok((String::from_utf8_lossy(&out).into_owned(), i + 1));
        }
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = *b
            .get(i + 1)
            .ok_or_else(|| format!("unterminated string {s:?}"))?;
        i += 2;
        let simple = match e {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'"' | b'\'' | b'`' => Some(e),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            continue;
        }
        let (digits, radix) = match e {
            b'x' => (2, 16),
            b'u' => (4, 16),
            b'U' => (8, 16),
            b'0'..=b'7' => {
                i -= 1;
                (3, 8)
            }
            _ => return Err(format!("unknown escape '\\{}' in {s:?}", e as char)),
        };
        let hex = s
            .get(i..i + digits)
            .ok_or_else(|| format!("short escape in {s:?}"))?;
        let v = u32::from_str_radix(hex, radix).map_err(|_| format!("bad escape in {s:?}"))?;
        i += digits;
        if e == b'x' || radix == 8 {
            out.push(u8::try_from(v).map_err(|_| format!("bad escape in {s:?}"))?);
        } else {
            let ch = char::from_u32(v).ok_or_else(|| format!("bad code point in {s:?}"))?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
    }
    Err(format!("unterminated string {s:?}"))
}

fn skip_ws(s: &str, mut i: usize) -> usize {
    let b = s.as_bytes();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn read_name(s: &str, i: usize) -> usize {
    let b = s.as_bytes();
    let mut j = i;
    if j < b.len() && is_name_start(b[j]) {
        j += 1;
        while j < b.len() && is_name_char(b[j]) {
            j += 1;
        }
    }
    j
}

/// Parses the series descriptor at the start of `s` (a metric name, a `{…}` label block, or
/// both) and returns its sorted labels and the unparsed remainder (starting right after the
/// descriptor, so a suffix like `@st` is visible to the caller).
pub fn parse_series_prefix(s: &str) -> Result<(Labels, &str), String> {
    let b = s.as_bytes();
    let mut labels: Labels = Vec::new();
    let mut i = read_name(s, 0);
    if i > 0 {
        labels.push((METRIC_NAME.to_string(), s[..i].to_string()));
    }
    if b.get(i) == Some(&b'{') {
        i += 1;
        loop {
            i = skip_ws(s, i);
            match b.get(i) {
                None => return Err(format!("unterminated label set in {s:?}")),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            let (name, quoted) = if matches!(b[i], b'"' | b'\'' | b'`') {
                let (v, n) = read_quoted(&s[i..])?;
                i += n;
                (v, true)
            } else {
                let end = read_name(s, i);
                if end == i {
                    return Err(format!("expected a label name at {:?}", &s[i..]));
                }
                let name = s[i..end].to_string();
                i = end;
                (name, false)
            };
            i = skip_ws(s, i);
            if quoted && matches!(b.get(i), Some(b',') | Some(b'}')) {
                labels.push((METRIC_NAME.to_string(), name));
            } else {
                if b.get(i) != Some(&b'=') || b.get(i + 1) == Some(&b'~') {
                    return Err(format!("expected '=' after label {name:?} in {s:?}"));
                }
                i = skip_ws(s, i + 1);
                let (value, n) = read_quoted(s.get(i..).unwrap_or_default())?;
                i += n;
                labels.push((name, value));
            }
            i = skip_ws(s, i);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected ',' or '}}' in label set {s:?}")),
            }
        }
    }
    if labels.is_empty() && i == 0 {
        return Err(format!("expected a series descriptor at {s:?}"));
    }
    let labels = normalize_labels(labels)?;
    Ok((labels, &s[i..]))
}

/// Sorts labels by name, drops empty values and rejects duplicate names.
pub fn normalize_labels(mut labels: Labels) -> Result<Labels, String> {
    labels.retain(|(_, v)| !v.is_empty());
    labels.sort();
    for w in labels.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(format!("duplicate label name {:?}", w[0].0));
        }
    }
    Ok(labels)
}

/// Formats labels the Prometheus way: `name{a="b", c="d"}` (or `{}` when empty).
pub fn format_labels(labels: &[(String, String)]) -> String {
    let name = labels
        .iter()
        .find(|(k, _)| k == METRIC_NAME)
        .map(|(_, v)| v.as_str());
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k != METRIC_NAME)
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    match name {
        Some(n) if rest.is_empty() => n.to_string(),
        Some(n) => format!("{n}{{{}}}", rest.join(", ")),
        None => format!("{{{}}}", rest.join(", ")),
    }
}
