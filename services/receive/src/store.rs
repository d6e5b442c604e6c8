//! The StoreAPI of receive: one [`Store`] over every
//! tenant's head and local blocks, as Thanos receive's `MultiTSDBStore` serves all tenants and
//! tells them apart by the tenant external label. A request carrying a tenant (`thanos-tenant`
//! metadata, sent by a querier with `--query.enforce-tenancy` and with a tenant header) is
//! served that tenant's series only (Thanos' receive leaves that to the querier's tenant
//! matcher); one without sees every tenant.
//!
//! * `info`: component type `receive`; one label set per tenant (tenant label + `--label`s);
//!   min/max time over all heads and local blocks (all time when there is no data, so a proxy
//!   that cached an early answer keeps asking).
//! * `series`: request matchers are split against each tenant's external labels
//!   ([`match_external_labels`]); the rest select series of the head (its XOR chunks, the open
//!   one encoded on read) and of the local blocks overlapping the range (raw chunks read from
//!   disk). Output labels have the external labels applied ([`with_external_labels`]) and
//!   `without_replica_labels` removed; series are merged and sorted by labels across tenants;
//!   `skip_chunks` and `limit` are honoured. No matchers left after the external ones is
//!   `InvalidArgument`, as in Thanos.
//! * `label_names` / `label_values`: over the series with data in `[start, end]`, external
//!   labels included; values of an external label are its value when anything matches.
//!
//! Local blocks are read on Tokio's blocking pool, so the store must be used within a Tokio
//! runtime. Every request scans each tenant's head series (the head has no postings index yet)
//! and uses the blocks' postings.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use strata_storeapi::convert::{
    chunk_hash, labels_to_pb, match_external_labels, matchers_from_pb, with_external_labels,
};
use strata_storeapi::pb::thanos::info::{InfoResponse, StoreInfo};
use strata_storeapi::pb::thanos::{
    AggrChunk, Chunk, LabelMatcher, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest,
    LabelValuesResponse, SeriesRequest, ZLabelSet, chunk,
};
use strata_storeapi::serve::{
    SeriesSet, label_names_response, label_values_response, label_values_wanted,
};
use strata_storeapi::{RequestContext, SeriesStream, Store, StoreError};
use strata_tsdb::chunkenc::Encoding;
use strata_tsdb::labels::Labels;
use strata_tsdb::matchers::Matcher;

use crate::shipper::ServedBlock;
use crate::tenants::{MultiTsdb, Tenant, read};

/// Component type reported by `info`.
pub const COMPONENT_TYPE: &str = "receive";

/// The StoreAPI over all tenants of a [`MultiTsdb`] (see the module docs).
#[derive(Debug, Clone)]
pub struct ReceiveStore {
    db: Arc<MultiTsdb>,
}

impl ReceiveStore {
    /// A store over `db`.
    pub fn new(db: Arc<MultiTsdb>) -> Self {
        Self { db }
    }
}

impl MultiTsdb {
    /// The StoreAPI over all tenants.
    pub fn store(self: &Arc<Self>) -> Arc<dyn Store> {
        Arc::new(ReceiveStore::new(Arc::clone(self)))
    }
}

fn xor_chunk(min_time: i64, max_time: i64, data: bytes::Bytes) -> AggrChunk {
    AggrChunk {
        min_time,
        max_time,
        raw: Some(Chunk {
            r#type: chunk::Encoding::Xor as i32,
            hash: chunk_hash(&data),
            data,
        }),
        ..Default::default()
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

/// A tenant whose external labels the request accepts, with the matchers left for its series.
type TenantMatch = (Arc<Tenant>, Vec<Matcher>);

/// One tenant's view for a request: its matchers without the external ones, its blocks.
struct TenantView {
    ext: Labels,
    matchers: Vec<Matcher>,
    blocks: Vec<Arc<ServedBlock>>,
}

/// Series (labels without external labels) of one tenant with data in `[mint, maxt]`, with
/// their chunks unless `skip_chunks`. Head and blocks are read consistently (see
/// `Tenant::blocks`).
async fn tenant_series(
    t: &Tenant,
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
    skip_chunks: bool,
) -> Result<(Labels, BTreeMap<Labels, Vec<AggrChunk>>), StoreError> {
    let mut out: BTreeMap<Labels, Vec<AggrChunk>> = BTreeMap::new();
    let view = {
        let blocks = read(&t.blocks);
        for s in t.head.series(matchers, mint, maxt) {
            let chunks = out.entry(s.labels).or_default();
            if !skip_chunks {
                chunks.extend(
                    s.chunks
                        .into_iter()
                        .map(|c| xor_chunk(c.min_time, c.max_time, c.data)),
                );
            }
        }
        TenantView {
            ext: t.ext.clone(),
            matchers: matchers.to_vec(),
            blocks: blocks
                .iter()
                .filter(|b| b.meta.min_time <= maxt && b.meta.max_time > mint)
                .cloned()
                .collect(),
        }
    };
    if view.blocks.is_empty() {
        return Ok((view.ext, out));
    }
    // Block reads are positional std::fs reads: run them off the async workers.
    let TenantView {
        ext,
        matchers,
        blocks,
    } = view;
    let from_blocks = tokio::task::spawn_blocking(move || {
        let mut acc = BTreeMap::new();
        for b in &blocks {
            futures::executor::block_on(block_series(
                b,
                &matchers,
                mint,
                maxt,
                skip_chunks,
                &mut acc,
            ))?;
        }
        Ok::<_, StoreError>(acc)
    })
    .await
    .map_err(internal)??;
    for (l, chunks) in from_blocks {
        out.entry(l).or_default().extend(chunks);
    }
    Ok((ext, out))
}

async fn block_series(
    b: &ServedBlock,
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
    skip_chunks: bool,
    out: &mut BTreeMap<Labels, Vec<AggrChunk>>,
) -> Result<(), StoreError> {
    let idx = &b.block.index;
    let refs = if matchers.is_empty() {
        idx.all_postings().await
    } else {
        idx.postings_for_matchers(matchers).await
    }
    .map_err(internal)?;
    for r in refs {
        let entry = idx.series(r).await.map_err(internal)?;
        let metas: Vec<_> = entry
            .chunks
            .iter()
            .filter(|c| c.max_time >= mint && c.min_time <= maxt)
            .collect();
        if metas.is_empty() {
            continue;
        }
        let chunks = out.entry(entry.labels.clone()).or_default();
        if skip_chunks {
            continue;
        }
        for c in metas {
            let raw = b.block.chunks.chunk(c.chunk_ref).await.map_err(internal)?;
            if raw.encoding != Encoding::Xor {
                return Err(StoreError::Internal(format!(
                    "block {}: unsupported chunk encoding {:?}",
                    b.meta.ulid, raw.encoding
                )));
            }
            chunks.push(xor_chunk(c.min_time, c.max_time, raw.data));
        }
    }
    Ok(())
}

impl ReceiveStore {
    /// Per matching tenant (the request's tenant, if it names one, with external labels
    /// accepted by `ms`): the tenant and the matchers left.
    fn tenants_for(
        &self,
        ctx: &RequestContext,
        ms: &[LabelMatcher],
    ) -> Result<Vec<TenantMatch>, StoreError> {
        let matchers = matchers_from_pb(ms)?;
        Ok(self
            .db
            .tenant_list()
            .into_iter()
            .filter(|t| ctx.tenant.as_ref().is_none_or(|name| *name == t.name))
            .filter_map(|t| match_external_labels(&matchers, &t.ext).map(|rest| (t, rest)))
            .collect())
    }

    /// Full labels (external labels applied) of the series matching per tenant in `[mint, maxt]`.
    async fn matching_labels(
        &self,
        ctx: &RequestContext,
        ms: &[LabelMatcher],
        mint: i64,
        maxt: i64,
    ) -> Result<BTreeSet<Labels>, StoreError> {
        let mut out = BTreeSet::new();
        for (t, rest) in self.tenants_for(ctx, ms)? {
            let (ext, series) = tenant_series(&t, &rest, mint, maxt, true).await?;
            out.extend(series.keys().map(|l| with_external_labels(l, &ext)));
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Store for ReceiveStore {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let mut label_sets = Vec::new();
        for t in self.db.tenant_list() {
            label_sets.push(ZLabelSet {
                labels: labels_to_pb(&t.ext),
            });
            if let (Some(a), Some(b)) = (t.head.min_time(), t.head.max_time()) {
                (mint, maxt) = (mint.min(a), maxt.max(b));
            }
            for b in read(&t.blocks).iter() {
                mint = mint.min(b.meta.min_time);
                maxt = maxt.max(b.meta.max_time.saturating_sub(1));
            }
        }
        let (min_time, max_time) = if mint <= maxt {
            (mint, maxt)
        } else {
            (i64::MIN, i64::MAX)
        };
        Ok(InfoResponse {
            label_sets,
            component_type: COMPONENT_TYPE.to_string(),
            store: Some(StoreInfo {
                min_time,
                max_time,
                supports_without_replica_labels: true,
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    async fn series(
        &self,
        ctx: &RequestContext,
        req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        let tenants = self.tenants_for(ctx, &req.matchers)?;
        if req.matchers.is_empty() || tenants.iter().any(|(_, rest)| rest.is_empty()) {
            return Err(StoreError::InvalidArgument(
                "no matchers specified (excluding external labels)".to_string(),
            ));
        }
        let mut out = SeriesSet::new();
        for (t, rest) in tenants {
            let (ext, series) =
                tenant_series(&t, &rest, req.min_time, req.max_time, req.skip_chunks).await?;
            for (l, chunks) in series {
                out.add(&l, &ext, &req.without_replica_labels, chunks);
            }
        }
        Ok(out.into_stream(req.limit, ctx, COMPONENT_TYPE))
    }

    async fn label_names(
        &self,
        ctx: &RequestContext,
        req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        let series = self
            .matching_labels(ctx, &req.matchers, req.start, req.end)
            .await?;
        let names: BTreeSet<String> = series
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.clone()))
            .collect();
        Ok(label_names_response(names, &req))
    }

    async fn label_values(
        &self,
        ctx: &RequestContext,
        req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        if !label_values_wanted(&req)? {
            return Ok(LabelValuesResponse::default());
        }
        let series = self
            .matching_labels(ctx, &req.matchers, req.start, req.end)
            .await?;
        let values: BTreeSet<String> = series
            .iter()
            .filter_map(|l| l.get(&req.label).map(str::to_string))
            .collect();
        Ok(label_values_response(values, req.limit))
    }
}
