//! Label matchers with Prometheus semantics (`model/labels/matcher.go`, `regexp.go`): `=`, `!=`,
//! `=~`, `!~`; regular expressions are fully anchored (`^(?s:…)$`, `.` matches newlines, as in
//! Prometheus) and compiled once. A missing label has the value `""` for matching purposes.

use std::collections::HashSet;
use std::fmt;

use regex::Regex;

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
    Compiled(Box<Regex>),
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

fn compile(pattern: &str) -> Result<RegexKind> {
    let err = |e: regex::Error| Error::Regex {
        pattern: pattern.to_string(),
        source: Box::new(e),
    };
    // The pattern must compile on its own, so that e.g. `a)|(b` is not accepted by the wrapping.
    Regex::new(pattern).map_err(err)?;
    let compiled = Regex::new(&format!("^(?s:{pattern})$")).map_err(err)?;
    Ok(match pattern {
        ".*" => RegexKind::Any,
        ".+" => RegexKind::NonEmpty,
        p if is_literal(p) => RegexKind::Literal(p.to_string()),
        p if is_literal(&p.replace('|', "")) => {
            RegexKind::Set(p.split('|').map(str::to_string).collect())
        }
        _ => RegexKind::Compiled(Box::new(compiled)),
    })
}

/// One label matcher, e.g. `job=~"api|web"`.
#[derive(Debug, Clone)]
pub struct Matcher {
    kind: MatchType,
    name: String,
    value: String,
    re: Option<RegexKind>,
}

impl Matcher {
    /// A matcher; regex matchers compile their pattern now (a bad pattern is [`Error::Regex`]).
    pub fn new(kind: MatchType, name: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        let re = match kind {
            MatchType::Regex | MatchType::NotRegex => Some(compile(&value)?),
            MatchType::Equal | MatchType::NotEqual => None,
        };
        Ok(Self {
            kind,
            name: name.into(),
            value,
            re,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: MatchType::Equal,
            name: name.into(),
            value: value.into(),
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
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
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
        match (self.kind, &self.re) {
            (MatchType::Equal, _) => Some(vec![self.value.as_str()]),
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
