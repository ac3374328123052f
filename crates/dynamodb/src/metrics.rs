//! DynamoDB's CloudWatch metrics (namespace `AWS/DynamoDB`): consumed read and write capacity
//! per table and global secondary index, throttled requests and throttle events, and each
//! provisioned table's capacity, folded per minute in memory and published to CloudWatch
//! through the front door, as the table's account, every publication interval.
use nuage_core::AwsError;
use nuage_protocol::cloudwatch as cw;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// (account, region, metric, dimensions, minute) → (samples, sum, min, max).
type Folded = BTreeMap<(String, String, &'static str, Vec<(String, String)>, i64), (f64, f64, f64, f64)>;

#[derive(Default)]
pub struct Metrics {
    folded: Mutex<Folded>,
}

fn minute_now() -> i64 {
    crate::now_ms().div_euclid(60_000) * 60_000
}

impl Metrics {
    /// One sample of `metric` for `table` (and its GSI, when given) in the current minute.
    pub fn record(
        &self,
        table: &crate::table::Table,
        index: Option<&str>,
        metric: &'static str,
        value: f64,
        extra: Option<(&str, &str)>,
    ) {
        let mut dims = vec![("TableName".to_string(), table.name.clone())];
        if let Some(ix) = index {
            dims.push(("GlobalSecondaryIndexName".into(), ix.to_string()));
        }
        if let Some((k, v)) = extra {
            dims.push((k.to_string(), v.to_string()));
        }
        dims.sort();
        if let Ok(mut f) = self.folded.lock() {
            let e = f.entry((table.account.clone(), table.region.clone(), metric, dims, minute_now())).or_insert((
                0.0,
                0.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ));
            *e = (e.0 + 1.0, e.1 + value, e.2.min(value), e.3.max(value));
        }
    }

    /// What was folded since the last call, as PutMetricData inputs by account and region.
    pub fn drain(&self) -> BTreeMap<(String, String), Vec<cw::MetricDatum>> {
        let folded = match self.folded.lock() {
            Ok(mut f) => std::mem::take(&mut *f),
            Err(_) => return BTreeMap::new(),
        };
        let mut out: BTreeMap<(String, String), Vec<cw::MetricDatum>> = BTreeMap::new();
        for ((account, region, metric, dims, minute), (n, sum, min, max)) in folded {
            out.entry((account, region)).or_default().push(nuage_protocol::folded_datum(
                metric.to_string(),
                dims,
                minute,
                (n, sum, min, max),
                Some("Count".into()),
            ));
        }
        out
    }
}

impl crate::DynamoDb {
    /// Publishes the folded metrics, and each provisioned table's capacity, every `interval`.
    pub async fn run_metrics(self: std::sync::Arc<Self>, interval: std::time::Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.publish_metrics().await {
                tracing::warn!(error = %e.message, "DynamoDB metrics could not be published to CloudWatch");
            }
        }
    }

    async fn publish_metrics(&self) -> Result<(), AwsError> {
        let tables: Vec<(String, crate::table::Table)> = self.store.read()?.scan(crate::TABLES, "")?;
        for (_, t) in tables.iter().filter(|(_, t)| !t.on_demand) {
            self.metrics.record(t, None, "ProvisionedReadCapacityUnits", t.rcu as f64, None);
            self.metrics.record(t, None, "ProvisionedWriteCapacityUnits", t.wcu as f64, None);
        }
        let batches = self.metrics.drain();
        if batches.is_empty() {
            return Ok(());
        }
        let f = self.internal.frontend()?;
        for ((account, region), data) in batches {
            let Some(root) = f.identities.root(&account) else { continue };
            for chunk in data.chunks(1000) {
                let input = cw::PutMetricDataInput {
                    namespace: Some("AWS/DynamoDB".into()),
                    metric_data: Some(chunk.to_vec()),
                    ..Default::default()
                };
                f.call_via(root.clone(), &region, Some("dynamodb.amazonaws.com"), input).await?;
            }
        }
        Ok(())
    }
}
