//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, …) with
//! `by`/`without`, over all steps of the grid at once.

use promql_parser::parser::{LabelModifier, token::TokenType};

use crate::error::{Error, Result};
use crate::value::{Annotations, Data, Grid, Series};

/// Evaluates aggregation `op` over `input`. `param` is the evaluated parameter (`topk`'s k,
/// `quantile`'s φ, … as a per-step scalar; `count_values`' label as a string).
pub(crate) fn aggregate(
    op: TokenType,
    param: Option<Data>,
    modifier: Option<&LabelModifier>,
    input: Vec<Series>,
    grid: &Grid,
    ann: &mut Annotations,
) -> Result<Vec<Series>> {
    let _ = (param, modifier, input, grid, ann);
    Err(Error::NotSupported(format!("aggregation {op}")))
}
