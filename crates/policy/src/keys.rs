//! The condition keys a policy reads: what the simulator needs to be told
//! (GetContextKeysFor*Policy, MissingContextValues).
use crate::matching::{arn_like, glob, variables};
use crate::{Policy, Statement, Version};

/// Adds `key` unless it is there already (keys are case-insensitive; the first spelling stays).
fn add(out: &mut Vec<String>, key: &str) {
    if !out.iter().any(|k| k.eq_ignore_ascii_case(key)) {
        out.push(key.to_string());
    }
}

/// Visits the keys one statement reads: its conditions' keys, and the policy variables in its
/// Resource and condition values (a 2008-10-17 policy has no variables).
fn visit_keys<'a>(s: &'a Statement, version: Version, visit: &mut impl FnMut(&'a str)) {
    for c in &s.conditions {
        visit(&c.written);
    }
    if version != Version::V2012 {
        return;
    }
    let texts = s.resource.iter().flat_map(|r| r.items.iter()).chain(s.conditions.iter().flat_map(|c| c.values.iter()));
    for text in texts {
        variables(text).for_each(&mut *visit);
    }
}

fn statement_keys(s: &Statement, version: Version, out: &mut Vec<String>) {
    visit_keys(s, version, &mut |key| add(out, key));
}

/// Whether the policy reads a key beginning with `prefix` (case-insensitive), without
/// gathering its keys: the authoriser asks this on every request that has keys to load lazily.
pub fn reads_key_prefix(policy: &Policy, prefix: &str) -> bool {
    let mut found = false;
    for s in &policy.statements {
        visit_keys(s, policy.version, &mut |key| {
            found |= key.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix));
        });
        if found {
            return true;
        }
    }
    false
}

/// Every key a policy reads, in order of appearance.
pub fn context_keys(policy: &Policy, out: &mut Vec<String>) {
    for s in &policy.statements {
        statement_keys(s, policy.version, out);
    }
}

/// The keys read by the statements that concern `action` on `resource` (whatever their
/// conditions then decide): those a simulation of that request needs.
pub fn context_keys_for(policy: &Policy, action: &str, resource: &str, out: &mut Vec<String>) {
    let action = action.to_ascii_lowercase();
    for s in &policy.statements {
        if s.action.items.iter().any(|a| glob(a, &action, false)) == s.action.negated {
            continue;
        }
        if let Some(r) = &s.resource {
            // A pattern with a variable may match once the variable has its value.
            let hit = r.items.iter().any(|p| p.contains("${") || arn_like(p, resource));
            if !hit && !r.negated {
                continue;
            }
        }
        statement_keys(s, policy.version, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyKind;

    #[test]
    fn keys_of_conditions_and_variables() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*",
             "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
            {"Effect":"Allow","Action":"s3:PutObject","Resource":"*",
             "Condition":{"StringEquals":{"s3:x-amz-acl":"private","aws:PrincipalTag/team":"${aws:PrincipalTag/team}"}}}]}"#;
        let p = Policy::parse(doc, PolicyKind::Identity).unwrap();
        let mut all = Vec::new();
        context_keys(&p, &mut all);
        assert_eq!(all, ["aws:SourceIp", "aws:username", "s3:x-amz-acl", "aws:PrincipalTag/team"]);
        let mut get = Vec::new();
        context_keys_for(&p, "s3:GetObject", "arn:aws:s3:::b/mary/k", &mut get);
        assert_eq!(get, ["aws:SourceIp", "aws:username"]);
        let mut put = Vec::new();
        context_keys_for(&p, "s3:putobject", "arn:aws:s3:::b/k", &mut put);
        assert_eq!(put, ["s3:x-amz-acl", "aws:PrincipalTag/team"]);
        assert!(reads_key_prefix(&p, "aws:principaltag/"));
        assert!(reads_key_prefix(&p, "AWS:USER"));
        assert!(!reads_key_prefix(&p, "s3:ExistingObjectTag/"));
    }
}
