//! Amazon CloudWatch on its three protocols (RPC v2 CBOR, JSON, query): metrics with their
//! statistics and metric math, alarms evaluated by a background pass as AWS evaluates them,
//! their history, dashboards, tags.
mod alarms;
mod math;
mod metrics;

use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::{Authorization, NoOutput, Row, TypedService};
use nuage_protocol::cloudwatch as m;
use nuage_protocol::cloudwatch::errors::Error as E;
use nuage_protocol::{Protocol, Timestamp};
use nuage_storage::redb::TableDefinition;
use nuage_storage::{BytesTable, JsonTable, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Metrics, by `account/region/namespace` NUL `name` NUL dimensions.
const METRICS: JsonTable = TableDefinition::new("cloudwatch_metrics");
/// Data, by metric id, timestamp and arrival sequence.
const POINTS: BytesTable = TableDefinition::new("cloudwatch_points");
/// Alarms, by `account/region/name`.
const ALARMS: JsonTable = TableDefinition::new("cloudwatch_alarms");
/// Alarm history, by `account/region/alarm` NUL timestamp and sequence.
const HISTORY: JsonTable = TableDefinition::new("cloudwatch_alarm_history");
/// Dashboards, by `account/name` (dashboards are global).
const DASHBOARDS: JsonTable = TableDefinition::new("cloudwatch_dashboards");

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn invalid(msg: impl Into<String>) -> AwsError {
    E::InvalidParameterValueException.msg(msg)
}

/// The account and region whose metrics and alarms a request sees.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    fn of(ctx: &RequestContext) -> Scope {
        Scope { account: ctx.account_id().unwrap_or_default().to_string(), region: ctx.region.clone() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Dashboard {
    name: String,
    body: String,
    modified_ms: i64,
    tags: BTreeMap<String, String>,
}

/// The service's state, shared with the alarm evaluation pass.
pub struct CloudWatch {
    store: Store,
    sequence: AtomicU64,
}

impl CloudWatch {
    pub fn new(store: Store) -> Arc<CloudWatch> {
        let seed = now_ms() as u64 * 1000;
        Arc::new(CloudWatch { store, sequence: AtomicU64::new(seed) })
    }

    fn next_seq(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }

    /// Evaluates every alarm every `interval` until the process ends.
    pub async fn run_alarms(self: Arc<Self>, interval: std::time::Duration) {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            match self.evaluate_alarms().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(changed = n, "alarm evaluation"),
                Err(e) => tracing::warn!(error = %e, "alarm evaluation failed"),
            }
        }
    }

    async fn put_dashboard(&self, ctx: &RequestContext, i: m::PutDashboardInput) -> AwsResult<m::PutDashboardOutput> {
        let name = i.dashboard_name.clone().unwrap_or_default();
        if name.is_empty() || name.len() > 255 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) {
            return Err(E::DashboardInvalidInputError
                .msg("The dashboard name must be 1 to 255 letters, digits, dashes and underscores."));
        }
        let body = i.dashboard_body.clone().unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&body).map_err(|e| {
            E::DashboardInvalidInputError.msg(format!("The field DashboardBody must be a valid JSON object: {e}"))
        })?;
        let Some(widgets) = doc.get("widgets").and_then(|w| w.as_array()) else {
            return Err(E::DashboardInvalidInputError
                .msg("The field DashboardBody must be a JSON object with a widgets array."));
        };
        let mut messages = Vec::new();
        for (n, w) in widgets.iter().enumerate() {
            let kind = w.get("type").and_then(|t| t.as_str()).unwrap_or_default();
            if !["metric", "text", "log", "alarm", "explorer", "custom"].contains(&kind) {
                messages.push(m::DashboardValidationMessage {
                    data_path: Some(format!("/widgets/{n}/type")),
                    message: Some(format!("Invalid widget type: {kind}")),
                });
            }
        }
        if !messages.is_empty() {
            return Err(E::DashboardInvalidInputError.msg(format!(
                "The dashboard body is invalid, there are {} validation errors: {}",
                messages.len(),
                messages.iter().filter_map(|m| m.message.clone()).collect::<Vec<_>>().join("; ")
            )));
        }
        let tags = tag_map(&i.tags);
        let key = format!("{}/{name}", ctx.account_id().unwrap_or_default());
        let d = Dashboard { name, body, modified_ms: now_ms(), tags };
        self.store.write(move |w| w.put(DASHBOARDS, &key, &d)).await?;
        Ok(m::PutDashboardOutput { dashboard_validation_messages: Some(Vec::new()) })
    }

    fn dashboard(&self, ctx: &RequestContext, name: &str) -> AwsResult<Dashboard> {
        self.store
            .read()?
            .get(DASHBOARDS, &format!("{}/{name}", ctx.account_id().unwrap_or_default()))?
            .ok_or_else(|| E::DashboardNotFoundError.msg(format!("Dashboard {name} does not exist")))
    }

    /// Tags of an alarm or a dashboard, by ARN.
    async fn retag(
        &self,
        ctx: &RequestContext,
        arn: &str,
        add: Vec<m::Tag>,
        remove: Vec<String>,
    ) -> AwsResult<BTreeMap<String, String>> {
        let scope = Scope::of(ctx);
        let (table, key) = resource_key(&scope, arn)?;
        let owned = arn.to_string();
        let missing = move || E::ResourceNotFoundException.msg(format!("The resource {owned} does not exist."));
        let change = !add.is_empty() || !remove.is_empty();
        let mut doc: serde_json::Value = self.store.read()?.get(table, &key)?.ok_or_else(missing.clone())?;
        let mut tags: BTreeMap<String, String> = serde_json::from_value(doc["tags"].take()).unwrap_or_default();
        for t in add {
            tags.insert(t.key.unwrap_or_default(), t.value.unwrap_or_default());
        }
        for k in remove {
            tags.remove(&k);
        }
        if tags.len() > 50 {
            return Err(E::LimitExceededFault.msg("A resource can have at most 50 tags."));
        }
        if change {
            let value = serde_json::to_value(&tags).map_err(AwsError::internal)?;
            self.store
                .write(move |w| {
                    let mut doc: serde_json::Value = w.get(table, &key)?.ok_or_else(missing)?;
                    doc["tags"] = value;
                    w.put(table, &key, &doc)
                })
                .await?;
        }
        Ok(tags)
    }
}

/// The table and key of a taggable resource's ARN.
fn resource_key(scope: &Scope, arn: &str) -> AwsResult<(JsonTable, String)> {
    if let Some(name) = arn.split(":alarm:").nth(1) {
        return Ok((ALARMS, alarms::alarm_key(scope, name)));
    }
    if let Some(name) = arn.split(":dashboard/").nth(1) {
        return Ok((DASHBOARDS, format!("{}/{name}", scope.account)));
    }
    Err(invalid(format!("The value {arn} for parameter ResourceARN is not an alarm or dashboard ARN.")))
}

/// A request's tags as a map (the key of a tag without one is empty, as AWS refuses it).
fn tag_map(tags: &Option<Vec<m::Tag>>) -> BTreeMap<String, String> {
    tags.iter().flatten().map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default())).collect()
}

fn tag_list(tags: BTreeMap<String, String>) -> Vec<m::Tag> {
    tags.into_iter().map(|(k, v)| m::Tag { key: Some(k), value: Some(v) }).collect()
}

/// CloudWatch behind the front door.
pub struct CloudWatchService(pub Arc<CloudWatch>);

impl CloudWatchService {
    fn on_alarm(&self, ctx: &RequestContext, action: &'static str, name: Option<&str>) -> Authorization {
        let scope = Scope::of(ctx);
        let name = name.unwrap_or("*");
        let mut a = Authorization {
            action,
            resource: format!("arn:aws:cloudwatch:{}:{}:alarm:{name}", scope.region, scope.account),
            ..Default::default()
        };
        if let Ok(Some(alarm)) =
            self.0.store.read().and_then(|s| s.get::<alarms::Alarm>(ALARMS, &alarms::alarm_key(&scope, name)))
        {
            for (k, v) in &alarm.tags {
                a.context.set(&format!("aws:ResourceTag/{k}"), v.clone());
            }
        }
        a
    }

    fn on_dashboard(ctx: &RequestContext, action: &'static str, name: &str) -> Authorization {
        Authorization {
            action,
            resource: format!("arn:aws:cloudwatch::{}:dashboard/{name}", ctx.account_id().unwrap_or_default()),
            ..Default::default()
        }
    }
}

impl TypedService for CloudWatchService {
    type Operation = m::ops::Operation;

    fn status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.0.store.read() else { return Vec::new() };
        vec![("metrics", r.count(METRICS).unwrap_or(0)), ("alarms", r.count(ALARMS).unwrap_or(0))]
    }

    fn signing_name(&self) -> &'static str {
        "monitoring"
    }

    /// The query protocol when a request names no other (CBOR and JSON are recognised by
    /// their headers).
    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    fn validation_error(&self) -> Option<&'static str> {
        Some("InvalidParameterValue")
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: m::ops::Operation) -> Row<'a> {
        use m::ops::Operation as O;
        let cw = &self.0;
        let scope = Scope::of(ctx);
        let op_name = nuage_protocol::Operation::name(&op);
        match op {
            O::PutMetricData(i) => {
                let mut a =
                    Authorization { action: "cloudwatch:PutMetricData", resource: "*".into(), ..Default::default() };
                a.context.set("cloudwatch:namespace", i.namespace.clone().unwrap_or_default());
                // AWS services publish their own metrics (`AWS/DynamoDB`) through the front door.
                let by_service = !ctx.called_via.is_empty();
                Row::authorized(a, async move {
                    cw.put_metric_data(&scope, i, by_service).await?;
                    Ok(NoOutput)
                })
            }
            O::GetMetricStatistics(i) => {
                Row::serve("cloudwatch:GetMetricStatistics", "*", async move { cw.get_metric_statistics(&scope, i) })
            }
            O::GetMetricData(i) => {
                Row::serve("cloudwatch:GetMetricData", "*", async move { cw.get_metric_data(&scope, i) })
            }
            O::ListMetrics(i) => Row::serve("cloudwatch:ListMetrics", "*", async move { cw.list_metrics(&scope, i) }),
            O::PutMetricAlarm(i) => {
                let mut a = self.on_alarm(ctx, "cloudwatch:PutMetricAlarm", i.alarm_name.as_deref());
                let tags = tag_map(&i.tags);
                a.context.set_request_tags(tags.into_iter().collect(), Vec::new());
                Row::authorized(a, async move {
                    cw.put_metric_alarm(&scope, i).await?;
                    Ok(NoOutput)
                })
            }
            O::DescribeAlarms(i) => {
                Row::serve("cloudwatch:DescribeAlarms", "*", async move { cw.describe_alarms(&scope, i) })
            }
            O::DescribeAlarmsForMetric(i) => Row::serve("cloudwatch:DescribeAlarmsForMetric", "*", async move {
                cw.describe_alarms_for_metric(&scope, i)
            }),
            O::DescribeAlarmHistory(i) => {
                let a = self.on_alarm(ctx, "cloudwatch:DescribeAlarmHistory", i.alarm_name.as_deref());
                Row::authorized(a, async move { cw.describe_alarm_history(&scope, i) })
            }
            O::DeleteAlarms(i) => {
                let names = i.alarm_names.clone().unwrap_or_default();
                let mut a = self.on_alarm(ctx, "cloudwatch:DeleteAlarms", names.first().map(String::as_str));
                for n in names.iter().skip(1) {
                    a.also.push(self.on_alarm(ctx, "cloudwatch:DeleteAlarms", Some(n)));
                }
                Row::authorized(a, async move {
                    cw.delete_alarms(&scope, names).await?;
                    Ok(NoOutput)
                })
            }
            O::EnableAlarmActions(m::EnableAlarmActionsInput { alarm_names })
            | O::DisableAlarmActions(m::DisableAlarmActionsInput { alarm_names }) => {
                let enable = matches!(op_name, "EnableAlarmActions");
                let names = alarm_names.unwrap_or_default();
                let action = if enable { "cloudwatch:EnableAlarmActions" } else { "cloudwatch:DisableAlarmActions" };
                let mut a = self.on_alarm(ctx, action, names.first().map(String::as_str));
                for n in names.iter().skip(1) {
                    a.also.push(self.on_alarm(ctx, action, Some(n)));
                }
                Row::authorized(a, async move {
                    cw.set_actions_enabled(&scope, names, enable).await?;
                    Ok(NoOutput)
                })
            }
            O::SetAlarmState(i) => {
                Row::authorized(self.on_alarm(ctx, "cloudwatch:SetAlarmState", i.alarm_name.as_deref()), async move {
                    cw.set_alarm_state(&scope, i).await?;
                    Ok(NoOutput)
                })
            }
            O::PutDashboard(i) => {
                let a =
                    Self::on_dashboard(ctx, "cloudwatch:PutDashboard", i.dashboard_name.as_deref().unwrap_or_default());
                Row::authorized(a, cw.put_dashboard(ctx, i))
            }
            O::GetDashboard(i) => {
                let name = i.dashboard_name.clone().unwrap_or_default();
                Row::authorized(Self::on_dashboard(ctx, "cloudwatch:GetDashboard", &name), async move {
                    let d = cw.dashboard(ctx, &name)?;
                    Ok(m::GetDashboardOutput {
                        dashboard_arn: Some(format!(
                            "arn:aws:cloudwatch::{}:dashboard/{name}",
                            ctx.account_id().unwrap_or_default()
                        )),
                        dashboard_body: Some(d.body),
                        dashboard_name: Some(d.name),
                    })
                })
            }
            O::ListDashboards(i) => Row::serve("cloudwatch:ListDashboards", "*", async move {
                let account = ctx.account_id().unwrap_or_default().to_string();
                let list: Vec<(String, Dashboard)> = cw.store.read()?.scan(DASHBOARDS, &format!("{account}/"))?;
                let entries = list
                    .into_iter()
                    .filter(|(_, d)| i.dashboard_name_prefix.as_ref().is_none_or(|p| d.name.starts_with(p.as_str())))
                    .map(|(_, d)| m::DashboardEntry {
                        dashboard_arn: Some(format!("arn:aws:cloudwatch::{account}:dashboard/{}", d.name)),
                        size: Some(d.body.len() as i64),
                        last_modified: Some(Timestamp(d.modified_ms)),
                        dashboard_name: Some(d.name),
                    })
                    .collect();
                Ok(m::ListDashboardsOutput { dashboard_entries: Some(entries), next_token: None })
            }),
            O::DeleteDashboards(i) => {
                let names = i.dashboard_names.clone().unwrap_or_default();
                let a = Self::on_dashboard(
                    ctx,
                    "cloudwatch:DeleteDashboards",
                    names.first().map(String::as_str).unwrap_or("*"),
                );
                Row::authorized(a, async move {
                    for n in &names {
                        cw.dashboard(ctx, n)?;
                    }
                    let account = ctx.account_id().unwrap_or_default().to_string();
                    cw.store
                        .write(move |w| {
                            for n in &names {
                                w.delete(DASHBOARDS, &format!("{account}/{n}"))?;
                            }
                            Ok(())
                        })
                        .await?;
                    Ok(m::DeleteDashboardsOutput {})
                })
            }
            O::TagResource(i) => {
                let arn = i.resource_arn.clone().unwrap_or_default();
                let mut a =
                    Authorization { action: "cloudwatch:TagResource", resource: arn.clone(), ..Default::default() };
                let tags = tag_map(&i.tags);
                a.context.set_request_tags(tags.into_iter().collect(), Vec::new());
                Row::authorized(a, async move {
                    cw.retag(ctx, &arn, i.tags.unwrap_or_default(), Vec::new()).await?;
                    Ok(m::TagResourceOutput {})
                })
            }
            O::UntagResource(i) => {
                let arn = i.resource_arn.clone().unwrap_or_default();
                let mut a =
                    Authorization { action: "cloudwatch:UntagResource", resource: arn.clone(), ..Default::default() };
                let keys = i.tag_keys.clone().unwrap_or_default();
                a.context.set_request_tags(Vec::new(), keys.clone());
                Row::authorized(a, async move {
                    cw.retag(ctx, &arn, Vec::new(), keys).await?;
                    Ok(m::UntagResourceOutput {})
                })
            }
            O::ListTagsForResource(i) => {
                let arn = i.resource_arn.clone().unwrap_or_default();
                Row::serve("cloudwatch:ListTagsForResource", arn.clone(), async move {
                    Ok(m::ListTagsForResourceOutput {
                        tags: Some(tag_list(cw.retag(ctx, &arn, Vec::new(), Vec::new()).await?)),
                    })
                })
            }
            // Composite and log alarms, anomaly detectors, Contributor Insights rules, metric
            // streams (which deliver to Firehose), query definitions, datasets, OpenTelemetry
            // enrichment, resource metric configurations, mute rules and widget images are
            // not served yet: answered as operations the service does not have.
            O::AssociateDatasetKmsKey(_)
            | O::CreateResourceMetricsConfiguration(_)
            | O::DeleteAlarmMuteRule(_)
            | O::DeleteAnomalyDetector(_)
            | O::DeleteInsightRules(_)
            | O::DeleteMetricDataQueryDefinition(_)
            | O::DeleteMetricStream(_)
            | O::DeleteResourceMetricsConfiguration(_)
            | O::DescribeAlarmContributors(_)
            | O::DescribeAnomalyDetectors(_)
            | O::DescribeInsightRules(_)
            | O::DisableInsightRules(_)
            | O::DisassociateDatasetKmsKey(_)
            | O::EnableInsightRules(_)
            | O::GetAlarmMuteRule(_)
            | O::GetDataset(_)
            | O::GetInsightRuleReport(_)
            | O::GetMetricDataQueryDefinition(_)
            | O::GetMetricStream(_)
            | O::GetMetricWidgetImage(_)
            | O::GetOTelEnrichment(_)
            | O::GetResourceMetricsConfiguration(_)
            | O::ListAlarmMuteRules(_)
            | O::ListManagedInsightRules(_)
            | O::ListMetricDataQueryDefinitions(_)
            | O::ListMetricStreams(_)
            | O::PutAlarmMuteRule(_)
            | O::PutAnomalyDetector(_)
            | O::PutCompositeAlarm(_)
            | O::PutInsightRule(_)
            | O::PutLogAlarm(_)
            | O::PutManagedInsightRules(_)
            | O::PutMetricDataQueryDefinition(_)
            | O::PutMetricStream(_)
            | O::StartMetricStreams(_)
            | O::StartOTelEnrichment(_)
            | O::StopMetricStreams(_)
            | O::StopOTelEnrichment(_)
            | O::UpdateOTelEnrichment(_)
            | O::UpdateResourceMetricsConfiguration(_) => Row::NotServed,
        }
    }
}
