//! S3 Control's account-level public access block (`/v20180820/configuration/publicAccessBlock`
//! with `x-amz-account-id`), which S3 combines with each bucket's own block.
use crate::meta::Bucket;
use crate::S3Service;
use nuage_core::{AwsError, AwsResult};
use nuage_front::{Authorization, Routed, ServiceRequest};
use nuage_protocol::{rest_xml, s3 as s3m, s3control as m, HttpRequest, HttpResponse};
use nuage_storage::JsonTable;

const ACCOUNT_BLOCKS: JsonTable = JsonTable::new("s3_account_public_access_block");
const NAMESPACE: &str = "http://awss3control.amazonaws.com/doc/2018-08-20/";
pub const PREFIX: &str = "/v20180820/";

fn no_configuration(account: &str) -> AwsError {
    AwsError::new("NoSuchPublicAccessBlockConfiguration", 404, "The public access block configuration was not found")
        .with("AccountId", account)
}

impl S3Service {
    /// The account's own block, if it set one.
    pub(crate) fn account_block(&self, account: &str) -> Option<s3m::PublicAccessBlockConfiguration> {
        self.store.read().ok()?.get(ACCOUNT_BLOCKS, account).ok()?
    }

    /// What applies to a bucket: each setting is on if the bucket or its owner's account turns it on.
    pub(crate) fn effective_block(&self, b: &Bucket) -> s3m::PublicAccessBlockConfiguration {
        let own = b.public_access_block.clone().unwrap_or_default();
        let Some(acct) = self.account_block(&b.owner.account_id) else { return own };
        let or = |a: Option<bool>, b: Option<bool>| Some(a == Some(true) || b == Some(true));
        s3m::PublicAccessBlockConfiguration {
            block_public_acls: or(own.block_public_acls, acct.block_public_acls),
            ignore_public_acls: or(own.ignore_public_acls, acct.ignore_public_acls),
            block_public_policy: or(own.block_public_policy, acct.block_public_policy),
            restrict_public_buckets: or(own.restrict_public_buckets, acct.restrict_public_buckets),
        }
    }

    /// Routes an S3 Control request; only the public access block is served.
    pub(crate) fn route_control<'a>(&'a self, req: &'a ServiceRequest) -> AwsResult<Routed<'a>> {
        let path = req.raw_path.split('?').next().unwrap_or_default();
        if path != "/v20180820/configuration/publicAccessBlock" {
            return Err(AwsError::new(
                "NotImplemented",
                501,
                format!("S3 Control serves only the public access block, not {path}"),
            ));
        }
        let account = req.header("x-amz-account-id").unwrap_or_default().to_string();
        let (operation, action) = match req.method.as_str() {
            "GET" => ("GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
            "PUT" => ("PutPublicAccessBlock", "s3:PutAccountPublicAccessBlock"),
            "DELETE" => ("DeletePublicAccessBlock", "s3:PutAccountPublicAccessBlock"),
            _ => {
                return Err(AwsError::new(
                    "MethodNotAllowed",
                    405,
                    "The specified method is not allowed against this resource.",
                ))
            }
        };
        let authorization = Authorization {
            operation,
            action,
            resource: "*".into(),
            // Only the account itself may read or change its block.
            owner_account: Some(account.clone()),
            ..Default::default()
        };
        let run = Box::pin(async move { self.run_control(req, account).await });
        Ok(Routed { authorization, run })
    }

    async fn run_control(&self, req: &ServiceRequest, account: String) -> AwsResult<HttpResponse> {
        let model = m::model();
        let http = HttpRequest { labels: &[], query: &req.query, headers: &req.headers, body: req.body.clone() };
        match req.method.as_str() {
            "GET" => {
                let _: m::GetPublicAccessBlockRequest = rest_xml::parse_request(model, &http)?;
                let c = self.account_block(&account).ok_or_else(|| no_configuration(&account))?;
                let out = m::GetPublicAccessBlockOutput {
                    public_access_block_configuration: Some(m::PublicAccessBlockConfiguration {
                        block_public_acls: Some(c.block_public_acls.unwrap_or(false)),
                        ignore_public_acls: Some(c.ignore_public_acls.unwrap_or(false)),
                        block_public_policy: Some(c.block_public_policy.unwrap_or(false)),
                        restrict_public_buckets: Some(c.restrict_public_buckets.unwrap_or(false)),
                    }),
                };
                Ok(rest_xml::render_response(model, out, "", NAMESPACE))
            }
            "PUT" => {
                let input: m::PutPublicAccessBlockRequest = rest_xml::parse_request(model, &http)?;
                let c = input.public_access_block_configuration.ok_or_else(|| {
                    AwsError::new(
                        "MalformedXML",
                        400,
                        "The XML you provided was not well-formed or did not validate against our published schema",
                    )
                })?;
                let config = s3m::PublicAccessBlockConfiguration {
                    block_public_acls: c.block_public_acls,
                    ignore_public_acls: c.ignore_public_acls,
                    block_public_policy: c.block_public_policy,
                    restrict_public_buckets: c.restrict_public_buckets,
                };
                self.store.write(move |w| w.put(ACCOUNT_BLOCKS, &account, &config)).await?;
                Ok(HttpResponse { status: 200, ..Default::default() })
            }
            _ => {
                let _: m::DeletePublicAccessBlockRequest = rest_xml::parse_request(model, &http)?;
                self.store.write(move |w| w.delete(ACCOUNT_BLOCKS, &account)).await?;
                Ok(HttpResponse { status: 204, ..Default::default() })
            }
        }
    }
}
