//! PromQL functions: range-vector functions evaluated per window ([`range`]), and functions on
//! instant vectors and scalars ([`instant`]), following Prometheus' `promql/functions.go`.

pub(crate) mod instant;
pub(crate) mod range;
