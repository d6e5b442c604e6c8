//! The flag blocks and value parsers every strata command shares, so a flag means the same
//! thing everywhere: logging, the objstore configuration, "a file or inline YAML" settings,
//! Prometheus durations and Thanos time bounds. Every flag also reads a `STRATA_<FLAG>`
//! environment variable (upper case, `.` and `-` as `_`): that is how the Lambda functions,
//! which have no command line, are configured with the very same flags.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgMatches, Args, Command, ValueEnum};

use crate::Error;

/// `--log.level` and `--log.format`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Logging")]
pub struct LogFlags {
    /// Log filtering level (error, warn, info, debug) or a tracing filter directive.
    #[arg(
        long = "log.level",
        env = "STRATA_LOG_LEVEL",
        default_value = "info",
        global = true
    )]
    pub level: String,
    /// Log format.
    #[arg(
        long = "log.format",
        env = "STRATA_LOG_FORMAT",
        value_enum,
        default_value_t = crate::LogFormat::Logfmt,
        global = true
    )]
    pub format: crate::LogFormat,
}

impl LogFlags {
    /// Installs the global tracing subscriber ([`crate::init_tracing`]).
    pub fn init(&self) {
        crate::init_tracing(&self.level, self.format);
    }
}

impl ValueEnum for crate::LogFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[crate::LogFormat::Logfmt, crate::LogFormat::Json]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(match self {
            crate::LogFormat::Logfmt => {
                clap::builder::PossibleValue::new("logfmt").help("Human-readable key=value lines")
            }
            crate::LogFormat::Json => {
                clap::builder::PossibleValue::new("json").help("One JSON object per line")
            }
        })
    }
}

/// A component's default listen addresses and what it serves on them, for [`ListenFlags`].
pub trait ListenDefaults: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// Default `--http-address`.
    const HTTP: &'static str;
    /// What the HTTP address serves (`--help`).
    const HTTP_HELP: &'static str;
    /// Default `--grpc-address`.
    const GRPC: &'static str;
    /// What the gRPC address serves (`--help`).
    const GRPC_HELP: &'static str;
}

/// `--http-address` and `--grpc-address`, with the component's defaults (the strata ports on
/// 127.0.0.1; Thanos listens on 0.0.0.0: pass `0.0.0.0:<port>` to serve other hosts).
#[derive(Debug, Clone, Args)]
pub struct ListenFlags<D: ListenDefaults> {
    #[arg(long = "http-address", env = "STRATA_HTTP_ADDRESS", default_value = D::HTTP, help = D::HTTP_HELP)]
    pub http_address: String,
    #[arg(long = "grpc-address", env = "STRATA_GRPC_ADDRESS", default_value = D::GRPC, help = D::GRPC_HELP)]
    pub grpc_address: String,
    #[arg(skip)]
    _defaults: std::marker::PhantomData<D>,
}

/// Where the bucket is: Thanos objstore YAML (`type`, `config`, `prefix`).
#[derive(Debug, Clone, Default, Args)]
pub struct ObjstoreFlags {
    /// Path to a YAML file with the object store configuration.
    #[arg(long = "objstore.config-file", env = "STRATA_OBJSTORE_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
    /// The object store configuration as inline YAML (alternative to --objstore.config-file).
    #[arg(
        long = "objstore.config",
        env = "STRATA_OBJSTORE_CONFIG",
        conflicts_with = "config_file"
    )]
    pub config: Option<String>,
}

impl ObjstoreFlags {
    /// The bucket, or `None` when neither flag is set.
    pub fn bucket(&self) -> Result<Option<Arc<dyn object_store::ObjectStore>>, Error> {
        let text = config_text(
            self.config_file.as_deref(),
            self.config.as_deref(),
            "objstore.config",
        )?;
        let Some(text) = text else { return Ok(None) };
        let config = strata_objstore::BucketConfig::from_yaml(&text)?;
        Ok(Some(config.build()?))
    }

    /// The bucket; an error naming the flags when neither is set.
    pub fn required_bucket(&self) -> Result<Arc<dyn object_store::ObjectStore>, Error> {
        self.bucket()?.ok_or(Error::MissingFlag(
            "one of --objstore.config-file or --objstore.config is required",
        ))
    }
}

/// A configuration given as a file (`--<flag>-file`) or inline (`--<flag>`): the text of
/// whichever is set, `None` when neither is, an error when both are (a flag and the other's
/// environment variable, say). Empty values count as unset.
pub fn config_text(
    file: Option<&std::path::Path>,
    inline: Option<&str>,
    flag: &str,
) -> Result<Option<String>, Error> {
    let file = file.filter(|p| !p.as_os_str().is_empty());
    let inline = inline.filter(|y| !y.trim().is_empty());
    match (file, inline) {
        (Some(_), Some(_)) => Err(Error::Flags(format!(
            "both --{flag}-file and --{flag} are set; use one"
        ))),
        (Some(p), None) => {
            std::fs::read_to_string(p)
                .map(Some)
                .map_err(|source| Error::ConfigFile {
                    flag: format!("--{flag}-file"),
                    path: p.to_path_buf(),
                    source,
                })
        }
        (None, Some(y)) => Ok(Some(y.to_string())),
        (None, None) => Ok(None),
    }
}

/// Value parser: a Prometheus (`30s`, `1h30m`, `2w`) or Go (`1.5s`) duration, `0` allowed.
pub fn duration(s: &str) -> Result<Duration, String> {
    strata_units::parse_duration(s)
}

/// Value parser: like [`duration`] but positive.
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    match duration(s)? {
        d if d.is_zero() => Err(format!("duration {s:?} must be positive")),
        d => Ok(d),
    }
}

/// Value parser: a byte size such as `250MB` or `32MiB`.
pub fn bytes(s: &str) -> Result<u64, String> {
    strata_units::parse_bytes(s)
}

/// Value parser: Thanos `--min-time`/`--max-time`: RFC 3339, or a duration relative to now
/// (`-2w`, `1h`); milliseconds since the epoch.
pub fn time_or_duration_ms(s: &str) -> Result<i64, String> {
    if let Ok(t) = strata_units::time::parse_rfc3339_ms(s) {
        return Ok(t);
    }
    let (neg, d) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let d = duration(d)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .ok_or_else(|| format!("{s:?} is neither an RFC 3339 time nor a duration such as -2w"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Ok(if neg { now - d } else { now + d })
}

/// Value parser: an external label `name=value` (quotes around the value are dropped).
pub fn label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("label {s:?} is not of the form name=value"))?;
    let v = v.trim_matches('"');
    if k.is_empty() || v.is_empty() {
        return Err(format!("label {s:?} needs a non-empty name and value"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// The effective value of every flag of `command` (after defaults and environment variables),
/// by long name, as Prometheus' `/api/v1/status/flags` shows them; repeated flags are joined
/// with commas. Flags that are not set and have no default are left out.
pub fn flag_values(command: &Command, matches: &ArgMatches) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for arg in command.get_arguments() {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else {
            continue;
        };
        let Ok(Some(raw)) = matches.try_get_raw(id) else {
            continue;
        };
        let values: Vec<String> = raw.map(|v| v.to_string_lossy().into_owned()).collect();
        out.insert(long.to_string(), values.join(","));
    }
    out
}

/// Parses `P` from the environment alone (no command-line arguments), as a Lambda function
/// does at cold start: every flag is read from its `STRATA_*` variable.
pub fn parse_from_env<P: clap::Parser>(name: &str) -> Result<(P, BTreeMap<String, String>), Error> {
    let command = P::command();
    let matches = command
        .clone()
        .try_get_matches_from([name])
        .map_err(|e| Error::Flags(e.render().to_string()))?;
    let parsed = <P as clap::FromArgMatches>::from_arg_matches(&matches)
        .map_err(|e| Error::Flags(e.render().to_string()))?;
    Ok((parsed, flag_values(&command, &matches)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_labels_and_times_parse() {
        assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("0s"), Ok(Duration::ZERO));
        assert!(positive_duration("0s").is_err());
        assert!(duration("2").is_err());
        assert_eq!(label("a=b"), Ok(("a".into(), "b".into())));
        assert!(label("a").is_err());
        assert!(label("=b").is_err());
        assert_eq!(time_or_duration_ms("1970-01-01T00:00:00Z"), Ok(0));
        let now = time_or_duration_ms("0s").unwrap();
        let two_weeks_ago = time_or_duration_ms("-2w").unwrap();
        assert!((now - two_weeks_ago - 1_209_600_000).abs() < 1000);
        assert!(time_or_duration_ms("yesterday").is_err());
    }

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[arg(long = "x.timeout", env = "STRATA_TEST_CLI_X_TIMEOUT", default_value = "2m", value_parser = duration)]
        timeout: Duration,
        #[arg(
            long = "x.label",
            env = "STRATA_TEST_CLI_X_LABEL",
            value_delimiter = ','
        )]
        labels: Vec<String>,
        #[arg(long = "x.unset")]
        unset: Option<String>,
    }

    #[test]
    fn flag_values_show_defaults_env_and_repeats() {
        use clap::{CommandFactory, FromArgMatches};
        let cmd = Cli::command();
        let m = cmd
            .clone()
            .try_get_matches_from(["t", "--x.label", "a", "--x.label", "b"])
            .unwrap();
        let cli = Cli::from_arg_matches(&m).unwrap();
        assert_eq!(cli.timeout, Duration::from_secs(120));
        let v = flag_values(&cmd, &m);
        assert_eq!(v.get("x.timeout").map(String::as_str), Some("2m"));
        assert_eq!(v.get("x.label").map(String::as_str), Some("a,b"));
        assert!(!v.contains_key("x.unset"));
    }

    #[test]
    fn config_text_takes_one_of_file_or_inline_and_names_the_flag() {
        let dir = std::env::temp_dir().join(format!("strata-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.yml");
        std::fs::write(&f, "type: MEMORY\n").unwrap();
        assert_eq!(
            config_text(Some(&f), None, "objstore.config").unwrap(),
            Some("type: MEMORY\n".to_string())
        );
        assert_eq!(
            config_text(None, Some("type: MEMORY"), "objstore.config").unwrap(),
            Some("type: MEMORY".to_string())
        );
        assert_eq!(config_text(None, None, "x").unwrap(), None);
        assert_eq!(config_text(None, Some("  "), "x").unwrap(), None);
        let both = config_text(Some(&f), Some("type: MEMORY"), "objstore.config")
            .unwrap_err()
            .to_string();
        assert!(
            both.contains("--objstore.config-file") && both.contains("use one"),
            "{both}"
        );
        let e = config_text(Some(&dir.join("missing.yml")), None, "index-cache.config")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--index-cache.config-file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn objstore_flags_build_the_bucket_or_name_the_flags() {
        let none = ObjstoreFlags::default();
        assert!(none.bucket().unwrap().is_none());
        let e = none.required_bucket().unwrap_err().to_string();
        assert!(e.contains("--objstore.config-file"), "{e}");
        let inline = ObjstoreFlags {
            config: Some("type: MEMORY".into()),
            ..ObjstoreFlags::default()
        };
        assert!(inline.required_bucket().is_ok());
        let bad = ObjstoreFlags {
            config: Some("type: NOPE".into()),
            ..ObjstoreFlags::default()
        };
        assert!(bad.bucket().is_err());
    }
}
