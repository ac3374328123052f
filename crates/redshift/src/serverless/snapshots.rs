//! Redshift Serverless snapshots: a copy of a namespace's database (and of the namespace as
//! it was), kept for its retention period, restored into the namespace a workgroup serves.
use super::*;

/// A namespace's snapshot: a copy of its database and the namespace as it was.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SnapshotRecord {
    pub(super) account: String,
    pub(super) region: String,
    pub(super) name: String,
    pub(super) id: String,
    pub(super) namespace: NamespaceRecord,
    pub(super) create_time_ms: i64,
    /// Days to keep it; -1 keeps it until deleted.
    pub(super) retention_days: i32,
    pub(super) tags: Vec<(String, String)>,
    pub(super) size_bytes: u64,
}

impl SnapshotRecord {
    fn arn(&self) -> String {
        resource_arn(&self.region, &self.account, "snapshot", &self.id)
    }
}

pub(super) fn snapshot_out(s: &SnapshotRecord, status: &str) -> m::Snapshot {
    let age_days = ((now_ms() - s.create_time_ms) / 86_400_000) as i32;
    m::Snapshot {
        namespace_name: Some(s.namespace.name.clone()),
        namespace_arn: Some(s.namespace.arn()),
        snapshot_name: Some(s.name.clone()),
        snapshot_arn: Some(s.arn()),
        snapshot_create_time: Some(Timestamp(s.create_time_ms)),
        admin_username: s.namespace.admin_username.clone(),
        status: Some(status.into()),
        kms_key_id: Some(s.namespace.kms_key_id.clone().unwrap_or_else(|| "AWS_OWNED_KMS_KEY".into())),
        owner_account: Some(s.account.clone()),
        total_backup_size_in_mega_bytes: Some(s.size_bytes as f64 / 1_048_576.0),
        actual_incremental_backup_size_in_mega_bytes: Some(s.size_bytes as f64 / 1_048_576.0),
        backup_progress_in_mega_bytes: Some(s.size_bytes as f64 / 1_048_576.0),
        current_backup_rate_in_mega_bytes_per_second: Some(0.0),
        estimated_seconds_to_completion: Some(0),
        elapsed_time_in_seconds: Some(0),
        snapshot_retention_period: Some(s.retention_days),
        snapshot_remaining_days: (s.retention_days >= 0).then(|| (s.retention_days - age_days).max(0)),
        snapshot_retention_start_time: Some(Timestamp(s.create_time_ms)),
        ..Default::default()
    }
}

impl Redshift {
    fn serverless_snapshot_dir(&self, account: &str, region: &str, id: &str) -> std::path::PathBuf {
        self.dir.join(account).join(region).join("serverless-snapshots").join(id)
    }

    /// Copies a namespace's database into a new snapshot.
    pub(super) async fn take_serverless_snapshot(
        &self,
        n: &NamespaceRecord,
        name: &str,
        retention: Option<i32>,
        tags: Vec<(String, String)>,
    ) -> AwsResult<SnapshotRecord> {
        let running = self.workgroup_of(n)?.and_then(|w| self.workgroup_warehouse(&w));
        let from = self.namespace_dir(&n.account, &n.region, &n.id);
        self.store_snapshot(n, name, retention, tags, running, from, now_ms()).await
    }

    /// A snapshot made from a copy of the namespace taken at `time_ms` (a recovery point's).
    pub(super) async fn snapshot_from_copy(
        &self,
        n: &NamespaceRecord,
        name: &str,
        retention: Option<i32>,
        tags: Vec<(String, String)>,
        from: std::path::PathBuf,
        time_ms: i64,
    ) -> AwsResult<SnapshotRecord> {
        self.store_snapshot(n, name, retention, tags, None, from, time_ms).await
    }

    /// Checks the name and retention, copies the database (through the running warehouse
    /// when there is one, else from `from`) and records the snapshot.
    #[allow(clippy::too_many_arguments)]
    async fn store_snapshot(
        &self,
        n: &NamespaceRecord,
        name: &str,
        retention: Option<i32>,
        tags: Vec<(String, String)>,
        running: Option<Arc<nuage_warehouse::Warehouse>>,
        from: std::path::PathBuf,
        time_ms: i64,
    ) -> AwsResult<SnapshotRecord> {
        if name.is_empty() || name.len() > 255 {
            return Err(validation("The snapshot name must be 1 to 255 characters."));
        }
        let retention = retention.unwrap_or(-1);
        if !(retention == -1 || (1..=3653).contains(&retention)) {
            return Err(validation("The retention period must be -1 (indefinitely) or between 1 and 3653 days."));
        }
        let k = key(&n.account, &n.region, name);
        if self.store.read()?.get::<SnapshotRecord>(SNAPSHOTS, &k)?.is_some() {
            return Err(conflict(format!("Snapshot {name} already exists.")));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let to = self.serverless_snapshot_dir(&n.account, &n.region, &id);
        self.copy_database(running, from, &to).await?;
        let s = SnapshotRecord {
            account: n.account.clone(),
            region: n.region.clone(),
            name: name.to_string(),
            id,
            namespace: n.clone(),
            create_time_ms: time_ms,
            retention_days: retention,
            tags,
            size_bytes: crate::api::dir_size(&to),
        };
        let v = s.clone();
        self.store.write(move |w| w.put(SNAPSHOTS, &k, &v)).await?;
        Ok(s)
    }

    fn serverless_snapshot(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
        arn: Option<&str>,
    ) -> AwsResult<SnapshotRecord> {
        let all = self.serverless_snapshots(ctx)?;
        let found = match (name, arn) {
            (Some(n), _) => all.into_iter().find(|s| s.name == n),
            (None, Some(a)) => all.into_iter().find(|s| s.arn() == a),
            (None, None) => return Err(validation("Give snapshotName or snapshotArn.")),
        };
        found.ok_or_else(|| not_found("Snapshot", name.or(arn).unwrap_or_default()))
    }

    /// The caller's snapshots that are still kept (expired ones are removed on the way).
    pub(super) fn serverless_snapshots(&self, ctx: &RequestContext) -> AwsResult<Vec<SnapshotRecord>> {
        let prefix = format!("{}/{}/", account(ctx)?, ctx.region);
        let now = now_ms();
        Ok(self
            .store
            .read()?
            .scan::<SnapshotRecord>(SNAPSHOTS, &prefix)?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| s.retention_days < 0 || now - s.create_time_ms < s.retention_days as i64 * 86_400_000)
            .collect())
    }

    pub(crate) async fn create_serverless_snapshot(
        &self,
        ctx: &RequestContext,
        i: m::CreateSnapshotRequest,
    ) -> AwsResult<m::CreateSnapshotResponse> {
        let _one = self.writes.lock().await;
        let n = self.namespace(ctx, i.namespace_name.as_deref().unwrap_or_default())?;
        let s = self
            .take_serverless_snapshot(
                &n,
                i.snapshot_name.as_deref().unwrap_or_default(),
                i.retention_period,
                tags_in(i.tags),
            )
            .await?;
        Ok(m::CreateSnapshotResponse { snapshot: Some(snapshot_out(&s, "AVAILABLE")) })
    }

    pub(crate) fn get_serverless_snapshot(
        &self,
        ctx: &RequestContext,
        i: m::GetSnapshotRequest,
    ) -> AwsResult<m::GetSnapshotResponse> {
        if i.owner_account.as_deref().is_some_and(|o| Some(o) != ctx.account_id()) {
            return Err(not_found("Snapshot", i.snapshot_name.as_deref().unwrap_or_default()));
        }
        let s = self.serverless_snapshot(ctx, i.snapshot_name.as_deref(), i.snapshot_arn.as_deref())?;
        Ok(m::GetSnapshotResponse { snapshot: Some(snapshot_out(&s, "AVAILABLE")) })
    }

    pub(crate) fn list_serverless_snapshots(
        &self,
        ctx: &RequestContext,
        i: m::ListSnapshotsRequest,
    ) -> AwsResult<m::ListSnapshotsResponse> {
        let mut all = self.serverless_snapshots(ctx)?;
        if i.owner_account.as_deref().is_some_and(|o| Some(o) != ctx.account_id()) {
            all.clear();
        }
        if let Some(n) = &i.namespace_name {
            all.retain(|s| &s.namespace.name == n);
        }
        if let Some(a) = &i.namespace_arn {
            all.retain(|s| &s.namespace.arn() == a);
        }
        if let Some(t) = &i.start_time {
            all.retain(|s| s.create_time_ms >= t.0);
        }
        if let Some(t) = &i.end_time {
            all.retain(|s| s.create_time_ms <= t.0);
        }
        all.sort_by_key(|s| s.create_time_ms);
        let (items, next) = page(all, i.next_token.as_deref(), i.max_results)?;
        Ok(m::ListSnapshotsResponse {
            snapshots: Some(items.iter().map(|s| snapshot_out(s, "AVAILABLE")).collect()),
            next_token: next,
        })
    }

    pub(crate) async fn update_serverless_snapshot(
        &self,
        ctx: &RequestContext,
        i: m::UpdateSnapshotRequest,
    ) -> AwsResult<m::UpdateSnapshotResponse> {
        let _one = self.writes.lock().await;
        let mut s = self.serverless_snapshot(ctx, i.snapshot_name.as_deref(), None)?;
        if let Some(r) = i.retention_period {
            if !(r == -1 || (1..=3653).contains(&r)) {
                return Err(validation("The retention period must be -1 (indefinitely) or between 1 and 3653 days."));
            }
            s.retention_days = r;
        }
        let (k, v) = (key(&s.account, &s.region, &s.name), s.clone());
        self.store.write(move |w| w.put(SNAPSHOTS, &k, &v)).await?;
        Ok(m::UpdateSnapshotResponse { snapshot: Some(snapshot_out(&s, "AVAILABLE")) })
    }

    pub(crate) async fn delete_serverless_snapshot(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
    ) -> AwsResult<m::DeleteSnapshotResponse> {
        let _one = self.writes.lock().await;
        let s = self.serverless_snapshot(ctx, name, None)?;
        let k = key(&s.account, &s.region, &s.name);
        self.store.write(move |w| w.delete(SNAPSHOTS, &k)).await?;
        let dir = self.serverless_snapshot_dir(&s.account, &s.region, &s.id);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
        Ok(m::DeleteSnapshotResponse { snapshot: Some(snapshot_out(&s, "DELETED")) })
    }

    /// Replaces a namespace's database with the copy in `from` (a snapshot's, a recovery
    /// point's) taken of `was`; the workgroup named must serve the namespace, and serves the
    /// restored database when this returns.
    pub(super) async fn restore_namespace(
        &self,
        ctx: &RequestContext,
        namespace: Option<&str>,
        workgroup: Option<&str>,
        from: std::path::PathBuf,
        was: &NamespaceRecord,
    ) -> AwsResult<NamespaceRecord> {
        let mut n = self.namespace(ctx, namespace.unwrap_or_default())?;
        let mut w = self.workgroup(ctx, workgroup.unwrap_or_default())?;
        if w.namespace != n.name {
            return Err(validation(format!("Workgroup {} is not associated with namespace {}.", w.name, n.name)));
        }
        self.stop_key(&w.running_key());
        let to = self.namespace_dir(&n.account, &n.region, &n.id);
        tokio::task::spawn_blocking(move || -> AwsResult<()> {
            let _ = std::fs::remove_dir_all(&to);
            nuage_warehouse::copy_database(&from, &to).map_err(crate::sql_err)
        })
        .await
        .map_err(AwsError::internal)??;
        n.admin_username = was.admin_username.clone();
        n.db_name = was.db_name.clone();
        self.put_namespace(&n).await?;
        self.start_workgroup(&mut w, &n, None).await?;
        self.put_workgroup(&w).await?;
        Ok(n)
    }

    /// Replaces a namespace's database with a snapshot's; the workgroup given must serve it.
    pub(crate) async fn restore_serverless_snapshot(
        &self,
        ctx: &RequestContext,
        i: m::RestoreFromSnapshotRequest,
    ) -> AwsResult<m::RestoreFromSnapshotResponse> {
        if i.owner_account.as_deref().is_some_and(|o| Some(o) != ctx.account_id()) {
            return Err(not_found("Snapshot", i.snapshot_name.as_deref().unwrap_or_default()));
        }
        let _one = self.writes.lock().await;
        let snap = self.serverless_snapshot(ctx, i.snapshot_name.as_deref(), i.snapshot_arn.as_deref())?;
        let from = self.serverless_snapshot_dir(&snap.account, &snap.region, &snap.id);
        let mut n = self
            .restore_namespace(ctx, i.namespace_name.as_deref(), i.workgroup_name.as_deref(), from, &snap.namespace)
            .await?;
        // The restored admin user keeps the snapshot's password, unless Redshift manages it:
        // then it gets a new one, in a new secret.
        let manage = i.manage_admin_password == Some(true)
            || (n.admin_password_secret.is_some() && i.manage_admin_password != Some(false));
        if let (true, Some(user)) = (manage, n.admin_username.clone()) {
            let kms = i.admin_password_secret_kms_key_id.clone();
            let secret = self.create_managed_secret(ctx, &n.name, &user, kms.clone()).await?;
            self.set_admin_password(&n, &user, &secret.password).await?;
            let new = crate::ManagedPassword { arn: secret.arn, kms_key_id: kms };
            if let Some(old) = n.admin_password_secret.replace(new) {
                self.delete_managed_secret(ctx, &old.arn).await?;
            }
        } else if let Some(old) = n.admin_password_secret.take() {
            self.delete_managed_secret(ctx, &old.arn).await?;
        }
        self.put_namespace(&n).await?;
        Ok(m::RestoreFromSnapshotResponse {
            snapshot_name: Some(snap.name.clone()),
            owner_account: Some(snap.account.clone()),
            namespace: Some(namespace_out(&n, "MODIFYING")),
        })
    }
}
