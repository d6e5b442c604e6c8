//! `/thanos.WriteableStore/RemoteWrite` on receive's gRPC port: how receivers forward
//! replicas to each other (Thanos' `storepb.WriteRequest`, `pkg/store/storepb/rpc.proto`).
//!
//! A request carries `timeseries` for `tenant` (or per-tenant `timeseriesTenantData`); an empty
//! tenant is `--receive.default-tenant-id`. Series are validated as remote write bodies are
//! ([`remote_write::validate_request`]), then handed to the [`Distributor`]: `replica > 0`
//! means a receiver already replicated it, so it is stored locally only. Errors are Thanos'
//! codes, by `From<Error> for tonic::Status`: `Unavailable` (not ready, quorum lost),
//! `AlreadyExists` (conflict), `InvalidArgument` (bad series), `ResourceExhausted` (limit),
//! `Internal`.

use std::sync::Arc;

use strata_runtime::Health;
use strata_storeapi::pb::prometheus as rw;
use strata_storeapi::pb::prometheus_copy;
use strata_storeapi::pb::thanos::writeable_store_server::{WriteableStore, WriteableStoreServer};
use strata_storeapi::pb::thanos::{WriteRequest, WriteResponse};
use tonic::{Request, Response, Status};

use crate::Error;
use crate::distributor::Distributor;
use crate::remote_write::{self, NameValidation};
use crate::tenants::validate_tenant;

/// The gRPC write service of one receiver.
#[derive(Debug, Clone)]
pub struct WriteService {
    dist: Arc<Distributor>,
    health: Health,
    default_tenant: String,
    names: NameValidation,
}

impl WriteService {
    /// The service over `dist`; answers `Unavailable` while `health` is not ready.
    pub fn new(
        dist: Arc<Distributor>,
        health: Health,
        default_tenant: String,
        names: NameValidation,
    ) -> Self {
        Self {
            dist,
            health,
            default_tenant,
            names,
        }
    }

    /// The tonic service, accepting requests up to the distributor's message limit.
    pub fn into_server(self) -> WriteableStoreServer<WriteService> {
        let max = self.dist.options().max_message_bytes;
        WriteableStoreServer::new(self)
            .max_decoding_message_size(max)
            .max_encoding_message_size(usize::MAX)
    }
}

/// Thanos' copy of a series as the remote write type the validator takes.
fn from_copy(ts: prometheus_copy::TimeSeries) -> rw::TimeSeries {
    rw::TimeSeries {
        labels: ts
            .labels
            .into_iter()
            .map(|l| rw::Label {
                name: l.name,
                value: l.value,
            })
            .collect(),
        samples: ts
            .samples
            .into_iter()
            .map(|s| rw::Sample {
                value: s.value,
                timestamp: s.timestamp,
            })
            .collect(),
        exemplars: vec![rw::Exemplar::default(); ts.exemplars.len()],
        histograms: vec![rw::Histogram::default(); ts.histograms.len()],
    }
}

#[tonic::async_trait]
impl WriteableStore for WriteService {
    async fn remote_write(
        &self,
        request: Request<WriteRequest>,
    ) -> Result<Response<WriteResponse>, Status> {
        if !self.health.is_ready() {
            return Err(Error::NotReady.into());
        }
        let r = request.into_inner();
        let replicated = r.replica > 0;
        let parts: Vec<(String, Vec<prometheus_copy::TimeSeries>)> =
            if r.timeseries_tenant_data.is_empty() {
                vec![(r.tenant, r.timeseries)]
            } else {
                r.timeseries_tenant_data
                    .into_iter()
                    .map(|t| (t.tenant, t.timeseries))
                    .collect()
            };
        for (tenant, series) in parts {
            let tenant = if tenant.is_empty() {
                self.default_tenant.clone()
            } else {
                tenant
            };
            validate_tenant(&tenant)?;
            let names = self.names;
            let decoded = tokio::task::spawn_blocking(move || {
                let req = rw::WriteRequest {
                    timeseries: series.into_iter().map(from_copy).collect(),
                    metadata: Vec::new(),
                };
                remote_write::validate_request(req, names)
            })
            .await
            .map_err(Error::TaskFailed)??;
            self.dist.write(&tenant, decoded.series, replicated).await?;
        }
        Ok(Response::new(WriteResponse {}))
    }
}
