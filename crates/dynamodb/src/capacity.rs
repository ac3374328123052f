//! Capacity as DynamoDB computes and enforces it: read units per 4 KB (half for eventually
//! consistent reads, double in transactions), write units per 1 KB, index writes; token
//! buckets refilled at the provisioned rate that keep up to 300 seconds of unused capacity,
//! and `ReturnConsumedCapacity`'s answers.
use nuage_core::{AwsError, AwsResult};
use nuage_protocol::dynamodb as m;
use nuage_protocol::dynamodb::errors::Error as E;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

/// How a read is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadKind {
    Eventual,
    Strong,
    Transactional,
}

impl ReadKind {
    pub fn of(consistent: Option<bool>) -> ReadKind {
        if consistent == Some(true) {
            ReadKind::Strong
        } else {
            ReadKind::Eventual
        }
    }
}

/// Read units for `bytes` read in one request: per 4 KB started, at least one.
pub fn read_units(bytes: usize, kind: ReadKind) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    match kind {
        ReadKind::Eventual => units / 2.0,
        ReadKind::Strong => units,
        ReadKind::Transactional => units * 2.0,
    }
}

/// Write units for an item of `bytes`: per 1 KB started, at least one.
pub fn write_units(bytes: usize, transactional: bool) -> f64 {
    let units = bytes.div_ceil(1024).max(1) as f64;
    if transactional {
        units * 2.0
    } else {
        units
    }
}

/// What one request consumed, on the table and on each index.
#[derive(Debug, Clone, Default)]
pub struct Consumed {
    pub read: f64,
    pub write: f64,
    pub gsi: BTreeMap<String, (f64, f64)>,
    pub lsi: BTreeMap<String, (f64, f64)>,
}

impl Consumed {
    pub fn add(&mut self, other: &Consumed) {
        self.read += other.read;
        self.write += other.write;
        for (k, (r, w)) in &other.gsi {
            let e = self.gsi.entry(k.clone()).or_default();
            e.0 += r;
            e.1 += w;
        }
        for (k, (r, w)) in &other.lsi {
            let e = self.lsi.entry(k.clone()).or_default();
            e.0 += r;
            e.1 += w;
        }
    }

    /// The `ConsumedCapacity` DynamoDB answers for `mode` (`NONE`, `TOTAL`, `INDEXES`): capacity
    /// units only, as single-item operations, queries and batches report them.
    pub fn render(&self, table: &str, mode: Option<&str>) -> Option<m::ConsumedCapacity> {
        self.rendered(table, mode, false)
    }

    /// As transactions report it: read and write units apart as well.
    pub fn render_split(&self, table: &str, mode: Option<&str>) -> Option<m::ConsumedCapacity> {
        self.rendered(table, mode, true)
    }

    fn rendered(&self, table: &str, mode: Option<&str>, split: bool) -> Option<m::ConsumedCapacity> {
        let cap = |r: f64, w: f64| m::Capacity {
            capacity_units: Some(r + w),
            read_capacity_units: (split && r > 0.0).then_some(r),
            write_capacity_units: (split && w > 0.0).then_some(w),
        };
        let (r_all, w_all) =
            self.gsi.values().chain(self.lsi.values()).fold((self.read, self.write), |a, (r, w)| (a.0 + r, a.1 + w));
        let mut c = m::ConsumedCapacity {
            table_name: Some(table.into()),
            capacity_units: Some(r_all + w_all),
            read_capacity_units: (split && r_all > 0.0).then_some(r_all),
            write_capacity_units: (split && w_all > 0.0).then_some(w_all),
            ..Default::default()
        };
        match mode {
            Some("TOTAL") => Some(c),
            Some("INDEXES") => {
                let map = |ix: &BTreeMap<String, (f64, f64)>| {
                    (!ix.is_empty()).then(|| ix.iter().map(|(k, (r, w))| (k.clone(), cap(*r, *w))).collect())
                };
                c.table = Some(cap(self.read, self.write));
                c.global_secondary_indexes = map(&self.gsi);
                c.local_secondary_indexes = map(&self.lsi);
                Some(c)
            }
            _ => None,
        }
    }
}

/// Checks `ReturnConsumedCapacity`.
pub fn check_mode(mode: Option<&str>) -> AwsResult<()> {
    match mode {
        None | Some("NONE" | "TOTAL" | "INDEXES") => Ok(()),
        Some(other) => Err(crate::value::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        ))),
    }
}

struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }
}

/// The token buckets of every provisioned table and index (and on-demand ones with a
/// maximum), keyed by ARN and direction.
#[derive(Default)]
pub struct Throttle {
    enforce: bool,
    buckets: Mutex<HashMap<(String, bool), Bucket>>,
}

/// Seconds of unused capacity DynamoDB retains as burst capacity.
const BURST_SECONDS: f64 = 300.0;

impl Throttle {
    pub fn new(enforce: bool) -> Throttle {
        Throttle { enforce, buckets: Mutex::new(HashMap::new()) }
    }

    pub fn clear(&self) {
        if let Ok(mut b) = self.buckets.lock() {
            b.clear();
        }
    }

    /// Forgets a resource's buckets (its capacity changed, or it is gone).
    pub fn forget(&self, arn: &str) {
        if let Ok(mut b) = self.buckets.lock() {
            b.retain(|(k, _), _| !k.starts_with(arn));
        }
    }

    /// Whether `arn` has capacity for a request of at least `minimum` units in that
    /// direction; `rate` is its provisioned (or maximum) units per second, `burst` whether
    /// unused capacity accumulates (provisioned) or not (on-demand maximums).
    pub fn admit(&self, arn: &str, write: bool, rate: Option<i64>, minimum: f64, burst: bool) -> bool {
        let Some(rate) = rate.filter(|r| *r > 0) else { return true };
        if !self.enforce {
            return true;
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else { return true };
        let rate = rate as f64;
        let cap = if burst { rate * BURST_SECONDS } else { rate };
        // A table starts with its burst capacity available, as new tables on AWS absorb a
        // first burst; once spent, it refills at the provisioned rate.
        let b = buckets.entry((arn.to_string(), write)).or_insert_with(|| Bucket {
            tokens: cap,
            rate,
            burst: cap,
            last: now,
        });
        b.refill(now);
        b.tokens >= minimum.min(b.burst)
    }

    /// Takes what a request consumed; a bucket may go below zero (a large item is never
    /// refused outright), and then refuses until it has refilled.
    pub fn consume(&self, arn: &str, write: bool, units: f64) {
        if let Ok(mut buckets) = self.buckets.lock() {
            if let Some(b) = buckets.get_mut(&(arn.to_string(), write)) {
                b.refill(Instant::now());
                b.tokens -= units;
            }
        }
    }
}

/// The error of a throttled request, with DynamoDB's throttling reason.
pub fn throttled(arn: &str, write: bool, index: bool, on_demand: bool) -> AwsError {
    let (reason, msg) = match (on_demand, index, write) {
        (true, _, _) => (
            if write { "TableWriteKeyRangeThroughputExceeded" } else { "TableReadKeyRangeThroughputExceeded" },
            "Throughput exceeds the maximum OnDemandThroughput configured on table or index",
        ),
        (false, true, true) => (
            "IndexWriteProvisionedThroughputExceeded",
            "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API",
        ),
        (false, true, false) => (
            "IndexReadProvisionedThroughputExceeded",
            "The level of configured provisioned throughput for the index was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        ),
        (false, false, true) => (
            "TableWriteProvisionedThroughputExceeded",
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        ),
        (false, false, false) => (
            "TableReadProvisionedThroughputExceeded",
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        ),
    };
    let code = if on_demand { E::ThrottlingException } else { E::ProvisionedThroughputExceededException };
    code.msg(msg).with("ThrottlingReasons", serde_json::json!([{"reason": reason, "resource": arn}]).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_at_the_boundaries() {
        assert_eq!(read_units(4096, ReadKind::Strong), 1.0);
        assert_eq!(read_units(4097, ReadKind::Strong), 2.0);
        assert_eq!(read_units(4097, ReadKind::Eventual), 1.0);
        assert_eq!(read_units(0, ReadKind::Eventual), 0.5);
        assert_eq!(read_units(4097, ReadKind::Transactional), 4.0);
        assert_eq!(write_units(1024, false), 1.0);
        assert_eq!(write_units(1025, false), 2.0);
        assert_eq!(write_units(1025, true), 4.0);
    }

    #[test]
    fn buckets_throttle_then_refill() {
        let t = Throttle::new(true);
        assert!(t.admit("arn", true, Some(1), 1.0, true));
        // The 300 seconds of burst capacity, then nothing until it refills.
        t.consume("arn", true, 300.0);
        assert!(!t.admit("arn", true, Some(1), 1.0, true));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(t.admit("arn", true, Some(1), 1.0, true));
        // Off: everything passes.
        let off = Throttle::new(false);
        off.consume("arn", true, 100.0);
        assert!(off.admit("arn", true, Some(1), 1.0, true));
    }
}
