//! Redshift Serverless recovery points: every `--recovery-point-interval` (30 minutes, as
//! Redshift Serverless takes them) each served namespace's database is copied (sharing its
//! write-once segment files) and kept 24 hours; a point restores into its namespace or
//! becomes a snapshot.
use super::snapshots::SnapshotRecord;
use super::*;

const RECOVERY_POINTS: JsonTable = TableDefinition::new("redshift_serverless_recovery_points");
const KEEP_MS: i64 = 24 * 3600 * 1000;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RecoveryPoint {
    account: String,
    region: String,
    id: String,
    namespace: NamespaceRecord,
    workgroup: String,
    create_time_ms: i64,
    size_bytes: u64,
}

fn out(p: &RecoveryPoint) -> m::RecoveryPoint {
    m::RecoveryPoint {
        recovery_point_id: Some(p.id.clone()),
        recovery_point_create_time: Some(Timestamp(p.create_time_ms)),
        total_size_in_mega_bytes: Some(p.size_bytes as f64 / 1_048_576.0),
        namespace_name: Some(p.namespace.name.clone()),
        workgroup_name: Some(p.workgroup.clone()),
        namespace_arn: Some(p.namespace.arn()),
    }
}

impl Redshift {
    fn recovery_dir(&self, account: &str, region: &str, id: &str) -> std::path::PathBuf {
        self.dir.join(account).join(region).join("serverless-recovery").join(id)
    }

    /// Takes the recovery points that are due and forgets those older than 24 hours.
    pub(crate) async fn recovery_point_pass(&self, every_ms: i64) -> AwsResult<()> {
        let now = now_ms();
        let points: Vec<(String, RecoveryPoint)> = self.store.read()?.scan(RECOVERY_POINTS, "")?;
        for (k, p) in points.iter().filter(|(_, p)| now - p.create_time_ms >= KEEP_MS) {
            let k = k.clone();
            self.store.write(move |w| w.delete(RECOVERY_POINTS, &k)).await?;
            let dir = self.recovery_dir(&p.account, &p.region, &p.id);
            let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
        }
        let workgroups: Vec<(String, WorkgroupRecord)> = self.store.read()?.scan(WORKGROUPS, "")?;
        for (_, w) in workgroups {
            let last = points
                .iter()
                .filter(|(_, p)| p.account == w.account && p.region == w.region && p.namespace.name == w.namespace)
                .map(|(_, p)| p.create_time_ms)
                .max()
                .unwrap_or(w.create_time_ms);
            if now - last < every_ms {
                continue;
            }
            let _one = self.writes.lock().await;
            let Some(wh) = self.workgroup_warehouse(&w) else { continue };
            let n: Option<NamespaceRecord> =
                self.store.read()?.get(NAMESPACES, &key(&w.account, &w.region, &w.namespace))?;
            let Some(n) = n else { continue };
            let id = uuid::Uuid::new_v4().to_string();
            let to = self.recovery_dir(&w.account, &w.region, &id);
            self.copy_database(Some(wh), std::path::PathBuf::new(), &to).await?;
            let p = RecoveryPoint {
                account: w.account.clone(),
                region: w.region.clone(),
                id,
                namespace: n,
                workgroup: w.name.clone(),
                create_time_ms: now,
                size_bytes: crate::api::dir_size(&to),
            };
            let (k, v) = (key(&p.account, &p.region, &p.id), p.clone());
            self.store.write(move |tx| tx.put(RECOVERY_POINTS, &k, &v)).await?;
        }
        Ok(())
    }

    fn recovery_point(&self, ctx: &RequestContext, id: Option<&str>) -> AwsResult<RecoveryPoint> {
        let id = id.unwrap_or_default();
        let p: Option<RecoveryPoint> = self.store.read()?.get(RECOVERY_POINTS, &key(account(ctx)?, &ctx.region, id))?;
        p.filter(|p| now_ms() - p.create_time_ms < KEEP_MS).ok_or_else(|| not_found("Recovery point", id))
    }

    pub(crate) fn list_recovery_points(
        &self,
        ctx: &RequestContext,
        i: m::ListRecoveryPointsRequest,
    ) -> AwsResult<m::ListRecoveryPointsResponse> {
        let now = now_ms();
        let mut all: Vec<RecoveryPoint> = self
            .store
            .read()?
            .scan::<RecoveryPoint>(RECOVERY_POINTS, &format!("{}/{}/", account(ctx)?, ctx.region))?
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| now - p.create_time_ms < KEEP_MS)
            .filter(|p| i.namespace_name.as_deref().is_none_or(|n| n == p.namespace.name))
            .filter(|p| i.namespace_arn.as_deref().is_none_or(|a| a == p.namespace.arn()))
            .filter(|p| i.start_time.is_none_or(|t| p.create_time_ms >= t.0))
            .filter(|p| i.end_time.is_none_or(|t| p.create_time_ms <= t.0))
            .collect();
        all.sort_by_key(|p| p.create_time_ms);
        let (items, next) = page(all, i.next_token.as_deref(), i.max_results)?;
        Ok(m::ListRecoveryPointsResponse { recovery_points: Some(items.iter().map(out).collect()), next_token: next })
    }

    pub(crate) fn get_recovery_point(
        &self,
        ctx: &RequestContext,
        i: m::GetRecoveryPointRequest,
    ) -> AwsResult<m::GetRecoveryPointResponse> {
        let p = self.recovery_point(ctx, i.recovery_point_id.as_deref())?;
        Ok(m::GetRecoveryPointResponse { recovery_point: Some(out(&p)) })
    }

    pub(crate) async fn restore_from_recovery_point(
        &self,
        ctx: &RequestContext,
        i: m::RestoreFromRecoveryPointRequest,
    ) -> AwsResult<m::RestoreFromRecoveryPointResponse> {
        if i.maintain_integration == Some(true) {
            return Err(validation(
                "Zero-ETL integrations are not served by nuage: maintainIntegration cannot be set.",
            ));
        }
        let _one = self.writes.lock().await;
        let p = self.recovery_point(ctx, i.recovery_point_id.as_deref())?;
        if p.namespace.name != i.namespace_name.clone().unwrap_or_default() {
            return Err(validation(format!(
                "Recovery point {} belongs to namespace {}: it restores only into that namespace.",
                p.id, p.namespace.name
            )));
        }
        let from = self.recovery_dir(&p.account, &p.region, &p.id);
        let n = self
            .restore_namespace(ctx, i.namespace_name.as_deref(), i.workgroup_name.as_deref(), from, &p.namespace)
            .await?;
        Ok(m::RestoreFromRecoveryPointResponse {
            recovery_point_id: Some(p.id),
            namespace: Some(namespace_out(&n, "MODIFYING")),
        })
    }

    pub(crate) async fn convert_recovery_point(
        &self,
        ctx: &RequestContext,
        i: m::ConvertRecoveryPointToSnapshotRequest,
    ) -> AwsResult<m::ConvertRecoveryPointToSnapshotResponse> {
        let _one = self.writes.lock().await;
        let p = self.recovery_point(ctx, i.recovery_point_id.as_deref())?;
        let from = self.recovery_dir(&p.account, &p.region, &p.id);
        let s: SnapshotRecord = self
            .snapshot_from_copy(
                &p.namespace,
                i.snapshot_name.as_deref().unwrap_or_default(),
                i.retention_period,
                tags_in(i.tags),
                from,
                p.create_time_ms,
            )
            .await?;
        Ok(m::ConvertRecoveryPointToSnapshotResponse {
            snapshot: Some(super::snapshots::snapshot_out(&s, "AVAILABLE")),
        })
    }
}
