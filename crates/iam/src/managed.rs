//! The AWS managed policies a learner attaches (`arn:aws:iam::aws:policy/...`), with AWS's own
//! documents. `aws-managed-policies.json` holds them as AWS published them (a snapshot: the
//! version id says which version); the list is what the labs and tests use, not all of AWS's.
use nuage_policy::{Policy, PolicyKind};
use serde::Deserialize;
use std::sync::{Arc, OnceLock};

#[derive(Deserialize)]
struct Raw {
    name: String,
    path: String,
    version: String,
    created: String,
    updated: String,
    document: serde_json::Value,
}

/// One AWS managed policy.
pub struct AwsPolicy {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub version: String,
    /// Milliseconds since the epoch.
    pub created: i64,
    pub updated: i64,
    pub document: String,
    pub parsed: Arc<Policy>,
}

fn ms(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|d| (d.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

/// Every AWS managed policy nuage knows, parsed once.
pub fn all() -> &'static [AwsPolicy] {
    static ALL: OnceLock<Vec<AwsPolicy>> = OnceLock::new();
    ALL.get_or_init(|| {
        let raw: Vec<Raw> = serde_json::from_str(include_str!("../aws-managed-policies.json"))
            .expect("the vendored AWS managed policies parse");
        raw.into_iter()
            .map(|r| {
                let document = r.document.to_string();
                let parsed = Policy::parse(&document, PolicyKind::Identity)
                    .unwrap_or_else(|e| panic!("AWS managed policy {} is valid: {e}", r.name));
                AwsPolicy {
                    arn: format!("arn:aws:iam::aws:policy{}{}", r.path, r.name),
                    name: r.name,
                    path: r.path,
                    version: r.version,
                    created: ms(&r.created),
                    updated: ms(&r.updated),
                    document,
                    parsed: Arc::new(parsed),
                }
            })
            .collect()
    })
}

pub fn by_arn(arn: &str) -> Option<&'static AwsPolicy> {
    all().iter().find(|p| p.arn == arn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_vendored_policy_parses() {
        let all = super::all();
        assert!(all.len() >= 14);
        let admin = super::by_arn("arn:aws:iam::aws:policy/AdministratorAccess").unwrap();
        assert_eq!(admin.parsed.statements.len(), 1);
        assert!(super::by_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole").is_some());
    }
}
