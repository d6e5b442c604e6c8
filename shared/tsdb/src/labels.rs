//! Label sets: sorted by name, compared like Prometheus `labels.Compare` (pairwise name, then
//! value, byte-wise; a prefix sorts first). This order is the series order of every index,
//! postings list and StoreAPI stream.

use std::fmt;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label pair. Ordered by name, then value, byte-wise.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Label {
    /// Label name.
    pub name: String,
    /// Label value (never empty in a stored series).
    pub value: String,
}

impl Label {
    /// A label from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A label set, kept sorted by name with unique names. `Ord` is `labels.Compare`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// Build from pairs in any order; sorts by name. On duplicate names the last one wins.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let v = pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect();
        Self::from_vec(v)
    }

    /// Build from labels in any order; sorts by name; on duplicate names the last one wins;
    /// drops labels with empty values (they do not exist in Prometheus).
    pub fn from_vec(mut v: Vec<Label>) -> Self {
        v.retain(|l| !l.value.is_empty());
        v.reverse();
        v.sort_by(|a, b| a.name.cmp(&b.name)); // stable: the last occurrence comes first
        v.dedup_by(|later, first| later.name == first.name);
        Self(v)
    }

    /// Wrap labels that are already sorted by name with unique names (as decoded from an index).
    /// Callers that cannot guarantee this use [`Labels::from_vec`].
    pub fn from_sorted(v: Vec<Label>) -> Self {
        debug_assert!(v.windows(2).all(|w| w[0].name < w[1].name));
        Self(v)
    }

    /// True if sorted by name with unique names.
    pub fn is_sorted_unique(v: &[Label]) -> bool {
        v.windows(2).all(|w| w[0].name < w[1].name)
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Iterate over the labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The labels as a slice.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// Consume into the inner vector.
    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// Set `name` to `value` (replacing an existing value; an empty value removes the label).
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].value = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, Label::new(name, value)),
        }
    }

    /// Remove label `name` if present.
    pub fn remove(&mut self, name: &str) {
        self.set(name, "");
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Labels {
    /// Prometheus' `Labels.String()`: `{a="1", b="2"}` with Go-quoted values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_prometheus_compare() {
        let a = Labels::from_pairs([("a", "1")]);
        let ab = Labels::from_pairs([("a", "1"), ("b", "1")]);
        let a2 = Labels::from_pairs([("a", "2")]);
        let b = Labels::from_pairs([("b", "0")]);
        let mut v = vec![b.clone(), a2.clone(), ab.clone(), a.clone()];
        v.sort();
        assert_eq!(v, vec![a, ab, a2, b]);
    }

    #[test]
    fn from_pairs_sorts_dedups_and_drops_empty() {
        let l = Labels::from_pairs([("z", "1"), ("a", "x"), ("z", "2"), ("e", "")]);
        assert_eq!(l.to_string(), r#"{a="x", z="2"}"#);
        assert_eq!(l.get("z"), Some("2"));
        assert_eq!(l.get("e"), None);
    }

    #[test]
    fn set_and_remove() {
        let mut l = Labels::from_pairs([("b", "1")]);
        l.set("a", "0");
        l.set("c", "2");
        l.remove("b");
        assert_eq!(l.to_string(), r#"{a="0", c="2"}"#);
    }
}
