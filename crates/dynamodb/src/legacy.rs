//! DynamoDB's pre-expression parameters (`Expected`, `AttributeUpdates`, `KeyConditions`,
//! `QueryFilter`, `ScanFilter`, `ConditionalOperator`), translated into the expressions
//! they mean, so that both kinds of request run the same evaluator.
use crate::expr::{Cmp, Cond, Operand, Step, Update};
use crate::value::{validation, Av};
use nuage_core::AwsResult;
use nuage_protocol::dynamodb as m;
use std::collections::BTreeMap;

fn invalid(msg: impl std::fmt::Display) -> nuage_core::AwsError {
    validation(format!("One or more parameter values were invalid: {msg}"))
}

/// Refuses a request mixing the two kinds of parameters, as DynamoDB does.
pub fn not_both(legacy: &[(&str, bool)], expressions: &[(&str, bool)]) -> AwsResult<()> {
    let l: Vec<&str> = legacy.iter().filter(|(_, p)| *p).map(|(n, _)| *n).collect();
    let e: Vec<&str> = expressions.iter().filter(|(_, p)| *p).map(|(n, _)| *n).collect();
    if !l.is_empty() && !e.is_empty() {
        return Err(validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            l.join(", "),
            e.join(", ")
        )));
    }
    Ok(())
}

fn values(list: Option<Vec<m::AttributeValue>>) -> AwsResult<Vec<Av>> {
    list.unwrap_or_default().into_iter().map(Av::from_wire).collect()
}

/// One legacy `Condition` on attribute `name`.
fn condition(name: &str, op: &str, args: Vec<Av>) -> AwsResult<Cond> {
    let path = vec![Step::Attr(name.to_string())];
    let arity = |n: usize| -> AwsResult<()> {
        if args.len() != n {
            return Err(invalid(format!("Invalid number of argument(s) for the {op} ComparisonOperator")));
        }
        Ok(())
    };
    let scalar = |v: &Av| -> AwsResult<()> {
        if matches!(v, Av::S(_) | Av::N(_) | Av::B(_)) {
            Ok(())
        } else {
            Err(invalid(format!("ComparisonOperator {op} is not valid for {} AttributeValue type", v.type_name())))
        }
    };
    let p = || Operand::Path(path.clone());
    let cmp = |c: Cmp, args: &[Av]| Cond::Cmp(p(), c, Operand::Value(args[0].clone()));
    Ok(match op {
        "EQ" | "NE" => {
            arity(1)?;
            cmp(if op == "EQ" { Cmp::Eq } else { Cmp::Ne }, &args)
        }
        "LT" | "LE" | "GT" | "GE" => {
            arity(1)?;
            scalar(&args[0])?;
            let c = match op {
                "LT" => Cmp::Lt,
                "LE" => Cmp::Le,
                "GT" => Cmp::Gt,
                _ => Cmp::Ge,
            };
            cmp(c, &args)
        }
        "NOT_NULL" => {
            arity(0)?;
            Cond::Exists(path)
        }
        "NULL" => {
            arity(0)?;
            Cond::NotExists(path)
        }
        "CONTAINS" | "NOT_CONTAINS" => {
            arity(1)?;
            scalar(&args[0])?;
            let c = Cond::Contains(p(), Operand::Value(args[0].clone()));
            if op == "CONTAINS" {
                c
            } else {
                // NOT_CONTAINS is true of an absent attribute too.
                Cond::Not(Box::new(c))
            }
        }
        "BEGINS_WITH" => {
            arity(1)?;
            if !matches!(args[0], Av::S(_) | Av::B(_)) {
                return Err(invalid(format!(
                    "ComparisonOperator {op} is not valid for {} AttributeValue type",
                    args[0].type_name()
                )));
            }
            Cond::BeginsWith(p(), Operand::Value(args[0].clone()))
        }
        "IN" => {
            if args.is_empty() {
                return Err(invalid(format!("Invalid number of argument(s) for the {op} ComparisonOperator")));
            }
            Cond::In(p(), args.into_iter().map(Operand::Value).collect())
        }
        "BETWEEN" => {
            arity(2)?;
            scalar(&args[0])?;
            scalar(&args[1])?;
            if args[0].compare(&args[1]) == Some(std::cmp::Ordering::Greater) {
                return Err(invalid(
                    "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
                ));
            }
            Cond::Between(p(), Operand::Value(args[0].clone()), Operand::Value(args[1].clone()))
        }
        other => return Err(invalid(format!("Unsupported ComparisonOperator: {other}"))),
    })
}

fn combine(conds: Vec<Cond>, operator: Option<&str>) -> AwsResult<Option<Cond>> {
    let or = match operator {
        None | Some("AND") => false,
        Some("OR") => true,
        Some(other) => return Err(validation(format!("Unsupported ConditionalOperator: {other}"))),
    };
    Ok(conds.into_iter().reduce(|a, b| {
        if or {
            Cond::Or(Box::new(a), Box::new(b))
        } else {
            Cond::And(Box::new(a), Box::new(b))
        }
    }))
}

/// `KeyConditions`, `QueryFilter` or `ScanFilter`: conditions on attributes, joined by
/// `ConditionalOperator` (filters only; key conditions are always joined by AND).
pub fn conditions(map: BTreeMap<String, m::Condition>, operator: Option<&str>) -> AwsResult<Option<Cond>> {
    let mut out = Vec::new();
    for (name, c) in map {
        let op = c.comparison_operator.ok_or_else(|| invalid("ComparisonOperator is required"))?;
        out.push(condition(&name, &op, values(c.attribute_value_list)?)?);
    }
    combine(out, operator)
}

/// `Expected`: per attribute, a comparison, or the `Exists`/`Value` shorthand.
pub fn expected(map: BTreeMap<String, m::ExpectedAttributeValue>, operator: Option<&str>) -> AwsResult<Option<Cond>> {
    let mut out = Vec::new();
    for (name, e) in map {
        let path = vec![Step::Attr(name.clone())];
        let cond = match (e.comparison_operator, e.exists, e.value) {
            (Some(op), None, None) => condition(&name, &op, values(e.attribute_value_list)?)?,
            (Some(_), _, _) => {
                return Err(invalid("Exists and Value cannot be used with ComparisonOperator and AttributeValueList"))
            }
            (None, Some(false), None) => Cond::NotExists(path),
            (None, Some(false), Some(_)) => return Err(invalid("Value cannot be used when Exists is false")),
            (None, _, Some(v)) => Cond::Cmp(Operand::Path(path), Cmp::Eq, Operand::Value(Av::from_wire(v)?)),
            (None, _, None) => return Err(invalid("Value must be provided when Exists is true")),
        };
        out.push(cond);
    }
    combine(out, operator)
}

/// `AttributeUpdates`: PUT, ADD (numbers, sets, and lists appended to) and DELETE (the
/// attribute, or elements of a set).
pub fn attribute_updates(map: BTreeMap<String, m::AttributeValueUpdate>) -> AwsResult<Update> {
    let mut u = Update::default();
    for (name, a) in map {
        let path = vec![Step::Attr(name.clone())];
        let value = a.value.map(Av::from_wire).transpose()?;
        match (a.action.as_deref().unwrap_or("PUT"), value) {
            ("PUT", Some(v)) => u.set.push((path, Operand::Value(v))),
            ("PUT", None) => {
                return Err(invalid(format!(
                    "Only DELETE action is allowed when no attribute value is specified: {name}"
                )))
            }
            ("DELETE", None) => u.remove.push(path),
            ("DELETE", Some(v)) => u.delete.push((path, v)),
            ("ADD", Some(Av::L(l))) => {
                let existing = Operand::IfNotExists(path.clone(), Box::new(Operand::Value(Av::L(Vec::new()))));
                u.set.push((path, Operand::ListAppend(Box::new(existing), Box::new(Operand::Value(Av::L(l))))));
            }
            ("ADD", Some(v)) => u.add.push((path, v)),
            ("ADD", None) => {
                return Err(invalid(format!(
                    "Only DELETE action is allowed when no attribute value is specified: {name}"
                )))
            }
            (other, _) => return Err(invalid(format!("Unsupported AttributeAction: {other}"))),
        }
    }
    Ok(u)
}
