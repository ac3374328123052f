//! A scalar function computed row by row on `ScalarValue`s, for Redshift's utility functions
//! (hashes, JSON text, string and date helpers) whose cost is in their body, not in the
//! columnar plumbing. Each declares the argument lists it accepts; arguments are coerced to
//! the declared types (or kept as they are where the function reads the type, as FNV_HASH does).
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use std::sync::Arc;

/// One argument of a form: coerced to a type, or taken as it comes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    Is(DataType),
    Any,
}

pub const TEXT: Arg = Arg::Is(DataType::Utf8);
pub const INT: Arg = Arg::Is(DataType::Int64);
pub const BOOL: Arg = Arg::Is(DataType::Boolean);
pub const FLOAT: Arg = Arg::Is(DataType::Float64);

pub fn ts() -> Arg {
    Arg::Is(DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None))
}

/// DataFusion asks a function of no arguments to say so in its signature.
fn signature_for(forms: &[Vec<Arg>], v: Volatility) -> Signature {
    if forms.iter().all(Vec::is_empty) {
        Signature::nullary(v)
    } else {
        Signature::user_defined(v)
    }
}

type Body = Arc<dyn Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync>;

pub struct RowFunction {
    name: &'static str,
    forms: Vec<Vec<Arg>>,
    returns: DataType,
    /// A NULL argument makes the result NULL without calling the body.
    strict: bool,
    signature: Signature,
    body: Body,
}

impl RowFunction {
    pub fn new(
        name: &'static str,
        forms: Vec<Vec<Arg>>,
        returns: DataType,
        body: impl Fn(&[ScalarValue]) -> Result<ScalarValue> + Send + Sync + 'static,
    ) -> RowFunction {
        let signature = signature_for(&forms, Volatility::Immutable);
        RowFunction { name, forms, returns, strict: true, signature, body: Arc::new(body) }
    }

    /// The body sees NULL arguments (COALESCE-like functions, optional flags).
    pub fn lenient(mut self) -> RowFunction {
        self.strict = false;
        self
    }

    pub fn volatility(mut self, v: Volatility) -> RowFunction {
        self.signature = signature_for(&self.forms, v);
        self
    }

    pub fn udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }
}

impl std::fmt::Debug for RowFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for RowFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for RowFunction {}

impl std::hash::Hash for RowFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

/// PostgreSQL's name of an argument type, for "function f(integer) does not exist".
fn pg_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int16 => "smallint",
        DataType::Int32 => "integer",
        DataType::Int64 => "bigint",
        DataType::Float32 => "real",
        DataType::Float64 => "double precision",
        DataType::Decimal128(..) | DataType::Decimal256(..) => "numeric",
        DataType::Boolean => "boolean",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(_, None) => "timestamp without time zone",
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone",
        DataType::Interval(_) => "interval",
        DataType::Null => "unknown",
        _ => "character varying",
    }
}

pub fn no_such_function(name: &str, args: &[DataType]) -> DataFusionError {
    let types: Vec<&str> = args.iter().map(pg_type).collect();
    DataFusionError::External(Box::new(
        crate::error::SqlError::new("42883", format!("function {name}({}) does not exist", types.join(", ")))
            .with_detail(
                "No function matches the given name and argument types. You may need to add explicit type casts.",
            ),
    ))
}

impl ScalarUDFImpl for RowFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let form =
            self.forms.iter().find(|f| f.len() == args.len()).ok_or_else(|| no_such_function(self.name, args))?;
        Ok(form
            .iter()
            .zip(args)
            .map(|(want, got)| match want {
                Arg::Is(t) => t.clone(),
                // An untyped NULL or a view string is read as text.
                Arg::Any if matches!(got, DataType::Null | DataType::Utf8View | DataType::LargeUtf8) => DataType::Utf8,
                Arg::Any => got.clone(),
            })
            .collect())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if scalar { 1 } else { args.number_rows };
        let arrays: Vec<ArrayRef> = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<_>>()?;
        let null = ScalarValue::try_from(&self.returns)?;
        let mut out = Vec::with_capacity(rows);
        let mut values = Vec::with_capacity(arrays.len());
        for row in 0..rows {
            values.clear();
            for a in &arrays {
                values.push(ScalarValue::try_from_array(a, row)?);
            }
            if self.strict && values.iter().any(ScalarValue::is_null) {
                out.push(null.clone());
                continue;
            }
            let v = (self.body)(&values)?;
            out.push(if v.is_null() { null.clone() } else { v });
        }
        let array = ScalarValue::iter_to_array(out)?;
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?))
        } else {
            Ok(ColumnarValue::Array(array))
        }
    }
}

/// The text of a value coerced to Utf8.
pub fn text(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.as_deref(),
        _ => None,
    }
}

pub fn int(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int64(n) => *n,
        ScalarValue::Int32(n) => n.map(i64::from),
        ScalarValue::Int16(n) => n.map(i64::from),
        _ => None,
    }
}

pub fn boolean(v: &ScalarValue) -> Option<bool> {
    match v {
        ScalarValue::Boolean(b) => *b,
        _ => None,
    }
}

pub fn micros(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::TimestampMicrosecond(t, _) => *t,
        _ => None,
    }
}

/// An error with a SQLSTATE, as the function's caller sees it.
pub fn sql_error(code: &'static str, message: impl Into<String>) -> DataFusionError {
    DataFusionError::External(Box::new(crate::error::SqlError::new(code, message)))
}
