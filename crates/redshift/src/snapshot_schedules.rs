//! Snapshot schedules: sets of `rate(...)`/`cron(...)` definitions that, associated with a
//! cluster (ModifyClusterSnapshotSchedule, or CreateCluster's SnapshotScheduleIdentifier),
//! decide when its automated snapshots are taken instead of the default interval.
use crate::api::{account, invalid, missing, page, tags_in, tags_match, tags_out};
use crate::schedule::{Forms, Schedule};
use crate::{key, now_ms, ClusterRecord, Redshift};
use nuage_core::{AwsResult, RequestContext};
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::errors::Error as E;
use nuage_protocol::Timestamp;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};

const SNAPSHOT_SCHEDULES: JsonTable = TableDefinition::new("redshift_snapshot_schedules");
/// How many next invocations a description lists unless asked otherwise.
const SHOWN: usize = 10;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ScheduleRecord {
    id: String,
    definitions: Vec<String>,
    description: Option<String>,
    tags: Vec<(String, String)>,
    created_ms: i64,
}

impl ScheduleRecord {
    fn parsed(&self) -> Vec<Schedule> {
        self.definitions.iter().filter_map(|d| Schedule::parse(d, Forms::Snapshots).ok()).collect()
    }

    /// The first time any definition fires after `after_ms`.
    pub(crate) fn next_after(&self, after_ms: i64, anchor_ms: i64) -> Option<i64> {
        self.parsed().iter().filter_map(|s| s.next_after(after_ms, anchor_ms)).min()
    }

    fn upcoming(&self, after_ms: i64, n: usize) -> Vec<i64> {
        let mut out = Vec::new();
        let mut t = after_ms;
        while out.len() < n {
            match self.next_after(t, self.created_ms) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }
}

fn not_found(id: &str) -> nuage_core::AwsError {
    E::SnapshotScheduleNotFoundFault.msg(format!("Snapshot schedule {id} not found."))
}

fn check_definitions(defs: &[String]) -> AwsResult<()> {
    if defs.is_empty() {
        return Err(E::InvalidScheduleFault.msg("A snapshot schedule needs at least one schedule definition."));
    }
    for d in defs {
        Schedule::parse(d, Forms::Snapshots)
            .map_err(|why| E::InvalidScheduleFault.msg(format!("Schedule definition {d} is invalid: {why}.")))?;
    }
    Ok(())
}

fn check_id(id: &str) -> AwsResult<()> {
    if !crate::api::is_lowercase_name(id, 255) {
        return Err(invalid(
            "A schedule identifier has lowercase letters, digits or single hyphens, starts with a letter and does not end with a hyphen.",
        ));
    }
    Ok(())
}

impl Redshift {
    fn schedules(&self, ctx: &RequestContext) -> AwsResult<Vec<(String, ScheduleRecord)>> {
        self.store.read()?.scan(SNAPSHOT_SCHEDULES, &format!("{}/{}/", account(ctx)?, ctx.region))
    }

    /// The schedule called `id` in the cluster's account and region.
    pub(crate) fn snapshot_schedule(&self, account: &str, region: &str, id: &str) -> AwsResult<Option<ScheduleRecord>> {
        self.store.read()?.get(SNAPSHOT_SCHEDULES, &key(account, region, id))
    }

    /// The schedule a request names must exist.
    pub(crate) fn check_snapshot_schedule(&self, ctx: &RequestContext, id: &str) -> AwsResult<()> {
        self.snapshot_schedule(account(ctx)?, &ctx.region, id)?.map(|_| ()).ok_or_else(|| not_found(id))
    }

    fn schedule_out(&self, ctx: &RequestContext, s: &ScheduleRecord, n: usize) -> AwsResult<m::SnapshotSchedule> {
        let clusters: Vec<ClusterRecord> = self
            .list(account(ctx)?, &ctx.region)?
            .into_iter()
            .filter(|c| c.snapshot_schedule.as_deref() == Some(s.id.as_str()))
            .collect();
        Ok(m::SnapshotSchedule {
            schedule_identifier: Some(s.id.clone()),
            schedule_definitions: Some(s.definitions.clone()),
            schedule_description: s.description.clone(),
            tags: Some(tags_out(&s.tags)),
            next_invocations: Some(s.upcoming(now_ms(), n).into_iter().map(Timestamp).collect()),
            associated_cluster_count: Some(clusters.len() as i32),
            associated_clusters: Some(
                clusters
                    .iter()
                    .map(|c| m::ClusterAssociatedToSchedule {
                        cluster_identifier: Some(c.identifier.clone()),
                        schedule_association_state: Some("ACTIVE".into()),
                    })
                    .collect(),
            ),
        })
    }

    pub(crate) async fn create_snapshot_schedule(
        &self,
        ctx: &RequestContext,
        i: m::CreateSnapshotScheduleMessage,
    ) -> AwsResult<m::SnapshotSchedule> {
        let defs = i.schedule_definitions.unwrap_or_default();
        check_definitions(&defs)?;
        let id = i
            .schedule_identifier
            .unwrap_or_else(|| format!("schedule-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
        check_id(&id)?;
        let s = ScheduleRecord {
            id: id.clone(),
            definitions: defs,
            description: i.schedule_description,
            tags: tags_in(i.tags),
            created_ms: now_ms(),
        };
        let n = i.next_invocations.map(|n| n.clamp(1, 100) as usize).unwrap_or(SHOWN);
        if i.dry_run == Some(true) {
            // A dry run shows the schedule's invocations without keeping it.
            return self.schedule_out(ctx, &s, n);
        }
        let (k, v) = (key(account(ctx)?, &ctx.region, &id), s.clone());
        self.store
            .write(move |w| {
                if w.get::<ScheduleRecord>(SNAPSHOT_SCHEDULES, &k)?.is_some() {
                    return Err(E::SnapshotScheduleAlreadyExistsFault
                        .msg(format!("Snapshot schedule {} already exists.", v.id)));
                }
                w.put(SNAPSHOT_SCHEDULES, &k, &v)
            })
            .await?;
        self.schedule_out(ctx, &s, n)
    }

    pub(crate) async fn modify_snapshot_schedule(
        &self,
        ctx: &RequestContext,
        i: m::ModifySnapshotScheduleMessage,
    ) -> AwsResult<m::SnapshotSchedule> {
        let id = i.schedule_identifier.ok_or_else(|| missing("ScheduleIdentifier"))?;
        let defs = i.schedule_definitions.unwrap_or_default();
        check_definitions(&defs)?;
        let k = key(account(ctx)?, &ctx.region, &id);
        let s = self
            .store
            .write(move |w| {
                let mut s: ScheduleRecord = w.get(SNAPSHOT_SCHEDULES, &k)?.ok_or_else(|| not_found(&id))?;
                s.definitions = defs;
                w.put(SNAPSHOT_SCHEDULES, &k, &s)?;
                Ok(s)
            })
            .await?;
        self.schedule_out(ctx, &s, SHOWN)
    }

    pub(crate) async fn delete_snapshot_schedule(&self, ctx: &RequestContext, id: Option<String>) -> AwsResult<()> {
        let id = id.ok_or_else(|| missing("ScheduleIdentifier"))?;
        self.check_snapshot_schedule(ctx, &id)?;
        if self.list(account(ctx)?, &ctx.region)?.iter().any(|c| c.snapshot_schedule.as_deref() == Some(id.as_str())) {
            return Err(E::InvalidClusterSnapshotScheduleStateFault
                .msg(format!("Snapshot schedule {id} is associated with clusters and cannot be deleted.")));
        }
        let k = key(account(ctx)?, &ctx.region, &id);
        self.store.write(move |w| w.delete(SNAPSHOT_SCHEDULES, &k)).await
    }

    pub(crate) fn describe_snapshot_schedules(
        &self,
        ctx: &RequestContext,
        i: m::DescribeSnapshotSchedulesMessage,
    ) -> AwsResult<m::DescribeSnapshotSchedulesOutputMessage> {
        let mut all: Vec<ScheduleRecord> = self.schedules(ctx)?.into_iter().map(|(_, s)| s).collect();
        if let Some(id) = &i.schedule_identifier {
            all.retain(|s| &s.id == id);
        }
        if let Some(cluster) = &i.cluster_identifier {
            let c = self
                .get(account(ctx)?, &ctx.region, cluster)?
                .ok_or_else(|| E::ClusterNotFoundFault.msg(format!("Cluster {cluster} not found.")))?;
            all.retain(|s| c.snapshot_schedule.as_deref() == Some(s.id.as_str()));
        }
        let (keys, values) = (i.tag_keys.unwrap_or_default(), i.tag_values.unwrap_or_default());
        all.retain(|s| tags_match(&s.tags, &keys, &values));
        let shown = all.iter().map(|s| self.schedule_out(ctx, s, SHOWN)).collect::<AwsResult<Vec<_>>>()?;
        let (schedules, marker) = page(shown, i.marker.as_deref(), i.max_records)?;
        Ok(m::DescribeSnapshotSchedulesOutputMessage { snapshot_schedules: Some(schedules), marker })
    }

    /// Associates a cluster with a schedule, or takes it off its schedule.
    pub(crate) async fn modify_cluster_snapshot_schedule(
        &self,
        ctx: &RequestContext,
        i: m::ModifyClusterSnapshotScheduleMessage,
    ) -> AwsResult<()> {
        let id = i.cluster_identifier.ok_or_else(|| missing("ClusterIdentifier"))?;
        let schedule = match (i.schedule_identifier, i.disassociate_schedule) {
            (Some(_), Some(true)) => {
                return Err(invalid("ScheduleIdentifier and DisassociateSchedule cannot be given together."))
            }
            (Some(s), _) => {
                self.check_snapshot_schedule(ctx, &s)?;
                Some(s)
            }
            (None, Some(true)) => None,
            (None, _) => return Err(missing("ScheduleIdentifier")),
        };
        let _one = self.writes.lock().await;
        let mut c = self
            .get(account(ctx)?, &ctx.region, &id)?
            .ok_or_else(|| E::ClusterNotFoundFault.msg(format!("Cluster {id} not found.")))?;
        if schedule.is_none() && c.snapshot_schedule.is_none() {
            return Err(E::InvalidClusterSnapshotScheduleStateFault
                .msg(format!("Cluster {id} is not associated with a snapshot schedule.")));
        }
        c.snapshot_schedule = schedule;
        c.snapshot_schedule_since_ms = now_ms();
        self.put(&c).await
    }
}
