//! Date functions (`year()`, `month()`, `day_of_week()`, …): UTC calendar fields of Unix
//! seconds, computed with a proleptic Gregorian calendar.

use strata_tsdb::labels::Labels;

use crate::error::{Error, Result};
use crate::value::{Data, Grid, Point, Series};

/// The calendar fields of one instant (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Civil {
    pub(super) year: i64,
    /// 1..=12
    pub(super) month: i64,
    /// 1..=31
    pub(super) day: i64,
    pub(super) hour: i64,
    pub(super) minute: i64,
    pub(super) second: i64,
    /// 0 = Sunday.
    pub(super) weekday: i64,
    /// 1..=366
    pub(super) yday: i64,
}

fn is_leap(y: i64) -> bool {
    y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
}

/// Number of days in month `m` (1..=12) of year `y`.
pub(super) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Civil {
    /// The UTC calendar fields of `secs` seconds since the Unix epoch.
    pub(super) fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        // Shift the epoch to 0000-03-01 so that leap days end each 4/100/400-year cycle.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097); // day of era, 0..=146096
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
        let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1st
        let mp = (5 * doy_mar + 2) / 153; // 0 = March … 11 = February
        let day = doy_mar - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let yday = (1..month).map(|m| days_in_month(year, m)).sum::<i64>() + day;
        Civil {
            year,
            month,
            day,
            hour: sod / 3_600,
            minute: sod % 3_600 / 60,
            second: sod % 60,
            weekday: (days + 4).rem_euclid(7), // 1970-01-01 was a Thursday
            yday,
        }
    }
}

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
    let f: fn(&Civil) -> f64 = match name {
        "day_of_month" => |c| c.day as f64,
        "day_of_week" => |c| c.weekday as f64,
        "day_of_year" => |c| c.yday as f64,
        "days_in_month" => |c| days_in_month(c.year, c.month) as f64,
        "hour" => |c| c.hour as f64,
        "minute" => |c| c.minute as f64,
        "month" => |c| c.month as f64,
        "year" => |c| c.year as f64,
        _ => return Err(Error::NotSupported(format!("function {name}()"))),
    };
    match arg {
        None => {
            let points = grid
                .times()
                .map(|t| Point {
                    t,
                    v: f(&Civil::from_unix(t / 1000)),
                })
                .collect();
            Ok(Data::Vector(vec![Series::new(Labels::empty(), points)]))
        }
        Some(mut v) => {
            for s in &mut v {
                s.drop_name = true;
                for p in &mut s.points {
                    p.v = f(&Civil::from_unix(go_f64_to_i64(p.v)));
                }
            }
            Ok(Data::Vector(v))
        }
    }
}
