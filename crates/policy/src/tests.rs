//! A corpus built from the examples in the IAM and S3 documentation, each with the decision
//! AWS documents for it.
use super::*;

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";

fn policy(doc: &str) -> Policy {
    Policy::parse(doc, PolicyKind::Identity).unwrap_or_else(|e| panic!("{e}: {doc}"))
}

fn resource_policy(doc: &str) -> Policy {
    Policy::parse(doc, PolicyKind::Resource).unwrap_or_else(|e| panic!("{e}: {doc}"))
}

fn user(name: &'static str) -> (String, Context) {
    let arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}");
    let mut ctx = Context::default();
    ctx.set("aws:username", name);
    ctx.set("aws:userid", "AIDAEXAMPLE");
    ctx.set("aws:principalarn", arn.clone());
    ctx.set("aws:principalaccount", ACCOUNT);
    ctx.set("aws:principaltype", "User");
    ctx.set("aws:sourceip", "127.0.0.1");
    ctx.set("aws:securetransport", "false");
    (arn, ctx)
}

fn caller(arn: &str) -> Caller<'_> {
    Caller { kind: CallerKind::User, arn, account: ACCOUNT, role_arn: None, canonical_id: None }
}

/// A session of `role` in ACCOUNT.
fn session_of<'a>(role: &'a str, session_arn: &'a str) -> Caller<'a> {
    Caller {
        kind: CallerKind::AssumedRole,
        arn: session_arn,
        account: ACCOUNT,
        role_arn: Some(role),
        canonical_id: None,
    }
}

fn decide(
    arn: &str,
    ctx: &Context,
    action: &str,
    resource: &str,
    identity: &[&Policy],
    resource_policy: Option<&Policy>,
) -> Evaluation {
    let set = PolicySet {
        identity: identity.iter().map(|p| Source { name: "p", policy: p }).collect(),
        resource: resource_policy.map(|p| Source { name: "bucket", policy: p }),
        ..Default::default()
    };
    let req = Request { caller: caller(arn), action, resource, resource_account: None, context: ctx };
    evaluate(&req, &set)
}

#[test]
fn no_policy_is_an_implicit_deny_with_aws_message() {
    let (arn, ctx) = user("mary");
    let e =
        decide(&arn, &ctx, "redshift:DeleteCluster", "arn:aws:redshift:us-east-1:111122223333:cluster:lab", &[], None);
    assert_eq!(e.decision, Decision::ImplicitDeny);
    assert_eq!(
        e.deny_message(&arn, "redshift:DeleteCluster", "arn:aws:redshift:us-east-1:111122223333:cluster:lab"),
        "User: arn:aws:iam::111122223333:user/mary is not authorized to perform: redshift:DeleteCluster on resource: arn:aws:redshift:us-east-1:111122223333:cluster:lab because no identity-based policy allows the redshift:DeleteCluster action"
    );
}

#[test]
fn allow_then_explicit_deny_wins() {
    let (arn, ctx) = user("mary");
    let allow = policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#);
    let deny = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::lake/*"}]}"#,
    );
    assert!(decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::lake/a", &[&allow, &deny], None).allowed());
    let e = decide(&arn, &ctx, "s3:DeleteObject", "arn:aws:s3:::lake/a", &[&allow, &deny], None);
    assert_eq!(e.decision, Decision::ExplicitDeny);
    assert_eq!(e.deciding().unwrap().sid.as_deref(), Some("NoDelete"));
    assert!(e
        .deny_message(&arn, "s3:DeleteObject", "arn:aws:s3:::lake/a")
        .ends_with("with an explicit deny in an identity-based policy"));
}

#[test]
fn actions_are_case_insensitive_resources_are_not() {
    let (arn, ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"S3:get*","Resource":"arn:aws:s3:::Lake/*"}]}"#,
    );
    assert!(decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::Lake/x", &[&p], None).allowed());
    assert!(!decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::lake/x", &[&p], None).allowed());
}

/// PowerUserAccess: everything but IAM, through NotAction.
#[test]
fn not_action_power_user() {
    let (arn, ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},
        {"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization"],"Resource":"*"}]}"#,
    );
    assert!(decide(&arn, &ctx, "redshift:CreateCluster", "*", &[&p], None).allowed());
    assert!(decide(&arn, &ctx, "iam:ListRoles", "*", &[&p], None).allowed());
    assert!(!decide(&arn, &ctx, "iam:CreateUser", "*", &[&p], None).allowed());
}

/// The IAM guide's "deny access to everything outside one bucket" with NotResource.
#[test]
fn not_resource_deny() {
    let (arn, ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},
        {"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::lake","arn:aws:s3:::lake/*"]}]}"#,
    );
    assert!(decide(&arn, &ctx, "s3:PutObject", "arn:aws:s3:::lake/k", &[&p], None).allowed());
    assert_eq!(
        decide(&arn, &ctx, "s3:PutObject", "arn:aws:s3:::other/k", &[&p], None).decision,
        Decision::ExplicitDeny
    );
}

/// The S3 guide's per-user home directory with ${aws:username} and s3:prefix.
#[test]
fn home_directory_with_policy_variables() {
    let (arn, mut ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::lake","Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}},
        {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::lake/home/${aws:username}/*"}]}"#,
    );
    assert!(decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::lake/home/mary/a.csv", &[&p], None).allowed());
    assert!(!decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::lake/home/bob/a.csv", &[&p], None).allowed());
    ctx.set("s3:prefix", "home/mary/");
    assert!(decide(&arn, &ctx, "s3:ListBucket", "arn:aws:s3:::lake", &[&p], None).allowed());
    ctx.set("s3:prefix", "home/bob/");
    assert!(!decide(&arn, &ctx, "s3:ListBucket", "arn:aws:s3:::lake", &[&p], None).allowed());
    // A 2008-10-17 policy takes `${aws:username}` literally.
    let old = policy(
        r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/home/${aws:username}/*"}]}"#,
    );
    assert!(!decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::lake/home/mary/a.csv", &[&old], None).allowed());
}

/// The IAM guide's "deny unless MFA", with BoolIfExists.
#[test]
fn mfa_bool_if_exists() {
    let (arn, mut ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"},
        {"Effect":"Deny","Action":"ec2:StopInstances","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#,
    );
    assert_eq!(decide(&arn, &ctx, "ec2:StopInstances", "*", &[&p], None).decision, Decision::ExplicitDeny);
    ctx.set("aws:MultiFactorAuthPresent", "true");
    assert!(decide(&arn, &ctx, "ec2:StopInstances", "*", &[&p], None).allowed());
}

/// The IAM guide's "deny by source IP" example.
#[test]
fn source_ip_deny() {
    let (arn, mut ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},
        {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}]}"#,
    );
    assert_eq!(decide(&arn, &ctx, "s3:GetObject", "*", &[&p], None).decision, Decision::ExplicitDeny);
    ctx.set("aws:SourceIp", "203.0.113.7");
    assert!(decide(&arn, &ctx, "s3:GetObject", "*", &[&p], None).allowed());
}

/// The IAM guide's time window with DateGreaterThan / DateLessThan on aws:CurrentTime.
#[test]
fn date_window() {
    let (arn, mut ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",
        "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2026-04-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2026-06-30T23:59:59Z"}}}]}"#,
    );
    ctx.set("aws:CurrentTime", "2026-05-01T12:00:00Z");
    assert!(decide(&arn, &ctx, "dynamodb:GetItem", "*", &[&p], None).allowed());
    ctx.set("aws:CurrentTime", "2026-12-02T12:00:00Z");
    assert!(!decide(&arn, &ctx, "dynamodb:GetItem", "*", &[&p], None).allowed());
}

/// ABAC: resource tag equals principal tag.
#[test]
fn tags_abac() {
    let (arn, mut ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"redshift:*","Resource":"*",
        "Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}]}"#,
    );
    ctx.set("aws:PrincipalTag/team", "science");
    ctx.set("aws:ResourceTag/team", "science");
    assert!(decide(&arn, &ctx, "redshift:DescribeClusters", "*", &[&p], None).allowed());
    ctx.set("aws:ResourceTag/team", "finance");
    assert!(!decide(&arn, &ctx, "redshift:DescribeClusters", "*", &[&p], None).allowed());
}

/// A permissions boundary caps AdministratorAccess.
#[test]
fn boundary_caps_admin() {
    let (arn, ctx) = user("mary");
    let admin = policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#);
    let boundary = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","cloudwatch:*"],"Resource":"*"}]}"#,
    );
    let set = |b: bool| PolicySet {
        identity: vec![Source { name: "admin", policy: &admin }],
        boundary: b.then_some(Source { name: "boundary", policy: &boundary }),
        ..Default::default()
    };
    let req = |action| Request { caller: caller(&arn), action, resource: "*", resource_account: None, context: &ctx };
    assert!(evaluate(&req("iam:CreateUser"), &set(false)).allowed());
    let e = evaluate(&req("iam:CreateUser"), &set(true));
    assert_eq!(e.reason, Some(DenyReason::NoBoundaryAllow));
    assert!(e
        .deny_message(&arn, "iam:CreateUser", "*")
        .ends_with("because no permissions boundary allows the iam:CreateUser action"));
    assert!(evaluate(&req("s3:PutObject"), &set(true)).allowed());
}

/// Session policies intersect with the role's policies.
#[test]
fn session_policy_intersects() {
    let role = "arn:aws:iam::111122223333:role/MyRedshiftRole";
    let session_arn = "arn:aws:sts::111122223333:assumed-role/MyRedshiftRole/copy";
    let ctx = Context::default();
    let role_policy =
        policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#);
    let session =
        policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#);
    let set = PolicySet {
        identity: vec![Source { name: "role", policy: &role_policy }],
        session: vec![Source { name: "session", policy: &session }],
        ..Default::default()
    };
    let c = session_of(role, session_arn);
    let req =
        |action| Request { caller: c, action, resource: "arn:aws:s3:::lake/k", resource_account: None, context: &ctx };
    assert!(evaluate(&req("s3:GetObject"), &set).allowed());
    assert_eq!(evaluate(&req("s3:PutObject"), &set).reason, Some(DenyReason::NoSessionAllow));
}

/// Same account: a bucket policy naming the user allows on its own; naming the account
/// delegates to the user's identity policies.
#[test]
fn same_account_resource_policy() {
    let (arn, ctx) = user("mary");
    let direct = resource_policy(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{arn}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"}}]}}"#
    ));
    let account = resource_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"}]}"#,
    );
    assert!(decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::lake/k", &[], Some(&direct)).allowed());
    assert!(!decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::lake/k", &[], Some(&account)).allowed());
}

/// Cross-account access needs both the caller's identity policy and the resource policy.
#[test]
fn cross_account_needs_both() {
    let arn = format!("arn:aws:iam::{OTHER}:user/ann");
    let ctx = Context::default();
    let c = Caller { kind: CallerKind::User, arn: &arn, account: OTHER, role_arn: None, canonical_id: None };
    let identity = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"}]}"#,
    );
    let bucket = resource_policy(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"}}]}}"#
    ));
    let run = |with_identity: bool, with_bucket: bool| {
        let set = PolicySet {
            identity: if with_identity { vec![Source { name: "id", policy: &identity }] } else { vec![] },
            resource: with_bucket.then_some(Source { name: "bucket", policy: &bucket }),
            ..Default::default()
        };
        let req = Request {
            caller: c,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::lake/k",
            resource_account: Some(ACCOUNT),
            context: &ctx,
        };
        evaluate(&req, &set)
    };
    assert!(run(true, true).allowed());
    assert_eq!(run(true, false).reason, Some(DenyReason::NoResourceAllow));
    assert_eq!(run(false, true).reason, Some(DenyReason::NoIdentityAllow));
}

/// A public-read bucket policy: anonymous GET allowed, anonymous PUT not.
#[test]
fn public_read_bucket_policy() {
    let ctx = Context::default();
    let bucket = resource_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::lake/*"}]}"#,
    );
    let set = PolicySet { resource: Some(Source { name: "bucket", policy: &bucket }), ..Default::default() };
    let req = |action| Request {
        caller: Caller::anonymous(),
        action,
        resource: "arn:aws:s3:::lake/k",
        resource_account: Some(ACCOUNT),
        context: &ctx,
    };
    assert!(evaluate(&req("s3:GetObject"), &set).allowed());
    assert_eq!(evaluate(&req("s3:PutObject"), &set).reason, Some(DenyReason::NoResourceAllow));
}

/// Root acts freely in its own account, but a bucket policy's explicit deny binds it too.
#[test]
fn root_and_explicit_resource_deny() {
    let ctx = Context::default();
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    let c = Caller { kind: CallerKind::Root, arn: &root, account: ACCOUNT, role_arn: None, canonical_id: None };
    let bucket = resource_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::lake"}]}"#,
    );
    let set = PolicySet { resource: Some(Source { name: "bucket", policy: &bucket }), ..Default::default() };
    let req =
        |action, resource| Request { caller: c, action, resource, resource_account: Some(ACCOUNT), context: &ctx };
    assert!(evaluate(&req("s3:PutObject", "arn:aws:s3:::lake/k"), &set).allowed());
    let e = evaluate(&req("s3:DeleteBucket", "arn:aws:s3:::lake"), &set);
    assert_eq!(e.reason, Some(DenyReason::Explicit(PolicyType::Resource)));
}

/// A trust policy trusting redshift.amazonaws.com, and one trusting a user of the account.
#[test]
fn trust_policies() {
    let ctx = Context::default();
    let trust = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"redshift.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        PolicyKind::Trust,
    )
    .unwrap();
    let set = PolicySet { resource: Some(Source { name: "trust", policy: &trust }), ..Default::default() };
    let role = "arn:aws:iam::111122223333:role/MyRedshiftRole";
    let service = Caller {
        kind: CallerKind::Service,
        arn: "redshift.amazonaws.com",
        account: "",
        role_arn: None,
        canonical_id: None,
    };
    let req = |c| Request {
        caller: c,
        action: "sts:AssumeRole",
        resource: role,
        resource_account: Some(ACCOUNT),
        context: &ctx,
    };
    assert!(evaluate(&req(service), &set).allowed());
    let other = Caller { kind: CallerKind::Service, arn: "lambda.amazonaws.com", ..service };
    assert!(!evaluate(&req(other), &set).allowed());
    let (arn, _) = user("mary");
    assert!(!evaluate(&req(caller(&arn)), &set).allowed());
}

/// A trust policy must allow even in its own account: an identity policy alone is not enough.
#[test]
fn trust_policy_is_required() {
    let (arn, ctx) = user("bob");
    let trust = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/mary"},"Action":"sts:AssumeRole"}]}"#,
        PolicyKind::Trust,
    )
    .unwrap();
    let identity =
        policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#);
    let role = "arn:aws:iam::111122223333:role/r";
    let set = PolicySet {
        identity: vec![Source { name: "id", policy: &identity }],
        resource: Some(Source { name: "trust", policy: &trust }),
        resource_required: true,
        ..Default::default()
    };
    let req = Request {
        caller: caller(&arn),
        action: "sts:AssumeRole",
        resource: role,
        resource_account: Some(ACCOUNT),
        context: &ctx,
    };
    assert_eq!(evaluate(&req, &set).reason, Some(DenyReason::NoResourceAllow));
    let (mary, _) = user("mary");
    let req = Request { caller: caller(&mary), ..req };
    assert!(evaluate(&req, &set).allowed());
}

#[test]
fn not_principal_deny_everyone_else() {
    let (arn, ctx) = user("mary");
    let bucket = resource_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::lake/*"}]}"#,
    );
    let all = policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#);
    assert_eq!(
        decide(&arn, &ctx, "s3:DeleteObject", "arn:aws:s3:::lake/k", &[&all], Some(&bucket)).decision,
        Decision::ExplicitDeny
    );
    let admin = "arn:aws:iam::111122223333:user/admin";
    assert!(decide(admin, &ctx, "s3:DeleteObject", "arn:aws:s3:::lake/k", &[&all], Some(&bucket)).allowed());
}

/// The NotPrincipal page's example: a Deny naming one user and its account denies every
/// other principal of that account; the account ARN exempts the account's root only.
#[test]
fn not_principal_with_the_account_exempts_only_those_named() {
    let (mary, ctx) = user("mary");
    let bucket = resource_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/admin","arn:aws:iam::111122223333:root"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"}]}"#,
    );
    let all = policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#);
    let get = |arn: &str| decide(arn, &ctx, "s3:GetObject", "arn:aws:s3:::lake/k", &[&all], Some(&bucket));
    assert_eq!(get(&mary).decision, Decision::ExplicitDeny);
    assert!(get("arn:aws:iam::111122223333:user/admin").allowed());
}

/// The permissions-boundaries and session-policies pages: a same-account resource policy
/// naming the *role* grants what the role's policies would, so the session's boundary and
/// session policy still cap it; one naming the *session* ARN is not capped.
#[test]
fn resource_policy_naming_the_role_is_capped_by_boundary_and_session_policy() {
    let role = "arn:aws:iam::111122223333:role/Reader";
    let session_arn = "arn:aws:sts::111122223333:assumed-role/Reader/s1";
    let ctx = Context::default();
    let naming = |who: &str| {
        resource_policy(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{who}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/*"}}]}}"#
        ))
    };
    let (by_role, by_session) = (naming(role), naming(session_arn));
    let narrow =
        policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#);
    let c = session_of(role, session_arn);
    let req = Request {
        caller: c,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::lake/k",
        resource_account: None,
        context: &ctx,
    };
    fn with<'a>(resource: &'a Policy, narrow: &'a Policy, boundary: bool, session: bool) -> PolicySet<'a> {
        PolicySet {
            resource: Some(Source { name: "bucket", policy: resource }),
            boundary: boundary.then_some(Source { name: "boundary", policy: narrow }),
            session: if session { vec![Source { name: "session", policy: narrow }] } else { Vec::new() },
            ..Default::default()
        }
    }
    // No identity policy is needed: the resource policy grants.
    assert!(evaluate(&req, &with(&by_role, &narrow, false, false)).allowed());
    assert_eq!(evaluate(&req, &with(&by_role, &narrow, true, false)).reason, Some(DenyReason::NoBoundaryAllow));
    assert_eq!(evaluate(&req, &with(&by_role, &narrow, false, true)).reason, Some(DenyReason::NoSessionAllow));
    assert!(evaluate(&req, &with(&by_session, &narrow, true, true)).allowed());
}

/// The NotPrincipal page: a Deny with NotPrincipal always denies a principal that has a
/// permissions boundary, even one it names.
#[test]
fn deny_not_principal_always_denies_a_bounded_principal() {
    let admin = "arn:aws:iam::111122223333:user/admin";
    let ctx = Context::default();
    let bucket = resource_policy(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":"{admin}"}},"Action":"s3:*","Resource":"arn:aws:s3:::lake/*"}}]}}"#
    ));
    let all = policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#);
    let set = |bounded: bool| PolicySet {
        identity: vec![Source { name: "all", policy: &all }],
        resource: Some(Source { name: "bucket", policy: &bucket }),
        boundary: bounded.then_some(Source { name: "boundary", policy: &all }),
        ..Default::default()
    };
    let req = Request {
        caller: caller(admin),
        action: "s3:GetObject",
        resource: "arn:aws:s3:::lake/k",
        resource_account: None,
        context: &ctx,
    };
    assert!(evaluate(&req, &set(false)).allowed());
    assert_eq!(evaluate(&req, &set(true)).decision, Decision::ExplicitDeny);
}

/// The Redshift lab's data-scientist policy: Data API and GetClusterCredentials for one user.
#[test]
fn data_scientist_policy() {
    let (arn, ctx) = user("mary");
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["redshift-data:ExecuteStatement","redshift-data:DescribeStatement","redshift-data:GetStatementResult","redshift-data:ListStatements"],"Resource":"*"},
        {"Effect":"Allow","Action":"redshift:GetClusterCredentials","Resource":["arn:aws:redshift:*:*:dbuser:*/${aws:username}","arn:aws:redshift:*:*:dbname:*/dev"]}]}"#,
    );
    assert!(decide(
        &arn,
        &ctx,
        "redshift-data:ExecuteStatement",
        "arn:aws:redshift:us-east-1:111122223333:cluster:lab",
        &[&p],
        None
    )
    .allowed());
    assert!(decide(
        &arn,
        &ctx,
        "redshift:GetClusterCredentials",
        "arn:aws:redshift:us-east-1:111122223333:dbuser:lab/mary",
        &[&p],
        None
    )
    .allowed());
    assert!(!decide(
        &arn,
        &ctx,
        "redshift:GetClusterCredentials",
        "arn:aws:redshift:us-east-1:111122223333:dbuser:lab/awsuser",
        &[&p],
        None
    )
    .allowed());
    assert!(!decide(
        &arn,
        &ctx,
        "redshift:DeleteCluster",
        "arn:aws:redshift:us-east-1:111122223333:cluster:lab",
        &[&p],
        None
    )
    .allowed());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            "[A-Za-z0-9:*?/${}, '.-]{0,20}".prop_map(serde_json::Value::String),
            prop_oneof![
                Just("Version"),
                Just("Statement"),
                Just("Effect"),
                Just("Allow"),
                Just("Deny"),
                Just("Action"),
                Just("NotAction"),
                Just("Resource"),
                Just("Principal"),
                Just("Condition"),
                Just("StringLike"),
                Just("s3:*"),
                Just("*"),
                Just("arn:aws:s3:::b/*"),
                Just("2012-10-17"),
                Just("AWS"),
                Just("${aws:username}"),
                Just("ForAllValues:StringEquals"),
                Just("IpAddress"),
                Just("aws:SourceIp"),
                Just("10.0.0.0/8")
            ]
            .prop_map(|s| serde_json::Value::String(s.to_string())),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("Version".to_string()),
                            Just("Statement".to_string()),
                            Just("Effect".to_string()),
                            Just("Action".to_string()),
                            Just("NotAction".to_string()),
                            Just("Resource".to_string()),
                            Just("NotResource".to_string()),
                            Just("Principal".to_string()),
                            Just("NotPrincipal".to_string()),
                            Just("Condition".to_string()),
                            Just("Sid".to_string()),
                            Just("AWS".to_string()),
                            Just("StringEquals".to_string()),
                            Just("NumericLessThan".to_string()),
                            Just("Null".to_string()),
                            Just("aws:username".to_string()),
                            "[a-z:]{1,10}"
                        ],
                        inner
                    ),
                    0..6
                )
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// No document makes the parser or the evaluator panic.
        #[test]
        fn parser_and_evaluator_never_panic(doc in json_value(), raw in ".{0,64}") {
            let (arn, ctx) = user("mary");
            let text = doc.to_string();
            for kind in [PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Trust] {
                let _ = Policy::parse(&raw, kind);
                if let Ok(p) = Policy::parse(&text, kind) {
                    let _ = decide(&arn, &ctx, "s3:GetObject", "arn:aws:s3:::b/k", &[&p], Some(&p));
                }
            }
        }
    }
}
