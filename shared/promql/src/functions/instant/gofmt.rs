//! Go-compatible number and time formatting for annotation texts and generated label values
//! (`%g`, `%.Ng`, `labels.FormatOpenMetricsFloat`, RFC 3339 seconds).

/// The decimal digits (no leading/trailing zeros) and decimal point position of a positive
/// finite non-zero `v`, shortest round-trip or rounded to `prec` significant digits.
fn decimal_digits(v: f64, prec: Option<usize>) -> (Vec<u8>, i32) {
    let s = match prec {
        None => format!("{v:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, v),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    (digits, exp + 1)
}

/// Go's `%g` (`prec == None`) or `%.<prec>g` formatting of `v`.
pub(super) fn fmt_g(v: f64, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = v.is_sign_negative();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if v == 0.0 {
        out.push('0');
        return out;
    }
    let (d, dp) = decimal_digits(v.abs(), prec);
    let nd = d.len() as i32;
    let (mut p, eprec) = match prec {
        None => (nd, 6),
        Some(p) => {
            let p = p.max(1) as i32;
            let eprec = if p > nd && nd >= dp { nd } else { p };
            (p, eprec)
        }
    };
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        if p > nd {
            p = nd;
        }
        // %e with p-1 decimals.
        out.push(char::from(d[0]));
        if p > 1 {
            out.push('.');
            for i in 1..p {
                out.push(d.get(i as usize).map_or('0', |c| char::from(*c)));
            }
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
        return out;
    }
    if p > dp {
        p = nd;
    }
    let decimals = (p - dp).max(0);
    // %f with `decimals` decimals.
    if dp > 0 {
        for i in 0..dp {
            out.push(d.get(i as usize).map_or('0', |c| char::from(*c)));
        }
    } else {
        out.push('0');
    }
    if decimals > 0 {
        out.push('.');
        for i in 1..=decimals {
            let j = dp + i - 1;
            let c = if j >= 0 {
                d.get(j as usize).map_or('0', |c| char::from(*c))
            } else {
                '0'
            };
            out.push(c);
        }
    }
    out
}

/// Prometheus' `labels.FormatOpenMetricsFloat`: like `%g` but with `.0` appended when the
/// text has neither a `.` nor an exponent.
pub(super) fn openmetrics_float(v: f64) -> String {
    if v == 0.0 {
        return "0.0".into();
    }
    let s = fmt_g(v, None);
    if v.is_nan() || v.is_infinite() || s.contains(['.', 'e']) {
        s
    } else {
        format!("{s}.0")
    }
}
