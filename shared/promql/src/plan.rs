//! Query preparation: finds every selector in the AST, the time range it will read (after
//! `@`, offset, lookback/range and enclosing subqueries), and the hints for the store
//! (enclosing function, range, step, grouping), so all selections can run up front and
//! concurrently, each once for the whole query.

use std::time::{SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp;
use promql_parser::parser::{
    AtModifier, Expr, LabelModifier, MatrixSelector, Offset, VectorSelector,
};
use strata_tsdb::labels::METRIC_NAME;
use strata_tsdb::matchers::{MatchType, Matcher};

use crate::error::{Error, Result};
use crate::select::{SelectHints, SelectRequest};

/// Identifies one selector node of a parsed query (by its address in the AST, which lives
/// for the whole query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SelectorKey(usize);

impl SelectorKey {
    pub(crate) fn of_vector(vs: &VectorSelector) -> Self {
        SelectorKey((vs as *const VectorSelector as usize) << 1)
    }
    pub(crate) fn of_matrix(ms: &MatrixSelector) -> Self {
        SelectorKey(((ms as *const MatrixSelector as usize) << 1) | 1)
    }
}

/// Milliseconds of an offset modifier (negative for `offset -5m`).
pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

/// Milliseconds of an `@` modifier; `start()`/`end()` resolve to the query's start and end.
pub(crate) fn at_ms(a: &AtModifier, start: i64, end: i64) -> i64 {
    match a {
        AtModifier::Start => start,
        AtModifier::End => end,
        AtModifier::At(t) => system_time_ms(*t),
    }
}

fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// The matchers of a selector in strata's form (the metric name first).
pub(crate) fn selector_matchers(vs: &VectorSelector) -> Result<Vec<Matcher>> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(Error::NotSupported("`or` inside label matchers".into()));
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = &vs.name {
        out.push(Matcher::equal(METRIC_NAME, name.clone()));
    }
    for m in &vs.matchers.matchers {
        let kind = match m.op {
            MatchOp::Equal => MatchType::Equal,
            MatchOp::NotEqual => MatchType::NotEqual,
            MatchOp::Re(_) => MatchType::Regex,
            MatchOp::NotRe(_) => MatchType::NotRegex,
        };
        let matcher = Matcher::new(kind, m.name.clone(), m.value.clone())
            .map_err(|e| Error::BadData(format!("invalid matcher {m}: {e}")))?;
        out.push(matcher);
    }
    Ok(out)
}

/// One planned selection.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) key: SelectorKey,
    pub(crate) request: SelectRequest,
}

/// Plans every selection of `expr` for a query over `[start, end]` with `step` (0 for an
/// instant query).
pub(crate) struct Planner {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: i64,
    pub(crate) lookback: i64,
    pub(crate) out: Vec<Planned>,
}

#[derive(Clone, Default)]
struct Ctx {
    func: Option<String>,
    grouping: Vec<String>,
    by: bool,
}

impl Planner {
    pub(crate) fn plan(mut self, expr: &Expr) -> Result<Vec<Planned>> {
        let (s, e) = (self.start, self.end);
        self.walk(expr, s, e, &Ctx::default())?;
        Ok(self.out)
    }

    fn walk(&mut self, expr: &Expr, s: i64, e: i64, ctx: &Ctx) -> Result<()> {
        match expr {
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => Ok(()),
            Expr::Paren(p) => self.walk(&p.expr, s, e, ctx),
            Expr::Unary(u) => self.walk(&u.expr, s, e, ctx),
            Expr::Binary(b) => {
                let c = Ctx {
                    func: None,
                    ..ctx.clone()
                };
                self.walk(&b.lhs, s, e, &c)?;
                self.walk(&b.rhs, s, e, &c)
            }
            Expr::Aggregate(a) => {
                let (grouping, by) = match &a.modifier {
                    Some(LabelModifier::Include(l)) => (l.labels.clone(), true),
                    Some(LabelModifier::Exclude(l)) => (l.labels.clone(), false),
                    None => (Vec::new(), true),
                };
                let c = Ctx {
                    func: Some(a.op.to_string()),
                    grouping,
                    by,
                };
                if let Some(p) = &a.param {
                    self.walk(p, s, e, &Ctx::default())?;
                }
                self.walk(&a.expr, s, e, &c)
            }
            Expr::Call(c) => {
                let cc = Ctx {
                    func: Some(c.func.name.to_string()),
                    ..ctx.clone()
                };
                for a in &c.args.args {
                    self.walk(a, s, e, &cc)?;
                }
                Ok(())
            }
            Expr::Subquery(sq) => {
                let off = offset_ms(&sq.offset);
                let (s, e) = match &sq.at {
                    Some(a) => {
                        let t = at_ms(a, self.start, self.end);
                        (t, t)
                    }
                    None => (s, e),
                };
                let range = sq.range.as_millis() as i64;
                self.walk(&sq.expr, s - off - range, e - off, ctx)
            }
            Expr::VectorSelector(vs) => {
                let (lo, hi) = self.window(vs, s, e, self.lookback);
                let request = SelectRequest {
                    matchers: selector_matchers(vs)?,
                    start: lo,
                    end: hi,
                    hints: self.hints(ctx, 0),
                };
                self.push(SelectorKey::of_vector(vs), request);
                Ok(())
            }
            Expr::MatrixSelector(ms) => {
                let range = ms.range.as_millis() as i64;
                let (lo, hi) = self.window(&ms.vs, s, e, range);
                let request = SelectRequest {
                    matchers: selector_matchers(&ms.vs)?,
                    start: lo,
                    end: hi,
                    hints: self.hints(ctx, range),
                };
                self.push(SelectorKey::of_matrix(ms), request);
                Ok(())
            }
        }
    }

    /// The inclusive `[lo, hi]` a selector evaluated at times in `[s, e]` reads.
    fn window(&self, vs: &VectorSelector, s: i64, e: i64, width: i64) -> (i64, i64) {
        let off = offset_ms(&vs.offset);
        let (s, e) = match &vs.at {
            Some(a) => {
                let t = at_ms(a, self.start, self.end);
                (t, t)
            }
            None => (s, e),
        };
        (s - off - width + 1, e - off)
    }

    fn hints(&self, ctx: &Ctx, range: i64) -> SelectHints {
        SelectHints {
            step_ms: self.step,
            func: ctx.func.clone(),
            range_ms: range,
            grouping: ctx.grouping.clone(),
            by: ctx.by,
        }
    }

    fn push(&mut self, key: SelectorKey, request: SelectRequest) {
        // A node reached twice (never happens with a tree, but be safe): widen.
        if let Some(p) = self.out.iter_mut().find(|p| p.key == key) {
            p.request.start = p.request.start.min(request.start);
            p.request.end = p.request.end.max(request.end);
            return;
        }
        self.out.push(Planned { key, request });
    }
}

/// Parses a series selector as the HTTP API's `match[]` and Thanos' `storeMatch[]` take it
/// (`metric{label="value", …}`, no range, offset or `@`) into matchers.
pub fn parse_selector(input: &str) -> Result<Vec<Matcher>> {
    // A selector is shallow: anything deeper is rejected before the parser recurses.
    if crate::limits::check(input)?.depth() > crate::limits::SHALLOW_DEPTH {
        return Err(Error::BadData(format!(
            "expected a series selector like metric{{label=\"value\"}}, got a query more than {} levels deep",
            crate::limits::SHALLOW_DEPTH
        )));
    }
    match promql_parser::parser::parse(input).map_err(Error::Parse)? {
        Expr::VectorSelector(vs) if vs.offset.is_none() && vs.at.is_none() => {
            selector_matchers(&vs)
        }
        other => Err(Error::BadData(format!(
            "expected a series selector like metric{{label=\"value\"}}, got {}",
            other.value_type()
        ))),
    }
}
