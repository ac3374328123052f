//! Attribute values: DynamoDB's ten types, checked as DynamoDB checks them on the way in,
//! their sizes as the capacity rules count them, their order, and their encoding in keys.
use crate::number::Number;
use nuage_core::{AwsError, AwsResult};
use nuage_protocol::dynamodb::AttributeValue;
use nuage_protocol::Blob;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One attribute value; numbers are kept in their canonical text. Serialised as DynamoDB's
/// own JSON (`{"S": "x"}`), binary as base64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Av {
    S(String),
    N(String),
    B(#[serde(with = "b64")] Vec<u8>),
    SS(Vec<String>),
    NS(Vec<String>),
    BS(#[serde(with = "b64s")] Vec<Vec<u8>>),
    M(Item),
    L(Vec<Av>),
    #[serde(rename = "NULL")]
    Null(bool),
    #[serde(rename = "BOOL")]
    Bool(bool),
}

pub type Item = BTreeMap<String, Av>;

mod b64 {
    use base64::Engine;
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

mod b64s {
    use base64::Engine;
    pub fn serialize<S: serde::Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let e: Vec<String> = v.iter().map(|b| base64::engine::general_purpose::STANDARD.encode(b)).collect();
        serde::Serialize::serialize(&e, s)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let v: Vec<String> = serde::Deserialize::deserialize(d)?;
        v.into_iter()
            .map(|s| base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

pub fn validation(msg: impl Into<String>) -> AwsError {
    nuage_protocol::common::Common::ValidationException.msg(msg)
}

fn invalid(msg: impl std::fmt::Display) -> AwsError {
    validation(format!("One or more parameter values were invalid: {msg}"))
}

pub fn number(text: &str) -> AwsResult<Number> {
    Number::parse(text).map_err(|e| validation(e.message()))
}

impl Av {
    /// A value from the wire: exactly one type set, sets non-empty and without duplicates,
    /// numbers valid (and canonicalised), NULL true.
    pub fn from_wire(v: AttributeValue) -> AwsResult<Av> {
        let set = [
            v.s.is_some(),
            v.n.is_some(),
            v.b.is_some(),
            v.ss.is_some(),
            v.ns.is_some(),
            v.bs.is_some(),
            v.m.is_some(),
            v.l.is_some(),
            v.null.is_some(),
            v.bool.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        if set == 0 {
            return Err(validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            ));
        }
        if set > 1 {
            return Err(validation(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            ));
        }
        Ok(if let Some(s) = v.s {
            Av::S(s)
        } else if let Some(n) = v.n {
            Av::N(number(&n)?.canonical())
        } else if let Some(b) = v.b {
            Av::B(b.0)
        } else if let Some(ss) = v.ss {
            if ss.is_empty() {
                return Err(invalid("An string set  may not be empty"));
            }
            let mut seen = std::collections::BTreeSet::new();
            if !ss.iter().all(|s| seen.insert(s)) {
                return Err(invalid(format!("Input collection {ss:?} contains duplicates.")));
            }
            Av::SS(ss)
        } else if let Some(ns) = v.ns {
            if ns.is_empty() {
                return Err(invalid("An number set  may not be empty"));
            }
            let mut out: Vec<String> = Vec::with_capacity(ns.len());
            for n in &ns {
                let c = number(n)?.canonical();
                if out.contains(&c) {
                    return Err(invalid(format!("Input collection {ns:?} contains duplicates.")));
                }
                out.push(c);
            }
            Av::NS(out)
        } else if let Some(bs) = v.bs {
            if bs.is_empty() {
                return Err(invalid("Binary sets should not be empty"));
            }
            let bs: Vec<Vec<u8>> = bs.into_iter().map(|b| b.0).collect();
            let mut seen = std::collections::BTreeSet::new();
            if !bs.iter().all(|b| seen.insert(b)) {
                return Err(invalid("Input collection contains duplicates."));
            }
            Av::BS(bs)
        } else if let Some(m) = v.m {
            Av::M(item_from_wire(m)?)
        } else if let Some(l) = v.l {
            Av::L(l.into_iter().map(Av::from_wire).collect::<AwsResult<_>>()?)
        } else if let Some(null) = v.null {
            if !null {
                return Err(invalid("Null attribute value types must have the value of true"));
            }
            Av::Null(true)
        } else {
            Av::Bool(v.bool.unwrap_or_default())
        })
    }

    pub fn to_wire(&self) -> AttributeValue {
        let mut a = AttributeValue::default();
        match self {
            Av::S(s) => a.s = Some(s.clone()),
            Av::N(n) => a.n = Some(n.clone()),
            Av::B(b) => a.b = Some(Blob(b.clone())),
            Av::SS(v) => a.ss = Some(v.clone()),
            Av::NS(v) => a.ns = Some(v.clone()),
            Av::BS(v) => a.bs = Some(v.iter().map(|b| Blob(b.clone())).collect()),
            Av::M(m) => a.m = Some(item_to_wire(m)),
            Av::L(l) => a.l = Some(l.iter().map(Av::to_wire).collect()),
            Av::Null(n) => a.null = Some(*n),
            Av::Bool(b) => a.bool = Some(*b),
        }
        a
    }

    /// The type's descriptor, as `attribute_type` and error messages name it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Av::S(_) => "S",
            Av::N(_) => "N",
            Av::B(_) => "B",
            Av::SS(_) => "SS",
            Av::NS(_) => "NS",
            Av::BS(_) => "BS",
            Av::M(_) => "M",
            Av::L(_) => "L",
            Av::Null(_) => "NULL",
            Av::Bool(_) => "BOOL",
        }
    }

    /// The bytes the value adds to an item's size (its name counted by the caller).
    pub fn size(&self) -> usize {
        match self {
            Av::S(s) => s.len(),
            Av::N(n) => Number::parse(n).map(|n| n.size()).unwrap_or(n.len()),
            Av::B(b) => b.len(),
            Av::SS(v) => v.iter().map(|s| s.len()).sum(),
            Av::NS(v) => v.iter().map(|n| Number::parse(n).map(|n| n.size()).unwrap_or(n.len())).sum(),
            Av::BS(v) => v.iter().map(|b| b.len()).sum(),
            // Three bytes for the container, one per element.
            Av::M(m) => 3 + m.iter().map(|(k, v)| k.len() + v.size() + 1).sum::<usize>(),
            Av::L(l) => 3 + l.iter().map(|v| v.size() + 1).sum::<usize>(),
            Av::Null(_) | Av::Bool(_) => 1,
        }
    }

    /// The order of two scalars of the same type (S by UTF-8 bytes, N numerically, B by
    /// bytes); `None` for different types or non-scalars.
    pub fn compare(&self, other: &Av) -> Option<Ordering> {
        match (self, other) {
            (Av::S(a), Av::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Av::B(a), Av::B(b)) => Some(a.cmp(b)),
            (Av::N(a), Av::N(b)) => Number::parse(a).ok()?.partial_cmp(&Number::parse(b).ok()?),
            _ => None,
        }
    }

    /// Equality as expressions see it: numbers by value, sets regardless of order.
    pub fn equals(&self, other: &Av) -> bool {
        match (self, other) {
            (Av::N(_), Av::N(_)) => self.compare(other) == Some(Ordering::Equal),
            (Av::SS(a), Av::SS(b)) => same_members(a, b, |x, y| x == y),
            (Av::NS(a), Av::NS(b)) => same_members(a, b, |x, y| Av::N(x.clone()).equals(&Av::N(y.clone()))),
            (Av::BS(a), Av::BS(b)) => same_members(a, b, |x, y| x == y),
            (Av::L(a), Av::L(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y)),
            (Av::M(a), Av::M(b)) => a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.equals(w))),
            _ => self == other,
        }
    }
}

fn same_members<T>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| eq(x, y)))
}

pub fn item_from_wire(m: BTreeMap<String, AttributeValue>) -> AwsResult<Item> {
    m.into_iter().map(|(k, v)| Ok((k, Av::from_wire(v)?))).collect()
}

pub fn item_to_wire(m: &Item) -> BTreeMap<String, AttributeValue> {
    m.iter().map(|(k, v)| (k.clone(), v.to_wire())).collect()
}

/// An item's size: its attribute names and values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// A key attribute's value as it is placed in a stored key. A partition value is made
/// prefix-free (escaped and terminated), so that one partition's keys share a prefix; a sort
/// value sorts as DynamoDB sorts it.
pub fn encode_key_part(v: &Av, out: &mut Vec<u8>, terminated: bool) {
    match v {
        Av::N(n) => match Number::parse(n) {
            Ok(n) => n.sort_bytes(out),
            Err(_) => out.extend_from_slice(n.as_bytes()),
        },
        Av::S(s) => escaped(s.as_bytes(), out, terminated),
        Av::B(b) => escaped(b, out, terminated),
        _ => {}
    }
}

fn escaped(bytes: &[u8], out: &mut Vec<u8>, terminated: bool) {
    if !terminated {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_documented_rules() {
        let mut item = Item::new();
        item.insert("id".into(), Av::S("abc".into()));
        assert_eq!(item_size(&item), 5);
        item.insert("n".into(), Av::N("123".into()));
        assert_eq!(item_size(&item), 5 + 1 + 3);
        // A map of one string: 3 overhead + (name 1 + value 1 + 1 per element).
        item.insert("m".into(), Av::M([("a".to_string(), Av::S("x".into()))].into()));
        assert_eq!(item_size(&item), 9 + 1 + 3 + 3);
        item.insert("l".into(), Av::L(vec![Av::Bool(true), Av::Null(true)]));
        assert_eq!(item_size(&item), 16 + 1 + 3 + 2 + 2);
    }

    #[test]
    fn wire_checks() {
        let empty = AttributeValue::default();
        assert!(Av::from_wire(empty).is_err());
        let two = AttributeValue { s: Some("a".into()), n: Some("1".into()), ..Default::default() };
        assert!(Av::from_wire(two).is_err());
        let dup = AttributeValue { ns: Some(vec!["1".into(), "1.0".into()]), ..Default::default() };
        assert!(Av::from_wire(dup).is_err());
        let n = AttributeValue { n: Some("01.50".into()), ..Default::default() };
        assert_eq!(Av::from_wire(n).unwrap(), Av::N("1.5".into()));
    }
}
