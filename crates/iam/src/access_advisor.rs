//! Service last accessed ("access advisor"): when each IAM user and role last made an
//! authenticated request to each service, recorded from the requests themselves.
use crate::{ci, read_lock, write_lock, Iam};
use nuage_core::PrincipalKind;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};

pub(crate) const SERVICE_ACCESS: JsonTable = TableDefinition::new("iam_service_last_accessed");
/// A later request within this span is not recorded again.
const GRANULARITY_MS: i64 = 60_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceAccess {
    /// The user's or role's ARN.
    pub entity: String,
    pub namespace: String,
    pub at_ms: i64,
    pub region: String,
}

/// The IAM namespaces of the services nuage serves, with the names IAM reports, in order.
pub const SERVICES: &[(&str, &str)] = &[
    ("cloudwatch", "Amazon CloudWatch"),
    ("dynamodb", "Amazon DynamoDB"),
    ("ec2", "Amazon EC2"),
    ("iam", "AWS Identity and Access Management"),
    ("logs", "Amazon CloudWatch Logs"),
    ("redshift", "Amazon Redshift"),
    ("redshift-data", "Amazon Redshift Data API"),
    ("s3", "Amazon S3"),
    ("secretsmanager", "AWS Secrets Manager"),
    ("sts", "AWS Security Token Service"),
];

/// A request's IAM namespace from the name it is signed with.
fn namespace(signing_name: &str) -> &str {
    match signing_name {
        "monitoring" => "cloudwatch",
        other => other,
    }
}

impl Iam {
    /// Records that the principal of `access_key` made a request to `service`.
    pub(crate) fn record_service_access(&self, access_key: &str, service: &str, region: &str) {
        let Some(c) = self.identities.credential(access_key) else { return };
        let p = c.principal;
        let entity = match p.kind {
            PrincipalKind::User | PrincipalKind::UserSession => p.arn.clone(),
            PrincipalKind::AssumedRole => match p.role_arn {
                Some(r) => r,
                None => return,
            },
            // A federated user's requests are its IAM user's.
            PrincipalKind::FederatedUser => {
                let user = p.session_key.as_deref().and_then(|k| self.session(k)).and_then(|s| s.federated_by.clone());
                match user.and_then(|u| self.account(&p.account_id).users.get(&ci(&u)).map(|u| u.arn.clone())) {
                    Some(arn) => arn,
                    None => return,
                }
            }
            PrincipalKind::Root | PrincipalKind::Service => return,
        };
        let ns = namespace(service).to_string();
        let key = format!("{entity}|{ns}");
        let now = crate::state::now_ms();
        let access = ServiceAccess { entity, namespace: ns, at_ms: now, region: region.to_string() };
        {
            let mut map = write_lock(&self.service_access);
            if map.get(&key).is_some_and(|a| now - a.at_ms < GRANULARITY_MS && a.region == access.region) {
                return;
            }
            map.insert(key.clone(), access.clone());
        }
        let store = self.store.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.write(move |w| w.put(SERVICE_ACCESS, &key, &access)).await {
                    tracing::warn!(error = %e, "a service's last access could not be recorded");
                }
            });
        }
    }

    /// An entity's last request to a service.
    pub(crate) fn service_access(&self, entity: &str, namespace: &str) -> Option<ServiceAccess> {
        read_lock(&self.service_access).get(&format!("{entity}|{namespace}")).cloned()
    }
}
