//! Metric filters: PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter; and, as events
//! arrive, the matching ones turned into CloudWatch metric data (the value a literal or a field
//! of the event, dimensions from fields, the default value for events that do not match),
//! folded per minute and published to CloudWatch through the front door on the account's
//! behalf.
use crate::pattern::{self, Pattern};
use crate::{invalid, now_ms, Group, Logs, METRIC_FILTERS};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::cloudwatch as cw;
use nuage_protocol::logs as m;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MetricFilter {
    name: String,
    pattern: String,
    transformation: m::MetricTransformation,
    created_ms: i64,
}

fn key(g: &Group, name: &str) -> String {
    format!("{}\u{0}{name}", g.key())
}

fn is_selector(s: &str) -> bool {
    s.starts_with('$') && s.len() > 1
}

impl Logs {
    pub(crate) async fn put_metric_filter(&self, ctx: &RequestContext, i: m::PutMetricFilterRequest) -> AwsResult<()> {
        let g = self.group(ctx, i.log_group_name.as_deref())?;
        let name = i.filter_name.clone().unwrap_or_default();
        let text = i.filter_pattern.clone().unwrap_or_default();
        pattern::parse(&text).map_err(|e| invalid(format!("Invalid metric filter pattern: {e}")))?;
        if i.apply_on_transformed_logs == Some(true)
            || i.field_selection_criteria.is_some()
            || i.emit_system_field_dimensions.is_some()
        {
            return Err(invalid(
                "Log transformers, field selection criteria and system field dimensions are not served by nuage.",
            ));
        }
        let mut ts = i.metric_transformations.clone().unwrap_or_default();
        if ts.len() != 1 {
            return Err(invalid("A metric filter has exactly one metric transformation."));
        }
        let t = ts.remove(0);
        let value = t.metric_value.clone().unwrap_or_default();
        if !is_selector(&value) && value.parse::<f64>().is_err() {
            return Err(invalid(format!(
                "Invalid metric value: {value}. It must be a number or a field selector ($.field or $name)."
            )));
        }
        let dims = t.dimensions.clone().unwrap_or_default();
        if dims.len() > 3 {
            return Err(invalid("A metric filter can have at most 3 dimensions."));
        }
        if let Some((k, v)) = dims.iter().find(|(_, v)| !is_selector(v)) {
            return Err(invalid(format!("Invalid dimension {k}: its value {v} must be a field selector.")));
        }
        if t.default_value.is_some() && !dims.is_empty() {
            return Err(invalid("A metric filter with dimensions cannot have a default value."));
        }
        let filter = MetricFilter { name: name.clone(), pattern: text, transformation: t, created_ms: now_ms() };
        let (k, prefix) = (key(&g, &name), format!("{}\u{0}", g.key()));
        self.store
            .write(move |w| {
                if w.get::<MetricFilter>(METRIC_FILTERS, &k)?.is_none()
                    && w.scan::<MetricFilter>(METRIC_FILTERS, &prefix)?.len() >= 100
                {
                    return Err(m::errors::Error::LimitExceededException
                        .msg("Resource limit exceeded: 100 metric filters per log group."));
                }
                w.put(METRIC_FILTERS, &k, &filter)
            })
            .await
    }

    pub(crate) fn describe_metric_filters(
        &self,
        ctx: &RequestContext,
        i: m::DescribeMetricFiltersRequest,
    ) -> AwsResult<m::DescribeMetricFiltersResponse> {
        if i.metric_name.is_some() != i.metric_namespace.is_some() {
            return Err(invalid("metricName and metricNamespace must be specified together."));
        }
        let prefix = match &i.log_group_name {
            Some(n) => format!("{}\u{0}", self.group(ctx, Some(n))?.key()),
            None => format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region),
        };
        let limit = i.limit.unwrap_or(50).clamp(1, 50) as usize;
        let mut list: Vec<(String, MetricFilter)> = self
            .store
            .read()?
            .scan::<MetricFilter>(METRIC_FILTERS, &prefix)?
            .into_iter()
            .filter(|(_, f)| i.filter_name_prefix.as_ref().is_none_or(|p| f.name.starts_with(p.as_str())))
            .filter(|(_, f)| i.metric_name.as_ref().is_none_or(|n| f.transformation.metric_name.as_ref() == Some(n)))
            .filter(|(_, f)| {
                i.metric_namespace.as_ref().is_none_or(|n| f.transformation.metric_namespace.as_ref() == Some(n))
            })
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        let start = match &i.next_token {
            Some(t) => list.iter().position(|(k, _)| k > t).unwrap_or(list.len()),
            None => 0,
        };
        let page: Vec<&(String, MetricFilter)> = list[start..].iter().take(limit).collect();
        let next = (start + page.len() < list.len()).then(|| page.last().map(|(k, _)| k.clone())).flatten();
        Ok(m::DescribeMetricFiltersResponse {
            metric_filters: Some(
                page.iter()
                    .map(|(k, f)| m::MetricFilter {
                        filter_name: Some(f.name.clone()),
                        filter_pattern: Some(f.pattern.clone()),
                        metric_transformations: Some(vec![f.transformation.clone()]),
                        creation_time: Some(f.created_ms),
                        log_group_name: Some(
                            k.split('\u{0}')
                                .next()
                                .unwrap_or_default()
                                .splitn(3, '/')
                                .nth(2)
                                .unwrap_or_default()
                                .to_string(),
                        ),
                        apply_on_transformed_logs: Some(false),
                        ..Default::default()
                    })
                    .collect(),
            ),
            next_token: next,
        })
    }

    pub(crate) async fn delete_metric_filter(
        &self,
        ctx: &RequestContext,
        i: m::DeleteMetricFilterRequest,
    ) -> AwsResult<()> {
        let g = self.group(ctx, i.log_group_name.as_deref())?;
        let k = key(&g, i.filter_name.as_deref().unwrap_or_default());
        self.store
            .write(move |w| {
                if w.get::<MetricFilter>(METRIC_FILTERS, &k)?.is_none() {
                    return Err(
                        m::errors::Error::ResourceNotFoundException.msg("The specified metric filter does not exist.")
                    );
                }
                w.delete(METRIC_FILTERS, &k)
            })
            .await
    }

    /// The metric data a group's filters make of newly stored events, published to CloudWatch.
    pub(crate) fn publish_metrics(&self, g: &Group, events: &[(i64, String)]) -> AwsResult<()> {
        let filters: Vec<(String, MetricFilter)> =
            self.store.read()?.scan(METRIC_FILTERS, &format!("{}\u{0}", g.key()))?;
        if filters.is_empty() {
            return Ok(());
        }
        // (namespace, metric, dimensions, minute, unit) → (count, sum, min, max)
        type Folded = BTreeMap<(String, String, Vec<(String, String)>, i64, Option<String>), (f64, f64, f64, f64)>;
        let mut folded: Folded = BTreeMap::new();
        for (_, f) in &filters {
            let Ok(p) = pattern::parse(&f.pattern) else { continue };
            let t = &f.transformation;
            for (ts, msg) in events {
                let value = if p.matches(msg) {
                    value_of(&p, msg, t.metric_value.as_deref().unwrap_or("1"))
                } else {
                    t.default_value
                };
                let Some(v) = value else { continue };
                let dims: Option<Vec<(String, String)>> = t
                    .dimensions
                    .iter()
                    .flatten()
                    .map(|(k, sel)| p.field_value(msg, sel).map(|x| (k.clone(), x)))
                    .collect();
                // An event without a dimension's field is not counted.
                let Some(dims) = dims else { continue };
                let k = (
                    t.metric_namespace.clone().unwrap_or_default(),
                    t.metric_name.clone().unwrap_or_default(),
                    dims,
                    ts.div_euclid(60_000) * 60_000,
                    t.unit.clone(),
                );
                let e = folded.entry(k).or_insert((0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY));
                *e = (e.0 + 1.0, e.1 + v, e.2.min(v), e.3.max(v));
            }
        }
        if folded.is_empty() {
            return Ok(());
        }
        let mut by_namespace: BTreeMap<String, Vec<cw::MetricDatum>> = BTreeMap::new();
        for ((ns, name, dims, minute, unit), (n, sum, min, max)) in folded {
            by_namespace.entry(ns).or_default().push(nuage_protocol::folded_datum(
                name,
                dims,
                minute,
                (n, sum, min, max),
                unit,
            ));
        }
        let internal = self.internal.clone();
        let (account, region) = (g.account.clone(), g.region.clone());
        // Published on the account's behalf, as CloudWatch Logs does, whatever the permissions
        // of whoever sent the events; off the request, so PutLogEvents does not wait for it.
        tokio::spawn(async move {
            let publish = async {
                let f = internal.frontend()?;
                let root = f.identities.root(&account).ok_or_else(|| AwsError::internal("unknown account"))?;
                for (ns, data) in by_namespace {
                    for chunk in data.chunks(1000) {
                        let input = cw::PutMetricDataInput {
                            namespace: Some(ns.clone()),
                            metric_data: Some(chunk.to_vec()),
                            ..Default::default()
                        };
                        f.call_via(root.clone(), &region, Some("logs.amazonaws.com"), input).await?;
                    }
                }
                Ok::<(), AwsError>(())
            };
            if let Err(e) = publish.await {
                tracing::warn!(error = %e, "metric filter data could not be published to CloudWatch");
            }
        });
        Ok(())
    }
}

/// A metric filter's value for one matched event: a number, or a field's number.
fn value_of(p: &Pattern, msg: &str, spec: &str) -> Option<f64> {
    if is_selector(spec) {
        p.field_value(msg, spec)?.trim().parse().ok()
    } else {
        spec.parse().ok()
    }
}
