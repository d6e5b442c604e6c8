//! Binary operators: arithmetic, comparison (filter and `bool`), set operators, with
//! `on`/`ignoring`/`group_left`/`group_right` vector matching, over all steps at once.

use promql_parser::parser::{BinModifier, token::TokenType};

use crate::error::{Error, Result};
use crate::value::{Annotations, Data, Grid};

/// Evaluates `lhs op rhs` for any operand types (scalar/vector combinations).
pub(crate) fn binary(
    op: TokenType,
    modifier: Option<&BinModifier>,
    lhs: Data,
    rhs: Data,
    grid: &Grid,
    ann: &mut Annotations,
) -> Result<Data> {
    let _ = (modifier, lhs, rhs, grid, ann);
    Err(Error::NotSupported(format!("operator {op}")))
}
