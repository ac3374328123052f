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
