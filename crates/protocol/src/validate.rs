//! The constraints a model declares on an input (required members, enum values, length and
//! value ranges), checked before any handler runs, with the messages AWS's services write:
//! `2 validation errors detected: Value null at 'userName' failed to satisfy constraint:
//! Member must not be null; ...`.
use crate::model::Model;
use serde_json::Value;

/// AWS's path of a member: its name with a lower-case first letter.
fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The violations of `value` (generic form of shape `shape_name`), one message each.
pub fn violations(model: &Model, shape_name: &str, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(model, shape_name, value, &At::Root, &mut out);
    out
}

/// Notes the violations of `value` in `into`, when a decoder wants them.
pub fn note(model: &Model, shape_name: &str, value: &Value, into: Option<&std::cell::RefCell<Vec<String>>>) {
    if let Some(cell) = into {
        cell.borrow_mut().extend(violations(model, shape_name, value));
    }
}

/// The error for a non-empty list of violations, as AWS words it.
pub fn message(violations: &[String]) -> String {
    let n = violations.len();
    format!("{n} validation error{} detected: {}", if n == 1 { "" } else { "s" }, violations.join("; "))
}

/// Where a value sits, rendered only when a violation names it.
#[derive(Clone, Copy)]
enum At<'a> {
    Root,
    Member(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    fn render(&self) -> String {
        match self {
            At::Root => String::new(),
            At::Member(parent, name) => join(&parent.render(), name),
            At::Index(parent, i) => format!("{}.{}.member", parent.render(), i + 1),
        }
    }
}

fn check(model: &Model, shape_name: &str, value: &Value, at: &At, out: &mut Vec<String>) {
    let shape = model.shape(shape_name);
    match (shape.kind.as_str(), value) {
        ("structure", Value::Object(obj)) => {
            for req in &shape.required {
                if obj.get(req).is_none_or(Value::is_null) {
                    let p = join(&at.render(), req);
                    out.push(format!("Value null at '{p}' failed to satisfy constraint: Member must not be null"));
                }
            }
            for (name, mref) in &shape.members {
                if let Some(v) = obj.get(name).filter(|v| !v.is_null()) {
                    check(model, &mref.shape, v, &At::Member(at, name), out);
                }
            }
        }
        ("list", Value::Array(items)) => {
            bounds(shape.min, shape.max, items.len() as f64, || shown(value), at, "length", out);
            let member = &shape.member.as_ref().expect("list member").shape;
            for (i, v) in items.iter().enumerate() {
                check(model, member, v, &At::Index(at, i), out);
            }
        }
        ("map", Value::Object(obj)) => {
            bounds(shape.min, shape.max, obj.len() as f64, || shown(value), at, "length", out);
            let v_shape = &shape.value.as_ref().expect("map value").shape;
            for v in obj.values() {
                check(model, v_shape, v, at, out);
            }
        }
        ("string", Value::String(s)) => {
            if !shape.enum_values.is_empty() && !shape.enum_values.contains(s) {
                out.push(format!(
                    "Value '{s}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    at.render(),
                    shape.enum_values.join(", ")
                ));
            }
            if shape.min.is_some() || shape.max.is_some() {
                bounds(shape.min, shape.max, s.chars().count() as f64, || s.clone(), at, "length", out);
            }
        }
        ("integer" | "long" | "float" | "double", Value::Number(n)) => {
            let v = n.as_f64().unwrap_or_default();
            bounds(shape.min, shape.max, v, || n.to_string(), at, "value", out);
        }
        _ => {}
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        lower_first(name)
    } else {
        format!("{path}.{}", lower_first(name))
    }
}

fn bounds(
    min: Option<f64>,
    max: Option<f64>,
    got: f64,
    shown: impl Fn() -> String,
    at: &At,
    what: &str,
    out: &mut Vec<String>,
) {
    let int = |x: f64| if x.fract() == 0.0 { format!("{}", x as i64) } else { x.to_string() };
    if let Some(m) = min.filter(|m| got < *m) {
        out.push(format!(
            "Value '{}' at '{}' failed to satisfy constraint: Member must have {what} greater than or equal to {}",
            shown(),
            at.render(),
            int(m)
        ));
    }
    if let Some(m) = max.filter(|m| got > *m) {
        out.push(format!(
            "Value '{}' at '{}' failed to satisfy constraint: Member must have {what} less than or equal to {}",
            shown(),
            at.render(),
            int(m)
        ));
    }
}
