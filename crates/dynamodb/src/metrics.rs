//! DynamoDB's CloudWatch metrics (namespace `AWS/DynamoDB`): consumed read and write capacity
//! per table and global secondary index, throttled requests and throttle events, and each
//! provisioned table's capacity, folded per minute in memory and published to CloudWatch
//! through the front door, as the table's account, every publication interval.
use nuage_core::AwsError;
use nuage_front::metrics::MetricFolder;

#[derive(Default)]
pub struct Metrics {
    folder: MetricFolder,
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
        self.folder.record(&table.account, &table.region, metric, dims, value, "Count");
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
        let f = self.internal.frontend()?;
        self.metrics.folder.publish(&f, "AWS/DynamoDB", "dynamodb.amazonaws.com").await?;
        Ok(())
    }
}
