//! Policy documents: parsed from JSON and validated as IAM validates them, with IAM's
//! MalformedPolicyDocument messages.
use crate::condition::{Condition, Operator};
use serde_json::Value;

/// Where a document is used; what it may and must contain depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user, group or role, or a permissions boundary, or a session policy:
    /// no Principal, Resource required.
    Identity,
    /// A bucket policy (or any resource policy): Principal and Resource required.
    Resource,
    /// A role's trust policy: Principal required, no Resource.
    Trust,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2008-10-17` or absent: policy variables are literal text.
    V2008,
    V2012,
}

/// One entry of a Principal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalId {
    /// `"*"` or `{"AWS": "*"}`: everyone, including anonymous callers.
    Anyone,
    /// An IAM ARN (account root, user, role, assumed-role session); account ids are
    /// normalised to `arn:aws:iam::<id>:root`.
    Aws(String),
    /// `{"Service": "redshift.amazonaws.com"}`.
    Service(String),
    Federated(String),
    CanonicalUser(String),
}

/// A list of patterns, or its negation (`NotAction`, `NotResource`, `NotPrincipal`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher<T> {
    pub negated: bool,
    pub items: Vec<T>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Matcher<PrincipalId>>,
    /// Action patterns, lower-cased (actions match case-insensitively).
    pub action: Matcher<String>,
    pub resource: Option<Matcher<String>>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
    /// Where each statement lies in the document, for the simulator's MatchedStatements.
    pub spans: Vec<crate::position::Span>,
}

/// A document IAM refuses; the message is IAM's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for PolicyError {}

fn err<T>(msg: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(msg.into()))
}

fn syntax<T>() -> Result<T, PolicyError> {
    err("Syntax errors in policy.")
}

/// A string or a list of strings, as most policy elements allow.
fn strings(v: &Value) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or(()))
            .collect::<Result<_, _>>()
            .or_else(|_| syntax()),
        _ => syntax(),
    }
}

/// Condition values may also be numbers and booleans; they compare as their text.
fn condition_values(v: &Value) -> Result<Vec<String>, PolicyError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => syntax(),
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn is_vendor_prefixed(s: &str) -> bool {
    match s.split_once(':') {
        Some((vendor, rest)) => {
            !vendor.is_empty()
                && !rest.is_empty()
                && vendor.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*' || c == '?')
        }
        None => false,
    }
}

fn parse_principal(v: &Value) -> Result<Vec<PrincipalId>, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(vec![PrincipalId::Anyone]),
        Value::Object(m) => {
            let mut out = Vec::new();
            for (kind, ids) in m {
                for id in strings(ids)? {
                    out.push(match kind.as_str() {
                        "AWS" if id == "*" => PrincipalId::Anyone,
                        "AWS" if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) => {
                            PrincipalId::Aws(format!("arn:aws:iam::{id}:root"))
                        }
                        "AWS" if id.starts_with("arn:") && id.split(':').count() >= 6 => PrincipalId::Aws(id),
                        "AWS" => return err(format!("Invalid principal in policy: \"AWS\":\"{id}\"")),
                        "Service" => PrincipalId::Service(id),
                        "Federated" => PrincipalId::Federated(id),
                        "CanonicalUser" => PrincipalId::CanonicalUser(id),
                        _ => return err(format!("Invalid principal in policy: \"{kind}\":\"{id}\"")),
                    });
                }
            }
            if out.is_empty() {
                return syntax();
            }
            Ok(out)
        }
        _ => err("Invalid principal in policy"),
    }
}

fn parse_resource(r: &str, kind: PolicyKind) -> Result<String, PolicyError> {
    if r == "*" {
        return Ok(r.to_string());
    }
    let parts: Vec<&str> = r.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" {
        return err(format!("Resource {r} must be in ARN format or \"*\"."));
    }
    if !matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov" | "*") {
        return err(format!("Partition \"{}\" is not valid for resource \"{r}\".", parts[1]));
    }
    if parts[2].is_empty() {
        return err("Resource vendor must be fully qualified and cannot contain regexes.");
    }
    if kind == PolicyKind::Resource && parts[2] == "s3" && !parts[3].is_empty() {
        return err("Policy has invalid resource");
    }
    Ok(r.to_string())
}

fn parse_conditions(v: &Value) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else { return syntax() };
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let op = Operator::parse(op_name).ok_or_else(|| PolicyError(format!("Invalid Condition type : {op_name}")))?;
        let Value::Object(keys) = keys else { return syntax() };
        for (key, values) in keys {
            if !is_vendor_prefixed(key) {
                return err("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
            }
            out.push(Condition::new(op, key, condition_values(values)?));
        }
    }
    Ok(out)
}

fn parse_statement(v: &Value, kind: PolicyKind) -> Result<Statement, PolicyError> {
    let Value::Object(m) = v else { return syntax() };
    for key in m.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return syntax();
        }
    }
    let sid = match m.get("Sid") {
        None => None,
        Some(Value::String(s)) => {
            if kind == PolicyKind::Identity && !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                return err(
                    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
                );
            }
            Some(s.clone())
        }
        Some(_) => return syntax(),
    };
    let effect = match m.get("Effect") {
        None => return err("Missing required field Effect"),
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => return err(format!("Invalid effect: {s}")),
        Some(_) => return syntax(),
    };
    let principal = match (m.get("Principal"), m.get("NotPrincipal")) {
        (Some(_), Some(_)) => return syntax(),
        (Some(p), None) => Some(Matcher { negated: false, items: parse_principal(p)? }),
        (None, Some(p)) => Some(Matcher { negated: true, items: parse_principal(p)? }),
        (None, None) => None,
    };
    match (kind, &principal) {
        (PolicyKind::Identity, Some(p)) => {
            return err(if p.negated { "Has prohibited field NotPrincipal" } else { "Has prohibited field Principal" })
        }
        (PolicyKind::Resource | PolicyKind::Trust, None) => return err("Missing required field Principal"),
        _ => {}
    }
    let action = match (m.get("Action"), m.get("NotAction")) {
        (Some(_), Some(_)) => return syntax(),
        (Some(a), None) => Matcher { negated: false, items: strings(a)? },
        (None, Some(a)) => Matcher { negated: true, items: strings(a)? },
        (None, None) => return err("Policy statement must contain actions."),
    };
    if action.items.is_empty() {
        return err("Policy statement must contain actions.");
    }
    for a in &action.items {
        if a != "*" && !is_vendor_prefixed(a) {
            return err("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
        }
    }
    let action =
        Matcher { negated: action.negated, items: action.items.iter().map(|a| a.to_ascii_lowercase()).collect() };
    let resource = match (m.get("Resource"), m.get("NotResource")) {
        (Some(_), Some(_)) => return syntax(),
        (Some(r), None) => Some(Matcher { negated: false, items: strings(r)? }),
        (None, Some(r)) => Some(Matcher { negated: true, items: strings(r)? }),
        (None, None) => None,
    };
    match (kind, &resource) {
        (PolicyKind::Trust, Some(r)) => {
            return err(if r.negated { "Has prohibited field NotResource" } else { "Has prohibited field Resource" })
        }
        (PolicyKind::Identity | PolicyKind::Resource, None) => return err("Policy statement must contain resources."),
        (_, Some(r)) if r.items.is_empty() => return err("Policy statement must contain resources."),
        _ => {}
    }
    let resource = match resource {
        Some(r) => Some(Matcher {
            negated: r.negated,
            items: r.items.iter().map(|i| parse_resource(i, kind)).collect::<Result<_, _>>()?,
        }),
        None => None,
    };
    let conditions = match m.get("Condition") {
        Some(c) => parse_conditions(c)?,
        None => Vec::new(),
    };
    Ok(Statement { sid, effect, principal, action, resource, conditions })
}

impl Policy {
    /// Parses and validates a policy document used as `kind`.
    pub fn parse(doc: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let v: Value = serde_json::from_str(doc).or_else(|_| syntax())?;
        let Value::Object(m) = &v else { return syntax() };
        for key in m.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return syntax();
            }
        }
        let version = match m.get("Version") {
            None => Version::V2008,
            Some(Value::String(s)) if s == "2012-10-17" => Version::V2012,
            Some(Value::String(s)) if s == "2008-10-17" => Version::V2008,
            Some(_) => return err("The policy failed legacy parsing"),
        };
        let id = match m.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return syntax(),
        };
        let statements = match m.get("Statement") {
            None => return syntax(),
            Some(Value::Array(items)) => {
                items.iter().map(|s| parse_statement(s, kind)).collect::<Result<Vec<_>, _>>()?
            }
            Some(one @ Value::Object(_)) => vec![parse_statement(one, kind)?],
            Some(_) => return syntax(),
        };
        if statements.is_empty() {
            return syntax();
        }
        let mut sids: Vec<&str> =
            statements.iter().filter_map(|s| s.sid.as_deref()).filter(|s| !s.is_empty()).collect();
        sids.sort_unstable();
        if sids.windows(2).any(|w| w[0] == w[1]) {
            return err("Statement IDs (SID) in a single policy must be unique.");
        }
        let spans = crate::position::statement_spans(doc);
        Ok(Policy { version, id, statements, spans })
    }

    /// The principals named by Allow statements, for checks such as "does this principal
    /// exist" (a bucket policy naming an unknown user is refused).
    pub fn named_principals(&self) -> impl Iterator<Item = &PrincipalId> {
        self.statements.iter().filter_map(|s| s.principal.as_ref()).flat_map(|p| p.items.iter())
    }
}

/// The size IAM counts against its quotas: the document without whitespace.
pub fn policy_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(doc: &str) -> Result<Policy, PolicyError> {
        Policy::parse(doc, PolicyKind::Identity)
    }

    #[test]
    fn single_statement_and_lists() {
        let p = identity(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"S3:GetObject","Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"]}}"#).unwrap();
        assert_eq!(p.version, Version::V2012);
        assert_eq!(p.statements[0].action.items, vec!["s3:getobject"]);
        assert_eq!(p.statements[0].resource.as_ref().unwrap().items.len(), 2);
    }

    #[test]
    fn iam_messages() {
        let cases = [
            ("{", "Syntax errors in policy."),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Action":"s3:*","Resource":"*"}]}"#,
                "Missing required field Effect",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
                "Policy statement must contain actions.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
                "Policy statement must contain resources.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}"#,
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
                "Has prohibited field Principal",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}]}"#,
                "Resource bucket must be in ARN format or \"*\".",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allows","Action":"s3:*","Resource":"*"}]}"#,
                "Invalid effect: Allows",
            ),
            (
                r#"{"Version":"2013-01-01","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
                "The policy failed legacy parsing",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"x"}}}]}"#,
                "Invalid Condition type : StringEqualz",
            ),
        ];
        for (doc, msg) in cases {
            assert_eq!(identity(doc).unwrap_err().0, msg, "{doc}");
        }
    }

    #[test]
    fn trust_and_resource_rules() {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"redshift.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let p = Policy::parse(trust, PolicyKind::Trust).unwrap();
        assert_eq!(
            p.statements[0].principal.as_ref().unwrap().items[0],
            PrincipalId::Service("redshift.amazonaws.com".into())
        );
        assert_eq!(
            Policy::parse(r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#, PolicyKind::Trust)
                .unwrap_err()
                .0,
            "Missing required field Principal"
        );
        let bucket = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let p = Policy::parse(bucket, PolicyKind::Resource).unwrap();
        assert_eq!(p.named_principals().next(), Some(&PrincipalId::Aws("arn:aws:iam::123456789012:root".into())));
    }
}
