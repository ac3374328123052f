//! The Condition element: every operator, the `...IfExists` forms and the `ForAnyValue:` /
//! `ForAllValues:` set qualifiers, with IAM's rules for missing keys.
use crate::matching::{arn_like, glob, substitute};

use crate::Context;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub base: Base,
    pub if_exists: bool,
    pub set: SetQualifier,
}

impl Operator {
    pub fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::None, name)
        };
        let (if_exists, rest) = match rest.strip_suffix("IfExists") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        use Base::*;
        let base = match rest {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringLike" => StringLike,
            "StringNotLike" => StringNotLike,
            "NumericEquals" => NumericEquals,
            "NumericNotEquals" => NumericNotEquals,
            "NumericLessThan" => NumericLessThan,
            "NumericLessThanEquals" => NumericLessThanEquals,
            "NumericGreaterThan" => NumericGreaterThan,
            "NumericGreaterThanEquals" => NumericGreaterThanEquals,
            "DateEquals" => DateEquals,
            "DateNotEquals" => DateNotEquals,
            "DateLessThan" => DateLessThan,
            "DateLessThanEquals" => DateLessThanEquals,
            "DateGreaterThan" => DateGreaterThan,
            "DateGreaterThanEquals" => DateGreaterThanEquals,
            "Bool" => Bool,
            "BinaryEquals" => BinaryEquals,
            "IpAddress" => IpAddress,
            "NotIpAddress" => NotIpAddress,
            "ArnEquals" => ArnEquals,
            "ArnLike" => ArnLike,
            "ArnNotEquals" => ArnNotEquals,
            "ArnNotLike" => ArnNotLike,
            "Null" if !if_exists => Null,
            _ => return None,
        };
        Some(Operator { base, if_exists, set })
    }
}

impl Base {
    /// Negated operators are true when no value matches (and when the key is missing).
    fn negated(self) -> bool {
        use Base::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// The positive form: `StringNotLike` → `StringLike`.
    fn positive(self) -> Base {
        use Base::*;
        match self {
            StringNotEquals => StringEquals,
            StringNotEqualsIgnoreCase => StringEqualsIgnoreCase,
            StringNotLike => StringLike,
            NumericNotEquals => NumericEquals,
            DateNotEquals => DateEquals,
            NotIpAddress => IpAddress,
            ArnNotEquals => ArnEquals,
            ArnNotLike => ArnLike,
            other => other,
        }
    }

    fn takes_variables(self) -> bool {
        use Base::*;
        matches!(self.positive(), StringEquals | StringEqualsIgnoreCase | StringLike | ArnEquals | ArnLike)
    }
}

/// One key under one operator, with its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// Lower-cased: condition keys are case-insensitive.
    pub key: String,
    /// The key as the policy writes it (what the simulator reports).
    pub written: String,
    pub values: Vec<String>,
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// A date as IAM accepts it (ISO 8601 with or without time, or epoch seconds), in
/// milliseconds since the epoch.
pub fn parse_date(s: &str) -> Option<i128> {
    date(s)
}

fn date(s: &str) -> Option<i128> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let s = s.trim();
    if let Ok(d) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some(d.unix_timestamp_nanos() / 1_000_000);
    }
    if let Ok(d) = time::OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(d.unix_timestamp_nanos() / 1_000_000);
    }
    if let Ok(d) = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")) {
        return Some(d.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000);
    }
    number(s).map(|secs| (secs * 1000.0) as i128)
}

/// Whether `s` is an IP address or a CIDR block.
pub fn is_ip_or_cidr(s: &str) -> bool {
    s.trim().parse::<IpAddr>().is_ok() || s.trim().parse::<ipnet::IpNet>().is_ok()
}

fn ip_in(value: &str, cidr: &str) -> bool {
    let Ok(ip) = value.trim().parse::<IpAddr>() else { return false };
    match cidr.trim().parse::<ipnet::IpNet>() {
        Ok(net) => net.contains(&ip),
        Err(_) => cidr.trim().parse::<IpAddr>().is_ok_and(|c| c == ip),
    }
}

/// Whether one request value matches one policy value under a positive operator.
fn matches_one(base: Base, request: &str, policy: &str) -> bool {
    use Base::*;
    match base {
        StringEquals => request == policy,
        StringEqualsIgnoreCase => request.eq_ignore_ascii_case(policy),
        StringLike => glob(policy, request, false),
        NumericEquals | NumericLessThan | NumericLessThanEquals | NumericGreaterThan | NumericGreaterThanEquals => {
            match (number(request), number(policy)) {
                (Some(r), Some(p)) => match base {
                    NumericEquals => r == p,
                    NumericLessThan => r < p,
                    NumericLessThanEquals => r <= p,
                    NumericGreaterThan => r > p,
                    _ => r >= p,
                },
                _ => false,
            }
        }
        DateEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals => {
            match (date(request), date(policy)) {
                (Some(r), Some(p)) => match base {
                    DateEquals => r == p,
                    DateLessThan => r < p,
                    DateLessThanEquals => r <= p,
                    DateGreaterThan => r > p,
                    _ => r >= p,
                },
                _ => false,
            }
        }
        Bool => request.eq_ignore_ascii_case(policy),
        BinaryEquals => request == policy,
        IpAddress => ip_in(request, policy),
        ArnEquals | ArnLike => arn_like(policy, request),
        _ => false,
    }
}

impl Condition {
    pub fn new(operator: Operator, key: &str, values: Vec<String>) -> Condition {
        Condition { operator, key: key.to_ascii_lowercase(), written: key.to_string(), values }
    }

    /// Evaluates the condition against the request context. `variables` is false for
    /// 2008-10-17 policies, whose `${...}` stay literal.
    pub fn evaluate(&self, ctx: &Context, variables: bool) -> bool {
        let op = self.operator;
        let request = ctx.get(&self.key);
        if op.base == Base::Null {
            let absent = request.is_none_or(|v| v.is_empty());
            return self.values.iter().any(|v| v.eq_ignore_ascii_case(if absent { "true" } else { "false" }));
        }
        let pattern = matches!(op.base.positive(), Base::StringLike | Base::ArnEquals | Base::ArnLike);
        let policy_values: Vec<std::borrow::Cow<str>> = if variables && op.base.takes_variables() {
            self.values.iter().filter_map(|v| substitute(v, ctx, pattern)).collect()
        } else {
            self.values.iter().map(|v| std::borrow::Cow::Borrowed(v.as_str())).collect()
        };
        let positive = op.base.positive();
        let negated = op.base.negated();
        // Does one request value satisfy the operator (positive: matches some policy value;
        // negated: matches none)?
        let satisfies = |r: &str| {
            let any = policy_values.iter().any(|p| matches_one(positive, r, p));
            any != negated
        };
        match (op.set, request) {
            (SetQualifier::ForAllValues, None) => true,
            (SetQualifier::ForAllValues, Some(vals)) => vals.iter().all(|r| satisfies(r)),
            (SetQualifier::ForAnyValue, None) => false,
            (SetQualifier::ForAnyValue, Some(vals)) => vals.iter().any(|r| satisfies(r)),
            (SetQualifier::None, None) => op.if_exists || negated,
            (SetQualifier::None, Some([])) => op.if_exists || negated,
            (SetQualifier::None, Some(vals)) => {
                if negated {
                    vals.iter().all(|r| satisfies(r))
                } else {
                    vals.iter().any(|r| satisfies(r))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition::new(Operator::parse(op).unwrap(), key, values.iter().map(|s| s.to_string()).collect())
    }

    fn ctx(pairs: &[(&str, &[&str])]) -> Context {
        let mut c = Context::default();
        for (k, vs) in pairs {
            c.set_all(k, vs.iter().map(|s| s.to_string()).collect());
        }
        c
    }

    #[test]
    fn strings_and_missing_keys() {
        let c = ctx(&[("aws:username", &["mary"])]);
        assert!(cond("StringEquals", "aws:username", &["bob", "mary"]).evaluate(&c, true));
        assert!(!cond("StringEquals", "aws:userid", &["mary"]).evaluate(&c, true));
        assert!(cond("StringNotEquals", "aws:userid", &["mary"]).evaluate(&c, true), "negated + missing key is true");
        assert!(cond("StringEqualsIfExists", "aws:userid", &["mary"]).evaluate(&c, true));
        assert!(!cond("StringNotEquals", "aws:username", &["bob", "mary"]).evaluate(&c, true));
        assert!(cond("StringLike", "aws:username", &["m*"]).evaluate(&c, true));
        assert!(cond("StringEqualsIgnoreCase", "AWS:UserName", &["MARY"]).evaluate(&c, true));
        assert!(cond("StringEquals", "aws:username", &["${aws:username}"]).evaluate(&c, true));
        assert!(!cond("StringEquals", "aws:username", &["${aws:username}"]).evaluate(&c, false));
    }

    #[test]
    fn null_bool_numbers_dates_ips_arns() {
        let c = ctx(&[
            ("aws:securetransport", &["false"]),
            ("s3:max-keys", &["10"]),
            ("aws:currenttime", &["2026-12-02T10:00:00Z"]),
            ("aws:sourceip", &["127.0.0.1"]),
            ("aws:principalarn", &["arn:aws:iam::000000000000:user/mary"]),
        ]);
        assert!(cond("Null", "aws:tokenissuetime", &["true"]).evaluate(&c, true));
        assert!(cond("Null", "aws:sourceip", &["false"]).evaluate(&c, true));
        assert!(cond("Bool", "aws:SecureTransport", &["false"]).evaluate(&c, true));
        assert!(cond("NumericLessThanEquals", "s3:max-keys", &["10"]).evaluate(&c, true));
        assert!(!cond("NumericLessThan", "s3:max-keys", &["10"]).evaluate(&c, true));
        assert!(cond("DateGreaterThan", "aws:CurrentTime", &["2026-01-01T00:00:00Z"]).evaluate(&c, true));
        assert!(cond("DateLessThan", "aws:CurrentTime", &["2027-01-01"]).evaluate(&c, true));
        assert!(cond("IpAddress", "aws:SourceIp", &["127.0.0.0/8"]).evaluate(&c, true));
        assert!(cond("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"]).evaluate(&c, true));
        assert!(cond("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:user/m*"]).evaluate(&c, true));
        assert!(!cond("ArnNotEquals", "aws:PrincipalArn", &["arn:aws:iam::000000000000:user/mary"]).evaluate(&c, true));
    }

    #[test]
    fn set_qualifiers() {
        let c = ctx(&[("aws:tagkeys", &["team", "cost"])]);
        assert!(cond("ForAllValues:StringEquals", "aws:TagKeys", &["team", "cost", "env"]).evaluate(&c, true));
        assert!(!cond("ForAllValues:StringEquals", "aws:TagKeys", &["team"]).evaluate(&c, true));
        assert!(cond("ForAnyValue:StringEquals", "aws:TagKeys", &["team"]).evaluate(&c, true));
        assert!(!cond("ForAnyValue:StringEquals", "aws:TagKeys", &["env"]).evaluate(&c, true));
        assert!(cond("ForAllValues:StringEquals", "aws:RequestTag/x", &["a"]).evaluate(&c, true), "missing key: true");
        assert!(!cond("ForAnyValue:StringEquals", "aws:RequestTag/x", &["a"]).evaluate(&c, true), "missing key: false");
        assert!(cond("ForAnyValue:StringNotEquals", "aws:TagKeys", &["team"]).evaluate(&c, true));
        assert!(!cond("ForAllValues:StringNotEquals", "aws:TagKeys", &["team"]).evaluate(&c, true));
    }
}
