//! Date functions (`year()`, `month()`, `day_of_week()`, …): UTC calendar fields of Unix
//! seconds ([`Civil`], proleptic Gregorian calendar).

use strata_tsdb::labels::Labels;
use strata_units::time::Civil;

use crate::error::{Error, Result};
use crate::value::{Data, Grid, Point, Series};

/// Go's `int64(f)` conversion on amd64: truncation toward zero; NaN and out-of-range
/// values become the minimum int64.
fn go_f64_to_i64(f: f64) -> i64 {
    // 2^63 as f64; NaN fails `contains`.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

/// Evaluates date function `name` on `arg` (Unix seconds), or on the step times if absent.
pub(super) fn call(name: &str, arg: Option<Vec<Series>>, grid: &Grid) -> Result<Data> {
    let field: fn(&Civil) -> f64 = match name {
        "day_of_month" => |c| f64::from(c.day),
        "day_of_week" => |c| f64::from(c.weekday),
        "day_of_year" => |c| f64::from(c.yday),
        "days_in_month" => |c| f64::from(c.days_in_month),
        "hour" => |c| f64::from(c.hour),
        "minute" => |c| f64::from(c.minute),
        "month" => |c| f64::from(c.month),
        "year" => |c| f64::from(c.year),
        _ => return Err(Error::NotSupported(format!("function {name}()"))),
    };
    // Beyond chrono's ±262,000 years (where Go's own arithmetic wraps around): NaN.
    let f = |secs: i64| Civil::from_unix_seconds(secs).map_or(f64::NAN, |c| field(&c));
    match arg {
        None => {
            let points = grid.times().map(|t| Point { t, v: f(t / 1000) }).collect();
            Ok(Data::Vector(vec![Series::new(Labels::empty(), points)]))
        }
        Some(mut v) => {
            for s in &mut v {
                s.drop_name = true;
                for p in &mut s.points {
                    p.v = f(go_f64_to_i64(p.v));
                }
            }
            Ok(Data::Vector(v))
        }
    }
}
