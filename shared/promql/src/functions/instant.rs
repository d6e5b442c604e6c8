//! Functions on instant vectors and scalars (math, date, clamp/round, label_*, sort*,
//! histogram_quantile, vector/scalar/time, …).

use crate::error::{Error, Result};
use crate::value::{Annotations, Data, Grid};

/// What a function call may need besides its arguments.
#[derive(Debug)]
pub(crate) struct CallCtx<'a> {
    /// The evaluation steps.
    pub(crate) grid: &'a Grid,
    /// Where warnings and infos go.
    pub(crate) ann: &'a mut Annotations,
}

/// Calls function `name` (anything but the range-vector functions, `absent`,
/// `absent_over_time` and `timestamp` of a selector, which the evaluator handles) on
/// evaluated arguments.
pub(crate) fn call(name: &str, args: Vec<Data>, ctx: &mut CallCtx<'_>) -> Result<Data> {
    let _ = (args, ctx);
    Err(Error::NotSupported(format!("function {name}()")))
}
