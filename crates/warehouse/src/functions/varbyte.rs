//! VARBYTE's functions: FROM_HEX, TO_HEX (of a VARBYTE or an integer), TO_VARBYTE and
//! FROM_VARBYTE in the formats Redshift names (hex, binary, utf8, base64), GETBIT,
//! OCTET_LENGTH and JSON_SERIALIZE_TO_VARBYTE. VARBYTE values are Arrow binary.
use super::row::{int, sql_error, text, Arg, RowFunction, INT, TEXT};
use base64::Engine;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::prelude::SessionContext;

fn bytes(v: &ScalarValue) -> Option<&[u8]> {
    match v {
        ScalarValue::Binary(Some(b)) | ScalarValue::LargeBinary(Some(b)) | ScalarValue::BinaryView(Some(b)) => {
            Some(b.as_slice())
        }
        _ => None,
    }
}

fn format_of(v: &ScalarValue) -> Result<String> {
    let f = text(v).unwrap_or_default().trim().to_ascii_lowercase();
    match f.as_str() {
        "hex" | "binary" | "utf8" | "utf-8" | "base64" => Ok(f.replace('-', "")),
        _ => Err(sql_error("22023", format!("invalid format \"{f}\": use hex, binary, utf8 or base64"))),
    }
}

fn decode(input: &str, format: &str) -> Result<Vec<u8>> {
    let bad = || sql_error("22P02", format!("invalid input for {format}: \"{input}\""));
    Ok(match format {
        "hex" => hex::decode(input).map_err(|_| bad())?,
        "utf8" => input.as_bytes().to_vec(),
        "base64" => base64::engine::general_purpose::STANDARD.decode(input).map_err(|_| bad())?,
        _ => {
            // Binary: eight 0/1 digits a byte.
            if !input.len().is_multiple_of(8) || !input.bytes().all(|c| c == b'0' || c == b'1') {
                return Err(bad());
            }
            input.as_bytes().chunks(8).map(|c| c.iter().fold(0u8, |acc, b| (acc << 1) | (b - b'0'))).collect()
        }
    })
}

fn encode(b: &[u8], format: &str) -> Result<String> {
    Ok(match format {
        "hex" => hex::encode(b),
        "utf8" => String::from_utf8(b.to_vec())
            .map_err(|_| sql_error("22021", "invalid byte sequence for encoding \"UTF8\""))?,
        "base64" => base64::engine::general_purpose::STANDARD.encode(b),
        _ => b.iter().map(|x| format!("{x:08b}")).collect(),
    })
}

/// TO_HEX of a VARBYTE is its bytes in hex; of an integer, its two's complement.
pub fn to_hex() -> datafusion::logical_expr::ScalarUDF {
    RowFunction::new("to_hex", vec![vec![Arg::Any]], DataType::Utf8, |a| {
        if let Some(b) = bytes(&a[0]) {
            return Ok(ScalarValue::Utf8(Some(hex::encode(b))));
        }
        match int(&a[0]) {
            Some(n) => Ok(ScalarValue::Utf8(Some(format!("{n:x}")))),
            None => Err(super::row::no_such_function("to_hex", &[a[0].data_type()])),
        }
    })
    .udf()
}

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(to_hex());
    let varbyte = || Arg::Is(DataType::Binary);
    let functions = vec![
        RowFunction::new("from_hex", vec![vec![TEXT]], DataType::Binary, |a| {
            Ok(ScalarValue::Binary(Some(decode(text(&a[0]).unwrap_or_default(), "hex")?)))
        }),
        RowFunction::new("to_varbyte", vec![vec![TEXT, TEXT]], DataType::Binary, |a| {
            Ok(ScalarValue::Binary(Some(decode(text(&a[0]).unwrap_or_default(), &format_of(&a[1])?)?)))
        }),
        RowFunction::new("from_varbyte", vec![vec![varbyte(), TEXT]], DataType::Utf8, |a| {
            Ok(ScalarValue::Utf8(Some(encode(bytes(&a[0]).unwrap_or_default(), &format_of(&a[1])?)?)))
        }),
        // GETBIT(v, n): bit n counted from the least significant bit of the first byte.
        RowFunction::new("getbit", vec![vec![varbyte(), INT]], DataType::Int32, |a| {
            let b = bytes(&a[0]).unwrap_or_default();
            let n = int(&a[1]).unwrap_or(-1);
            if n < 0 || n as usize >= b.len() * 8 {
                return Err(sql_error(
                    "2202E",
                    format!("index {n} out of valid range, 0..{}", (b.len() * 8).max(1) - 1),
                ));
            }
            Ok(ScalarValue::Int32(Some(i32::from((b[n as usize / 8] >> (n % 8)) & 1))))
        }),
        // OCTET_LENGTH of text or VARBYTE: its bytes.
        RowFunction::new("octet_length", vec![vec![Arg::Any]], DataType::Int32, |a| {
            let n = bytes(&a[0]).map(<[u8]>::len).or_else(|| text(&a[0]).map(str::len));
            n.map(|n| ScalarValue::Int32(Some(n as i32)))
                .ok_or_else(|| super::row::no_such_function("octet_length", &[a[0].data_type()]))
        }),
        RowFunction::new("json_serialize_to_varbyte", vec![vec![TEXT]], DataType::Binary, |a| {
            Ok(ScalarValue::Binary(Some(text(&a[0]).unwrap_or_default().as_bytes().to_vec())))
        }),
    ];
    for f in functions {
        ctx.register_udf(f.udf());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        for f in ["hex", "binary", "utf8", "base64"] {
            let b = b"Amazon";
            assert_eq!(decode(&encode(b, f).unwrap(), f).unwrap(), b.to_vec());
        }
        assert_eq!(encode(&[0x4d], "binary").unwrap(), "01001101");
    }
}
