//! A lightweight PromQL token scan: selectors, function calls and feature markers of an
//! expression, enough to classify an eval without a full parser.

use crate::series::{METRIC_NAME, is_name_char, is_name_start, read_quoted};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(String),
    Str(String),
    Punct(u8),
    Op(String),
}

/// One label matcher of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// `=`, `!=`, `=~` or `!~`.
    pub op: String,
    /// Value or regular expression.
    pub value: String,
}

/// A vector selector found in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// All matchers, the metric name as a `__name__ =` matcher.
    pub matchers: Vec<Matcher>,
    /// True when the `{…}` block could not be understood (classify conservatively).
    pub unparsed: bool,
}

/// What [`scan_expr`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExprScan {
    /// Vector selectors.
    pub selectors: Vec<Selector>,
    /// Called functions and aggregations, as written.
    pub functions: Vec<String>,
    /// `start()`, `end()`, `range()` or `step()` used as a value (not `@ start()`/`@ end()`).
    pub bare_time_functions: Vec<String>,
    /// Arithmetic or functions inside `[…]` or after `offset`.
    pub duration_arithmetic: bool,
    /// `anchored` / `smoothed` range-selector modifiers.
    pub extended_range: Vec<String>,
    /// `fill(…)`, `fill_left(…)`, `fill_right(…)` binop modifiers.
    pub fill_modifiers: bool,
    /// Histogram trim operators `</`, `>/`.
    pub trim_operators: bool,
    /// Tokenizing failed somewhere; selectors may be incomplete.
    pub incomplete: bool,
}

fn tokenize(s: &str) -> (Vec<Tok>, bool) {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'"' || c == b'\'' || c == b'`' {
            match read_quoted(&s[i..]) {
                Ok((v, n)) => {
                    out.push(Tok::Str(v));
                    i += n;
                }
                Err(_) => return (out, true),
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                let exp = (b[i] == b'e' || b[i] == b'E') && b[start].is_ascii_digit();
                i += 1;
                if exp && i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                    i += 1;
                }
            }
            out.push(Tok::Num(s[start..i].to_string()));
        } else if is_name_start(c) && c != b':' {
            let start = i;
            while i < b.len() && is_name_char(b[i]) {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
        } else if b"{}()[],@:".contains(&c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            let two = s.get(i..i + 2).unwrap_or("");
            let op = match two {
                "=~" | "!~" | "!=" | "==" | "<=" | ">=" | "</" | ">/" => two,
                _ => &s[i..i + 1],
            };
            i += op.len();
            out.push(Tok::Op(op.to_string()));
        }
    }
    (out, false)
}

const GROUPING: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const KEYWORDS: [&str; 14] = [
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
];

/// Index just past the bracket matching the opener at `i`.
fn skip_balanced(toks: &[Tok], i: usize, open: u8, close: u8) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < toks.len() {
        match &toks[j] {
            Tok::Punct(c) if *c == open => depth += 1,
            Tok::Punct(c) if *c == close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    toks.len()
}

/// Parses the `{…}` block starting at `i`; returns the matchers (None if malformed) and the
/// index after `}`.
fn parse_matchers(toks: &[Tok], i: usize) -> (Option<Vec<Matcher>>, usize) {
    let end = skip_balanced(toks, i, b'{', b'}');
    let inner = &toks[i + 1..end.saturating_sub(1).max(i + 1)];
    let mut out = Vec::new();
    for item in inner.split(|t| *t == Tok::Punct(b',')) {
        match item {
            [] => {}
            [Tok::Str(name)] => out.push(Matcher {
                name: METRIC_NAME.to_string(),
                op: "=".to_string(),
                value: name.clone(),
            }),
            [Tok::Ident(n) | Tok::Str(n), Tok::Op(op), Tok::Str(v)]
                if matches!(op.as_str(), "=" | "!=" | "=~" | "!~") =>
            {
                out.push(Matcher {
                    name: n.clone(),
                    op: op.clone(),
                    value: v.clone(),
                });
            }
            _ => return (None, end),
        }
    }
    (Some(out), end)
}

fn is_plain_duration_part(toks: &[Tok]) -> bool {
    matches!(toks, [] | [Tok::Num(_)])
}

/// Scans an expression for selectors, calls and feature markers.
pub fn scan_expr(expr: &str) -> ExprScan {
    let (toks, incomplete) = tokenize(expr);
    let mut sc = ExprScan {
        incomplete,
        ..ExprScan::default()
    };
    let mut i = 0;
    while i < toks.len() {
        let next = toks.get(i + 1);
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        match &toks[i] {
            Tok::Ident(name) => {
                let lower = name.to_ascii_lowercase();
                let next_is = |c: u8| next == Some(&Tok::Punct(c));
                if next_is(b'(') && GROUPING.contains(&lower.as_str()) {
                    i = skip_balanced(&toks, i + 1, b'(', b')');
                    continue;
                }
                if next_is(b'(') && matches!(name.as_str(), "fill" | "fill_left" | "fill_right") {
                    sc.fill_modifiers = true;
                    i = skip_balanced(&toks, i + 1, b'(', b')');
                    continue;
                }
                let next_grouping = matches!(next, Some(Tok::Ident(n)) if n.eq_ignore_ascii_case("by") || n.eq_ignore_ascii_case("without"));
                if next_is(b'(') || next_grouping {
                    let at_modifier = prev == Some(&Tok::Punct(b'@'));
                    if !at_modifier && matches!(name.as_str(), "start" | "end" | "range" | "step") {
                        sc.bare_time_functions.push(format!("{name}()"));
                    }
                    sc.functions.push(name.clone());
                } else if lower == "offset" {
                    let mut j = i + 1;
                    if toks.get(j) == Some(&Tok::Op("-".to_string())) {
                        j += 1;
                    }
                    if !matches!(toks.get(j), Some(Tok::Num(_))) {
                        sc.duration_arithmetic = true;
                    }
                } else if KEYWORDS.contains(&lower.as_str()) && !next_is(b'{') {
                    // operator or literal keyword
                } else if matches!(name.as_str(), "anchored" | "smoothed")
                    && !next_is(b'{')
                    && matches!(
                        prev,
                        Some(Tok::Punct(b']') | Tok::Punct(b')')) | Some(Tok::Num(_))
                    )
                {
                    sc.extended_range.push(name.clone());
                } else {
                    let mut matchers = vec![Matcher {
                        name: METRIC_NAME.to_string(),
                        op: "=".to_string(),
                        value: name.clone(),
                    }];
                    let mut unparsed = false;
                    if next_is(b'{') {
                        let (m, end) = parse_matchers(&toks, i + 1);
                        match m {
                            Some(m) => matchers.extend(m),
                            None => unparsed = true,
                        }
                        i = end;
                    } else {
                        i += 1;
                    }
                    sc.selectors.push(Selector { matchers, unparsed });
                    continue;
                }
            }
            Tok::Punct(b'{') => {
                let (m, end) = parse_matchers(&toks, i);
                let unparsed = m.is_none();
                sc.selectors.push(Selector {
                    matchers: m.unwrap_or_default(),
                    unparsed,
                });
                i = end;
                continue;
            }
            Tok::Punct(b'[') => {
                let end = skip_balanced(&toks, i, b'[', b']');
                let inner = &toks[i + 1..end.saturating_sub(1).max(i + 1)];
                let plain = inner
                    .splitn(2, |t| *t == Tok::Punct(b':'))
                    .all(is_plain_duration_part);
                if !plain {
                    sc.duration_arithmetic = true;
                }
                i = end;
                continue;
            }
            Tok::Op(op) if op == "</" || op == ">/" => sc.trim_operators = true,
            _ => {}
        }
        i += 1;
    }
    sc
}

/// True if the selector's matchers all accept `labels` (sorted `(name, value)` pairs).
/// Regex matchers are fully anchored and let `.` match newlines, as in Prometheus 3.
pub fn selector_matches(sel: &Selector, labels: &[(String, String)]) -> bool {
    sel.matchers.iter().all(|m| {
        let v = labels
            .iter()
            .find(|(k, _)| *k == m.name)
            .map_or("", |(_, v)| v.as_str());
        match m.op.as_str() {
            "=" => v == m.value,
            "!=" => v != m.value,
            "=~" | "!~" => {
                let re = regex::Regex::new(&format!("^(?s:{})$", m.value));
                // An unsupported regex counts as a match: classification stays conservative.
                let hit = re.as_ref().map_or(true, |re| re.is_match(v));
                if m.op == "=~" {
                    hit
                } else {
                    !hit || re.is_err()
                }
            }
            _ => true,
        }
    })
}
