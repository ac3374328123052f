//! Redshift's string functions DataFusion lacks: BPCHARCMP, BTTEXT_PATTERN_CMP, OCTETINDEX,
//! QUOTE_IDENT, QUOTE_LITERAL, SOUNDEX, DIFFERENCE, STRTOL, TEXT_TO_INT_ALT (without a format)
//! and TO_ASCII. (LEN, TEXTLEN,
//! CHARINDEX, REPLICATE are renamed to DataFusion's functions by the dialect.)
use super::row::{int, sql_error, text, RowFunction, INT, TEXT};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::prelude::SessionContext;
use std::cmp::Ordering;
use unicode_normalization::UnicodeNormalization;

fn order(o: Ordering) -> ScalarValue {
    ScalarValue::Int32(Some(match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}

fn two_texts(args: &[ScalarValue]) -> (&str, &str) {
    (text(&args[0]).unwrap_or_default(), text(&args[1]).unwrap_or_default())
}

/// PostgreSQL's reserved key words, which QUOTE_IDENT quotes.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "new",
    "not",
    "null",
    "off",
    "offset",
    "old",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "when",
    "where",
    "with",
];

fn quote_ident(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !RESERVED.contains(&s);
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// American Soundex: the first letter, then the codes of the following consonants, adjacent
/// equal codes once (H and W do not separate them, vowels do), padded to four characters.
/// Characters that are not English letters are ignored; none at all gives the empty string.
fn soundex(s: &str) -> String {
    let code = |c: char| match c {
        'B' | 'F' | 'P' | 'V' => Some('1'),
        'C' | 'G' | 'J' | 'K' | 'Q' | 'S' | 'X' | 'Z' => Some('2'),
        'D' | 'T' => Some('3'),
        'L' => Some('4'),
        'M' | 'N' => Some('5'),
        'R' => Some('6'),
        _ => None,
    };
    let mut letters = s.chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_uppercase());
    let Some(first) = letters.next() else {
        return String::new();
    };
    let mut out = String::from(first);
    let mut last = code(first);
    for c in letters {
        if out.len() == 4 {
            break;
        }
        match code(c) {
            Some(d) if Some(d) != last => {
                out.push(d);
                last = Some(d);
            }
            Some(_) => {}
            None if c == 'H' || c == 'W' => {}
            None => last = None,
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

fn difference(a: &str, b: &str) -> i32 {
    let (a, b) = (soundex(a), soundex(b));
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    a.chars().zip(b.chars()).filter(|(x, y)| x == y).count() as i32
}

/// STRTOL(text, base): C's strtol over the whole text (blanks, a sign, `0x` before base 16);
/// text that is not a number in the base is NULL.
fn strtol(s: &str, base: i64) -> Result<Option<i64>> {
    if !(2..=36).contains(&base) {
        return Err(sql_error("22023", format!("invalid base {base} for strtol: the base must be between 2 and 36")));
    }
    let t = s.trim();
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = if base == 16 { t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t) } else { t };
    let Ok(n) = i128::from_str_radix(t, base as u32) else {
        return Ok(None);
    };
    let n = if negative { -n } else { n };
    Ok(i64::try_from(n).ok())
}

/// TO_ASCII: accents dropped (the letter's canonical decomposition without its combining
/// marks); what has no ASCII form becomes `?`.
fn to_ascii(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}

/// TEXT_TO_INT_ALT's reading of Teradata-style numbers: a sign before or after the digits,
/// a fraction (truncated) and an exponent; blanks around. None when the text is no number.
fn teradata_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let (negative, t) = if let Some(rest) = t.strip_suffix('-') {
        (true, rest)
    } else if let Some(rest) = t.strip_suffix('+') {
        (false, rest)
    } else if let Some(rest) = t.strip_prefix('-') {
        (true, rest)
    } else {
        (false, t.strip_prefix('+').unwrap_or(t))
    };
    let valid = !t.is_empty()
        && t.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.')
        && t.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    let v: f64 = if valid { t.parse().ok()? } else { return None };
    Some(if negative { -v } else { v })
}

pub fn register(ctx: &SessionContext) {
    let two = || vec![vec![TEXT, TEXT]];
    let one = || vec![vec![TEXT]];
    let functions = vec![
        RowFunction::new("bpcharcmp", two(), DataType::Int32, |a| {
            let (x, y) = two_texts(a);
            Ok(order(x.trim_end_matches(' ').cmp(y.trim_end_matches(' '))))
        }),
        RowFunction::new("bttext_pattern_cmp", two(), DataType::Int32, |a| {
            let (x, y) = two_texts(a);
            Ok(order(x.as_bytes().cmp(y.as_bytes())))
        }),
        RowFunction::new("octetindex", two(), DataType::Int32, |a| {
            let (needle, hay) = two_texts(a);
            Ok(ScalarValue::Int32(Some(hay.find(needle).map(|i| i as i32 + 1).unwrap_or(0))))
        }),
        RowFunction::new("quote_ident", one(), DataType::Utf8, |a| {
            Ok(ScalarValue::Utf8(Some(quote_ident(text(&a[0]).unwrap_or_default()))))
        }),
        RowFunction::new("quote_literal", one(), DataType::Utf8, |a| {
            Ok(ScalarValue::Utf8(Some(format!("'{}'", text(&a[0]).unwrap_or_default().replace('\'', "''")))))
        }),
        RowFunction::new("soundex", one(), DataType::Utf8, |a| {
            Ok(ScalarValue::Utf8(Some(soundex(text(&a[0]).unwrap_or_default()))))
        }),
        RowFunction::new("difference", two(), DataType::Int32, |a| {
            let (x, y) = two_texts(a);
            Ok(ScalarValue::Int32(Some(difference(x, y))))
        }),
        RowFunction::new("strtol", vec![vec![TEXT, INT]], DataType::Int64, |a| {
            Ok(ScalarValue::Int64(strtol(text(&a[0]).unwrap_or_default(), int(&a[1]).unwrap_or(10))?))
        }),
        RowFunction::new("text_to_int_alt", vec![vec![TEXT]], DataType::Int32, |a| {
            let t = text(&a[0]).unwrap_or_default();
            let v = teradata_number(t)
                .ok_or_else(|| sql_error("22P02", format!("invalid input syntax for integer: \"{t}\"")))?
                .trunc();
            if v < f64::from(i32::MIN) || v > f64::from(i32::MAX) {
                return Err(sql_error("22003", format!("value \"{t}\" is out of range for type integer")));
            }
            Ok(ScalarValue::Int32(Some(v as i32)))
        }),
        RowFunction::new("to_ascii", vec![vec![TEXT], vec![TEXT, TEXT]], DataType::Utf8, |a| {
            if let Some(encoding) = a.get(1).and_then(text) {
                let e = encoding.to_ascii_uppercase();
                if !["LATIN1", "LATIN2", "LATIN9", "WIN1250", "UTF8", "UTF-8"].contains(&e.as_str()) {
                    return Err(sql_error(
                        "22023",
                        format!("encoding conversion from {encoding} to ASCII not supported"),
                    ));
                }
            }
            Ok(ScalarValue::Utf8(Some(to_ascii(text(&a[0]).unwrap_or_default()))))
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
    fn soundex_and_difference() {
        assert_eq!(soundex("Robert"), "R163");
        assert_eq!(soundex("Rupert"), "R163");
        assert_eq!(soundex("Ashcraft"), "A261");
        assert_eq!(soundex("Tymczak"), "T522");
        assert_eq!(soundex("Amazon"), "A525");
        assert_eq!(soundex("123"), "");
        assert_eq!(difference("Amazon", "Amazing"), 4);
        assert_eq!(difference("Amazon", "Ama"), 2);
    }

    #[test]
    fn strtol_reads_like_c() {
        assert_eq!(strtol("0xf", 16).unwrap(), Some(15));
        assert_eq!(strtol("abcd1234", 16).unwrap(), Some(2882343476));
        assert_eq!(strtol("110101", 2).unwrap(), Some(53));
        assert_eq!(strtol(" -12", 10).unwrap(), Some(-12));
        assert_eq!(strtol("12z", 10).unwrap(), None);
        assert!(strtol("1", 1).is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("sales"), "sales");
        assert_eq!(quote_ident("Sales Data"), "\"Sales Data\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(to_ascii("café Ångström"), "cafe Angstrom");
        assert_eq!(teradata_number("123-"), Some(-123.0));
        assert_eq!(teradata_number(" 2147483647+ "), Some(2147483647.0));
        assert_eq!(teradata_number("-123E-2"), Some(-1.23));
        assert_eq!(teradata_number("12a"), None);
    }
}
