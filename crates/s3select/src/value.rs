//! Values as S3 Select sees them: CSV fields are strings, JSON and Parquet bring their types;
//! MISSING (an absent attribute) is distinct from NULL.
use crate::time::Ts;
use std::borrow::Cow;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Ts(Ts),
    List(Vec<Value<'a>>),
    Struct(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Missing | Value::Null)
    }

    /// The same value borrowing this one's strings: reading a JSON record's attribute costs
    /// no copy of its text.
    pub fn borrowed(&'a self) -> Value<'a> {
        match self {
            Value::Str(s) => Value::Str(Cow::Borrowed(s)),
            Value::List(l) => Value::List(l.iter().map(Value::borrowed).collect()),
            Value::Struct(f) => {
                Value::Struct(f.iter().map(|(k, v)| (Cow::Borrowed(k.as_ref()), v.borrowed())).collect())
            }
            other => other.clone(),
        }
    }

    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Missing => Value::Missing,
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Ts(t) => Value::Ts(t),
            Value::List(l) => Value::List(l.into_iter().map(Value::into_owned).collect()),
            Value::Struct(f) => {
                Value::Struct(f.into_iter().map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned())).collect())
            }
        }
    }

    pub fn from_json(v: serde_json::Value) -> Value<'static> {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(Cow::Owned(s)),
            serde_json::Value::Array(a) => Value::List(a.into_iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Struct(o.into_iter().map(|(k, v)| (Cow::Owned(k), Value::from_json(v))).collect())
            }
        }
    }

    /// An attribute of a struct: exact when `quoted`, otherwise case-insensitive, and then
    /// ambiguous when two attributes differ only by case.
    pub fn field(&self, name: &str, quoted: bool) -> crate::error::Result<Option<&Value<'a>>> {
        let Value::Struct(fields) = self else { return Ok(None) };
        if quoted {
            return Ok(fields.iter().find(|(k, _)| k == name).map(|(_, v)| v));
        }
        let mut found = None;
        for (k, v) in fields {
            if k.eq_ignore_ascii_case(name) {
                if found.is_some() {
                    return crate::error::err(
                        "AmbiguousFieldName",
                        format!("The field name \"{name}\" matches more than one field in the record."),
                    );
                }
                found = Some(v);
            }
        }
        Ok(found)
    }

    /// A number from a value: numbers themselves, and strings that read as one (CSV fields
    /// are text; arithmetic and comparison with a number convert them).
    pub fn as_number(&self) -> Option<Value<'static>> {
        match self {
            Value::Int(i) => Some(Value::Int(*i)),
            Value::Float(f) => Some(Value::Float(*f)),
            Value::Str(s) => parse_number(s.trim()),
            _ => None,
        }
    }

    pub fn truthy(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

pub fn parse_number(s: &str) -> Option<Value<'static>> {
    if s.is_empty() {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::Int(i));
    }
    let b = s.as_bytes();
    let numeric = b.iter().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'));
    if numeric {
        s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Float)
    } else {
        None
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// The order of two values, or `None` when they cannot be compared (then a comparison is
/// NULL). A string meets a number as the number it reads as.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Int(_) | Float(_), Int(_) | Float(_)) => as_f64(a).partial_cmp(&as_f64(b)),
        (Str(x), Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Str(_), Int(_) | Float(_)) => compare(&a.as_number()?, b),
        (Int(_) | Float(_), Str(_)) => compare(a, &b.as_number()?),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Ts(x), Ts(y)) => Some(x.instant().cmp(&y.instant())),
        (Ts(x), Str(s)) => Some(x.instant().cmp(&crate::time::Ts::parse(s)?.instant())),
        (Str(s), Ts(y)) => Some(crate::time::Ts::parse(s)?.instant().cmp(&y.instant())),
        (Str(s), Bool(y)) => parse_bool(s).map(|x| x.cmp(y)),
        (Bool(x), Str(s)) => parse_bool(s).map(|y| x.cmp(&y)),
        _ => None,
    }
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        t if t.eq_ignore_ascii_case("true") => Some(true),
        t if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// How a number prints: integers as such, floats in their shortest exact form.
pub fn format_float(f: f64, out: &mut String) {
    use std::fmt::Write;
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        let _ = write!(out, "{f:.1}");
    } else {
        let _ = write!(out, "{f}");
    }
}

/// A value as text: a CSV field, a string conversion.
pub fn to_text(v: &Value, out: &mut String) {
    use std::fmt::Write;
    match v {
        Value::Missing | Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => format_float(*f, out),
        Value::Str(s) => out.push_str(s),
        Value::Ts(t) => t.format_iso(out),
        Value::List(_) | Value::Struct(_) => write_json(v, out),
    }
}

/// A value as JSON text (MISSING attributes are left out of structs).
pub fn write_json(v: &Value, out: &mut String) {
    use std::fmt::Write;
    match v {
        Value::Missing | Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) if !f.is_finite() => out.push_str("null"),
        Value::Float(f) => format_float(*f, out),
        Value::Str(s) => json_string(s, out),
        Value::Ts(t) => {
            let mut s = String::new();
            t.format_iso(&mut s);
            json_string(&s, out);
        }
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, out);
            }
            out.push(']');
        }
        Value::Struct(f) => {
            out.push('{');
            let mut first = true;
            for (k, x) in f {
                if matches!(x, Value::Missing) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                json_string(k, out);
                out.push(':');
                write_json(x, out);
            }
            out.push('}');
        }
    }
}

pub fn json_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
