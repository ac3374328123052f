//! Redshift's functions that DataFusion lacks or names differently: GETDATE/SYSDATE,
//! DATEADD, DATEDIFF, VERSION, CURRENT_USER; the rest (NVL, NVL2, COALESCE, NULLIF, MD5,
//! SPLIT_PART, LPAD, BTRIM, REGEXP_*, window functions, MEDIAN, ...) are DataFusion's own,
//! reached through the dialect's rewrites where the name differs.
use chrono::{DateTime, Datelike, Duration, Months, NaiveDateTime};
use datafusion::arrow::array::{Array, ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{exec_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

mod avg;
mod datetime;
mod hash;
mod hll;
mod json;
mod percentile;
pub mod row;
mod strings;
pub mod system;
pub mod varbyte;

/// What `SELECT version()` answers on Redshift.
pub const VERSION: &str = "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.77467";

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn to_dt(us: i64) -> Result<NaiveDateTime> {
    DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .ok_or_else(|| DataFusionError::Execution(format!("timestamp out of range: {us}")))
}

/// Normalises Redshift's date part names and abbreviations.
fn part_name(p: &str) -> Result<&'static str> {
    Ok(match p.trim().to_ascii_lowercase().as_str() {
        "millennium" | "millennia" | "mil" | "mils" => "millennium",
        "century" | "centuries" | "c" | "cent" | "cents" => "century",
        "decade" | "decades" | "dec" | "decs" => "decade",
        "year" | "years" | "y" | "yr" | "yrs" | "yy" | "yyyy" => "year",
        "quarter" | "quarters" | "qtr" | "qtrs" | "q" => "quarter",
        "month" | "months" | "mon" | "mons" | "mm" => "month",
        "week" | "weeks" | "w" | "wk" | "wks" => "week",
        "day" | "days" | "d" | "dd" => "day",
        "hour" | "hours" | "h" | "hr" | "hrs" | "hh" => "hour",
        "minute" | "minutes" | "m" | "min" | "mins" | "mi" => "minute",
        "second" | "seconds" | "s" | "sec" | "secs" => "second",
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" => "millisecond",
        "microsecond" | "microseconds" | "microsec" | "us" | "usec" | "usecs" => "microsecond",
        other => return exec_err!("date part \"{other}\" is not supported"),
    })
}

fn add_months(d: NaiveDateTime, months: i64) -> Result<NaiveDateTime> {
    let r = if months >= 0 {
        d.checked_add_months(Months::new(months as u32))
    } else {
        d.checked_sub_months(Months::new((-months) as u32))
    };
    r.ok_or_else(|| DataFusionError::Execution("date out of range".into()))
}

fn date_add(part: &str, n: i64, d: NaiveDateTime) -> Result<NaiveDateTime> {
    Ok(match part_name(part)? {
        "millennium" => add_months(d, n * 12_000)?,
        "century" => add_months(d, n * 1200)?,
        "decade" => add_months(d, n * 120)?,
        "year" => add_months(d, n * 12)?,
        "quarter" => add_months(d, n * 3)?,
        "month" => add_months(d, n)?,
        "week" => d + Duration::weeks(n),
        "day" => d + Duration::days(n),
        "hour" => d + Duration::hours(n),
        "minute" => d + Duration::minutes(n),
        "second" => d + Duration::seconds(n),
        "millisecond" => d + Duration::milliseconds(n),
        _ => d + Duration::microseconds(n),
    })
}

fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// DATEDIFF counts the part boundaries crossed between two instants, as Redshift does.
fn date_diff(part: &str, a: NaiveDateTime, b: NaiveDateTime) -> Result<i64> {
    let months = |d: NaiveDateTime| d.year() as i64 * 12 + d.month0() as i64;
    let days = |d: NaiveDateTime| d.date().num_days_from_ce() as i64;
    let us = |d: NaiveDateTime| d.and_utc().timestamp_micros();
    Ok(match part_name(part)? {
        "millennium" => floor_div(b.year() as i64, 1000) - floor_div(a.year() as i64, 1000),
        "century" => floor_div(b.year() as i64, 100) - floor_div(a.year() as i64, 100),
        "decade" => floor_div(b.year() as i64, 10) - floor_div(a.year() as i64, 10),
        "year" => b.year() as i64 - a.year() as i64,
        "quarter" => floor_div(months(b), 3) - floor_div(months(a), 3),
        "month" => months(b) - months(a),
        // Weeks start on Monday; day 1 of the common era is a Monday.
        "week" => floor_div(days(b) - 1, 7) - floor_div(days(a) - 1, 7),
        "day" => days(b) - days(a),
        "hour" => floor_div(us(b), 3_600_000_000) - floor_div(us(a), 3_600_000_000),
        "minute" => floor_div(us(b), 60_000_000) - floor_div(us(a), 60_000_000),
        "second" => floor_div(us(b), 1_000_000) - floor_div(us(a), 1_000_000),
        "millisecond" => floor_div(us(b), 1000) - floor_div(us(a), 1000),
        _ => us(b) - us(a),
    })
}

fn arrays(args: &[ColumnarValue]) -> Result<(Vec<ArrayRef>, bool)> {
    let scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    Ok((ColumnarValue::values_to_arrays(args)?, scalar))
}

fn finish(a: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&a, 0)?))
    } else {
        Ok(ColumnarValue::Array(a))
    }
}

fn downcast<'a, T: 'static>(a: &'a ArrayRef, what: &str) -> Result<&'a T> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| DataFusionError::Execution(format!("{what}: unexpected argument type")))
}

fn dateadd(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (a, scalar) = arrays(args)?;
    let parts = downcast::<StringArray>(&a[0], "dateadd")?;
    let ns = downcast::<Int64Array>(&a[1], "dateadd")?;
    let ts = downcast::<TimestampMicrosecondArray>(&a[2], "dateadd")?;
    let mut out = Vec::with_capacity(ts.len());
    for i in 0..ts.len() {
        if parts.is_null(i) || ns.is_null(i) || ts.is_null(i) {
            out.push(None);
            continue;
        }
        let d = date_add(parts.value(i), ns.value(i), to_dt(ts.value(i))?)?;
        out.push(Some(d.and_utc().timestamp_micros()));
    }
    finish(Arc::new(TimestampMicrosecondArray::from(out)), scalar)
}

fn datediff(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (a, scalar) = arrays(args)?;
    let parts = downcast::<StringArray>(&a[0], "datediff")?;
    let x = downcast::<TimestampMicrosecondArray>(&a[1], "datediff")?;
    let y = downcast::<TimestampMicrosecondArray>(&a[2], "datediff")?;
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        if parts.is_null(i) || x.is_null(i) || y.is_null(i) {
            out.push(None);
            continue;
        }
        out.push(Some(date_diff(parts.value(i), to_dt(x.value(i))?, to_dt(y.value(i))?)?));
    }
    finish(Arc::new(Int64Array::from(out)), scalar)
}

/// DATEADD and DATEDIFF: the date part first, then values that are coerced to timestamps
/// (dates, timestamp strings), as Redshift accepts them.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DatePartFunction {
    name: &'static str,
    signature: Signature,
}

impl DatePartFunction {
    fn udf(name: &'static str) -> ScalarUDF {
        ScalarUDF::new_from_impl(DatePartFunction { name, signature: Signature::user_defined(Volatility::Immutable) })
    }
}

impl ScalarUDFImpl for DatePartFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(if self.name == "dateadd" { ts_type() } else { DataType::Int64 })
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.len() != 3 {
            return exec_err!("function {} expects 3 arguments", self.name);
        }
        Ok(if self.name == "dateadd" {
            vec![DataType::Utf8, DataType::Int64, ts_type()]
        } else {
            vec![DataType::Utf8, ts_type(), ts_type()]
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if self.name == "dateadd" {
            dateadd(&args.args)
        } else {
            datediff(&args.args)
        }
    }
}

/// CONVERT_TIMEZONE(['source',] 'target', timestamp): the wall-clock time in `target` of
/// a timestamp read in `source` (UTC when omitted). Zones are IANA names or UTC.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ConvertTimezone {
    signature: Signature,
}

fn zone(name: &str) -> Result<chrono_tz::Tz> {
    let n = name.trim();
    let n = match n.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" => "UTC",
        _ => n,
    };
    n.parse::<chrono_tz::Tz>().map_err(|_| DataFusionError::Execution(format!("time zone \"{name}\" not recognized")))
}

impl ScalarUDFImpl for ConvertTimezone {
    fn name(&self) -> &str {
        "convert_timezone"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(ts_type())
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args.len() {
            2 => Ok(vec![DataType::Utf8, ts_type()]),
            3 => Ok(vec![DataType::Utf8, DataType::Utf8, ts_type()]),
            _ => exec_err!("convert_timezone expects 2 or 3 arguments"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use chrono::{LocalResult, TimeZone};
        let (a, scalar) = arrays(&args.args)?;
        let (src, dst, ts) = if a.len() == 3 { (Some(&a[0]), &a[1], &a[2]) } else { (None, &a[0], &a[1]) };
        let src = src.map(|s| downcast::<StringArray>(s, "convert_timezone")).transpose()?;
        let dst = downcast::<StringArray>(dst, "convert_timezone")?;
        let ts = downcast::<TimestampMicrosecondArray>(ts, "convert_timezone")?;
        let mut out = Vec::with_capacity(ts.len());
        for i in 0..ts.len() {
            if ts.is_null(i) || dst.is_null(i) || src.is_some_and(|s| s.is_null(i)) {
                out.push(None);
                continue;
            }
            let local = to_dt(ts.value(i))?;
            let from = zone(src.map(|s| s.value(i)).unwrap_or("UTC"))?;
            let instant = match from.from_local_datetime(&local) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&chrono::Utc),
                LocalResult::None => return exec_err!("{local} does not exist in time zone {from}"),
            };
            let to = zone(dst.value(i))?;
            out.push(Some(instant.with_timezone(&to).naive_local().and_utc().timestamp_micros()));
        }
        finish(Arc::new(TimestampMicrosecondArray::from(out)), scalar)
    }
}

/// TRUNC(timestamp) is the date; TRUNC(number [, digits]) cuts decimals off.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Trunc {
    signature: Signature,
}

impl ScalarUDFImpl for Trunc {
    fn name(&self) -> &str {
        "trunc"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match args.first() {
            Some(DataType::Timestamp(..) | DataType::Date32 | DataType::Date64) => DataType::Date32,
            _ => DataType::Float64,
        })
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [DataType::Timestamp(..)] | [DataType::Date32] | [DataType::Date64] => Ok(vec![ts_type()]),
            [_] => Ok(vec![DataType::Float64]),
            [_, _] => Ok(vec![DataType::Float64, DataType::Int64]),
            _ => exec_err!("trunc expects 1 or 2 arguments"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::{Date32Array, Float64Array};
        let (a, scalar) = arrays(&args.args)?;
        if let Some(ts) = a[0].as_any().downcast_ref::<TimestampMicrosecondArray>() {
            let days: Date32Array = ts.iter().map(|v| v.map(|us| us.div_euclid(86_400_000_000) as i32)).collect();
            return finish(Arc::new(days), scalar);
        }
        let x = downcast::<Float64Array>(&a[0], "trunc")?;
        let digits = a.get(1).map(|d| downcast::<Int64Array>(d, "trunc")).transpose()?;
        let out: Float64Array = (0..x.len())
            .map(|i| {
                if x.is_null(i) || digits.is_some_and(|d| d.is_null(i)) {
                    return None;
                }
                let scale = 10f64.powi(digits.map(|d| d.value(i)).unwrap_or(0) as i32);
                Some((x.value(i) * scale).trunc() / scale)
            })
            .collect();
        finish(Arc::new(out), scalar)
    }
}

fn constant(name: &str, value: ScalarValue, volatility: Volatility) -> datafusion::logical_expr::ScalarUDF {
    let ty = value.data_type();
    create_udf(name, vec![], ty, volatility, Arc::new(move |_| Ok(ColumnarValue::Scalar(value.clone()))))
}

/// TO_CHAR(datetime or number, format) with Redshift's patterns (see `text::to_char`).
fn to_char(arrays: &[ArrayRef]) -> Result<ArrayRef> {
    let [value, format] = arrays else {
        return exec_err!("to_char expects a value and a format");
    };
    let format = datafusion::arrow::compute::cast(format, &DataType::Utf8)?;
    let format = downcast::<StringArray>(&format, "to_char")?;
    let out: StringArray = match value.data_type() {
        t if t.is_numeric() => {
            let v = datafusion::arrow::compute::cast(value, &DataType::Float64)?;
            let v = downcast::<datafusion::arrow::array::Float64Array>(&v, "to_char")?;
            (0..v.len())
                .map(|i| {
                    (!v.is_null(i) && !format.is_null(i))
                        .then(|| crate::text::to_char_number(v.value(i), format.value(i)))
                })
                .collect()
        }
        _ => {
            let t = datafusion::arrow::compute::cast(value, &ts_type())?;
            let t = downcast::<TimestampMicrosecondArray>(&t, "to_char")?;
            (0..t.len())
                .map(|i| {
                    if t.is_null(i) || format.is_null(i) {
                        return Ok(None);
                    }
                    Ok(Some(crate::text::to_char(to_dt(t.value(i))?, format.value(i))))
                })
                .collect::<Result<_>>()?
        }
    };
    Ok(Arc::new(out))
}

/// Registers Redshift's functions for one session (`user` is who `current_user` names).
pub fn register(ctx: &SessionContext, user: &str) {
    hash::register(ctx);
    hll::register(ctx);
    json::register(ctx);
    strings::register(ctx);
    datetime::register(ctx);
    varbyte::register(ctx);
    ctx.register_udaf(percentile::udaf());
    ctx.register_udaf(avg::udaf());
    let now = Arc::new(|_: &[ColumnarValue]| {
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMicrosecond(Some(now_micros()), None)))
    });
    ctx.register_udf(create_udf("getdate", vec![], ts_type(), Volatility::Stable, now.clone()));
    ctx.register_udf(create_udf("sysdate", vec![], ts_type(), Volatility::Stable, now));
    ctx.register_udf(DatePartFunction::udf("dateadd"));
    ctx.register_udf(DatePartFunction::udf("datediff"));
    ctx.register_udf(ScalarUDF::new_from_impl(Trunc { signature: Signature::user_defined(Volatility::Immutable) }));
    ctx.register_udf(TextFunction::udf("to_char", Signature::any(2, Volatility::Immutable), Arc::new(to_char)));
    ctx.register_udf(ScalarUDF::new_from_impl(ConvertTimezone {
        signature: Signature::user_defined(Volatility::Immutable),
    }));
    ctx.register_udf(constant("version", ScalarValue::Utf8(Some(VERSION.into())), Volatility::Immutable));
    ctx.register_udaf(datafusion::logical_expr::AggregateUDF::new_from_impl(SingleValue {
        signature: Signature::any(1, Volatility::Immutable),
    }));
    for name in ["current_user", "session_user", "user", "current_user_id_name"] {
        ctx.register_udf(constant(name, ScalarValue::Utf8(Some(user.into())), Volatility::Stable));
    }
}

/// single_value(x): the one value of a scalar subquery, which the dialect wraps around a
/// subquery's select item so that DataFusion can decorrelate it; more than one row is
/// PostgreSQL's error 21000, none is NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SingleValue {
    signature: Signature,
}

#[derive(Debug)]
struct SingleValueAccumulator {
    value: ScalarValue,
    rows: u64,
}

fn more_than_one_row() -> DataFusionError {
    DataFusionError::External(Box::new(crate::error::SqlError::new(
        "21000",
        "more than one row returned by a subquery used as an expression",
    )))
}

impl SingleValueAccumulator {
    fn add(&mut self, value: ScalarValue, rows: u64) -> Result<()> {
        self.rows += rows;
        if self.rows > 1 {
            return Err(more_than_one_row());
        }
        if rows == 1 {
            self.value = value;
        }
        Ok(())
    }
}

impl datafusion::logical_expr::Accumulator for SingleValueAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let a = &values[0];
        match a.len() {
            0 => Ok(()),
            1 => self.add(ScalarValue::try_from_array(a, 0)?, 1),
            _ => Err(more_than_one_row()),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts = downcast::<datafusion::arrow::array::UInt64Array>(&states[1], "single_value")?;
        for i in 0..counts.len() {
            if counts.value(i) > 0 {
                self.add(ScalarValue::try_from_array(&states[0], i)?, counts.value(i))?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value.clone(), ScalarValue::UInt64(Some(self.rows))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.value.size()
    }
}

impl datafusion::logical_expr::AggregateUDFImpl for SingleValue {
    fn name(&self) -> &str {
        "single_value"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Null))
    }

    fn accumulator(
        &self,
        args: datafusion::logical_expr::function::AccumulatorArgs,
    ) -> Result<Box<dyn datafusion::logical_expr::Accumulator>> {
        let value = ScalarValue::try_from(args.return_field.data_type())?;
        Ok(Box::new(SingleValueAccumulator { value, rows: 0 }))
    }

    fn state_fields(
        &self,
        args: datafusion::logical_expr::function::StateFieldsArgs,
    ) -> Result<Vec<datafusion::arrow::datatypes::FieldRef>> {
        Ok(vec![
            Arc::new(datafusion::arrow::datatypes::Field::new("value", args.return_type().clone(), true)),
            Arc::new(datafusion::arrow::datatypes::Field::new("rows", DataType::UInt64, false)),
        ])
    }
}

/// pg_last_copy_id() and pg_last_copy_count(): the session's last COPY (-1 and 0 before one).
pub fn register_last_copy(
    ctx: &SessionContext,
    last: Arc<(std::sync::atomic::AtomicI64, std::sync::atomic::AtomicI64)>,
) {
    let id = last.clone();
    ctx.register_udf(create_udf(
        "pg_last_copy_id",
        vec![],
        DataType::Int32,
        Volatility::Volatile,
        Arc::new(move |_| {
            Ok(ColumnarValue::Scalar(ScalarValue::Int32(Some(id.0.load(std::sync::atomic::Ordering::Relaxed) as i32))))
        }),
    ));
    ctx.register_udf(create_udf(
        "pg_last_copy_count",
        vec![],
        DataType::Int64,
        Volatility::Volatile,
        Arc::new(move |_| {
            Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(last.1.load(std::sync::atomic::Ordering::Relaxed)))))
        }),
    ));
}

type TextBody = Arc<dyn Fn(&[ArrayRef]) -> Result<ArrayRef> + Send + Sync>;

/// A function answering text, whose body takes its arguments as arrays: TO_CHAR and the
/// catalog functions (pg_get_userbyid, pg_get_viewdef, pg_get_expr, format_encoding, ...).
struct TextFunction {
    name: &'static str,
    signature: Signature,
    body: TextBody,
}

impl TextFunction {
    fn udf(name: &'static str, signature: Signature, body: TextBody) -> ScalarUDF {
        ScalarUDF::new_from_impl(TextFunction { name, signature, body })
    }

    /// A function of an object id (or number), answering text or NULL.
    fn lookup(name: &'static str, lookup: impl Fn(i64) -> Option<String> + Send + Sync + 'static) -> ScalarUDF {
        let body: TextBody = Arc::new(move |arrays: &[ArrayRef]| {
            let Some(first) = arrays.first() else {
                return exec_err!("{name} expects an argument");
            };
            let ids = datafusion::arrow::compute::cast(first, &DataType::Int64)?;
            let ids = downcast::<Int64Array>(&ids, name)?;
            let out: StringArray = ids.iter().map(|id| id.and_then(&lookup)).collect();
            Ok(Arc::new(out) as ArrayRef)
        });
        TextFunction::udf(name, Signature::variadic_any(Volatility::Stable), body)
    }
}

impl std::fmt::Debug for TextFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for TextFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TextFunction {}

impl std::hash::Hash for TextFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ScalarUDFImpl for TextFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(&args.args)?;
        finish((self.body)(&arrays)?, scalar)
    }
}

/// Registers the catalog functions that read the session's view of the catalog.
pub fn register_catalog(ctx: &SessionContext, view: Arc<crate::engine::View>) {
    let v = view.clone();
    ctx.register_udf(TextFunction::lookup("pg_get_userbyid", move |id| {
        let st = v.get();
        let name = st.catalog.users.iter().find(|(_, u)| u.id == id).map(|(n, _)| n.clone());
        // PostgreSQL prints an unknown owner this way.
        Some(name.unwrap_or_else(|| format!("unknown (UID={id})")))
    }));
    let v = view.clone();
    ctx.register_udf(TextFunction::lookup("pg_get_viewdef", move |oid| {
        crate::pg_catalog::view_definition(&v.get(), oid as i32)
    }));
    let v = view.clone();
    ctx.register_udf(TextFunction::lookup("pg_get_constraintdef", move |oid| {
        crate::pg_catalog::constraint_definition(&v.get(), oid as i32)
    }));
    ctx.register_udf(TextFunction::lookup("format_encoding", |n| {
        crate::pg_catalog::encoding_name(n).map(str::to_string)
    }));
    // COMMENT ON is not supported, so no object has a description.
    ctx.register_udf(TextFunction::lookup("col_description", |_| None));
    ctx.register_udf(TextFunction::lookup("obj_description", |_| None));
    // pg_attrdef.adbin holds the expression's text already.
    ctx.register_udf(TextFunction::udf(
        "pg_get_expr",
        Signature::variadic_any(Volatility::Stable),
        Arc::new(|arrays: &[ArrayRef]| match arrays.first() {
            Some(first) => Ok(datafusion::arrow::compute::cast(first, &DataType::Utf8)?),
            None => exec_err!("pg_get_expr expects an argument"),
        }),
    ));
    ctx.register_udf(TextFunction::udf(
        "show_ddl",
        Signature::exact(vec![DataType::Utf8, DataType::Utf8, DataType::Utf8], Volatility::Stable),
        Arc::new(move |arrays: &[ArrayRef]| {
            let text = |i: usize| downcast::<StringArray>(&arrays[i], "show_ddl").cloned();
            let (kind, schema, name) = (text(0)?, text(1)?, text(2)?);
            let st = view.get();
            let out: StringArray = (0..kind.len())
                .map(|r| {
                    let ddl = crate::show::ddl(&st, kind.value(r), schema.value(r), name.value(r));
                    ddl.ok_or_else(|| {
                        let what = if kind.value(r).eq_ignore_ascii_case("VIEW") { "view" } else { "table" };
                        let object = format!("{}.{}", schema.value(r), name.value(r));
                        DataFusionError::External(Box::new(
                            crate::error::SqlError::relation_missing(&object).with_detail(format!("no such {what}")),
                        ))
                    })
                    .map(Some)
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out) as ArrayRef)
        }),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn datediff_counts_boundaries() {
        assert_eq!(date_diff("day", dt("2008-01-01 23:00:00"), dt("2008-01-02 01:00:00")).unwrap(), 1);
        assert_eq!(date_diff("month", dt("2008-01-31 00:00:00"), dt("2008-02-01 00:00:00")).unwrap(), 1);
        assert_eq!(date_diff("year", dt("2008-12-31 00:00:00"), dt("2009-01-01 00:00:00")).unwrap(), 1);
        assert_eq!(date_diff("week", dt("2026-11-29 00:00:00"), dt("2026-11-30 00:00:00")).unwrap(), 1);
        assert_eq!(date_diff("qtr", dt("2008-03-31 00:00:00"), dt("2008-04-01 00:00:00")).unwrap(), 1);
    }

    #[test]
    fn dateadd_months_clamps_to_month_end() {
        assert_eq!(date_add("month", 1, dt("2008-01-31 00:00:00")).unwrap(), dt("2008-02-29 00:00:00"));
        assert_eq!(date_add("d", -1, dt("2008-03-01 00:00:00")).unwrap(), dt("2008-02-29 00:00:00"));
        assert!(date_add("fortnight", 1, dt("2008-03-01 00:00:00")).is_err());
    }
}
