//! The querier as an AWS Lambda function: reads the flags of `strata query` from the
//! environment at cold start (every flag has a `STRATA_*` variable: `--endpoint` is
//! `STRATA_ENDPOINT`, comma-separated; `--query.replica-label` is
//! `STRATA_QUERY_REPLICA_LABEL`; `--query.timeout` is `STRATA_QUERY_TIMEOUT`, and so on, as
//! `strata query --help` lists them), builds the endpoint set and the querier once (polling
//! every endpoint's Info once, so the first request already knows each store's labels and
//! time range), and serves the same router as `strata query` through `lambda_http` (function
//! URL, API Gateway and ALB events). Endpoints are polled again every poll interval while the
//! instance is awake. Logs are JSON lines unless `STRATA_LOG_FORMAT` says otherwise; the listen
//! addresses are not used.
//!
//! Behind API Gateway with a named stage, set `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true` so
//! paths are not prefixed with the stage.

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use strata_querier::cli::QueryArgs;
use strata_querier::{Querier, router};
use strata_runtime::LogFormat;
use strata_runtime::cli::LogFlags;

/// Everything the function reads from its environment: the flags of `strata query`.
#[derive(Debug, Parser)]
#[command(name = "querier-lambda")]
struct LambdaArgs {
    #[command(flatten)]
    log: LogFlags,
    #[command(flatten)]
    query: QueryArgs,
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let started = Instant::now();
    let parsed = strata_runtime::cli::parse_from_env::<LambdaArgs>("querier-lambda");
    let (args, flags) = match parsed {
        Ok(p) => p,
        Err(e) => {
            strata_runtime::init_tracing("info", LogFormat::Json);
            tracing::error!(error = %e, "bad configuration");
            return Err(e.into());
        }
    };
    let format = match std::env::var_os("STRATA_LOG_FORMAT") {
        Some(_) => args.log.format,
        None => LogFormat::Json,
    };
    strata_runtime::init_tracing(&args.log.level, format);
    let endpoints = args
        .query
        .endpoint_set()
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    // The first request sees every store that answered Info within the info timeout, and the
    // others as failing endpoints, as `strata query` does.
    endpoints.poll_once().await;
    let endpoints = Arc::new(endpoints);
    // Later polls run while the instance is awake (Lambda freezes it between invocations).
    let poller = Arc::clone(&endpoints);
    let interval = args.query.poll_interval;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            poller.poll_once().await;
        }
    });
    let querier = Arc::new(Querier::new(args.query.querier_config(flags), endpoints));
    tracing::info!(
        endpoints = %args.query.endpoints.join(","),
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        "querier Lambda initialised"
    );
    lambda_http::run(router(querier)).await
}
