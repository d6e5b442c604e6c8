//! Conversions between the StoreAPI wire types and `strata_tsdb` labels and matchers, plus the
//! small label-set and chunk helpers every store needs (Thanos' `pkg/store/storepb`:
//! `labels.Compare` order, external-label matching, `Chunk.hash` = xxhash64 of the data).

use std::cmp::Ordering;

use strata_tsdb::labels::{Label, Labels};
use strata_tsdb::matchers::{MatchType, Matcher};

use crate::error::StoreError;
use crate::pb::thanos::{self, LabelMatcher, SeriesResponse, label_matcher, series_response};

/// Wire labels into a [`Labels`] (sorted by name; duplicates: last wins; empty values dropped).
pub fn labels_from_pb(labels: &[thanos::Label]) -> Labels {
    Labels::from_vec(
        labels
            .iter()
            .map(|l| Label::new(l.name.clone(), l.value.clone()))
            .collect(),
    )
}

/// A [`Labels`] as wire labels (already sorted by name).
pub fn labels_to_pb(labels: &Labels) -> Vec<thanos::Label> {
    labels
        .iter()
        .map(|l| thanos::Label {
            name: l.name.clone(),
            value: l.value.clone(),
        })
        .collect()
}

/// A wire matcher as a compiled [`Matcher`]; an unknown type or a bad regex is
/// [`StoreError::InvalidArgument`].
pub fn matcher_from_pb(m: &LabelMatcher) -> Result<Matcher, StoreError> {
    let kind = match label_matcher::Type::try_from(m.r#type) {
        Ok(label_matcher::Type::Eq) => MatchType::Equal,
        Ok(label_matcher::Type::Neq) => MatchType::NotEqual,
        Ok(label_matcher::Type::Re) => MatchType::Regex,
        Ok(label_matcher::Type::Nre) => MatchType::NotRegex,
        Err(_) => {
            return Err(StoreError::InvalidArgument(format!(
                "unknown label matcher type {} for label {:?}",
                m.r#type, m.name
            )));
        }
    };
    Matcher::new(kind, m.name.clone(), m.value.clone())
        .map_err(|e| StoreError::InvalidArgument(format!("bad matcher for {:?}: {e}", m.name)))
}

/// All wire matchers compiled, or the first error.
pub fn matchers_from_pb(ms: &[LabelMatcher]) -> Result<Vec<Matcher>, StoreError> {
    ms.iter().map(matcher_from_pb).collect()
}

/// A [`Matcher`] as a wire matcher.
pub fn matcher_to_pb(m: &Matcher) -> LabelMatcher {
    let t = match m.kind() {
        MatchType::Equal => label_matcher::Type::Eq,
        MatchType::NotEqual => label_matcher::Type::Neq,
        MatchType::Regex => label_matcher::Type::Re,
        MatchType::NotRegex => label_matcher::Type::Nre,
    };
    LabelMatcher {
        r#type: t as i32,
        name: m.name().to_string(),
        value: m.value().to_string(),
    }
}

/// Build a wire matcher from its parts (handy in tests and clients).
pub fn pb_matcher(t: label_matcher::Type, name: &str, value: &str) -> LabelMatcher {
    LabelMatcher {
        r#type: t as i32,
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// Prometheus `labels.Compare` over wire label slices (each sorted by name): pairwise by name,
/// then value, byte-wise; a strict prefix sorts first.
pub fn compare_labels(a: &[thanos::Label], b: &[thanos::Label]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        match x.name.cmp(&y.name).then_with(|| x.value.cmp(&y.value)) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

/// True if every label set in `v` is sorted by name with unique names.
pub fn is_sorted_by_name(v: &[thanos::Label]) -> bool {
    v.windows(2).all(|w| w[0].name < w[1].name)
}

/// `Chunk.hash`: xxhash64 (seed 0) of the chunk data.
pub fn chunk_hash(data: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(data, 0)
}

/// The value `matchers` see for `name` in `labels` (`""` when absent).
fn value_of<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels.get(name).unwrap_or("")
}

/// True if every matcher matches `labels` (a missing label has the value `""`).
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(value_of(labels, m.name())))
}

/// Thanos `LabelSetsMatch`: true if at least one of `sets` is compatible with the matchers,
/// where only matchers naming a label present in the set are checked. No sets: true.
pub fn label_sets_match(matchers: &[Matcher], sets: &[Labels]) -> bool {
    if sets.is_empty() {
        return true;
    }
    sets.iter().any(|set| {
        matchers
            .iter()
            .all(|m| set.get(m.name()).is_none_or(|v| m.matches(v)))
    })
}

/// Split request matchers against a store's external labels (Thanos `matchesExternalLabels`):
/// returns `None` when a matcher on an external label rejects its value (the store has nothing
/// to return), otherwise the matchers that remain for the series themselves.
pub fn match_external_labels(matchers: &[Matcher], ext: &Labels) -> Option<Vec<Matcher>> {
    let mut rest = Vec::with_capacity(matchers.len());
    for m in matchers {
        match ext.get(m.name()) {
            Some(v) if !m.matches(v) => return None,
            Some(_) => {}
            None => rest.push(m.clone()),
        }
    }
    Some(rest)
}

/// Series labels with the external labels applied: external labels override same-named series
/// labels; the result is sorted.
pub fn with_external_labels(series: &Labels, ext: &Labels) -> Labels {
    let mut out = series.clone();
    for l in ext {
        out.set(&l.name, &l.value);
    }
    out
}

/// Remove every label named in `names` from wire labels (order is kept).
pub fn strip_labels(labels: &mut Vec<thanos::Label>, names: &[String]) {
    if names.is_empty() {
        return;
    }
    labels.retain(|l| !names.contains(&l.name));
}

/// A `series` frame.
pub fn series_frame(series: thanos::Series) -> SeriesResponse {
    SeriesResponse {
        result: Some(series_response::Result::Series(series)),
    }
}

/// A `warning` frame.
pub fn warning_frame(msg: impl Into<String>) -> SeriesResponse {
    SeriesResponse {
        result: Some(series_response::Result::Warning(msg.into())),
    }
}

/// A request `limit`: 0 or negative means unlimited.
pub(crate) fn limit_of(limit: i64) -> usize {
    if limit > 0 {
        usize::try_from(limit).unwrap_or(usize::MAX)
    } else {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pl(pairs: &[(&str, &str)]) -> Vec<thanos::Label> {
        pairs
            .iter()
            .map(|(n, v)| thanos::Label {
                name: (*n).into(),
                value: (*v).into(),
            })
            .collect()
    }

    #[test]
    fn compare_matches_tsdb_labels_order() {
        let sets = [
            vec![("a", "1")],
            vec![("a", "1"), ("b", "1")],
            vec![("a", "1"), ("r", "x")],
            vec![("a", "2")],
            vec![],
            vec![("__name__", "up")],
        ];
        for x in &sets {
            for y in &sets {
                let (px, py) = (pl(x), pl(y));
                let (lx, ly) = (labels_from_pb(&px), labels_from_pb(&py));
                assert_eq!(compare_labels(&px, &py), lx.cmp(&ly), "{x:?} vs {y:?}");
            }
        }
    }

    #[test]
    fn matchers_round_trip_and_bad_regex() {
        let m = pb_matcher(label_matcher::Type::Re, "job", "a|b");
        let c = matcher_from_pb(&m).expect("valid");
        assert!(c.matches("a") && !c.matches("c"));
        assert_eq!(matcher_to_pb(&c), m);
        let bad = pb_matcher(label_matcher::Type::Re, "job", "(");
        assert!(matches!(
            matcher_from_pb(&bad),
            Err(StoreError::InvalidArgument(_))
        ));
        let unknown = LabelMatcher {
            r#type: 9,
            name: "x".into(),
            value: String::new(),
        };
        assert!(matches!(
            matcher_from_pb(&unknown),
            Err(StoreError::InvalidArgument(_))
        ));
    }

    #[test]
    fn external_label_matching() {
        let ext = Labels::from_pairs([("region", "eu")]);
        let eq = |n: &str, v: &str| Matcher::equal(n, v);
        assert!(match_external_labels(&[eq("region", "us")], &ext).is_none());
        let rest =
            match_external_labels(&[eq("region", "eu"), eq("job", "a")], &ext).expect("matches");
        assert_eq!(rest, vec![eq("job", "a")]);
        assert!(label_sets_match(
            &[eq("job", "a")],
            std::slice::from_ref(&ext)
        ));
        assert!(!label_sets_match(
            &[eq("region", "us")],
            std::slice::from_ref(&ext)
        ));
        assert!(label_sets_match(
            &[eq("region", "us")],
            &[ext.clone(), Labels::from_pairs([("region", "us")])]
        ));
        assert!(label_sets_match(&[eq("region", "us")], &[]));
    }

    #[test]
    fn chunk_hash_is_xxh64() {
        assert_eq!(chunk_hash(b""), 0xef46db3751d8e999);
    }
}
