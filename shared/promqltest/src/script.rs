//! The typed test script: `load`, `clear` and `eval` commands, and the text parser for them.

use crate::ParseError;
use crate::classify::{Need, classify_script};
use crate::duration::{parse_interval, parse_time};
use crate::series::{Labels, parse_series_prefix, read_quoted};
use crate::values::{SeqValue, expand_offsets, expand_values, parse_float};

/// A parsed test file.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Commands in file order.
    pub commands: Vec<Command>,
}

/// One command of a test file.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `load <interval>` / `load_with_nhcb <interval>` and its series lines.
    Load(Load),
    /// `clear`: drop all loaded data.
    Clear {
        /// 1-based line number.
        line: usize,
    },
    /// An `eval…` command with its expectations.
    Eval(Box<Eval>),
}

/// A `load` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// 1-based line number of the `load` line.
    pub line: usize,
    /// Spacing of consecutive values, in ms.
    pub interval_ms: i64,
    /// `load_with_nhcb`: classic histograms are also stored as custom-bucket native histograms.
    pub with_nhcb: bool,
    /// The series lines of the block.
    pub series: Vec<SeriesDef>,
}

/// One series line of a `load` block.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDef {
    /// 1-based line number.
    pub line: usize,
    /// Sorted labels, including `__name__`.
    pub labels: Labels,
    /// Value per position; position `i` is at `i × interval`.
    pub values: Vec<SeqValue>,
    /// Start-timestamp offsets (ms, relative to each sample) from a preceding `…@st` line.
    pub start_offsets: Option<Vec<Option<i64>>>,
}

/// One sample handed to an engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Sample time, ms since epoch.
    pub t_ms: i64,
    /// Float (possibly the stale marker) or native histogram.
    pub value: SeqValue,
    /// Start timestamp in ms since epoch, when the file gives one (`@st` lines).
    pub start_ms: Option<i64>,
}

/// A series with its samples, as handed to [`crate::TestEngine::load`].
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSeries {
    /// Sorted labels, including `__name__`.
    pub labels: Labels,
    /// Samples in time order (never [`SeqValue::Omitted`]).
    pub samples: Vec<Sample>,
}

impl SeriesDef {
    /// The samples of this series for a block with the given interval.
    pub fn to_loaded(&self, interval_ms: i64) -> LoadedSeries {
        let mut samples = Vec::new();
        for (i, v) in self.values.iter().enumerate() {
            if matches!(v, SeqValue::Omitted) {
                continue;
            }
            let t_ms = (i as i64).saturating_mul(interval_ms);
            let start_ms = self
                .start_offsets
                .as_ref()
                .and_then(|o| o.get(i).copied().flatten())
                .map(|off| t_ms.saturating_add(off));
            samples.push(Sample {
                t_ms,
                value: v.clone(),
                start_ms,
            });
        }
        LoadedSeries {
            labels: self.labels.clone(),
            samples,
        }
    }

    /// True if any value is a native histogram.
    pub fn has_histograms(&self) -> bool {
        self.values
            .iter()
            .any(|v| matches!(v, SeqValue::Histogram(_)))
    }
}

/// How an eval is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// `eval instant at <time>`.
    Instant {
        /// Evaluation time, ms.
        at_ms: i64,
    },
    /// `eval range from <start> to <end> step <step>`.
    Range {
        /// Start, ms.
        start_ms: i64,
        /// End (inclusive), ms.
        end_ms: i64,
        /// Step, ms.
        step_ms: i64,
    },
}

/// How an expected error or annotation text is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsgMatch {
    /// Any text.
    Any,
    /// `msg: <text>`: the whole text must be equal.
    Exact(String),
    /// `regex: <re>`: the regular expression must match somewhere in the text.
    Regex(String),
}

/// `expect warn|info` / `expect no_warn|no_info` for one annotation level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnotationExpect {
    /// At least one annotation must be produced and each must match one of these.
    pub expected: Vec<MsgMatch>,
    /// `no_warn` / `no_info`: no annotation of this level may be produced.
    pub forbidden: bool,
}

impl AnnotationExpect {
    /// True when nothing is asserted about this level.
    pub fn is_unchecked(&self) -> bool {
        self.expected.is_empty() && !self.forbidden
    }
}

/// The expected result of an eval.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Series lines (possibly none: the result must be empty).
    Series(Vec<ExpectedSeries>),
    /// A bare number line: the result must be this scalar.
    Scalar(f64),
    /// `expect string "…"`.
    String(String),
}

/// One expected result line.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSeries {
    /// 1-based line number.
    pub line: usize,
    /// Sorted labels (`__name__` only when the line names a metric).
    pub labels: Labels,
    /// One value per step (range) or exactly one (instant).
    pub values: Vec<SeqValue>,
}

/// An `eval` command with all its expectations.
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    /// 1-based line number of the `eval` line.
    pub line: usize,
    /// The PromQL expression, verbatim.
    pub expr: String,
    /// Instant or range.
    pub kind: EvalKind,
    /// `expect fail` / `eval_fail`: the query must fail (with a matching message).
    pub fail: Option<MsgMatch>,
    /// `expect ordered` / `eval_ordered`: the vector must be in the listed order.
    pub ordered: bool,
    /// Warning expectations.
    pub warn: AnnotationExpect,
    /// Info expectations.
    pub info: AnnotationExpect,
    /// `expect range vector from … to … step …` (start, end, step in ms).
    pub range_vector: Option<(i64, i64, i64)>,
    /// Expected result.
    pub expected: Expected,
    /// What the eval needs beyond a float-only, non-experimental engine (filled by the
    /// parser, see [`crate::classify`]).
    pub needs: Vec<Need>,
}

/// Returns the first whitespace-separated word and the trimmed rest.
fn next_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// Parses the text of a test file (and classifies each eval, see [`crate::classify`]).
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let (word, _) = next_word(l);
        let word = word.to_ascii_lowercase();
        if word == "clear" {
            // `clear` is a single line; the next command may follow without a blank line.
            if !next_word(l).1.is_empty() {
                return Err(err(i + 1, format!("unexpected text after 'clear': {l:?}")));
            }
            commands.push(Command::Clear { line: i + 1 });
            i += 1;
            continue;
        }
        let end = block_end(&lines, i + 1);
        let body: Vec<(usize, &str)> = (i + 1..end).map(|j| (j + 1, lines[j])).collect();
        let cmd = if word.starts_with("load") {
            Command::Load(parse_load(i + 1, l, &body)?)
        } else if word.starts_with("eval") {
            Command::Eval(Box::new(parse_eval(i + 1, l, &body)?))
        } else {
            return Err(err(i + 1, format!("invalid command {l:?}")));
        };
        commands.push(cmd);
        i = end;
    }
    let mut script = Script { commands };
    classify_script(&mut script);
    Ok(script)
}

fn block_end(lines: &[&str], mut i: usize) -> usize {
    while i < lines.len() && !lines[i].is_empty() {
        i += 1;
    }
    i
}

fn parse_load(line: usize, header: &str, body: &[(usize, &str)]) -> Result<Load, ParseError> {
    let (word, rest) = next_word(header);
    let with_nhcb = match word.to_ascii_lowercase().as_str() {
        "load" => false,
        "load_with_nhcb" => true,
        other => return Err(err(line, format!("unknown load command {other:?}"))),
    };
    let (interval, extra) = next_word(rest);
    if !extra.is_empty() || interval.is_empty() {
        return Err(err(line, format!("invalid load command {header:?}")));
    }
    let interval_ms = parse_interval(interval).map_err(|e| err(line, e))?;
    let mut series = Vec::new();
    let mut pending_st: Option<(usize, Labels, Vec<Option<i64>>)> = None;
    for &(ln, text) in body {
        let (labels, rest) = parse_series_prefix(text).map_err(|e| err(ln, e))?;
        if let Some(offsets) = rest.strip_prefix("@st") {
            if pending_st.is_some() {
                return Err(err(ln, "two '@st' lines in a row"));
            }
            let offsets = expand_offsets(offsets).map_err(|e| err(ln, e))?;
            pending_st = Some((ln, labels, offsets));
            continue;
        }
        let values = expand_values(rest).map_err(|e| err(ln, e))?;
        let start_offsets = match pending_st.take() {
            Some((st_line, st_labels, offsets)) => {
                if st_labels != labels {
                    return Err(err(
                        st_line,
                        "'@st' line must precede a line for the same series",
                    ));
                }
                Some(offsets)
            }
            None => None,
        };
        series.push(SeriesDef {
            line: ln,
            labels,
            values,
            start_offsets,
        });
    }
    if let Some((st_line, _, _)) = pending_st {
        return Err(err(st_line, "'@st' line not followed by its series line"));
    }
    Ok(Load {
        line,
        interval_ms,
        with_nhcb,
        series,
    })
}

/// Parses `from <t> to <t> step <d>` and returns (start, end, step, rest).
fn parse_range_spec(line: usize, s: &str) -> Result<(i64, i64, i64, String), ParseError> {
    let mut rest = s;
    let mut vals = [0i64; 3];
    for (k, kw) in ["from", "to", "step"].iter().enumerate() {
        let (w, r) = next_word(rest);
        if !w.eq_ignore_ascii_case(kw) {
            return Err(err(line, format!("expected '{kw}' in {s:?}")));
        }
        let (v, r) = next_word(r);
        vals[k] = if *kw == "step" {
            parse_interval(v)
        } else {
            parse_time(v)
        }
        .map_err(|e| err(line, e))?;
        rest = r;
    }
    if vals[2] <= 0 {
        return Err(err(line, "step must be positive"));
    }
    if vals[1] < vals[0] {
        return Err(err(line, "range end before start"));
    }
    Ok((vals[0], vals[1], vals[2], rest.to_string()))
}

fn parse_msg_match(line: usize, s: &str) -> Result<MsgMatch, ParseError> {
    let s = s.trim();
    if s.is_empty() {
        Ok(MsgMatch::Any)
    } else if let Some(m) = s.strip_prefix("msg:") {
        Ok(MsgMatch::Exact(m.trim().to_string()))
    } else if let Some(r) = s.strip_prefix("regex:") {
        let r = r.trim();
        regex::Regex::new(r).map_err(|e| err(line, format!("invalid regex {r:?}: {e}")))?;
        Ok(MsgMatch::Regex(r.to_string()))
    } else {
        Err(err(line, format!("expected 'msg:' or 'regex:' in {s:?}")))
    }
}

fn parse_eval(line: usize, header: &str, body: &[(usize, &str)]) -> Result<Eval, ParseError> {
    let (word, rest) = next_word(header);
    let legacy = word.to_ascii_lowercase();
    let (mode, rest) = next_word(rest);
    let (kind, expr) = match mode.to_ascii_lowercase().as_str() {
        "instant" => {
            let (at, r) = next_word(rest);
            if !at.eq_ignore_ascii_case("at") {
                return Err(err(line, "expected 'at' after 'eval instant'"));
            }
            let (t, expr) = next_word(r);
            let at_ms = parse_time(t).map_err(|e| err(line, e))?;
            (EvalKind::Instant { at_ms }, expr.to_string())
        }
        "range" => {
            let (start_ms, end_ms, step_ms, expr) = parse_range_spec(line, rest)?;
            let kind = EvalKind::Range {
                start_ms,
                end_ms,
                step_ms,
            };
            (kind, expr)
        }
        _ => {
            return Err(err(
                line,
                format!("expected 'instant' or 'range' in {header:?}"),
            ));
        }
    };
    if expr.is_empty() {
        return Err(err(line, "missing expression"));
    }
    let mut ev = Eval {
        line,
        expr,
        kind,
        fail: None,
        ordered: false,
        warn: AnnotationExpect::default(),
        info: AnnotationExpect::default(),
        range_vector: None,
        expected: Expected::Series(Vec::new()),
        needs: Vec::new(),
    };
    match legacy.as_str() {
        "eval" => {}
        "eval_fail" => ev.fail = Some(MsgMatch::Any),
        "eval_warn" => ev.warn.expected.push(MsgMatch::Any),
        "eval_info" => ev.info.expected.push(MsgMatch::Any),
        "eval_ordered" => ev.ordered = true,
        other => return Err(err(line, format!("unknown eval command {other:?}"))),
    }
    let mut string_or_scalar = false;
    for &(ln, text) in body {
        let (w, rest) = next_word(text);
        if w == "expect" {
            parse_expect(ln, rest, &mut ev, &mut string_or_scalar)?;
        } else if legacy == "eval_fail"
            && (w == "expected_fail_message" || w == "expected_fail_regexp")
        {
            let m = if w == "expected_fail_message" {
                MsgMatch::Exact(rest.trim().to_string())
            } else {
                parse_msg_match(ln, &format!("regex: {rest}"))?
            };
            ev.fail = Some(m);
        } else {
            parse_result_line(ln, text, &mut ev, &mut string_or_scalar)?;
        }
    }
    if ev.ordered && !matches!(ev.kind, EvalKind::Instant { .. }) {
        return Err(err(
            line,
            "'expect ordered' is only allowed for instant queries",
        ));
    }
    if ev.range_vector.is_some() && !matches!(ev.kind, EvalKind::Instant { .. }) {
        return Err(err(
            line,
            "'expect range vector' is only allowed for instant queries",
        ));
    }
    Ok(ev)
}

fn parse_expect(
    ln: usize,
    rest: &str,
    ev: &mut Eval,
    string_or_scalar: &mut bool,
) -> Result<(), ParseError> {
    let (what, arg) = next_word(rest);
    match what {
        "fail" => {
            if ev.fail.is_some() {
                return Err(err(ln, "at most one 'expect fail' per eval"));
            }
            ev.fail = Some(parse_msg_match(ln, arg)?);
        }
        "warn" => ev.warn.expected.push(parse_msg_match(ln, arg)?),
        "info" => ev.info.expected.push(parse_msg_match(ln, arg)?),
        "no_warn" | "no_info" | "ordered" if !arg.is_empty() => {
            return Err(err(ln, format!("unexpected text after 'expect {what}'")));
        }
        "no_warn" => ev.warn.forbidden = true,
        "no_info" => ev.info.forbidden = true,
        "ordered" => ev.ordered = true,
        "string" => {
            let (s, n) = read_quoted(arg).map_err(|e| err(ln, e))?;
            if !arg[n..].trim().is_empty() {
                return Err(err(ln, "unexpected text after expected string"));
            }
            if *string_or_scalar || !matches!(&ev.expected, Expected::Series(v) if v.is_empty()) {
                return Err(err(
                    ln,
                    "'expect string' cannot be combined with other results",
                ));
            }
            *string_or_scalar = true;
            ev.expected = Expected::String(s);
        }
        "range" => {
            let (v, r) = next_word(arg);
            if v != "vector" {
                return Err(err(ln, "expected 'expect range vector from … to … step …'"));
            }
            let (start, end, step, extra) = parse_range_spec(ln, r)?;
            if !extra.is_empty() {
                return Err(err(ln, format!("unexpected text {extra:?}")));
            }
            ev.range_vector = Some((start, end, step));
        }
        other => return Err(err(ln, format!("unknown expectation 'expect {other}'"))),
    }
    Ok(())
}

fn parse_result_line(
    ln: usize,
    text: &str,
    ev: &mut Eval,
    string_or_scalar: &mut bool,
) -> Result<(), ParseError> {
    if let Some(v) = parse_float(text) {
        if *string_or_scalar || !matches!(&ev.expected, Expected::Series(s) if s.is_empty()) {
            return Err(err(
                ln,
                "a scalar result cannot be combined with other results",
            ));
        }
        *string_or_scalar = true;
        ev.expected = Expected::Scalar(v);
        return Ok(());
    }
    let (labels, rest) = parse_series_prefix(text).map_err(|e| err(ln, e))?;
    let values = expand_values(rest).map_err(|e| err(ln, e))?;
    let single = matches!(ev.kind, EvalKind::Instant { .. }) && ev.range_vector.is_none();
    if single && values.len() != 1 {
        return Err(err(
            ln,
            format!(
                "instant eval expects exactly one value, got {}",
                values.len()
            ),
        ));
    }
    match &mut ev.expected {
        Expected::Series(list) => {
            if list.iter().any(|s| s.labels == labels) {
                return Err(err(ln, "duplicate expected series"));
            }
            list.push(ExpectedSeries {
                line: ln,
                labels,
                values,
            });
            Ok(())
        }
        _ => Err(err(
            ln,
            "series lines cannot be combined with a scalar or string result",
        )),
    }
}
