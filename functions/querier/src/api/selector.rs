//! Series selectors (`match[]`, `storeMatch[]`) parsed into strata matchers by the PromQL
//! parser (Prometheus' rules: metric name once, at least one matcher that does not match the
//! empty string).

use strata_tsdb::matchers::Matcher;

/// Parses one series selector.
pub(crate) fn parse_selector(input: &str) -> Result<Vec<Matcher>, String> {
    strata_promql::parse_selector(input).map_err(|e| format!("parse error: {e}"))
}

/// Parses every selector of `inputs`, failing on the first bad one.
pub(crate) fn parse_selectors(inputs: &[String]) -> Result<Vec<Vec<Matcher>>, String> {
    inputs.iter().map(|s| parse_selector(s)).collect()
}
