//! The `strata` binary: one clap subcommand per component, each a thin shell over a library
//! crate. Components that have not landed yet say so and exit non-zero.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use strata_runtime::cli::{LogFlags, ObjstoreFlags, flag_values, label, positive_duration};
use strata_units::time::format_rfc3339_ms;

mod local;

/// Thanos-compatible long-term storage and global querying for Prometheus.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    log: LogFlags,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sidecar for Prometheus: serves its data over the StoreAPI and uploads its blocks.
    Sidecar(Unbuilt),
    /// Store gateway: serves the StoreAPI over every block in a bucket.
    Store(strata_store_gateway::cli::StoreArgs),
    /// Querier: Prometheus HTTP API and PromQL over StoreAPI endpoints.
    Query(strata_querier::cli::QueryArgs),
    /// Query frontend: splits, retries and caches range queries.
    QueryFrontend(Unbuilt),
    /// Receive: Prometheus remote write in, blocks out.
    Receive(strata_receive::cli::ReceiveArgs),
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
    #[arg(long = "label", env = "STRATA_LABEL", value_parser = label, required = true)]
    labels: Vec<(String, String)>,
    /// Block range: blocks never cross a multiple of it.
    #[arg(long = "block-duration", env = "STRATA_BLOCK_DURATION", default_value = "2h", value_parser = positive_duration)]
    block_duration: std::time::Duration,
    /// Directory for blocks before upload (default: the system temp dir).
    #[arg(long = "tmp-dir", env = "STRATA_TMP_DIR")]
    tmp_dir: Option<PathBuf>,
    /// OpenMetrics text file; every sample needs a timestamp (seconds).
    file: PathBuf,
}

#[derive(Debug, Args)]
struct LsArgs {
    #[command(flatten)]
    objstore: ObjstoreFlags,
    /// Output format.
    #[arg(short = 'o', long = "output", env = "STRATA_OUTPUT", value_enum, default_value_t = LsFormat::Table)]
    output: LsFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LsFormat {
    /// One aligned row per block.
    Table,
    /// One meta.json per line.
    Json,
}

fn main() -> ExitCode {
    let command = Cli::command();
    let matches = command.clone().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // What `/api/v1/status/flags` shows: the subcommand's flags after defaults and env.
    let flags = matches
        .subcommand()
        .and_then(|(name, m)| Some(flag_values(command.find_subcommand(name)?, m)))
        .unwrap_or_default();
    cli.log.init();
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
    match rt.block_on(run(cli.command, flags)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strata: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, flags: BTreeMap<String, String>) -> Result<ExitCode> {
    use strata_runtime::shutdown_signal;
    let unbuilt = |name: &str, issue: u32| {
        eprintln!(
            "strata {name}: this component is not built yet (tracked in issue {issue}); \
             see README.md for what works today"
        );
        Ok(ExitCode::from(2))
    };
    match command {
        Command::Store(args) => strata_store_gateway::cli::run(args, shutdown_signal())
            .await
            .context("store gateway")
            .map(|()| ExitCode::SUCCESS),
        Command::Query(args) => strata_querier::cli::run(args, flags, shutdown_signal())
            .await
            .context("querier")
            .map(|()| ExitCode::SUCCESS),
        Command::Receive(args) => strata_receive::cli::run(args, shutdown_signal())
            .await
            .context("receive")
            .map(|()| ExitCode::SUCCESS),
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
    /// The progress bar on stderr: one step per uploaded block.
    #[derive(Debug)]
    struct Bar(indicatif::ProgressBar);
    impl strata_tools::backfill::Progress for Bar {
        fn start(&self, block_ranges: u64) {
            self.0.set_length(block_ranges);
        }
        fn block_uploaded(&self, _: &strata_tsdb::meta::BlockMeta) {
            self.0.inc(1);
        }
    }
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} backfill [{bar:30}] {pos}/{len} block ranges ({elapsed})",
        ) {
            bar.set_style(style);
        }
        std::sync::Arc::new(Bar(bar))
    });
    let store = a.objstore.required_bucket()?;
    let external_labels: BTreeMap<String, String> = a.labels.into_iter().collect();
    let opts = strata_tools::backfill::BackfillOptions {
        external_labels,
        block_duration_ms: i64::try_from(a.block_duration.as_millis())
            .context("--block-duration is too long")?,
        tmp_dir: a.tmp_dir,
        progress: bar
            .clone()
            .map(|b| b as std::sync::Arc<dyn strata_tools::backfill::Progress>),
    };
    let report = strata_tools::backfill::backfill(store, &a.file, opts)
        .await
        .with_context(|| format!("backfilling {}", a.file.display()))?;
    if let Some(b) = bar {
        b.0.finish_and_clear();
    }
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
            format_rfc3339_ms(m.min_time),
            format_rfc3339_ms(m.max_time),
            m.stats.num_series,
            m.stats.num_samples,
            m.stats.num_chunks
        );
    }
    Ok(())
}

async fn ls(a: LsArgs) -> Result<()> {
    use std::io::Write;
    let store = a.objstore.required_bucket()?;
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
                    format_rfc3339_ms(m.min_time),
                    format_rfc3339_ms(m.max_time),
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
