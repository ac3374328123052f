"""IAM's account settings and the credentials besides access keys, with boto3: the password
policy enforced on console passwords and ChangePassword, the account alias, virtual MFA
devices whose codes are real TOTP (and MFA-protected API access through STS),
service-specific credentials, and the credential report."""
import base64
import csv
import hashlib
import hmac
import io
import json
import time

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    return e.value.response["Error"]


def totp(seed, offset=0):
    """The code an authenticator app shows (RFC 6238), `offset` 30-second steps from now."""
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    counter = int(time.time() // 30) + offset
    digest = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    o = digest[19] & 15
    return "%06d" % ((int.from_bytes(digest[o:o + 4], "big") & 0x7FFFFFFF) % 1_000_000)


def user_with_keys(server, name, policy=None):
    iam = server.client("iam")
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": policy}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return lambda service: server.client(service, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])


def test_password_policy_login_profiles_and_change_password(server):
    iam = server.client("iam")
    err = error_of(iam.get_account_password_policy)
    assert err["Code"] == "NoSuchEntity" and ACCOUNT in err["Message"]
    ana = user_with_keys(server, "ana")
    # Without a policy, IAM's default: eight characters, three character types.
    assert error_of(iam.create_login_profile, UserName="ana", Password="short")["Code"] == "PasswordPolicyViolation"
    assert error_of(iam.create_login_profile, UserName="ana", Password="onlylowercase")["Code"] == "PasswordPolicyViolation"
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True, RequireNumbers=True,
                                       RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
                                       AllowUsersToChangePassword=True, MaxPasswordAge=90, PasswordReusePrevention=2)
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 12 and policy["ExpirePasswords"] is True and policy["PasswordReusePrevention"] == 2
    err = error_of(iam.create_login_profile, UserName="ana", Password="Short-9")
    assert err == {"Type": "Sender", "Code": "PasswordPolicyViolation", "Message": "Password should have a minimum length of 12"}
    assert error_of(iam.create_login_profile, UserName="ana", Password="NoSymbolsHere99")["Message"] == "Password should have at least one symbol"
    iam.create_login_profile(UserName="ana", Password="Correct-Horse-9", PasswordResetRequired=True)
    # Ana changes her own password: the policy allows it without an iam:ChangePassword grant.
    me = ana("iam")
    assert error_of(me.change_password, OldPassword="Wrong-Horse-99", NewPassword="Battery-Staple-7")["Code"] == "InvalidUserType"
    assert error_of(me.change_password, OldPassword="Correct-Horse-9", NewPassword="weak")["Code"] == "PasswordPolicyViolation"
    me.change_password(OldPassword="Correct-Horse-9", NewPassword="Battery-Staple-7")
    assert iam.get_login_profile(UserName="ana")["LoginProfile"]["PasswordResetRequired"] is False
    # The last two passwords may not come back.
    err = error_of(me.change_password, OldPassword="Battery-Staple-7", NewPassword="Correct-Horse-9")
    assert err["Code"] == "PasswordPolicyViolation" and "previous 2" in err["Message"]
    me.change_password(OldPassword="Battery-Staple-7", NewPassword="Third-Password-3")
    me.change_password(OldPassword="Third-Password-3", NewPassword="Fourth-Password-4")
    me.change_password(OldPassword="Fourth-Password-4", NewPassword="Correct-Horse-9")
    # The root has no console password to change through this API.
    assert error_of(iam.change_password, OldPassword="x", NewPassword="y")["Code"] == "InvalidUserType"
    # Without the policy's permission, changing needs iam:ChangePassword.
    iam.delete_account_password_policy()
    assert error_of(iam.delete_account_password_policy)["Code"] == "NoSuchEntity"
    assert error_of(me.change_password, OldPassword="Correct-Horse-9", NewPassword="Fifth-Password-5")["Code"] == "AccessDenied"
    # An administrator's reset is held to the policy (the default one now), not to reuse.
    assert error_of(iam.update_login_profile, UserName="ana", Password="weak")["Code"] == "PasswordPolicyViolation"
    iam.update_login_profile(UserName="ana", Password="Correct-Horse-9")


def test_account_alias(two_accounts_for_alias):
    server = two_accounts_for_alias
    iam = server.client("iam")
    assert iam.list_account_aliases()["AccountAliases"] == []
    assert error_of(iam.create_account_alias, AccountAlias="Bad_Alias")["Code"] == "ValidationError"
    iam.create_account_alias(AccountAlias="data-lab")
    assert iam.list_account_aliases()["AccountAliases"] == ["data-lab"]
    partner = server.client("iam", access_key="PARTNERROOT", secret_key="partnersecret")
    assert error_of(partner.create_account_alias, AccountAlias="data-lab")["Code"] == "EntityAlreadyExists"
    iam.create_account_alias(AccountAlias="data-lab-2")
    assert iam.list_account_aliases()["AccountAliases"] == ["data-lab-2"]
    assert error_of(iam.delete_account_alias, AccountAlias="data-lab")["Code"] == "NoSuchEntity"
    iam.delete_account_alias(AccountAlias="data-lab-2")
    partner.create_account_alias(AccountAlias="data-lab")


@pytest.fixture
def two_accounts_for_alias(tmp_path):
    from conftest import with_bootstrap

    n = with_bootstrap(tmp_path, """
[[account]]
id = "222233334444"
display_name = "partner"
root_keys = [{ access_key = "PARTNERROOT", secret_key = "partnersecret" }]
""")
    yield n
    n.kill()


def test_virtual_mfa_and_mfa_protected_api_access(server):
    iam = server.client("iam")
    # A bucket only MFA-authenticated sessions may read.
    mfa_only = [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*",
                 "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}, "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}},
                {"Effect": "Allow", "Action": ["iam:ListMFADevices", "sts:GetSessionToken"], "Resource": "*"}]
    bob = user_with_keys(server, "bob", mfa_only)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob-phone", Tags=[{"Key": "owner", "Value": "bob"}])["VirtualMFADevice"]
    serial = device["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/bob-phone"
    seed = device["Base32StringSeed"].decode()
    assert len(seed) == 64 and device["QRCodePNG"].startswith(b"\x89PNG")
    assert error_of(iam.create_virtual_mfa_device, VirtualMFADeviceName="bob-phone")["Code"] == "EntityAlreadyExists"
    assert [d["SerialNumber"] for d in iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]] == [serial]
    # Enabling takes two consecutive codes.
    err = error_of(iam.enable_mfa_device, UserName="bob", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    assert err["Code"] == "InvalidAuthenticationCode"
    iam.enable_mfa_device(UserName="bob", SerialNumber=serial, AuthenticationCode1=totp(seed, -1), AuthenticationCode2=totp(seed))
    assert [d["SerialNumber"] for d in bob("iam").list_mfa_devices()["MFADevices"]] == [serial]
    assert iam.get_mfa_device(SerialNumber=serial, UserName="bob")["UserName"] == "bob"
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"][0]["User"]["UserName"] == "bob"
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "owner", "Value": "bob"}]
    # Bob's long-term keys carry no MFA: denied. A session with his code: allowed.
    with pytest.raises(ClientError):
        bob("s3").list_buckets()
    sts = bob("sts")
    assert error_of(sts.get_session_token, SerialNumber=serial)["Code"] == "AccessDenied"
    err = error_of(sts.get_session_token, SerialNumber=serial, TokenCode="000000" if totp(seed, 1) != "000000" else "111111")
    assert err["Code"] == "AccessDenied" and "invalid MFA one time pass code" in err["Message"]
    code = totp(seed, 1)
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=code)["Credentials"]
    session = server.client("s3", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    session.list_buckets()
    # MFA-authenticated session credentials may call IAM (those without MFA may not).
    mfa_iam = server.client("iam", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    assert [d["SerialNumber"] for d in mfa_iam.list_mfa_devices()["MFADevices"]] == [serial]
    # A code is good once.
    assert error_of(sts.get_session_token, SerialNumber=serial, TokenCode=code)["Code"] == "AccessDenied"
    # A session without MFA is still denied.
    plain = sts.get_session_token()["Credentials"]
    with pytest.raises(ClientError):
        server.client("s3", access_key=plain["AccessKeyId"], secret_key=plain["SecretAccessKey"], session_token=plain["SessionToken"]).list_buckets()
    # The device cannot go while it is in use, nor the user while it has one.
    assert error_of(iam.delete_virtual_mfa_device, SerialNumber=serial)["Code"] == "DeleteConflict"
    iam.delete_user_policy(UserName="bob", PolicyName="p")
    for k in iam.list_access_keys(UserName="bob")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="bob", AccessKeyId=k["AccessKeyId"])
    assert error_of(iam.delete_user, UserName="bob")["Code"] == "DeleteConflict"
    iam.deactivate_mfa_device(UserName="bob", SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName="bob")
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_service_specific_credentials(server):
    iam = server.client("iam")
    iam.create_user(UserName="dev")
    c = iam.create_service_specific_credential(UserName="dev", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
    assert c["ServiceUserName"] == f"dev-at-{ACCOUNT}" and c["Status"] == "Active" and len(c["ServicePassword"]) > 20
    iam.create_service_specific_credential(UserName="dev", ServiceName="codecommit.amazonaws.com")
    err = error_of(iam.create_service_specific_credential, UserName="dev", ServiceName="codecommit.amazonaws.com")
    assert err["Code"] == "LimitExceeded"
    assert error_of(iam.create_service_specific_credential, UserName="dev", ServiceName="s3.amazonaws.com")["Code"] == "NotSupportedService"
    listed = iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"]
    assert len(listed) == 2 and "ServicePassword" not in listed[0]
    new = iam.reset_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
    assert new["ServiceSpecificCredential"]["ServicePassword"] != c["ServicePassword"]
    iam.update_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"], Status="Inactive")
    statuses = {x["ServiceSpecificCredentialId"]: x["Status"] for x in iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"]}
    assert statuses[c["ServiceSpecificCredentialId"]] == "Inactive"
    assert error_of(iam.delete_user, UserName="dev")["Code"] == "DeleteConflict"
    for x in statuses:
        iam.delete_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=x)
    iam.delete_user(UserName="dev")


def test_credential_report(server):
    iam = server.client("iam")
    assert error_of(iam.get_credential_report)["Code"] == "ReportNotPresent"
    carol = user_with_keys(server, "carol", [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}])
    carol("s3").list_buckets()
    iam.create_user(UserName="dave")
    iam.create_login_profile(UserName="dave", Password="Good-Password-1")
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    rows = {r["user"]: r for r in csv.DictReader(io.StringIO(report["Content"].decode()))}
    assert set(rows) == {"<root_account>", "carol", "dave"}
    assert rows["<root_account>"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert rows["carol"]["access_key_1_active"] == "true" and rows["carol"]["access_key_1_last_used_service"] == "s3"
    assert rows["carol"]["password_enabled"] == "false" and rows["carol"]["access_key_2_active"] == "false"
    assert rows["dave"]["password_enabled"] == "true" and rows["dave"]["access_key_1_active"] == "false"
    assert rows["dave"]["password_last_changed"].endswith("+00:00")


def test_role_trust_requiring_mfa(server):
    iam = server.client("iam")
    eve = user_with_keys(server, "eve", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    role = iam.create_role(RoleName="Admin", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="eve")["VirtualMFADevice"]
    seed, serial = device["Base32StringSeed"].decode(), device["SerialNumber"]
    iam.enable_mfa_device(UserName="eve", SerialNumber=serial, AuthenticationCode1=totp(seed, -1), AuthenticationCode2=totp(seed))
    sts = eve("sts")
    err = error_of(sts.assume_role, RoleArn=role, RoleSessionName="no-mfa")
    assert "because no role trust policy allows the sts:AssumeRole action" in err["Message"]
    bad = "000000" if totp(seed, 1) != "000000" else "111111"
    assert "invalid MFA one time pass code" in error_of(sts.assume_role, RoleArn=role, RoleSessionName="bad", SerialNumber=serial, TokenCode=bad)["Message"]
    creds = sts.assume_role(RoleArn=role, RoleSessionName="with-mfa", SerialNumber=serial, TokenCode=totp(seed, 1))["Credentials"]
    who = server.client("sts", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/with-mfa"


def test_tags_of_instance_profiles_and_oidc_providers(server):
    iam = server.client("iam")
    iam.create_instance_profile(InstanceProfileName="web")
    iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "team", "Value": "web"}, {"Key": "env", "Value": "dev"}])
    iam.untag_instance_profile(InstanceProfileName="web", TagKeys=["env"])
    assert iam.list_instance_profile_tags(InstanceProfileName="web")["Tags"] == [{"Key": "team", "Value": "web"}]
    assert error_of(iam.list_instance_profile_tags, InstanceProfileName="nope")["Code"] == "NoSuchEntity"
    arn = iam.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
                                              ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "ci", "Value": "github"}])
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [{"Key": "ci", "Value": "github"}]
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Tags"] == [{"Key": "ci", "Value": "github"}]
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["ci"])
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == []


def test_service_last_accessed_from_real_requests(server):
    iam = server.client("iam")
    server.client("s3").create_bucket(Bucket="advisor")
    policy = [{"Effect": "Allow", "Action": ["s3:*", "dynamodb:Get*", "sqs:SendMessage"], "Resource": "*"}]
    ana = user_with_keys(server, "ana", policy)
    ana("s3").list_objects_v2(Bucket="advisor")
    job = iam.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{ACCOUNT}:user/ana")["JobId"]
    out = iam.get_service_last_accessed_details(JobId=job)
    assert out["JobStatus"] == "COMPLETED" and out["JobType"] == "SERVICE_LEVEL"
    by_ns = {s["ServiceNamespace"]: s for s in out["ServicesLastAccessed"]}
    # The services the policy allows (that nuage serves); only S3 was used.
    assert sorted(by_ns) == ["dynamodb", "s3"]
    assert by_ns["s3"]["TotalAuthenticatedEntities"] == 1 and by_ns["s3"]["LastAuthenticatedEntity"] == f"arn:aws:iam::{ACCOUNT}:user/ana"
    assert by_ns["s3"]["LastAuthenticatedRegion"] == "us-east-1" and "LastAuthenticated" in by_ns["s3"]
    assert by_ns["dynamodb"]["TotalAuthenticatedEntities"] == 0 and "LastAuthenticated" not in by_ns["dynamodb"]
    entities = iam.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="s3")["EntityDetailsList"]
    assert [e["EntityInfo"]["Name"] for e in entities] == ["ana"] and "LastAuthenticated" in entities[0]
    granting = iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{ACCOUNT}:user/ana", ServiceNamespaces=["s3", "ec2"])
    by_ns = {e["ServiceNamespace"]: e["Policies"] for e in granting["PoliciesGrantingServiceAccess"]}
    assert by_ns["s3"] == [{"PolicyName": "p", "PolicyType": "INLINE", "EntityType": "user", "EntityName": "ana"}] and by_ns["ec2"] == []
    assert error_of(iam.generate_service_last_accessed_details, Arn=f"arn:aws:iam::{ACCOUNT}:user/ana", Granularity="ACTION_LEVEL")["Code"] == "InvalidInput"
    assert error_of(iam.get_service_last_accessed_details, JobId="00000000-0000-0000-0000-000000000000")["Code"] == "NoSuchEntity"


SAML_METADATA = """<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml" validUntil="2031-01-01T00:00:00Z">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>MIIC{pad}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>""".replace("{pad}", "A" * 1200)


def test_saml_providers(server):
    iam = server.client("iam")
    out = iam.create_saml_provider(Name="corp-idp", SAMLMetadataDocument=SAML_METADATA, Tags=[{"Key": "team", "Value": "sec"}])
    arn = out["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:saml-provider/corp-idp" and out["Tags"] == [{"Key": "team", "Value": "sec"}]
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == SAML_METADATA and got["ValidUntil"].year == 2031
    assert [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]] == [arn]
    assert error_of(iam.create_saml_provider, Name="corp-idp", SAMLMetadataDocument=SAML_METADATA)["Code"] == "EntityAlreadyExists"
    not_an_idp = SAML_METADATA.replace("IDPSSODescriptor", "SPSSODescriptor")
    assert error_of(iam.create_saml_provider, Name="sp", SAMLMetadataDocument=not_an_idp)["Code"] == "InvalidInput"
    assert error_of(iam.create_saml_provider, Name="junk", SAMLMetadataDocument="x" * 1200)["Code"] == "InvalidInput"
    iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=SAML_METADATA.replace("2031", "2032"))
    assert iam.get_saml_provider(SAMLProviderArn=arn)["ValidUntil"].year == 2032
    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    assert len(iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"]) == 2
    iam.delete_saml_provider(SAMLProviderArn=arn)
    assert error_of(iam.get_saml_provider, SAMLProviderArn=arn)["Code"] == "NoSuchEntity"


def ssh_keygen(*args, input=None):
    import shutil
    import subprocess
    if not shutil.which("ssh-keygen"):
        pytest.skip("ssh-keygen (openssh-client) is not installed; .ci/run installs it")
    return subprocess.run(["ssh-keygen", *args], check=True, capture_output=True, text=True, input=input).stdout


def test_ssh_public_keys(server, tmp_path):
    """SSH public keys as CodeCommit users upload them: RSA of 2048 bits or more, OpenSSH or PEM
    form, MD5 fingerprints as ssh-keygen prints them, five per user, both encodings back."""
    iam = server.client("iam")
    iam.create_user(UserName="dev")
    keys = []
    for n in range(6):
        path = tmp_path / f"k{n}"
        ssh_keygen("-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(path))
        keys.append(path)
    body = keys[0].with_suffix(".pub").read_text().strip()
    expected_print = ssh_keygen("-E", "md5", "-lf", str(keys[0]) + ".pub").split()[1].removeprefix("MD5:")

    up = iam.upload_ssh_public_key(UserName="dev", SSHPublicKeyBody=body)["SSHPublicKey"]
    assert up["Fingerprint"] == expected_print and up["Status"] == "Active" and up["SSHPublicKeyId"].startswith("APKA")
    key_id = up["SSHPublicKeyId"]
    got = iam.get_ssh_public_key(UserName="dev", SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["SSHPublicKeyBody"].split()[:2] == body.split()[:2]
    pem = iam.get_ssh_public_key(UserName="dev", SSHPublicKeyId=key_id, Encoding="PEM")["SSHPublicKey"]["SSHPublicKeyBody"]
    assert pem.strip() == ssh_keygen("-e", "-m", "PEM", "-f", str(keys[0]) + ".pub").strip()
    with pytest.raises(ClientError) as e:
        iam.get_ssh_public_key(UserName="dev", SSHPublicKeyId=key_id, Encoding="DER")
    assert e.value.response["Error"]["Code"] == "ValidationError"

    # The same key again; a PEM (PKCS#8 / SubjectPublicKeyInfo) upload of another key.
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName="dev", SSHPublicKeyBody=body)
    assert e.value.response["Error"]["Code"] == "DuplicateSSHPublicKey"
    spki = ssh_keygen("-e", "-m", "PKCS8", "-f", str(keys[1]) + ".pub")
    second = iam.upload_ssh_public_key(UserName="dev", SSHPublicKeyBody=spki)["SSHPublicKey"]
    assert second["Fingerprint"] == ssh_keygen("-E", "md5", "-lf", str(keys[1]) + ".pub").split()[1].removeprefix("MD5:")
    for n in (2, 3, 4):
        iam.upload_ssh_public_key(UserName="dev", SSHPublicKeyBody=keys[n].with_suffix(".pub").read_text())
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName="dev", SSHPublicKeyBody=keys[5].with_suffix(".pub").read_text())
    assert e.value.response["Error"]["Code"] == "LimitExceeded"

    # Not RSA, too short, not a key.
    small = tmp_path / "small"
    ssh_keygen("-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", str(small))
    ed = tmp_path / "ed"
    ssh_keygen("-q", "-t", "ed25519", "-N", "", "-f", str(ed))
    for bad, expected in ((small.with_suffix(".pub").read_text(), "InvalidPublicKey"),
                          (ed.with_suffix(".pub").read_text(), "InvalidPublicKey"),
                          ("ssh-rsa bm90IGEga2V5", "InvalidPublicKey"),
                          ("hello", "UnrecognizedPublicKeyEncoding")):
        with pytest.raises(ClientError) as e:
            iam.upload_ssh_public_key(UserName="dev", SSHPublicKeyBody=bad)
        assert e.value.response["Error"]["Code"] == expected, bad

    listed = iam.list_ssh_public_keys(UserName="dev")["SSHPublicKeys"]
    assert len(listed) == 5 and {k["SSHPublicKeyId"] for k in listed} >= {key_id, second["SSHPublicKeyId"]}
    page = iam.list_ssh_public_keys(UserName="dev", MaxItems=2)
    assert len(page["SSHPublicKeys"]) == 2 and page["IsTruncated"]
    iam.update_ssh_public_key(UserName="dev", SSHPublicKeyId=key_id, Status="Inactive")
    assert iam.get_ssh_public_key(UserName="dev", SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]["Status"] == "Inactive"

    # A user with keys cannot be deleted; the keys go first.
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="dev")
    assert e.value.response["Error"]["Code"] == "DeleteConflict"
    for k in iam.list_ssh_public_keys(UserName="dev")["SSHPublicKeys"]:
        iam.delete_ssh_public_key(UserName="dev", SSHPublicKeyId=k["SSHPublicKeyId"])
    with pytest.raises(ClientError) as e:
        iam.delete_ssh_public_key(UserName="dev", SSHPublicKeyId=key_id)
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"
    iam.delete_user(UserName="dev")
