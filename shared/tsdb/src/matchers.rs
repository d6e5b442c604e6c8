//! Label matchers with Prometheus semantics (`model/labels/matcher.go`, `regexp.go`): `=`, `!=`,
//! `=~`, `!~`; regular expressions are fully anchored (`^(?s:…)$`, `.` matches newlines, as in
//! Prometheus) and compiled once. A missing label has the value `""` for matching purposes.
//!
//! A [`Matcher`] is cheap to clone: the pattern and its compiled form are shared (`Arc`), so a
//! store that hands one request's matchers to thousands of tenants holds one copy, not one per
//! tenant. Compiled programs are bounded ([`REGEX_SIZE_LIMIT`], [`REGEX_DFA_SIZE_LIMIT`], the
//! regex crate's own defaults made explicit) and so is the pattern ([`MAX_REGEX_LEN`]); a larger
//! one is [`Error::Regex`], which the StoreAPI answers with `InvalidArgument`.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use regex::{Regex, RegexBuilder};

use crate::{Error, Result};

/// The four PromQL matcher operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchType {
    /// The PromQL operator.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a regular expression is evaluated.
#[derive(Debug, Clone)]
enum RegexKind {
    /// A plain literal (no metacharacters): string equality.
    Literal(String),
    /// `lit1|lit2|…` without metacharacters: set membership.
    Set(HashSet<String>),
    /// `.*`: everything.
    Any,
    /// `.+`: every non-empty string.
    NonEmpty,
    /// Anything else: the compiled, anchored regex.
    Compiled(Regex),
}

impl RegexKind {
    fn matches(&self, v: &str) -> bool {
        match self {
            RegexKind::Literal(l) => v == l,
            RegexKind::Set(s) => s.contains(v),
            RegexKind::Any => true,
            RegexKind::NonEmpty => !v.is_empty(),
            RegexKind::Compiled(re) => re.is_match(v),
        }
    }
}

/// True if `s` contains none of the characters Go's `regexp.QuoteMeta` escapes.
fn is_literal(s: &str) -> bool {
    !s.chars().any(|c| r"\.+*?()|[]{}^$".contains(c))
}

/// Bound on one compiled regex program (the regex crate's `RegexBuilder::size_limit` default).
pub const REGEX_SIZE_LIMIT: usize = 10 << 20;
/// Bound on the lazy DFA cache of one regex (the regex crate's `dfa_size_limit` default).
pub const REGEX_DFA_SIZE_LIMIT: usize = 2 << 20;
/// Longest regex pattern accepted, in bytes. Parsing costs far more memory than the pattern
/// itself (measured: a 1 MB alternation peaks near 190 MB and 2 MB near 350 MB before the
/// compiled-size limit rejects it; 256 KiB stays near 65 MB), so the pattern is bounded first.
/// Prometheus has no such bound; a literal alternation this long already exceeds
/// [`REGEX_SIZE_LIMIT`], so nothing that compiled before is lost except huge plain literals.
pub const MAX_REGEX_LEN: usize = 256 << 10;

/// `pattern` shortened for error messages (a rejected pattern may be megabytes long).
fn abbreviate(pattern: &str) -> String {
    const KEEP: usize = 64;
    match pattern.char_indices().nth(KEEP) {
        Some((i, _)) => format!("{}… ({} bytes)", &pattern[..i], pattern.len()),
        None => pattern.to_string(),
    }
}

fn build(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
}

fn compile(pattern: &str) -> Result<RegexKind> {
    let err = |e: regex::Error| Error::Regex {
        pattern: abbreviate(pattern),
        source: Box::new(e),
    };
    if pattern.len() > MAX_REGEX_LEN {
        return Err(err(regex::Error::Syntax(format!(
            "pattern is {} bytes, longer than the limit of {MAX_REGEX_LEN}",
            pattern.len()
        ))));
    }
    // The pattern must compile on its own, so that e.g. `a)|(b` is not accepted by the wrapping.
    build(pattern).map_err(err)?;
    let compiled = build(&format!("^(?s:{pattern})$")).map_err(err)?;
    Ok(match pattern {
        ".*" => RegexKind::Any,
        ".+" => RegexKind::NonEmpty,
        p if is_literal(p) => RegexKind::Literal(p.to_string()),
        p if is_literal(&p.replace('|', "")) => {
            RegexKind::Set(p.split('|').map(str::to_string).collect())
        }
        _ => RegexKind::Compiled(compiled),
    })
}

/// One label matcher, e.g. `job=~"api|web"`.
#[derive(Debug, Clone)]
pub struct Matcher {
    kind: MatchType,
    name: String,
    value: Arc<str>,
    re: Option<Arc<RegexKind>>,
}

impl Matcher {
    /// A matcher; regex matchers compile their pattern now (a bad pattern is [`Error::Regex`]).
    pub fn new(kind: MatchType, name: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        let re = match kind {
            MatchType::Regex | MatchType::NotRegex => Some(Arc::new(compile(&value)?)),
            MatchType::Equal | MatchType::NotEqual => None,
        };
        Ok(Self {
            kind,
            name: name.into(),
            value: value.into(),
            re,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: MatchType::Equal,
            name: name.into(),
            value: Arc::from(value.into()),
            re: None,
        }
    }

    /// The operator.
    pub fn kind(&self) -> MatchType {
        self.kind
    }

    /// The label name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value or pattern as written.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// True if a label with value `value` (or `""` for a missing label) is selected.
    pub fn matches(&self, value: &str) -> bool {
        match (self.kind, &self.re) {
            (MatchType::Equal, _) => value == &*self.value,
            (MatchType::NotEqual, _) => value != &*self.value,
            (MatchType::Regex, Some(re)) => re.matches(value),
            (MatchType::NotRegex, Some(re)) => !re.matches(value),
            // Unreachable by construction; fall back to a conservative answer.
            (MatchType::Regex | MatchType::NotRegex, None) => false,
        }
    }

    /// True if the matcher selects the empty value, i.e. also series without the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=` and literal or literal-alternation regexes: the exact values selected.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match (self.kind, self.re.as_deref()) {
            (MatchType::Equal, _) => Some(vec![&*self.value]),
            (MatchType::Regex, Some(RegexKind::Literal(l))) => Some(vec![l.as_str()]),
            (MatchType::Regex, Some(RegexKind::Set(s))) => {
                let mut v: Vec<&str> = s.iter().map(String::as_str).collect();
                v.sort_unstable();
                Some(v)
            }
            _ => None,
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.name == other.name && self.value == other.value
    }
}

impl Eq for Matcher {}

impl fmt::Display for Matcher {
    /// PromQL syntax: `name="value"`, `name=~"pattern"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.kind, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MatchType, v: &str) -> Matcher {
        Matcher::new(kind, "a", v).unwrap()
    }

    #[test]
    fn semantics() {
        assert!(m(MatchType::Equal, "x").matches("x"));
        assert!(!m(MatchType::Equal, "x").matches_empty());
        assert!(m(MatchType::Equal, "").matches_empty());
        assert!(m(MatchType::NotEqual, "x").matches_empty());
        assert!(!m(MatchType::NotEqual, "").matches_empty());
        assert!(m(MatchType::Regex, "x|").matches_empty());
        assert!(!m(MatchType::NotRegex, "x|").matches_empty());
        assert!(m(MatchType::Regex, "fo+").matches("foo"));
        assert!(!m(MatchType::Regex, "fo+").matches("xfoo"), "anchored");
        assert!(!m(MatchType::Regex, "a|b").matches("ab"));
        assert!(m(MatchType::Regex, "a|b").matches("b"));
        assert!(
            m(MatchType::Regex, ".*").matches("a\nb"),
            "dot matches newline"
        );
        assert!(m(MatchType::Regex, "a.b").matches("a\nb"));
        assert!(m(MatchType::Regex, ".+").matches("x"));
        assert!(!m(MatchType::Regex, ".+").matches(""));
        assert!(m(MatchType::NotRegex, "a.*").matches("ba"));
        assert!(m(MatchType::Regex, "").matches(""));
        assert!(!m(MatchType::Regex, "").matches("x"));
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(matches!(
            Matcher::new(MatchType::Regex, "a", "a)|(b"),
            Err(Error::Regex { .. })
        ));
        assert!(Matcher::new(MatchType::NotRegex, "a", "(").is_err());
    }

    #[test]
    fn oversized_regex_is_an_error_with_a_short_message() {
        let long = "x".repeat(MAX_REGEX_LEN + 1);
        let e = Matcher::new(MatchType::Regex, "a", long.as_str()).unwrap_err();
        assert!(matches!(e, Error::Regex { .. }));
        assert!(e.to_string().len() < 300, "{e}");
        // Within the length bound but over the compiled-size bound.
        let big = r"(?:\w{100}){100}";
        assert!(Matcher::new(MatchType::NotRegex, "a", big).is_err());
        assert!(Matcher::new(MatchType::Regex, "a", "x".repeat(MAX_REGEX_LEN)).is_ok());
    }

    #[test]
    fn clones_share_the_pattern_and_compiled_regex() {
        let a = m(MatchType::Regex, &format!("{}.*", "x".repeat(1000)));
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.value, &b.value));
        assert!(Arc::ptr_eq(a.re.as_ref().unwrap(), b.re.as_ref().unwrap()));
    }

    #[test]
    fn display_and_sets() {
        assert_eq!(m(MatchType::Regex, "a|b").to_string(), r#"a=~"a|b""#);
        assert_eq!(m(MatchType::NotEqual, "q\"").to_string(), r#"a!="q\"""#);
        assert_eq!(
            m(MatchType::Regex, "b|a").set_matches(),
            Some(vec!["a", "b"])
        );
        assert_eq!(m(MatchType::Regex, "b.").set_matches(), None);
    }
}
