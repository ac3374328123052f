//! Evaluation of expressions against one row, with SQL's three-valued logic and PartiQL's
//! MISSING: an absent attribute, a comparison across types or arithmetic on text that is not
//! a number yields no value rather than stopping the query.
use crate::ast::*;
use crate::error::{err, Result, SelectError};
use crate::time::Ts;
use crate::value::{compare, parse_bool, parse_number, to_text, Value};
use std::borrow::Cow;
use std::cmp::Ordering;

/// One input record as the evaluator reads it.
#[derive(Clone, Copy)]
pub enum Row<'r> {
    /// No record: the projection of an aggregate query's single answer.
    None,
    /// A CSV record; its columns are bound to positions before the scan.
    Csv(&'r csv::ByteRecord),
    /// A JSON value or a Parquet row.
    Doc(&'r Value<'static>),
}

/// How a path's first name reaches the row: the FROM clause's alias, the last name of its
/// JSON path, and whether `_1` stands for the row (the path ends in a wildcard).
#[derive(Debug, Default, Clone)]
pub struct Scope {
    pub alias: Option<String>,
    pub implicit: Option<String>,
    pub wildcard_row: bool,
}

pub struct Env<'r> {
    pub row: Row<'r>,
    pub aggregates: &'r [Value<'static>],
    pub scope: &'r Scope,
}

static MISSING: Value<'static> = Value::Missing;

fn names_match(given: &str, quoted: bool, name: &str) -> bool {
    if quoted {
        given == name
    } else {
        given.eq_ignore_ascii_case(name)
    }
}

fn resolve<'a>(root: &str, quoted: bool, steps: &[Step], env: &Env<'a>) -> Result<Value<'a>> {
    let row = match env.row {
        Row::Doc(v) => v,
        _ => return Ok(Value::Missing),
    };
    let s = env.scope;
    let mut cur: &'a Value<'static> = if s.alias.as_deref().is_some_and(|a| names_match(root, quoted, a))
        || s.implicit.as_deref().is_some_and(|a| names_match(root, quoted, a))
    {
        row
    } else {
        match row.field(root, quoted)? {
            Some(v) => v,
            None if s.wildcard_row && root == "_1" => row,
            None => &MISSING,
        }
    };
    for step in steps {
        cur = match step {
            Step::Name(n, q) => cur.field(n, *q)?.unwrap_or(&MISSING),
            Step::Index(i) => match cur {
                Value::List(l) if *i >= 0 => l.get(*i as usize).unwrap_or(&MISSING),
                _ => &MISSING,
            },
            Step::Wildcard => &MISSING,
        };
    }
    Ok(cur.borrowed())
}

fn null_of(a: &Value, b: &Value) -> Option<Value<'static>> {
    if matches!(a, Value::Missing) || matches!(b, Value::Missing) {
        Some(Value::Missing)
    } else if matches!(a, Value::Null) || matches!(b, Value::Null) {
        Some(Value::Null)
    } else {
        None
    }
}

fn arithmetic(op: BinOp, a: &Value, b: &Value) -> Result<Value<'static>> {
    if let Some(n) = null_of(a, b) {
        return Ok(n);
    }
    let (Some(x), Some(y)) = (a.as_number(), b.as_number()) else { return Ok(Value::Missing) };
    let overflow =
        || SelectError::new("IntegerOverflow", "An integer overflow or underflow occurred in the SQL expression.");
    let by_zero = || SelectError::new("IllegalSqlFunctionArgument", "Division by zero in the SQL expression.");
    Ok(match (x, y) {
        (Value::Int(x), Value::Int(y)) => Value::Int(match op {
            BinOp::Add => x.checked_add(y).ok_or_else(overflow)?,
            BinOp::Sub => x.checked_sub(y).ok_or_else(overflow)?,
            BinOp::Mul => x.checked_mul(y).ok_or_else(overflow)?,
            BinOp::Div if y == 0 => return Err(by_zero()),
            BinOp::Div => x.checked_div(y).ok_or_else(overflow)?,
            BinOp::Mod if y == 0 => return Err(by_zero()),
            _ => x.checked_rem(y).ok_or_else(overflow)?,
        }),
        (x, y) => {
            let f = |v: Value| match v {
                Value::Int(i) => i as f64,
                Value::Float(f) => f,
                _ => f64::NAN,
            };
            let (x, y) = (f(x), f(y));
            if matches!(op, BinOp::Div | BinOp::Mod) && y == 0.0 {
                return Err(by_zero());
            }
            Value::Float(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                _ => x % y,
            })
        }
    })
}

fn comparison(op: BinOp, a: &Value, b: &Value) -> Value<'static> {
    if let Some(n) = null_of(a, b) {
        return n;
    }
    let ord = compare(a, b);
    Value::Bool(match (op, ord) {
        (BinOp::Eq, o) => o == Some(Ordering::Equal),
        (BinOp::Ne, o) => o != Some(Ordering::Equal),
        (_, None) => return Value::Null,
        (BinOp::Lt, Some(o)) => o == Ordering::Less,
        (BinOp::Le, Some(o)) => o != Ordering::Greater,
        (BinOp::Gt, Some(o)) => o == Ordering::Greater,
        (_, Some(o)) => o != Ordering::Less,
    })
}

/// Truth of a condition in three values: `Some(bool)`, or `None` for NULL/MISSING/non-boolean.
fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn text<'a>(v: Value<'a>) -> Option<Cow<'a, str>> {
    match v {
        Value::Str(s) => Some(s),
        Value::Missing | Value::Null => None,
        other => {
            let mut s = String::new();
            to_text(&other, &mut s);
            Some(Cow::Owned(s))
        }
    }
}

fn timestamp(v: &Value, function: &str) -> Result<Option<Ts>> {
    match v {
        Value::Ts(t) => Ok(Some(*t)),
        Value::Missing | Value::Null => Ok(None),
        Value::Str(s) => Ts::parse(s).map(Some).ok_or_else(|| {
            SelectError::new("ValueParseFailure", format!("Cannot parse '{s}' as a timestamp in {function}."))
        }),
        _ => err("IncorrectSqlFunctionArgumentType", format!("{function} takes a timestamp.")),
    }
}

fn integer(v: &Value, function: &str) -> Result<Option<i64>> {
    match v {
        Value::Missing | Value::Null => Ok(None),
        other => match other.as_number() {
            Some(Value::Int(i)) => Ok(Some(i)),
            Some(Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Some(f as i64)),
            _ => err("IncorrectSqlFunctionArgumentType", format!("{function} takes an integer.")),
        },
    }
}

/// LIKE: `%` any run, `_` one character, `escape` making the next one literal.
pub fn like(s: &str, pattern: &str, escape: Option<char>) -> Result<bool> {
    enum P {
        Any,
        One,
        Lit(char),
    }
    let mut pat = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        if Some(c) == escape {
            match it.next() {
                Some(n) => pat.push(P::Lit(n)),
                None => {
                    return err(
                        "EvaluatorLikePatternInvalidEscapeSequence",
                        "The LIKE pattern ends with its escape character.",
                    )
                }
            }
        } else if c == '%' {
            pat.push(P::Any);
        } else if c == '_' {
            pat.push(P::One);
        } else {
            pat.push(P::Lit(c));
        }
    }
    let s: Vec<char> = s.chars().collect();
    // Greedy matching with one backtrack point per `%`: linear in practice.
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match pat.get(pi) {
            Some(P::Any) => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(P::One) => {
                si += 1;
                pi += 1;
            }
            Some(P::Lit(c)) if *c == s[si] => {
                si += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return Ok(false),
            },
        }
    }
    Ok(pat[pi..].iter().all(|p| matches!(p, P::Any)))
}

fn cast<'a>(v: Value<'a>, ty: Type) -> Result<Value<'a>> {
    if v.is_absent() {
        return Ok(v);
    }
    let failed = |v: &Value| {
        let mut s = String::new();
        to_text(v, &mut s);
        SelectError::new(
            "CastFailed",
            format!("Attempt to convert from one data type to another using CAST failed in the SQL expression: '{s}' as {ty:?}."),
        )
    };
    Ok(match ty {
        Type::String => Value::Str(text(v).unwrap_or_default()),
        Type::Int => match &v {
            Value::Bool(b) => Value::Int(*b as i64),
            _ => match v.as_number() {
                Some(Value::Int(i)) => Value::Int(i),
                Some(Value::Float(f)) if f.abs() < 9.2e18 => Value::Int(f.trunc() as i64),
                _ => return Err(failed(&v)),
            },
        },
        Type::Float | Type::Decimal => match &v {
            Value::Bool(b) => Value::Float(*b as i64 as f64),
            _ => match v.as_number() {
                Some(Value::Int(i)) => Value::Float(i as f64),
                Some(n) => n,
                None => return Err(failed(&v)),
            },
        },
        Type::Bool => match &v {
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Bool(*i != 0),
            Value::Float(f) => Value::Bool(*f != 0.0),
            Value::Str(s) => match parse_bool(s).or_else(|| parse_number(s.trim()).map(|n| n != Value::Int(0))) {
                Some(b) => Value::Bool(b),
                None => return Err(failed(&v)),
            },
            _ => return Err(failed(&v)),
        },
        Type::Timestamp => match &v {
            Value::Ts(t) => Value::Ts(*t),
            Value::Str(s) => Value::Ts(Ts::parse(s).ok_or_else(|| failed(&v))?),
            _ => return Err(failed(&v)),
        },
    })
}

fn substring(s: &str, start: i64, len: Option<i64>) -> Result<String> {
    // SQL's positions: characters `start .. start+len` (1-based), clipped to the string.
    let end = match len {
        Some(l) if l < 0 => return err("InvalidDataType", "SUBSTRING's length must not be negative."),
        Some(l) => start.saturating_add(l),
        None => i64::MAX,
    };
    let from = start.max(1);
    if end <= from {
        return Ok(String::new());
    }
    Ok(s.chars().skip((from - 1) as usize).take(usize::try_from(end - from).unwrap_or(usize::MAX)).collect())
}

pub fn eval<'a>(e: &'a Expr, env: &Env<'a>) -> Result<Value<'a>> {
    Ok(match e {
        Expr::Lit(v) => v.borrowed(),
        Expr::Column(i) => match env.row {
            Row::Csv(rec) => match rec.get(*i) {
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(s) => Value::Str(Cow::Borrowed(s)),
                    Err(_) => {
                        return err(
                            "InvalidTextEncoding",
                            "The encoding type is not valid. Only UTF-8 encoding is supported.",
                        )
                    }
                },
                None => Value::Missing,
            },
            _ => Value::Missing,
        },
        Expr::Path { root, quoted, steps } => resolve(root, *quoted, steps, env)?,
        Expr::Neg(x) => arithmetic(BinOp::Sub, &Value::Int(0), &eval(x, env)?)?,
        Expr::Not(x) => match truth(&eval(x, env)?) {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        Expr::And(a, b) => {
            let x = truth(&eval(a, env)?);
            if x == Some(false) {
                return Ok(Value::Bool(false));
            }
            match (x, truth(&eval(b, env)?)) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        Expr::Or(a, b) => {
            let x = truth(&eval(a, env)?);
            if x == Some(true) {
                return Ok(Value::Bool(true));
            }
            match (x, truth(&eval(b, env)?)) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        Expr::Binary(op, a, b) => {
            let (x, y) = (eval(a, env)?, eval(b, env)?);
            match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => arithmetic(*op, &x, &y)?,
                BinOp::Concat => match null_of(&x, &y) {
                    Some(n) => n,
                    None => {
                        let mut s = text(x).unwrap_or_default().into_owned();
                        s.push_str(&text(y).unwrap_or_default());
                        Value::Str(Cow::Owned(s))
                    }
                },
                _ => comparison(*op, &x, &y),
            }
        }
        Expr::Is { expr, missing, negated } => {
            let v = eval(expr, env)?;
            let is = if *missing { matches!(v, Value::Missing) } else { v.is_absent() };
            Value::Bool(is != *negated)
        }
        Expr::Like { expr, pattern, escape, negated } => {
            let (s, p) = (eval(expr, env)?, eval(pattern, env)?);
            if let Some(n) = null_of(&s, &p) {
                return Ok(n);
            }
            let esc = match escape {
                None => None,
                Some(e) => match eval(e, env)? {
                    Value::Str(c) if c.chars().count() == 1 => c.chars().next(),
                    _ => {
                        return err(
                            "EvaluatorLikePatternInvalidEscapeSequence",
                            "The ESCAPE of LIKE must be a single character.",
                        )
                    }
                },
            };
            match (s, p) {
                (Value::Str(s), Value::Str(p)) => Value::Bool(like(&s, &p, esc)? != *negated),
                (_, Value::Str(_)) => Value::Null,
                _ => {
                    return err(
                        "LikeInvalidInputs",
                        "The argument given to the LIKE clause in the SQL expression is not valid.",
                    )
                }
            }
        }
        Expr::Between { expr, low, high, negated } => {
            let v = eval(expr, env)?;
            let lo = comparison(BinOp::Ge, &v, &eval(low, env)?);
            let hi = comparison(BinOp::Le, &v, &eval(high, env)?);
            match (truth(&lo), truth(&hi)) {
                (Some(a), Some(b)) => Value::Bool((a && b) != *negated),
                (Some(false), _) | (_, Some(false)) => Value::Bool(*negated),
                _ => Value::Null,
            }
        }
        Expr::In { expr, list, negated } => {
            let v = eval(expr, env)?;
            if v.is_absent() {
                return Ok(Value::Null);
            }
            let mut unknown = false;
            for item in list {
                match comparison(BinOp::Eq, &v, &eval(item, env)?) {
                    Value::Bool(true) => return Ok(Value::Bool(!*negated)),
                    Value::Bool(false) => {}
                    _ => unknown = true,
                }
            }
            if unknown {
                Value::Null
            } else {
                Value::Bool(*negated)
            }
        }
        Expr::Case { operand, whens, otherwise } => {
            let subject = match operand {
                Some(o) => Some(eval(o, env)?),
                None => None,
            };
            for (w, then) in whens {
                let hit = match &subject {
                    Some(s) => comparison(BinOp::Eq, s, &eval(w, env)?).truthy(),
                    None => eval(w, env)?.truthy(),
                };
                if hit {
                    return eval(then, env);
                }
            }
            match otherwise {
                Some(o) => eval(o, env)?,
                None => Value::Null,
            }
        }
        Expr::Cast(x, ty) => cast(eval(x, env)?, *ty)?,
        Expr::Call(f, args) => call(*f, args, env)?,
        Expr::Extract(part, x) => match timestamp(&eval(x, env)?, "EXTRACT")? {
            Some(t) => Value::Int(t.extract(*part)),
            None => Value::Null,
        },
        Expr::DateAdd(part, n, t) => {
            let (n, t) = (integer(&eval(n, env)?, "DATE_ADD")?, timestamp(&eval(t, env)?, "DATE_ADD")?);
            match (n, t) {
                (Some(n), Some(t)) => Value::Ts(t.add(*part, n)?),
                _ => Value::Null,
            }
        }
        Expr::DateDiff(part, a, b) => {
            let (a, b) = (timestamp(&eval(a, env)?, "DATE_DIFF")?, timestamp(&eval(b, env)?, "DATE_DIFF")?);
            match (a, b) {
                (Some(a), Some(b)) => Value::Int(a.diff(*part, &b)?),
                _ => Value::Null,
            }
        }
        Expr::Trim { side, chars, expr } => {
            let Some(s) = text(eval(expr, env)?) else { return Ok(Value::Null) };
            let set: Vec<char> = match chars {
                Some(c) => match text(eval(c, env)?) {
                    Some(c) => c.chars().collect(),
                    None => return Ok(Value::Null),
                },
                None => vec![' '],
            };
            let trimmed = match side {
                TrimSide::Leading => s.trim_start_matches(set.as_slice()),
                TrimSide::Trailing => s.trim_end_matches(set.as_slice()),
                TrimSide::Both => s.trim_matches(set.as_slice()),
            };
            Value::Str(Cow::Owned(trimmed.to_string()))
        }
        Expr::Substring { expr, start, len } => {
            let s = eval(expr, env)?;
            let st = integer(&eval(start, env)?, "SUBSTRING")?;
            let ln = match len {
                Some(l) => match integer(&eval(l, env)?, "SUBSTRING")? {
                    Some(l) => Some(l),
                    None => return Ok(Value::Null),
                },
                None => None,
            };
            match (text(s), st) {
                (Some(s), Some(st)) => Value::Str(Cow::Owned(substring(&s, st, ln)?)),
                _ => Value::Null,
            }
        }
        Expr::Aggregate { slot, .. } => env.aggregates.get(*slot).map(Value::borrowed).unwrap_or(Value::Null),
    })
}

fn call<'a>(f: Func, args: &'a [Expr], env: &Env<'a>) -> Result<Value<'a>> {
    let arg = |i: usize| eval(&args[i], env);
    Ok(match f {
        Func::Coalesce => {
            for a in args {
                let v = eval(a, env)?;
                if !v.is_absent() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        Func::NullIf => {
            let (a, b) = (arg(0)?, arg(1)?);
            if a.is_absent() || comparison(BinOp::Eq, &a, &b).truthy() {
                Value::Null
            } else {
                a
            }
        }
        Func::CharLength => match arg(0)? {
            Value::Str(s) => Value::Int(s.chars().count() as i64),
            v if v.is_absent() => Value::Null,
            _ => return err("IncorrectSqlFunctionArgumentType", "CHAR_LENGTH takes a string."),
        },
        Func::Lower | Func::Upper => match arg(0)? {
            Value::Str(s) => Value::Str(Cow::Owned(if f == Func::Lower { s.to_lowercase() } else { s.to_uppercase() })),
            v if v.is_absent() => Value::Null,
            _ => return err("IncorrectSqlFunctionArgumentType", "LOWER and UPPER take a string."),
        },
        Func::ToString => {
            let t = timestamp(&arg(0)?, "TO_STRING")?;
            match (t, arg(1)?) {
                (Some(t), Value::Str(p)) => Value::Str(Cow::Owned(t.format_pattern(&p)?)),
                (None, _) => Value::Null,
                _ => return err("IncorrectSqlFunctionArgumentType", "TO_STRING takes a format pattern string."),
            }
        }
        Func::ToTimestamp => match timestamp(&arg(0)?, "TO_TIMESTAMP")? {
            Some(t) => Value::Ts(t),
            None => Value::Null,
        },
        Func::UtcNow => Value::Ts(Ts::now()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("cbcdXvwxyz", "cbcd%", None).unwrap());
        assert!(like("abc_ar", "%!_ar", Some('!')).unwrap());
        assert!(!like("abcar", "%!_ar", Some('!')).unwrap());
        assert!(like("aXb", "a_b", None).unwrap());
        assert!(like("", "%", None).unwrap());
        assert!(!like("ab", "a", None).unwrap());
        assert!(like("mississippi", "%iss%ppi", None).unwrap());
    }

    #[test]
    fn substring_as_the_documentation_shows() {
        assert_eq!(substring("123456789", 0, None).unwrap(), "123456789");
        assert_eq!(substring("123456789", 1, None).unwrap(), "123456789");
        assert_eq!(substring("123456789", 2, None).unwrap(), "23456789");
        assert_eq!(substring("123456789", -4, None).unwrap(), "123456789");
        assert_eq!(substring("123456789", 0, Some(999)).unwrap(), "123456789");
        assert_eq!(substring("123456789", 1, Some(5)).unwrap(), "12345");
    }
}
