//! Metrics: PutMetricData with CloudWatch's rules (namespaces, dimensions, values, statistic
//! sets, value/count arrays, timestamps two weeks back to two hours ahead, storage
//! resolution), each datum kept with its timestamp; GetMetricStatistics and the statistics
//! GetMetricData and alarms read, computed per period from the stored data; ListMetrics.
use crate::{invalid, now_ms, CloudWatch, Scope, E, METRICS, POINTS};
use nuage_core::{AwsError, AwsResult};
use nuage_protocol::cloudwatch as m;
use nuage_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ops::Bound;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A metric: its identity (namespace, name, dimension set) and the id its data is kept under.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MetricInfo {
    pub namespace: String,
    pub name: String,
    /// Sorted by name, as CloudWatch treats a dimension set.
    pub dimensions: Vec<(String, String)>,
    pub id: [u8; 16],
    pub last_put_ms: i64,
}

/// One stored datum: its statistic set, and the values themselves when they were sent (for
/// percentiles).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Point {
    n: f64,
    sum: f64,
    min: f64,
    max: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    values: Vec<(f64, f64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
}

/// A datum with its timestamp.
type Timed = (i64, Point);

/// The statistics of one period.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    pub n: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// Every value with its count, when all the period's data came with values.
    pub values: Option<Vec<(f64, f64)>>,
    pub unit: Option<String>,
}

impl Bucket {
    fn add(&mut self, p: Point) {
        if self.n == 0.0 {
            self.min = p.min;
            self.max = p.max;
            self.values = Some(Vec::new());
        } else {
            self.min = self.min.min(p.min);
            self.max = self.max.max(p.max);
        }
        self.n += p.n;
        self.sum += p.sum;
        match (&mut self.values, p.values.is_empty()) {
            (Some(v), false) => v.extend(p.values),
            _ => self.values = None,
        }
        if self.unit.is_none() {
            self.unit = p.unit;
        }
    }

    /// A statistic by its name: SampleCount, Average, Sum, Minimum, Maximum, or pNN(.NN).
    pub fn statistic(&self, stat: &str) -> Option<f64> {
        if self.n == 0.0 {
            return None;
        }
        match stat {
            "SampleCount" => Some(self.n),
            "Average" => Some(self.sum / self.n),
            "Sum" => Some(self.sum),
            "Minimum" => Some(self.min),
            "Maximum" => Some(self.max),
            p => {
                let pct: f64 = p.strip_prefix('p')?.parse().ok()?;
                let mut v = self.values.clone()?;
                v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
                // Nearest rank over the values weighted by their counts.
                let total: f64 = v.iter().map(|(_, c)| c).sum();
                let rank = (pct / 100.0 * total).ceil().max(1.0);
                let mut seen = 0.0;
                for (x, c) in &v {
                    seen += c;
                    if seen >= rank {
                        return Some(*x);
                    }
                }
                v.last().map(|(x, _)| *x)
            }
        }
    }
}

/// Whether a statistic name is one CloudWatch computes (`pNN` up to two decimals).
pub(crate) fn valid_statistic(s: &str) -> bool {
    matches!(s, "SampleCount" | "Average" | "Sum" | "Minimum" | "Maximum") || valid_percentile(s)
}

pub(crate) fn valid_percentile(s: &str) -> bool {
    s.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()).is_some_and(|p| (0.0..=100.0).contains(&p))
        && s[1..].split('.').nth(1).is_none_or(|d| d.len() <= 2)
}

/// A dimension set as CloudWatch compares it: sorted by name.
pub(crate) fn dimension_set(dims: &[m::Dimension]) -> Vec<(String, String)> {
    let mut d: Vec<(String, String)> =
        dims.iter().map(|d| (d.name.clone().unwrap_or_default(), d.value.clone().unwrap_or_default())).collect();
    d.sort();
    d
}

pub(crate) fn metric_key(scope: &Scope, namespace: &str, name: &str, dims: &[(String, String)]) -> String {
    let d: Vec<String> = dims.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{}/{}/{namespace}\u{0}{name}\u{0}{}", scope.account, scope.region, d.join("\u{1}"))
}

fn metric_id(key: &str) -> [u8; 16] {
    let h = Sha256::digest(key.as_bytes());
    h[..16].try_into().expect("16 bytes of a digest")
}

fn ts_bytes(ts: i64) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

fn check_value(v: f64, at: &str) -> AwsResult<()> {
    // CloudWatch rejects values too small or too large to keep (and NaN, infinities).
    if !v.is_finite() || (v != 0.0 && !(8.515920e-109..=1.174271e+108).contains(&v.abs())) {
        return Err(invalid(format!("The value {v} for parameter {at} is invalid.")));
    }
    Ok(())
}

/// An entity's key attributes as CloudWatch requires them: a Type of Service (with Name and
/// Environment) or Resource (with ResourceType and Identifier).
fn check_entity(e: Option<&m::Entity>, n: usize) -> AwsResult<()> {
    let keys = e.and_then(|e| e.key_attributes.clone()).unwrap_or_default();
    let needed: &[&str] = match keys.get("Type").map(String::as_str) {
        Some("Service" | "AWS::Service") => &["Name", "Environment"],
        Some("Resource" | "AWS::Resource") => &["ResourceType", "Identifier"],
        _ => &["Type"],
    };
    match needed.iter().find(|k| !keys.contains_key(**k) || keys["Type"].is_empty()) {
        Some(k) => Err(invalid(format!("EntityMetricData.member.{n}.Entity.KeyAttributes is invalid: it needs {k}."))),
        None => Ok(()),
    }
}

fn combination(msg: impl Into<String>) -> AwsError {
    E::InvalidParameterCombinationException.msg(msg)
}

impl CloudWatch {
    /// `by_service`: the data comes from an AWS service (its own `AWS/` namespace allowed).
    pub(crate) async fn put_metric_data(
        &self,
        scope: &Scope,
        i: m::PutMetricDataInput,
        by_service: bool,
    ) -> AwsResult<()> {
        let namespace = i.namespace.clone().unwrap_or_default();
        if namespace.starts_with("AWS/") && !by_service {
            return Err(invalid(format!(
                "The value {namespace} for parameter Namespace is invalid. Namespaces beginning with AWS/ are reserved for AWS services."
            )));
        }
        let mut data = i.metric_data.unwrap_or_default();
        // Entity metric data: the same data, associated with an entity (which nuage checks
        // when asked to, but does not keep: no API reads it back).
        for (n, e) in i.entity_metric_data.unwrap_or_default().into_iter().enumerate() {
            if i.strict_entity_validation == Some(true) {
                check_entity(e.entity.as_ref(), n + 1)?;
            }
            data.extend(e.metric_data.unwrap_or_default());
        }
        if data.is_empty() {
            return Err(E::MissingRequiredParameterException.msg("The parameter MetricData is required."));
        }
        if data.len() > 1000 {
            return Err(invalid("The collection MetricData must not have a size greater than 1000."));
        }
        let now = now_ms();
        let mut rows: Vec<(String, MetricInfo, Vec<Timed>)> = Vec::new();
        for (n, d) in data.into_iter().enumerate() {
            let at = |field: &str| format!("MetricData.member.{}.{field}", n + 1);
            let name = d.metric_name.clone().unwrap_or_default();
            if name.is_empty() {
                return Err(E::MissingRequiredParameterException
                    .msg(format!("The parameter {} is required.", at("MetricName"))));
            }
            let dims = d.dimensions.clone().unwrap_or_default();
            if dims.len() > 30 {
                return Err(invalid(format!(
                    "The collection {} must not have a size greater than 30.",
                    at("Dimensions")
                )));
            }
            let dims = dimension_set(&dims);
            if dims.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(invalid(format!("No metric may have duplicate dimension names ({}).", at("Dimensions"))));
            }
            let ts = d.timestamp.map(|t| t.0).unwrap_or(now);
            if ts > now + 2 * HOUR_MS {
                return Err(invalid(format!(
                    "The parameter {} must specify a time no more than two hours in the future.",
                    at("Timestamp")
                )));
            }
            if ts < now - 14 * DAY_MS {
                return Err(invalid(format!(
                    "The parameter {} must specify a time within the past two weeks.",
                    at("Timestamp")
                )));
            }
            if let Some(r) = d.storage_resolution {
                if r != 1 && r != 60 {
                    return Err(invalid(format!(
                        "The value {r} for parameter {} is invalid.",
                        at("StorageResolution")
                    )));
                }
            }
            let forms =
                [d.value.is_some(), d.statistic_values.is_some(), d.values.as_ref().is_some_and(|v| !v.is_empty())];
            let point = match forms {
                [true, false, false] => {
                    let v = d.value.unwrap_or_default();
                    check_value(v, &at("Value"))?;
                    Point { n: 1.0, sum: v, min: v, max: v, values: vec![(v, 1.0)], unit: None }
                }
                [false, true, false] => {
                    let s = d.statistic_values.clone().unwrap_or_default();
                    let (Some(n), Some(sum), Some(min), Some(max)) = (s.sample_count, s.sum, s.minimum, s.maximum)
                    else {
                        return Err(E::MissingRequiredParameterException.msg(format!(
                            "The parameter {} must have SampleCount, Sum, Minimum and Maximum.",
                            at("StatisticValues")
                        )));
                    };
                    for (v, f) in [(sum, "Sum"), (min, "Minimum"), (max, "Maximum")] {
                        check_value(v, &at(&format!("StatisticValues.{f}")))?;
                    }
                    if n <= 0.0 || min > max {
                        return Err(invalid(format!("The values of {} are not consistent.", at("StatisticValues"))));
                    }
                    Point { n, sum, min, max, values: Vec::new(), unit: None }
                }
                [false, false, true] => {
                    let values = d.values.clone().unwrap_or_default();
                    if values.len() > 150 {
                        return Err(invalid(format!(
                            "The collection {} must not have a size greater than 150.",
                            at("Values")
                        )));
                    }
                    let counts = d.counts.clone().unwrap_or_else(|| vec![1.0; values.len()]);
                    if counts.len() != values.len() {
                        return Err(combination(format!(
                            "The parameters {} and {} must be of the same size.",
                            at("Values"),
                            at("Counts")
                        )));
                    }
                    for v in &values {
                        check_value(*v, &at("Values"))?;
                    }
                    let pairs: Vec<(f64, f64)> = values.into_iter().zip(counts).collect();
                    let n: f64 = pairs.iter().map(|(_, c)| c).sum();
                    let sum = pairs.iter().map(|(v, c)| v * c).sum();
                    let min = pairs.iter().map(|(v, _)| *v).fold(f64::INFINITY, f64::min);
                    let max = pairs.iter().map(|(v, _)| *v).fold(f64::NEG_INFINITY, f64::max);
                    Point { n, sum, min, max, values: pairs, unit: None }
                }
                [false, false, false] => {
                    return Err(E::MissingRequiredParameterException.msg(format!(
                        "One of {}, {} or {} is required.",
                        at("Value"),
                        at("StatisticValues"),
                        at("Values")
                    )))
                }
                _ => {
                    return Err(combination(format!(
                        "The parameters {}, {} and {} are mutually exclusive and you have specified more than one.",
                        at("Value"),
                        at("StatisticValues"),
                        at("Values")
                    )))
                }
            };
            let point = Point { unit: d.unit.clone().filter(|u| u != "None"), ..point };
            let key = metric_key(scope, &namespace, &name, &dims);
            match rows.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, points)) => points.push((ts, point)),
                None => {
                    let info = MetricInfo {
                        namespace: namespace.clone(),
                        name,
                        dimensions: dims,
                        id: metric_id(&key),
                        last_put_ms: now,
                    };
                    rows.push((key, info, vec![(ts, point)]));
                }
            }
        }
        let sequence = &self.sequence;
        let mut encoded = Vec::new();
        for (key, info, points) in rows {
            let mut kv = Vec::with_capacity(points.len());
            for (ts, p) in points {
                let seq = sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let k = [info.id.as_slice(), &ts_bytes(ts), &seq.to_be_bytes()].concat();
                kv.push((k, serde_json::to_vec(&p).map_err(AwsError::internal)?));
            }
            encoded.push((key, info, kv));
        }
        self.store
            .write(move |w| {
                for (key, info, kv) in encoded {
                    w.put(METRICS, &key, &info)?;
                    for (k, v) in kv {
                        w.put_bytes(POINTS, &k, v);
                    }
                }
                Ok(())
            })
            .await
    }

    /// The metric with exactly these dimensions, if it has data.
    pub(crate) fn metric(
        &self,
        scope: &Scope,
        namespace: &str,
        name: &str,
        dims: &[(String, String)],
    ) -> AwsResult<Option<MetricInfo>> {
        self.store.read()?.get(METRICS, &metric_key(scope, namespace, name, dims))
    }

    /// The metric's statistics per period over `[start, end)`, periods counted from `start`:
    /// period start → bucket. Only data of `unit` counts when one is given.
    pub(crate) fn buckets(
        &self,
        metric: &MetricInfo,
        start: i64,
        end: i64,
        period_ms: i64,
        unit: Option<&str>,
    ) -> AwsResult<BTreeMap<i64, Bucket>> {
        let lower = [metric.id.as_slice(), &ts_bytes(start)].concat();
        let upper = [metric.id.as_slice(), &ts_bytes(end)].concat();
        let mut out: BTreeMap<i64, Bucket> = BTreeMap::new();
        self.store.read()?.range_bytes(
            POINTS,
            Bound::Included(&lower[..]),
            Bound::Excluded(&upper[..]),
            true,
            |k, v| {
                let ts = i64::from_be_bytes(k[16..24].try_into().unwrap_or_default()) ^ i64::MIN;
                let p: Point = serde_json::from_slice(v).map_err(AwsError::internal)?;
                if unit.is_some_and(|u| p.unit.as_deref().unwrap_or("None") != u) {
                    return Ok(true);
                }
                out.entry(start + (ts - start).div_euclid(period_ms) * period_ms).or_default().add(p);
                Ok(true)
            },
        )?;
        Ok(out)
    }

    pub(crate) fn get_metric_statistics(
        &self,
        scope: &Scope,
        i: m::GetMetricStatisticsInput,
    ) -> AwsResult<m::GetMetricStatisticsOutput> {
        let statistics = i.statistics.clone().unwrap_or_default();
        let extended = i.extended_statistics.clone().unwrap_or_default();
        if statistics.is_empty() && extended.is_empty() {
            return Err(combination("Must specify either Statistics or ExtendedStatistics, but not both."));
        }
        if let Some(bad) = extended.iter().find(|s| !valid_percentile(s)) {
            return Err(invalid(format!("The value {bad} for parameter ExtendedStatistics is not supported.")));
        }
        let (start, end) = (i.start_time.map(|t| t.0).unwrap_or_default(), i.end_time.map(|t| t.0).unwrap_or_default());
        let period = check_period(i.period.unwrap_or_default(), "Period")?;
        if start >= end {
            return Err(invalid("The parameter StartTime must be less than the parameter EndTime."));
        }
        let points = (end - start + period * 1000 - 1) / (period * 1000);
        if points > 1440 {
            return Err(combination(format!(
                "You have requested up to {points} datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            )));
        }
        let name = i.metric_name.clone().unwrap_or_default();
        let dims = dimension_set(&i.dimensions.clone().unwrap_or_default());
        let mut out = m::GetMetricStatisticsOutput { label: Some(name.clone()), datapoints: Some(Vec::new()) };
        let Some(metric) = self.metric(scope, &i.namespace.clone().unwrap_or_default(), &name, &dims)? else {
            return Ok(out);
        };
        let period_ms = period * 1000;
        let first = period_origin(start, period_ms);
        for (at, b) in self.buckets(&metric, first, end, period_ms, i.unit.as_deref())? {
            let stat = |s: &str| if statistics.iter().any(|x| x == s) { b.statistic(s) } else { None };
            let ext: BTreeMap<String, f64> =
                extended.iter().filter_map(|p| b.statistic(p).map(|v| (p.clone(), v))).collect();
            out.datapoints.get_or_insert_with(Vec::new).push(m::Datapoint {
                timestamp: Some(Timestamp(at)),
                sample_count: stat("SampleCount"),
                average: stat("Average"),
                sum: stat("Sum"),
                minimum: stat("Minimum"),
                maximum: stat("Maximum"),
                unit: Some(i.unit.clone().or(b.unit.clone()).unwrap_or_else(|| "None".into())),
                extended_statistics: (!ext.is_empty()).then_some(ext),
            });
        }
        Ok(out)
    }

    pub(crate) fn list_metrics(&self, scope: &Scope, i: m::ListMetricsInput) -> AwsResult<m::ListMetricsOutput> {
        let recent = match i.recently_active.as_deref() {
            None => None,
            Some("PT3H") => Some(now_ms() - 3 * HOUR_MS),
            Some(other) => return Err(invalid(format!("The value {other} for parameter RecentlyActive is invalid."))),
        };
        // Metrics of linked accounts (cross-account observability): none are linked here.
        if i.owning_account.as_ref().is_some_and(|a| *a != scope.account) {
            return Ok(m::ListMetricsOutput { metrics: Some(Vec::new()), next_token: None, owning_accounts: None });
        }
        let prefix = format!("{}/{}/", scope.account, scope.region);
        let filters = i.dimensions.clone().unwrap_or_default();
        let mut found: Vec<(String, MetricInfo)> = self
            .store
            .read()?
            .scan::<MetricInfo>(METRICS, &prefix)?
            .into_iter()
            .filter(|(_, mi)| i.namespace.as_ref().is_none_or(|n| *n == mi.namespace))
            .filter(|(_, mi)| i.metric_name.as_ref().is_none_or(|n| *n == mi.name))
            .filter(|(_, mi)| recent.is_none_or(|r| mi.last_put_ms >= r))
            .filter(|(_, mi)| now_ms() - mi.last_put_ms <= 14 * DAY_MS)
            .filter(|(_, mi)| {
                filters.iter().all(|f| {
                    mi.dimensions
                        .iter()
                        .any(|(k, v)| Some(k) == f.name.as_ref() && f.value.as_ref().is_none_or(|fv| fv == v))
                })
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let start = match &i.next_token {
            Some(t) => found.iter().position(|(k, _)| k > t).unwrap_or(found.len()),
            None => 0,
        };
        let page: Vec<&(String, MetricInfo)> = found[start..].iter().take(500).collect();
        let next = (start + page.len() < found.len()).then(|| page.last().map(|(k, _)| k.clone())).flatten();
        Ok(m::ListMetricsOutput {
            metrics: Some(page.iter().map(|(_, mi)| metric_shape(mi)).collect()),
            next_token: next,
            owning_accounts: (i.include_linked_accounts == Some(true)).then(|| vec![scope.account.clone(); page.len()]),
        })
    }
}

pub(crate) fn metric_shape(mi: &MetricInfo) -> m::Metric {
    m::Metric {
        namespace: Some(mi.namespace.clone()),
        metric_name: Some(mi.name.clone()),
        dimensions: Some(
            mi.dimensions.iter().map(|(k, v)| m::Dimension { name: Some(k.clone()), value: Some(v.clone()) }).collect(),
        ),
    }
}

/// Where a query's periods start: its start time, rounded down to the minute for periods of a
/// minute or more (to the second otherwise), as CloudWatch aligns datapoints.
pub(crate) fn period_origin(start: i64, period_ms: i64) -> i64 {
    let grain = if period_ms >= 60_000 { 60_000 } else { 1000 };
    start.div_euclid(grain) * grain
}

/// A period in seconds: 1, 5, 10, 20 or 30 (high resolution), or a multiple of 60.
pub(crate) fn check_period(p: i32, name: &str) -> AwsResult<i64> {
    if p < 1 || (p >= 60 && p % 60 != 0) || (p < 60 && ![1, 5, 10, 20, 30].contains(&p)) {
        return Err(invalid(format!("The parameter {name} must be 1, 5, 10, 20, 30, or a multiple of 60.")));
    }
    Ok(p as i64)
}
