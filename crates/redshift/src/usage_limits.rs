//! Usage limits on a cluster's billable features (concurrency scaling, Spectrum, cross-region
//! data sharing, extra compute for automatic optimization): checked and kept as Redshift keeps
//! them. nuage never uses these features (no scaling clusters, no Spectrum tables, no data
//! sharing), so a cluster's usage of each is zero and no limit is ever breached.
use crate::api::{account, invalid, missing, page, tags_in, tags_match, tags_out};
use crate::{key, Redshift};
use nuage_core::{AwsResult, RequestContext};
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::errors::Error as E;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};

const USAGE_LIMITS: JsonTable = TableDefinition::new("redshift_usage_limits");

#[derive(Clone, Debug, Serialize, Deserialize)]
struct UsageLimitRecord {
    id: String,
    cluster: String,
    feature: String,
    limit_type: String,
    amount: i64,
    period: String,
    breach_action: String,
    tags: Vec<(String, String)>,
}

fn out(u: &UsageLimitRecord) -> m::UsageLimit {
    m::UsageLimit {
        usage_limit_id: Some(u.id.clone()),
        cluster_identifier: Some(u.cluster.clone()),
        feature_type: Some(u.feature.clone()),
        limit_type: Some(u.limit_type.clone()),
        amount: Some(u.amount),
        period: Some(u.period.clone()),
        breach_action: Some(u.breach_action.clone()),
        tags: Some(tags_out(&u.tags)),
    }
}

fn not_found(id: &str) -> nuage_core::AwsError {
    E::UsageLimitNotFoundFault.msg(format!("Usage limit {id} not found."))
}

fn check_amount(amount: i64) -> AwsResult<i64> {
    if amount < 1 {
        return Err(E::InvalidUsageLimitFault.msg("The usage limit amount must be a positive number."));
    }
    Ok(amount)
}

impl Redshift {
    fn usage_limits(&self, ctx: &RequestContext) -> AwsResult<Vec<(String, UsageLimitRecord)>> {
        self.store.read()?.scan(USAGE_LIMITS, &format!("{}/{}/", account(ctx)?, ctx.region))
    }

    fn usage_limit(&self, ctx: &RequestContext, id: Option<&str>) -> AwsResult<(String, UsageLimitRecord)> {
        let id = id.ok_or_else(|| missing("UsageLimitId"))?;
        self.usage_limits(ctx)?.into_iter().find(|(_, u)| u.id == id).ok_or_else(|| not_found(id))
    }

    pub(crate) async fn create_usage_limit(
        &self,
        ctx: &RequestContext,
        i: m::CreateUsageLimitMessage,
    ) -> AwsResult<m::UsageLimit> {
        let _one = self.writes.lock().await;
        let c = self.cluster(ctx, i.cluster_identifier.as_deref())?;
        let feature = i.feature_type.ok_or_else(|| missing("FeatureType"))?;
        let limit_type = i.limit_type.ok_or_else(|| missing("LimitType"))?;
        let wanted = match feature.as_str() {
            "concurrency-scaling" | "extra-compute-for-automatic-optimization" => "time",
            "spectrum" | "cross-region-datasharing" => "data-scanned",
            other => return Err(invalid(format!("Invalid feature type: {other}"))),
        };
        if limit_type != wanted {
            return Err(E::InvalidUsageLimitFault.msg(format!("The limit type of {feature} must be {wanted}.")));
        }
        let amount = check_amount(i.amount.ok_or_else(|| missing("Amount"))?)?;
        let period = i.period.unwrap_or_else(|| "monthly".into());
        let breach_action = i.breach_action.unwrap_or_else(|| "log".into());
        let same = self
            .usage_limits(ctx)?
            .into_iter()
            .filter(|(_, u)| u.cluster == c.identifier && u.feature == feature)
            .collect::<Vec<_>>();
        if same.iter().any(|(_, u)| u.period == period && u.breach_action == breach_action) {
            return Err(E::UsageLimitAlreadyExistsFault
                .msg("A usage limit with this feature, period and breach action already exists for the cluster."));
        }
        if same.len() >= 4 {
            return Err(E::LimitExceededFault.msg("A cluster can have at most 4 usage limits per feature."));
        }
        let u = UsageLimitRecord {
            id: format!("usage-limit-{}", &uuid::Uuid::new_v4().simple().to_string()[..17]),
            cluster: c.identifier.clone(),
            feature,
            limit_type,
            amount,
            period,
            breach_action,
            tags: tags_in(i.tags),
        };
        let (k, v) = (key(&c.account, &c.region, &u.id), u.clone());
        self.store.write(move |w| w.put(USAGE_LIMITS, &k, &v)).await?;
        Ok(out(&u))
    }

    pub(crate) async fn modify_usage_limit(
        &self,
        ctx: &RequestContext,
        i: m::ModifyUsageLimitMessage,
    ) -> AwsResult<m::UsageLimit> {
        let _one = self.writes.lock().await;
        let (k, mut u) = self.usage_limit(ctx, i.usage_limit_id.as_deref())?;
        if let Some(a) = i.amount {
            u.amount = check_amount(a)?;
        }
        if let Some(b) = i.breach_action {
            u.breach_action = b;
        }
        let v = u.clone();
        self.store.write(move |w| w.put(USAGE_LIMITS, &k, &v)).await?;
        Ok(out(&u))
    }

    pub(crate) async fn delete_usage_limit(&self, ctx: &RequestContext, id: Option<&str>) -> AwsResult<()> {
        let _one = self.writes.lock().await;
        let (k, _) = self.usage_limit(ctx, id)?;
        self.store.write(move |w| w.delete(USAGE_LIMITS, &k)).await
    }

    pub(crate) fn describe_usage_limits(
        &self,
        ctx: &RequestContext,
        i: m::DescribeUsageLimitsMessage,
    ) -> AwsResult<m::UsageLimitList> {
        if let Some(c) = &i.cluster_identifier {
            self.cluster(ctx, Some(c))?;
        }
        let keys = i.tag_keys.unwrap_or_default();
        let values = i.tag_values.unwrap_or_default();
        let all: Vec<UsageLimitRecord> = self
            .usage_limits(ctx)?
            .into_iter()
            .map(|(_, u)| u)
            .filter(|u| i.usage_limit_id.as_deref().is_none_or(|x| x == u.id))
            .filter(|u| i.cluster_identifier.as_deref().is_none_or(|x| x.eq_ignore_ascii_case(&u.cluster)))
            .filter(|u| i.feature_type.as_deref().is_none_or(|x| x == u.feature))
            .filter(|u| tags_match(&u.tags, &keys, &values))
            .collect();
        if let (Some(id), true) = (&i.usage_limit_id, all.is_empty()) {
            return Err(not_found(id));
        }
        let (items, marker) = page(all, i.marker.as_deref(), i.max_records)?;
        Ok(m::UsageLimitList { usage_limits: Some(items.iter().map(out).collect()), marker })
    }

    /// A deleted cluster's usage limits go with it.
    pub(crate) async fn remove_usage_limits(&self, account: &str, region: &str, cluster: &str) -> AwsResult<()> {
        let gone: Vec<String> = self
            .store
            .read()?
            .scan::<UsageLimitRecord>(USAGE_LIMITS, &format!("{account}/{region}/"))?
            .into_iter()
            .filter(|(_, u)| u.cluster == cluster)
            .map(|(k, _)| k)
            .collect();
        self.store
            .write(move |w| {
                for k in &gone {
                    w.delete(USAGE_LIMITS, k)?;
                }
                Ok(())
            })
            .await
    }
}
