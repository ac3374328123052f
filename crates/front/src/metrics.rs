//! Metrics a service publishes to CloudWatch on its accounts' behalf, as AWS services do in
//! their `AWS/...` namespaces: samples folded per minute in memory, then sent as statistic
//! sets through the front door by the account's root, the service named as the caller's way in.
use crate::Frontend;
use nuage_core::AwsResult;
use nuage_protocol::cloudwatch as cw;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// (account, region, metric, dimensions, minute, unit) → (samples, sum, min, max).
type Folded = BTreeMap<(String, String, &'static str, Vec<(String, String)>, i64, &'static str), (f64, f64, f64, f64)>;

/// Samples of one service's metrics, folded per minute until published.
#[derive(Default)]
pub struct MetricFolder {
    folded: Mutex<Folded>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl MetricFolder {
    /// One sample of `metric` with `dims` in the current minute.
    pub fn record(
        &self,
        account: &str,
        region: &str,
        metric: &'static str,
        mut dims: Vec<(String, String)>,
        value: f64,
        unit: &'static str,
    ) {
        dims.sort();
        let minute = now_ms().div_euclid(60_000) * 60_000;
        let mut f = self.folded.lock().unwrap_or_else(|e| e.into_inner());
        let e = f.entry((account.to_string(), region.to_string(), metric, dims, minute, unit)).or_insert((
            0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ));
        *e = (e.0 + 1.0, e.1 + value, e.2.min(value), e.3.max(value));
    }

    /// What was folded since the last call, as metric data by account and region.
    pub fn drain(&self) -> BTreeMap<(String, String), Vec<cw::MetricDatum>> {
        let folded = std::mem::take(&mut *self.folded.lock().unwrap_or_else(|e| e.into_inner()));
        let mut out: BTreeMap<(String, String), Vec<cw::MetricDatum>> = BTreeMap::new();
        for ((account, region, metric, dims, minute, unit), stats) in folded {
            out.entry((account, region)).or_default().push(nuage_protocol::folded_datum(
                metric.to_string(),
                dims,
                minute,
                stats,
                Some(unit.to_string()),
            ));
        }
        out
    }

    /// Publishes what was folded into `namespace`, as each account's root by way of `via`.
    pub async fn publish(&self, frontend: &Frontend, namespace: &str, via: &str) -> AwsResult<()> {
        for ((account, region), data) in self.drain() {
            publish(frontend, &account, &region, namespace, via, data).await?;
        }
        Ok(())
    }
}

/// Sends `data` to CloudWatch as `account`'s root, in PutMetricData's batches of 1000.
pub async fn publish(
    frontend: &Frontend,
    account: &str,
    region: &str,
    namespace: &str,
    via: &str,
    data: Vec<cw::MetricDatum>,
) -> AwsResult<()> {
    let Some(root) = frontend.identities.root(account) else { return Ok(()) };
    for chunk in data.chunks(1000) {
        let input = cw::PutMetricDataInput {
            namespace: Some(namespace.to_string()),
            metric_data: Some(chunk.to_vec()),
            ..Default::default()
        };
        frontend.call_via(root.clone(), region, Some(via), input).await?;
    }
    Ok(())
}
