//! Binding a statement to its input: output column names, CSV columns by position or header
//! name, and the records a JSON value yields at the FROM clause's path.
use crate::ast::{Expr, Projection, Statement, Step};
use crate::error::{err, Result};
use crate::value::Value;

/// The names of the output columns: an alias, the last name of a path, or `_N` by position.
pub(crate) fn output_names(stmt: &Statement) -> Vec<String> {
    let Some(list) = &stmt.projections else { return Vec::new() };
    let alias = stmt.alias.as_deref();
    list.iter()
        .enumerate()
        .map(|(i, Projection { expr, alias: a })| {
            if let Some(a) = a {
                return a.clone();
            }
            if let Expr::Path { root, quoted, steps } = expr {
                if let Some(Step::Name(n, _)) = steps.iter().rev().find(|s| matches!(s, Step::Name(..))) {
                    return n.clone();
                }
                let is_alias = alias.is_some_and(|a| if *quoted { a == root } else { a.eq_ignore_ascii_case(root) });
                if steps.is_empty() && !is_alias {
                    return root.clone();
                }
            }
            format!("_{}", i + 1)
        })
        .collect()
}

/// A CSV column named in the query: `_N` by position, or a header name (exact when quoted).
fn column_index(name: &str, quoted: bool, header: Option<&[String]>) -> Result<usize> {
    if let Some(n) = name.strip_prefix('_').filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
        return match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n - 1),
            _ => err("InvalidColumnIndex", format!("The column index {name} in the SQL expression is not valid.")),
        };
    }
    let matches: Vec<usize> = header
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, h)| if quoted { h.as_str() == name } else { h.eq_ignore_ascii_case(name) })
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => Ok(*i),
        [] => err(
            "EvaluatorBindingDoesNotExist",
            format!("The column name or path \"{name}\" provided does not exist in the SQL expression."),
        ),
        _ => err("AmbiguousFieldName", format!("The field name \"{name}\" matches more than one column in the file.")),
    }
}

/// Binds every path of a CSV query to a column position, once the header is known.
pub(crate) fn bind_csv(stmt: &mut Statement, header: Option<&[String]>) -> Result<()> {
    let alias = stmt.alias.clone();
    let mut bind = |e: &mut Expr| -> Result<bool> {
        let Expr::Path { root, quoted, steps } = e else { return Ok(true) };
        let via_alias =
            alias.as_deref().is_some_and(|a| if *quoted { a == root } else { a.eq_ignore_ascii_case(root) });
        let (name, q, rest) = if via_alias {
            match steps.split_first() {
                Some((Step::Name(n, q), rest)) => (n.clone(), *q, rest),
                _ => return err("InvalidKeyPath", format!("\"{root}\" names the record, not one of its columns.")),
            }
        } else {
            (root.clone(), *quoted, &steps[..])
        };
        let column = column_index(&name, q, header)?;
        // A CSV field is text: a path into it finds nothing.
        *e = if rest.is_empty() { Expr::Column(column) } else { Expr::Lit(Value::Missing) };
        Ok(false)
    };
    if let Some(f) = &mut stmt.filter {
        f.visit_mut(&mut bind)?;
    }
    for p in stmt.projections.iter_mut().flatten() {
        p.expr.visit_mut(&mut bind)?;
    }
    Ok(())
}

/// The values a JSON record holds at the FROM clause's path (at least one: MISSING when the
/// path finds nothing).
fn expand(v: Value<'static>, steps: &[Step], out: &mut Vec<Value<'static>>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(v);
        return;
    };
    match (step, v) {
        (Step::Name(n, q), Value::Struct(fields)) => {
            if let Some((_, f)) = fields.into_iter().find(|(k, _)| if *q { k == n } else { k.eq_ignore_ascii_case(n) })
            {
                expand(f, rest, out);
            }
        }
        (Step::Index(i), Value::List(l)) if *i >= 0 => {
            if let Some(x) = l.into_iter().nth(*i as usize) {
                expand(x, rest, out);
            }
        }
        // Each element a wildcard reaches gives at least one record: MISSING when the rest of
        // the path finds nothing in it.
        (Step::Wildcard, Value::List(l)) => l.into_iter().for_each(|x| expand_one(x, rest, out)),
        (Step::Wildcard, Value::Struct(f)) => f.into_iter().for_each(|(_, x)| expand_one(x, rest, out)),
        _ => {}
    }
}

pub(crate) fn expand_one(v: Value<'static>, steps: &[Step], out: &mut Vec<Value<'static>>) {
    let before = out.len();
    expand(v, steps, out);
    if out.len() == before {
        out.push(Value::Missing);
    }
}
