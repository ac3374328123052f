//! Expressions evaluated against items: conditions and filters, update actions, projections.
use crate::expr::{Cmp, Cond, Operand, Path, Step, Update};
use crate::value::{number, validation, Av, Item};
use nuage_core::AwsResult;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The value at `path` in `item`, if there is one.
pub fn resolve<'i>(item: &'i Item, path: &Path) -> Option<&'i Av> {
    let mut steps = path.iter();
    let Some(Step::Attr(first)) = steps.next() else { return None };
    let mut cur = item.get(first)?;
    for step in steps {
        cur = match (step, cur) {
            (Step::Attr(a), Av::M(m)) => m.get(a)?,
            (Step::Index(i), Av::L(l)) => l.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn operand<'i>(kind: &str, item: &'i Item, op: &'i Operand) -> AwsResult<Option<Cow<'i, Av>>> {
    Ok(match op {
        Operand::Path(p) => resolve(item, p).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(p) => match resolve(item, p) {
            None => None,
            Some(v) => {
                let n = match v {
                    Av::S(s) => s.len(),
                    Av::B(b) => b.len(),
                    Av::SS(s) => s.len(),
                    Av::NS(s) => s.len(),
                    Av::BS(s) => s.len(),
                    Av::L(l) => l.len(),
                    Av::M(m) => m.len(),
                    other => {
                        return Err(validation(format!(
                            "Invalid {kind}: Incorrect operand type for operator or function; operator or function: size, operand type: {}",
                            other.type_name()
                        )))
                    }
                };
                Some(Cow::Owned(Av::N(n.to_string())))
            }
        },
        _ => return Err(validation(format!("Invalid {kind}: unexpected operand"))),
    })
}

/// Whether `item` (empty when there is none) satisfies `cond`.
pub fn eval(kind: &str, cond: &Cond, item: &Item) -> AwsResult<bool> {
    Ok(match cond {
        Cond::And(a, b) => eval(kind, a, item)? && eval(kind, b, item)?,
        Cond::Or(a, b) => eval(kind, a, item)? || eval(kind, b, item)?,
        Cond::Not(a) => !eval(kind, a, item)?,
        Cond::Exists(p) => resolve(item, p).is_some(),
        Cond::NotExists(p) => resolve(item, p).is_none(),
        Cond::Type(p, t) => match (resolve(item, p), operand(kind, item, t)?.as_deref()) {
            (Some(v), Some(Av::S(t))) => v.type_name() == t,
            (_, Some(Av::S(_))) => false,
            (_, other) => {
                return Err(validation(format!(
                    "Invalid {kind}: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {}",
                    other.map(|o| o.type_name()).unwrap_or("NULL")
                )))
            }
        },
        Cond::BeginsWith(a, b) => {
            let b = operand(kind, item, b)?;
            if let Some(b) = b.as_deref() {
                if !matches!(b, Av::S(_) | Av::B(_)) {
                    return Err(validation(format!("Invalid {kind}: Incorrect operand type for operator or function; operator or function: begins_with, operand type: {}", b.type_name())));
                }
            }
            match (operand(kind, item, a)?.as_deref(), b.as_deref()) {
                (Some(Av::S(a)), Some(Av::S(b))) => a.starts_with(b.as_str()),
                (Some(Av::B(a)), Some(Av::B(b))) => a.starts_with(b),
                _ => false,
            }
        }
        Cond::Contains(a, b) => match (operand(kind, item, a)?.as_deref(), operand(kind, item, b)?.as_deref()) {
            (Some(Av::S(a)), Some(Av::S(b))) => a.contains(b.as_str()),
            (Some(Av::SS(a)), Some(Av::S(b))) => a.contains(b),
            (Some(Av::NS(a)), Some(n @ Av::N(_))) => a.iter().any(|x| Av::N(x.clone()).equals(n)),
            (Some(Av::BS(a)), Some(Av::B(b))) => a.contains(b),
            (Some(Av::L(a)), Some(b)) => a.iter().any(|x| x.equals(b)),
            _ => false,
        },
        Cond::Cmp(a, op, b) => {
            let (a, b) = (operand(kind, item, a)?, operand(kind, item, b)?);
            let (Some(a), Some(b)) = (a.as_deref(), b.as_deref()) else { return Ok(*op == Cmp::Ne) };
            match op {
                Cmp::Eq => a.equals(b),
                Cmp::Ne => !a.equals(b),
                _ => match a.compare(b) {
                    None => false,
                    Some(o) => match op {
                        Cmp::Lt => o == Ordering::Less,
                        Cmp::Le => o != Ordering::Greater,
                        Cmp::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    },
                },
            }
        }
        Cond::Between(a, lo, hi) => {
            match (
                operand(kind, item, a)?.as_deref(),
                operand(kind, item, lo)?.as_deref(),
                operand(kind, item, hi)?.as_deref(),
            ) {
                (Some(a), Some(lo), Some(hi)) => {
                    matches!(a.compare(lo), Some(Ordering::Greater | Ordering::Equal))
                        && matches!(a.compare(hi), Some(Ordering::Less | Ordering::Equal))
                }
                _ => false,
            }
        }
        Cond::In(a, list) => match operand(kind, item, a)? {
            None => false,
            Some(a) => {
                let mut found = false;
                for o in list {
                    if operand(kind, item, o)?.is_some_and(|v| v.equals(&a)) {
                        found = true;
                        break;
                    }
                }
                found
            }
        },
    })
}

fn update_error(msg: impl std::fmt::Display) -> nuage_core::AwsError {
    validation(format!("Invalid UpdateExpression: {msg}"))
}

fn wrong_type(op: &str, v: &Av) -> nuage_core::AwsError {
    update_error(format!(
        "Incorrect operand type for operator or function; operator or function: {op}, operand type: {}",
        v.type_name()
    ))
}

/// The value a SET action assigns, computed against the item as it was before the update.
fn set_value(item: &Item, op: &Operand) -> AwsResult<Av> {
    let missing = || validation("The provided expression refers to an attribute that does not exist in the item");
    Ok(match op {
        Operand::Path(p) => resolve(item, p).cloned().ok_or_else(missing)?,
        Operand::Value(v) => v.clone(),
        Operand::IfNotExists(p, v) => match resolve(item, p) {
            Some(existing) => existing.clone(),
            None => set_value(item, v)?,
        },
        Operand::ListAppend(a, b) => match (set_value(item, a)?, set_value(item, b)?) {
            (Av::L(mut a), Av::L(b)) => {
                a.extend(b);
                Av::L(a)
            }
            (Av::L(_), other) | (other, _) => return Err(wrong_type("list_append", &other)),
        },
        Operand::Plus(a, b) | Operand::Minus(a, b) => {
            let plus = matches!(op, Operand::Plus(..));
            // Arithmetic takes numbers only.
            match (set_value(item, a)?, set_value(item, b)?) {
                (Av::N(a), Av::N(b)) => {
                    let (a, b) = (number(&a)?, number(&b)?);
                    let r = if plus { a.add(&b) } else { a.sub(&b) };
                    Av::N(r.map_err(|e| validation(e.message()))?.canonical())
                }
                _ => return Err(validation("An operand in the update expression has an incorrect data type")),
            }
        }
        Operand::Size(_) => {
            return Err(update_error("The function is not allowed in an update expression; function: size"))
        }
    })
}

fn invalid_path() -> nuage_core::AwsError {
    validation("The document path provided in the update expression is invalid for update")
}

/// The container holding the last step of `path`, created by nothing: it must exist.
fn parent_mut<'i>(item: &'i mut Item, path: &Path) -> AwsResult<Option<&'i mut Av>> {
    if path.len() == 1 {
        return Ok(None);
    }
    let Some(Step::Attr(first)) = path.first() else { return Err(invalid_path()) };
    let mut cur = item.get_mut(first).ok_or_else(invalid_path)?;
    for step in &path[1..path.len() - 1] {
        cur = match (step, cur) {
            (Step::Attr(a), Av::M(m)) => m.get_mut(a).ok_or_else(invalid_path)?,
            (Step::Index(i), Av::L(l)) => l.get_mut(*i).ok_or_else(invalid_path)?,
            _ => return Err(invalid_path()),
        };
    }
    Ok(Some(cur))
}

fn assign(item: &mut Item, path: &Path, value: Av) -> AwsResult<()> {
    let last = path.last().ok_or_else(invalid_path)?.clone();
    match (parent_mut(item, path)?, last) {
        (None, Step::Attr(a)) => {
            item.insert(a, value);
        }
        (Some(Av::M(m)), Step::Attr(a)) => {
            m.insert(a, value);
        }
        (Some(Av::L(l)), Step::Index(i)) => {
            if i < l.len() {
                l[i] = value;
            } else {
                l.push(value);
            }
        }
        _ => return Err(invalid_path()),
    }
    Ok(())
}

fn remove(item: &mut Item, path: &Path) -> AwsResult<()> {
    let last = path.last().ok_or_else(invalid_path)?.clone();
    match (parent_mut(item, path), last) {
        (Ok(None), Step::Attr(a)) => {
            item.remove(&a);
        }
        (Ok(Some(Av::M(m))), Step::Attr(a)) => {
            m.remove(&a);
        }
        (Ok(Some(Av::L(l))), Step::Index(i)) => {
            if i < l.len() {
                l.remove(i);
            }
        }
        // Removing what is not there changes nothing.
        (Ok(_), _) | (Err(_), _) => {}
    }
    Ok(())
}

/// Applies an update expression's actions to `item`. Key attributes may not be touched.
pub fn apply_update(item: &mut Item, u: &Update, keys: &[&str]) -> AwsResult<()> {
    let touched = u
        .set
        .iter()
        .map(|(p, _)| p)
        .chain(u.remove.iter())
        .chain(u.add.iter().map(|(p, _)| p))
        .chain(u.delete.iter().map(|(p, _)| p));
    for p in touched {
        if let Some(Step::Attr(a)) = p.first() {
            if keys.contains(&a.as_str()) {
                return Err(validation(format!(
                    "One or more parameter values were invalid: Cannot update attribute {a}. This attribute is part of the key"
                )));
            }
        }
    }
    let before = item.clone();
    let mut values = Vec::with_capacity(u.set.len());
    for (p, op) in &u.set {
        values.push((p, set_value(&before, op)?));
    }
    for (p, v) in values {
        assign(item, p, v)?;
    }
    // List elements are removed by their indexes before the update: highest first.
    let mut removals: Vec<&Path> = u.remove.iter().collect();
    removals.sort_by(|a, b| b.cmp(a));
    for p in removals {
        remove(item, p)?;
    }
    for (p, v) in &u.add {
        let current = resolve(item, p).cloned();
        let new = match (current, v) {
            (None, v @ (Av::N(_) | Av::SS(_) | Av::NS(_) | Av::BS(_))) => v.clone(),
            (Some(Av::N(a)), Av::N(b)) => {
                Av::N(number(&a)?.add(&number(b)?).map_err(|e| validation(e.message()))?.canonical())
            }
            (Some(Av::SS(mut a)), Av::SS(b)) => {
                b.iter().filter(|x| !a.contains(x)).cloned().collect::<Vec<_>>().into_iter().for_each(|x| a.push(x));
                Av::SS(a)
            }
            (Some(Av::NS(mut a)), Av::NS(b)) => {
                for x in b {
                    if !a.iter().any(|y| Av::N(y.clone()).equals(&Av::N(x.clone()))) {
                        a.push(x.clone());
                    }
                }
                Av::NS(a)
            }
            (Some(Av::BS(mut a)), Av::BS(b)) => {
                for x in b {
                    if !a.contains(x) {
                        a.push(x.clone());
                    }
                }
                Av::BS(a)
            }
            (Some(current), v) => {
                let bad = if matches!(v, Av::N(_) | Av::SS(_) | Av::NS(_) | Av::BS(_)) { current } else { v.clone() };
                return Err(wrong_type("ADD", &bad));
            }
            (None, v) => return Err(wrong_type("ADD", v)),
        };
        assign(item, p, new)?;
    }
    for (p, v) in &u.delete {
        let Some(current) = resolve(item, p).cloned() else { continue };
        let remaining = match (current, v) {
            (Av::SS(a), Av::SS(b)) => Av::SS(a.into_iter().filter(|x| !b.contains(x)).collect()),
            (Av::NS(a), Av::NS(b)) => Av::NS(
                a.into_iter().filter(|x| !b.iter().any(|y| Av::N(y.clone()).equals(&Av::N(x.clone())))).collect(),
            ),
            (Av::BS(a), Av::BS(b)) => Av::BS(a.into_iter().filter(|x| !b.contains(x)).collect()),
            (current, v) => {
                let bad = if matches!(v, Av::SS(_) | Av::NS(_) | Av::BS(_)) { current } else { v.clone() };
                return Err(wrong_type("DELETE", &bad));
            }
        };
        let empty = matches!(&remaining, Av::SS(s) | Av::NS(s) if s.is_empty())
            || matches!(&remaining, Av::BS(s) if s.is_empty());
        if empty {
            remove(item, p)?;
        } else {
            assign(item, p, remaining)?;
        }
    }
    Ok(())
}

enum Node {
    Leaf(Av),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

impl Node {
    fn into_av(self) -> Av {
        match self {
            Node::Leaf(v) => v,
            Node::Map(m) => Av::M(m.into_iter().map(|(k, v)| (k, v.into_av())).collect()),
            Node::List(l) => Av::L(l.into_values().map(Node::into_av).collect()),
        }
    }
}

/// The parts of `item` the paths name, nested as in the item (list elements compacted in
/// their order).
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for p in paths {
        let Some(v) = resolve(item, p) else { continue };
        let Some(Step::Attr(first)) = p.first() else { continue };
        if p.len() == 1 {
            root.insert(first.clone(), Node::Leaf(v.clone()));
            continue;
        }
        let mut node = root.entry(first.clone()).or_insert_with(|| match p[1] {
            Step::Attr(_) => Node::Map(BTreeMap::new()),
            Step::Index(_) => Node::List(BTreeMap::new()),
        });
        for (i, step) in p[1..].iter().enumerate() {
            let last = i + 2 == p.len();
            let fresh = || match p.get(i + 2) {
                Some(Step::Index(_)) => Node::List(BTreeMap::new()),
                _ => Node::Map(BTreeMap::new()),
            };
            node = match (step, node) {
                (Step::Attr(a), Node::Map(m)) => {
                    if last {
                        m.insert(a.clone(), Node::Leaf(v.clone()));
                        break;
                    }
                    m.entry(a.clone()).or_insert_with(fresh)
                }
                (Step::Index(x), Node::List(l)) => {
                    if last {
                        l.insert(*x, Node::Leaf(v.clone()));
                        break;
                    }
                    l.entry(*x).or_insert_with(fresh)
                }
                _ => break,
            };
        }
    }
    root.into_iter().map(|(k, v)| (k, v.into_av())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{self, Placeholders};

    fn item(pairs: &[(&str, Av)]) -> Item {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn updates_compute_from_the_old_item() {
        let values = BTreeMap::from([
            (":one".to_string(), Av::N("1".into())),
            (":l".to_string(), Av::L(vec![Av::S("z".into())])),
            (":s".to_string(), Av::SS(vec!["b".into(), "c".into()])),
        ]);
        let names = BTreeMap::new();
        let ph = Placeholders::new(&names, &values);
        let u = expr::update(
            "SET n = n + :one, m = n, l = list_append(l, :l), fresh = if_not_exists(fresh, :one) REMOVE x[0] ADD tags :s DELETE gone :s",
            &ph,
        )
        .unwrap();
        let mut it = item(&[
            ("id", Av::S("k".into())),
            ("n", Av::N("41".into())),
            ("l", Av::L(vec![Av::S("a".into())])),
            ("x", Av::L(vec![Av::N("1".into()), Av::N("2".into())])),
            ("tags", Av::SS(vec!["a".into(), "b".into()])),
            ("gone", Av::SS(vec!["b".into()])),
        ]);
        apply_update(&mut it, &u, &["id"]).unwrap();
        assert_eq!(it["n"], Av::N("42".into()));
        assert_eq!(it["m"], Av::N("41".into()));
        assert_eq!(it["l"], Av::L(vec![Av::S("a".into()), Av::S("z".into())]));
        assert_eq!(it["fresh"], Av::N("1".into()));
        assert_eq!(it["x"], Av::L(vec![Av::N("2".into())]));
        assert_eq!(it["tags"], Av::SS(vec!["a".into(), "b".into(), "c".into()]));
        assert!(!it.contains_key("gone"));
        let u = expr::update("SET id = :one", &ph).unwrap();
        assert!(apply_update(&mut it, &u, &["id"]).unwrap_err().message.contains("part of the key"));
    }

    #[test]
    fn conditions_follow_dynamodb_semantics() {
        let values = BTreeMap::from([
            (":a".to_string(), Av::N("10".into())),
            (":p".to_string(), Av::S("ab".into())),
            (":t".to_string(), Av::S("S".into())),
        ]);
        let names = BTreeMap::new();
        let ph = Placeholders::new(&names, &values);
        let it = item(&[("n", Av::N("10.0".into())), ("s", Av::S("abc".into()))]);
        let t = |text: &str| {
            eval("ConditionExpression", &expr::condition("ConditionExpression", text, &ph).unwrap(), &it).unwrap()
        };
        assert!(t("n = :a"));
        assert!(t("nope <> :a"));
        assert!(!t("nope = :a"));
        assert!(!t("s < :a"));
        assert!(t("begins_with(s, :p) AND size(s) > :p OR n >= :a"));
        assert!(t("contains(s, :p)"));
        assert!(t("n IN (:p, :a)"));
        assert!(t("attribute_type(s, :t) AND attribute_exists(n)"));
    }

    #[test]
    fn projections_keep_the_shape() {
        let it = item(&[
            ("a", Av::M([("b".to_string(), Av::N("1".into())), ("c".to_string(), Av::N("2".into()))].into())),
            ("l", Av::L(vec![Av::N("0".into()), Av::N("1".into()), Av::N("2".into())])),
            ("z", Av::Bool(true)),
        ]);
        let p =
            vec![vec![Step::Attr("a".into()), Step::Attr("c".into())], vec![Step::Attr("l".into()), Step::Index(2)]];
        let out = project(&it, &p);
        assert_eq!(out["a"], Av::M([("c".to_string(), Av::N("2".into()))].into()));
        assert_eq!(out["l"], Av::L(vec![Av::N("2".into())]));
        assert!(!out.contains_key("z"));
    }
}
