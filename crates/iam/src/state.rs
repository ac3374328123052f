//! IAM's entities as they are persisted: one record per account (users, groups, roles,
//! customer managed policies, access keys, instance profiles) and one per STS session.
use nuage_policy::{Policy, PolicyKind};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An inline policy: its document and, in memory, the parsed form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inline {
    pub document: String,
    #[serde(skip)]
    pub parsed: Option<Arc<Policy>>,
}

impl Inline {
    pub fn new(document: String, parsed: Policy) -> Inline {
        Inline { document, parsed: Some(Arc::new(parsed)) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub path: String,
    pub id: String,
    pub arn: String,
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub inline: BTreeMap<String, Inline>,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub login_profile: Option<LoginProfile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginProfile {
    pub created: i64,
    pub password_reset_required: bool,
    /// The console password, salted and stretched (PBKDF2-HMAC-SHA256); `None` for profiles
    /// recorded before passwords were kept.
    #[serde(default)]
    pub password: Option<crate::passwords::Hashed>,
    /// Earlier passwords, newest first, for the policy's PasswordReusePrevention.
    #[serde(default)]
    pub previous: Vec<crate::passwords::Hashed>,
    /// When the password was last set (ms), for expiry and the credential report.
    #[serde(default)]
    pub changed: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub path: String,
    pub id: String,
    pub arn: String,
    pub created: i64,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub inline: BTreeMap<String, Inline>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub path: String,
    pub id: String,
    pub arn: String,
    pub created: i64,
    pub trust: Inline,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_duration: i32,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub inline: BTreeMap<String, Inline>,
    #[serde(default)]
    pub boundary: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub id: String,
    pub document: String,
    pub created: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    pub id: String,
    pub arn: String,
    pub created: i64,
    pub updated: i64,
    #[serde(default)]
    pub description: Option<String>,
    pub default_version: String,
    pub versions: Vec<PolicyVersion>,
    pub next_version: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(skip)]
    pub parsed: Option<Arc<Policy>>,
}

impl ManagedPolicy {
    pub fn default_document(&self) -> &str {
        self.versions.iter().find(|v| v.id == self.default_version).map(|v| v.document.as_str()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub user: String,
    pub active: bool,
    pub created: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub name: String,
    pub path: String,
    pub id: String,
    pub arn: String,
    pub created: i64,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// Everything IAM keeps for one account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountState {
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    /// Customer managed policies by ARN.
    #[serde(default)]
    pub policies: BTreeMap<String, ManagedPolicy>,
    #[serde(default)]
    pub access_keys: BTreeMap<String, AccessKey>,
    #[serde(default)]
    pub instance_profiles: BTreeMap<String, InstanceProfile>,
    /// OpenID Connect identity providers by ARN.
    #[serde(default)]
    pub oidc_providers: BTreeMap<String, OidcProvider>,
    #[serde(default)]
    pub password_policy: Option<PasswordPolicy>,
    /// The account's alias (IAM allows one).
    #[serde(default)]
    pub alias: Option<String>,
    /// Virtual MFA devices by serial number (their ARN).
    #[serde(default)]
    pub mfa_devices: BTreeMap<String, MfaDevice>,
    /// Service-specific credentials by id.
    #[serde(default)]
    pub service_credentials: BTreeMap<String, ServiceCredential>,
    #[serde(default)]
    pub credential_report: Option<CredentialReport>,
    /// Users' SSH public keys by id.
    #[serde(default)]
    pub ssh_keys: BTreeMap<String, SshKey>,
    /// SAML identity providers by ARN.
    #[serde(default)]
    pub saml_providers: BTreeMap<String, SamlProvider>,
    /// Service-linked role deletions by task id: their status.
    #[serde(default)]
    pub slr_deletions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SamlProvider {
    pub name: String,
    pub uuid: String,
    pub metadata: String,
    pub created: i64,
    pub valid_until: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub encryption_mode: Option<String>,
    /// Private keys for encrypted assertions: (key id, added at, PEM).
    #[serde(default)]
    pub private_keys: Vec<(String, i64, String)>,
}

/// The credential report as GenerateCredentialReport made it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialReport {
    pub generated: i64,
    pub content: String,
}

/// The account password policy, as UpdateAccountPasswordPolicy sets it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PasswordPolicy {
    pub minimum_length: i32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    /// Days; 0 when passwords do not expire.
    pub max_age: i32,
    /// How many earlier passwords may not be used again; 0 for none.
    pub reuse_prevention: i32,
    pub hard_expiry: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaDevice {
    pub serial: String,
    pub path: String,
    /// The TOTP secret, base32 as the device shows it.
    pub seed: String,
    /// The user it is enabled for, and since when (ms).
    pub user: Option<String>,
    pub enabled: Option<i64>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The last time step whose code was used, so a code cannot be replayed.
    #[serde(default)]
    pub last_step: i64,
}

/// An SSH public key of a user, its body as uploaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SshKey {
    pub id: String,
    pub user: String,
    pub body: String,
    pub fingerprint: String,
    pub active: bool,
    pub uploaded: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceCredential {
    pub id: String,
    pub user: String,
    pub service: String,
    pub service_user_name: String,
    pub password: String,
    pub active: bool,
    pub created: i64,
    /// When it stops working (ms), if it was created with an age.
    #[serde(default)]
    pub expires: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcProvider {
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl AccountState {
    /// Fills the parsed forms after loading from the store.
    pub fn parse_all(&mut self) {
        let parse = |doc: &str, kind| Policy::parse(doc, kind).ok().map(Arc::new);
        for p in self.policies.values_mut() {
            p.parsed = parse(p.default_document(), PolicyKind::Identity);
        }
        let inline = |m: &mut BTreeMap<String, Inline>| {
            for i in m.values_mut() {
                i.parsed = parse(&i.document, PolicyKind::Identity);
            }
        };
        for u in self.users.values_mut() {
            inline(&mut u.inline);
        }
        for g in self.groups.values_mut() {
            inline(&mut g.inline);
        }
        for r in self.roles.values_mut() {
            inline(&mut r.inline);
            r.trust.parsed = parse(&r.trust.document, PolicyKind::Trust);
        }
    }

    /// How many users, groups and roles a managed policy is attached to.
    pub fn attachment_count(&self, arn: &str) -> i32 {
        let users = self.users.values().filter(|u| u.attached.iter().any(|a| a == arn)).count();
        let groups = self.groups.values().filter(|g| g.attached.iter().any(|a| a == arn)).count();
        let roles = self.roles.values().filter(|r| r.attached.iter().any(|a| a == arn)).count();
        (users + groups + roles) as i32
    }

    pub fn boundary_count(&self, arn: &str) -> i32 {
        let users = self.users.values().filter(|u| u.boundary.as_deref() == Some(arn)).count();
        let roles = self.roles.values().filter(|r| r.boundary.as_deref() == Some(arn)).count();
        (users + roles) as i32
    }
}

/// Temporary credentials from AssumeRole or GetSessionToken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub access_key: String,
    pub secret: String,
    pub token: String,
    /// Unix seconds.
    pub expires: i64,
    pub principal: nuage_core::Principal,
    /// The role's account and name, for an assumed role.
    #[serde(default)]
    pub role: Option<(String, String)>,
    /// Session policies: inline document and managed policy ARNs.
    #[serde(default)]
    pub policy: Option<String>,
    /// The inline session policy, parsed (filled when the session is made or loaded).
    #[serde(skip)]
    pub parsed_policy: Option<Arc<Policy>>,
    #[serde(default)]
    pub policy_arns: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Unix seconds when the credentials were issued (`aws:TokenIssueTime`); 0 for sessions
    /// recorded before it was kept.
    #[serde(default)]
    pub issued: i64,
    /// The source identity set when the role was assumed (or inherited through a role chain):
    /// fixed for the session's life, present in its requests as `aws:SourceIdentity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// The keys of `tags` that pass on to sessions this one assumes (role chaining).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    /// When the credentials were obtained with an MFA code (Unix seconds):
    /// aws:MultiFactorAuthPresent and aws:MultiFactorAuthAge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_authenticated: Option<i64>,
    /// For a federated user: the IAM user whose GetFederationToken made it (`None` when the
    /// account's root did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_by: Option<String>,
}

impl Session {
    pub fn parse_policy(&mut self) {
        self.parsed_policy =
            self.policy.as_deref().and_then(|d| Policy::parse(d, PolicyKind::Identity).ok()).map(Arc::new);
    }
}

const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An IAM unique id: a four-letter prefix (`AIDA` user, `AROA` role, `AGPA` group, `ANPA`
/// policy, `AIPA` instance profile, `AKIA` access key, `ASIA` temporary key) and random
/// base-32 characters, 21 characters in all (20 for access keys).
pub fn new_id(prefix: &str) -> String {
    let len = if prefix == "AKIA" || prefix == "ASIA" { 16 } else { 17 };
    let mut rng = rand::thread_rng();
    let tail: String = (0..len).map(|_| ID_CHARS[rng.gen_range(0..ID_CHARS.len())] as char).collect();
    format!("{prefix}{tail}")
}

/// A secret access key: 40 characters of base64 alphabet.
pub fn new_secret() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::thread_rng();
    (0..40).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
