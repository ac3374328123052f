"""IAM's policy evaluation logic, table-driven.

Each row is a set of policies (identity, permissions boundary, session, bucket or trust
policy), a request, and the decision the IAM User Guide documents for it. Every row is asked
twice and both answers must be that decision: a real request made with boto3 as the row's
principal, and the policy simulator (SimulateCustomPolicy) given the same policies and the
context keys that request carries. AWS's simulator takes no session policies, so rows with one
are checked by the real request alone.
"""
import dataclasses
import datetime
import json

import pytest
from botocore.exceptions import ClientError

from conftest import with_bootstrap

ACCOUNT = "000000000000"
PARTNER = "222233334444"
# An identity policy that grants nothing the rows ask (SimulateCustomPolicy needs one).
NOTHING = [{"Effect": "Allow", "Action": "none:Nothing", "Resource": "*"}]


@dataclasses.dataclass
class Case:
    id: str
    expect: str  # allowed | implicitDeny | explicitDeny
    action: str = "GetObject"
    key: str = "k"
    identity: list = None
    boundary: list = None
    session: list = None  # the caller is a role session with this session policy
    bucket_policy: list = None
    trust: list = None  # AssumeRole: the target role's trust policy
    caller: str = "user"  # user | session | partner
    user_tags: dict = None
    request: dict = dataclasses.field(default_factory=dict)
    context: dict = dataclasses.field(default_factory=dict)
    version: str = "2012-10-17"
    sim_actions: list = None  # the permissions the real request needs, when several

    def __str__(self):
        return self.id


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trusts(action, principal, **extra):
    """A trust policy statement: no Resource (the role is the resource)."""
    return {"Effect": "Allow", "Action": action, "Principal": principal, **extra}


def when(operator, key, value):
    return {"Condition": {operator: {key: value}}}


OBJ = "arn:aws:s3:::{bucket}/*"
BUCKET = "arn:aws:s3:::{bucket}"
ME = {"AWS": "{user_arn}"}

CASES = [
    # The basics: allow, no policy, explicit deny.
    Case("identity-allows", "allowed", identity=[allow("s3:GetObject", OBJ)]),
    Case("nothing-allows", "implicitDeny"),
    Case("deny-beats-allow", "explicitDeny", identity=[allow("s3:*", "*"), deny("s3:GetObject", OBJ)]),
    Case("action-wildcard", "allowed", identity=[allow("s3:Get*", OBJ)]),
    Case("other-action", "implicitDeny", identity=[allow("s3:PutObject", OBJ)]),
    # NotAction / NotResource.
    Case("notaction-allow", "allowed", identity=[{"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "*"}]),
    Case("notaction-deny", "explicitDeny",
         identity=[allow("*"), {"Effect": "Deny", "NotAction": "s3:ListBucket", "Resource": "*"}]),
    Case("notresource-allow", "allowed",
         identity=[{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::{bucket}/secret/*"}]),
    Case("notresource-excludes", "implicitDeny", key="secret/x",
         identity=[{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::{bucket}/secret/*"}]),
    Case("notresource-deny", "explicitDeny",
         identity=[allow("s3:*"), {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::{bucket}/public/*"}]),
    # String operators.
    Case("string-equals", "allowed", identity=[allow("s3:GetObject", OBJ, **when("StringEquals", "aws:username", "{user}"))],
         context={"aws:username": "{user}"}),
    Case("string-equals-other", "implicitDeny", identity=[allow("s3:GetObject", OBJ, **when("StringEquals", "aws:username", "bob"))],
         context={"aws:username": "{user}"}),
    Case("string-not-equals", "allowed", identity=[allow("s3:GetObject", OBJ, **when("StringNotEquals", "aws:username", "bob"))],
         context={"aws:username": "{user}"}),
    Case("string-equals-ignore-case", "allowed",
         identity=[allow("s3:GetObject", OBJ, **when("StringEqualsIgnoreCase", "aws:username", "{USER}"))],
         context={"aws:username": "{user}"}),
    Case("string-like-prefix", "allowed", action="ListBucket", request={"Prefix": "home/x"},
         identity=[allow("s3:ListBucket", BUCKET, **when("StringLike", "s3:prefix", "home/*"))], context={"s3:prefix": "home/x"}),
    Case("string-like-other-prefix", "implicitDeny", action="ListBucket", request={"Prefix": "other/"},
         identity=[allow("s3:ListBucket", BUCKET, **when("StringLike", "s3:prefix", "home/*"))], context={"s3:prefix": "other/"}),
    Case("string-not-like", "explicitDeny", action="ListBucket", request={"Prefix": "other/"},
         identity=[allow("s3:ListBucket", BUCKET), deny("s3:ListBucket", BUCKET, **when("StringNotLike", "s3:prefix", "home/*"))],
         context={"s3:prefix": "other/"}),
    Case("multiple-values-any", "allowed", action="CreateUser", request={"Tags": [{"Key": "team", "Value": "b"}]},
         identity=[allow("iam:CreateUser", "*", **when("StringEquals", "aws:RequestTag/team", ["a", "b"])), allow("iam:TagUser")],
         context={"aws:RequestTag/team": "b", "aws:TagKeys": ["team"]}, sim_actions=["iam:CreateUser", "iam:TagUser"]),
    # Numeric, date, boolean, IP and ARN operators.
    Case("numeric-within", "allowed", action="ListBucket", request={"MaxKeys": 5},
         identity=[allow("s3:ListBucket", BUCKET, **when("NumericLessThanEquals", "s3:max-keys", "10"))], context={"s3:max-keys": "5"}),
    Case("numeric-over", "implicitDeny", action="ListBucket", request={"MaxKeys": 50},
         identity=[allow("s3:ListBucket", BUCKET, **when("NumericLessThanEquals", "s3:max-keys", "10"))], context={"s3:max-keys": "50"}),
    Case("date-after", "allowed", identity=[allow("s3:GetObject", OBJ, **when("DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z"))],
         context={"aws:CurrentTime": "{now}"}),
    Case("date-before", "implicitDeny", identity=[allow("s3:GetObject", OBJ, **when("DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z"))],
         context={"aws:CurrentTime": "{now}"}),
    Case("bool-insecure-transport-denied", "explicitDeny",
         identity=[allow("s3:*"), deny("s3:*", "*", **when("Bool", "aws:SecureTransport", "false"))], context={"aws:SecureTransport": "false"}),
    Case("ip-in-range", "allowed", identity=[allow("s3:GetObject", OBJ, **when("IpAddress", "aws:SourceIp", "127.0.0.0/8"))],
         context={"aws:SourceIp": "127.0.0.1"}),
    Case("ip-out-of-range", "implicitDeny", identity=[allow("s3:GetObject", OBJ, **when("IpAddress", "aws:SourceIp", "10.0.0.0/8"))],
         context={"aws:SourceIp": "127.0.0.1"}),
    Case("not-ip-deny-passes", "allowed",
         identity=[allow("s3:GetObject", OBJ), deny("s3:*", "*", **when("NotIpAddress", "aws:SourceIp", ["127.0.0.0/8", "::1/128"]))],
         context={"aws:SourceIp": "127.0.0.1"}),
    Case("arn-like", "allowed", identity=[allow("s3:GetObject", OBJ, **when("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:user/{user}"))],
         context={"aws:PrincipalArn": "{user_arn}"}),
    Case("arn-equals-other", "implicitDeny",
         identity=[allow("s3:GetObject", OBJ, **when("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::000000000000:user/bob"))],
         context={"aws:PrincipalArn": "{user_arn}"}),
    # Missing keys: Null, ...IfExists, negated operators.
    Case("null-token-issue-time-long-term-key", "explicitDeny",
         identity=[allow("s3:*"), deny("s3:*", "*", **when("Null", "aws:TokenIssueTime", "true"))]),
    Case("null-token-issue-time-session", "allowed", caller="session",
         identity=[allow("s3:*"), deny("s3:*", "*", **when("Null", "aws:TokenIssueTime", "true"))]),
    Case("if-exists-absent-key", "allowed",
         identity=[allow("s3:GetObject", OBJ, **when("StringEqualsIfExists", "s3:x-amz-acl", "private"))]),
    Case("absent-key-no-if-exists", "implicitDeny",
         identity=[allow("s3:GetObject", OBJ, **when("StringEquals", "s3:x-amz-acl", "private"))]),
    Case("negated-absent-key", "allowed",
         identity=[allow("s3:GetObject", OBJ, **when("StringNotEquals", "s3:x-amz-acl", "public-read"))]),
    # BinaryEquals: no request of a served action carries a binary key; an absent key leaves
    # the condition false, so the Deny does not apply.
    Case("binary-equals-absent-key", "allowed",
         identity=[allow("s3:GetObject", OBJ), deny("s3:GetObject", OBJ, **when("BinaryEquals", "aws:ExampleBinary", "QmluYXJ5VmFsdWU="))]),
    # Set operators, with empty sets.
    Case("for-all-values-no-tags", "allowed", action="CreateUser",
         identity=[allow("iam:CreateUser", "*", **when("ForAllValues:StringEquals", "aws:TagKeys", ["team"]))]),
    Case("for-all-values-other-tag", "implicitDeny", action="CreateUser", request={"Tags": [{"Key": "cost", "Value": "1"}]},
         identity=[allow("iam:CreateUser", "*", **when("ForAllValues:StringEquals", "aws:TagKeys", ["team"])), allow("iam:TagUser")],
         context={"aws:TagKeys": ["cost"], "aws:RequestTag/cost": "1"}, sim_actions=["iam:CreateUser", "iam:TagUser"]),
    Case("for-any-value-no-tags", "implicitDeny", action="CreateUser",
         identity=[allow("iam:CreateUser", "*", **when("ForAnyValue:StringEquals", "aws:TagKeys", ["team"]))]),
    Case("for-any-value-one-tag", "allowed", action="CreateUser",
         request={"Tags": [{"Key": "team", "Value": "x"}, {"Key": "cost", "Value": "1"}]},
         identity=[allow("iam:CreateUser", "*", **when("ForAnyValue:StringEquals", "aws:TagKeys", ["team"])), allow("iam:TagUser")],
         context={"aws:TagKeys": ["team", "cost"], "aws:RequestTag/team": "x", "aws:RequestTag/cost": "1"},
         sim_actions=["iam:CreateUser", "iam:TagUser"]),
    # Policy variables.
    Case("variable-home-directory", "allowed", key="home/{user}/f", identity=[allow("s3:GetObject", "arn:aws:s3:::{bucket}/home/${aws:username}/*")],
         context={"aws:username": "{user}"}),
    Case("variable-other-home", "implicitDeny", key="home/bob/f", identity=[allow("s3:GetObject", "arn:aws:s3:::{bucket}/home/${aws:username}/*")],
         context={"aws:username": "{user}"}),
    Case("variable-literal-in-2008-policy", "implicitDeny", key="home/{user}/f", version="2008-10-17",
         identity=[allow("s3:GetObject", "arn:aws:s3:::{bucket}/home/${aws:username}/*")], context={"aws:username": "{user}"}),
    Case("variable-default-value", "allowed", key="none/f",
         identity=[allow("s3:GetObject", "arn:aws:s3:::{bucket}/${aws:PrincipalTag/team, 'none'}/*")]),
    Case("variable-principal-tag", "allowed", key="blue/f", user_tags={"team": "blue"},
         identity=[allow("s3:GetObject", "arn:aws:s3:::{bucket}/${aws:PrincipalTag/team}/*")], context={"aws:PrincipalTag/team": "blue"}),
    Case("variable-star-is-literal", "implicitDeny", key="k",
         identity=[allow("s3:GetObject", "arn:aws:s3:::{bucket}/${*}")]),
    Case("variable-star-matches-star", "allowed", key="*",
         identity=[allow("s3:GetObject", "arn:aws:s3:::{bucket}/${*}")]),
    Case("principal-tag-condition", "allowed", user_tags={"team": "blue"},
         identity=[allow("s3:GetObject", OBJ, **when("StringEquals", "aws:PrincipalTag/team", "blue"))], context={"aws:PrincipalTag/team": "blue"}),
    Case("resource-account", "allowed", identity=[allow("s3:GetObject", OBJ, **when("StringEquals", "aws:ResourceAccount", ACCOUNT))],
         context={"aws:ResourceAccount": ACCOUNT}),
    # Permissions boundaries.
    Case("boundary-allows", "allowed", identity=[allow("s3:*")], boundary=[allow("s3:GetObject")]),
    Case("boundary-caps", "implicitDeny", action="PutObject", identity=[allow("s3:*")], boundary=[allow("s3:GetObject")]),
    Case("boundary-alone-grants-nothing", "implicitDeny", boundary=[allow("s3:*")]),
    Case("boundary-deny", "explicitDeny", identity=[allow("s3:*")], boundary=[allow("s3:*"), deny("s3:GetObject")]),
    # Session policies (the simulator has no input for them).
    Case("session-policy-caps", "implicitDeny", caller="session", identity=[allow("s3:*")], session=[allow("s3:ListBucket")]),
    Case("session-policy-allows", "allowed", caller="session", identity=[allow("s3:*")], session=[allow("s3:GetObject")]),
    Case("session-policy-grants-nothing-alone", "implicitDeny", caller="session", identity=NOTHING, session=[allow("s3:*")]),
    # Resource-based policies in the same account.
    Case("bucket-policy-names-user", "allowed", bucket_policy=[allow("s3:GetObject", OBJ, Principal=ME)]),
    Case("bucket-policy-names-account", "implicitDeny", bucket_policy=[allow("s3:GetObject", OBJ, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})]),
    Case("bucket-policy-names-account-identity-allows", "allowed", identity=[allow("s3:GetObject", OBJ)],
         bucket_policy=[allow("s3:GetObject", OBJ, Principal={"AWS": ACCOUNT})]),
    Case("bucket-policy-deny", "explicitDeny", identity=[allow("s3:*")], bucket_policy=[deny("s3:GetObject", OBJ, Principal="*")]),
    Case("bucket-policy-grant-beyond-boundary", "allowed", boundary=[allow("s3:ListBucket")],
         bucket_policy=[allow("s3:GetObject", OBJ, Principal=ME)]),
    # NotPrincipal.
    Case("notprincipal-with-account-still-denies-other-users", "explicitDeny", identity=[allow("s3:*")],
         bucket_policy=[{"Effect": "Deny", "NotPrincipal": {"AWS": ["{other_arn}", f"arn:aws:iam::{ACCOUNT}:root"]},
                         "Action": "s3:GetObject", "Resource": OBJ}]),
    Case("notprincipal-exempts-the-named-user", "allowed", identity=[allow("s3:*")],
         bucket_policy=[{"Effect": "Deny", "NotPrincipal": ME, "Action": "s3:GetObject", "Resource": OBJ}]),
    Case("notprincipal-deny-always-denies-a-bounded-principal", "explicitDeny", identity=[allow("s3:*")], boundary=[allow("s3:*")],
         bucket_policy=[{"Effect": "Deny", "NotPrincipal": ME, "Action": "s3:GetObject", "Resource": OBJ}]),
    # A resource policy naming the role is capped by the session's boundary and session
    # policy; one naming the session is not.
    Case("bucket-policy-names-role-capped-by-boundary", "implicitDeny", caller="session", identity=NOTHING, boundary=[allow("s3:ListBucket")],
         bucket_policy=[allow("s3:GetObject", OBJ, Principal={"AWS": "{role_arn}"})]),
    Case("bucket-policy-names-role-capped-by-session-policy", "implicitDeny", caller="session", identity=NOTHING, session=[allow("s3:ListBucket")],
         bucket_policy=[allow("s3:GetObject", OBJ, Principal={"AWS": "{role_arn}"})]),
    Case("bucket-policy-names-session-escapes-caps", "allowed", caller="session", identity=NOTHING, boundary=[allow("s3:ListBucket")],
         session=[allow("s3:ListBucket")], bucket_policy=[allow("s3:GetObject", OBJ, Principal={"AWS": "{session_arn}"})]),
    # Across accounts, both sides must allow.
    Case("cross-account-identity-only", "implicitDeny", caller="partner", identity=[allow("s3:GetObject", OBJ)]),
    Case("cross-account-bucket-only", "implicitDeny", caller="partner", bucket_policy=[allow("s3:GetObject", OBJ, Principal={"AWS": PARTNER})]),
    Case("cross-account-both", "allowed", caller="partner", identity=[allow("s3:GetObject", OBJ)],
         bucket_policy=[allow("s3:GetObject", OBJ, Principal={"AWS": f"arn:aws:iam::{PARTNER}:root"})]),
    Case("cross-account-bucket-names-user-needs-identity", "implicitDeny", caller="partner", bucket_policy=[allow("s3:GetObject", OBJ, Principal=ME)]),
    Case("cross-account-deny-in-bucket", "explicitDeny", caller="partner", identity=[allow("s3:GetObject", OBJ)],
         bucket_policy=[allow("s3:GetObject", OBJ, Principal={"AWS": PARTNER}), deny("s3:GetObject", OBJ, Principal=ME)]),
    # s3:ListAllMyBuckets is an action on resource *.
    Case("list-all-my-buckets-on-star", "allowed", action="ListBuckets", identity=[allow("s3:ListAllMyBuckets", "*")]),
    Case("list-all-my-buckets-not-on-bucket-arns", "implicitDeny", action="ListBuckets", identity=[allow("s3:ListAllMyBuckets", "arn:aws:s3:::*")]),
    # Trust policies: the resource policy of AssumeRole, required even within the account.
    Case("trust-names-user-directly", "allowed", action="AssumeRole", trust=[trusts("sts:AssumeRole", ME)]),
    Case("trust-names-account-needs-identity", "implicitDeny", action="AssumeRole",
         trust=[trusts("sts:AssumeRole", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})]),
    Case("trust-names-account-with-identity", "allowed", action="AssumeRole", identity=[allow("sts:AssumeRole", "{target_arn}")],
         trust=[trusts("sts:AssumeRole", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})]),
    Case("trust-names-someone-else", "implicitDeny", action="AssumeRole", identity=[allow("sts:AssumeRole", "*")],
         trust=[trusts("sts:AssumeRole", {"AWS": "{other_arn}"})]),
    Case("trust-deny", "explicitDeny", action="AssumeRole", identity=[allow("sts:AssumeRole", "*")],
         trust=[trusts("sts:AssumeRole", ME), {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": "*"}]),
    Case("trust-condition-external-id", "allowed", action="AssumeRole", request={"ExternalId": "x-42"},
         trust=[trusts("sts:AssumeRole", ME, **when("StringEquals", "sts:ExternalId", "x-42"))], context={"sts:ExternalId": "x-42"}),
    Case("session-tags-need-tag-session", "implicitDeny", action="AssumeRole", request={"Tags": [{"Key": "team", "Value": "a"}]},
         trust=[trusts("sts:AssumeRole", ME)], context={"aws:RequestTag/team": "a", "aws:TagKeys": ["team"]},
         sim_actions=["sts:AssumeRole", "sts:TagSession"]),
    Case("session-tags-with-tag-session", "allowed", action="AssumeRole", request={"Tags": [{"Key": "team", "Value": "a"}]},
         trust=[trusts(["sts:AssumeRole", "sts:TagSession"], ME)], context={"aws:RequestTag/team": "a", "aws:TagKeys": ["team"]},
         sim_actions=["sts:AssumeRole", "sts:TagSession"]),
    Case("source-identity-needs-set-source-identity", "implicitDeny", action="AssumeRole", request={"SourceIdentity": "mary"},
         trust=[trusts("sts:AssumeRole", ME)], context={"sts:SourceIdentity": "mary"},
         sim_actions=["sts:AssumeRole", "sts:SetSourceIdentity"]),
    Case("source-identity-allowed", "allowed", action="AssumeRole", request={"SourceIdentity": "mary"},
         trust=[trusts(["sts:AssumeRole", "sts:SetSourceIdentity"], ME, **when("StringEquals", "sts:SourceIdentity", "mary"))],
         context={"sts:SourceIdentity": "mary"}, sim_actions=["sts:AssumeRole", "sts:SetSourceIdentity"]),
    # Resource tags of every service reach the evaluator.
    Case("secret-resource-tag", "allowed", action="GetSecretValue", request={"SecretTags": [{"Key": "team", "Value": "blue"}]},
         identity=[allow("secretsmanager:GetSecretValue", "*", **when("StringEquals", "aws:ResourceTag/team", "blue"))],
         context={"aws:ResourceTag/team": "blue"}),
    Case("secret-other-resource-tag", "implicitDeny", action="GetSecretValue", request={"SecretTags": [{"Key": "team", "Value": "red"}]},
         identity=[allow("secretsmanager:GetSecretValue", "*", **when("StringEquals", "aws:ResourceTag/team", "blue"))],
         context={"aws:ResourceTag/team": "red"}),
]

ACTIONS = {
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "ListBucket": "s3:ListBucket",
    "ListBuckets": "s3:ListAllMyBuckets",
    "CreateUser": "iam:CreateUser",
    "AssumeRole": "sts:AssumeRole",
    "GetSecretValue": "secretsmanager:GetSecretValue",
}

KEY_TYPES = {"aws:SourceIp": "ip", "aws:CurrentTime": "date", "aws:SecureTransport": "boolean", "s3:max-keys": "numeric"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    n = with_bootstrap(
        tmp_path_factory.mktemp("evaluation"),
        f"""
[[account]]
id = "{PARTNER}"
display_name = "partner"
root_keys = [{{ access_key = "PARTNERROOT", secret_key = "partnersecret" }}]
""",
    )
    yield n
    n.kill()


def fill(value, names):
    """The row's placeholders ({bucket}, {user}, {user_arn}, ...) replaced, recursively."""
    if isinstance(value, str):
        for k, v in names.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {fill(k, names): fill(v, names) for k, v in value.items()}
    return value


def document(statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": statements})


def decision_of(call):
    try:
        call()
        return "allowed"
    except ClientError as e:
        err = e.response["Error"]
        assert err["Code"] in ("AccessDenied", "AccessDeniedException"), err
        return "explicitDeny" if "explicit deny" in err["Message"] else "implicitDeny"


class Row:
    """One case's principals and resources, created by the account roots."""

    def __init__(self, env, n, case):
        self.env, self.case = env, case
        self.root_iam = env.client("iam")
        acct = PARTNER if case.caller == "partner" else ACCOUNT
        user = f"U{n}ser"  # capitals: IAM finds names whatever their case
        self.names = {
            "bucket": f"eval-{n}",
            "user": user,
            "USER": user.upper(),
            "user_arn": f"arn:aws:iam::{acct}:user/{user}",
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/R{n}",
            "session_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/R{n}/s{n}",
            "target_arn": f"arn:aws:iam::{ACCOUNT}:role/T{n}",
            "other_arn": f"arn:aws:iam::{ACCOUNT}:user/O{n}",
            "now": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.n = n

    def policy(self, statements):
        return document(fill(statements, self.names), self.case.version)

    def setup(self):
        c, names, s3 = self.case, self.names, self.env.client("s3")
        s3.create_bucket(Bucket=names["bucket"])
        s3.put_object(Bucket=names["bucket"], Key=fill(c.key, names), Body=b"data")
        boundary_arn = None
        if c.boundary:
            iam = self.root_iam
            boundary_arn = iam.create_policy(PolicyName=f"boundary{self.n}", PolicyDocument=self.policy(c.boundary))["Policy"]["Arn"]
        if c.caller == "session":
            self.credentials = self.session(boundary_arn)
        else:
            self.credentials = self.user(boundary_arn)
        # Someone else, for policies that name another principal (they must exist).
        self.root_iam.create_user(UserName=f"O{self.n}")
        if c.bucket_policy:
            s3.put_bucket_policy(Bucket=names["bucket"], Policy=self.policy(c.bucket_policy))
        if c.trust:
            self.root_iam.create_role(RoleName=f"T{self.n}", AssumeRolePolicyDocument=self.policy(c.trust))

    def user(self, boundary_arn):
        c = self.case
        iam = self.env.client("iam", access_key="PARTNERROOT", secret_key="partnersecret") if c.caller == "partner" else self.root_iam
        tags = [{"Key": k, "Value": v} for k, v in (c.user_tags or {}).items()]
        iam.create_user(UserName=self.names["user"], Tags=tags)
        if c.identity:
            iam.put_user_policy(UserName=self.names["user"], PolicyName="identity", PolicyDocument=self.policy(c.identity))
        if boundary_arn:
            iam.put_user_permissions_boundary(UserName=self.names["user"], PermissionsBoundary=boundary_arn)
        key = iam.create_access_key(UserName=self.names["user"])["AccessKey"]
        return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}

    def session(self, boundary_arn):
        c, iam = self.case, self.root_iam
        trust = document([trusts("sts:AssumeRole", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})])
        iam.create_role(RoleName=f"R{self.n}", AssumeRolePolicyDocument=trust, **({"PermissionsBoundary": boundary_arn} if boundary_arn else {}))
        if c.identity:
            iam.put_role_policy(RoleName=f"R{self.n}", PolicyName="identity", PolicyDocument=self.policy(c.identity))
        extra = {"Policy": self.policy(c.session)} if c.session else {}
        creds = self.env.client("sts").assume_role(RoleArn=self.names["role_arn"], RoleSessionName=f"s{self.n}", **extra)["Credentials"]
        return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"], "session_token": creds["SessionToken"]}

    def client(self, service):
        return self.env.client(service, **self.credentials)

    def resource(self):
        c, names = self.case, self.names
        if c.action in ("GetObject", "PutObject"):
            return f"arn:aws:s3:::{names['bucket']}/{fill(c.key, names)}"
        if c.action == "ListBucket":
            return f"arn:aws:s3:::{names['bucket']}"
        if c.action == "CreateUser":
            return f"arn:aws:iam::{ACCOUNT}:user/new{self.n}"
        if c.action == "AssumeRole":
            return names["target_arn"]
        if c.action == "GetSecretValue":
            return self.secret_arn
        return "*"

    def real_decision(self):
        c, names = self.case, self.names
        bucket, key = names["bucket"], fill(c.key, names)
        request = fill(c.request, names)
        calls = {
            "GetObject": lambda: self.client("s3").get_object(Bucket=bucket, Key=key),
            "PutObject": lambda: self.client("s3").put_object(Bucket=bucket, Key=key, Body=b"x", **request),
            "ListBucket": lambda: self.client("s3").list_objects_v2(Bucket=bucket, **request),
            "ListBuckets": lambda: self.client("s3").list_buckets(),
            "CreateUser": lambda: self.client("iam").create_user(UserName=f"new{self.n}", **request),
            "AssumeRole": lambda: self.client("sts").assume_role(RoleArn=names["target_arn"], RoleSessionName="try", **request),
            "GetSecretValue": lambda: self.client("secretsmanager").get_secret_value(SecretId=self.secret_arn),
        }
        if c.action == "GetSecretValue":
            sm = self.env.client("secretsmanager")
            self.secret_arn = sm.create_secret(Name=f"sec{self.n}", SecretString="s", Tags=request["SecretTags"])["ARN"]
        return decision_of(calls[c.action])

    def simulated_decision(self):
        c = self.case
        entries = []
        for key, value in fill(c.context, self.names).items():
            many = isinstance(value, list)
            kind = KEY_TYPES.get(key, "string")
            entries.append({"ContextKeyName": key, "ContextKeyValues": value if many else [value],
                            "ContextKeyType": kind + "List" if many else kind})
        ask = dict(
            PolicyInputList=[self.policy(c.identity or NOTHING)],
            ActionNames=c.sim_actions or [ACTIONS[c.action]],
            ResourceArns=[self.resource()],
            CallerArn=self.names["user_arn"],
            ContextEntries=entries,
        )
        if c.boundary:
            ask["PermissionsBoundaryPolicyInputList"] = [self.policy(c.boundary)]
        if c.bucket_policy or c.trust:
            ask["ResourcePolicy"] = self.policy(c.bucket_policy or c.trust)
        if c.caller == "partner":
            ask["ResourceOwner"] = f"arn:aws:iam::{ACCOUNT}:root"
        results = self.root_iam.simulate_custom_policy(**ask)["EvaluationResults"]
        decisions = [r["EvalDecision"] for r in results]
        for d in ("explicitDeny", "implicitDeny"):
            if d in decisions:
                return d
        return "allowed"


@pytest.mark.parametrize("n,case", list(enumerate(CASES)), ids=[c.id for c in CASES])
def test_documented_decision(env, n, case):
    row = Row(env, n, case)
    row.setup()
    assert row.real_decision() == case.expect, "real request"
    if case.session is None and case.caller != "session":
        assert row.simulated_decision() == case.expect, "simulator"

