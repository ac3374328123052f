//! Scheduled actions: pause, resume or resize a cluster at a time (`at(...)`) or on a
//! recurring schedule (`cron(...)`), between an optional start and end. When one is due, the
//! scheduler (`scheduler.redshift.amazonaws.com`) assumes the action's IAM role through STS and
//! calls PauseCluster/ResumeCluster/ResizeCluster through the front door as that role, so the
//! role's trust policy and permissions decide, as on AWS. A run missed while nuage was down is
//! made once when it comes back.
use crate::api::{account, invalid, missing, page};
use crate::schedule::{Forms, Schedule};
use crate::{key, now_ms, Redshift};
use nuage_core::{AwsResult, Principal, RequestContext};
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::errors::Error as E;
use nuage_protocol::sts;
use nuage_protocol::Timestamp;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};

const SCHEDULED_ACTIONS: JsonTable = TableDefinition::new("redshift_scheduled_actions");
const SCHEDULER: &str = "scheduler.redshift.amazonaws.com";
/// Scheduled actions per account and region, as Redshift's quota.
const QUOTA: usize = 200;
/// How many of the next invocations a description lists.
const SHOWN: usize = 10;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ActionRecord {
    account: String,
    region: String,
    name: String,
    target: m::ScheduledActionType,
    schedule: String,
    iam_role: String,
    description: Option<String>,
    enabled: bool,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    created_ms: i64,
    /// The last invocation run (or skipped as past when the action was changed).
    last_run_ms: i64,
}

impl ActionRecord {
    fn schedule(&self) -> Option<Schedule> {
        Schedule::parse(&self.schedule, Forms::Actions).ok()
    }

    /// Invocations after `after_ms` inside the action's start and end.
    fn invocations(&self, after_ms: i64, until_ms: Option<i64>, n: usize) -> Vec<i64> {
        let Some(s) = self.schedule() else { return Vec::new() };
        let from = after_ms.max(self.start_ms.map(|t| t - 1).unwrap_or(i64::MIN));
        let until = match (until_ms, self.end_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        s.upcoming(from, self.created_ms, until, n)
    }

    fn cluster(&self) -> Option<&str> {
        let t = &self.target;
        t.pause_cluster
            .as_ref()
            .and_then(|p| p.cluster_identifier.as_deref())
            .or(t.resume_cluster.as_ref().and_then(|r| r.cluster_identifier.as_deref()))
            .or(t.resize_cluster.as_ref().and_then(|r| r.cluster_identifier.as_deref()))
    }

    fn kind(&self) -> &'static str {
        match (&self.target.pause_cluster, &self.target.resume_cluster) {
            (Some(_), _) => "PauseCluster",
            (_, Some(_)) => "ResumeCluster",
            _ => "ResizeCluster",
        }
    }

    fn arn(&self) -> String {
        format!("arn:aws:redshift:{}:{}:scheduledaction:{}", self.region, self.account, self.name)
    }
}

fn out(a: &ActionRecord, now: i64) -> m::ScheduledAction {
    m::ScheduledAction {
        scheduled_action_name: Some(a.name.clone()),
        target_action: Some(a.target.clone()),
        schedule: Some(a.schedule.clone()),
        iam_role: Some(a.iam_role.clone()),
        scheduled_action_description: a.description.clone(),
        state: Some(if a.enabled { "ACTIVE" } else { "DISABLED" }.into()),
        next_invocations: Some(a.invocations(now, None, SHOWN).into_iter().map(Timestamp).collect()),
        start_time: a.start_ms.map(Timestamp),
        end_time: a.end_ms.map(Timestamp),
    }
}

fn not_found(name: &str) -> nuage_core::AwsError {
    E::ScheduledActionNotFoundFault.msg(format!("Scheduled action {name} not found."))
}

fn check_name(name: &str) -> AwsResult<()> {
    if !crate::api::is_lowercase_name(name, 60) {
        return Err(invalid(
            "A scheduled action name has 1 to 60 lowercase letters, digits or single hyphens, starts with a letter and does not end with a hyphen.",
        ));
    }
    Ok(())
}

fn check_schedule(s: &str) -> AwsResult<()> {
    Schedule::parse(s, Forms::Actions)
        .map(|_| ())
        .map_err(|why| E::InvalidScheduleFault.msg(format!("Schedule {s} is invalid: {why}.")))
}

/// The target names exactly one action, on a cluster that exists.
fn check_target(rs: &Redshift, ctx: &RequestContext, t: &m::ScheduledActionType) -> AwsResult<()> {
    let given = [t.pause_cluster.is_some(), t.resume_cluster.is_some(), t.resize_cluster.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(E::InvalidScheduledActionFault
            .msg("The target action must be exactly one of PauseCluster, ResumeCluster and ResizeCluster."));
    }
    let probe = ActionRecord {
        account: String::new(),
        region: String::new(),
        name: String::new(),
        target: t.clone(),
        schedule: String::new(),
        iam_role: String::new(),
        description: None,
        enabled: true,
        start_ms: None,
        end_ms: None,
        created_ms: 0,
        last_run_ms: 0,
    };
    let id = probe.cluster().ok_or_else(|| missing("ClusterIdentifier"))?;
    if rs.get(account(ctx)?, &ctx.region, id)?.is_none() {
        return Err(E::ClusterNotFoundFault.msg(format!("Cluster {id} not found.")));
    }
    Ok(())
}

fn check_window(start: Option<i64>, end: Option<i64>) -> AwsResult<()> {
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(E::InvalidScheduledActionFault.msg("The end time must be after the start time."));
        }
    }
    Ok(())
}

impl Redshift {
    fn actions(&self, ctx: &RequestContext) -> AwsResult<Vec<(String, ActionRecord)>> {
        self.store.read()?.scan(SCHEDULED_ACTIONS, &format!("{}/{}/", account(ctx)?, ctx.region))
    }

    /// The scheduler's session of `role`, or None when the role does not let it in.
    async fn scheduler_session(&self, region: &str, role: &str, source: &str) -> Option<Principal> {
        let f = self.internal.frontend().ok()?;
        let by = Principal::service_for(SCHEDULER, source);
        let input = sts::AssumeRoleRequest {
            role_arn: Some(role.to_string()),
            role_session_name: Some("RedshiftScheduler".into()),
            ..Default::default()
        };
        let out = f.call(by, region, input).await.ok()?;
        let key = out.credentials.and_then(|c| c.access_key_id)?;
        Some(f.identities.credential(&key)?.principal)
    }

    /// The role must let the scheduler assume it, as Redshift checks when the action is made.
    async fn check_role(&self, ctx: &RequestContext, role: &str, name: &str) -> AwsResult<()> {
        let acct = account(ctx)?;
        let source = format!("arn:aws:redshift:{}:{acct}:scheduledaction:{name}", ctx.region);
        if self.scheduler_session(&ctx.region, role, &source).await.is_none() {
            return Err(E::InvalidScheduledActionFault.msg(format!(
                "The IAM role {role} cannot be assumed by the Amazon Redshift scheduler: its trust policy must allow {SCHEDULER}."
            )));
        }
        Ok(())
    }

    pub(crate) async fn create_scheduled_action(
        &self,
        ctx: &RequestContext,
        i: m::CreateScheduledActionMessage,
    ) -> AwsResult<m::ScheduledAction> {
        let name = i.scheduled_action_name.ok_or_else(|| missing("ScheduledActionName"))?;
        check_name(&name)?;
        let target = i.target_action.ok_or_else(|| missing("TargetAction"))?;
        let schedule = i.schedule.ok_or_else(|| missing("Schedule"))?;
        let role = i.iam_role.ok_or_else(|| missing("IamRole"))?;
        check_target(self, ctx, &target)?;
        check_schedule(&schedule)?;
        let (start_ms, end_ms) = (i.start_time.map(|t| t.0), i.end_time.map(|t| t.0));
        check_window(start_ms, end_ms)?;
        let existing = self.actions(ctx)?;
        if existing.iter().any(|(_, a)| a.name == name) {
            return Err(E::ScheduledActionAlreadyExistsFault.msg(format!("Scheduled action {name} already exists.")));
        }
        if existing.len() >= QUOTA {
            return Err(E::ScheduledActionQuotaExceededFault.msg(format!("At most {QUOTA} scheduled actions.")));
        }
        self.check_role(ctx, &role, &name).await?;
        let now = now_ms();
        let a = ActionRecord {
            account: account(ctx)?.to_string(),
            region: ctx.region.clone(),
            name: name.clone(),
            target,
            schedule,
            iam_role: role,
            description: i.scheduled_action_description,
            enabled: i.enable.unwrap_or(true),
            start_ms,
            end_ms,
            created_ms: now,
            last_run_ms: now,
        };
        let (k, v) = (key(&a.account, &a.region, &name), a.clone());
        self.store
            .write(move |w| {
                if w.get::<ActionRecord>(SCHEDULED_ACTIONS, &k)?.is_some() {
                    return Err(E::ScheduledActionAlreadyExistsFault
                        .msg(format!("Scheduled action {} already exists.", v.name)));
                }
                w.put(SCHEDULED_ACTIONS, &k, &v)
            })
            .await?;
        Ok(out(&a, now))
    }

    pub(crate) async fn modify_scheduled_action(
        &self,
        ctx: &RequestContext,
        i: m::ModifyScheduledActionMessage,
    ) -> AwsResult<m::ScheduledAction> {
        let name = i.scheduled_action_name.ok_or_else(|| missing("ScheduledActionName"))?;
        let (k, mut a) =
            self.actions(ctx)?.into_iter().find(|(_, a)| a.name == name).ok_or_else(|| not_found(&name))?;
        if let Some(t) = i.target_action {
            check_target(self, ctx, &t)?;
            a.target = t;
        }
        if let Some(s) = i.schedule {
            check_schedule(&s)?;
            a.schedule = s;
            // A new schedule counts from now: past times of it are not made up for.
            a.last_run_ms = now_ms();
        }
        if let Some(role) = i.iam_role {
            self.check_role(ctx, &role, &name).await?;
            a.iam_role = role;
        }
        if let Some(d) = i.scheduled_action_description {
            a.description = Some(d);
        }
        if let Some(t) = i.start_time {
            a.start_ms = Some(t.0);
        }
        if let Some(t) = i.end_time {
            a.end_ms = Some(t.0);
        }
        check_window(a.start_ms, a.end_ms)?;
        if let Some(e) = i.enable {
            if e && !a.enabled {
                a.last_run_ms = now_ms();
            }
            a.enabled = e;
        }
        let v = a.clone();
        self.store.write(move |w| w.put(SCHEDULED_ACTIONS, &k, &v)).await?;
        Ok(out(&a, now_ms()))
    }

    pub(crate) async fn delete_scheduled_action(&self, ctx: &RequestContext, name: Option<String>) -> AwsResult<()> {
        let name = name.ok_or_else(|| missing("ScheduledActionName"))?;
        let (k, _) = self.actions(ctx)?.into_iter().find(|(_, a)| a.name == name).ok_or_else(|| not_found(&name))?;
        self.store.write(move |w| w.delete(SCHEDULED_ACTIONS, &k)).await
    }

    pub(crate) fn describe_scheduled_actions(
        &self,
        ctx: &RequestContext,
        i: m::DescribeScheduledActionsMessage,
    ) -> AwsResult<m::ScheduledActionsMessage> {
        let now = now_ms();
        let mut all: Vec<ActionRecord> = self.actions(ctx)?.into_iter().map(|(_, a)| a).collect();
        if let Some(name) = &i.scheduled_action_name {
            all.retain(|a| &a.name == name);
            if all.is_empty() {
                return Err(not_found(name));
            }
        }
        if let Some(kind) = &i.target_action_type {
            all.retain(|a| a.kind() == kind);
        }
        if let Some(active) = i.active {
            all.retain(|a| a.enabled == active);
        }
        for f in i.filters.iter().flatten() {
            let values = f.values.clone().unwrap_or_default();
            match f.name.as_deref().unwrap_or_default() {
                "cluster-identifier" => all.retain(|a| a.cluster().is_some_and(|c| values.iter().any(|v| v == c))),
                "iam-role" => all.retain(|a| values.contains(&a.iam_role)),
                other => return Err(invalid(format!("The filter {other} is not valid."))),
            }
        }
        let window = (i.start_time.map(|t| t.0), i.end_time.map(|t| t.0));
        let mut shown = Vec::new();
        for a in &all {
            let mut o = out(a, now);
            if window != (None, None) {
                let from = window.0.map(|t| t - 1).unwrap_or(now).max(now);
                let times = a.invocations(from, window.1, SHOWN);
                if times.is_empty() {
                    continue;
                }
                o.next_invocations = Some(times.into_iter().map(Timestamp).collect());
            }
            shown.push(o);
        }
        let (actions, marker) = page(shown, i.marker.as_deref(), i.max_records)?;
        Ok(m::ScheduledActionsMessage { scheduled_actions: Some(actions), marker })
    }

    /// The scheduler: every few seconds, the scheduled actions that are due.
    pub async fn run_scheduler(self: std::sync::Arc<Self>) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = self.scheduled_action_pass().await {
                tracing::warn!(error = %e.message, "scheduled action pass failed");
            }
        }
    }

    /// Runs every due action once.
    pub(crate) async fn scheduled_action_pass(&self) -> AwsResult<()> {
        let now = now_ms();
        let all: Vec<(String, ActionRecord)> = self.store.read()?.scan(SCHEDULED_ACTIONS, "")?;
        for (k, a) in all {
            if !a.enabled {
                continue;
            }
            let due = a.invocations(a.last_run_ms, Some(now), 1000);
            let Some(&last_due) = due.last() else { continue };
            let mut done = a.clone();
            done.last_run_ms = last_due;
            self.store.write(move |w| w.put(SCHEDULED_ACTIONS, &k, &done)).await?;
            self.run_action(&a).await;
        }
        Ok(())
    }

    async fn run_action(&self, a: &ActionRecord) {
        let Some(principal) = self.scheduler_session(&a.region, &a.iam_role, &a.arn()).await else {
            tracing::warn!(action = %a.name, role = %a.iam_role, "scheduled action not run: the scheduler cannot assume its role");
            return;
        };
        let Ok(f) = self.internal.frontend() else { return };
        let t = a.target.clone();
        let result = if let Some(p) = t.pause_cluster {
            f.call(principal, &a.region, p).await.map(|_| ())
        } else if let Some(r) = t.resume_cluster {
            f.call(principal, &a.region, r).await.map(|_| ())
        } else if let Some(r) = t.resize_cluster {
            f.call(principal, &a.region, r).await.map(|_| ())
        } else {
            Ok(())
        };
        match result {
            Ok(()) => tracing::info!(action = %a.name, kind = a.kind(), "scheduled action run"),
            Err(e) => tracing::warn!(action = %a.name, code = %e.code, error = %e.message, "scheduled action failed"),
        }
    }
}
