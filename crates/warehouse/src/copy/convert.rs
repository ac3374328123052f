//! COPY's conversion of field text to column values, by Redshift's rules: dates and times by
//! DATEFORMAT/TIMEFORMAT (or 'auto'), numbers with Redshift's errors, decimals fitted to
//! their scale (ROUNDEC), character lengths (TRUNCATECOLUMNS), and UTF-16 input (ENCODING).
use super::*;

/// Formats a DATEFORMAT/TIMEFORMAT string as chrono's; `HH` is the 24-hour clock unless the
/// pattern has AM/PM.
pub(super) fn copy_time_format(fmt: &str) -> String {
    let f = crate::dialect::chrono_format(fmt);
    if f.contains("%p") {
        f
    } else {
        f.replace("%I", "%H")
    }
}

pub(super) const AUTO_DATES: &[&str] =
    &["%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%Y%m%d", "%d-%b-%Y", "%b %d %Y", "%d.%m.%Y", "%B %d, %Y"];
pub(super) const AUTO_TIMES: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%m/%d/%Y %H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y%m%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%d-%b-%Y %H:%M:%S",
];

/// A DATEFORMAT or TIMEFORMAT pattern, parsed once for all the values of a column.
type Pattern = Vec<chrono::format::Item<'static>>;

fn patterns(formats: &[String]) -> Vec<Pattern> {
    formats.iter().map(|f| chrono::format::StrftimeItems::new(f).parse_to_owned().unwrap_or_default()).collect()
}

/// Builds one column from text fields with Redshift's conversion rules.
pub(super) struct Converter<'a> {
    col: &'a ColumnMeta,
    spec: &'a CopySpec,
    builder: Builder,
    date_formats: Vec<Pattern>,
    /// Dates are the ISO `YYYY-MM-DD` (DATEFORMAT absent): read without the general parser.
    iso_dates: bool,
    time_formats: Vec<Pattern>,
}

pub(super) enum Builder {
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
    /// Decimals as their unscaled integers, with the column's precision and scale.
    Decimal(Decimal128Builder, u8, usize),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Time(Time64MicrosecondBuilder),
    /// VARBYTE from its hexadecimal text.
    Binary(datafusion::arrow::array::BinaryBuilder),
}

impl Builder {
    fn append_null(&mut self) {
        match self {
            Builder::I16(b) => b.append_null(),
            Builder::I32(b) => b.append_null(),
            Builder::I64(b) => b.append_null(),
            Builder::F32(b) => b.append_null(),
            Builder::F64(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Text(b) => b.append_null(),
            Builder::Decimal(b, ..) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Binary(b) => b.append_null(),
        }
    }
}

pub(super) type Bad = (i32, String, i32);

pub(super) fn invalid_digit(v: &str, ty: &str) -> Bad {
    let (pos, ch) = v
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
        .map(|(i, c)| (i as i32, c.to_string()))
        .unwrap_or((0, v.to_string()));
    (1207, format!("Invalid digit, Value '{ch}', Pos {pos}, Type: {ty}"), pos)
}

impl<'a> Converter<'a> {
    pub(super) fn new(col: &'a ColumnMeta, spec: &'a CopySpec, rows: usize) -> Converter<'a> {
        let builder = match col.ty {
            RsType::SmallInt => Builder::I16(Int16Builder::with_capacity(rows)),
            RsType::Integer => Builder::I32(Int32Builder::with_capacity(rows)),
            RsType::BigInt => Builder::I64(Int64Builder::with_capacity(rows)),
            RsType::Real => Builder::F32(Float32Builder::with_capacity(rows)),
            RsType::Double => Builder::F64(Float64Builder::with_capacity(rows)),
            RsType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            RsType::Decimal(p, s) => Builder::Decimal(Decimal128Builder::with_capacity(rows), p, s.max(0) as usize),
            RsType::Char(_) | RsType::Varchar(_) | RsType::Super | RsType::HllSketch => {
                Builder::Text(StringBuilder::with_capacity(rows, rows * 16))
            }
            RsType::Date => Builder::Date(Date32Builder::with_capacity(rows)),
            RsType::Timestamp | RsType::Timestamptz => {
                Builder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
            RsType::Time => Builder::Time(Time64MicrosecondBuilder::with_capacity(rows)),
            RsType::Varbyte(_) => {
                Builder::Binary(datafusion::arrow::array::BinaryBuilder::with_capacity(rows, rows * 16))
            }
        };
        let iso_dates = spec.date_format.is_none();
        let date_formats = match spec.date_format.as_deref() {
            None => vec!["%Y-%m-%d".to_string()],
            Some(f) if f.eq_ignore_ascii_case("auto") => AUTO_DATES.iter().map(|s| s.to_string()).collect(),
            Some(f) => vec![copy_time_format(f)],
        };
        let time_formats = match spec.time_format.as_deref() {
            None => vec!["%Y-%m-%d %H:%M:%S%.f".to_string(), "%Y-%m-%d".to_string()],
            Some(f) if f.eq_ignore_ascii_case("auto") => AUTO_TIMES.iter().map(|s| s.to_string()).collect(),
            Some(f) => {
                let f = copy_time_format(f);
                vec![f.clone(), format!("{f}%.f")]
            }
        };
        Converter {
            col,
            spec,
            builder,
            date_formats: patterns(&date_formats),
            iso_dates,
            time_formats: patterns(&time_formats),
        }
    }

    /// A NULL; refused for a NOT NULL column (the null stays as a placeholder: the row is
    /// dropped with the others that failed).
    fn null(&mut self) -> Result<(), Bad> {
        self.builder.append_null();
        if !self.col.nullable && self.col.identity.is_none() {
            return Err((1213, "Missing data for not-null field".into(), 0));
        }
        Ok(())
    }

    /// Adds one field; on a bad value, a placeholder keeps the rows aligned (the row is
    /// dropped later) and the error says why.
    pub(super) fn push(&mut self, v: Option<&str>) -> Result<(), Bad> {
        let Some(v) = v else { return self.null() };
        let is_text = matches!(self.builder, Builder::Text(_));
        if is_text {
            if (v.is_empty() && self.spec.empty_as_null) || (self.spec.blanks_as_null && v.trim().is_empty()) {
                return self.null();
            }
        } else if v.is_empty() || (self.spec.blanks_as_null && v.trim().is_empty()) {
            // Empty fields of non-character columns are always NULL.
            return self.null();
        }
        let result = self.value(v);
        if result.is_err() {
            // Keep the column as long as the others: the row is removed afterwards.
            self.builder.append_null();
        }
        result
    }

    fn value(&mut self, v: &str) -> Result<(), Bad> {
        match &mut self.builder {
            Builder::I16(b) => b.append_value(int(v, "Smallint")?),
            Builder::I32(b) => b.append_value(int(v, "Integer")?),
            Builder::I64(b) => b.append_value(int(v, "Long")?),
            Builder::F32(b) => b.append_value(float(v)? as f32),
            Builder::F64(b) => b.append_value(float(v)?),
            Builder::Bool(b) => b.append_value(match v.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "1" | "y" | "yes" | "on" => true,
                "f" | "false" | "0" | "n" | "no" | "off" => false,
                _ => return Err((1210, format!("Invalid boolean value, Value '{v}'"), 0)),
            }),
            Builder::Decimal(b, precision, scale) => {
                b.append_value(decimal(v.trim(), *precision, *scale, self.spec.round_decimals)?)
            }
            Builder::Text(b) => {
                let mut s = v;
                if self.spec.trim_blanks {
                    s = s.trim_end_matches(' ');
                }
                if let RsType::Char(n) | RsType::Varchar(n) = self.col.ty {
                    let n = n as usize;
                    if s.len() > n {
                        if !self.spec.truncate_columns {
                            return Err((1204, "String length exceeds DDL length".into(), 0));
                        }
                        let mut cut = n;
                        while !s.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        s = &s[..cut];
                    }
                    if matches!(self.col.ty, RsType::Char(_)) {
                        s = s.trim_end_matches(' ');
                    }
                }
                b.append_value(s)
            }
            Builder::Date(b) => {
                let t = v.trim();
                let parsed = self.iso_dates.then(|| iso_date(t)).flatten().or_else(|| {
                    self.date_formats.iter().find_map(|f| {
                        let mut p = chrono::format::Parsed::new();
                        chrono::format::parse(&mut p, t, f.iter()).ok()?;
                        p.to_naive_date().ok()
                    })
                });
                if parsed.is_none() && self.spec.accept_any_date {
                    b.append_null();
                    return Ok(());
                }
                let d = parsed.ok_or_else(|| {
                    let shown = self.spec.date_format.clone().unwrap_or_else(|| "YYYY-MM-DD".into());
                    (
                        1205,
                        format!("Invalid Date Format - length must be 10 or more, or does not match format [{shown}]"),
                        0,
                    )
                })?;
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
                b.append_value((d - epoch).num_days() as i32)
            }
            Builder::Timestamp(b) => {
                let t = v.trim();
                let fmt = self.spec.time_format.as_deref().unwrap_or("");
                let us = if fmt.eq_ignore_ascii_case("epochsecs") {
                    t.parse::<i64>().ok().map(|s| s * 1_000_000)
                } else if fmt.eq_ignore_ascii_case("epochmillisecs") {
                    t.parse::<i64>().ok().map(|s| s * 1000)
                } else {
                    self.time_formats.iter().find_map(|f| {
                        let mut p = chrono::format::Parsed::new();
                        chrono::format::parse(&mut p, t, f.iter()).ok()?;
                        p.to_naive_datetime_with_offset(0)
                            .ok()
                            .or_else(|| p.to_naive_date().ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
                            .map(|dt| dt.and_utc().timestamp_micros())
                    })
                };
                if us.is_none() && self.spec.accept_any_date {
                    b.append_null();
                    return Ok(());
                }
                let us = us.ok_or_else(|| {
                    let shown = self.spec.time_format.clone().unwrap_or_else(|| "YYYY-MM-DD HH24:MI:SS".into());
                    (1206, format!("Invalid timestamp format or value [{shown}]"), 0)
                })?;
                b.append_value(us)
            }
            Builder::Binary(b) => {
                let bytes = hex::decode(v.trim())
                    .map_err(|_| (1207, format!("Invalid hexadecimal value '{v}' for VARBYTE"), 0))?;
                if let RsType::Varbyte(n) = self.col.ty {
                    if bytes.len() > n as usize {
                        return Err((1204, "String length exceeds DDL length".into(), 0));
                    }
                }
                b.append_value(bytes)
            }
            Builder::Time(b) => {
                let t = chrono::NaiveTime::parse_from_str(v.trim(), "%H:%M:%S%.f")
                    .map_err(|_| (1206, "Invalid time format or value [HH24:MI:SS]".to_string(), 0))?;
                let us = chrono::Timelike::num_seconds_from_midnight(&t) as i64 * 1_000_000
                    + chrono::Timelike::nanosecond(&t) as i64 / 1000;
                b.append_value(us)
            }
        }
        Ok(())
    }

    pub(super) fn finish(self) -> ArrayRef {
        let ty = self.col.ty.arrow();
        let array: ArrayRef = match self.builder {
            Builder::I16(mut b) => Arc::new(b.finish()),
            Builder::I32(mut b) => Arc::new(b.finish()),
            Builder::I64(mut b) => Arc::new(b.finish()),
            Builder::F32(mut b) => Arc::new(b.finish()),
            Builder::F64(mut b) => Arc::new(b.finish()),
            Builder::Bool(mut b) => Arc::new(b.finish()),
            Builder::Text(mut b) => Arc::new(b.finish()),
            Builder::Decimal(mut b, precision, scale) => {
                Arc::new(b.finish().with_precision_and_scale(precision, scale as i8).expect("a column's decimal type"))
            }
            Builder::Date(mut b) => Arc::new(b.finish()),
            Builder::Timestamp(mut b) => Arc::new(b.finish()),
            Builder::Time(mut b) => Arc::new(b.finish()),
            Builder::Binary(mut b) => Arc::new(b.finish()),
        };
        if array.data_type() == &ty {
            array
        } else {
            cast_with_options(&array, &ty, &CastOptions::default()).unwrap_or(array)
        }
    }
}

/// A plain decimal's text (`[+-]digits[.digits]`) as the unscaled integer of a
/// DECIMAL(precision, scale): fractional digits past the scale cut off, or rounded half away
/// from zero (ROUNDEC); an integer part too long for the precision is an overflow.
pub(super) fn decimal(t: &str, precision: u8, scale: usize, round: bool) -> Result<i128, Bad> {
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let plain =
        !(whole.is_empty() && fraction.is_empty()) && whole.bytes().chain(fraction.bytes()).all(|c| c.is_ascii_digit());
    if !plain {
        return Err((1207, invalid_digit(t, "Decimal").1, 0));
    }
    let overflow = || (1216, format!("Numeric data overflow (result precision), Value '{t}'"), 0);
    let kept = fraction.len().min(scale);
    let mut value: i128 = 0;
    for c in whole.bytes().chain(fraction.bytes().take(kept)) {
        value = value.checked_mul(10).and_then(|v| v.checked_add((c - b'0') as i128)).ok_or_else(overflow)?;
    }
    for _ in kept..scale {
        value = value.checked_mul(10).ok_or_else(overflow)?;
    }
    if round && fraction.len() > scale && fraction.as_bytes()[scale] >= b'5' {
        value += 1;
    }
    if value >= 10i128.pow(precision.min(38) as u32) {
        return Err(overflow());
    }
    Ok(if negative { -value } else { value })
}

/// A date written exactly `YYYY-MM-DD`, read directly (COPY's default DATEFORMAT); anything
/// else is left to the general parser.
fn iso_date(t: &str) -> Option<chrono::NaiveDate> {
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + (c - b'0') as u32))
    };
    chrono::NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)
}

/// UTF-16 text (ENCODING UTF16, UTF16LE, UTF16BE) as UTF-8; a byte-order mark decides for
/// UTF16 and is dropped. Unpaired surrogates become U+FFFD, as ACCEPTINVCHARS would see them.
pub(super) fn utf16_to_utf8(bytes: Vec<u8>, encoding: Encoding) -> Vec<u8> {
    let (big_endian, body) = match encoding {
        Encoding::Utf8 => return bytes,
        Encoding::Utf16Le => (false, &bytes[..]),
        Encoding::Utf16Be => (true, &bytes[..]),
        Encoding::Utf16 => match bytes.get(..2) {
            Some([0xFF, 0xFE]) => (false, &bytes[2..]),
            Some([0xFE, 0xFF]) => (true, &bytes[2..]),
            _ => (true, &bytes[..]),
        },
    };
    let units = body.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    let text: String = char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')).collect();
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    text.as_bytes().to_vec()
}

pub(super) fn int<T: std::str::FromStr>(v: &str, ty: &str) -> Result<T, Bad> {
    // Blanks around a number are not part of it (fixed-width files pad numbers with them).
    let v = v.trim_matches(' ');
    v.parse::<T>().map_err(|_| {
        let all_digits = v.trim_start_matches(['-', '+']).chars().all(|c| c.is_ascii_digit());
        if all_digits && !v.is_empty() {
            (1216, format!("Overflow, Value '{v}', Type: {ty}"), 0)
        } else {
            invalid_digit(v, ty)
        }
    })
}

pub(super) fn float(v: &str) -> Result<f64, Bad> {
    v.trim().parse::<f64>().map_err(|_| (1208, format!("Invalid digit, Value '{v}', Pos 0, Type: Double"), 0))
}
