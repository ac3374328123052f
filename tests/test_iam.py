"""IAM and STS with policies enforced on every request, driven as a user would: boto3 and the
aws CLI, each principal with its own credentials."""
import json
import time

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resources="*"):
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    return e.value.response["Error"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def new_user(server, name, *policies, managed=()):
    """Creates a user with inline policies and managed policy ARNs; returns its client factory."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    for i, p in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=p)
    for arn in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]

    def client(service="s3", **config):
        return server.client(service, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"], **config)

    return client, key


def test_lab_story_data_scientist(server):
    """Root creates mary, a customer managed policy and her key; she can do exactly what it says."""
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="tickit/sales.csv", Body=b"1,2,3\n")
    iam = server.client("iam")
    iam.create_user(UserName="mary")
    policy = iam.create_policy(
        PolicyName="Policy-For-Data-Scientists",
        PolicyDocument=doc(
            allow(["s3:GetObject"], "arn:aws:s3:::lake/*"),
            allow(["s3:ListBucket"], "arn:aws:s3:::lake"),
        ),
    )["Policy"]
    assert policy["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/Policy-For-Data-Scientists"
    assert policy["DefaultVersionId"] == "v1" and policy["AttachmentCount"] == 0
    iam.attach_user_policy(UserName="mary", PolicyArn=policy["Arn"])
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"] == 1
    key = iam.create_access_key(UserName="mary")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    mary = server.client("s3", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    assert mary.get_object(Bucket="lake", Key="tickit/sales.csv")["Body"].read() == b"1,2,3\n"
    assert [o["Key"] for o in mary.list_objects_v2(Bucket="lake")["Contents"]] == ["tickit/sales.csv"]
    err, status = error_of(mary.put_object, Bucket="lake", Key="x", Body=b"no")
    assert status == 403 and err["Code"] == "AccessDenied"
    assert err["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/mary is not authorized to perform: s3:PutObject on resource: "
        "arn:aws:s3:::lake/x because no identity-based policy allows the s3:PutObject action"
    )
    mary_iam = server.client("iam", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    err, status = error_of(mary_iam.create_user, UserName="eve")
    assert status == 403 and err["Code"] == "AccessDenied"
    assert "iam:CreateUser" in err["Message"] and "because no identity-based policy allows" in err["Message"]
    # Her own identity needs no permission.
    me = server.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/mary"
    # Nothing she was refused happened.
    assert "eve" not in [u["UserName"] for u in iam.list_users()["Users"]]
    assert s3.list_objects_v2(Bucket="lake")["KeyCount"] == 1


def test_policy_versions_change_what_is_allowed(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    iam = server.client("iam")
    arn = iam.create_policy(PolicyName="p", PolicyDocument=doc(allow("s3:ListBucket", "arn:aws:s3:::lake")))["Policy"]["Arn"]
    mary, _ = new_user(server, "mary", managed=[arn])
    error_of(mary().put_object, Bucket="lake", Key="k", Body=b"x")
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow(["s3:PutObject", "s3:ListBucket"], ["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"])), SetAsDefault=True)
    mary().put_object(Bucket="lake", Key="k", Body=b"x")
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v2", True), ("v1", False)]
    v1 = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert v1["Statement"][0]["Action"] == "s3:ListBucket"  # boto3 decodes IAM's URL-encoded documents
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    error_of(mary().put_object, Bucket="lake", Key="k2", Body=b"x")
    for v in range(3, 6):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("s3:ListBucket", "*")))
    err, status = error_of(iam.create_policy_version, PolicyArn=arn, PolicyDocument=doc(allow("s3:ListBucket", "*")))
    assert (err["Code"], status) == ("LimitExceeded", 409)
    err, _ = error_of(iam.delete_policy_version, PolicyArn=arn, VersionId="v1")
    assert err["Code"] == "DeleteConflict"
    err, _ = error_of(iam.delete_policy, PolicyArn=arn)
    assert err["Code"] == "DeleteConflict"


def test_explicit_deny_wins_and_inline_policies(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    mary, _ = new_user(
        server,
        "mary",
        doc(allow("s3:*")),
        doc({"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}),
    )
    mary().put_object(Bucket="lake", Key="k", Body=b"x")
    err, status = error_of(mary().delete_object, Bucket="lake", Key="k")
    assert status == 403 and err["Message"].endswith("with an explicit deny in an identity-based policy")
    assert s3.head_object(Bucket="lake", Key="k")["ContentLength"] == 1
    iam = server.client("iam")
    assert iam.list_user_policies(UserName="mary")["PolicyNames"] == ["p0", "p1"]
    got = iam.get_user_policy(UserName="mary", PolicyName="p1")["PolicyDocument"]
    assert got["Statement"][0]["Sid"] == "NoDeletes"
    iam.delete_user_policy(UserName="mary", PolicyName="p1")
    mary().delete_object(Bucket="lake", Key="k")


def test_groups_grant_to_members(server):
    server.client("s3").create_bucket(Bucket="lake")
    iam = server.client("iam")
    mary, _ = new_user(server, "mary")
    iam.create_group(GroupName="scientists")
    iam.attach_group_policy(GroupName="scientists", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    error_of(mary().list_objects_v2, Bucket="lake")
    iam.add_user_to_group(GroupName="scientists", UserName="mary")
    assert mary().list_objects_v2(Bucket="lake")["KeyCount"] == 0
    error_of(mary().put_object, Bucket="lake", Key="k", Body=b"x")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="mary")["Groups"]] == ["scientists"]
    err, _ = error_of(iam.delete_group, GroupName="scientists")
    assert err["Code"] == "DeleteConflict"


def test_permissions_boundary_caps_admin(server):
    server.client("s3").create_bucket(Bucket="lake")
    iam = server.client("iam")
    mary, _ = new_user(server, "mary", managed=["arn:aws:iam::aws:policy/AdministratorAccess"])
    mary("iam").list_users()
    iam.put_user_permissions_boundary(UserName="mary", PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    assert iam.get_user(UserName="mary")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("AmazonS3FullAccess")
    mary().put_object(Bucket="lake", Key="k", Body=b"x")
    err, status = error_of(mary("iam").list_users)
    assert status == 403 and "because no permissions boundary allows the iam:ListUsers action" in err["Message"]


def test_assume_role_with_trust_policy_and_session_credentials(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="k", Body=b"data")
    iam = server.client("iam")
    mary, _ = new_user(server, "mary")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/mary"}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=trust, MaxSessionDuration=7200)["Role"]
    assert role["RoleId"].startswith("AROA") and role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    iam.attach_role_policy(RoleName="Reader", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    sts = mary("sts")
    err, _ = error_of(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="bad name", DurationSeconds=900)
    assert err["Code"] == "ValidationError"
    err, _ = error_of(sts.assume_role, RoleArn=role["Arn"], RoleSessionName="etl", DurationSeconds=7201)
    assert err["Code"] == "ValidationError" and "MaxSessionDuration" in err["Message"]
    out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="etl", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/etl"
    lifetime = creds["Expiration"].timestamp() - time.time()
    assert 880 < lifetime <= 900
    session = dict(access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    who = server.client("sts", **session).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/etl"
    assert who["UserId"] == f"{role['RoleId']}:etl"
    as_role = server.client("s3", **session)
    assert as_role.get_object(Bucket="lake", Key="k")["Body"].read() == b"data"
    err, _ = error_of(as_role.put_object, Bucket="lake", Key="k2", Body=b"x")
    assert err["Message"].startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Reader/etl is not authorized")
    # The session token must accompany the temporary key.
    wrong = server.client("s3", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token="forged")
    err, _ = error_of(wrong.get_object, Bucket="lake", Key="k")
    assert err["Code"] == "InvalidToken"
    # Someone the trust policy does not name cannot assume the role.
    bob, _ = new_user(server, "bob", doc(allow("sts:AssumeRole")))
    err, status = error_of(bob("sts").assume_role, RoleArn=role["Arn"], RoleSessionName="x1")
    assert status == 403 and err["Message"].endswith("because no role trust policy allows the sts:AssumeRole action")
    # Sessions survive a restart, like everything else IAM keeps.
    server.restart()
    assert server.client("s3", **session).get_object(Bucket="lake", Key="k")["Body"].read() == b"data"


def test_session_policy_intersects_with_role(server):
    server.client("s3").create_bucket(Bucket="lake")
    iam = server.client("iam")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"})
    role_arn = iam.create_role(RoleName="Writer", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName="Writer", PolicyName="all", PolicyDocument=doc(allow("s3:*")))
    # The trust policy names the account, so the caller's own policies must allow AssumeRole.
    mary, _ = new_user(server, "mary")
    error_of(mary("sts").assume_role, RoleArn=role_arn, RoleSessionName="m1")
    creds = server.client("sts").assume_role(
        RoleArn=role_arn, RoleSessionName="narrow", Policy=doc(allow("s3:ListBucket"))
    )["Credentials"]
    narrow = server.client("s3", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    narrow.list_objects_v2(Bucket="lake")
    err, _ = error_of(narrow.put_object, Bucket="lake", Key="k", Body=b"x")
    assert "because no session policy allows the s3:PutObject action" in err["Message"]
    # The session and its policy are both kept across a restart.
    server.restart()
    narrow.list_objects_v2(Bucket="lake")
    err, _ = error_of(narrow.put_object, Bucket="lake", Key="k", Body=b"x")
    assert "because no session policy allows the s3:PutObject action" in err["Message"]


def test_get_session_token_acts_as_the_user(server):
    server.client("s3").create_bucket(Bucket="lake")
    mary, _ = new_user(server, "mary", doc(allow("s3:ListBucket")))
    creds = mary("sts").get_session_token(DurationSeconds=900)["Credentials"]
    s = dict(access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    assert server.client("sts", **s).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/mary"
    server.client("s3", **s).list_objects_v2(Bucket="lake")
    error_of(server.client("s3", **s).put_object, Bucket="lake", Key="k", Body=b"x")


def test_access_keys_inactive_deleted_and_limited(server):
    server.client("s3").create_bucket(Bucket="lake")
    iam = server.client("iam")
    mary, key = new_user(server, "mary", doc(allow("s3:ListBucket")))
    mary().list_objects_v2(Bucket="lake")
    iam.create_access_key(UserName="mary")
    err, _ = error_of(iam.create_access_key, UserName="mary")
    assert (err["Code"], err["Message"]) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
    iam.update_access_key(UserName="mary", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="mary")["AccessKeyMetadata"]}[key["AccessKeyId"]] == "Inactive"
    err, status = error_of(mary().list_objects_v2, Bucket="lake")
    assert status == 403 and err["Code"] == "InvalidAccessKeyId"
    iam.update_access_key(UserName="mary", AccessKeyId=key["AccessKeyId"], Status="Active")
    mary().list_objects_v2(Bucket="lake")
    err, _ = error_of(iam.delete_user, UserName="mary")
    assert err["Code"] == "DeleteConflict"
    iam.delete_access_key(UserName="mary", AccessKeyId=key["AccessKeyId"])
    err, _ = error_of(mary().list_objects_v2, Bucket="lake")
    assert err["Code"] == "InvalidAccessKeyId"


def test_entities_errors_and_validation(server):
    iam = server.client("iam")
    iam.create_user(UserName="mary", Path="/lab/")
    assert iam.get_user(UserName="mary")["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/lab/mary"
    err, status = error_of(iam.create_user, UserName="mary")
    assert (err["Code"], status, err["Message"]) == ("EntityAlreadyExists", 409, "User with name mary already exists.")
    err, status = error_of(iam.get_user, UserName="nobody")
    assert (err["Code"], status, err["Message"]) == ("NoSuchEntity", 404, "The user with name nobody cannot be found.")
    cases = [
        ("{not json", "Syntax errors in policy."),
        (doc({"Effect": "Allow", "Action": "s3:GetObject"}), "Policy statement must contain resources."),
        (doc({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions."),
        (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}), "Has prohibited field Principal"),
    ]
    for bad, message in cases:
        err, status = error_of(iam.create_policy, PolicyName="bad", PolicyDocument=bad)
        assert (err["Code"], status, err["Message"]) == ("MalformedPolicyDocument", 400, message)
    err, _ = error_of(iam.create_policy, PolicyName="big", PolicyDocument=doc(*[allow(f"s3:GetObject{i:04}") for i in range(300)]))
    assert (err["Code"], err["Message"]) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
    assert "bad" not in [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    err, _ = error_of(iam.create_role, RoleName="r", AssumeRolePolicyDocument=doc({**allow("sts:AssumeRole"), "Principal": {"Service": "redshift.amazonaws.com"}}))
    assert (err["Code"], err["Message"]) == ("MalformedPolicyDocument", "Has prohibited field Resource")
    err, _ = error_of(iam.attach_user_policy, UserName="mary", PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/nope")
    assert err["Code"] == "NoSuchEntity"
    names = {p["PolicyName"] for p in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]}
    assert {"AdministratorAccess", "AmazonS3ReadOnlyAccess", "AmazonRedshiftDataFullAccess", "AWSLambda_FullAccess"} <= names
    page = iam.list_policies(Scope="AWS", MaxItems=5)
    assert len(page["Policies"]) == 5 and page["IsTruncated"]
    rest = iam.list_policies(Scope="AWS", Marker=page["Marker"], MaxItems=1000)["Policies"]
    assert len(page["Policies"]) + len(rest) == len(names)


def test_simulate_principal_policy_explains(server):
    iam = server.client("iam")
    new_user(server, "mary", doc({"Sid": "ReadLake", **allow("s3:GetObject", "arn:aws:s3:::lake/*")}))
    out = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/mary",
        ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=["arn:aws:s3:::lake/a"],
    )["EvaluationResults"]
    by_action = {r["EvalActionName"]: r for r in out}
    assert by_action["s3:GetObject"]["EvalDecision"] == "allowed"
    assert by_action["s3:GetObject"]["MatchedStatements"][0]["SourcePolicyId"] == "p0"
    assert by_action["s3:PutObject"]["EvalDecision"] == "implicitDeny"
    custom = iam.simulate_custom_policy(
        PolicyInputList=[doc(allow("s3:*"), {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"})],
        ActionNames=["s3:DeleteBucket", "s3:ListBucket"],
    )["EvaluationResults"]
    assert {r["EvalActionName"]: r["EvalDecision"] for r in custom} == {"s3:DeleteBucket": "explicitDeny", "s3:ListBucket": "allowed"}


def test_iam_state_survives_restart_and_cli(server):
    iam = server.client("iam")
    _, key = new_user(server, "mary", doc(allow("iam:GetUser")))
    server.restart()
    assert server.client("iam").get_user(UserName="mary")["User"]["UserName"] == "mary"
    out = json.loads(server.cli("iam", "get-user", "--user-name", "mary", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]).stdout)
    assert out["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/mary"
    denied = server.cli("iam", "list-users", check=False, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr


def test_enforcement_can_be_turned_off(tmp_path):
    from conftest import Nuage

    n = Nuage(str(tmp_path), ["--no-enforce-policies"]).start()
    try:
        n.client("s3").create_bucket(Bucket="lake")
        mary, _ = new_user(n, "mary")
        mary().put_object(Bucket="lake", Key="k", Body=b"x")
    finally:
        n.kill()


def test_bucket_policy_public_read(server):
    import requests

    s3 = server.client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>hi</h1>")
    assert requests.get(f"{server.endpoint}/site/index.html").status_code == 403
    err, status = error_of(s3.get_bucket_policy, Bucket="site")
    assert (err["Code"], status) == ("NoSuchBucketPolicy", 404)
    public = doc({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"})
    s3.put_bucket_policy(Bucket="site", Policy=public)
    assert json.loads(s3.get_bucket_policy(Bucket="site")["Policy"]) == json.loads(public)
    assert s3.get_bucket_policy_status(Bucket="site")["PolicyStatus"]["IsPublic"] is True
    got = requests.get(f"{server.endpoint}/site/index.html")
    assert got.status_code == 200 and got.content == b"<h1>hi</h1>"
    put = requests.put(f"{server.endpoint}/site/evil.html", data=b"x")
    assert put.status_code == 403 and "<Code>AccessDenied</Code>" in put.text
    assert "Contents" not in s3.list_objects_v2(Bucket="site", Prefix="evil")
    # Restricting public buckets takes the public grant away from anonymous callers.
    s3.put_public_access_block(Bucket="site", PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert requests.get(f"{server.endpoint}/site/index.html").status_code == 403
    s3.delete_public_access_block(Bucket="site")
    assert requests.get(f"{server.endpoint}/site/index.html").status_code == 200
    s3.delete_bucket_policy(Bucket="site")
    assert requests.get(f"{server.endpoint}/site/index.html").status_code == 403


def test_bucket_policy_validation_and_block_public_policy(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    cases = [
        ("not json", "Policies must be valid JSON and the first byte must be '{'"),
        (doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"}), "Missing required field Principal"),
        (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}), "Policy has invalid resource"),
        (doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/nobody"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"}), "Invalid principal in policy"),
    ]
    for bad, message in cases:
        err, status = error_of(s3.put_bucket_policy, Bucket="lake", Policy=bad)
        assert (err["Code"], status, err["Message"]) == ("MalformedPolicy", 400, message)
    s3.put_public_access_block(Bucket="lake", PublicAccessBlockConfiguration={"BlockPublicPolicy": True, "BlockPublicAcls": True})
    conf = s3.get_public_access_block(Bucket="lake")["PublicAccessBlockConfiguration"]
    assert conf == {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True, "RestrictPublicBuckets": False}
    err, status = error_of(s3.put_bucket_policy, Bucket="lake", Policy=doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"}))
    assert (err["Code"], status) == ("AccessDenied", 403)
    err, status = error_of(s3.put_object, Bucket="lake", Key="k", Body=b"x", ACL="public-read")
    assert (err["Code"], status) == ("AccessDenied", 403)
    s3.put_object(Bucket="lake", Key="k", Body=b"x")


@pytest.fixture
def two_accounts(tmp_path):
    from conftest import with_bootstrap

    n = with_bootstrap(
        tmp_path,
        """
[[account]]
id = "222233334444"
display_name = "partner"
root_keys = [{ access_key = "PARTNERROOT", secret_key = "partnersecret" }]
[[account.user]]
name = "ann"
keys = [{ access_key = "ANNKEY", secret_key = "annsecret" }]
""",
    )
    yield n
    n.kill()


def test_cross_account_needs_both_sides(two_accounts):
    server = two_accounts
    s3 = server.client("s3")
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="k", Body=b"data")
    ann = server.client("s3", access_key="ANNKEY", secret_key="annsecret")
    partner_iam = server.client("iam", access_key="PARTNERROOT", secret_key="partnersecret")
    # Neither side allows.
    error_of(ann.get_object, Bucket="shared", Key="k")
    # Only ann's own account allows.
    partner_iam.put_user_policy(UserName="ann", PolicyName="read", PolicyDocument=doc(allow("s3:GetObject", "arn:aws:s3:::shared/*")))
    err, _ = error_of(ann.get_object, Bucket="shared", Key="k")
    assert "because no resource-based policy allows the s3:GetObject action" in err["Message"]
    # Both allow.
    s3.put_bucket_policy(Bucket="shared", Policy=doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222233334444:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}))
    assert ann.get_object(Bucket="shared", Key="k")["Body"].read() == b"data"
    # Only the bucket allows.
    partner_iam.delete_user_policy(UserName="ann", PolicyName="read")
    err, _ = error_of(ann.get_object, Bucket="shared", Key="k")
    assert "because no identity-based policy allows the s3:GetObject action" in err["Message"]
    # The partner's root needs no identity policy of its own.
    assert server.client("s3", access_key="PARTNERROOT", secret_key="partnersecret").get_object(Bucket="shared", Key="k")["Body"].read() == b"data"


def test_my_redshift_role_as_in_the_lab(server):
    """The lab's MyRedshiftRole: trusted by redshift.amazonaws.com, reading and writing one bucket."""
    iam = server.client("iam")
    trust = doc({"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName="MyRedshiftRole", AssumeRolePolicyDocument=trust, Description="COPY from S3")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/MyRedshiftRole"
    iam.put_role_policy(
        RoleName="MyRedshiftRole",
        PolicyName="lake-access",
        PolicyDocument=doc(allow(["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:PutObject"], ["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"])),
    )
    got = iam.get_role(RoleName="MyRedshiftRole")["Role"]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "redshift.amazonaws.com"}
    results = iam.simulate_principal_policy(
        PolicySourceArn=role["Arn"],
        ActionNames=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        ResourceArns=["arn:aws:s3:::lake/tickit/allusers_pipe.txt", "arn:aws:s3:::other/x"],
    )["EvaluationResults"]
    # One result per action; each resource's decision in ResourceSpecificResults.
    assert [r["EvalActionName"] for r in results] == ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    decisions = {(r["EvalActionName"], x["EvalResourceName"]): x["EvalResourceDecision"]
                 for r in results for x in r["ResourceSpecificResults"]}
    assert {r["EvalActionName"]: r["EvalDecision"] for r in results}["s3:GetObject"] == "implicitDeny"
    assert decisions[("s3:GetObject", "arn:aws:s3:::lake/tickit/allusers_pipe.txt")] == "allowed"
    assert decisions[("s3:PutObject", "arn:aws:s3:::lake/tickit/allusers_pipe.txt")] == "allowed"
    assert decisions[("s3:DeleteObject", "arn:aws:s3:::lake/tickit/allusers_pipe.txt")] == "implicitDeny"
    assert decisions[("s3:GetObject", "arn:aws:s3:::other/x")] == "implicitDeny"
    # Only the service may assume it: not even the account's root.
    err, status = error_of(server.client("sts").assume_role, RoleArn=role["Arn"], RoleSessionName="root-try")
    assert status == 403 and err["Code"] == "AccessDenied"
    assert iam.list_roles()["Roles"][0]["RoleName"] == "MyRedshiftRole"


def test_tag_condition_keys(server):
    """aws:RequestTag / aws:TagKeys on IAM writes, aws:ResourceTag of the role on AssumeRole."""
    iam = server.client("iam")
    admin, _ = new_user(
        server,
        "admin",
        doc(
            {"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestTag/team": "science"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "science"}}},
        ),
    )
    err, _ = error_of(admin("iam").create_user, UserName="u1")
    assert err["Code"] == "AccessDenied"
    error_of(admin("iam").create_user, UserName="u1", Tags=[{"Key": "team", "Value": "finance"}])
    error_of(admin("iam").create_user, UserName="u1", Tags=[{"Key": "team", "Value": "science"}, {"Key": "cost", "Value": "1"}])
    admin("iam").create_user(UserName="u1", Tags=[{"Key": "team", "Value": "science"}])
    assert iam.get_user(UserName="u1")["User"]["Tags"] == [{"Key": "team", "Value": "science"}]
    trust = doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="sci", AssumeRolePolicyDocument=trust, Tags=[{"Key": "team", "Value": "science"}])
    iam.create_role(RoleName="fin", AssumeRolePolicyDocument=trust, Tags=[{"Key": "team", "Value": "finance"}])
    admin("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/sci", RoleSessionName="ok1")
    err, _ = error_of(admin("sts").assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/fin", RoleSessionName="no1")
    assert err["Code"] == "AccessDenied"


def to_loopback(client):
    """boto3 sends S3 Control requests to `<account>.<endpoint host>`, which does not resolve for
    127.0.0.1: connect to the endpoint itself, keeping the signed Host header."""
    from urllib.parse import urlsplit, urlunsplit

    def send_to_endpoint(request, **_):
        url = urlsplit(request.url)
        request.headers["Host"] = url.netloc
        request.url = urlunsplit(url._replace(netloc=url.netloc.split(".", 1)[1]))

    client.meta.events.register_last("before-send.s3-control", send_to_endpoint)
    return client


def test_account_public_access_block(server):
    """S3 Control's account-level block applies to every bucket of the account."""
    import requests

    s3 = server.client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="k", Body=b"x")
    control = to_loopback(server.client("s3control"))
    err, status = error_of(control.get_public_access_block, AccountId=ACCOUNT)
    assert (err["Code"], status) == ("NoSuchPublicAccessBlockConfiguration", 404)
    control.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={"BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    got = control.get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"]
    assert got == {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    public = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"})
    err, status = error_of(s3.put_bucket_policy, Bucket="site", Policy=public)
    assert (err["Code"], status) == ("AccessDenied", 403)
    control.delete_public_access_block(AccountId=ACCOUNT)
    s3.put_bucket_policy(Bucket="site", Policy=public)
    assert requests.get(f"{server.endpoint}/site/k").status_code == 200
    control.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert requests.get(f"{server.endpoint}/site/k").status_code == 403
    # A user of the account needs a policy for it, like for anything else.
    mary, _ = new_user(server, "mary")
    err, status = error_of(to_loopback(mary("s3control")).get_public_access_block, AccountId=ACCOUNT)
    assert (err["Code"], status) == ("AccessDenied", 403) and "s3:GetAccountPublicAccessBlock" in err["Message"]


def test_bucket_policy_cannot_lock_out_the_owner_root_unless_confirmed(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    deny_all = doc({"Effect": "Deny", "Principal": "*", "Action": ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"], "Resource": "arn:aws:s3:::lake"})
    s3.put_bucket_policy(Bucket="lake", Policy=deny_all)
    assert json.loads(s3.get_bucket_policy(Bucket="lake")["Policy"]) == json.loads(deny_all)
    s3.delete_bucket_policy(Bucket="lake")
    s3.put_bucket_policy(Bucket="lake", Policy=deny_all, ConfirmRemoveSelfBucketAccess=True)
    err, status = error_of(s3.get_bucket_policy, Bucket="lake")
    assert (err["Code"], status) == ("AccessDenied", 403)


def test_copy_needs_read_on_the_source(server):
    """CopyObject is authorised twice: s3:PutObject on the target and s3:GetObject on the source."""
    s3 = server.client("s3")
    for b in ("src", "dst"):
        s3.create_bucket(Bucket=b)
    s3.put_object(Bucket="src", Key="secret", Body=b"s")
    mary, _ = new_user(server, "mary", doc(allow("s3:PutObject", "arn:aws:s3:::dst/*")))
    err, status = error_of(mary().copy_object, Bucket="dst", Key="stolen", CopySource="src/secret")
    assert status == 403 and "s3:GetObject on resource: arn:aws:s3:::src/secret" in err["Message"]
    assert "Contents" not in s3.list_objects_v2(Bucket="dst")
    server.client("iam").put_user_policy(UserName="mary", PolicyName="read", PolicyDocument=doc(allow("s3:GetObject", "arn:aws:s3:::src/*")))
    mary().copy_object(Bucket="dst", Key="copy", CopySource="src/secret")
    assert s3.get_object(Bucket="dst", Key="copy")["Body"].read() == b"s"


def test_access_key_last_used_is_recorded(server):
    iam = server.client("iam")
    iam.create_user(UserName="worker")
    key = iam.create_access_key(UserName="worker")["AccessKey"]
    never = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert never["UserName"] == "worker"
    assert never["AccessKeyLastUsed"]["ServiceName"] == "N/A" and never["AccessKeyLastUsed"]["Region"] == "N/A"
    assert "LastUsedDate" not in never["AccessKeyLastUsed"]
    worker = server.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"], region="eu-west-3")
    worker.get_caller_identity()
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert used["ServiceName"] == "sts" and used["Region"] == "eu-west-3"
    assert abs(used["LastUsedDate"].timestamp() - time.time()) < 60
    # A denied request was still signed with the key: it counts.
    s3 = server.client("s3", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"], region="us-east-2")
    with pytest.raises(ClientError):
        s3.list_buckets()
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert (used["ServiceName"], used["Region"]) == ("s3", "us-east-2")
    time.sleep(0.5)  # the record is written in the background
    server.restart()
    kept = server.client("iam").get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert (kept["ServiceName"], kept["Region"]) == ("s3", "us-east-2")


def test_evaluation_fixes_from_outside(server):
    """s3:ListAllMyBuckets is on resource `*`; aws:TokenIssueTime exists for temporary
    credentials only; the simulator finds a user whatever the case of its name."""
    iam = server.client("iam")
    iam.create_user(UserName="Lister")
    key = iam.create_access_key(UserName="Lister")["AccessKey"]
    lister = server.client("s3", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    iam.put_user_policy(UserName="Lister", PolicyName="scoped", PolicyDocument=doc({**allow("s3:ListAllMyBuckets"), "Resource": "arn:aws:s3:::*"}))
    with pytest.raises(ClientError) as e:
        lister.list_buckets()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    iam.put_user_policy(UserName="Lister", PolicyName="scoped", PolicyDocument=doc({**allow("s3:ListAllMyBuckets"), "Resource": "*"}))
    lister.list_buckets()

    # A policy that needs aws:TokenIssueTime: long-term keys never have it, a session's do.
    server.client("s3").create_bucket(Bucket="tokens")
    iam.put_user_policy(UserName="Lister", PolicyName="scoped", PolicyDocument=doc(
        {**allow("s3:ListBucket"), "Resource": "arn:aws:s3:::tokens", "Condition": {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}},
        {**allow("sts:GetSessionToken"), "Resource": "*"},
    ))
    with pytest.raises(ClientError):
        lister.list_objects_v2(Bucket="tokens")
    creds = server.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]).get_session_token()["Credentials"]
    session = server.client("s3", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    assert session.list_objects_v2(Bucket="tokens")["KeyCount"] == 0

    # The user is Lister; the simulator finds it as LISTER too.
    out = iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/LISTER", ActionNames=["sts:GetSessionToken"])
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_resource_policy_naming_the_role_is_capped_naming_the_session_is_not(server):
    """The permissions-boundaries and session-policies pages: a bucket policy naming a role
    grants its sessions what the role's own policies would, still capped by the role's
    boundary and the session policy; one naming the session's ARN is not capped."""
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="k", Body=b"data")
    iam = server.client("iam")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"})
    list_only = doc(allow("s3:ListBucket"))
    bound = iam.create_policy(PolicyName="ListOnly", PolicyDocument=list_only)["Policy"]["Arn"]
    role_arn = iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=trust, PermissionsBoundary=bound)["Role"]["Arn"]
    plain_arn = iam.create_role(RoleName="Plain", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    def bucket_policy(*principals):
        s3.put_bucket_policy(Bucket="lake", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"}]}))

    def session(arn, name, **extra):
        c = server.client("sts").assume_role(RoleArn=arn, RoleSessionName=name, **extra)["Credentials"]
        return server.client("s3", access_key=c["AccessKeyId"], secret_key=c["SecretAccessKey"], session_token=c["SessionToken"])

    bucket_policy(role_arn, plain_arn)
    err, status = error_of(session(role_arn, "b1").get_object, Bucket="lake", Key="k")
    assert status == 403 and "because no permissions boundary allows the s3:GetObject action" in err["Message"]
    err, _ = error_of(session(plain_arn, "p1", Policy=list_only).get_object, Bucket="lake", Key="k")
    assert "because no session policy allows the s3:GetObject action" in err["Message"]
    # Without a cap, naming the role is enough: no identity policy of the role is needed.
    assert session(plain_arn, "p2").get_object(Bucket="lake", Key="k")["Body"].read() == b"data"
    # Naming the session itself escapes both caps.
    bucket_policy(f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/b2", f"arn:aws:sts::{ACCOUNT}:assumed-role/Plain/p3")
    assert session(role_arn, "b2").get_object(Bucket="lake", Key="k")["Body"].read() == b"data"
    assert session(plain_arn, "p3", Policy=list_only).get_object(Bucket="lake", Key="k")["Body"].read() == b"data"


def test_simulator_applies_boundaries_and_cross_account_like_the_enforcer(server):
    iam = server.client("iam")
    admin = doc(allow("*"))
    list_only = doc(allow("s3:ListBucket"))
    # A boundary given to SimulateCustomPolicy caps the identity policies.
    r = iam.simulate_custom_policy(PolicyInputList=[admin], PermissionsBoundaryPolicyInputList=[list_only],
                                   ActionNames=["s3:GetObject", "s3:ListBucket"])["EvaluationResults"]
    by_action = {x["EvalActionName"]: x for x in r}
    assert by_action["s3:GetObject"]["EvalDecision"] == "implicitDeny"
    assert by_action["s3:GetObject"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert by_action["s3:ListBucket"]["EvalDecision"] == "allowed"
    # A caller of another account: its identity policy is not enough without the resource's.
    other = "arn:aws:iam::111122223333:user/visitor"
    bucket = "arn:aws:s3:::lake/k"
    ask = dict(PolicyInputList=[admin], ActionNames=["s3:GetObject"], ResourceArns=[bucket], CallerArn=other,
               ResourceOwner=f"arn:aws:iam::{ACCOUNT}:root")
    grant = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": other}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"}]})
    deny_everyone = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/*"}]})
    assert iam.simulate_custom_policy(ResourcePolicy=deny_everyone, **ask)["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    assert iam.simulate_custom_policy(ResourcePolicy=grant, **ask)["EvaluationResults"][0]["EvalDecision"] == "allowed"
    # SimulatePrincipalPolicy uses the user's own boundary, as enforcement does.
    bound = iam.create_policy(PolicyName="ListOnly", PolicyDocument=list_only)["Policy"]["Arn"]
    user = iam.create_user(UserName="Capped", PermissionsBoundary=bound)["User"]
    iam.put_user_policy(UserName="Capped", PolicyName="admin", PolicyDocument=admin)
    r = iam.simulate_principal_policy(PolicySourceArn=user["Arn"], ActionNames=["s3:GetObject"])["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny"
    assert r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] is False


def test_simulator_reports_statements_missing_keys_and_pages(server):
    iam = server.client("iam")
    # The AWS CLI reference's example: where the statement lies, nothing missing.
    policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
    r = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["dynamodb:CreateBackup"],
        ContextEntries=[{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2019-04-25T11:00:00Z"], "ContextKeyType": "date"}],
    )["EvaluationResults"][0]
    assert r["EvalResourceName"] == "*" and r["EvalDecision"] == "allowed" and r["MissingContextValues"] == []
    statement = r["MatchedStatements"][0]
    assert statement["SourcePolicyId"] == "PolicyInputList.1"
    assert statement["StartPosition"] == {"Line": 1, "Column": 38} and statement["EndPosition"] == {"Line": 1, "Column": 167}
    # Without the key, the condition cannot hold, and the simulator says which key it lacked.
    r = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["dynamodb:CreateBackup"])["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny" and r["MissingContextValues"] == ["aws:CurrentTime"] and r["MatchedStatements"] == []
    # A value that is not of its declared type is refused.
    with pytest.raises(ClientError) as e:
        iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["dynamodb:CreateBackup"], ContextEntries=[
            {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["yesterday"], "ContextKeyType": "date"}])
    assert e.value.response["Error"]["Code"] == "InvalidInput"
    # One result per action, each resource's decision beside the aggregate (the most restrictive).
    home = doc(allow("s3:GetObject", "arn:aws:s3:::lake/home/${aws:username}/*"))
    r = iam.simulate_custom_policy(
        PolicyInputList=[home], ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=["arn:aws:s3:::lake/home/mary/a", "arn:aws:s3:::lake/home/bob/b"],
        ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["mary"], "ContextKeyType": "string"}],
    )["EvaluationResults"]
    assert [x["EvalActionName"] for x in r] == ["s3:GetObject", "s3:PutObject"]
    get = r[0]
    assert get["EvalDecision"] == "implicitDeny"
    assert [(x["EvalResourceName"], x["EvalResourceDecision"]) for x in get["ResourceSpecificResults"]] == [
        ("arn:aws:s3:::lake/home/mary/a", "allowed"), ("arn:aws:s3:::lake/home/bob/b", "implicitDeny")]
    # Pages of MaxItems results.
    first = iam.simulate_custom_policy(PolicyInputList=[home], ActionNames=["s3:GetObject", "s3:PutObject", "s3:ListBucket"], MaxItems=2)
    assert len(first["EvaluationResults"]) == 2 and first["IsTruncated"] is True
    rest = iam.simulate_custom_policy(PolicyInputList=[home], ActionNames=["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                                      MaxItems=2, Marker=first["Marker"])
    assert [x["EvalActionName"] for x in rest["EvaluationResults"]] == ["s3:ListBucket"] and rest["IsTruncated"] is False
    # The keys a simulation needs.
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[policy, home])["ContextKeyNames"]
    assert keys == ["aws:CurrentTime", "aws:username"]


def test_simulator_exclusions_and_service_control_policies(server):
    iam = server.client("iam")
    managed = iam.create_policy(PolicyName="ReadAll", PolicyDocument=doc(allow("s3:GetObject")))["Policy"]["Arn"]
    iam.create_user(UserName="Dana")
    iam.attach_user_policy(UserName="Dana", PolicyArn=managed)
    iam.put_user_policy(UserName="Dana", PolicyName="ip", PolicyDocument=doc({**allow("s3:PutObject"), "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}))
    user = f"arn:aws:iam::{ACCOUNT}:user/Dana"

    def decision(action, **extra):
        return iam.simulate_principal_policy(PolicySourceArn=user, ActionNames=[action], **extra)["EvaluationResults"][0]["EvalDecision"]

    assert decision("s3:GetObject") == "allowed"
    assert decision("s3:GetObject", PolicyExclusionList=[{"PolicyArn": managed}]) == "implicitDeny"
    assert decision("s3:GetObject", PolicyExclusionList=[{"PolicyType": "user-managed"}]) == "implicitDeny"
    assert decision("s3:GetObject", PolicyExclusionList=[{"PolicyType": "inline"}]) == "allowed"
    assert decision("s3:GetObject", PolicyExclusionList=[{"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/Read*"}]) == "implicitDeny"
    ip = [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"}]
    assert decision("s3:PutObject", ContextEntries=ip) == "allowed"
    inline = {"InlinePolicyIdentifier": {"PolicyName": "ip", "AttachmentType": "user", "AttachmentName": "da*"}}
    assert decision("s3:PutObject", ContextEntries=ip, PolicyExclusionList=[inline]) == "implicitDeny"
    with pytest.raises(ClientError) as e:
        decision("s3:GetObject", PolicyExclusionList=[{"PolicyArn": "arn:aws:iam::000000000000:policy/*a*"}])
    assert e.value.response["Error"]["Code"] == "InvalidInput"
    assert iam.get_context_keys_for_principal_policy(PolicySourceArn=user)["ContextKeyNames"] == ["aws:SourceIp"]
    # Service control policies: every level of the organization must allow; a Deny denies.
    admin = doc(allow("*"))
    levels = [{"ServiceControlPolicyInputList": [doc(allow("*"))]},
              {"ServiceControlPolicyInputList": [doc(allow("s3:*")), doc(allow("dynamodb:*"))]}]
    r = iam.simulate_custom_policy(PolicyInputList=[admin], ActionNames=["s3:GetObject", "iam:CreateUser"],
                                   OrderedOrganizationPolicyInputList=levels)["EvaluationResults"]
    assert [(x["EvalDecision"], x["OrganizationsDecisionDetail"]["AllowedByOrganizations"]) for x in r] == [
        ("allowed", True), ("implicitDeny", False)]
    levels.append({"ServiceControlPolicyInputList": [doc(allow("*"), {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"})]})
    r = iam.simulate_custom_policy(PolicyInputList=[admin], ActionNames=["s3:GetObject"], OrderedOrganizationPolicyInputList=levels)
    assert r["EvaluationResults"][0]["EvalDecision"] == "explicitDeny"


def test_service_linked_roles_are_protected(server):
    """CreateServiceLinkedRole makes the service's role (its name, path and trust policy);
    every change but its description is refused as IAM refuses it; DeleteServiceLinkedRole
    answers a task whose status says it is done."""
    iam = server.client("iam")

    def code_of(call, **kwargs):
        return error_of(call, **kwargs)[0]["Code"]

    role = iam.create_service_linked_role(AWSServiceName="redshift.amazonaws.com", Description="for Redshift")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForRedshift"
    assert role["Path"] == "/aws-service-role/redshift.amazonaws.com/"
    assert role["Arn"] == "arn:aws:iam::000000000000:role/aws-service-role/redshift.amazonaws.com/AWSServiceRoleForRedshift"
    trust = iam.get_role(RoleName="AWSServiceRoleForRedshift")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": ["redshift.amazonaws.com"]}
    assert code_of(iam.create_service_linked_role, AWSServiceName="redshift.amazonaws.com") == "InvalidInput"
    assert code_of(iam.create_service_linked_role, AWSServiceName="nothing.amazonaws.com") == "InvalidInput"
    assert code_of(iam.create_service_linked_role, AWSServiceName="redshift.amazonaws.com", CustomSuffix="two") == "InvalidInput"
    auto = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="web")["Role"]
    assert auto["RoleName"] == "AWSServiceRoleForAutoScaling_web"

    for call, kwargs in [
        (iam.delete_role, {}),
        (iam.put_role_policy, {"PolicyName": "p", "PolicyDocument": doc(allow("s3:*"))}),
        (iam.attach_role_policy, {"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        (iam.update_assume_role_policy, {"PolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})}),
    ]:
        assert code_of(call, RoleName="AWSServiceRoleForRedshift", **kwargs) == "UnmodifiableEntity", call
    iam.update_role_description(RoleName="AWSServiceRoleForRedshift", Description="changed")
    assert iam.get_role(RoleName="AWSServiceRoleForRedshift")["Role"]["Description"] == "changed"

    # An ordinary role is not one.
    iam.create_role(RoleName="plain", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    assert code_of(iam.delete_service_linked_role, RoleName="plain") == "InvalidInput"
    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForRedshift")["DeletionTaskId"]
    assert task.startswith("task/aws-service-role/redshift.amazonaws.com/AWSServiceRoleForRedshift/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    assert code_of(iam.get_role, RoleName="AWSServiceRoleForRedshift") == "NoSuchEntity"
    assert code_of(iam.get_service_linked_role_deletion_status, DeletionTaskId="task/aws-service-role/x/y/z") == "NoSuchEntity"
