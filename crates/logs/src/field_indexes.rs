//! Field index policies (Put/Describe/DeleteIndexPolicy, DescribeFieldIndexes) and what they
//! do for Logs Insights' `filterIndex`: a query with `filterIndex field = value` scans only the
//! log groups whose policy indexes every field it names, and in them only the events ingested
//! since the policy, as CloudWatch indexes only what arrives after a policy is made.
use crate::{invalid, now_ms, Group, Logs};
use nuage_core::AwsResult;
use nuage_protocol::logs as m;
use nuage_protocol::logs::errors::Error as E;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};

/// Index policies, by the log group's key.
const INDEX_POLICIES: JsonTable = TableDefinition::new("logs_index_policies");
/// How many fields one policy may index.
const MAX_FIELDS: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexPolicy {
    pub document: String,
    pub fields: Vec<String>,
    pub updated_ms: i64,
}

fn out(g: &Group, p: &IndexPolicy) -> m::IndexPolicy {
    m::IndexPolicy {
        log_group_identifier: Some(g.arn()),
        last_update_time: Some(p.updated_ms),
        policy_document: Some(p.document.clone()),
        policy_name: Some("DefaultLogGroupIndexPolicy".into()),
        source: Some("LOG_GROUP".into()),
    }
}

impl Logs {
    /// The index policy of a log group, if it has one.
    pub(crate) fn index_policy(&self, g: &Group) -> AwsResult<Option<IndexPolicy>> {
        self.store.read()?.get(INDEX_POLICIES, &g.key())
    }

    pub(crate) async fn put_index_policy(
        &self,
        ctx: &nuage_core::RequestContext,
        i: m::PutIndexPolicyRequest,
    ) -> AwsResult<m::PutIndexPolicyResponse> {
        let g = self.group(ctx, i.log_group_identifier.as_deref().map(crate::group_name_of_arn))?;
        let document = i.policy_document.clone().unwrap_or_default();
        let parsed: serde_json::Value =
            serde_json::from_str(&document).map_err(|_| invalid("The index policy document is not valid JSON."))?;
        let fields: Vec<String> = match parsed.get("Fields") {
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .map(|f| f.as_str().map(str::to_string).ok_or_else(|| invalid("Fields lists field names, as strings.")))
                .collect::<AwsResult<_>>()?,
            _ => return Err(invalid("The index policy document needs \"Fields\": a list of field names.")),
        };
        if fields.is_empty() || fields.len() > MAX_FIELDS {
            return Err(invalid(format!("An index policy indexes 1 to {MAX_FIELDS} fields.")));
        }
        if let Some(f) = fields.iter().find(|f| f.is_empty() || f.len() > 100) {
            return Err(invalid(format!("Invalid field name in the index policy: '{f}'")));
        }
        let policy = IndexPolicy { document, fields, updated_ms: now_ms() };
        let (key, stored) = (g.key(), policy.clone());
        self.store.write(move |w| w.put(INDEX_POLICIES, &key, &stored)).await?;
        Ok(m::PutIndexPolicyResponse { index_policy: Some(out(&g, &policy)) })
    }

    pub(crate) fn describe_index_policies(
        &self,
        ctx: &nuage_core::RequestContext,
        i: m::DescribeIndexPoliciesRequest,
    ) -> AwsResult<m::DescribeIndexPoliciesResponse> {
        let ids = i.log_group_identifiers.unwrap_or_default();
        if ids.len() != 1 {
            return Err(invalid("logGroupIdentifiers names exactly one log group."));
        }
        let g = self.group(ctx, Some(crate::group_name_of_arn(&ids[0])))?;
        let policies = self.index_policy(&g)?.map(|p| vec![out(&g, &p)]).unwrap_or_default();
        Ok(m::DescribeIndexPoliciesResponse { index_policies: Some(policies), next_token: None })
    }

    pub(crate) async fn delete_index_policy(
        &self,
        ctx: &nuage_core::RequestContext,
        i: m::DeleteIndexPolicyRequest,
    ) -> AwsResult<()> {
        let g = self.group(ctx, i.log_group_identifier.as_deref().map(crate::group_name_of_arn))?;
        let key = g.key();
        self.store
            .write(move |w| {
                if w.get::<IndexPolicy>(INDEX_POLICIES, &key)?.is_none() {
                    return Err(E::ResourceNotFoundException.msg("The log group has no index policy."));
                }
                w.delete(INDEX_POLICIES, &key)
            })
            .await
    }

    /// The indexed fields that events ingested since their policy hold, with the times of the
    /// first and last of those events.
    pub(crate) fn describe_field_indexes(
        &self,
        ctx: &nuage_core::RequestContext,
        i: m::DescribeFieldIndexesRequest,
    ) -> AwsResult<m::DescribeFieldIndexesResponse> {
        let mut found = Vec::new();
        for id in i.log_group_identifiers.unwrap_or_default() {
            let g = self.group(ctx, Some(crate::group_name_of_arn(&id)))?;
            let Some(p) = self.index_policy(&g)? else { continue };
            let sources = self.sources_of(&g, i64::MIN, i64::MAX)?;
            let mut seen: Vec<Option<(i64, i64)>> = vec![None; p.fields.len()];
            let snap = self.store.read()?;
            for src in &sources {
                crate::events::scan_stream(&snap, &src.id, i64::MIN, i64::MAX, |_, v| {
                    let e = crate::events::Event::view(v)?;
                    if e.i < p.updated_ms {
                        return Ok(true);
                    }
                    let record = crate::insights::record(e.t, e.i, &e.m, "", "", String::new());
                    for (n, f) in p.fields.iter().enumerate() {
                        if record.contains_key(f) {
                            let s = &mut seen[n];
                            *s = Some(s.map_or((e.t, e.t), |(a, b)| (a.min(e.t), b.max(e.t))));
                        }
                    }
                    Ok(true)
                })?;
            }
            for (f, s) in p.fields.iter().zip(seen) {
                let Some((first, last)) = s else { continue };
                found.push(m::FieldIndex {
                    log_group_identifier: Some(g.arn()),
                    field_index_name: Some(f.clone()),
                    last_scan_time: Some(now_ms()),
                    first_event_time: Some(first),
                    last_event_time: Some(last),
                    ..Default::default()
                });
            }
        }
        Ok(m::DescribeFieldIndexesResponse { field_indexes: Some(found), next_token: None })
    }
}
