//! Metric alarms: PutMetricAlarm with CloudWatch's checks, evaluation as the CloudWatch user
//! guide describes it (the last EvaluationPeriods periods, M out of N datapoints to alarm, the
//! four ways of treating missing data), state changes with their reasons and history, actions
//! recorded (and reported as failed while their targets are not served), SetAlarmState,
//! DescribeAlarms, DescribeAlarmsForMetric, DescribeAlarmHistory, enabling and disabling actions.
use crate::metrics::{check_period, dimension_set, valid_percentile, valid_statistic};
use crate::{invalid, now_ms, CloudWatch, Scope, ALARMS, E, HISTORY};
use nuage_core::{AwsError, AwsResult};
use nuage_protocol::cloudwatch as m;
use nuage_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Alarm {
    pub account: String,
    pub region: String,
    pub name: String,
    pub description: Option<String>,
    pub actions_enabled: bool,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub dimensions: Vec<(String, String)>,
    /// A statistic or a percentile (`p99`), which DescribeAlarms reports as ExtendedStatistic.
    pub statistic: Option<String>,
    pub period: Option<i32>,
    pub unit: Option<String>,
    /// A metric math alarm's queries.
    pub metrics: Option<Vec<m::MetricDataQuery>>,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: Option<i32>,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub state: String,
    pub reason: String,
    pub reason_data: Option<String>,
    pub state_updated_ms: i64,
    pub state_transitioned_ms: i64,
    pub configuration_updated_ms: i64,
    pub tags: BTreeMap<String, String>,
}

impl Alarm {
    pub fn arn(&self) -> String {
        format!("arn:aws:cloudwatch:{}:{}:alarm:{}", self.region, self.account, self.name)
    }

    fn scope(&self) -> Scope {
        Scope { account: self.account.clone(), region: self.region.clone() }
    }

    fn shape(&self) -> m::MetricAlarm {
        let percentile = self.statistic.as_deref().is_some_and(valid_percentile);
        m::MetricAlarm {
            alarm_name: Some(self.name.clone()),
            alarm_arn: Some(self.arn()),
            alarm_description: self.description.clone(),
            alarm_configuration_updated_timestamp: Some(Timestamp(self.configuration_updated_ms)),
            actions_enabled: Some(self.actions_enabled),
            ok_actions: Some(self.ok_actions.clone()),
            alarm_actions: Some(self.alarm_actions.clone()),
            insufficient_data_actions: Some(self.insufficient_data_actions.clone()),
            state_value: Some(self.state.clone()),
            state_reason: Some(self.reason.clone()),
            state_reason_data: self.reason_data.clone(),
            state_updated_timestamp: Some(Timestamp(self.state_updated_ms)),
            metric_name: self.metric_name.clone(),
            namespace: self.namespace.clone(),
            statistic: self.statistic.clone().filter(|_| !percentile),
            extended_statistic: self.statistic.clone().filter(|_| percentile),
            dimensions: Some(
                self.dimensions
                    .iter()
                    .map(|(k, v)| m::Dimension { name: Some(k.clone()), value: Some(v.clone()) })
                    .collect(),
            ),
            period: self.period,
            unit: self.unit.clone(),
            evaluation_periods: Some(self.evaluation_periods),
            datapoints_to_alarm: self.datapoints_to_alarm,
            threshold: Some(self.threshold),
            comparison_operator: Some(self.comparison.clone()),
            treat_missing_data: self.treat_missing.clone(),
            evaluate_low_sample_count_percentile: self.evaluate_low_sample_count_percentile.clone(),
            metrics: self.metrics.clone(),
            state_transitioned_timestamp: Some(Timestamp(self.state_transitioned_ms)),
            ..Default::default()
        }
    }

    fn period_ms(&self) -> i64 {
        let seconds = self.period.or_else(|| {
            let queries = self.metrics.as_ref()?;
            queries.iter().find_map(|q| q.period.or(q.metric_stat.as_ref()?.period))
        });
        seconds.unwrap_or(60).max(1) as i64 * 1000
    }
}

pub(crate) fn alarm_key(scope: &Scope, name: &str) -> String {
    format!("{}/{}/{name}", scope.account, scope.region)
}

const ACTION_PREFIXES: &[&str] = &[
    "arn:aws:sns:",
    "arn:aws:lambda:",
    "arn:aws:autoscaling:",
    "arn:aws:swf:",
    "arn:aws:ssm:",
    "arn:aws:ssm-incidents:",
];

fn check_actions(list: &Option<Vec<String>>, name: &str) -> AwsResult<Vec<String>> {
    let list = list.clone().unwrap_or_default();
    if list.len() > 5 {
        return Err(invalid(format!("The collection {name} must not have a size greater than 5.")));
    }
    for a in &list {
        let ec2 = a.starts_with("arn:aws:automate:")
            && [":ec2:stop", ":ec2:terminate", ":ec2:reboot", ":ec2:recover"].iter().any(|s| a.ends_with(s));
        if !ec2 && !ACTION_PREFIXES.iter().any(|p| a.starts_with(p)) {
            return Err(invalid(format!("Invalid arn syntax: {a}")));
        }
    }
    Ok(list)
}

fn breaches(op: &str, v: f64, threshold: f64) -> bool {
    match op {
        "GreaterThanOrEqualToThreshold" => v >= threshold,
        "GreaterThanThreshold" => v > threshold,
        "LessThanThreshold" => v < threshold,
        _ => v <= threshold,
    }
}

fn op_words(op: &str) -> &'static str {
    match op {
        "GreaterThanOrEqualToThreshold" => "greater than or equal to",
        "GreaterThanThreshold" => "greater than",
        "LessThanThreshold" => "less than",
        _ => "less than or equal to",
    }
}

/// Datapoint times as alarm reasons show them: `07/12/26 02:00:00`.
fn short_date(ms: i64) -> String {
    let iso = iso(ms);
    // 2026-12-07T02:00:00.000Z
    format!("{}/{}/{} {}", &iso[8..10], &iso[5..7], &iso[2..4], &iso[11..19])
}

fn iso(ms: i64) -> String {
    nuage_protocol::time_fmt::iso8601(Timestamp(ms))
}

/// A new state with its reason and reason data.
struct Verdict {
    state: &'static str,
    reason: String,
    data: serde_json::Value,
}

impl CloudWatch {
    pub(crate) async fn put_metric_alarm(&self, scope: &Scope, i: m::PutMetricAlarmInput) -> AwsResult<()> {
        let name = i.alarm_name.clone().unwrap_or_default();
        if i.threshold_metric_id.is_some() || i.comparison_operator.as_deref().is_some_and(|o| o.contains("Band")) {
            return Err(invalid(
                "Anomaly detection alarms (ThresholdMetricId, band comparison operators) are not evaluated by nuage.",
            ));
        }
        if i.evaluation_criteria.is_some()
            || i.evaluation_interval.is_some()
            || i.action_configuration.is_some()
            || i.warm_up_configuration.is_some()
            || i.evaluation_window.is_some()
        {
            return Err(invalid("PromQL alarm evaluation (EvaluationCriteria, EvaluationInterval, EvaluationWindow, WarmUpConfiguration, ActionConfiguration) is not served by nuage."));
        }
        let comparison = i.comparison_operator.clone().unwrap_or_default();
        let threshold = i
            .threshold
            .ok_or_else(|| E::MissingRequiredParameterException.msg("The parameter Threshold is required."))?;
        let n = i.evaluation_periods.unwrap_or_default();
        if n < 1 {
            return Err(invalid("The parameter EvaluationPeriods must be greater than or equal to 1."));
        }
        if let Some(m_) = i.datapoints_to_alarm {
            if m_ < 1 || m_ > n {
                return Err(invalid("DatapointsToAlarm must be between 1 and EvaluationPeriods."));
            }
        }
        let single =
            i.metric_name.is_some() || i.namespace.is_some() || i.statistic.is_some() || i.extended_statistic.is_some();
        let (statistic, period) = match (&i.metrics, single) {
            (Some(_), true) => {
                return Err(E::InvalidParameterCombinationException.msg(
                    "Metrics and MetricName, Namespace, Statistic, ExtendedStatistic cannot be specified together.",
                ))
            }
            (Some(queries), false) => {
                let returned = queries.iter().filter(|q| q.return_data.unwrap_or(true)).count();
                if returned != 1 {
                    return Err(invalid("Exactly one element of the Metrics array must have ReturnData set to true."));
                }
                (None, None)
            }
            (None, _) => {
                if i.metric_name.is_none() || i.namespace.is_none() {
                    return Err(E::MissingRequiredParameterException
                        .msg("MetricName and Namespace are required for an alarm on one metric."));
                }
                let statistic = match (&i.statistic, &i.extended_statistic) {
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(E::InvalidParameterCombinationException
                            .msg("Exactly one of Statistic and ExtendedStatistic must be specified."))
                    }
                    (Some(s), None) => s.clone(),
                    (None, Some(p)) if valid_percentile(p) => p.clone(),
                    (None, Some(p)) => {
                        return Err(invalid(format!("The value {p} for parameter ExtendedStatistic is not supported.")))
                    }
                };
                if !valid_statistic(&statistic) {
                    return Err(invalid(format!("The value {statistic} for parameter Statistic is not supported.")));
                }
                let period = i
                    .period
                    .ok_or_else(|| E::MissingRequiredParameterException.msg("The parameter Period is required."))?;
                check_period(period, "Period")?;
                if [1, 5].contains(&period) {
                    return Err(invalid("The parameter Period must be 10, 20, 30 or a multiple of 60 for an alarm."));
                }
                if period as i64 * n as i64 > 7 * 86_400 {
                    return Err(invalid("The product of EvaluationPeriods and Period must not exceed 7 days."));
                }
                (Some(statistic), Some(period))
            }
        };
        match i.evaluate_low_sample_count_percentile.as_deref() {
            None | Some("evaluate") => {}
            Some("ignore") => {
                return Err(invalid("EvaluateLowSampleCountPercentile ignore is not served by nuage: percentile alarms evaluate every period."))
            }
            Some(other) => return Err(invalid(format!("The value {other} for parameter EvaluateLowSampleCountPercentile is invalid."))),
        }
        if let Some(t) = &i.treat_missing_data {
            if !["breaching", "notBreaching", "ignore", "missing"].contains(&t.as_str()) {
                return Err(invalid(format!("The value {t} for parameter TreatMissingData is invalid.")));
            }
        }
        let now = now_ms();
        let tags: BTreeMap<String, String> = crate::tag_map(&i.tags);
        let alarm = Alarm {
            account: scope.account.clone(),
            region: scope.region.clone(),
            name: name.clone(),
            description: i.alarm_description.clone(),
            actions_enabled: i.actions_enabled.unwrap_or(true),
            ok_actions: check_actions(&i.ok_actions, "OKActions")?,
            alarm_actions: check_actions(&i.alarm_actions, "AlarmActions")?,
            insufficient_data_actions: check_actions(&i.insufficient_data_actions, "InsufficientDataActions")?,
            namespace: i.namespace.clone(),
            metric_name: i.metric_name.clone(),
            dimensions: dimension_set(&i.dimensions.clone().unwrap_or_default()),
            statistic,
            period,
            unit: i.unit.clone(),
            metrics: i.metrics.clone(),
            evaluation_periods: n,
            datapoints_to_alarm: i.datapoints_to_alarm,
            threshold,
            comparison,
            treat_missing: i.treat_missing_data.clone(),
            evaluate_low_sample_count_percentile: i.evaluate_low_sample_count_percentile.clone(),
            state: "INSUFFICIENT_DATA".into(),
            reason: "Unchecked: Initial alarm creation".into(),
            reason_data: None,
            state_updated_ms: now,
            state_transitioned_ms: now,
            configuration_updated_ms: now,
            tags,
        };
        let key = alarm_key(scope, &name);
        let store = self.store.clone();
        let seq = self.next_seq();
        store
            .write(move |w| {
                let old: Option<Alarm> = w.get(ALARMS, &key)?;
                let mut alarm = alarm;
                let summary = match &old {
                    // An update keeps the alarm's state; CloudWatch re-evaluates it.
                    Some(o) => {
                        alarm.state = o.state.clone();
                        alarm.reason = o.reason.clone();
                        alarm.reason_data = o.reason_data.clone();
                        alarm.state_updated_ms = o.state_updated_ms;
                        alarm.state_transitioned_ms = o.state_transitioned_ms;
                        if alarm.tags.is_empty() {
                            alarm.tags = o.tags.clone();
                        }
                        format!("Alarm \"{}\" updated", alarm.name)
                    }
                    None => format!("Alarm \"{}\" created", alarm.name),
                };
                let data = serde_json::json!({"version": "1.0", "type": if old.is_some() { "Update" } else { "Create" },
                    "updatedAlarm": serde_json::to_value(alarm.shape()).unwrap_or_default()});
                history(w, &alarm, now, seq, "ConfigurationUpdate", summary, data)?;
                w.put(ALARMS, &key, &alarm)
            })
            .await
    }

    pub(crate) fn alarms(&self, scope: &Scope) -> AwsResult<Vec<Alarm>> {
        Ok(self
            .store
            .read()?
            .scan::<Alarm>(ALARMS, &format!("{}/{}/", scope.account, scope.region))?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    pub(crate) fn describe_alarms(
        &self,
        scope: &Scope,
        i: m::DescribeAlarmsInput,
    ) -> AwsResult<m::DescribeAlarmsOutput> {
        if i.alarm_names.is_some() && i.alarm_name_prefix.is_some() {
            return Err(E::InvalidParameterCombinationException
                .msg("AlarmNames and AlarmNamePrefix cannot be specified together."));
        }
        if i.children_of_alarm_name.is_some() || i.parents_of_alarm_name.is_some() {
            return Err(invalid("Composite alarms are not served by nuage: ChildrenOfAlarmName and ParentsOfAlarmName have nothing to describe."));
        }
        let types = i.alarm_types.clone().unwrap_or_else(|| vec!["MetricAlarm".into()]);
        let max = i.max_records.unwrap_or(50).clamp(1, 100) as usize;
        let mut list: Vec<Alarm> = self
            .alarms(scope)?
            .into_iter()
            .filter(|_| types.iter().any(|t| t == "MetricAlarm"))
            .filter(|a| i.alarm_names.as_ref().is_none_or(|n| n.contains(&a.name)))
            .filter(|a| i.alarm_name_prefix.as_ref().is_none_or(|p| a.name.starts_with(p.as_str())))
            .filter(|a| i.state_value.as_ref().is_none_or(|s| *s == a.state))
            .filter(|a| {
                i.action_prefix.as_ref().is_none_or(|p| {
                    a.ok_actions
                        .iter()
                        .chain(&a.alarm_actions)
                        .chain(&a.insufficient_data_actions)
                        .any(|x| x.starts_with(p.as_str()))
                })
            })
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        let start = match &i.next_token {
            Some(t) => list.iter().position(|a| a.name > *t).unwrap_or(list.len()),
            None => 0,
        };
        let page: Vec<&Alarm> = list[start..].iter().take(max).collect();
        let next = (start + page.len() < list.len()).then(|| page.last().map(|a| a.name.clone())).flatten();
        Ok(m::DescribeAlarmsOutput {
            metric_alarms: Some(page.iter().map(|a| a.shape()).collect()),
            composite_alarms: Some(Vec::new()),
            log_alarms: None,
            next_token: next,
        })
    }

    pub(crate) fn describe_alarms_for_metric(
        &self,
        scope: &Scope,
        i: m::DescribeAlarmsForMetricInput,
    ) -> AwsResult<m::DescribeAlarmsForMetricOutput> {
        let dims = i.dimensions.as_ref().map(|d| dimension_set(d));
        let statistic = i.statistic.clone().or(i.extended_statistic.clone());
        let list = self
            .alarms(scope)?
            .into_iter()
            .filter(|a| a.metric_name == i.metric_name && a.namespace == i.namespace)
            .filter(|a| dims.as_ref().is_none_or(|d| *d == a.dimensions))
            .filter(|a| statistic.is_none() || a.statistic == statistic)
            .filter(|a| i.period.is_none() || a.period == i.period)
            .filter(|a| i.unit.is_none() || a.unit == i.unit)
            .map(|a| a.shape())
            .collect();
        Ok(m::DescribeAlarmsForMetricOutput { metric_alarms: Some(list) })
    }

    pub(crate) async fn delete_alarms(&self, scope: &Scope, names: Vec<String>) -> AwsResult<()> {
        if names.len() > 100 {
            return Err(invalid("The collection AlarmNames must not have a size greater than 100."));
        }
        let keys: Vec<String> = names.iter().map(|n| alarm_key(scope, n)).collect();
        let snap = self.store.read()?;
        for (k, n) in keys.iter().zip(&names) {
            if snap.get::<Alarm>(ALARMS, k)?.is_none() {
                return Err(E::ResourceNotFound.msg(format!("The named resource does not exist: {n}")));
            }
        }
        drop(snap);
        let prefix = format!("{}/{}/", scope.account, scope.region);
        self.store
            .write(move |w| {
                for k in &keys {
                    w.delete(ALARMS, k)?;
                    let name = &k[prefix.len()..];
                    for (hk, _) in w.scan::<serde_json::Value>(HISTORY, &format!("{prefix}{name}\u{0}"))? {
                        w.delete(HISTORY, &hk)?;
                    }
                }
                Ok(())
            })
            .await
    }

    pub(crate) async fn set_actions_enabled(&self, scope: &Scope, names: Vec<String>, enabled: bool) -> AwsResult<()> {
        let keys: Vec<String> = names.iter().map(|n| alarm_key(scope, n)).collect();
        self.store
            .write(move |w| {
                for k in &keys {
                    if let Some(mut a) = w.get::<Alarm>(ALARMS, k)? {
                        a.actions_enabled = enabled;
                        w.put(ALARMS, k, &a)?;
                    }
                }
                Ok(())
            })
            .await
    }

    pub(crate) async fn set_alarm_state(&self, scope: &Scope, i: m::SetAlarmStateInput) -> AwsResult<()> {
        let name = i.alarm_name.clone().unwrap_or_default();
        let state = i.state_value.clone().unwrap_or_default();
        let data = match &i.state_reason_data {
            Some(d) => serde_json::from_str::<serde_json::Value>(d)
                .map_err(|_| E::InvalidFormatFault.msg("Data was not syntactically valid JSON"))?,
            None => serde_json::Value::Null,
        };
        let alarm = self.store.read()?.get::<Alarm>(ALARMS, &alarm_key(scope, &name))?;
        let alarm = alarm.ok_or_else(|| E::ResourceNotFound.msg(format!("Alarm {name} not found")))?;
        let verdict = Verdict {
            state: match state.as_str() {
                "OK" => "OK",
                "ALARM" => "ALARM",
                _ => "INSUFFICIENT_DATA",
            },
            reason: i.state_reason.clone().unwrap_or_default(),
            data,
        };
        self.transition(alarm, verdict, true).await
    }

    /// Records a state change (if any) with its history and actions.
    async fn transition(&self, alarm: Alarm, v: Verdict, forced: bool) -> AwsResult<()> {
        if alarm.state == v.state && !forced {
            return Ok(());
        }
        let now = now_ms();
        // One sequence number for the state update, one for each action it runs (at most 5).
        let seqs: Vec<u64> = (0..6).map(|_| self.next_seq()).collect();
        let key = alarm_key(&alarm.scope(), &alarm.name);
        self.store
            .write(move |w| {
                let Some(mut a) = w.get::<Alarm>(ALARMS, &key)? else { return Ok(()) };
                let old = serde_json::json!({"stateValue": a.state, "stateReason": a.reason});
                let changed = a.state != v.state;
                a.state = v.state.to_string();
                a.reason = v.reason.clone();
                a.reason_data = (!v.data.is_null()).then(|| v.data.to_string());
                a.state_updated_ms = now;
                if changed {
                    a.state_transitioned_ms = now;
                }
                let mut new_state = serde_json::json!({"stateValue": v.state, "stateReason": v.reason});
                if !v.data.is_null() {
                    new_state["stateReasonData"] = v.data.clone();
                }
                let data = serde_json::json!({"version": "1.0", "oldState": old, "newState": new_state});
                let summary = format!("Alarm updated from {} to {}", old["stateValue"].as_str().unwrap_or_default(), v.state);
                history(w, &a, now, seqs[0], "StateUpdate", summary, data)?;
                let actions = match v.state {
                    "OK" => &a.ok_actions,
                    "ALARM" => &a.alarm_actions,
                    _ => &a.insufficient_data_actions,
                };
                if a.actions_enabled && changed {
                    for (k, arn) in actions.iter().enumerate() {
                        let service = arn.split(':').nth(2).unwrap_or_default();
                        let data = serde_json::json!({"actionState": "Failed", "stateUpdateTimestamp": now, "notificationResource": arn,
                            "error": format!("nuage does not serve {service} yet: the action was not delivered")});
                        history(w, &a, now, seqs[1 + k], "Action", format!("Failed to execute action {arn}"), data)?;
                    }
                }
                w.put(ALARMS, &key, &a)
            })
            .await
    }

    /// The alarm's decision on its last EvaluationPeriods periods.
    fn judge(&self, a: &Alarm, now: i64) -> AwsResult<Option<Verdict>> {
        let p = a.period_ms();
        let n = a.evaluation_periods.max(1) as i64;
        let end = now.div_euclid(p) * p;
        let start = end - n * p;
        let scope = a.scope();
        let series = match &a.metrics {
            Some(queries) => {
                self.evaluate(&scope, queries, start, end)?.into_iter().next().map(|(_, _, s)| s).unwrap_or_default()
            }
            None => {
                let stat = m::MetricStat {
                    metric: Some(m::Metric {
                        namespace: a.namespace.clone(),
                        metric_name: a.metric_name.clone(),
                        dimensions: Some(
                            a.dimensions
                                .iter()
                                .map(|(k, v)| m::Dimension { name: Some(k.clone()), value: Some(v.clone()) })
                                .collect(),
                        ),
                    }),
                    period: a.period,
                    stat: a.statistic.clone(),
                    unit: a.unit.clone(),
                };
                self.stat_series(&scope, &stat, start, end)?.0
            }
        };
        let points: Vec<(i64, Option<f64>)> =
            (0..n).map(|k| start + k * p).map(|t| (t, series.get(&t).copied())).collect();
        let treat = a.treat_missing.as_deref().unwrap_or("missing");
        let present: Vec<(i64, f64)> = points.iter().filter_map(|(t, v)| v.map(|v| (*t, v))).collect();
        if present.is_empty() && matches!(treat, "missing" | "ignore") {
            if treat == "ignore" {
                return Ok(None);
            }
            let data = serde_json::json!({"version": "1.0", "queryDate": iso(now), "startDate": iso(start), "period": p / 1000,
                "recentDatapoints": [], "threshold": a.threshold});
            return Ok(Some(Verdict {
                state: "INSUFFICIENT_DATA",
                reason: format!("Insufficient Data: {n} datapoints were unknown."),
                data,
            }));
        }
        let breaching: Vec<bool> = points
            .iter()
            .filter_map(|(_, v)| match (v, treat) {
                (Some(v), _) => Some(breaches(&a.comparison, *v, a.threshold)),
                (None, "breaching") => Some(true),
                (None, "notBreaching") => Some(false),
                (None, _) => None,
            })
            .collect();
        let count = breaching.iter().filter(|b| **b).count();
        let needed = a.datapoints_to_alarm.unwrap_or(a.evaluation_periods).max(1) as usize;
        let recent: Vec<f64> = present.iter().rev().map(|(_, v)| *v).collect();
        let shown: Vec<String> = present.iter().rev().map(|(t, v)| format!("{v:?} ({})", short_date(*t))).collect();
        let data = serde_json::json!({"version": "1.0", "queryDate": iso(now), "startDate": iso(start),
            "statistic": a.statistic, "period": p / 1000, "recentDatapoints": recent, "threshold": a.threshold,
            "evaluatedDatapoints": present.iter().rev().map(|(t, v)| serde_json::json!({"timestamp": iso(*t), "value": v})).collect::<Vec<_>>()});
        let words = op_words(&a.comparison);
        Ok(Some(if count >= needed {
            Verdict {
                state: "ALARM",
                reason: format!(
                    "Threshold Crossed: {count} out of the last {} datapoints [{}] were {words} the threshold ({:?}) (minimum {needed} datapoint{} for OK -> ALARM transition).",
                    breaching.len(),
                    shown.join(", "),
                    a.threshold,
                    if needed == 1 { "" } else { "s" }
                ),
                data,
            }
        } else {
            Verdict {
                state: "OK",
                reason: format!(
                    "Threshold Crossed: {} out of the last {} datapoints [{}] were not {words} the threshold ({:?}) (minimum 1 datapoint for ALARM -> OK transition).",
                    breaching.len() - count,
                    breaching.len(),
                    shown.join(", "),
                    a.threshold
                ),
                data,
            }
        }))
    }

    /// One evaluation of every alarm.
    pub(crate) async fn evaluate_alarms(&self) -> AwsResult<usize> {
        let alarms: Vec<Alarm> = self.store.read()?.scan::<Alarm>(ALARMS, "")?.into_iter().map(|(_, a)| a).collect();
        let now = now_ms();
        let mut changed = 0;
        for a in alarms {
            match self.judge(&a, now) {
                Ok(Some(v)) if v.state != a.state => {
                    self.transition(a, v, false).await?;
                    changed += 1;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(alarm = %a.name, error = %e, "alarm evaluation failed"),
            }
        }
        Ok(changed)
    }

    pub(crate) fn describe_alarm_history(
        &self,
        scope: &Scope,
        i: m::DescribeAlarmHistoryInput,
    ) -> AwsResult<m::DescribeAlarmHistoryOutput> {
        if i.alarm_types.as_ref().is_some_and(|t| !t.iter().any(|x| x == "MetricAlarm")) {
            return Ok(m::DescribeAlarmHistoryOutput { alarm_history_items: Some(Vec::new()), next_token: None });
        }
        let prefix = match &i.alarm_name {
            Some(n) => format!("{}/{}/{n}\u{0}", scope.account, scope.region),
            None => format!("{}/{}/", scope.account, scope.region),
        };
        let mut items: Vec<(String, HistoryItem)> = self.store.read()?.scan::<HistoryItem>(HISTORY, &prefix)?;
        items.retain(|(_, h)| i.history_item_type.as_ref().is_none_or(|t| *t == h.kind));
        items.retain(|(_, h)| i.start_date.is_none_or(|s| h.at_ms >= s.0) && i.end_date.is_none_or(|e| h.at_ms <= e.0));
        items.sort_by(|a, b| (a.1.at_ms, &a.0).cmp(&(b.1.at_ms, &b.0)));
        match i.scan_by.as_deref() {
            None | Some("TimestampDescending") => items.reverse(),
            Some("TimestampAscending") => {}
            Some(other) => return Err(invalid(format!("The value {other} for parameter ScanBy is invalid."))),
        }
        let max = i.max_records.unwrap_or(100).clamp(1, 100) as usize;
        let skip: usize = match &i.next_token {
            Some(t) => t.parse().map_err(|_| E::InvalidNextToken.msg("The NextToken is invalid."))?,
            None => 0,
        };
        let page: Vec<m::AlarmHistoryItem> = items
            .iter()
            .skip(skip)
            .take(max)
            .map(|(_, h)| m::AlarmHistoryItem {
                alarm_name: Some(h.alarm.clone()),
                alarm_type: Some("MetricAlarm".into()),
                timestamp: Some(Timestamp(h.at_ms)),
                history_item_type: Some(h.kind.clone()),
                history_summary: Some(h.summary.clone()),
                history_data: Some(h.data.clone()),
                ..Default::default()
            })
            .collect();
        let next = (skip + page.len() < items.len()).then(|| (skip + page.len()).to_string());
        Ok(m::DescribeAlarmHistoryOutput { alarm_history_items: Some(page), next_token: next })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HistoryItem {
    alarm: String,
    at_ms: i64,
    kind: String,
    summary: String,
    data: String,
}

fn history(
    w: &nuage_storage::WriteCtx<'_>,
    a: &Alarm,
    at_ms: i64,
    seq: u64,
    kind: &str,
    summary: String,
    data: serde_json::Value,
) -> Result<(), AwsError> {
    let key = format!("{}/{}/{}\u{0}{at_ms:020}{seq:020}", a.account, a.region, a.name);
    w.put(
        HISTORY,
        &key,
        &HistoryItem { alarm: a.name.clone(), at_ms, kind: kind.into(), summary, data: data.to_string() },
    )
}
