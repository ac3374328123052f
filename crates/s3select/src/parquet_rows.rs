//! Parquet input: the object read at random (its footer, then the row groups), each row a
//! struct of its columns' values.
use crate::error::{Result, SelectError};
use crate::value::Value;
use crate::RandomAccess;
use arrow::array::*;
use arrow::datatypes::{DataType, TimeUnit};
use bytes::Bytes;
use std::borrow::Cow;
use std::sync::Arc;

/// An object read at random, as the Parquet reader wants it.
#[derive(Clone)]
pub struct Chunks(pub Arc<dyn RandomAccess>);

impl parquet::file::reader::Length for Chunks {
    fn len(&self) -> u64 {
        self.0.size()
    }
}

impl parquet::file::reader::ChunkReader for Chunks {
    type T = std::io::Cursor<Bytes>;
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let len = self.0.size().saturating_sub(start);
        Ok(std::io::Cursor::new(self.get_bytes(start, len as usize)?))
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0u8; length];
        self.0.read_exact_at(start, &mut buf).map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        Ok(Bytes::from(buf))
    }
}

fn parsing(e: impl std::fmt::Display) -> SelectError {
    SelectError::new("ParquetParsingError", format!("An error occurred while parsing the Parquet file: {e}."))
}

/// The rows of a Parquet object, a batch at a time.
pub fn batches(source: Arc<dyn RandomAccess>) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(Chunks(source))
        .map_err(parsing)?
        .with_batch_size(4096)
        .build()
        .map_err(parsing)?;
    Ok(reader.map(|b| b.map_err(parsing)))
}

pub fn row(batch: &RecordBatch, i: usize) -> Result<Value<'static>> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    for (f, col) in schema.fields().iter().zip(batch.columns()) {
        fields.push((Cow::Owned(f.name().clone()), value(col.as_ref(), i)?));
    }
    Ok(Value::Struct(fields))
}

fn ts(at: Option<time::OffsetDateTime>, precision: crate::time::Precision) -> Value<'static> {
    match at {
        Some(at) => Value::Ts(crate::time::Ts { at, precision }),
        None => Value::Null,
    }
}

fn value(col: &dyn Array, i: usize) -> Result<Value<'static>> {
    if col.is_null(i) {
        return Ok(Value::Null);
    }
    macro_rules! prim {
        ($t:ty, $conv:expr) => {{
            let a = col.as_any().downcast_ref::<$t>().expect("array matches its data type");
            $conv(a.value(i))
        }};
    }
    use crate::time::Precision;
    let from_nanos = |n: i128| time::OffsetDateTime::from_unix_timestamp_nanos(n).ok();
    Ok(match col.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => prim!(BooleanArray, Value::Bool),
        DataType::Int8 => prim!(Int8Array, |v| Value::Int(v as i64)),
        DataType::Int16 => prim!(Int16Array, |v| Value::Int(v as i64)),
        DataType::Int32 => prim!(Int32Array, |v| Value::Int(v as i64)),
        DataType::Int64 => prim!(Int64Array, Value::Int),
        DataType::UInt8 => prim!(UInt8Array, |v| Value::Int(v as i64)),
        DataType::UInt16 => prim!(UInt16Array, |v| Value::Int(v as i64)),
        DataType::UInt32 => prim!(UInt32Array, |v| Value::Int(v as i64)),
        DataType::UInt64 => {
            prim!(UInt64Array, |v: u64| i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64)))
        }
        DataType::Float16 => prim!(
            Float16Array,
            |v: <arrow::array::types::Float16Type as arrow::datatypes::ArrowPrimitiveType>::Native| Value::Float(
                v.to_f64()
            )
        ),
        DataType::Float32 => prim!(Float32Array, |v| Value::Float(v as f64)),
        DataType::Float64 => prim!(Float64Array, Value::Float),
        DataType::Utf8 => prim!(StringArray, |v: &str| Value::Str(Cow::Owned(v.to_string()))),
        DataType::LargeUtf8 => prim!(LargeStringArray, |v: &str| Value::Str(Cow::Owned(v.to_string()))),
        DataType::Utf8View => prim!(StringViewArray, |v: &str| Value::Str(Cow::Owned(v.to_string()))),
        DataType::Date32 => prim!(Date32Array, |d: i32| ts(from_nanos(d as i128 * 86_400_000_000_000), Precision::Day)),
        DataType::Date64 => prim!(Date64Array, |d: i64| ts(from_nanos(d as i128 * 1_000_000), Precision::Day)),
        DataType::Timestamp(unit, _) => {
            let (n, p) = match unit {
                TimeUnit::Second => {
                    (prim!(TimestampSecondArray, |v: i64| v as i128 * 1_000_000_000), Precision::Second)
                }
                TimeUnit::Millisecond => {
                    (prim!(TimestampMillisecondArray, |v: i64| v as i128 * 1_000_000), Precision::Fraction(3))
                }
                TimeUnit::Microsecond => {
                    (prim!(TimestampMicrosecondArray, |v: i64| v as i128 * 1_000), Precision::Fraction(6))
                }
                TimeUnit::Nanosecond => (prim!(TimestampNanosecondArray, |v: i64| v as i128), Precision::Fraction(9)),
            };
            ts(from_nanos(n), p)
        }
        DataType::Decimal128(_, scale) => {
            let v = prim!(Decimal128Array, |v: i128| v);
            if *scale == 0 {
                i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64))
            } else {
                Value::Float(v as f64 / 10f64.powi(*scale as i32))
            }
        }
        DataType::List(_) => {
            let a = col.as_any().downcast_ref::<ListArray>().expect("list array");
            let inner = a.value(i);
            Value::List((0..inner.len()).map(|j| value(inner.as_ref(), j)).collect::<Result<_>>()?)
        }
        DataType::LargeList(_) => {
            let a = col.as_any().downcast_ref::<LargeListArray>().expect("list array");
            let inner = a.value(i);
            Value::List((0..inner.len()).map(|j| value(inner.as_ref(), j)).collect::<Result<_>>()?)
        }
        DataType::Struct(fields) => {
            let a = col.as_any().downcast_ref::<StructArray>().expect("struct array");
            let mut out = Vec::with_capacity(fields.len());
            for (f, c) in fields.iter().zip(a.columns()) {
                out.push((Cow::Owned(f.name().clone()), value(c.as_ref(), i)?));
            }
            Value::Struct(out)
        }
        other => {
            return Err(SelectError::new(
                "UnsupportedParquetType",
                format!("The specified Parquet type is not supported: {other}."),
            ))
        }
    })
}
