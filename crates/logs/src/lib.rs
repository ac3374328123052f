//! Amazon CloudWatch Logs on the json-1.1 protocol: log groups (classes, retention enforced by
//! a background pass, tags, KMS key recorded), log streams, PutLogEvents with AWS's rules,
//! GetLogEvents with its tokens, FilterLogEvents with the filter-pattern language, queries in
//! Logs Insights, OpenSearch SQL and PPL.
mod events;
mod field_indexes;
mod insights;
mod insights_pattern;
mod insights_scan;
mod metric_filters;
mod pattern;
mod ppl;
mod sql;
mod subscriptions;

use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::{Authorization, NoOutput, Row, TypedService};
use nuage_protocol::logs as m;
use nuage_protocol::logs::errors::Error as E;
use nuage_protocol::Protocol;
use nuage_storage::redb::TableDefinition;
use nuage_storage::{BytesTable, JsonTable, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Log groups, by `account/region/name`.
const GROUPS: JsonTable = TableDefinition::new("logs_groups");
/// Log streams, by `account/region/group` NUL `stream`.
const STREAMS: JsonTable = TableDefinition::new("logs_streams");
/// Saved Logs Insights queries, by `account/region/id`.
const QUERY_DEFINITIONS: JsonTable = TableDefinition::new("logs_query_definitions");
/// Events, by stream id, timestamp and ingestion sequence.
const EVENTS: BytesTable = TableDefinition::new("logs_events");
/// Metric filters, by `account/region/group` NUL `name`.
const METRIC_FILTERS: JsonTable = TableDefinition::new("logs_metric_filters");

/// The retention periods CloudWatch Logs accepts, in days.
const RETENTION_DAYS: &[i32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn invalid(msg: impl Into<String>) -> AwsError {
    E::InvalidParameterException.msg(msg)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    account: String,
    region: String,
    name: String,
    id: [u8; 16],
    created_ms: i64,
    retention_days: Option<i32>,
    kms_key_id: Option<String>,
    class: String,
    tags: BTreeMap<String, String>,
    deletion_protection: bool,
}

impl Group {
    fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.name)
    }
    fn arn(&self) -> String {
        format!("arn:aws:logs:{}:{}:log-group:{}", self.region, self.account, self.name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stream {
    name: String,
    id: [u8; 16],
    created_ms: i64,
    first_event: Option<i64>,
    last_event: Option<i64>,
    last_ingestion: Option<i64>,
    stored_bytes: i64,
}

fn stream_key(g: &Group, stream: &str) -> String {
    format!("{}\u{0}{stream}", g.key())
}

/// Log group names: 1 to 512 of `[.\-_/#A-Za-z0-9]`; stream names: 1 to 512, no `:` or `*`.
fn check_group_name(name: &str) -> AwsResult<()> {
    if name.is_empty() || name.len() > 512 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c)) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )));
    }
    Ok(())
}

fn check_stream_name(name: &str) -> AwsResult<()> {
    if name.is_empty() || name.len() > 512 || name.contains(':') || name.contains('*') {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"
        )));
    }
    Ok(())
}

fn group_missing() -> AwsError {
    E::ResourceNotFoundException.msg("The specified log group does not exist.")
}

fn stream_missing() -> AwsError {
    E::ResourceNotFoundException.msg("The specified log stream does not exist.")
}

/// The service's state, shared with the retention pass.
pub struct Logs {
    store: Store,
    /// Orders events of the same stream and timestamp by arrival.
    sequence: std::sync::atomic::AtomicU64,
    /// Logs Insights queries and their results, by query id.
    queries: Arc<std::sync::Mutex<std::collections::HashMap<String, events::QueryRun>>>,
    /// The front door, through which metric filters publish to CloudWatch.
    internal: Arc<nuage_front::Internal>,
}

impl Logs {
    pub fn new(store: Store, internal: Arc<nuage_front::Internal>) -> Arc<Logs> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Arc::new(Logs {
            store,
            sequence: std::sync::atomic::AtomicU64::new(seed),
            queries: Default::default(),
            internal,
        })
    }

    fn group(&self, ctx: &RequestContext, name: Option<&str>) -> AwsResult<Group> {
        let name = name.ok_or_else(|| invalid("logGroupName is required"))?;
        let key = format!("{}/{}/{name}", ctx.account_id().unwrap_or_default(), ctx.region);
        self.store.read()?.get(GROUPS, &key)?.ok_or_else(group_missing)
    }

    /// A group by `logGroupName` or `logGroupIdentifier` (its name or ARN), not both.
    fn group_by(&self, ctx: &RequestContext, name: Option<&str>, identifier: Option<&str>) -> AwsResult<Group> {
        match (name, identifier) {
            (Some(_), Some(_)) => Err(invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")),
            (Some(n), None) => self.group(ctx, Some(n)),
            (None, Some(id)) => {
                let name = id.split(":log-group:").nth(1).map(|n| n.trim_end_matches(":*")).unwrap_or(id);
                self.group(ctx, Some(name))
            }
            (None, None) => Err(invalid("Either logGroupName or logGroupIdentifier must be specified.")),
        }
    }

    fn stream(&self, g: &Group, name: Option<&str>) -> AwsResult<Stream> {
        let name = name.ok_or_else(|| invalid("logStreamName is required"))?;
        self.store.read()?.get(STREAMS, &stream_key(g, name))?.ok_or_else(stream_missing)
    }

    async fn create_group(&self, ctx: &RequestContext, i: m::CreateLogGroupRequest) -> AwsResult<NoOutput> {
        let name = i.log_group_name.unwrap_or_default();
        check_group_name(&name)?;
        let class = i.log_group_class.unwrap_or_else(|| "STANDARD".into());
        if !["STANDARD", "INFREQUENT_ACCESS", "DELIVERY"].contains(&class.as_str()) {
            return Err(invalid(format!("Unknown log group class: {class}")));
        }
        let tags = i.tags.unwrap_or_default();
        if tags.len() > 50 {
            return Err(E::LimitExceededException.msg("A log group can have at most 50 tags."));
        }
        let g = Group {
            account: ctx.account_id().unwrap_or_default().to_string(),
            region: ctx.region.clone(),
            name,
            id: *uuid::Uuid::new_v4().as_bytes(),
            created_ms: now_ms(),
            // DELIVERY log groups keep their events two days.
            retention_days: (class == "DELIVERY").then_some(2),
            kms_key_id: i.kms_key_id,
            class,
            tags,
            deletion_protection: i.deletion_protection_enabled.unwrap_or(false),
        };
        self.store
            .write(move |w| {
                if w.get::<Group>(GROUPS, &g.key())?.is_some() {
                    return Err(E::ResourceAlreadyExistsException.msg("The specified log group already exists"));
                }
                w.put(GROUPS, &g.key(), &g)
            })
            .await?;
        Ok(NoOutput)
    }

    async fn delete_group(&self, ctx: &RequestContext, i: m::DeleteLogGroupRequest) -> AwsResult<NoOutput> {
        let g = self.group(ctx, i.log_group_name.as_deref())?;
        if g.deletion_protection {
            return Err(E::OperationAbortedException.msg(
                "Log group deletion protection is enabled. Disable deletion protection before deleting the log group.",
            ));
        }
        let streams: Vec<(String, Stream)> = self.store.read()?.scan(STREAMS, &format!("{}\u{0}", g.key()))?;
        self.store
            .write(move |w| {
                for (key, s) in &streams {
                    for k in w.keys_with_prefix(EVENTS, &s.id)? {
                        w.delete_bytes(EVENTS, &k);
                    }
                    w.delete(STREAMS, key)?;
                }
                w.delete(GROUPS, &g.key())
            })
            .await?;
        Ok(NoOutput)
    }

    fn describe_groups(
        &self,
        ctx: &RequestContext,
        i: m::DescribeLogGroupsRequest,
    ) -> AwsResult<m::DescribeLogGroupsResponse> {
        if i.log_group_name_prefix.is_some() && i.log_group_name_pattern.is_some() {
            return Err(invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."));
        }
        let limit = i.limit.unwrap_or(50);
        if !(1..=50).contains(&limit) {
            return Err(invalid(format!("1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50")));
        }
        let base = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let prefix = format!("{base}{}", i.log_group_name_prefix.clone().unwrap_or_default());
        let start = i.next_token.clone().map(|t| format!("{base}{t}\u{0}")).unwrap_or_else(|| prefix.clone());
        let rows: Vec<(String, Group)> = self.store.read()?.scan_from(GROUPS, &prefix, &start, usize::MAX)?;
        let pattern = i.log_group_name_pattern.as_deref().map(str::to_ascii_lowercase);
        let mut groups: Vec<Group> = rows
            .into_iter()
            .map(|(_, g)| g)
            .filter(|g| pattern.as_ref().is_none_or(|p| g.name.to_ascii_lowercase().contains(p)))
            .filter(|g| i.log_group_class.as_ref().is_none_or(|c| *c == g.class))
            .filter(|g| {
                i.log_group_identifiers.as_ref().is_none_or(|ids| ids.iter().any(|id| *id == g.name || *id == g.arn()))
            })
            .collect();
        let more = groups.len() > limit as usize;
        groups.truncate(limit as usize);
        let out: Vec<m::LogGroup> = groups
            .iter()
            .map(|g| m::LogGroup {
                log_group_name: Some(g.name.clone()),
                creation_time: Some(g.created_ms),
                retention_in_days: g.retention_days,
                metric_filter_count: Some(0),
                arn: Some(format!("{}:*", g.arn())),
                log_group_arn: Some(g.arn()),
                stored_bytes: Some(self.stored_bytes(g).unwrap_or(0)),
                kms_key_id: g.kms_key_id.clone(),
                log_group_class: Some(g.class.clone()),
                deletion_protection_enabled: Some(g.deletion_protection),
                ..Default::default()
            })
            .collect();
        Ok(m::DescribeLogGroupsResponse {
            next_token: if more { groups.last().map(|g| g.name.clone()) } else { None },
            log_groups: Some(out),
        })
    }

    fn stored_bytes(&self, g: &Group) -> AwsResult<i64> {
        let streams: Vec<(String, Stream)> = self.store.read()?.scan(STREAMS, &format!("{}\u{0}", g.key()))?;
        Ok(streams.iter().map(|(_, s)| s.stored_bytes).sum())
    }

    async fn create_stream(&self, ctx: &RequestContext, i: m::CreateLogStreamRequest) -> AwsResult<NoOutput> {
        let g = self.group(ctx, i.log_group_name.as_deref())?;
        let name = i.log_stream_name.unwrap_or_default();
        check_stream_name(&name)?;
        let s = Stream {
            name: name.clone(),
            id: *uuid::Uuid::new_v4().as_bytes(),
            created_ms: now_ms(),
            first_event: None,
            last_event: None,
            last_ingestion: None,
            stored_bytes: 0,
        };
        let key = stream_key(&g, &name);
        self.store
            .write(move |w| {
                if w.get::<Stream>(STREAMS, &key)?.is_some() {
                    return Err(E::ResourceAlreadyExistsException.msg("The specified log stream already exists"));
                }
                w.put(STREAMS, &key, &s)
            })
            .await?;
        Ok(NoOutput)
    }

    async fn delete_stream(&self, ctx: &RequestContext, i: m::DeleteLogStreamRequest) -> AwsResult<NoOutput> {
        let g = self.group(ctx, i.log_group_name.as_deref())?;
        let s = self.stream(&g, i.log_stream_name.as_deref())?;
        let key = stream_key(&g, &s.name);
        self.store
            .write(move |w| {
                for k in w.keys_with_prefix(EVENTS, &s.id)? {
                    w.delete_bytes(EVENTS, &k);
                }
                w.delete(STREAMS, &key)
            })
            .await?;
        Ok(NoOutput)
    }

    fn describe_streams(
        &self,
        ctx: &RequestContext,
        i: m::DescribeLogStreamsRequest,
    ) -> AwsResult<m::DescribeLogStreamsResponse> {
        let g = self.group_by(ctx, i.log_group_name.as_deref(), i.log_group_identifier.as_deref())?;
        let order = i.order_by.clone().unwrap_or_else(|| "LogStreamName".into());
        if order == "LastEventTime" && i.log_stream_name_prefix.is_some() {
            return Err(invalid("Cannot order by LastEventTime with a logStreamNamePrefix."));
        }
        let limit = i.limit.unwrap_or(50);
        if !(1..=50).contains(&limit) {
            return Err(invalid(format!("1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50")));
        }
        let prefix = format!("{}\u{0}{}", g.key(), i.log_stream_name_prefix.clone().unwrap_or_default());
        let rows: Vec<(String, Stream)> = self.store.read()?.scan(STREAMS, &prefix)?;
        let mut streams: Vec<Stream> = rows.into_iter().map(|(_, s)| s).collect();
        if order == "LastEventTime" {
            streams.sort_by_key(|s| (s.last_event.unwrap_or(0), s.name.clone()));
        }
        if i.descending == Some(true) {
            streams.reverse();
        }
        let start = match &i.next_token {
            Some(t) => t.parse::<usize>().map_err(|_| invalid("The specified nextToken is invalid."))?,
            None => 0,
        };
        let page: Vec<&Stream> = streams.iter().skip(start).take(limit as usize).collect();
        let more = start + page.len() < streams.len();
        Ok(m::DescribeLogStreamsResponse {
            log_streams: Some(
                page.iter()
                    .map(|s| m::LogStream {
                        log_stream_name: Some(s.name.clone()),
                        creation_time: Some(s.created_ms),
                        first_event_timestamp: s.first_event,
                        last_event_timestamp: s.last_event,
                        last_ingestion_time: s.last_ingestion,
                        arn: Some(format!("{}:log-stream:{}", g.arn(), s.name)),
                        stored_bytes: Some(s.stored_bytes),
                        upload_sequence_token: None,
                    })
                    .collect(),
            ),
            next_token: more.then(|| (start + page.len()).to_string()),
        })
    }

    async fn put_retention(&self, ctx: &RequestContext, i: m::PutRetentionPolicyRequest) -> AwsResult<NoOutput> {
        let mut g = self.group(ctx, i.log_group_name.as_deref())?;
        let days = i.retention_in_days.unwrap_or_default();
        if !RETENTION_DAYS.contains(&days) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
            )));
        }
        g.retention_days = Some(days);
        self.store.write(move |w| w.put(GROUPS, &g.key(), &g)).await?;
        Ok(NoOutput)
    }

    async fn delete_retention(&self, ctx: &RequestContext, i: m::DeleteRetentionPolicyRequest) -> AwsResult<NoOutput> {
        let mut g = self.group(ctx, i.log_group_name.as_deref())?;
        g.retention_days = None;
        self.store.write(move |w| w.put(GROUPS, &g.key(), &g)).await?;
        Ok(NoOutput)
    }

    /// Tags by ARN (`arn:aws:logs:...:log-group:name`) or by group name (the older calls).
    async fn tag(
        &self,
        ctx: &RequestContext,
        group: &str,
        add: BTreeMap<String, String>,
        remove: Vec<String>,
    ) -> AwsResult<()> {
        let mut g = self.group(ctx, Some(group))?;
        g.tags.extend(add);
        g.tags.retain(|k, _| !remove.contains(k));
        if g.tags.len() > 50 {
            return Err(E::TooManyTagsException.msg("A resource can have no more than 50 tags."));
        }
        self.store.write(move |w| w.put(GROUPS, &g.key(), &g)).await
    }

    async fn put_query_definition(
        &self,
        ctx: &RequestContext,
        i: m::PutQueryDefinitionRequest,
    ) -> AwsResult<m::PutQueryDefinitionResponse> {
        let language = i.query_language.clone().unwrap_or_else(|| "CWLI".into());
        if !["CWLI", "SQL", "PPL"].contains(&language.as_str()) {
            return Err(invalid(format!(
                "Value '{language}' at 'queryLanguage' failed to satisfy constraint: Member must satisfy enum value set: [CWLI, SQL, PPL]"
            )));
        }
        let prefix = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let id = match &i.query_definition_id {
            Some(id) => {
                if self.store.read()?.get::<m::QueryDefinition>(QUERY_DEFINITIONS, &format!("{prefix}{id}"))?.is_none()
                {
                    return Err(E::ResourceNotFoundException.msg(format!("Query definition {id} does not exist")));
                }
                id.clone()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let def = m::QueryDefinition {
            query_language: Some(language),
            query_definition_id: Some(id.clone()),
            name: i.name,
            query_string: i.query_string,
            last_modified: Some(now_ms()),
            log_group_names: i.log_group_names,
            parameters: i.parameters,
        };
        let key = format!("{prefix}{id}");
        self.store.write(move |w| w.put(QUERY_DEFINITIONS, &key, &def)).await?;
        Ok(m::PutQueryDefinitionResponse { query_definition_id: Some(id) })
    }

    fn describe_query_definitions(
        &self,
        ctx: &RequestContext,
        i: m::DescribeQueryDefinitionsRequest,
    ) -> AwsResult<m::DescribeQueryDefinitionsResponse> {
        let prefix = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let mut defs: Vec<m::QueryDefinition> = self
            .store
            .read()?
            .scan::<m::QueryDefinition>(QUERY_DEFINITIONS, &prefix)?
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| {
                // Definitions saved before languages were recorded are Logs Insights ones.
                i.query_language.as_ref().is_none_or(|l| d.query_language.as_deref().unwrap_or("CWLI") == l.as_str())
            })
            .filter(|d| {
                i.query_definition_name_prefix
                    .as_ref()
                    .is_none_or(|p| d.name.as_deref().unwrap_or_default().starts_with(p.as_str()))
            })
            .collect();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        let start = match &i.next_token {
            Some(t) => t.parse::<usize>().map_err(|_| invalid("The specified nextToken is invalid."))?,
            None => 0,
        };
        let max = i.max_results.unwrap_or(1000).clamp(1, 1000) as usize;
        let more = defs.len() > start + max;
        let page: Vec<m::QueryDefinition> = defs.into_iter().skip(start).take(max).collect();
        Ok(m::DescribeQueryDefinitionsResponse {
            next_token: more.then(|| (start + max).to_string()),
            query_definitions: Some(page),
        })
    }

    async fn delete_query_definition(
        &self,
        ctx: &RequestContext,
        i: m::DeleteQueryDefinitionRequest,
    ) -> AwsResult<m::DeleteQueryDefinitionResponse> {
        let id = i.query_definition_id.unwrap_or_default();
        let key = format!("{}/{}/{id}", ctx.account_id().unwrap_or_default(), ctx.region);
        self.store
            .write(move |w| {
                if w.get::<m::QueryDefinition>(QUERY_DEFINITIONS, &key)?.is_none() {
                    return Err(E::ResourceNotFoundException.msg(format!("Query definition {id} does not exist")));
                }
                w.delete(QUERY_DEFINITIONS, &key)
            })
            .await?;
        Ok(m::DeleteQueryDefinitionResponse { success: Some(true) })
    }

    /// Deletes events older than each group's retention, as the service does in the
    /// background.
    pub async fn run_retention(self: Arc<Self>, interval: std::time::Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.expire().await {
                tracing::warn!(error = %e.message, "CloudWatch Logs retention pass failed");
            }
        }
    }

    async fn expire(&self) -> AwsResult<()> {
        let groups: Vec<(String, Group)> = self.store.read()?.scan(GROUPS, "")?;
        for (_, g) in groups {
            let Some(days) = g.retention_days else { continue };
            let horizon = now_ms() - days as i64 * 86_400_000;
            let streams: Vec<(String, Stream)> = self.store.read()?.scan(STREAMS, &format!("{}\u{0}", g.key()))?;
            for (key, s) in streams {
                events::expire_stream(&self.store, key, s, horizon).await?;
            }
        }
        Ok(())
    }
}

fn group_name_of_arn(arn: &str) -> &str {
    arn.split(":log-group:").nth(1).map(|n| n.trim_end_matches(":*")).unwrap_or(arn)
}

/// CloudWatch Logs behind the front door.
pub struct LogsService(pub Arc<Logs>);

impl LogsService {
    fn on_group(&self, ctx: &RequestContext, action: &'static str, group: Option<&str>) -> Authorization {
        let name = group.map(group_name_of_arn).unwrap_or("*");
        let mut a = Authorization {
            action,
            resource: format!("arn:aws:logs:{}:{}:log-group:{name}", ctx.region, ctx.account_id().unwrap_or_default()),
            ..Default::default()
        };
        if let Ok(g) = self.0.group(ctx, Some(name)) {
            for (k, v) in &g.tags {
                a.context.set(&format!("aws:ResourceTag/{k}"), v.clone());
            }
        }
        a
    }

    fn on_stream(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        group: Option<&str>,
        stream: Option<&str>,
    ) -> Authorization {
        let mut a = self.on_group(ctx, action, group);
        a.resource = format!("{}:log-stream:{}", a.resource, stream.unwrap_or("*"));
        a
    }
}

impl TypedService for LogsService {
    type Operation = m::ops::Operation;

    fn status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.0.store.read() else { return Vec::new() };
        vec![("log groups", r.count(GROUPS).unwrap_or(0)), ("log streams", r.count(STREAMS).unwrap_or(0))]
    }

    fn signing_name(&self) -> &'static str {
        "logs"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Json
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    fn validation_error(&self) -> Option<&'static str> {
        Some("InvalidParameterException")
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: m::ops::Operation) -> Row<'a> {
        use m::ops::Operation as O;
        let l = &self.0;
        match op {
            O::CreateLogGroup(i) => {
                let mut a = self.on_group(ctx, "logs:CreateLogGroup", i.log_group_name.as_deref());
                let tags = i.tags.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
                a.context.set_request_tags(tags, Vec::new());
                Row::authorized(a, l.create_group(ctx, i))
            }
            O::DeleteLogGroup(i) => Row::authorized(
                self.on_group(ctx, "logs:DeleteLogGroup", i.log_group_name.as_deref()),
                l.delete_group(ctx, i),
            ),
            O::DescribeLogGroups(i) => Row::serve(
                "logs:DescribeLogGroups",
                format!("arn:aws:logs:{}:{}:log-group:*", ctx.region, ctx.account_id().unwrap_or_default()),
                async move { l.describe_groups(ctx, i) },
            ),
            O::CreateLogStream(i) => {
                let a = self.on_stream(
                    ctx,
                    "logs:CreateLogStream",
                    i.log_group_name.as_deref(),
                    i.log_stream_name.as_deref(),
                );
                Row::authorized(a, l.create_stream(ctx, i))
            }
            O::DeleteLogStream(i) => {
                let a = self.on_stream(
                    ctx,
                    "logs:DeleteLogStream",
                    i.log_group_name.as_deref(),
                    i.log_stream_name.as_deref(),
                );
                Row::authorized(a, l.delete_stream(ctx, i))
            }
            O::DescribeLogStreams(i) => {
                let group = i.log_group_name.clone().or(i.log_group_identifier.clone());
                Row::authorized(self.on_group(ctx, "logs:DescribeLogStreams", group.as_deref()), async move {
                    l.describe_streams(ctx, i)
                })
            }
            O::PutLogEvents(i) => {
                let a =
                    self.on_stream(ctx, "logs:PutLogEvents", i.log_group_name.as_deref(), i.log_stream_name.as_deref());
                Row::authorized(a, l.put_events(ctx, i))
            }
            O::GetLogEvents(i) => {
                let group = i.log_group_name.clone().or(i.log_group_identifier.clone());
                let a = self.on_stream(ctx, "logs:GetLogEvents", group.as_deref(), i.log_stream_name.as_deref());
                Row::authorized(a, async move { l.get_events(ctx, i) })
            }
            O::FilterLogEvents(i) => {
                let group = i.log_group_name.clone().or(i.log_group_identifier.clone());
                Row::authorized(self.on_group(ctx, "logs:FilterLogEvents", group.as_deref()), async move {
                    l.filter_events(ctx, i)
                })
            }
            O::PutRetentionPolicy(i) => Row::authorized(
                self.on_group(ctx, "logs:PutRetentionPolicy", i.log_group_name.as_deref()),
                l.put_retention(ctx, i),
            ),
            O::DeleteRetentionPolicy(i) => Row::authorized(
                self.on_group(ctx, "logs:DeleteRetentionPolicy", i.log_group_name.as_deref()),
                l.delete_retention(ctx, i),
            ),
            O::TagResource(i) => {
                let mut a = self.on_group(ctx, "logs:TagResource", i.resource_arn.as_deref());
                let tags: BTreeMap<String, String> = i.tags.clone().unwrap_or_default();
                a.context.set_request_tags(tags.clone().into_iter().collect(), Vec::new());
                Row::authorized(a, async move {
                    l.tag(ctx, group_name_of_arn(i.resource_arn.as_deref().unwrap_or_default()), tags, Vec::new())
                        .await?;
                    Ok(NoOutput)
                })
            }
            O::UntagResource(i) => {
                let mut a = self.on_group(ctx, "logs:UntagResource", i.resource_arn.as_deref());
                let keys = i.tag_keys.clone().unwrap_or_default();
                a.context.set_request_tags(Vec::new(), keys.clone());
                Row::authorized(a, async move {
                    l.tag(ctx, group_name_of_arn(i.resource_arn.as_deref().unwrap_or_default()), BTreeMap::new(), keys)
                        .await?;
                    Ok(NoOutput)
                })
            }
            O::ListTagsForResource(i) => {
                let a = self.on_group(ctx, "logs:ListTagsForResource", i.resource_arn.as_deref());
                Row::authorized(a, async move {
                    let g = l.group(ctx, Some(group_name_of_arn(i.resource_arn.as_deref().unwrap_or_default())))?;
                    Ok(m::ListTagsForResourceResponse { tags: Some(g.tags) })
                })
            }
            O::TagLogGroup(i) => {
                let a = self.on_group(ctx, "logs:TagLogGroup", i.log_group_name.as_deref());
                Row::authorized(a, async move {
                    l.tag(ctx, i.log_group_name.as_deref().unwrap_or_default(), i.tags.unwrap_or_default(), Vec::new())
                        .await?;
                    Ok(NoOutput)
                })
            }
            O::UntagLogGroup(i) => {
                let a = self.on_group(ctx, "logs:UntagLogGroup", i.log_group_name.as_deref());
                Row::authorized(a, async move {
                    l.tag(
                        ctx,
                        i.log_group_name.as_deref().unwrap_or_default(),
                        BTreeMap::new(),
                        i.tags.unwrap_or_default(),
                    )
                    .await?;
                    Ok(NoOutput)
                })
            }
            O::ListTagsLogGroup(i) => {
                let a = self.on_group(ctx, "logs:ListTagsLogGroup", i.log_group_name.as_deref());
                Row::authorized(a, async move {
                    let g = l.group(ctx, i.log_group_name.as_deref())?;
                    Ok(m::ListTagsLogGroupResponse { tags: Some(g.tags) })
                })
            }
            O::StartQuery(i) => {
                // The groups a SOURCE command, an SQL FROM clause or a PPL source selects are
                // authorised like named ones.
                let named = i.log_group_name.is_some()
                    || i.log_group_names.as_ref().is_some_and(|n| !n.is_empty())
                    || i.log_group_identifiers.as_ref().is_some_and(|n| !n.is_empty());
                let text = i.query_string.as_deref().unwrap_or_default();
                let selected: Vec<String> = match i.query_language.as_deref() {
                    _ if named => Vec::new(),
                    Some("SQL") => sql::parse_sql(text).map(|q| q.groups()).unwrap_or_default(),
                    Some("PPL") => ppl::parse(text).map(|q| q.sources).unwrap_or_default(),
                    _ => match insights::parse(text) {
                        Ok(q) => q.source.map(|s| l.source_groups(ctx, &s).unwrap_or_default()).unwrap_or_default(),
                        Err(_) => Vec::new(),
                    },
                };
                let group = i
                    .log_group_name
                    .clone()
                    .or_else(|| i.log_group_names.as_ref().and_then(|n| n.first().cloned()))
                    .or_else(|| selected.first().cloned());
                let mut a = self.on_group(ctx, "logs:StartQuery", group.as_deref());
                let others = i.log_group_names.iter().flatten().skip(1).chain(i.log_group_identifiers.iter().flatten());
                for other in others.chain(selected.iter().skip(1)) {
                    a.also.push(self.on_group(ctx, "logs:StartQuery", Some(other)));
                }
                Row::authorized(a, async move { l.start_query(ctx, i) })
            }
            O::GetQueryResults(i) => Row::serve("logs:GetQueryResults", "*", async move { l.query_results(ctx, i) }),
            O::StopQuery(i) => Row::serve("logs:StopQuery", "*", async move { l.stop_query(ctx, i) }),
            O::DescribeQueries(i) => Row::serve("logs:DescribeQueries", "*", async move { l.describe_queries(ctx, i) }),
            O::GetLogRecord(i) => Row::serve("logs:GetLogRecord", "*", async move { l.log_record(ctx, i) }),
            O::PutQueryDefinition(i) => Row::serve("logs:PutQueryDefinition", "*", l.put_query_definition(ctx, i)),
            O::DescribeQueryDefinitions(i) => {
                Row::serve("logs:DescribeQueryDefinitions", "*", async move { l.describe_query_definitions(ctx, i) })
            }
            O::DeleteQueryDefinition(i) => {
                Row::serve("logs:DeleteQueryDefinition", "*", l.delete_query_definition(ctx, i))
            }
            O::PutMetricFilter(i) => {
                Row::authorized(self.on_group(ctx, "logs:PutMetricFilter", i.log_group_name.as_deref()), async move {
                    l.put_metric_filter(ctx, i).await?;
                    Ok(NoOutput)
                })
            }
            O::DeleteMetricFilter(i) => Row::authorized(
                self.on_group(ctx, "logs:DeleteMetricFilter", i.log_group_name.as_deref()),
                async move {
                    l.delete_metric_filter(ctx, i).await?;
                    Ok(NoOutput)
                },
            ),
            O::DescribeMetricFilters(i) => Row::authorized(
                self.on_group(ctx, "logs:DescribeMetricFilters", i.log_group_name.as_deref()),
                async move { l.describe_metric_filters(ctx, i) },
            ),
            O::TestMetricFilter(i) => Row::serve("logs:TestMetricFilter", "*", async move {
                let p = pattern::parse(i.filter_pattern.as_deref().unwrap_or_default()).map_err(invalid)?;
                let matches = i
                    .log_event_messages
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .filter(|(_, msg)| p.matches(msg))
                    .map(|(n, msg)| m::MetricFilterMatchRecord {
                        event_number: Some(n as i64 + 1),
                        extracted_values: Some(p.extracted(&msg)),
                        event_message: Some(msg),
                    })
                    .collect();
                Ok(m::TestMetricFilterResponse { matches: Some(matches) })
            }),
            O::PutSubscriptionFilter(i) => Row::authorized(
                self.on_group(ctx, "logs:PutSubscriptionFilter", i.log_group_name.as_deref()),
                async move {
                    l.put_subscription_filter(ctx, i)?;
                    Ok(NoOutput)
                },
            ),
            O::DescribeSubscriptionFilters(i) => Row::authorized(
                self.on_group(ctx, "logs:DescribeSubscriptionFilters", i.log_group_name.as_deref()),
                async move { l.describe_subscription_filters(ctx, i) },
            ),
            O::DeleteSubscriptionFilter(i) => Row::authorized(
                self.on_group(ctx, "logs:DeleteSubscriptionFilter", i.log_group_name.as_deref()),
                async move {
                    l.delete_subscription_filter(ctx, i)?;
                    Ok(NoOutput)
                },
            ),
            O::PutIndexPolicy(i) => Row::authorized(
                self.on_group(ctx, "logs:PutIndexPolicy", i.log_group_identifier.as_deref()),
                l.put_index_policy(ctx, i),
            ),
            O::DeleteIndexPolicy(i) => Row::authorized(
                self.on_group(ctx, "logs:DeleteIndexPolicy", i.log_group_identifier.as_deref()),
                async move {
                    l.delete_index_policy(ctx, i).await?;
                    Ok(NoOutput)
                },
            ),
            O::DescribeIndexPolicies(i) => {
                let group = i.log_group_identifiers.as_ref().and_then(|g| g.first().cloned());
                Row::authorized(self.on_group(ctx, "logs:DescribeIndexPolicies", group.as_deref()), async move {
                    l.describe_index_policies(ctx, i)
                })
            }
            O::DescribeFieldIndexes(i) => {
                let ids = i.log_group_identifiers.clone().unwrap_or_default();
                let mut a = self.on_group(ctx, "logs:DescribeFieldIndexes", ids.first().map(String::as_str));
                for other in ids.iter().skip(1) {
                    a.also.push(self.on_group(ctx, "logs:DescribeFieldIndexes", Some(other)));
                }
                Row::authorized(a, async move { l.describe_field_indexes(ctx, i) })
            }
            O::AssociateKmsKey(_)
            | O::AssociateSourceToS3TableIntegration(_)
            | O::CancelExportTask(_)
            | O::CancelImportTask(_)
            | O::CreateDelivery(_)
            | O::CreateExportTask(_)
            | O::CreateImportTask(_)
            | O::CreateLogAnomalyDetector(_)
            | O::CreateLookupTable(_)
            | O::CreateScheduledQuery(_)
            | O::DeleteAccountPolicy(_)
            | O::DeleteDataProtectionPolicy(_)
            | O::DeleteDelivery(_)
            | O::DeleteDeliveryDestination(_)
            | O::DeleteDeliveryDestinationPolicy(_)
            | O::DeleteDeliverySource(_)
            | O::DeleteDestination(_)
            | O::DeleteIntegration(_)
            | O::DeleteLogAnomalyDetector(_)
            | O::DeleteLookupTable(_)
            | O::DeleteResourcePolicy(_)
            | O::DeleteScheduledQuery(_)
            | O::DeleteSyslogConfiguration(_)
            | O::DeleteTransformer(_)
            | O::DescribeAccountPolicies(_)
            | O::DescribeConfigurationTemplates(_)
            | O::DescribeDeliveries(_)
            | O::DescribeDeliveryDestinations(_)
            | O::DescribeDeliverySources(_)
            | O::DescribeDestinations(_)
            | O::DescribeExportTasks(_)
            | O::DescribeImportTaskBatches(_)
            | O::DescribeImportTasks(_)
            | O::DescribeLookupTables(_)
            | O::DescribeResourcePolicies(_)
            | O::DisassociateKmsKey(_)
            | O::DisassociateSourceFromS3TableIntegration(_)
            | O::GetDataProtectionPolicy(_)
            | O::GetDelivery(_)
            | O::GetDeliveryDestination(_)
            | O::GetDeliveryDestinationPolicy(_)
            | O::GetDeliverySource(_)
            | O::GetIntegration(_)
            | O::GetLogAnomalyDetector(_)
            | O::GetLogFields(_)
            | O::GetLogGroupFields(_)
            | O::GetLogObject(_)
            | O::GetLookupTable(_)
            | O::GetScheduledQuery(_)
            | O::GetScheduledQueryHistory(_)
            | O::GetStorageTierPolicy(_)
            | O::GetTransformer(_)
            | O::ListAggregateLogGroupSummaries(_)
            | O::ListAnomalies(_)
            | O::ListIntegrations(_)
            | O::ListLogAnomalyDetectors(_)
            | O::ListLogGroups(_)
            | O::ListLogGroupsForQuery(_)
            | O::ListScheduledQueries(_)
            | O::ListSourcesForS3TableIntegration(_)
            | O::ListSyslogConfigurations(_)
            | O::PutAccountPolicy(_)
            | O::PutBearerTokenAuthentication(_)
            | O::PutDataProtectionPolicy(_)
            | O::PutDeliveryDestination(_)
            | O::PutDeliveryDestinationPolicy(_)
            | O::PutDeliverySource(_)
            | O::PutDestination(_)
            | O::PutDestinationPolicy(_)
            | O::PutIntegration(_)
            | O::PutLogGroupDeletionProtection(_)
            | O::PutResourcePolicy(_)
            | O::PutStorageTierPolicy(_)
            | O::PutSyslogConfiguration(_)
            | O::PutTransformer(_)
            | O::StartLiveTail(_)
            | O::TestTransformer(_)
            | O::UpdateAnomaly(_)
            | O::UpdateDeliveryConfiguration(_)
            | O::UpdateLogAnomalyDetector(_)
            | O::UpdateLookupTable(_)
            | O::UpdateScheduledQuery(_) => Row::NotServed,
        }
    }
}
