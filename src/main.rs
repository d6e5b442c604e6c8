//! The `strata` binary: one clap subcommand per component, each a thin shell over a library
//! crate. Components that have not landed yet say so and exit non-zero.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

mod flags;
mod local;
mod query;
mod receive;
mod store;

use flags::parse_positive_duration_ms;

/// Thanos-compatible long-term storage and global querying for Prometheus.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None)]
struct Cli {
    /// Log filtering level (error, warn, info, debug) or a tracing filter directive.
    #[arg(
        long = "log.level",
        env = "STRATA_LOG_LEVEL",
        default_value = "info",
        global = true
    )]
    log_level: String,
    /// Log format.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Logfmt, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable key=value lines.
    Logfmt,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sidecar for Prometheus: serves its data over the StoreAPI and uploads its blocks.
    Sidecar(Unbuilt),
    /// Store gateway: serves the StoreAPI over every block in a bucket.
    Store(store::StoreArgs),
    /// Querier: Prometheus HTTP API and PromQL over StoreAPI endpoints.
    Query(query::QueryArgs),
    /// Query frontend: splits, retries and caches range queries.
    QueryFrontend(Unbuilt),
    /// Receive: Prometheus remote write in, blocks out.
    Receive(receive::ReceiveArgs),
    /// Ruler: evaluates recording and alerting rules against a querier.
    Rule(Unbuilt),
    /// Compactor: merges blocks, downsamples and applies retention in a bucket.
    Compact(Unbuilt),
    /// Downsampler: creates 5m and 1h downsampled blocks.
    Downsample(Unbuilt),
    /// Tools for buckets and blocks.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Everything in one process over a bucket on local disk.
    Local(local::LocalArgs),
}

/// Arguments are accepted but ignored: the component has not been built yet.
#[derive(Debug, Args)]
struct Unbuilt {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _args: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum ToolsCommand {
    /// Bucket utilities.
    #[command(subcommand)]
    Bucket(BucketCommand),
}

/// Where the bucket is: Thanos objstore YAML (`type`, `config`, `prefix`).
#[derive(Debug, Args)]
pub(crate) struct ObjstoreFlags {
    /// Path to a YAML file with the object store configuration.
    #[arg(long = "objstore.config-file", env = "STRATA_OBJSTORE_CONFIG_FILE")]
    config_file: Option<PathBuf>,
    /// The object store configuration as inline YAML (alternative to --objstore.config-file).
    #[arg(
        long = "objstore.config",
        env = "STRATA_OBJSTORE_CONFIG",
        conflicts_with = "config_file"
    )]
    config: Option<String>,
}

impl ObjstoreFlags {
    pub(crate) fn build(&self) -> Result<std::sync::Arc<dyn object_store::ObjectStore>> {
        let config = strata_objstore::BucketConfig::from_flags(
            self.config_file.as_deref(),
            self.config.as_deref(),
        )
        .context("loading the object store configuration")?
        .context("one of --objstore.config-file or --objstore.config is required")?;
        Ok(config.build()?)
    }
}

#[derive(Debug, Subcommand)]
enum BucketCommand {
    /// Import an OpenMetrics text file as 2h-aligned blocks (like `promtool tsdb
    /// create-blocks-from openmetrics`) and upload them with external labels.
    Backfill(BackfillArgs),
    /// List the blocks in a bucket.
    Ls(LsArgs),
}

#[derive(Debug, Args)]
struct BackfillArgs {
    #[command(flatten)]
    objstore: ObjstoreFlags,
    /// External label `name=value` for every uploaded block (repeatable; at least one).
    #[arg(long = "label", value_parser = parse_label, required = true)]
    labels: Vec<(String, String)>,
    /// Block range: blocks never cross a multiple of it.
    #[arg(long = "block-duration", default_value = "2h", value_parser = parse_positive_duration_ms)]
    block_duration_ms: i64,
    /// Directory for blocks before upload (default: the system temp dir).
    #[arg(long = "tmp-dir")]
    tmp_dir: Option<PathBuf>,
    /// OpenMetrics text file; every sample needs a timestamp (seconds).
    file: PathBuf,
}

#[derive(Debug, Args)]
struct LsArgs {
    #[command(flatten)]
    objstore: ObjstoreFlags,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = LsFormat::Table)]
    output: LsFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LsFormat {
    /// One aligned row per block.
    Table,
    /// One meta.json per line.
    Json,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("label {s:?} is not of the form name=value"))?;
    let v = v.trim_matches('"');
    if k.is_empty() || v.is_empty() {
        return Err(format!("label {s:?} needs a non-empty name and value"));
    }
    Ok((k.to_string(), v.to_string()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    strata_runtime::init_tracing(
        &cli.log_level,
        match cli.log_format {
            LogFormat::Logfmt => strata_runtime::LogFormat::Logfmt,
            LogFormat::Json => strata_runtime::LogFormat::Json,
        },
    );
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strata: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strata: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<ExitCode> {
    let unbuilt = |name: &str, issue: u32| {
        eprintln!(
            "strata {name}: this component is not built yet (tracked in issue {issue}); \
             see README.md for what works today"
        );
        Ok(ExitCode::from(2))
    };
    match command {
        Command::Store(args) => store::run_store(args).await.map(|()| ExitCode::SUCCESS),
        Command::Query(args) => query::run_query(args).await.map(|()| ExitCode::SUCCESS),
        Command::Receive(args) => receive::run_receive(args).await.map(|()| ExitCode::SUCCESS),
        Command::Sidecar(_) => unbuilt("sidecar", 0),
        Command::QueryFrontend(_) => unbuilt("query-frontend", 0),
        Command::Rule(_) => unbuilt("rule", 0),
        Command::Compact(_) => unbuilt("compact", 0),
        Command::Downsample(_) => unbuilt("downsample", 0),
        Command::Local(args) => local::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Tools(ToolsCommand::Bucket(BucketCommand::Backfill(a))) => {
            backfill(a).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Tools(ToolsCommand::Bucket(BucketCommand::Ls(a))) => {
            ls(a).await.map(|()| ExitCode::SUCCESS)
        }
    }
}

async fn backfill(a: BackfillArgs) -> Result<()> {
    let store = a.objstore.build()?;
    let external_labels: BTreeMap<String, String> = a.labels.into_iter().collect();
    let opts = strata_tools::backfill::BackfillOptions {
        external_labels,
        block_duration_ms: a.block_duration_ms,
        tmp_dir: a.tmp_dir,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let report = strata_tools::backfill::backfill(store, &a.file, opts)
        .await
        .with_context(|| format!("backfilling {}", a.file.display()))?;
    eprintln!(
        "backfilled {} samples of {} series into {} blocks",
        report.samples,
        report.series,
        report.blocks.len()
    );
    for m in &report.blocks {
        eprintln!(
            "  {}  {} .. {}  series={} samples={} chunks={}",
            m.ulid,
            fmt_ms(m.min_time),
            fmt_ms(m.max_time),
            m.stats.num_series,
            m.stats.num_samples,
            m.stats.num_chunks
        );
    }
    Ok(())
}

async fn ls(a: LsArgs) -> Result<()> {
    use std::io::Write;
    let store = a.objstore.build()?;
    let metas = strata_objstore::block::list_block_metas(store.as_ref())
        .await
        .context("listing blocks")?;
    let mut out = std::io::stdout().lock();
    for m in metas.metas.values() {
        match a.output {
            LsFormat::Json => {
                let line = serde_json::to_string(m).context("encoding meta")?;
                writeln!(out, "{line}")?;
            }
            LsFormat::Table => {
                let t = m.thanos.as_ref();
                let labels: Vec<String> = t
                    .map(|t| t.labels.iter().map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{}  {}  {}  level={} res={}ms series={} samples={} source={} {{{}}}",
                    m.ulid,
                    fmt_ms(m.min_time),
                    fmt_ms(m.max_time),
                    m.compaction.level,
                    m.resolution(),
                    m.stats.num_series,
                    m.stats.num_samples,
                    t.map_or("", |t| t.source.as_str()),
                    labels.join(",")
                )?;
            }
        }
    }
    for (id, err) in &metas.corrupted {
        eprintln!("corrupted block {id}: {err}");
    }
    for id in &metas.partial {
        eprintln!("partial block (no meta.json) {id}");
    }
    Ok(())
}

/// Milliseconds since the epoch as an RFC 3339 UTC timestamp.
pub(crate) fn fmt_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_times_format() {
        assert_eq!(parse_label("a=b"), Ok(("a".into(), "b".into())));
        assert!(parse_label("a").is_err());
        assert_eq!(fmt_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(fmt_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
