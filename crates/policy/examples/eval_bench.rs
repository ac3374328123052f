//! Evaluations per second of the evaluator on a realistic policy set: a user with a customer
//! managed policy (per-user prefix with a policy variable and a condition), an AWS managed
//! read-only policy, an explicit-deny guard policy with a source-IP condition, a permissions
//! boundary, and a bucket policy. Run with `cargo run --release -p nuage-policy --example eval_bench`.
use nuage_policy::{evaluate, Caller, CallerKind, Context, Policy, PolicyKind, PolicySet, Request, Source};
use std::time::Instant;

const DATA_SCIENTIST: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Sid":"ListOwnPrefix","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::lake","Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*","shared/*"]}}},
 {"Sid":"RwOwnPrefix","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::lake/home/${aws:username}/*"},
 {"Sid":"DataApi","Effect":"Allow","Action":["redshift-data:ExecuteStatement","redshift-data:DescribeStatement","redshift-data:GetStatementResult","redshift-data:ListStatements"],"Resource":"*"},
 {"Sid":"Creds","Effect":"Allow","Action":"redshift:GetClusterCredentials","Resource":["arn:aws:redshift:*:*:dbuser:lab/${aws:username}","arn:aws:redshift:*:*:dbname:lab/dev"]}]}"#;

const READ_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#;

const GUARD: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Sid":"NoDeleteBuckets","Effect":"Deny","Action":["s3:DeleteBucket","s3:PutBucketPolicy"],"Resource":"*"},
 {"Sid":"OnlyFromLab","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["127.0.0.0/8","10.0.0.0/8"]},"Bool":{"aws:ViaAWSService":"false"}}}]}"#;

const BOUNDARY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","redshift:*","redshift-data:*","sts:*"],"Resource":"*"}]}"#;

const BUCKET: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Sid":"PublicShared","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::lake/shared/*"},
 {"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::lake","arn:aws:s3:::lake/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"},"StringEquals":{"aws:PrincipalTag/env":"prod"}}}]}"#;

fn main() {
    let parse = |d: &str, k| Policy::parse(d, k).expect("valid policy");
    let scientist = parse(DATA_SCIENTIST, PolicyKind::Identity);
    let read_only = parse(READ_ONLY, PolicyKind::Identity);
    let guard = parse(GUARD, PolicyKind::Identity);
    let boundary = parse(BOUNDARY, PolicyKind::Identity);
    let bucket = parse(BUCKET, PolicyKind::Resource);
    let set = PolicySet {
        identity: vec![
            Source { name: "Policy-For-Data-Scientists", policy: &scientist },
            Source { name: "AmazonS3ReadOnlyAccess", policy: &read_only },
            Source { name: "guard", policy: &guard },
        ],
        resource: Some(Source { name: "bucket", policy: &bucket }),
        boundary: Some(Source { name: "boundary", policy: &boundary }),
        ..Default::default()
    };
    let arn = "arn:aws:iam::000000000000:user/mary";
    let mut ctx = Context::default();
    for (k, v) in [
        ("aws:username", "mary"),
        ("aws:userid", "AIDAEXAMPLEEXAMPLE1"),
        ("aws:PrincipalArn", arn),
        ("aws:PrincipalAccount", "000000000000"),
        ("aws:PrincipalType", "User"),
        ("aws:SourceIp", "127.0.0.1"),
        ("aws:SecureTransport", "false"),
        ("aws:CurrentTime", "2026-12-02T10:00:00Z"),
        ("aws:EpochTime", "1796205600"),
        ("aws:RequestedRegion", "us-east-1"),
        ("s3:prefix", "home/mary/2026/"),
    ] {
        ctx.set(k, v);
    }
    let caller = Caller { kind: CallerKind::User, arn, account: "000000000000", role_arn: None, canonical_id: None };
    let requests = [
        ("s3:GetObject", "arn:aws:s3:::lake/home/mary/2026/sales.csv"),
        ("s3:PutObject", "arn:aws:s3:::lake/home/mary/out.parquet"),
        ("s3:PutObject", "arn:aws:s3:::lake/home/bob/out.parquet"),
        ("s3:ListBucket", "arn:aws:s3:::lake"),
        ("s3:DeleteBucket", "arn:aws:s3:::lake"),
        ("redshift-data:ExecuteStatement", "arn:aws:redshift:us-east-1:000000000000:cluster:lab"),
        ("redshift:DeleteCluster", "arn:aws:redshift:us-east-1:000000000000:cluster:lab"),
        ("iam:CreateUser", "arn:aws:iam::000000000000:user/eve"),
    ];
    let mut allowed = 0usize;
    let n = 2_000_000usize;
    // Warm up, then measure.
    for (action, resource) in requests.iter().cycle().take(10_000) {
        let r = Request { caller, action, resource, resource_account: None, context: &ctx };
        allowed += evaluate(&r, &set).allowed() as usize;
    }
    let started = Instant::now();
    for (action, resource) in requests.iter().cycle().take(n) {
        let r = Request { caller, action, resource, resource_account: None, context: &ctx };
        allowed += evaluate(&r, &set).allowed() as usize;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "policy evaluator: {n} evaluations in {secs:.3} s = {:.0} evaluations/s on one core ({} policies, {} statements; {allowed} allowed)",
        n as f64 / secs,
        5,
        [&scientist, &read_only, &guard, &boundary, &bucket].iter().map(|p| p.statements.len()).sum::<usize>()
    );
}
