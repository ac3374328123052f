//! Values written as Redshift writes them in text: `%g`-style floats, timestamps without
//! trailing zeros in their fraction, time zones as `+00`. The wire protocol's text format, the
//! Data API's strings and UNLOAD all use it.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use std::fmt::Write;
use std::sync::Arc;

/// Significant digits of `float8` and `float4` output with `extra_float_digits = 0`, as in
/// PostgreSQL 8.0 (Redshift's base): `%.15g` and `%.6g`.
const FLOAT8_DIGITS: i32 = 15;
const FLOAT4_DIGITS: i32 = 6;

/// The column as Redshift's text, when Arrow's own display differs from it (floats,
/// timestamps, times); `None` for every other type. `extra_float_digits` is the session's
/// setting (drivers raise it to get round-trippable floats).
pub fn redshift_text(array: &ArrayRef, extra_float_digits: i8) -> Option<ArrayRef> {
    let extra = extra_float_digits as i32;
    let mut out = StringBuilder::with_capacity(array.len(), array.len() * 8);
    let mut buf = String::new();
    let mut each = |write: &dyn Fn(usize, &mut String)| {
        for i in 0..array.len() {
            if array.is_null(i) {
                out.append_null();
            } else {
                buf.clear();
                write(i, &mut buf);
                out.append_value(&buf);
            }
        }
    };
    match array.data_type() {
        // VARBYTE in text is its bytes in hexadecimal, without PostgreSQL's `\x`.
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            each(&|i, s| s.push_str(&hex::encode(a.value(i))));
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            each(&|i, s| float(s, a.value(i), (FLOAT8_DIGITS + extra).clamp(1, 17)));
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            // Widened exactly, then printed with float4's digits.
            each(&|i, s| float(s, a.value(i) as f64, (FLOAT4_DIGITS + extra).clamp(1, 9)));
        }
        DataType::Timestamp(unit, tz) => {
            let micros = |i: usize| -> i64 {
                match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(i).saturating_mul(1_000_000),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().value(i).saturating_mul(1000)
                    }
                    TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(i),
                    TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(i).div_euclid(1000),
                }
            };
            // A TIMESTAMPTZ holds UTC; the session's time zone is UTC, as Redshift's default.
            let zoned = tz.is_some();
            each(&|i, s| {
                timestamp(s, micros(i));
                if zoned {
                    s.push_str("+00");
                }
            });
        }
        DataType::Time32(unit) => {
            let micros = |i: usize| -> i64 {
                match unit {
                    TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(i) as i64 * 1_000_000,
                    _ => array.as_primitive::<Time32MillisecondType>().value(i) as i64 * 1000,
                }
            };
            each(&|i, s| time_of_day(s, micros(i)));
        }
        DataType::Time64(unit) => {
            let micros = |i: usize| -> i64 {
                match unit {
                    TimeUnit::Nanosecond => array.as_primitive::<Time64NanosecondType>().value(i) / 1000,
                    _ => array.as_primitive::<Time64MicrosecondType>().value(i),
                }
            };
            each(&|i, s| time_of_day(s, micros(i)));
        }
        _ => return None,
    }
    Some(Arc::new(out.finish()))
}

/// C's `%.{digits}g`, with PostgreSQL's spellings of the special values.
fn float(out: &mut String, v: f64, digits: i32) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Rounded to `digits` significant digits first: the exponent is the rounded value's.
    let sci = format!("{:.*e}", (digits - 1) as usize, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= digits {
        out.push_str(trim_fraction(mantissa));
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else {
        let decimals = (digits - 1 - exp).max(0) as usize;
        out.push_str(trim_fraction(&format!("{v:.decimals$}")));
    }
}

/// `1.500` → `1.5`, `2.000` → `2`.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn timestamp(out: &mut String, micros: i64) {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => {
            let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S"));
            fraction(out, micros.rem_euclid(1_000_000));
        }
        None => {
            let _ = write!(out, "{micros}");
        }
    }
}

fn time_of_day(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    fraction(out, micros.rem_euclid(1_000_000));
}

/// `.5` for half a second; nothing for whole seconds.
fn fraction(out: &mut String, micros: i64) {
    if micros != 0 {
        let digits = format!("{micros:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// TO_CHAR(datetime, format) with Redshift's (PostgreSQL's) patterns: `YYYY`, `MM`, `MON`
/// (`Mon`, `mon`), `MONTH` (blank-padded to 9 unless `FM`), `DD`, `DDD`, `D`, `DAY`, `DY`,
/// `HH`/`HH12`, `HH24`, `MI`, `SS`, `MS`, `US`, `AM`/`PM`, `Q`, `W`, `WW`, `CC`, `TZ`,
/// `"quoted text"`, the `FM` prefix and the `TH` suffix; other characters are copied.
pub fn to_char(t: chrono::NaiveDateTime, fmt: &str) -> String {
    use chrono::{Datelike, Timelike};
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    // A name in the case the pattern was written in: MON → FEB, Mon → Feb, mon → feb.
    fn cased(name: &str, pattern: &str) -> String {
        let mut p = pattern.chars();
        match (p.next(), p.next()) {
            (Some(a), Some(b)) if a.is_ascii_uppercase() && b.is_ascii_uppercase() => name.to_ascii_uppercase(),
            (Some(a), _) if a.is_ascii_uppercase() => name.to_string(),
            _ => name.to_ascii_lowercase(),
        }
    }
    fn ordinal(n: i64) -> &'static str {
        match (n % 10, n % 100) {
            (1, r) if r != 11 => "st",
            (2, r) if r != 12 => "nd",
            (3, r) if r != 13 => "rd",
            _ => "th",
        }
    }
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut fill = true;
    let starts = |i: usize, p: &str| {
        let n = p.chars().count();
        i + n <= chars.len() && chars[i..i + n].iter().collect::<String>().eq_ignore_ascii_case(p)
    };
    while i < chars.len() {
        if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        if starts(i, "FM") {
            fill = false;
            i += 2;
            continue;
        }
        let text: String = chars[i..].iter().collect();
        let hour12 = if t.hour().is_multiple_of(12) { 12 } else { t.hour() % 12 };
        // (pattern, number or text, zero-padded width)
        let (len, value, number): (usize, String, Option<i64>) = if starts(i, "YYYY") {
            (4, format!("{:04}", t.year()), Some(t.year() as i64))
        } else if starts(i, "YYY") {
            (3, format!("{:03}", t.year() % 1000), Some((t.year() % 1000) as i64))
        } else if starts(i, "YY") {
            (2, format!("{:02}", t.year() % 100), Some((t.year() % 100) as i64))
        } else if starts(i, "MONTH") {
            let name = cased(MONTHS[t.month0() as usize], &text[..5]);
            (5, if fill { format!("{name:<9}") } else { name }, None)
        } else if starts(i, "MON") {
            (3, cased(&MONTHS[t.month0() as usize][..3], &text[..3]), None)
        } else if starts(i, "MM") {
            (2, format!("{:02}", t.month()), Some(t.month() as i64))
        } else if starts(i, "MS") {
            (2, format!("{:03}", t.nanosecond() / 1_000_000), None)
        } else if starts(i, "MI") {
            (2, format!("{:02}", t.minute()), Some(t.minute() as i64))
        } else if starts(i, "DAY") {
            let name = cased(DAYS[t.weekday().num_days_from_sunday() as usize], &text[..3]);
            (3, if fill { format!("{name:<9}") } else { name }, None)
        } else if starts(i, "DY") {
            (2, cased(&DAYS[t.weekday().num_days_from_sunday() as usize][..3], &text[..2]), None)
        } else if starts(i, "DDD") {
            (3, format!("{:03}", t.ordinal()), Some(t.ordinal() as i64))
        } else if starts(i, "DD") {
            (2, format!("{:02}", t.day()), Some(t.day() as i64))
        } else if starts(i, "D") {
            let d = t.weekday().num_days_from_sunday() as i64 + 1;
            (1, d.to_string(), Some(d))
        } else if starts(i, "HH24") {
            (4, format!("{:02}", t.hour()), Some(t.hour() as i64))
        } else if starts(i, "HH12") {
            (4, format!("{hour12:02}"), Some(hour12 as i64))
        } else if starts(i, "HH") {
            (2, format!("{hour12:02}"), Some(hour12 as i64))
        } else if starts(i, "SS") {
            (2, format!("{:02}", t.second()), Some(t.second() as i64))
        } else if starts(i, "US") {
            (2, format!("{:06}", t.nanosecond() / 1000), None)
        } else if starts(i, "AM") || starts(i, "PM") {
            let m = if t.hour() < 12 { "AM" } else { "PM" };
            (2, if chars[i].is_ascii_uppercase() { m.to_string() } else { m.to_ascii_lowercase() }, None)
        } else if starts(i, "CC") {
            let c = (t.year() as i64 + 99) / 100;
            (2, format!("{c:02}"), Some(c))
        } else if starts(i, "WW") {
            let w = (t.ordinal() as i64 - 1) / 7 + 1;
            (2, format!("{w:02}"), Some(w))
        } else if starts(i, "W") {
            let w = (t.day() as i64 - 1) / 7 + 1;
            (1, w.to_string(), Some(w))
        } else if starts(i, "Q") {
            let q = (t.month0() as i64) / 3 + 1;
            (1, q.to_string(), Some(q))
        } else if starts(i, "TZ") {
            (2, if chars[i].is_ascii_uppercase() { "UTC".into() } else { "utc".into() }, None)
        } else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        i += len;
        match number {
            Some(n) if !fill => out.push_str(&n.to_string()),
            _ => out.push_str(&value),
        }
        if let Some(n) = number {
            if starts(i, "TH") {
                let suffix = ordinal(n);
                if chars[i] == 't' {
                    out.push_str(suffix);
                } else {
                    out.push_str(&suffix.to_ascii_uppercase());
                }
                i += 2;
            }
        }
        fill = true;
    }
    out
}

/// TO_CHAR(number, format) for the common patterns: `9` and `0` digits, `.`/`D`, `,`/`G`,
/// `FM`; the sign takes a leading position, as in PostgreSQL (`' 125.80'`); too many digits
/// print as `#`.
pub fn to_char_number(v: f64, fmt: &str) -> String {
    let fill = !fmt.to_ascii_uppercase().starts_with("FM");
    let body = if fill { fmt } else { &fmt[2..] };
    let (int_pat, frac_pat) = match body.find(['.', 'D', 'd']) {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, ""),
    };
    let scale = frac_pat.chars().filter(|c| *c == '9' || *c == '0').count();
    let int_digits = int_pat.chars().filter(|c| *c == '9' || *c == '0').count();
    let zero_pad = int_pat.chars().find(|c| *c == '9' || *c == '0') == Some('0');
    let grouped = int_pat.contains([',', 'G', 'g']);
    let text = format!("{:.*}", scale, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    if int.len() > int_digits.max(1) {
        let hashes = "#".repeat(int_digits) + if scale > 0 { "." } else { "" } + &"#".repeat(scale);
        return format!(" {hashes}");
    }
    let int = if zero_pad { format!("{int:0>int_digits$}") } else { int.to_string() };
    let int = if grouped {
        let digits: Vec<char> = int.chars().collect();
        let mut g = String::new();
        for (k, c) in digits.iter().enumerate() {
            if k > 0 && (digits.len() - k).is_multiple_of(3) {
                g.push(',');
            }
            g.push(*c);
        }
        g
    } else {
        int
    };
    let number = if scale > 0 { format!("{int}.{frac}") } else { int };
    let sign = if v < 0.0 {
        "-"
    } else if fill {
        " "
    } else {
        ""
    };
    let out = format!("{sign}{number}");
    if fill {
        format!("{out:>width$}", width = body.chars().count() + 1)
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float32Array, Float64Array, StringArray, TimestampMicrosecondArray};

    fn texts(a: ArrayRef, extra: i8) -> Vec<Option<String>> {
        let out = redshift_text(&a, extra).unwrap();
        let s = out.as_any().downcast_ref::<StringArray>().unwrap();
        s.iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn floats_print_like_postgres_8() {
        let a = Arc::new(Float64Array::from(vec![
            Some(3.0),
            Some(1e20),
            Some(1.0 / 3.0),
            Some(1e11),
            Some(0.0001),
            Some(0.00001234),
            Some(-2.5),
            None,
            Some(f64::NAN),
            Some(123456789012345680.0),
        ]));
        let got = texts(a, 0);
        let want = [
            "3",
            "1e+20",
            "0.333333333333333",
            "100000000000",
            "0.0001",
            "1.234e-05",
            "-2.5",
            "",
            "NaN",
            "1.23456789012346e+17",
        ];
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.as_deref().unwrap_or(""), w);
        }
        let third = texts(Arc::new(Float64Array::from(vec![1.0 / 3.0])), 2);
        assert_eq!(third[0].as_deref(), Some("0.33333333333333331"));
        let f4 = texts(Arc::new(Float32Array::from(vec![0.1f32, 2.0, 1234567.0])), 0);
        assert_eq!(f4, vec![Some("0.1".into()), Some("2".into()), Some("1.23457e+06".into())]);
    }

    #[test]
    fn to_char_follows_redshift_patterns() {
        let t = chrono::NaiveDate::from_ymd_opt(2008, 2, 5).unwrap().and_hms_micro_opt(14, 7, 9, 120_000).unwrap();
        assert_eq!(to_char(t, "MON-YYYY"), "FEB-2008");
        assert_eq!(to_char(t, "Mon DD, YYYY HH24:MI:SS.MS"), "Feb 05, 2008 14:07:09.120");
        assert_eq!(to_char(t, "MONTH|FMMonth|Day|DY"), "FEBRUARY |February|Tuesday  |TUE");
        assert_eq!(to_char(t, "HH12 AM, \"quarter\" Q, DDth, FMDDth"), "02 PM, quarter 1, 05th, 5th");
    }

    #[test]
    fn to_char_formats_numbers() {
        assert_eq!(to_char_number(125.8, "999.99"), " 125.80");
        assert_eq!(to_char_number(-125.8, "999D99"), "-125.80");
        assert_eq!(to_char_number(1234567.0, "FM9,999,999"), "1,234,567");
        assert_eq!(to_char_number(5.0, "000"), " 005");
        assert_eq!(to_char_number(12345.0, "999"), " ###");
    }

    #[test]
    fn timestamps_drop_trailing_zeros() {
        let a = Arc::new(TimestampMicrosecondArray::from(vec![1_199_174_400_000_000, 1_199_174_400_123_000]));
        assert_eq!(
            texts(a.clone(), 0),
            vec![Some("2008-01-01 08:00:00".into()), Some("2008-01-01 08:00:00.123".into())]
        );
        let tz = Arc::new(a.as_ref().clone().with_timezone("UTC"));
        assert_eq!(texts(tz, 0)[0].as_deref(), Some("2008-01-01 08:00:00+00"));
    }
}
