//! Redshift's hash functions: CHECKSUM, CRC32 (CRC-32C), FNV_HASH (64-bit FNV-1a over the
//! value's binary form), MURMUR3_32_HASH (Apache Iceberg's binary forms), farmFingerprint64,
//! FUNC_SHA1/SHA1/SHA and SHA2. MD5 is DataFusion's own.
use super::row::{int, text, Arg, RowFunction, INT, TEXT};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::prelude::SessionContext;
use sha2::Digest;

/// Days between 1970-01-01 and 2000-01-01, PostgreSQL's epoch for dates and timestamps.
const PG_EPOCH_DAYS: i64 = 10_957;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// The bytes Redshift hashes for FNV_HASH: the value's stored binary form (2, 4 or 8 bytes for
/// integers, IEEE floats, text without trimming, dates and timestamps from 2000-01-01).
fn stored_bytes(v: &ScalarValue) -> Option<Vec<u8>> {
    Some(match v {
        ScalarValue::Int16(Some(n)) => n.to_le_bytes().to_vec(),
        ScalarValue::Int32(Some(n)) => n.to_le_bytes().to_vec(),
        ScalarValue::Int64(Some(n)) => n.to_le_bytes().to_vec(),
        ScalarValue::Float32(Some(f)) => f.to_le_bytes().to_vec(),
        ScalarValue::Float64(Some(f)) => f.to_le_bytes().to_vec(),
        ScalarValue::Boolean(Some(b)) => vec![u8::from(*b)],
        // Redshift keeps DECIMAL up to 18 digits in 8 bytes, wider ones in 16.
        ScalarValue::Decimal128(Some(n), p, _) if *p <= 18 => (*n as i64).to_le_bytes().to_vec(),
        ScalarValue::Decimal128(Some(n), ..) => n.to_le_bytes().to_vec(),
        ScalarValue::Date32(Some(d)) => ((i64::from(*d) - PG_EPOCH_DAYS) as i32).to_le_bytes().to_vec(),
        ScalarValue::TimestampMicrosecond(Some(t), _) => (t - PG_EPOCH_DAYS * 86_400_000_000).to_le_bytes().to_vec(),
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            s.as_bytes().to_vec()
        }
        ScalarValue::Binary(Some(b)) | ScalarValue::LargeBinary(Some(b)) | ScalarValue::BinaryView(Some(b)) => {
            b.clone()
        }
        _ => return None,
    })
}

/// The bytes Apache Iceberg's bucket transform hashes: integers and booleans as 8-byte longs,
/// floats as the double's bits, decimals as the unscaled value's minimal big-endian two's
/// complement, dates as days and timestamps as microseconds from 1970, text as UTF-8.
fn iceberg_bytes(v: &ScalarValue) -> Option<Vec<u8>> {
    let long = |n: i64| n.to_le_bytes().to_vec();
    let double = |f: f64| long((if f == 0.0 { 0.0f64 } else { f }).to_bits() as i64);
    Some(match v {
        ScalarValue::Int16(Some(n)) => long(i64::from(*n)),
        ScalarValue::Int32(Some(n)) => long(i64::from(*n)),
        ScalarValue::Int64(Some(n)) => long(*n),
        ScalarValue::Boolean(Some(b)) => long(i64::from(*b)),
        ScalarValue::Float32(Some(f)) => double(f64::from(*f)),
        ScalarValue::Float64(Some(f)) => double(*f),
        ScalarValue::Decimal128(Some(n), ..) => {
            let bytes = n.to_be_bytes();
            // Drop leading bytes that only repeat the sign.
            let mut start = 0;
            while start < 15 {
                let (b, next) = (bytes[start], bytes[start + 1]);
                if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                    start += 1;
                } else {
                    break;
                }
            }
            bytes[start..].to_vec()
        }
        ScalarValue::Date32(Some(d)) => long(i64::from(*d)),
        ScalarValue::TimestampMicrosecond(Some(t), _) => long(*t),
        _ => return stored_bytes(v),
    })
}

fn unhashable(name: &str, v: &ScalarValue) -> datafusion::common::DataFusionError {
    super::row::no_such_function(name, &[v.data_type()])
}

fn fnv_hash(args: &[ScalarValue]) -> Result<ScalarValue> {
    let bytes = stored_bytes(&args[0]).ok_or_else(|| unhashable("fnv_hash", &args[0]))?;
    let seed = args.get(1).and_then(int).map(|s| s as u64).unwrap_or(FNV_OFFSET);
    Ok(ScalarValue::Int64(Some(fnv1a(&bytes, seed) as i64)))
}

fn murmur3_32_hash(args: &[ScalarValue]) -> Result<ScalarValue> {
    let bytes = iceberg_bytes(&args[0]).ok_or_else(|| unhashable("murmur3_32_hash", &args[0]))?;
    let seed = args.get(1).and_then(int).map(|s| s as i32 as u32).unwrap_or(0);
    let h = murmur3::murmur3_32(&mut std::io::Cursor::new(bytes), seed)
        .map_err(|e| datafusion::common::DataFusionError::Execution(e.to_string()))?;
    Ok(ScalarValue::Int32(Some(h as i32)))
}

/// CHECKSUM of an integer is the integer, of a decimal its unscaled digits (as Redshift's
/// examples show: 109.20 gives 10920), of text its CRC-32C.
fn checksum(args: &[ScalarValue]) -> Result<ScalarValue> {
    let n: i64 = match &args[0] {
        ScalarValue::Int16(Some(n)) => i64::from(*n),
        ScalarValue::Int32(Some(n)) => i64::from(*n),
        ScalarValue::Int64(Some(n)) => *n,
        ScalarValue::Decimal128(Some(n), ..) => *n as i64,
        v => match text(v) {
            Some(s) => i64::from(crc32c::crc32c(s.as_bytes()) as i32),
            None => return Err(unhashable("checksum", v)),
        },
    };
    Ok(ScalarValue::Int32(Some(n as i32)))
}

fn hex_text(bytes: impl AsRef<[u8]>) -> ScalarValue {
    ScalarValue::Utf8(Some(hex::encode(bytes)))
}

fn sha2(args: &[ScalarValue]) -> Result<ScalarValue> {
    let s = text(&args[0]).unwrap_or_default().as_bytes();
    Ok(match int(&args[1]) {
        Some(0 | 256) => hex_text(sha2::Sha256::digest(s)),
        Some(224) => hex_text(sha2::Sha224::digest(s)),
        Some(384) => hex_text(sha2::Sha384::digest(s)),
        Some(512) => hex_text(sha2::Sha512::digest(s)),
        // "an empty string if the number of bits is invalid"
        _ => ScalarValue::Utf8(Some(String::new())),
    })
}

fn sha1(args: &[ScalarValue]) -> Result<ScalarValue> {
    Ok(hex_text(sha1::Sha1::digest(text(&args[0]).unwrap_or_default().as_bytes())))
}

pub fn register(ctx: &SessionContext) {
    let text_only = || vec![vec![TEXT]];
    let mut functions = vec![
        RowFunction::new("checksum", vec![vec![Arg::Any]], DataType::Int32, checksum),
        RowFunction::new("crc32", text_only(), DataType::Utf8, |a| {
            Ok(ScalarValue::Utf8(Some(format!("{:08x}", crc32c::crc32c(text(&a[0]).unwrap_or_default().as_bytes())))))
        }),
        RowFunction::new("fnv_hash", vec![vec![Arg::Any], vec![Arg::Any, INT]], DataType::Int64, fnv_hash),
        RowFunction::new(
            "murmur3_32_hash",
            vec![vec![Arg::Any], vec![Arg::Any, INT]],
            DataType::Int32,
            murmur3_32_hash,
        ),
        RowFunction::new("farmfingerprint64", vec![vec![Arg::Any]], DataType::Int64, |a| {
            let bytes = match &a[0] {
                ScalarValue::Binary(Some(b)) => b.clone(),
                v => text(v).ok_or_else(|| unhashable("farmfingerprint64", v))?.as_bytes().to_vec(),
            };
            Ok(ScalarValue::Int64(Some(farmhash::fingerprint64(&bytes) as i64)))
        }),
        RowFunction::new("sha2", vec![vec![TEXT, INT]], DataType::Utf8, sha2),
    ];
    for name in ["func_sha1", "sha1", "sha"] {
        functions.push(RowFunction::new(name, text_only(), DataType::Utf8, sha1));
    }
    for f in functions {
        ctx.register_udf(f.udf());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The examples of Redshift's function reference.
    #[test]
    fn fnv_hash_matches_the_reference() {
        let h = |v: ScalarValue| fnv_hash(&[v]).unwrap();
        assert_eq!(h(ScalarValue::Int32(Some(1))), ScalarValue::Int64(Some(-5968735742475085980)));
        assert_eq!(h(ScalarValue::Int16(Some(1))), ScalarValue::Int64(Some(589727492704079044)));
        assert_eq!(h(ScalarValue::Int64(Some(1))), ScalarValue::Int64(Some(-8517097267634966620)));
        assert_eq!(h(ScalarValue::Utf8(Some("Amazon Redshift".into()))), ScalarValue::Int64(Some(7783490368944507294)));
        let seeded = fnv_hash(&[
            ScalarValue::Utf8(Some("cd".into())),
            fnv_hash(&[ScalarValue::Utf8(Some("ab".into()))]).unwrap(),
        ]);
        assert_eq!(seeded.unwrap(), ScalarValue::Int64(Some(-281581062704388899)));
    }

    #[test]
    fn murmur3_crc32_and_farmhash_match_the_reference() {
        let m = |v: ScalarValue| murmur3_32_hash(&[v]).unwrap();
        assert_eq!(m(ScalarValue::Int32(Some(1))), ScalarValue::Int32(Some(1392991556)));
        assert_eq!(m(ScalarValue::Utf8(Some("Amazon Redshift".into()))), ScalarValue::Int32(Some(-1563580564)));
        assert_eq!(format!("{:08x}", crc32c::crc32c(b"Amazon Redshift")), "f2726906");
        assert_eq!(farmhash::fingerprint64(b"Amazon Redshift") as i64, 8085098817162212970);
    }
}
