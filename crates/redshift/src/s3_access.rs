//! How a cluster's COPY and UNLOAD reach S3: the statement's credentials become a principal
//! (a role the cluster may use, assumed through STS by redshift.amazonaws.com, or a pair of
//! keys), and every S3 call is made through the front door as that principal, so the same
//! evaluator decides it as any client request. S3's failures come back in Redshift's words.
//! Also who may connect to the SQL port: the cluster's security groups, read from EC2 the same way.
use crate::{Compute, ComputeFacts, Redshift};
use async_trait::async_trait;
use bytes::Bytes;
use nuage_core::{AwsError, Principal};
use nuage_front::Frontend;
use nuage_protocol::{ec2, s3, sts};
use nuage_warehouse::{ClusterFacts, Credentials, External, ObjectInfo, ObjectStore, SqlError, SqlResult};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};

/// The service principal that assumes roles for COPY and UNLOAD.
const REDSHIFT_SERVICE: &str = "redshift.amazonaws.com";
const SESSION_NAME: &str = "RedshiftIamRoleSession";

/// The compute (cluster or workgroup) a warehouse is served by, found again by name.
#[derive(Clone)]
pub(crate) struct Serving {
    pub(crate) redshift: Weak<Redshift>,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) compute: Compute,
}

impl Serving {
    fn facts(&self) -> Result<(Arc<Redshift>, ComputeFacts), String> {
        let rs = self.redshift.upgrade().ok_or("Redshift is shutting down")?;
        let facts = rs
            .facts(&self.account, &self.region, &self.compute)
            .map_err(|e| e.message)?
            .ok_or_else(|| format!("the {} no longer exists", self.compute))?;
        Ok((rs, facts))
    }
}

/// One cluster's (or workgroup's) way to S3.
pub(crate) struct ClusterS3(pub(crate) Serving);

fn sql_error(message: String, context: &str) -> SqlError {
    SqlError::new("XX000", message.clone())
        .with_detail(format!("error:  {message}\ncode:      8001\ncontext:   {context}"))
}

fn not_authorized(c: &ComputeFacts, db_user: &str, role: &str) -> SqlError {
    sql_error(
        format!("User {}/{db_user} is not authorized to assume IAM Role {role}", c.dbuser_prefix),
        &format!("IAM Role={role}"),
    )
}

fn internal(e: impl std::fmt::Display) -> SqlError {
    SqlError::internal(e)
}

impl ClusterS3 {
    /// STS AssumeRole by `by`; the session's principal, or `None` when refused.
    async fn assume(&self, f: &Frontend, by: Principal, role: &str) -> SqlResult<Option<Principal>> {
        let input = sts::AssumeRoleRequest {
            role_arn: Some(role.to_string()),
            role_session_name: Some(SESSION_NAME.to_string()),
            ..Default::default()
        };
        let Ok(out) = f.call(by, &self.0.region, input).await else { return Ok(None) };
        let key = out
            .credentials
            .and_then(|c| c.access_key_id)
            .ok_or_else(|| internal("AssumeRole answered without credentials"))?;
        let credential =
            f.identities.credential(&key).ok_or_else(|| internal("the assumed role's session is unknown"))?;
        Ok(Some(credential.principal))
    }
}

#[async_trait]
impl External for ClusterS3 {
    fn cluster(&self) -> Option<ClusterFacts> {
        let (_, c) = self.0.facts().ok()?;
        Some(ClusterFacts {
            account: self.0.account.clone(),
            namespace: c.namespace_uuid,
            default_iam_role: c.default_iam_role,
        })
    }

    async fn open(
        &self,
        credentials: &Credentials,
        region: Option<&str>,
        db_user: &str,
    ) -> SqlResult<Arc<dyn ObjectStore>> {
        let (rs, c) = self.0.facts().map_err(internal)?;
        let f = rs.internal.frontend().map_err(|e| internal(e.message))?;
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
                let mut by = Principal::service_for(REDSHIFT_SERVICE, &c.source_arn);
                for role in &chain {
                    by = self.assume(&f, by, role).await?.ok_or_else(|| not_authorized(&c, db_user, role))?;
                }
                by
            }
        };
        Ok(Arc::new(S3As {
            frontend: Arc::downgrade(&f),
            principal,
            region: region.unwrap_or(&self.0.region).to_string(),
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
    fn frontend(&self) -> SqlResult<Arc<Frontend>> {
        self.frontend.upgrade().ok_or_else(|| internal("the front door is not running"))
    }

    /// S3's error, as Redshift reports an S3ServiceException.
    fn s3_error(&self, e: AwsError, context: &str) -> SqlError {
        let rid = e.fields.iter().find(|(k, _)| *k == "RequestId").map(|(_, v)| v.clone()).unwrap_or_default();
        let (code, message) = match e.code.as_ref() {
            "NotFound" => ("NoSuchBucket".to_string(), "The specified bucket does not exist".to_string()),
            c => (c.to_string(), e.message),
        };
        sql_error(
            format!("S3ServiceException:{message},Status {},Error {code},Rid {rid},ExtRid {rid},CanRetry 1", e.status),
            context,
        )
    }

    /// A bucket of another region answers as S3 answers a request sent to the wrong endpoint.
    async fn check_region(&self, bucket: &str) -> SqlResult<()> {
        if self.checked.lock().unwrap_or_else(|e| e.into_inner()).contains(bucket) {
            return Ok(());
        }
        let input = s3::HeadBucketRequest { bucket: Some(bucket.to_string()), ..Default::default() };
        let context = format!("Listing bucket={bucket}");
        let out = match self.frontend()?.call(self.principal.clone(), &self.region, input).await {
            Ok(out) => out,
            // A HEAD refused has no body to name the error: the read that follows will.
            Err(e) if e.status == 403 => return Ok(()),
            Err(e) => return Err(self.s3_error(e, &context)),
        };
        match out.bucket_region {
            Some(r) if r != self.region => {
                return Err(sql_error(
                    "S3ServiceException:The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.,Status 301,Error PermanentRedirect,Rid ,ExtRid ,CanRetry 1".to_string(),
                    &format!("{context} (the bucket is in {r}; COPY addressed {})", self.region),
                ));
            }
            _ => {}
        }
        self.checked.lock().unwrap_or_else(|e| e.into_inner()).insert(bucket.to_string());
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for S3As {
    async fn list(&self, bucket: &str, prefix: &str) -> SqlResult<Vec<ObjectInfo>> {
        self.check_region(bucket).await?;
        let f = self.frontend()?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let input = s3::ListObjectsV2Request {
                bucket: Some(bucket.to_string()),
                prefix: Some(prefix.to_string()),
                continuation_token: token.clone(),
                ..Default::default()
            };
            let page = f
                .call(self.principal.clone(), &self.region, input)
                .await
                .map_err(|e| self.s3_error(e, &format!("Listing bucket={bucket} prefix={prefix}")))?;
            for c in page.contents.unwrap_or_default() {
                out.push(ObjectInfo { key: c.key.unwrap_or_default(), size: c.size.unwrap_or(0).max(0) as u64 });
            }
            token = page.next_continuation_token;
            if page.is_truncated != Some(true) || token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn get(&self, bucket: &str, key: &str) -> SqlResult<Vec<u8>> {
        self.check_region(bucket).await?;
        let input =
            s3::GetObjectRequest { bucket: Some(bucket.to_string()), key: Some(key.to_string()), ..Default::default() };
        let out = self
            .frontend()?
            .call(self.principal.clone(), &self.region, input)
            .await
            .map_err(|e| self.s3_error(e, &format!("S3 key being read : s3://{bucket}/{key}")))?;
        Ok(out.body.map(|b| b.to_vec()).unwrap_or_default())
    }

    async fn open(&self, bucket: &str, key: &str) -> SqlResult<Box<dyn std::io::Read + Send>> {
        self.check_region(bucket).await?;
        let input =
            s3::GetObjectRequest { bucket: Some(bucket.to_string()), key: Some(key.to_string()), ..Default::default() };
        let (out, stream) = self
            .frontend()?
            .call_streaming(self.principal.clone(), &self.region, input)
            .await
            .map_err(|e| self.s3_error(e, &format!("S3 key being read : s3://{bucket}/{key}")))?;
        Ok(match stream {
            Some(s) => Box::new(s.into_reader()),
            None => Box::new(std::io::Cursor::new(out.body.unwrap_or_default())),
        })
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> SqlResult<()> {
        self.check_region(bucket).await?;
        let input = s3::PutObjectRequest {
            bucket: Some(bucket.to_string()),
            key: Some(key.to_string()),
            body: Some(Bytes::from(body)),
            ..Default::default()
        };
        self.frontend()?
            .call(self.principal.clone(), &self.region, input)
            .await
            .map_err(|e| self.s3_error(e, &format!("S3 key being written : s3://{bucket}/{key}")))?;
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str) -> SqlResult<()> {
        self.check_region(bucket).await?;
        let input = s3::DeleteObjectRequest {
            bucket: Some(bucket.to_string()),
            key: Some(key.to_string()),
            ..Default::default()
        };
        self.frontend()?
            .call(self.principal.clone(), &self.region, input)
            .await
            .map_err(|e| self.s3_error(e, &format!("S3 key being removed : s3://{bucket}/{key}")))?;
        Ok(())
    }
}

/// Whether a cluster's (or workgroup's) network lets a connection in: the network ACL of its
/// subnet (inbound to its port, and outbound back to the client's port, since ACLs keep no
/// state) and its VPC security groups, read from EC2 through the front door as its account.
/// Without groups it takes loopback connections.
pub(crate) struct ClusterNetwork(pub(crate) Serving);

impl ClusterNetwork {
    async fn check(&self, peer: std::net::SocketAddr) -> Result<bool, String> {
        let (rs, c) = self.0.facts()?;
        let f = rs.internal.frontend().map_err(|e| e.message)?;
        let root = f.identities.root(&self.0.account).ok_or("the account is unknown")?;
        let region = &self.0.region;
        let port = c.bound_port.unwrap_or(c.port as u16) as i32;
        let std::net::IpAddr::V4(ip) = peer.ip() else { return Ok(false) };
        let filter =
            |name: &str, value: &str| ec2::Filter { name: Some(name.into()), values: Some(vec![value.into()]) };
        let subnet = match &c.subnet {
            crate::SubnetChoice::Known(id) => Some(id.clone()),
            crate::SubnetChoice::DefaultIn(zone) => {
                let input = ec2::DescribeSubnetsRequest {
                    filters: Some(vec![filter("default-for-az", "true"), filter("availability-zone", zone)]),
                    ..Default::default()
                };
                let out = f
                    .call(root.clone(), region, input)
                    .await
                    .map_err(|e| format!("the subnets could not be read: {}", e.message))?;
                out.subnets.into_iter().flatten().next().and_then(|s| s.subnet_id)
            }
        };
        if let Some(subnet) = subnet {
            let input = ec2::DescribeNetworkAclsRequest {
                filters: Some(vec![filter("association.subnet-id", &subnet)]),
                ..Default::default()
            };
            let out = f
                .call(root.clone(), region, input)
                .await
                .map_err(|e| format!("the network ACL could not be read: {}", e.message))?;
            if let Some(acl) = out.network_acls.into_iter().flatten().next() {
                let entries = acl.entries.unwrap_or_default();
                // Both the port the cluster asked for and the one bound count: rules name
                // what the user sees.
                let inbound = acl_allows(&entries, false, ip, port) || acl_allows(&entries, false, ip, c.port);
                if !inbound || !acl_allows(&entries, true, ip, peer.port() as i32) {
                    return Ok(false);
                }
            }
        }
        if c.security_groups.is_empty() {
            // Without groups, a cluster takes connections from wherever nuage itself was
            // told to listen: loopback by default; everyone when it listens beyond (in a
            // container, `--host 0.0.0.0`).
            return Ok(peer.ip().is_loopback() || !rs.sql_host().is_loopback());
        }
        let input =
            ec2::DescribeSecurityGroupsRequest { group_ids: Some(c.security_groups.clone()), ..Default::default() };
        let out = f
            .call(root, region, input)
            .await
            .map_err(|e| format!("the security groups could not be read: {} {}", e.code, e.message))?;
        for p in out.security_groups.into_iter().flatten().flat_map(|g| g.ip_permissions.into_iter().flatten()) {
            let protocol = p.ip_protocol.as_deref().unwrap_or_default();
            let (from, to) = (p.from_port.unwrap_or(-1), p.to_port.unwrap_or(-1));
            let ports = protocol == "-1" || (protocol == "tcp" && from <= port && port <= to);
            let asked = protocol == "tcp" && from <= c.port && c.port <= to;
            if !(ports || asked) {
                continue;
            }
            if p.ip_ranges.iter().flatten().any(|r| r.cidr_ip.as_deref().is_some_and(|cidr| cidr_contains(cidr, ip))) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A network ACL's verdict on TCP traffic with `ip` on `port`: its rules in number order, the
/// first that matches decides; none matching denies.
fn acl_allows(entries: &[ec2::NetworkAclEntry], egress: bool, ip: std::net::Ipv4Addr, port: i32) -> bool {
    let mut rules: Vec<&ec2::NetworkAclEntry> = entries.iter().filter(|e| e.egress == Some(egress)).collect();
    rules.sort_by_key(|e| e.rule_number.unwrap_or(i32::MAX));
    for e in rules {
        let protocol = e.protocol.as_deref().unwrap_or_default();
        let ports = e.port_range.as_ref().is_none_or(|r| r.from.unwrap_or(0) <= port && port <= r.to.unwrap_or(65535));
        let matches = (protocol == "-1" || (protocol == "6" && ports))
            && e.cidr_block.as_deref().is_some_and(|c| cidr_contains(c, ip));
        if matches {
            return e.rule_action.as_deref() == Some("allow");
        }
    }
    false
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
                tracing::warn!(compute = %self.0.compute, error = %e, "connection refused: security groups unreadable");
                false
            }
        }
    }
}
