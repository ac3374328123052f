//! Redshift's CloudWatch metrics (namespace `AWS/Redshift`, dimension ClusterIdentifier), as a
//! provisioned cluster publishes them, for each available cluster every publication interval:
//! DatabaseConnections (its open sessions), HealthStatus (1: it answers queries),
//! MaintenanceMode (0: nuage never takes a cluster down for maintenance), and, by `latency`
//! (short: under 10 s, medium: up to 10 min, long: more), QueriesCompletedPerSecond and
//! QueryDuration (microseconds) of the queries finished since the last publication.
use crate::{ClusterRecord, Redshift, CLUSTERS};
use nuage_core::AwsResult;
use nuage_front::metrics::MetricFolder;
use std::collections::HashMap;

/// The latency class Redshift files a query's metrics under.
fn latency(duration_us: i64) -> &'static str {
    match duration_us {
        d if d < 10_000_000 => "short",
        d if d <= 600_000_000 => "medium",
        _ => "long",
    }
}

impl Redshift {
    /// Publishes the clusters' metrics every `interval`.
    pub async fn run_metrics(self: std::sync::Arc<Self>, interval: std::time::Duration) {
        let folder = MetricFolder::default();
        // The last query of each cluster already counted.
        let mut counted: HashMap<String, i64> = HashMap::new();
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.metrics_pass(&folder, &mut counted, interval).await {
                tracing::warn!(error = %e.message, "Redshift metrics could not be published to CloudWatch");
            }
        }
    }

    async fn metrics_pass(
        &self,
        folder: &MetricFolder,
        counted: &mut HashMap<String, i64>,
        interval: std::time::Duration,
    ) -> AwsResult<()> {
        let clusters: Vec<(String, ClusterRecord)> = self.store.read()?.scan(CLUSTERS, "")?;
        for (_, c) in clusters.iter().filter(|(_, c)| c.status == "available") {
            let Some(wh) = self.warehouse(c) else { continue };
            let dims = || vec![("ClusterIdentifier".to_string(), c.identifier.clone())];
            let record = |metric, dims, value, unit| folder.record(&c.account, &c.region, metric, dims, value, unit);
            record("DatabaseConnections", dims(), wh.sessions().len() as f64, "Count");
            record("HealthStatus", dims(), 1.0, "None");
            record("MaintenanceMode", dims(), 0.0, "None");
            let since = counted.get(&c.key()).copied().unwrap_or(i64::MIN);
            let done: Vec<_> = wh.query_log().into_iter().filter(|q| q.query > since && q.end_us > 0).collect();
            if let Some(last) = done.iter().map(|q| q.query).max() {
                counted.insert(c.key(), last);
            }
            let mut per_class: HashMap<&'static str, (f64, Vec<f64>)> = HashMap::new();
            for q in done.iter().filter(|q| !q.aborted) {
                let d = (q.end_us - q.start_us).max(0);
                let e = per_class.entry(latency(d)).or_default();
                e.0 += 1.0;
                e.1.push(d as f64);
            }
            for class in ["short", "medium", "long"] {
                let with_latency = || {
                    let mut d = dims();
                    d.push(("latency".to_string(), class.to_string()));
                    d
                };
                let (n, durations) = per_class.remove(class).unwrap_or_default();
                record("QueriesCompletedPerSecond", with_latency(), n / interval.as_secs_f64(), "Count/Second");
                for d in durations {
                    record("QueryDuration", with_latency(), d, "Microseconds");
                }
            }
        }
        let f = self.internal.frontend()?;
        folder.publish(&f, "AWS/Redshift", "redshift.amazonaws.com").await
    }
}
