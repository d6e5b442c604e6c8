//! Tenancy enforcement (`--query.enforce-tenancy`): a [`Store`] wrapper that confines every
//! series, label names and label values request to the requesting tenant's series with a
//! `<tenant label>="<tenant>"` matcher, the tenant being the tenant header's value or
//! `--query.default-tenant-id`. Thanos' `pkg/tenancy` (`EnforceQueryTenancy`) does the same with
//! prom-label-proxy's enforcer, which replaces a matcher the query already has on the tenant
//! label; so does this wrapper. Wrapping the store the querier reads through covers PromQL
//! selectors, `/api/v1/series`, `/api/v1/labels`, label values and the querier's own StoreAPI.

use std::sync::Arc;

use strata_storeapi::pb::thanos::info::InfoResponse;
use strata_storeapi::pb::thanos::{
    LabelMatcher, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse,
    SeriesRequest, label_matcher,
};
use strata_storeapi::{RequestContext, SeriesStream, Store, StoreError};

/// Who may see what: the tenant label and the tenant of requests without a tenant header.
#[derive(Debug, Clone)]
pub struct Tenancy {
    /// `--query.tenant-label-name`.
    pub label: String,
    /// `--query.default-tenant-id`.
    pub default_tenant: String,
}

impl Tenancy {
    /// `store`, confined to each request's tenant.
    pub fn confine(&self, store: Arc<dyn Store>) -> Arc<dyn Store> {
        Arc::new(TenancyStore {
            inner: store,
            tenancy: self.clone(),
        })
    }

    /// The request's tenant (the default one when it names none) as the context forwarded to
    /// the stores, and `matchers` with the tenant matcher in place of any on the tenant label.
    fn enforce(&self, ctx: &RequestContext, matchers: &mut Vec<LabelMatcher>) -> RequestContext {
        let tenant = ctx
            .tenant
            .clone()
            .unwrap_or_else(|| self.default_tenant.clone());
        matchers.retain(|m| m.name != self.label);
        matchers.push(LabelMatcher {
            r#type: label_matcher::Type::Eq as i32,
            name: self.label.clone(),
            value: tenant.clone(),
        });
        RequestContext {
            tenant: Some(tenant),
        }
    }
}

/// A store whose requests are confined to their tenant (see the module docs).
#[derive(Debug)]
struct TenancyStore {
    inner: Arc<dyn Store>,
    tenancy: Tenancy,
}

#[async_trait::async_trait]
impl Store for TenancyStore {
    async fn info(&self) -> Result<InfoResponse, StoreError> {
        self.inner.info().await
    }

    async fn series(
        &self,
        ctx: &RequestContext,
        mut req: SeriesRequest,
    ) -> Result<SeriesStream, StoreError> {
        let ctx = self.tenancy.enforce(ctx, &mut req.matchers);
        self.inner.series(&ctx, req).await
    }

    async fn label_names(
        &self,
        ctx: &RequestContext,
        mut req: LabelNamesRequest,
    ) -> Result<LabelNamesResponse, StoreError> {
        let ctx = self.tenancy.enforce(ctx, &mut req.matchers);
        self.inner.label_names(&ctx, req).await
    }

    async fn label_values(
        &self,
        ctx: &RequestContext,
        mut req: LabelValuesRequest,
    ) -> Result<LabelValuesResponse, StoreError> {
        let ctx = self.tenancy.enforce(ctx, &mut req.matchers);
        self.inner.label_values(&ctx, req).await
    }
}
