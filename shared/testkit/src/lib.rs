//! Helpers shared by strata's tests and benches (a dev-dependency only).

pub mod http;
