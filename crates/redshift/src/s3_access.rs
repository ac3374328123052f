//! How a cluster's COPY and UNLOAD reach S3: the statement's credentials become a principal
//! (a role the cluster may use, assumed through STS by redshift.amazonaws.com, or a pair of
//! keys), and every S3 call is made through the front door as that principal, so the same
//! evaluator decides it as any client request. S3's failures come back in Redshift's words.
//! Also who may connect to the SQL port: the cluster's security groups, read from EC2 the same way.
use crate::{ClusterRecord, Redshift};
use async_trait::async_trait;
use bytes::Bytes;
use nuage_core::Principal;
use nuage_front::{Frontend, ServiceRequest};
use nuage_protocol::HttpResponse;
use nuage_warehouse::{Credentials, External, ObjectInfo, ObjectStore, SqlError, SqlResult};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};

/// The service principal that assumes roles for COPY and UNLOAD.
const REDSHIFT_SERVICE: &str = "redshift.amazonaws.com";
const SESSION_NAME: &str = "RedshiftIamRoleSession";

/// What a key path keeps unencoded, as S3 clients send it.
const KEY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// One cluster's way to S3.
pub(crate) struct ClusterS3 {
    pub(crate) redshift: Weak<Redshift>,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) identifier: String,
}

fn sql_error(message: String, context: &str) -> SqlError {
    SqlError::new("XX000", message.clone())
        .with_detail(format!("error:  {message}\ncode:      8001\ncontext:   {context}"))
}

fn not_authorized(c: &ClusterRecord, db_user: &str, role: &str) -> SqlError {
    sql_error(
        format!(
            "User arn:aws:redshift:{}:{}:dbuser:{}/{db_user} is not authorized to assume IAM Role {role}",
            c.region, c.account, c.identifier
        ),
        &format!("IAM Role={role}"),
    )
}

/// A query-protocol request (STS, EC2): its parameters as a form body.
fn form_post(body: String) -> ServiceRequest {
    ServiceRequest {
        method: "POST".into(),
        raw_path: "/".into(),
        query: vec![],
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        host: String::new(),
        body: Bytes::from(body),
    }
}

fn internal(e: impl std::fmt::Display) -> SqlError {
    SqlError::internal(e)
}

impl ClusterS3 {
    /// STS AssumeRole by `by`; the session's principal, or `None` when refused.
    async fn assume(&self, f: &Frontend, by: Principal, role: &str) -> SqlResult<Option<Principal>> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "AssumeRole")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", role)
            .append_pair("RoleSessionName", SESSION_NAME)
            .finish();
        let resp = f.call_as(by, "sts", &self.region, form_post(body)).await.map_err(|e| internal(e.message))?;
        if resp.status != 200 {
            return Ok(None);
        }
        let doc = nuage_protocol::xml::parse(&resp.body).map_err(internal)?;
        let key = doc
            .child("AssumeRoleResult")
            .and_then(|r| r.child("Credentials"))
            .and_then(|c| c.child("AccessKeyId"))
            .map(|k| k.text.clone())
            .ok_or_else(|| internal("AssumeRole answered without credentials"))?;
        let credential =
            f.identities.credential(&key).ok_or_else(|| internal("the assumed role's session is unknown"))?;
        Ok(Some(credential.principal))
    }
}

#[async_trait]
impl External for ClusterS3 {
    async fn open(
        &self,
        credentials: &Credentials,
        region: Option<&str>,
        db_user: &str,
    ) -> SqlResult<Arc<dyn ObjectStore>> {
        let rs = self.redshift.upgrade().ok_or_else(|| internal("Redshift is shutting down"))?;
        let f = rs.internal.frontend().map_err(|e| internal(e.message))?;
        let c = rs
            .get(&self.account, &self.region, &self.identifier)
            .map_err(|e| internal(e.message))?
            .ok_or_else(|| internal("the cluster no longer exists"))?;
        let principal = match credentials {
            Credentials::Keys { access_key_id, secret_access_key, session_token } => {
                f.principal_for_keys(access_key_id, secret_access_key, session_token.as_deref()).map_err(|e| {
                    sql_error(
                        format!(
                            "S3ServiceException:{},Status {},Error {},Rid ,ExtRid ,CanRetry 1",
                            e.message, e.status, e.code
                        ),
                        "Credentials",
                    )
                })?
            }
            Credentials::IamRole(_) | Credentials::DefaultIamRole => {
                let chain: Vec<String> = match credentials {
                    Credentials::IamRole(arns) => arns.split(',').map(|s| s.trim().to_string()).collect(),
                    _ => vec![c.default_iam_role.clone().ok_or_else(|| {
                        sql_error("Default IAM role is not set for the cluster".into(), "IAM_ROLE default")
                    })?],
                };
                // The first role must be the cluster's; each further one is assumed by the one before.
                if !c.iam_roles.contains(&chain[0]) {
                    return Err(not_authorized(&c, db_user, &chain[0]));
                }
                let mut by = Principal::service(REDSHIFT_SERVICE);
                for role in &chain {
                    by = self.assume(&f, by, role).await?.ok_or_else(|| not_authorized(&c, db_user, role))?;
                }
                by
            }
        };
        Ok(Arc::new(S3As {
            frontend: Arc::downgrade(&f),
            principal,
            region: region.unwrap_or(&c.region).to_string(),
            checked: Mutex::new(HashSet::new()),
        }))
    }
}

/// S3 as one principal, addressed in one region.
struct S3As {
    frontend: Weak<Frontend>,
    principal: Principal,
    region: String,
    /// Buckets already found in the right region.
    checked: Mutex<HashSet<String>>,
}

impl S3As {
    async fn call(
        &self,
        method: &str,
        path: String,
        query: Vec<(String, String)>,
        body: Bytes,
    ) -> SqlResult<HttpResponse> {
        let f = self.frontend.upgrade().ok_or_else(|| internal("the front door is not running"))?;
        let mut headers = vec![("content-length".to_string(), body.len().to_string())];
        if method == "PUT" {
            headers.push(("content-type".into(), "application/octet-stream".into()));
        }
        let req = ServiceRequest { method: method.into(), raw_path: path, query, headers, host: String::new(), body };
        f.call_as(self.principal.clone(), "s3", &self.region, req).await.map_err(|e| internal(e.message))
    }

    /// S3's error, as Redshift reports an S3ServiceException.
    fn s3_error(&self, resp: &HttpResponse, context: &str) -> SqlError {
        let doc = nuage_protocol::xml::parse(&resp.body).ok();
        let text = |n: &str| doc.as_ref().and_then(|d| d.child(n)).map(|e| e.text.clone()).unwrap_or_default();
        let rid = resp.header("x-amz-request-id").unwrap_or_default().to_string();
        let (code, message) = match resp.status {
            404 if text("Code").is_empty() => {
                ("NoSuchBucket".to_string(), "The specified bucket does not exist".to_string())
            }
            _ => (text("Code"), text("Message")),
        };
        sql_error(
            format!(
                "S3ServiceException:{message},Status {},Error {code},Rid {rid},ExtRid {rid},CanRetry 1",
                resp.status
            ),
            context,
        )
    }

    /// A bucket of another region answers as S3 answers a request sent to the wrong endpoint.
    async fn check_region(&self, bucket: &str) -> SqlResult<()> {
        if self.checked.lock().unwrap_or_else(|e| e.into_inner()).contains(bucket) {
            return Ok(());
        }
        let resp = self.call("HEAD", format!("/{}", enc(bucket)), vec![], Bytes::new()).await?;
        let context = format!("Listing bucket={bucket}");
        match resp.header("x-amz-bucket-region") {
            None => return Err(self.s3_error(&resp, &context)),
            Some(r) if r != self.region => {
                let rid = resp.header("x-amz-request-id").unwrap_or_default().to_string();
                return Err(sql_error(
                    format!(
                        "S3ServiceException:The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.,Status 301,Error PermanentRedirect,Rid {rid},ExtRid {rid},CanRetry 1"
                    ),
                    &format!("{context} (the bucket is in {r}; COPY addressed {})", self.region),
                ));
            }
            Some(_) => {}
        }
        self.checked.lock().unwrap_or_else(|e| e.into_inner()).insert(bucket.to_string());
        Ok(())
    }
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, KEY).to_string()
}

#[async_trait]
impl ObjectStore for S3As {
    async fn list(&self, bucket: &str, prefix: &str) -> SqlResult<Vec<ObjectInfo>> {
        self.check_region(bucket).await?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query =
                vec![("list-type".to_string(), "2".to_string()), ("prefix".to_string(), prefix.to_string())];
            if let Some(t) = &token {
                query.push(("continuation-token".into(), t.clone()));
            }
            let resp = self.call("GET", format!("/{}", enc(bucket)), query, Bytes::new()).await?;
            if resp.status != 200 {
                return Err(self.s3_error(&resp, &format!("Listing bucket={bucket} prefix={prefix}")));
            }
            let doc = nuage_protocol::xml::parse(&resp.body).map_err(internal)?;
            for c in doc.children_named("Contents") {
                let key = c.child("Key").map(|k| k.text.clone()).unwrap_or_default();
                let size = c.child("Size").and_then(|s| s.text.parse().ok()).unwrap_or(0);
                out.push(ObjectInfo { key, size });
            }
            let truncated = doc.child("IsTruncated").is_some_and(|t| t.text == "true");
            token = doc.child("NextContinuationToken").map(|t| t.text.clone());
            if !truncated || token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn get(&self, bucket: &str, key: &str) -> SqlResult<Vec<u8>> {
        self.check_region(bucket).await?;
        let resp = self.call("GET", format!("/{}/{}", enc(bucket), enc(key)), vec![], Bytes::new()).await?;
        if resp.status != 200 {
            return Err(self.s3_error(&resp, &format!("S3 key being read : s3://{bucket}/{key}")));
        }
        Ok(resp.body.to_vec())
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> SqlResult<()> {
        self.check_region(bucket).await?;
        let resp = self.call("PUT", format!("/{}/{}", enc(bucket), enc(key)), vec![], Bytes::from(body)).await?;
        if resp.status != 200 {
            return Err(self.s3_error(&resp, &format!("S3 key being written : s3://{bucket}/{key}")));
        }
        Ok(())
    }
}

/// Whether a cluster's VPC security groups let a connection in: read from EC2 through the
/// front door as the cluster's account. A cluster without groups takes loopback connections.
pub(crate) struct ClusterNetwork {
    pub(crate) redshift: Weak<Redshift>,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) identifier: String,
}

impl ClusterNetwork {
    async fn check(&self, peer: std::net::SocketAddr) -> Result<bool, String> {
        let rs = self.redshift.upgrade().ok_or("Redshift is shutting down")?;
        let c = rs
            .get(&self.account, &self.region, &self.identifier)
            .map_err(|e| e.message)?
            .ok_or("the cluster no longer exists")?;
        if c.vpc_security_group_ids.is_empty() {
            return Ok(peer.ip().is_loopback());
        }
        let f = rs.internal.frontend().map_err(|e| e.message)?;
        let root = f.identities.root(&c.account).ok_or("the cluster's account is unknown")?;
        let body = {
            let mut body = form_urlencoded::Serializer::new(String::new());
            body.append_pair("Action", "DescribeSecurityGroups").append_pair("Version", "2016-11-15");
            for (i, g) in c.vpc_security_group_ids.iter().enumerate() {
                body.append_pair(&format!("GroupId.{}", i + 1), g);
            }
            body.finish()
        };
        let resp = f.call_as(root, "ec2", &c.region, form_post(body)).await.map_err(|e| e.message)?;
        if resp.status != 200 {
            return Err(format!(
                "the cluster's security groups could not be read: {}",
                String::from_utf8_lossy(&resp.body)
            ));
        }
        let doc = nuage_protocol::xml::parse(&resp.body)?;
        let port = c.bound_port.unwrap_or(c.port as u16) as i64;
        let std::net::IpAddr::V4(ip) = peer.ip() else { return Ok(false) };
        let groups =
            doc.child("securityGroupInfo").map(|g| g.children_named("item").collect::<Vec<_>>()).unwrap_or_default();
        for g in groups {
            for p in g.child("ipPermissions").map(|p| p.children_named("item").collect::<Vec<_>>()).unwrap_or_default()
            {
                let text = |n: &str| p.child(n).map(|e| e.text.clone()).unwrap_or_default();
                let protocol = text("ipProtocol");
                let (from, to) =
                    (text("fromPort").parse::<i64>().unwrap_or(-1), text("toPort").parse::<i64>().unwrap_or(-1));
                let ports = protocol == "-1" || (protocol == "tcp" && from <= port && port <= to);
                // The port the cluster asked for counts too: the rule names what the user sees.
                let asked = protocol == "tcp" && from <= c.port as i64 && c.port as i64 <= to;
                if !(ports || asked) {
                    continue;
                }
                for r in p.child("ipRanges").map(|r| r.children_named("item").collect::<Vec<_>>()).unwrap_or_default() {
                    if r.child("cidrIp").is_some_and(|cidr| cidr_contains(&cidr.text, ip)) {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }
}

fn cidr_contains(cidr: &str, ip: std::net::Ipv4Addr) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else { return false };
    let (Ok(net), Ok(bits)) = (net.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>()) else { return false };
    if bits > 32 {
        return false;
    }
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    (u32::from(net) & mask) == (u32::from(ip) & mask)
}

#[async_trait]
impl nuage_warehouse::Admission for ClusterNetwork {
    async fn admits(&self, peer: std::net::SocketAddr) -> bool {
        match self.check(peer).await {
            Ok(allowed) => allowed,
            Err(e) => {
                tracing::warn!(cluster = %self.identifier, error = %e, "connection refused: security groups unreadable");
                false
            }
        }
    }
}
