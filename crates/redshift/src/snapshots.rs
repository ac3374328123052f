//! Cluster snapshots: a snapshot is a copy of the cluster's database with the cluster as it
//! was; manual ones are kept for their retention period (-1: until deleted), may be copied,
//! shared with other accounts for restore, and are restored into a new cluster.
use crate::api::*;
use crate::cluster_options::requested;
use crate::{key, now_ms, ClusterRecord, Redshift, SnapshotRecord, SNAPSHOTS};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::errors::Error as E;
use nuage_protocol::Timestamp;

pub(crate) fn snapshot_not_found(id: &str) -> AwsError {
    E::ClusterSnapshotNotFoundFault.msg(format!("Snapshot {id} not found."))
}

pub(crate) fn snapshot_arn(s: &SnapshotRecord) -> String {
    format!("arn:aws:redshift:{}:{}:snapshot:{}/{}", s.region, s.account, s.cluster.identifier, s.identifier)
}

/// Whole days left before a manual snapshot with a retention period is deleted.
fn remaining_days(s: &SnapshotRecord) -> Option<i32> {
    (s.kind == "manual" && s.retention_days >= 0).then(|| {
        let age = (now_ms() - s.create_time_ms) / 86_400_000;
        (s.retention_days as i64 - age).max(0) as i32
    })
}

fn expired(s: &SnapshotRecord, now: i64) -> bool {
    s.kind == "manual" && s.retention_days >= 0 && now - s.create_time_ms >= s.retention_days as i64 * 86_400_000
}

fn check_retention(days: i32) -> AwsResult<i32> {
    if !(days == -1 || (1..=3653).contains(&days)) {
        return Err(E::InvalidRetentionPeriodFault
            .msg("Manual snapshot retention period must be -1 or between 1 and 3653 days."));
    }
    Ok(days)
}

pub(crate) fn snapshot_out(s: &SnapshotRecord, status: &str) -> m::Snapshot {
    let c = &s.cluster;
    let mb = s.size_bytes as f64 / (1024.0 * 1024.0);
    let mut out = m::Snapshot {
        snapshot_identifier: Some(s.identifier.clone()),
        cluster_identifier: Some(c.identifier.clone()),
        snapshot_create_time: Some(Timestamp(s.create_time_ms)),
        status: Some(status.into()),
        port: Some(c.port),
        cluster_create_time: Some(Timestamp(c.create_time_ms)),
        master_username: Some(c.master_username.clone()),
        cluster_version: Some("1.0".into()),
        engine_full_version: Some("1.0.77467".into()),
        snapshot_type: Some(s.kind.clone()),
        node_type: Some(c.node_type.clone()),
        number_of_nodes: Some(c.number_of_nodes),
        db_name: Some(c.db_name.clone()),
        encrypted: Some(c.encrypted),
        kms_key_id: c.options.kms_key_id.clone(),
        encrypted_with_hsm: Some(false),
        accounts_with_restore_access: (!s.restore_accounts.is_empty()).then(|| {
            s.restore_accounts
                .iter()
                .map(|a| m::AccountWithRestoreAccess { account_id: Some(a.clone()), account_alias: None })
                .collect()
        }),
        owner_account: Some(s.account.clone()),
        total_backup_size_in_mega_bytes: Some(mb),
        actual_incremental_backup_size_in_mega_bytes: Some(mb),
        backup_progress_in_mega_bytes: Some(mb),
        current_backup_rate_in_mega_bytes_per_second: Some(0.0),
        estimated_seconds_to_completion: Some(0),
        elapsed_time_in_seconds: Some(0),
        tags: Some(tags_out(&s.tags)),
        restorable_node_types: Some(vec![c.node_type.clone()]),
        enhanced_vpc_routing: Some(c.options.enhanced_vpc_routing),
        maintenance_track_name: Some(c.options.maintenance_track.clone()),
        manual_snapshot_retention_period: Some(s.retention_days),
        manual_snapshot_remaining_days: remaining_days(s),
        snapshot_retention_start_time: Some(Timestamp(s.create_time_ms)),
        snapshot_arn: Some(snapshot_arn(s)),
        ..Default::default()
    };
    out.availability_zone = Some(c.options.availability_zone.clone().unwrap_or_else(|| format!("{}a", c.region)));
    out.vpc_id = c.options.vpc_id.clone();
    out
}

/// The name Redshift gives an automated snapshot: `rs:<cluster>-<yyyy-mm-dd-hh-mm-ss>`.
fn automated_name(cluster: &str, ms: i64) -> String {
    // 2024-01-05T08:00:00.000Z → 2024-01-05-08-00-00
    let iso = nuage_protocol::time_fmt::iso8601(Timestamp(ms));
    let stamp: String = iso[..19].chars().map(|c| if c == 'T' || c == ':' { '-' } else { c }).collect();
    format!("rs:{cluster}-{stamp}")
}

/// One snapshot a batch could not change, as SnapshotErrorMessage reports it.
fn snapshot_error(id: &str, cluster: Option<String>, e: &AwsError) -> m::SnapshotErrorMessage {
    m::SnapshotErrorMessage {
        snapshot_identifier: Some(id.to_string()),
        snapshot_cluster_identifier: cluster,
        failure_code: Some(e.code.to_string()),
        failure_reason: Some(e.message.clone()),
    }
}

impl Redshift {
    /// Takes each available cluster's automated snapshot when `snapshots` has passed since its
    /// last one (or its creation), and deletes the automated snapshots older than the
    /// cluster's retention period (all of them for a period of 0); takes each served
    /// serverless namespace's recovery point every `recovery_points`; until the process ends.
    pub async fn run_backups(
        self: std::sync::Arc<Self>,
        snapshots: std::time::Duration,
        recovery_points: std::time::Duration,
    ) {
        let mut tick = tokio::time::interval(snapshots.min(recovery_points).min(std::time::Duration::from_secs(60)));
        loop {
            tick.tick().await;
            if let Err(e) = self.automated_snapshot_pass(snapshots.as_millis() as i64).await {
                tracing::warn!(error = %e.message, "automated snapshot pass failed");
            }
            if let Err(e) = self.recovery_point_pass(recovery_points.as_millis() as i64).await {
                tracing::warn!(error = %e.message, "recovery point pass failed");
            }
        }
    }

    async fn automated_snapshot_pass(&self, every_ms: i64) -> AwsResult<()> {
        let clusters: Vec<(String, ClusterRecord)> = self.store.read()?.scan(crate::CLUSTERS, "")?;
        let snapshots: Vec<(String, SnapshotRecord)> = self.store.read()?.scan(SNAPSHOTS, "")?;
        let now = now_ms();
        for (_, c) in clusters {
            let _one = self.writes.lock().await;
            let Some(c) = self.get(&c.account, &c.region, &c.identifier)? else { continue };
            let automated: Vec<&SnapshotRecord> = snapshots
                .iter()
                .map(|(_, s)| s)
                .filter(|s| s.kind == "automated" && s.account == c.account && s.region == c.region)
                .filter(|s| s.cluster.identifier == c.identifier && s.cluster.namespace_uuid == c.namespace_uuid)
                .collect();
            let keep_ms = c.options.automated_snapshot_retention as i64 * 86_400_000;
            for s in automated.iter().filter(|s| now - s.create_time_ms >= keep_ms) {
                self.remove_snapshot(s).await?;
            }
            let last = automated.iter().map(|s| s.create_time_ms).max().unwrap_or(c.create_time_ms);
            // A snapshot schedule, when the cluster has one, says when; else the interval.
            let due = match c.snapshot_schedule.as_deref() {
                Some(id) => self.snapshot_schedule(&c.account, &c.region, id)?.is_some_and(|s| {
                    let since = last.max(c.snapshot_schedule_since_ms);
                    s.next_after(since, c.snapshot_schedule_since_ms).is_some_and(|t| t <= now)
                }),
                None => now - last >= every_ms,
            };
            if c.status == "available" && keep_ms > 0 && due {
                let name = automated_name(&c.identifier, now);
                self.take_snapshot(&c, &name, "automated", c.tags.clone(), c.options.automated_snapshot_retention)
                    .await?;
                tracing::info!(cluster = %c.identifier, snapshot = %name, "automated snapshot taken");
            }
        }
        Ok(())
    }

    /// Deletes a cluster's automated snapshots (the cluster is being deleted).
    pub(crate) async fn remove_automated_snapshots(&self, c: &ClusterRecord) -> AwsResult<()> {
        let all: Vec<(String, SnapshotRecord)> =
            self.store.read()?.scan(SNAPSHOTS, &format!("{}/{}/", c.account, c.region))?;
        for (_, s) in all {
            if s.kind == "automated"
                && s.cluster.identifier == c.identifier
                && s.cluster.namespace_uuid == c.namespace_uuid
            {
                self.remove_snapshot(&s).await?;
            }
        }
        Ok(())
    }

    /// Copies a cluster's database into a new snapshot.
    pub(crate) async fn take_snapshot(
        &self,
        c: &ClusterRecord,
        id: &str,
        kind: &str,
        tags: Vec<(String, String)>,
        retention_days: i32,
    ) -> AwsResult<SnapshotRecord> {
        self.purge_expired_snapshots(&c.account, &c.region).await?;
        let k = key(&c.account, &c.region, id);
        if self.store.read()?.get::<SnapshotRecord>(SNAPSHOTS, &k)?.is_some() {
            return Err(E::ClusterSnapshotAlreadyExistsFault.msg(format!(
                "Cannot create the snapshot because a snapshot with the identifier {id} already exists."
            )));
        }
        let to = self.snapshot_dir(&c.account, &c.region, id);
        self.copy_database(self.warehouse(c), self.cluster_dir(&c.account, &c.region, &c.identifier), &to).await?;
        let s = SnapshotRecord {
            account: c.account.clone(),
            region: c.region.clone(),
            identifier: id.to_string(),
            cluster: c.clone(),
            create_time_ms: now_ms(),
            kind: kind.into(),
            tags,
            size_bytes: dir_size(&to),
            retention_days,
            restore_accounts: vec![],
        };
        let v = s.clone();
        self.store.write(move |w| w.put(SNAPSHOTS, &k, &v)).await?;
        let message = format!("A {kind} snapshot {id} of Amazon Redshift cluster '{}' has been created.", c.identifier);
        self.record_event(&c.account, &c.region, "REDSHIFT-EVENT-2005", id, message).await;
        Ok(s)
    }

    pub(crate) async fn create_snapshot(
        &self,
        ctx: &RequestContext,
        i: m::CreateClusterSnapshotMessage,
    ) -> AwsResult<m::CreateClusterSnapshotResult> {
        let _one = self.writes.lock().await;
        let id = check_identifier(
            i.snapshot_identifier.as_deref().ok_or_else(|| missing("SnapshotIdentifier"))?,
            "Snapshot",
        )?;
        let c = self.cluster(ctx, i.cluster_identifier.as_deref())?;
        if c.status != "available" {
            return Err(bad_state(&c));
        }
        let retention =
            check_retention(i.manual_snapshot_retention_period.unwrap_or(c.options.manual_snapshot_retention))?;
        let s = self.take_snapshot(&c, &id, "manual", tags_in(i.tags), retention).await?;
        Ok(m::CreateClusterSnapshotResult { snapshot: Some(snapshot_out(&s, "available")) })
    }

    /// The caller's snapshots and those other accounts shared with it, in its region;
    /// expired manual snapshots are gone.
    pub(crate) fn snapshots(&self, ctx: &RequestContext) -> AwsResult<Vec<SnapshotRecord>> {
        let acct = account(ctx)?;
        let now = now_ms();
        Ok(self
            .store
            .read()?
            .scan::<SnapshotRecord>(SNAPSHOTS, "")?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| s.region == ctx.region && (s.account == acct || s.restore_accounts.iter().any(|a| a == acct)))
            .filter(|s| !expired(s, now))
            .collect())
    }

    /// A snapshot the caller owns (or, with `owner`, one shared with it).
    fn find_snapshot(
        &self,
        ctx: &RequestContext,
        id: &str,
        cluster: Option<&str>,
        owner: Option<&str>,
    ) -> AwsResult<SnapshotRecord> {
        let acct = account(ctx)?;
        let owner = owner.unwrap_or(acct);
        let id = id.to_ascii_lowercase();
        self.snapshots(ctx)?
            .into_iter()
            .find(|s| {
                s.identifier == id
                    && s.account == owner
                    && cluster.is_none_or(|c| c.eq_ignore_ascii_case(&s.cluster.identifier))
            })
            .ok_or_else(|| snapshot_not_found(&id))
    }

    /// A snapshot named by identifier or ARN.
    fn snapshot_named(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
        arn: Option<&str>,
        cluster: Option<&str>,
        owner: Option<&str>,
    ) -> AwsResult<SnapshotRecord> {
        match (id, arn) {
            (Some(id), _) => self.find_snapshot(ctx, id, cluster, owner),
            (None, Some(arn)) => {
                self.snapshots(ctx)?.into_iter().find(|s| snapshot_arn(s) == arn).ok_or_else(|| snapshot_not_found(arn))
            }
            (None, None) => Err(missing("SnapshotIdentifier")),
        }
    }

    async fn put_snapshot(&self, s: &SnapshotRecord) -> AwsResult<()> {
        let (k, v) = (key(&s.account, &s.region, &s.identifier), s.clone());
        self.store.write(move |w| w.put(SNAPSHOTS, &k, &v)).await
    }

    async fn remove_snapshot(&self, s: &SnapshotRecord) -> AwsResult<()> {
        let message = format!("The {} snapshot {} has been deleted.", s.kind, s.identifier);
        self.record_event(&s.account, &s.region, "REDSHIFT-EVENT-2006", &s.identifier, message).await;
        let k = key(&s.account, &s.region, &s.identifier);
        self.store.write(move |w| w.delete(SNAPSHOTS, &k)).await?;
        let dir = self.snapshot_dir(&s.account, &s.region, &s.identifier);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
        Ok(())
    }

    /// Deletes the account's manual snapshots whose retention period has passed.
    async fn purge_expired_snapshots(&self, account: &str, region: &str) -> AwsResult<()> {
        let now = now_ms();
        let gone: Vec<SnapshotRecord> = self
            .store
            .read()?
            .scan::<SnapshotRecord>(SNAPSHOTS, &format!("{account}/{region}/"))?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| expired(s, now))
            .collect();
        for s in gone {
            self.remove_snapshot(&s).await?;
        }
        Ok(())
    }

    pub(crate) fn describe_snapshots(
        &self,
        ctx: &RequestContext,
        i: m::DescribeClusterSnapshotsMessage,
    ) -> AwsResult<m::SnapshotMessage> {
        let mut all = self.snapshots(ctx)?;
        if let Some(id) = &i.snapshot_identifier {
            all.retain(|s| s.identifier == id.to_ascii_lowercase());
            if all.is_empty() {
                return Err(snapshot_not_found(id));
            }
        }
        if let Some(arn) = &i.snapshot_arn {
            all.retain(|s| &snapshot_arn(s) == arn);
            if all.is_empty() {
                return Err(snapshot_not_found(arn));
            }
        }
        if let Some(c) = &i.cluster_identifier {
            all.retain(|s| s.cluster.identifier == c.to_ascii_lowercase());
        }
        if let Some(t) = &i.snapshot_type {
            if !matches!(t.as_str(), "manual" | "automated") {
                return Err(invalid(format!("Invalid snapshot type: {t}. Valid values are manual and automated.")));
            }
            all.retain(|s| s.kind == *t);
        }
        if let Some(o) = &i.owner_account {
            all.retain(|s| &s.account == o);
        }
        if let Some(t) = &i.start_time {
            all.retain(|s| s.create_time_ms >= t.0);
        }
        if let Some(t) = &i.end_time {
            all.retain(|s| s.create_time_ms <= t.0);
        }
        let keys = i.tag_keys.unwrap_or_default();
        let values = i.tag_values.unwrap_or_default();
        all.retain(|s| crate::api::tags_match(&s.tags, &keys, &values));
        if let Some(exists) = i.cluster_exists {
            let acct = account(ctx)?;
            let live: Vec<String> = self.list(acct, &ctx.region)?.into_iter().map(|c| c.identifier).collect();
            all.retain(|s| live.contains(&s.cluster.identifier) == exists);
        }
        all.sort_by_key(|s| s.create_time_ms);
        for e in i.sorting_entities.iter().flatten().rev() {
            let desc = e.sort_order.as_deref() == Some("DESC");
            match e.attribute.as_deref() {
                Some("SOURCE_TYPE") => all.sort_by(|a, b| a.kind.cmp(&b.kind)),
                Some("TOTAL_SIZE") => all.sort_by_key(|s| s.size_bytes),
                Some("CREATE_TIME") => all.sort_by_key(|s| s.create_time_ms),
                other => return Err(invalid(format!("Invalid sorting attribute: {}", other.unwrap_or_default()))),
            }
            if desc {
                all.reverse();
            }
        }
        let (page, marker) = page(all, i.marker.as_deref(), i.max_records)?;
        Ok(m::SnapshotMessage { snapshots: Some(page.iter().map(|s| snapshot_out(s, "available")).collect()), marker })
    }

    pub(crate) async fn modify_snapshot(
        &self,
        ctx: &RequestContext,
        i: m::ModifyClusterSnapshotMessage,
    ) -> AwsResult<m::ModifyClusterSnapshotResult> {
        let _one = self.writes.lock().await;
        let id = i.snapshot_identifier.ok_or_else(|| missing("SnapshotIdentifier"))?;
        let s = self.retain_snapshot(ctx, &id, i.manual_snapshot_retention_period, i.force.unwrap_or(false)).await?;
        Ok(m::ModifyClusterSnapshotResult { snapshot: Some(snapshot_out(&s, "available")) })
    }

    /// Sets a manual snapshot's retention; one that would already have passed needs `force`.
    async fn retain_snapshot(
        &self,
        ctx: &RequestContext,
        id: &str,
        days: Option<i32>,
        force: bool,
    ) -> AwsResult<SnapshotRecord> {
        let mut s = self.find_snapshot(ctx, id, None, None)?;
        if s.kind != "manual" {
            return Err(E::InvalidClusterSnapshotStateFault
                .msg("The retention period of an automated snapshot cannot be changed."));
        }
        s.retention_days = check_retention(days.unwrap_or(-1))?;
        if expired(&s, now_ms()) && !force {
            return Err(E::InvalidRetentionPeriodFault.msg(format!(
                "The retention period of snapshot {} has already passed: use Force to delete it now.",
                s.identifier
            )));
        }
        if expired(&s, now_ms()) {
            self.remove_snapshot(&s).await?;
        } else {
            self.put_snapshot(&s).await?;
        }
        Ok(s)
    }

    pub(crate) async fn batch_modify_snapshots(
        &self,
        ctx: &RequestContext,
        i: m::BatchModifyClusterSnapshotsMessage,
    ) -> AwsResult<m::BatchModifyClusterSnapshotsOutputMessage> {
        let ids = i.snapshot_identifier_list.ok_or_else(|| missing("SnapshotIdentifierList"))?;
        if ids.len() > 100 {
            return Err(E::BatchModifyClusterSnapshotsLimitExceededFault
                .msg("You can modify at most 100 snapshots in one request."));
        }
        if let Some(d) = i.manual_snapshot_retention_period {
            check_retention(d)?;
        }
        let _one = self.writes.lock().await;
        let (mut done, mut errors) = (Vec::new(), Vec::new());
        for id in ids {
            match self.retain_snapshot(ctx, &id, i.manual_snapshot_retention_period, i.force.unwrap_or(false)).await {
                Ok(_) => done.push(id),
                Err(e) => errors.push(snapshot_error(&id, None, &e)),
            }
        }
        Ok(m::BatchModifyClusterSnapshotsOutputMessage { resources: Some(done), errors: Some(errors) })
    }

    pub(crate) async fn batch_delete_snapshots(
        &self,
        ctx: &RequestContext,
        i: m::BatchDeleteClusterSnapshotsRequest,
    ) -> AwsResult<m::BatchDeleteClusterSnapshotsResult> {
        let ids = i.identifiers.ok_or_else(|| missing("Identifiers"))?;
        if ids.len() > 100 {
            return Err(
                E::BatchDeleteRequestSizeExceededFault.msg("You can delete at most 100 snapshots in one request.")
            );
        }
        let _one = self.writes.lock().await;
        let (mut done, mut errors) = (Vec::new(), Vec::new());
        for d in ids {
            let id = d.snapshot_identifier.clone().unwrap_or_default();
            let found = self.find_snapshot(ctx, &id, d.snapshot_cluster_identifier.as_deref(), None);
            match found {
                Ok(s) if s.kind == "manual" => {
                    self.remove_snapshot(&s).await?;
                    done.push(id);
                }
                Ok(_) => errors.push(snapshot_error(
                    &id,
                    d.snapshot_cluster_identifier,
                    &E::InvalidClusterSnapshotStateFault.msg("An automated snapshot cannot be deleted."),
                )),
                Err(e) => errors.push(snapshot_error(&id, d.snapshot_cluster_identifier, &e)),
            }
        }
        Ok(m::BatchDeleteClusterSnapshotsResult { resources: Some(done), errors: Some(errors) })
    }

    pub(crate) async fn copy_snapshot(
        &self,
        ctx: &RequestContext,
        i: m::CopyClusterSnapshotMessage,
    ) -> AwsResult<m::CopyClusterSnapshotResult> {
        let _one = self.writes.lock().await;
        let source = i.source_snapshot_identifier.ok_or_else(|| missing("SourceSnapshotIdentifier"))?;
        let target = check_identifier(
            i.target_snapshot_identifier.as_deref().ok_or_else(|| missing("TargetSnapshotIdentifier"))?,
            "Snapshot",
        )?;
        let src = self.find_snapshot(ctx, &source, i.source_snapshot_cluster_identifier.as_deref(), None)?;
        let retention = check_retention(i.manual_snapshot_retention_period.unwrap_or(-1))?;
        if self.store.read()?.get::<SnapshotRecord>(SNAPSHOTS, &key(&src.account, &src.region, &target))?.is_some() {
            return Err(E::ClusterSnapshotAlreadyExistsFault.msg(format!(
                "Cannot create the snapshot because a snapshot with the identifier {target} already exists."
            )));
        }
        let from = self.snapshot_dir(&src.account, &src.region, &src.identifier);
        let to = self.snapshot_dir(&src.account, &src.region, &target);
        self.copy_database(None, from, &to).await?;
        let s = SnapshotRecord {
            identifier: target,
            create_time_ms: now_ms(),
            kind: "manual".into(),
            retention_days: retention,
            restore_accounts: vec![],
            ..src
        };
        self.put_snapshot(&s).await?;
        Ok(m::CopyClusterSnapshotResult { snapshot: Some(snapshot_out(&s, "available")) })
    }

    /// Shares a snapshot with another account for restore (`grant`), or stops sharing it.
    pub(crate) async fn snapshot_access(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
        arn: Option<&str>,
        cluster: Option<&str>,
        other: Option<String>,
        grant: bool,
    ) -> AwsResult<m::Snapshot> {
        let other = other.ok_or_else(|| missing("AccountWithRestoreAccess"))?;
        if !(other.len() == 12 && other.chars().all(|c| c.is_ascii_digit())) {
            return Err(invalid(format!("Invalid account ID: {other}")));
        }
        let _one = self.writes.lock().await;
        let mut s = self.snapshot_named(ctx, id, arn, cluster, None)?;
        if s.account != account(ctx)? {
            return Err(
                E::AccessToSnapshotDeniedFault.msg("Only the owner of a snapshot may change who can restore it.")
            );
        }
        let has = s.restore_accounts.contains(&other);
        if grant {
            if has {
                return Err(E::AuthorizationAlreadyExistsFault
                    .msg(format!("Account {other} is already authorized to restore the snapshot.")));
            }
            if s.restore_accounts.len() >= 100 {
                return Err(
                    E::AuthorizationQuotaExceededFault.msg("A snapshot can be shared with at most 100 accounts.")
                );
            }
            s.restore_accounts.push(other);
        } else {
            if !has {
                return Err(E::AuthorizationNotFoundFault
                    .msg(format!("Account {other} is not authorized to restore the snapshot.")));
            }
            s.restore_accounts.retain(|a| *a != other);
        }
        self.put_snapshot(&s).await?;
        Ok(snapshot_out(&s, "available"))
    }

    pub(crate) async fn restore(
        &self,
        ctx: &RequestContext,
        i: m::RestoreFromClusterSnapshotMessage,
    ) -> AwsResult<m::RestoreFromClusterSnapshotResult> {
        let _one = self.writes.lock().await;
        let acct = account(ctx)?.to_string();
        let id =
            check_identifier(i.cluster_identifier.as_deref().ok_or_else(|| missing("ClusterIdentifier"))?, "Cluster")?;
        let snap = self.snapshot_named(
            ctx,
            i.snapshot_identifier.as_deref(),
            i.snapshot_arn.as_deref(),
            i.snapshot_cluster_identifier.as_deref(),
            i.owner_account.as_deref(),
        )?;
        if self.get(&acct, &ctx.region, &id)?.is_some() {
            return Err(E::ClusterAlreadyExistsFault.msg("Cluster already exists"));
        }
        let roles = i.iam_roles.unwrap_or_default();
        for r in &roles {
            check_role_arn(r)?;
        }
        let node_type = i.node_type.clone().unwrap_or(snap.cluster.node_type.clone());
        let mut options = snap.cluster.options.clone();
        requested!(i, {
            aqua: i.aqua_configuration_status.as_deref(),
            identity_center: i.redshift_idc_application_arn.is_some(),
            catalog: i.catalog_name.is_some(),
            ..Default::default()
        })
        .apply(&mut options, &ctx.region, &node_type)?;
        if i.reserved_node_id.is_some() || i.target_reserved_node_offering_id.is_some() {
            return Err(E::UnsupportedOperationFault.msg("Reserved nodes are not served by nuage."));
        }
        if let Some(name) = &i.cluster_subnet_group_name {
            let group = self.subnet_group(ctx, name).await?;
            options.subnet_group = Some(group.name().to_string());
            options.vpc_id = Some(group.vpc_id.clone());
        }
        let from = self.snapshot_dir(&snap.account, &snap.region, &snap.identifier);
        let to = self.cluster_dir(&acct, &ctx.region, &id);
        tokio::task::spawn_blocking(move || nuage_warehouse::copy_database(&from, &to))
            .await
            .map_err(AwsError::internal)?
            .map_err(crate::sql_err)?;
        let mut c = ClusterRecord {
            identifier: id,
            port: i.port.unwrap_or(snap.cluster.port),
            bound_port: None,
            iam_roles: roles,
            default_iam_role: i.default_iam_role_arn,
            vpc_security_group_ids: i.vpc_security_group_ids.unwrap_or_default(),
            publicly_accessible: i.publicly_accessible.unwrap_or(snap.cluster.publicly_accessible),
            number_of_nodes: i.number_of_nodes.unwrap_or(snap.cluster.number_of_nodes),
            tags: Vec::new(),
            status: "available".into(),
            create_time_ms: now_ms(),
            namespace_uuid: uuid::Uuid::new_v4().to_string(),
            parameter_group: i
                .cluster_parameter_group_name
                .as_deref()
                .map(|g| crate::parameter_groups::check_cluster_group(self, &acct, &ctx.region, g))
                .transpose()?,
            parameters_pending_reboot: false,
            options,
            node_type,
            account: acct.clone(),
            master_password_secret: None,
            last_resize: None,
            snapshot_schedule: match &i.snapshot_schedule_identifier {
                Some(s) => {
                    self.check_snapshot_schedule(ctx, s)?;
                    Some(s.clone())
                }
                None => None,
            },
            snapshot_schedule_since_ms: now_ms(),
            ..snap.cluster.clone()
        };
        self.start(&mut c).await?;
        let message =
            format!("Amazon Redshift cluster '{}' has been restored from snapshot {}.", c.identifier, snap.identifier);
        self.record_event(&acct, &ctx.region, "REDSHIFT-EVENT-2008", &c.identifier, message).await;
        if i.manage_master_password == Some(true) {
            let kms = i.master_password_secret_kms_key_id.clone();
            let s = self.create_managed_secret(ctx, &c.identifier, &c.master_username, kms.clone()).await?;
            let wh = self.warehouse(&c).ok_or_else(|| AwsError::internal("the restored cluster is not running"))?;
            wh.set_password(&c.master_username, &s.password, true).await.map_err(crate::sql_err)?;
            c.master_password_secret = Some(crate::ManagedPassword { arn: s.arn, kms_key_id: kms });
        }
        self.put(&c).await?;
        Ok(m::RestoreFromClusterSnapshotResult { cluster: Some(cluster_out(&c, Some("creating"))) })
    }

    pub(crate) async fn delete_snapshot(
        &self,
        ctx: &RequestContext,
        i: m::DeleteClusterSnapshotMessage,
    ) -> AwsResult<m::DeleteClusterSnapshotResult> {
        let _one = self.writes.lock().await;
        let sid = i.snapshot_identifier.ok_or_else(|| missing("SnapshotIdentifier"))?;
        let snap = self.find_snapshot(ctx, &sid, i.snapshot_cluster_identifier.as_deref(), None)?;
        if snap.kind != "manual" {
            return Err(E::InvalidClusterSnapshotStateFault.msg("An automated snapshot cannot be deleted."));
        }
        self.remove_snapshot(&snap).await?;
        Ok(m::DeleteClusterSnapshotResult { snapshot: Some(snapshot_out(&snap, "deleted")) })
    }
}
