//! Binary operators: arithmetic, comparison (filter and `bool`), set operators, with
//! `on`/`ignoring`/`group_left`/`group_right` vector matching, over all steps at once.
//!
//! Layout: this file dispatches on the operand types and holds the scalar cases;
//! [`sig`] computes matching signatures, [`set`] the set operators `and`/`or`/`unless`, and
//! [`join`] the vector/vector arithmetic and comparison operators (including `fill()`).

mod join;
mod set;
mod sig;
#[cfg(test)]
mod tests;

use promql_parser::parser::token::{self, TokenType};
use promql_parser::parser::{BinModifier, LabelModifier, VectorMatchCardinality};

use crate::error::{Error, Result};
use crate::value::{Annotations, Data, Grid, Series};

/// A binary operator, decoded from the parser's token once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Unless,
}

impl Op {
    fn from_token(t: TokenType) -> Option<Op> {
        Some(match t.id() {
            token::T_ADD => Op::Add,
            token::T_SUB => Op::Sub,
            token::T_MUL => Op::Mul,
            token::T_DIV => Op::Div,
            token::T_MOD => Op::Mod,
            token::T_POW => Op::Pow,
            token::T_ATAN2 => Op::Atan2,
            token::T_EQLC => Op::Eq,
            token::T_NEQ => Op::Ne,
            token::T_LSS => Op::Lt,
            token::T_LTE => Op::Le,
            token::T_GTR => Op::Gt,
            token::T_GTE => Op::Ge,
            token::T_LAND => Op::And,
            token::T_LOR => Op::Or,
            token::T_LUNLESS => Op::Unless,
            _ => return None,
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }

    /// Arithmetic operators change the metric's meaning: they drop `__name__` (and the
    /// `__type__`/`__unit__` metadata labels).
    fn is_arithmetic(self) -> bool {
        !self.is_comparison() && !self.is_set()
    }

    /// The comparison result (NaN compares false, except `!=`).
    fn compare(self, l: f64, r: f64) -> bool {
        match self {
            Op::Eq => l == r,
            Op::Ne => l != r,
            Op::Lt => l < r,
            Op::Le => l <= r,
            Op::Gt => l > r,
            Op::Ge => l >= r,
            _ => false,
        }
    }

    /// The arithmetic result (`%` is Go's `math.Mod`, which Rust's `%` on floats matches).
    fn arith(self, l: f64, r: f64) -> f64 {
        match self {
            Op::Add => l + r,
            Op::Sub => l - r,
            Op::Mul => l * r,
            Op::Div => l / r,
            Op::Mod => l % r,
            Op::Pow => l.powf(r),
            Op::Atan2 => l.atan2(r),
            _ => f64::NAN,
        }
    }

    /// One element operation with the operands in their original order: the output value,
    /// or `None` if a filtering comparison drops the element. `keep` is the value a filter
    /// keeps (the vector element's value, whichever side it is on).
    fn apply(self, l: f64, r: f64, keep: f64, return_bool: bool) -> Option<f64> {
        if self.is_comparison() {
            let c = self.compare(l, r);
            if return_bool {
                Some(if c { 1.0 } else { 0.0 })
            } else if c {
                Some(keep)
            } else {
                None
            }
        } else {
            Some(self.arith(l, r))
        }
    }
}

/// Cardinality of a vector/vector match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// The vector matching of one operation, borrowed from the AST.
#[derive(Debug, Clone, Copy)]
struct Matching<'a> {
    card: Card,
    /// `on(...)` (true) or `ignoring(...)`/none (false).
    on: bool,
    /// The `on`/`ignoring` label names.
    names: &'a [String],
    /// The `group_left`/`group_right` extra labels.
    include: &'a [String],
    return_bool: bool,
    /// `fill_left(v)` / `fill(v)`: value for a missing left-hand side element.
    fill_lhs: Option<f64>,
    /// `fill_right(v)` / `fill(v)`: value for a missing right-hand side element.
    fill_rhs: Option<f64>,
}

impl<'a> Matching<'a> {
    fn from_modifier(modifier: Option<&'a BinModifier>, op: Op) -> Self {
        const NONE: &[String] = &[];
        let default_card = if op.is_set() {
            Card::ManyToMany
        } else {
            Card::OneToOne
        };
        let Some(m) = modifier else {
            return Matching {
                card: default_card,
                on: false,
                names: NONE,
                include: NONE,
                return_bool: false,
                fill_lhs: None,
                fill_rhs: None,
            };
        };
        let (card, include) = match &m.card {
            VectorMatchCardinality::OneToOne => (default_card, NONE),
            VectorMatchCardinality::ManyToOne(l) => (Card::ManyToOne, l.labels.as_slice()),
            VectorMatchCardinality::OneToMany(l) => (Card::OneToMany, l.labels.as_slice()),
            VectorMatchCardinality::ManyToMany => (Card::ManyToMany, NONE),
        };
        let (on, names) = match &m.matching {
            Some(LabelModifier::Include(l)) => (true, l.labels.as_slice()),
            Some(LabelModifier::Exclude(l)) => (false, l.labels.as_slice()),
            None => (false, NONE),
        };
        Matching {
            card,
            on,
            names,
            include,
            return_bool: m.return_bool,
            fill_lhs: m.fill_values.lhs,
            fill_rhs: m.fill_values.rhs,
        }
    }
}

/// Evaluates `lhs op rhs` for any operand types (scalar/vector combinations).
pub(crate) fn binary(
    op: TokenType,
    modifier: Option<&BinModifier>,
    lhs: Data,
    rhs: Data,
    grid: &Grid,
    ann: &mut Annotations,
) -> Result<Data> {
    let _ = ann; // Float-only engine: binary operators produce no annotations.
    let Some(o) = Op::from_token(op) else {
        return Err(Error::NotSupported(format!("operator {op}")));
    };
    let matching = Matching::from_modifier(modifier, o);
    match (lhs, rhs) {
        (Data::Scalar(l), Data::Scalar(r)) => {
            if o.is_set() {
                return Err(Error::BadData(format!(
                    "set operator \"{op}\" not allowed in binary scalar expression"
                )));
            }
            Ok(Data::Scalar(scalar_scalar(o, l, &r)))
        }
        (Data::Vector(v), Data::Scalar(s)) => {
            if o.is_set() {
                return Err(set_op_scalar_error(op));
            }
            Ok(Data::Vector(vector_scalar(
                o,
                v,
                &s,
                false,
                matching.return_bool,
                grid,
            )))
        }
        (Data::Scalar(s), Data::Vector(v)) => {
            if o.is_set() {
                return Err(set_op_scalar_error(op));
            }
            Ok(Data::Vector(vector_scalar(
                o,
                v,
                &s,
                true,
                matching.return_bool,
                grid,
            )))
        }
        (Data::Vector(l), Data::Vector(r)) => {
            if o.is_set() {
                let sigs = sig::Signatures::new(&l, &r, matching.on, matching.names);
                Ok(Data::Vector(match o {
                    Op::And => set::and(l, &r, &sigs, grid),
                    Op::Unless => set::unless(l, &r, &sigs, grid),
                    _ => set::or(l, r, &sigs, grid),
                }))
            } else {
                Ok(Data::Vector(join::join(o, &matching, l, r, grid)?))
            }
        }
        (l, r) => Err(Error::BadData(format!(
            "binary expression must contain only scalar and instant vector types, got {} and {}",
            l.type_name(),
            r.type_name()
        ))),
    }
}

fn set_op_scalar_error(op: TokenType) -> Error {
    Error::BadData(format!(
        "set operator \"{op}\" not allowed in binary scalar expression"
    ))
}

/// Scalar ∘ scalar, per step. Comparisons (which the parser only allows with `bool`) give 0/1.
fn scalar_scalar(op: Op, mut l: Vec<f64>, r: &[f64]) -> Vec<f64> {
    for (a, &b) in l.iter_mut().zip(r) {
        *a = if op.is_comparison() {
            if op.compare(*a, b) { 1.0 } else { 0.0 }
        } else {
            op.arith(*a, b)
        };
    }
    l
}

/// Vector ∘ scalar (`swap` = the scalar is the left operand), in place. Filters keep the
/// vector element's value; arithmetic and `bool` mark the name for removal.
fn vector_scalar(
    op: Op,
    mut series: Vec<Series>,
    scalar: &[f64],
    swap: bool,
    return_bool: bool,
    grid: &Grid,
) -> Vec<Series> {
    let drop_name = op.is_arithmetic() || return_bool;
    for s in &mut series {
        s.points.retain_mut(|p| {
            let sv = scalar.get(grid.index_of(p.t)).copied().unwrap_or(f64::NAN);
            let (l, r) = if swap { (sv, p.v) } else { (p.v, sv) };
            match op.apply(l, r, p.v, return_bool) {
                Some(v) => {
                    p.v = v;
                    true
                }
                None => false,
            }
        });
        if drop_name {
            s.drop_name = true;
        }
    }
    series.retain(|s| !s.points.is_empty());
    series
}
