//! Shared vocabulary of every nuage crate: AWS errors, principals and the request context.

use std::borrow::Cow;
use std::net::IpAddr;

pub mod identity;

pub const DEFAULT_ACCOUNT: &str = "000000000000";
pub const DEFAULT_REGION: &str = "us-east-1";

/// An error as AWS reports it: a code, an HTTP status, a message, and extra fields some
/// services add to the error body (S3's `BucketName`, `Key`, `Condition`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    pub code: Cow<'static, str>,
    pub status: u16,
    pub message: String,
    pub fields: Vec<(&'static str, String)>,
    /// Response headers the error carries (e.g. `x-amz-delete-marker` on a 405).
    pub headers: Vec<(&'static str, String)>,
}

impl AwsError {
    pub fn new(code: impl Into<Cow<'static, str>>, status: u16, message: impl Into<String>) -> Self {
        AwsError { code: code.into(), status, message: message.into(), fields: Vec::new(), headers: Vec::new() }
    }
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        AwsError::new("InternalError", 500, format!("We encountered an internal error. Please try again. ({message})"))
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}
impl std::error::Error for AwsError {}

pub type AwsResult<T> = Result<T, AwsError>;

/// What kind of identity signed a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PrincipalKind {
    Root,
    User,
    AssumedRole,
    /// A user's own temporary credentials from GetSessionToken.
    UserSession,
    /// A federated user from GetFederationToken: the calling user's permissions, capped by
    /// the session policies passed with the call.
    FederatedUser,
    /// An AWS service acting on its own behalf (`redshift.amazonaws.com` assuming a role for
    /// COPY); only resource policies (a role's trust policy) can allow it anything.
    Service,
}

/// The authenticated identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    pub account_id: String,
    pub kind: PrincipalKind,
    /// IAM name (user name, role session), or the account's display name for a root.
    pub name: String,
    pub arn: String,
    /// Unique id: the account id for a root, `AIDA...` for a user.
    pub user_id: String,
    /// The S3 canonical user id of the principal's account.
    pub canonical_id: String,
    pub display_name: String,
    /// For an assumed-role session: the role's ARN (policies naming the role apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// For temporary credentials: the access key id of the session, under which its session
    /// policies and tags are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// For a service acting for one of an account's resources (Redshift assuming a cluster's
    /// role): that resource's ARN, which requests carry as `aws:SourceArn` and
    /// `aws:SourceAccount` so that trust policies can refuse a confused deputy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// The account of that resource, when its ARN does not name it (an S3 bucket's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_account: Option<String>,
}

impl Principal {
    pub fn is_root(&self) -> bool {
        self.kind == PrincipalKind::Root
    }

    /// An AWS service principal, by its name (`redshift.amazonaws.com`).
    pub fn service(name: &str) -> Principal {
        Principal {
            account_id: String::new(),
            kind: PrincipalKind::Service,
            name: name.to_string(),
            arn: name.to_string(),
            user_id: name.to_string(),
            canonical_id: String::new(),
            display_name: name.to_string(),
            role_arn: None,
            session_key: None,
            source_arn: None,
            source_account: None,
        }
    }

    /// A service principal acting for the resource `source_arn`.
    pub fn service_for(name: &str, source_arn: &str) -> Principal {
        Principal { source_arn: Some(source_arn.to_string()), ..Principal::service(name) }
    }
}

/// Per-request facts every handler and the authoriser may need.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    /// `None` for an anonymous (unsigned) request.
    pub principal: Option<Principal>,
    pub region: String,
    pub source_ip: IpAddr,
    pub secure_transport: bool,
    /// How the request was authenticated, for s3:authType: `REST-HEADER`, `REST-QUERY-STRING`, `POST`.
    pub auth_type: &'static str,
    /// The services a request passed through on the principal's behalf (a forward access
    /// session: the Data API reading a secret as its caller), first to last; empty for a
    /// request the principal made itself.
    pub called_via: Vec<String>,
    /// The client's `User-Agent` and `Referer` headers (aws:UserAgent, aws:Referer).
    pub user_agent: Option<String>,
    pub referer: Option<String>,
}

impl RequestContext {
    pub fn account_id(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.account_id.as_str())
    }
}
