//! The Thanos `{type, config}` YAML document (thanos-io/objstore `client/factory.go`, Thanos'
//! `pkg/cacheutil` and `pkg/store/cache/factory.go`): a `type` naming a backend, its `config`
//! block, and a few keys beside them (`prefix`, `enabled_items`, ...).
//!
//! Read in two passes so that errors point at the right place: first the document itself, to
//! learn `type` and reject unknown top-level keys by name, then `config` typed for that `type`
//! (whose own unknown keys its type rejects). Errors are strings starting with what was being
//! read (`objstore config: ...`, `S3 config: ...`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

/// A parsed `{type, config, ...}` document: its `type`, the keys beside `config` as `E`, and
/// the text, to read `config` once the caller knows which type it has.
#[derive(Debug)]
pub struct TypedDocument<'a, E> {
    yaml: &'a str,
    kind: String,
    /// The top-level keys other than `type` and `config`.
    pub extra: E,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Config<C> {
    #[serde(default = "Option::default")]
    config: Option<C>,
}

/// `what: message`, or the message alone when `what` is empty.
fn prefixed(what: &str, message: impl std::fmt::Display) -> String {
    if what.is_empty() {
        message.to_string()
    } else {
        format!("{what}: {message}")
    }
}

fn yaml_error(what: &str, e: &serde_saphyr::Error) -> String {
    prefixed(what, e.without_snippet())
}

impl<'a, E: DeserializeOwned> TypedDocument<'a, E> {
    /// Read the document `yaml` (`what` names it in errors, e.g. `objstore config`; empty for
    /// an error type that names it itself): it must
    /// be a mapping with a non-empty `type` (`types` lists the valid ones for the message when
    /// it is missing), optionally `config`, and no top-level keys but those and `extra_keys`,
    /// which `E` reads (`E` must not deny unknown fields: `type` and `config` are there too).
    pub fn parse(
        yaml: &'a str,
        what: &str,
        types: &[&str],
        extra_keys: &[&str],
    ) -> Result<Self, String> {
        if yaml.trim().is_empty() {
            return Err(prefixed(what, "empty document"));
        }
        let keys: BTreeMap<String, IgnoredAny> =
            serde_saphyr::from_str(yaml).map_err(|e| yaml_error(what, &e))?;
        if let Some(unknown) = keys
            .keys()
            .find(|k| !matches!(k.as_str(), "type" | "config") && !extra_keys.contains(&k.as_str()))
        {
            let expected: Vec<String> = ["type", "config"]
                .iter()
                .chain(extra_keys)
                .map(|k| format!("`{k}`"))
                .collect();
            return Err(prefixed(
                what,
                format_args!(
                    "unknown field `{unknown}`, expected one of {}",
                    expected.join(", ")
                ),
            ));
        }
        let head: Head = serde_saphyr::from_str(yaml).map_err(|e| yaml_error(what, &e))?;
        let kind = head.kind.unwrap_or_default().trim().to_string();
        if kind.is_empty() {
            return Err(prefixed(
                what,
                format_args!("missing required key `type` (one of {})", types.join(", ")),
            ));
        }
        let extra: E = serde_saphyr::from_str(yaml).map_err(|e| yaml_error(what, &e))?;
        Ok(Self { yaml, kind, extra })
    }

    /// `type` as written (trimmed).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// `type` in upper case: Thanos matches it case-insensitively.
    pub fn kind_upper(&self) -> String {
        self.kind.to_ascii_uppercase()
    }

    /// The `config` block as `C` (its default when absent or null); errors start with
    /// `<kind> config:`.
    pub fn config<C: DeserializeOwned + Default>(&self, kind: &str) -> Result<C, String> {
        let c: Config<C> = serde_saphyr::from_str(self.yaml)
            .map_err(|e| yaml_error(&format!("{kind} config"), &e))?;
        Ok(c.config.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Extra {
        prefix: Option<String>,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Fs {
        directory: String,
    }

    fn parse(yaml: &str) -> Result<TypedDocument<'_, Extra>, String> {
        TypedDocument::parse(yaml, "objstore config", &["FILESYSTEM", "S3"], &["prefix"])
    }

    #[test]
    fn reads_type_config_and_extra_keys() {
        let d = parse("type: filesystem\nconfig:\n  directory: /d\nprefix: p\n").expect("valid");
        assert_eq!(
            (d.kind(), d.kind_upper().as_str()),
            ("filesystem", "FILESYSTEM")
        );
        assert_eq!(d.extra.prefix.as_deref(), Some("p"));
        let fs: Fs = d.config("FILESYSTEM").expect("config");
        assert_eq!(fs.directory, "/d");
        let d = parse("type: S3\nconfig:\n").expect("valid");
        assert_eq!(d.config::<Fs>("S3").expect("null config"), Fs::default());
    }

    #[test]
    fn errors_name_the_place() {
        assert_eq!(parse("").unwrap_err(), "objstore config: empty document");
        let e = parse("config:\n  bucket: b").unwrap_err();
        assert!(
            e.starts_with("objstore config: missing required key `type` (one of FILESYSTEM, S3)"),
            "{e}"
        );
        let e = parse("type: S3\nbucket: b").unwrap_err();
        assert!(
            e.starts_with("objstore config: unknown field `bucket`"),
            "{e}"
        );
        let e = parse("type: [S3").unwrap_err();
        assert!(e.starts_with("objstore config: "), "{e}");
        let d = parse("type: FILESYSTEM\nconfig: {directory: /d, nope: 1}").expect("envelope");
        let e = d.config::<Fs>("FILESYSTEM").unwrap_err();
        assert!(
            e.starts_with("FILESYSTEM config: unknown field `nope`"),
            "{e}"
        );
    }
}
