//! Bounds on a query's shape, checked on the text before the (recursive) parser sees it, so a
//! hostile query is a fast `bad_data` instead of a stack overflow or minutes of parsing.
//!
//! Prometheus has no such limits (its parser and evaluator recurse on goroutine stacks that
//! grow), but strata's parser (`promql-parser`), planner and evaluator recurse on fixed
//! thread stacks, and `promql-parser` re-derives the type of a whole operand chain at every
//! binary operator (quadratic in the chain's length). The limits below are far beyond any
//! hand-written or dashboard query; queries deeper than [`SHALLOW_DEPTH`] are parsed and
//! evaluated on a thread whose stack is sized for the limits (`engine.rs`).

use crate::error::{Error, Result};

/// Most brackets (`(`, `[`, `{`) open at once: function calls, aggregations, parentheses,
/// label matchers, ranges and subqueries.
pub const MAX_NESTING: usize = 256;

/// Most operators (binary and unary: arithmetic, comparison, set operators, `atan2`) plus
/// range and subquery brackets in one query. A chain `a + b + …` nests one level per
/// operator.
pub const MAX_OPERATORS: usize = 2048;

/// Queries whose nesting plus operators stay within this bound are parsed and evaluated on
/// ordinary (2 MiB) tokio threads; deeper ones get a thread with [`DEEP_STACK_BYTES`].
pub(crate) const SHALLOW_DEPTH: usize = 64;

/// Stack of the thread that parses and evaluates a query deeper than [`SHALLOW_DEPTH`].
/// Measured: the deepest query the limits admit needs under 16 MiB in a debug build; the
/// stack is virtual memory, touched only as deep as a query goes.
pub(crate) const DEEP_STACK_BYTES: usize = 64 << 20;

/// Largest `@` timestamp (seconds) whose milliseconds fit an `i64`; Prometheus' parser
/// rejects `@` timestamps out of the `int64` range ("timestamp out of bounds for @
/// modifier", `promql/parser/parse.go`), strata the ones whose milliseconds overflow.
const MAX_AT_SECONDS: f64 = i64::MAX as f64 / 1000.0;

/// How deep a query can make the parser and evaluator recurse (an upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Most brackets open at once.
    pub(crate) nesting: usize,
    /// Operators plus range/subquery brackets.
    pub(crate) operators: usize,
}

impl Shape {
    /// An upper bound of the expression tree's depth.
    pub(crate) fn depth(&self) -> usize {
        self.nesting + self.operators
    }
}

/// Scans `query` (linear, no recursion): the first limit crossed is a `bad_data` error, as is
/// an `@` timestamp out of range.
pub(crate) fn check(query: &str) -> Result<Shape> {
    let b = query.as_bytes();
    let (mut i, mut depth, mut braces) = (0, 0usize, 0usize);
    let mut shape = Shape {
        nesting: 0,
        operators: 0,
    };
    while i < b.len() {
        let c = b[i];
        i += 1;
        match c {
            b'"' | b'\'' => i = skip_quoted(b, i, c),
            b'`' => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'`')
                    .map_or(b.len(), |p| i + p + 1)
            }
            b'#' => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p + 1)
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                shape.nesting = shape.nesting.max(depth);
                if c == b'{' {
                    braces += 1;
                } else if c == b'[' && braces == 0 {
                    shape.operators += 1;
                }
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if c == b'}' {
                    braces = braces.saturating_sub(1);
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'<' | b'>' | b'=' | b'!' if braces == 0 => {
                shape.operators += 1;
                if b.get(i) == Some(&b'=') {
                    i += 1;
                }
            }
            b'@' if braces == 0 => check_at(b, i)?,
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i - 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b':' | b'.'))
                {
                    i += 1;
                }
                let word = &query[start..i];
                if braces == 0
                    && ["and", "or", "unless", "atan2"]
                        .iter()
                        .any(|k| word.eq_ignore_ascii_case(k))
                {
                    shape.operators += 1;
                }
            }
            _ => {}
        }
        if shape.nesting > MAX_NESTING {
            return Err(Error::BadData(format!(
                "query is nested more than {MAX_NESTING} levels deep (parentheses, calls, aggregations, selectors and subqueries)"
            )));
        }
        if shape.operators > MAX_OPERATORS {
            return Err(Error::BadData(format!(
                "query has more than {MAX_OPERATORS} operators, ranges and subqueries"
            )));
        }
    }
    Ok(shape)
}

/// The index after the string literal opened by `quote` just before `i` (backslash escapes).
fn skip_quoted(b: &[u8], mut i: usize, quote: u8) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            x if x == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Checks the number after an `@` (at `i`), if it is one, against [`MAX_AT_SECONDS`].
fn check_at(b: &[u8], mut i: usize) -> Result<()> {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    if i < b.len() && matches!(b[i], b'+' | b'-') {
        i += 1;
    }
    while i < b.len() {
        let x = b[i];
        let exp_sign = matches!(x, b'+' | b'-') && matches!(b[i - 1], b'e' | b'E');
        if !(x.is_ascii_alphanumeric() || x == b'.' || exp_sign) {
            break;
        }
        i += 1;
    }
    let Some(secs) = std::str::from_utf8(&b[start..i])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    else {
        return Ok(());
    };
    if secs.is_finite() && secs.abs() < MAX_AT_SECONDS {
        return Ok(());
    }
    Err(Error::Parse(format!(
        "timestamp out of bounds for @ modifier: {secs:.6}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(q: &str) -> Shape {
        check(q).expect("within the limits")
    }

    #[test]
    fn counts_nesting_and_operators_outside_strings_and_matchers() {
        assert_eq!(
            shape(r#"sum by (job) (rate(x{a=~"(((", b!="and+-"}[5m])) / 2 and on() y # (((+"#),
            Shape {
                nesting: 3,
                operators: 3
            }
        );
        assert_eq!(
            shape("max_over_time(x[5m:1m]) >= bool atan2(1, 2) unless z or 'a\\'(' "),
            Shape {
                nesting: 2,
                operators: 5
            }
        );
    }

    #[test]
    fn rejects_deep_and_long_queries_fast() {
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        let long = vec!["1"; 100_000].join("+");
        for q in [deep, long] {
            let t = std::time::Instant::now();
            assert_eq!(
                check(&q).expect_err("over").kind(),
                crate::ErrorKind::BadData
            );
            assert!(t.elapsed() < std::time::Duration::from_millis(100));
        }
        let at_limit = format!("{}1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(shape(&at_limit).nesting, MAX_NESTING);
        assert!(check(&vec!["1"; MAX_OPERATORS + 2].join("+")).is_err());
        assert_eq!(
            shape(&vec!["1"; MAX_OPERATORS + 1].join("+")).operators,
            MAX_OPERATORS
        );
    }

    #[test]
    fn at_timestamps_must_fit_milliseconds() {
        for q in ["x @ 1e300", "x @ -1e300", "x @1e16", "x @ 9.3e15"] {
            let e = check(q).expect_err(q).to_string();
            assert!(
                e.starts_with("timestamp out of bounds for @ modifier: "),
                "{e}"
            );
        }
        assert!(
            check("x @ 1e300")
                .expect_err("out")
                .to_string()
                .ends_with("540160.000000")
        );
        for q in [
            "x @ 1609746000",
            "x @ -1e3",
            "x @ start()",
            "x @ end()",
            "x{a=\"@ 1e300\"}",
        ] {
            assert!(check(q).is_ok(), "{q}");
        }
    }
}
