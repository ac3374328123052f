//! Amazon DynamoDB on the json-1.0 protocol: tables and indexes, items with DynamoDB's
//! expressions, queries and scans, batches and transactions, capacity computed and enforced
//! as AWS does, TTL, all kept in the store.
mod backup;
mod batch;
mod capacity;
mod eval;
mod expr;
mod items;
mod legacy;
mod metrics;
mod number;
mod partiql;
mod query;
mod reserved;
mod streams;
mod table;
mod transfer;
mod value;

use nuage_core::{AwsResult, RequestContext};
use nuage_front::{Authorization, Row, TypedService};
use nuage_protocol::dynamodb as m;
use nuage_protocol::Protocol;
use nuage_storage::redb::TableDefinition;
use nuage_storage::{BytesTable, JsonTable, Store};
use std::sync::Arc;
pub use streams::DynamoDbStreamsService;
use table::Table;
use value::{Av, Item};

/// Table descriptions, by `account/region/name`.
const TABLES: JsonTable = TableDefinition::new("dynamodb_tables");
/// Item counts and sizes, by table id.
const COUNTS: JsonTable = TableDefinition::new("dynamodb_counts");
/// Items, by table prefix, partition key and sort key (see `table::Table::item_key`).
const ITEMS: BytesTable = TableDefinition::new("dynamodb_items");
/// Secondary index entries, by index prefix, index key and table key.
const INDEX_ENTRIES: BytesTable = TableDefinition::new("dynamodb_index_entries");

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The service's state, shared with its background work (TTL, index backfills).
pub struct DynamoDb {
    store: Store,
    capacity: capacity::Throttle,
    tokens: batch::Tokens,
    tables: Arc<table::TableCache>,
    /// The front door, for S3 (exports and imports).
    internal: Arc<nuage_front::Internal>,
    /// Tables' resource policies, parsed once per revision.
    policies: std::sync::Mutex<std::collections::HashMap<String, (String, Arc<nuage_policy::Policy>)>>,
    /// Consumption and throttling, folded for CloudWatch.
    metrics: metrics::Metrics,
}

impl DynamoDb {
    /// `enforce_throughput` off serves every request whatever the tables' capacity (bulk
    /// loading); consumption is still computed and reported.
    pub fn new(store: Store, enforce_throughput: bool, internal: Arc<nuage_front::Internal>) -> Arc<DynamoDb> {
        Arc::new(DynamoDb {
            store,
            capacity: capacity::Throttle::new(enforce_throughput),
            tokens: Default::default(),
            tables: Default::default(),
            internal,
            metrics: Default::default(),
            policies: Default::default(),
        })
    }

    /// A table's resource policy, parsed (its documents were checked when they were put).
    fn parsed_policy(&self, arn: &str, doc: &str, revision: &str) -> Option<Arc<nuage_policy::Policy>> {
        let mut cache = self.policies.lock().ok()?;
        if let Some((r, p)) = cache.get(arn) {
            if r == revision {
                return Some(p.clone());
            }
        }
        let p = Arc::new(nuage_policy::Policy::parse(doc, nuage_policy::PolicyKind::Resource).ok()?);
        cache.insert(arn.to_string(), (revision.to_string(), p.clone()));
        Some(p)
    }

    /// Deletes items whose TTL attribute (epoch seconds) has passed, every `interval`, as
    /// AWS's background process does; like AWS, values more than five years in the past are
    /// not taken as expiry times.
    pub async fn run_ttl(self: Arc<Self>, interval: std::time::Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.expire().await {
                tracing::warn!(error = %e.message, "DynamoDB TTL pass failed");
            }
        }
    }

    async fn expire(&self) -> AwsResult<usize> {
        let tables: Vec<(String, Table)> = self.store.read()?.scan(TABLES, "")?;
        let all: Vec<Table> = tables.iter().map(|(_, t)| t.clone()).collect();
        streams::trim(&self.store, &all).await?;
        self.roll_recovery_forward(&all).await?;
        let now = now_ms() / 1000;
        let mut removed = 0;
        for (_, t) in tables {
            let Some(attr) = t.ttl_attribute.clone() else { continue };
            let mut expired = Vec::new();
            self.store.read()?.range_bytes(
                ITEMS,
                std::ops::Bound::Included(&t.id[..]),
                std::ops::Bound::Excluded(&query::successor(&t.id)[..]),
                true,
                |_, v| {
                    let item = items::decode(v)?;
                    if let Some(Av::N(n)) = item.get(&attr) {
                        let at: f64 = n.parse().unwrap_or(f64::MAX);
                        if at < now as f64 && at > (now - 5 * 365 * 86_400) as f64 {
                            expired.push(t.key.key_of(&item).unwrap_or_default());
                        }
                    }
                    Ok(true)
                },
            )?;
            for key in expired {
                let attr = attr.clone();
                // Deleted only if still expired: a write in between may have extended it.
                let still = move |old: Option<&Item>| match old.and_then(|o| o.get(&attr)) {
                    Some(Av::N(n)) if n.parse::<f64>().unwrap_or(f64::MAX) < now as f64 => Ok(None),
                    _ => Err(nuage_core::AwsError::new("NotExpired", 400, "")),
                };
                let table = t.clone();
                let done = self
                    .store
                    .write(move |w| Ok(items::write_item_as(w, &table, &key, false, true, Box::new(still)).is_ok()))
                    .await?;
                removed += done as usize;
            }
        }
        Ok(removed)
    }
}

/// DynamoDB behind the front door.
pub struct DynamoDbService(pub Arc<DynamoDb>);

fn arn_of(ctx: &RequestContext, table: Option<&str>) -> String {
    let name = table.unwrap_or("*");
    if name.starts_with("arn:") {
        return name.to_string();
    }
    format!("arn:aws:dynamodb:{}:{}:table/{name}", ctx.region, ctx.account_id().unwrap_or_default())
}

/// The condition keys DynamoDB defines for fine-grained access control.
#[derive(Default)]
struct Facts {
    leading_keys: Vec<String>,
    attributes: Option<Vec<String>>,
    select: Option<String>,
    return_values: Option<String>,
    return_consumed_capacity: Option<String>,
}

impl Facts {
    /// A read's facts: the attributes it asks for and its Select (`select` is the stated
    /// one, and whether the read is of an index).
    fn read(
        to_get: Option<&Vec<String>>,
        projection: Option<&str>,
        names: Option<&std::collections::BTreeMap<String, String>>,
        select: (Option<&str>, bool),
        return_consumed_capacity: Option<String>,
    ) -> Facts {
        Facts {
            attributes: requested(to_get, projection, names),
            select: Some(effective_select(select.0, projection.is_some() || to_get.is_some(), select.1)),
            return_consumed_capacity,
            ..Default::default()
        }
    }
}

impl DynamoDbService {
    fn on_table(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        table: Option<&str>,
        index: Option<&str>,
        facts: Facts,
    ) -> Authorization {
        let mut resource = arn_of(ctx, table);
        if let Some(ix) = index {
            resource = format!("{resource}/index/{ix}");
        }
        let mut a = Authorization { action, resource, ..Default::default() };
        if let Ok(t) = self.0.table(ctx, table) {
            for (k, v) in &t.tags {
                a.context.set(&format!("aws:ResourceTag/{k}"), v.clone());
            }
            a.owner_account = Some(t.account.clone());
            a.resource_policy =
                t.policy.as_ref().and_then(|(doc, revision)| self.0.parsed_policy(&t.arn, doc, revision));
        }
        if !facts.leading_keys.is_empty() {
            a.context.set_all("dynamodb:LeadingKeys", facts.leading_keys);
        }
        if let Some(attrs) = facts.attributes {
            a.context.set_all("dynamodb:Attributes", attrs);
        }
        if let Some(s) = facts.select {
            a.context.set("dynamodb:Select", s);
        }
        if let Some(r) = facts.return_values {
            a.context.set("dynamodb:ReturnValues", r);
        }
        if let Some(r) = facts.return_consumed_capacity {
            a.context.set("dynamodb:ReturnConsumedCapacity", r);
        }
        a
    }

    /// The partition key values of `keys` in `table` (for `dynamodb:LeadingKeys`).
    fn leading(
        &self,
        ctx: &RequestContext,
        table: Option<&str>,
        keys: &[&std::collections::BTreeMap<String, m::AttributeValue>],
    ) -> Vec<String> {
        let Ok(t) = self.0.table(ctx, table) else { return Vec::new() };
        keys.iter()
            .filter_map(|k| k.get(&t.key.hash.name))
            .filter_map(|v| v.s.clone().or_else(|| v.n.clone()))
            .collect()
    }

    /// PartiQL statements: each needs its own action (`dynamodb:PartiQLSelect`, ...) on its
    /// table or index. One that does not parse is left to the handler, which refuses it.
    fn on_statements<'s>(
        &self,
        ctx: &RequestContext,
        statements: impl Iterator<Item = (Option<&'s str>, Option<Vec<m::AttributeValue>>)>,
    ) -> Authorization {
        let mut a: Option<Authorization> = None;
        for (text, params) in statements {
            let Some((action, table, index)) = partiql::authorization_facts(text.unwrap_or_default(), params) else {
                continue;
            };
            let this = self.on_table(ctx, action, Some(&table), index.as_deref(), Facts::default());
            match &mut a {
                None => a = Some(this),
                Some(first) => first.also.push(this),
            }
        }
        a.unwrap_or_else(|| self.on_table(ctx, "dynamodb:PartiQLSelect", None, None, Facts::default()))
    }

    /// Further permissions a batch needs: the same action on every other table it names.
    fn batch(&self, ctx: &RequestContext, action: &'static str, tables: Vec<String>) -> Authorization {
        let mut tables = tables.into_iter();
        let mut a = self.on_table(ctx, action, tables.next().as_deref(), None, Facts::default());
        for t in tables {
            a.also.push(self.on_table(ctx, action, Some(&t), None, Facts::default()));
        }
        a
    }
}

/// The top-level attributes a read asks for (`dynamodb:Attributes`): AttributesToGet, or
/// those its ProjectionExpression names; none when it asks for all.
fn requested(
    to_get: Option<&Vec<String>>,
    projection: Option<&str>,
    names: Option<&std::collections::BTreeMap<String, String>>,
) -> Option<Vec<String>> {
    if let Some(a) = to_get {
        return Some(a.clone());
    }
    let empty = std::collections::BTreeMap::new();
    let names = names.unwrap_or(&empty);
    let no_values = Item::new();
    let paths = expr::projection(projection?, &expr::Placeholders::new(names, &no_values)).ok()?;
    Some(top_level(&paths))
}

/// The Select a read makes, stated or implied, as `dynamodb:Select` gives it to policies: a
/// read without a projection asks for every attribute.
fn effective_select(stated: Option<&str>, projection: bool, index: bool) -> String {
    match stated {
        Some(s) => s.to_string(),
        None if projection => "SPECIFIC_ATTRIBUTES".into(),
        None if index => "ALL_PROJECTED_ATTRIBUTES".into(),
        None => "ALL_ATTRIBUTES".into(),
    }
}

fn top_level(paths: &[expr::Path]) -> Vec<String> {
    let mut out: Vec<String> = paths
        .iter()
        .filter_map(|p| match p.first() {
            Some(expr::Step::Attr(a)) => Some(a.clone()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The top-level attributes an UpdateExpression writes, with the item's key.
fn updated(i: &m::UpdateItemInput) -> Option<Vec<String>> {
    let names = i.expression_attribute_names.clone().unwrap_or_default();
    let values = i.expression_attribute_values.clone().map(value::item_from_wire).transpose().ok()?.unwrap_or_default();
    let u = expr::update(i.update_expression.as_deref()?, &expr::Placeholders::new(&names, &values)).ok()?;
    let paths: Vec<expr::Path> = u
        .set
        .iter()
        .map(|(p, _)| p.clone())
        .chain(u.remove.iter().cloned())
        .chain(u.add.iter().map(|(p, _)| p.clone()))
        .chain(u.delete.iter().map(|(p, _)| p.clone()))
        .chain(i.key.iter().flatten().map(|(k, _)| vec![expr::Step::Attr(k.clone())]))
        .collect();
    Some(top_level(&paths))
}

fn names_of(item: Option<&std::collections::BTreeMap<String, m::AttributeValue>>) -> Option<Vec<String>> {
    item.map(|i| i.keys().cloned().collect())
}

impl TypedService for DynamoDbService {
    type Operation = m::ops::Operation;

    fn signing_name(&self) -> &'static str {
        "dynamodb"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Json
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    fn validation_error(&self) -> Option<&'static str> {
        Some("ValidationException")
    }

    fn status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.0.store.read() else { return Vec::new() };
        vec![("tables", r.count(TABLES).unwrap_or(0)), ("backups", r.count(backup::BACKUPS).unwrap_or(0))]
    }

    /// The store was emptied: what is kept in memory about its tables goes too.
    fn reset(&self) {
        self.0.tables.forget();
        self.0.capacity.clear();
        self.0.tokens.clear();
        if let Ok(mut p) = self.0.policies.lock() {
            p.clear();
        }
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: m::ops::Operation) -> Row<'a> {
        use m::ops::Operation as O;
        let d = &self.0;
        match op {
            O::CreateTable(i) => {
                let mut a = self.on_table(ctx, "dynamodb:CreateTable", i.table_name.as_deref(), None, Facts::default());
                let tags = i
                    .tags
                    .iter()
                    .flatten()
                    .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
                    .collect();
                a.context.set_request_tags(tags, Vec::new());
                Row::authorized(a, d.create_table(ctx, i))
            }
            O::DescribeTable(i) => {
                let a = self.on_table(ctx, "dynamodb:DescribeTable", i.table_name.as_deref(), None, Facts::default());
                Row::authorized(a, async move { d.describe_table(ctx, i) })
            }
            O::ListTables(i) => Row::serve("dynamodb:ListTables", "*", async move { d.list_tables(ctx, i) }),
            O::DeleteTable(i) => {
                let a = self.on_table(ctx, "dynamodb:DeleteTable", i.table_name.as_deref(), None, Facts::default());
                Row::authorized(a, d.delete_table(ctx, i))
            }
            O::UpdateTable(i) => {
                let a = self.on_table(ctx, "dynamodb:UpdateTable", i.table_name.as_deref(), None, Facts::default());
                Row::authorized(a, d.update_table(ctx, i))
            }
            O::UpdateTimeToLive(i) => {
                let a =
                    self.on_table(ctx, "dynamodb:UpdateTimeToLive", i.table_name.as_deref(), None, Facts::default());
                Row::authorized(a, d.update_ttl(ctx, i))
            }
            O::DescribeTimeToLive(i) => {
                let a =
                    self.on_table(ctx, "dynamodb:DescribeTimeToLive", i.table_name.as_deref(), None, Facts::default());
                Row::authorized(a, async move { d.describe_ttl(ctx, i) })
            }
            O::TagResource(i) => {
                let mut a =
                    self.on_table(ctx, "dynamodb:TagResource", i.resource_arn.as_deref(), None, Facts::default());
                let tags: Vec<(String, String)> = i
                    .tags
                    .iter()
                    .flatten()
                    .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
                    .collect();
                a.context.set_request_tags(tags.clone(), Vec::new());
                Row::authorized(a, async move {
                    d.tag(ctx, i.resource_arn.as_deref(), tags, Vec::new()).await?;
                    Ok(nuage_front::NoOutput)
                })
            }
            O::UntagResource(i) => {
                let mut a =
                    self.on_table(ctx, "dynamodb:UntagResource", i.resource_arn.as_deref(), None, Facts::default());
                let keys = i.tag_keys.clone().unwrap_or_default();
                a.context.set_request_tags(Vec::new(), keys.clone());
                Row::authorized(a, async move {
                    d.tag(ctx, i.resource_arn.as_deref(), Vec::new(), keys).await?;
                    Ok(nuage_front::NoOutput)
                })
            }
            O::ListTagsOfResource(i) => {
                let a = self.on_table(
                    ctx,
                    "dynamodb:ListTagsOfResource",
                    i.resource_arn.as_deref(),
                    None,
                    Facts::default(),
                );
                Row::authorized(a, async move {
                    let t = d.table(ctx, i.resource_arn.as_deref())?;
                    if i.resource_arn.as_deref() != Some(t.arn.as_str()) {
                        return Err(table::not_found());
                    }
                    Ok(m::ListTagsOfResourceOutput {
                        tags: Some(
                            t.tags
                                .iter()
                                .map(|(k, v)| m::Tag { key: Some(k.clone()), value: Some(v.clone()) })
                                .collect(),
                        ),
                        next_token: None,
                    })
                })
            }
            O::DescribeLimits(_) => Row::serve("dynamodb:DescribeLimits", "*", async move {
                Ok(m::DescribeLimitsOutput {
                    account_max_read_capacity_units: Some(80_000),
                    account_max_write_capacity_units: Some(80_000),
                    table_max_read_capacity_units: Some(40_000),
                    table_max_write_capacity_units: Some(40_000),
                })
            }),
            O::DescribeEndpoints(_) => Row::serve("dynamodb:DescribeEndpoints", "*", async move {
                Ok(m::DescribeEndpointsResponse {
                    endpoints: Some(vec![m::Endpoint {
                        address: Some(format!("dynamodb.{}.amazonaws.com", ctx.region)),
                        cache_period_in_minutes: Some(1440),
                    }]),
                })
            }),
            O::PutItem(i) => {
                let facts = Facts {
                    leading_keys: self.leading(ctx, i.table_name.as_deref(), &i.item.iter().collect::<Vec<_>>()),
                    attributes: names_of(i.item.as_ref()),
                    return_values: i.return_values.clone(),
                    return_consumed_capacity: i.return_consumed_capacity.clone(),
                    ..Default::default()
                };
                let a = self.on_table(ctx, "dynamodb:PutItem", i.table_name.as_deref(), None, facts);
                Row::authorized(a, d.put_item(ctx, i))
            }
            O::GetItem(i) => {
                let facts = Facts {
                    leading_keys: self.leading(ctx, i.table_name.as_deref(), &i.key.iter().collect::<Vec<_>>()),
                    ..Facts::read(
                        i.attributes_to_get.as_ref(),
                        i.projection_expression.as_deref(),
                        i.expression_attribute_names.as_ref(),
                        (None, false),
                        i.return_consumed_capacity.clone(),
                    )
                };
                let a = self.on_table(ctx, "dynamodb:GetItem", i.table_name.as_deref(), None, facts);
                Row::authorized(a, async move { d.get_item(ctx, i) })
            }
            O::UpdateItem(i) => {
                let facts = Facts {
                    leading_keys: self.leading(ctx, i.table_name.as_deref(), &i.key.iter().collect::<Vec<_>>()),
                    attributes: updated(&i),
                    return_values: i.return_values.clone(),
                    return_consumed_capacity: i.return_consumed_capacity.clone(),
                    ..Default::default()
                };
                let a = self.on_table(ctx, "dynamodb:UpdateItem", i.table_name.as_deref(), None, facts);
                Row::authorized(a, d.update_item(ctx, i))
            }
            O::DeleteItem(i) => {
                let facts = Facts {
                    leading_keys: self.leading(ctx, i.table_name.as_deref(), &i.key.iter().collect::<Vec<_>>()),
                    return_values: i.return_values.clone(),
                    return_consumed_capacity: i.return_consumed_capacity.clone(),
                    ..Default::default()
                };
                let a = self.on_table(ctx, "dynamodb:DeleteItem", i.table_name.as_deref(), None, facts);
                Row::authorized(a, d.delete_item(ctx, i))
            }
            O::Query(i) => {
                let leading = i
                    .expression_attribute_values
                    .as_ref()
                    .and_then(|v| {
                        let t = d.table(ctx, i.table_name.as_deref()).ok()?;
                        let hash = match i.index_name.as_deref() {
                            Some(n) => t.index(n).ok()?.key.hash.name.clone(),
                            None => t.key.hash.name.clone(),
                        };
                        // The value the key condition compares the partition key with.
                        let kce = i.key_condition_expression.as_deref()?;
                        let names = i.expression_attribute_names.clone().unwrap_or_default();
                        let placeholder = kce.split(" AND ").chain(kce.split(" and ")).find_map(|part| {
                            let (l, r) = part.split_once('=')?;
                            let (l, r) = (l.trim(), r.trim());
                            let l = names.get(l).map(|s| s.as_str()).unwrap_or(l);
                            (l == hash).then(|| r.to_string())
                        })?;
                        let v = v.get(&placeholder)?;
                        v.s.clone().or_else(|| v.n.clone())
                    })
                    .into_iter()
                    .collect();
                let facts = Facts {
                    leading_keys: leading,
                    ..Facts::read(
                        i.attributes_to_get.as_ref(),
                        i.projection_expression.as_deref(),
                        i.expression_attribute_names.as_ref(),
                        (i.select.as_deref(), i.index_name.is_some()),
                        i.return_consumed_capacity.clone(),
                    )
                };
                let a = self.on_table(ctx, "dynamodb:Query", i.table_name.as_deref(), i.index_name.as_deref(), facts);
                Row::authorized(a, async move { d.query(ctx, i) })
            }
            O::Scan(i) => {
                let facts = Facts::read(
                    i.attributes_to_get.as_ref(),
                    i.projection_expression.as_deref(),
                    i.expression_attribute_names.as_ref(),
                    (i.select.as_deref(), i.index_name.is_some()),
                    i.return_consumed_capacity.clone(),
                );
                let a = self.on_table(ctx, "dynamodb:Scan", i.table_name.as_deref(), i.index_name.as_deref(), facts);
                Row::authorized(a, async move { d.scan(ctx, i) })
            }
            O::BatchGetItem(i) => {
                let tables = i.request_items.iter().flatten().map(|(k, _)| k.clone()).collect();
                Row::authorized(self.batch(ctx, "dynamodb:BatchGetItem", tables), async move { d.batch_get(ctx, i) })
            }
            O::BatchWriteItem(i) => {
                let tables = i.request_items.iter().flatten().map(|(k, _)| k.clone()).collect();
                Row::authorized(self.batch(ctx, "dynamodb:BatchWriteItem", tables), d.batch_write(ctx, i))
            }
            O::TransactGetItems(i) => {
                // Each Get is authorised as the GetItem it is.
                let tables: Vec<String> =
                    i.transact_items.iter().flatten().filter_map(|g| g.get.as_ref()?.table_name.clone()).collect();
                Row::authorized(self.batch(ctx, "dynamodb:GetItem", tables), async move { d.transact_get(ctx, i) })
            }
            O::TransactWriteItems(i) => {
                let mut a: Option<Authorization> = None;
                for it in i.transact_items.iter().flatten() {
                    let (action, table) = if let Some(p) = &it.put {
                        ("dynamodb:PutItem", p.table_name.clone())
                    } else if let Some(u) = &it.update {
                        ("dynamodb:UpdateItem", u.table_name.clone())
                    } else if let Some(x) = &it.delete {
                        ("dynamodb:DeleteItem", x.table_name.clone())
                    } else if let Some(c) = &it.condition_check {
                        ("dynamodb:ConditionCheckItem", c.table_name.clone())
                    } else {
                        continue;
                    };
                    let this = self.on_table(ctx, action, table.as_deref(), None, Facts::default());
                    match &mut a {
                        None => a = Some(this),
                        Some(first) => first.also.push(this),
                    }
                }
                let a = a.unwrap_or_else(|| self.on_table(ctx, "dynamodb:PutItem", None, None, Facts::default()));
                Row::authorized(a, d.transact_write(ctx, i))
            }
            O::ExecuteStatement(i) => {
                let statements = std::iter::once((i.statement.as_deref(), i.parameters.clone()));
                Row::authorized(self.on_statements(ctx, statements), d.execute_statement(ctx, i))
            }
            O::BatchExecuteStatement(i) => {
                let statements = i.statements.iter().flatten().map(|s| (s.statement.as_deref(), s.parameters.clone()));
                Row::authorized(self.on_statements(ctx, statements), d.batch_execute_statement(ctx, i))
            }
            O::ExecuteTransaction(i) => {
                let statements =
                    i.transact_statements.iter().flatten().map(|s| (s.statement.as_deref(), s.parameters.clone()));
                Row::authorized(self.on_statements(ctx, statements), d.execute_transaction(ctx, i))
            }
            O::CreateBackup(i) => {
                let a = self.on_table(ctx, "dynamodb:CreateBackup", i.table_name.as_deref(), None, Facts::default());
                Row::authorized(a, d.create_backup(ctx, i))
            }
            O::DescribeBackup(i) => {
                let a = Authorization {
                    action: "dynamodb:DescribeBackup",
                    resource: i.backup_arn.clone().unwrap_or_default(),
                    ..Default::default()
                };
                Row::authorized(a, async move { d.describe_backup(ctx, i) })
            }
            O::DeleteBackup(i) => {
                let a = Authorization {
                    action: "dynamodb:DeleteBackup",
                    resource: i.backup_arn.clone().unwrap_or_default(),
                    ..Default::default()
                };
                Row::authorized(a, d.delete_backup(ctx, i))
            }
            O::ListBackups(i) => Row::serve("dynamodb:ListBackups", "*", async move { d.list_backups(ctx, i) }),
            O::RestoreTableFromBackup(i) => {
                // AWS checks the restore on the target table, and the read of the backup.
                let mut a = self.on_table(
                    ctx,
                    "dynamodb:RestoreTableFromBackup",
                    i.target_table_name.as_deref(),
                    None,
                    Facts::default(),
                );
                a.also.push(Authorization {
                    action: "dynamodb:RestoreTableFromBackup",
                    resource: i.backup_arn.clone().unwrap_or_default(),
                    ..Default::default()
                });
                Row::authorized(a, d.restore_from_backup(ctx, i))
            }
            O::UpdateContinuousBackups(i) => {
                let a = self.on_table(
                    ctx,
                    "dynamodb:UpdateContinuousBackups",
                    i.table_name.as_deref(),
                    None,
                    Facts::default(),
                );
                Row::authorized(a, d.update_continuous_backups(ctx, i))
            }
            O::DescribeContinuousBackups(i) => {
                let a = self.on_table(
                    ctx,
                    "dynamodb:DescribeContinuousBackups",
                    i.table_name.as_deref(),
                    None,
                    Facts::default(),
                );
                Row::authorized(a, async move { d.describe_continuous_backups(ctx, i) })
            }
            O::RestoreTableToPointInTime(i) => {
                let source = i.source_table_arn.clone().or(i.source_table_name.clone());
                let mut a =
                    self.on_table(ctx, "dynamodb:RestoreTableToPointInTime", source.as_deref(), None, Facts::default());
                a.also.push(self.on_table(
                    ctx,
                    "dynamodb:RestoreTableToPointInTime",
                    i.target_table_name.as_deref(),
                    None,
                    Facts::default(),
                ));
                Row::authorized(a, d.restore_to_point_in_time(ctx, i))
            }
            O::ExportTableToPointInTime(i) => {
                let a = self.on_table(
                    ctx,
                    "dynamodb:ExportTableToPointInTime",
                    i.table_arn.as_deref(),
                    None,
                    Facts::default(),
                );
                Row::authorized(a, async move { d.export_table(ctx, i).await })
            }
            O::DescribeExport(i) => {
                let a = Authorization {
                    action: "dynamodb:DescribeExport",
                    resource: i.export_arn.clone().unwrap_or_default(),
                    ..Default::default()
                };
                Row::authorized(a, async move { d.describe_export(i) })
            }
            O::ListExports(i) => Row::serve("dynamodb:ListExports", "*", async move { d.list_exports(ctx, i) }),
            O::ImportTable(i) => {
                let name = i.table_creation_parameters.as_ref().and_then(|p| p.table_name.clone());
                let a = self.on_table(ctx, "dynamodb:ImportTable", name.as_deref(), None, Facts::default());
                Row::authorized(a, async move { d.import_table(ctx, i).await })
            }
            O::DescribeImport(i) => {
                let a = Authorization {
                    action: "dynamodb:DescribeImport",
                    resource: i.import_arn.clone().unwrap_or_default(),
                    ..Default::default()
                };
                Row::authorized(a, async move { d.describe_import(i) })
            }
            O::ListImports(i) => Row::serve("dynamodb:ListImports", "*", async move { d.list_imports(ctx, i) }),
            O::PutResourcePolicy(i) => {
                let a =
                    self.on_table(ctx, "dynamodb:PutResourcePolicy", i.resource_arn.as_deref(), None, Facts::default());
                Row::authorized(a, d.put_policy(ctx, i))
            }
            O::GetResourcePolicy(i) => {
                let a =
                    self.on_table(ctx, "dynamodb:GetResourcePolicy", i.resource_arn.as_deref(), None, Facts::default());
                Row::authorized(a, async move { d.get_policy(ctx, i) })
            }
            O::DeleteResourcePolicy(i) => {
                let a = self.on_table(
                    ctx,
                    "dynamodb:DeleteResourcePolicy",
                    i.resource_arn.as_deref(),
                    None,
                    Facts::default(),
                );
                Row::authorized(a, d.delete_policy(ctx, i))
            }
            O::CancelBulkOperation(_)
            | O::CreateGlobalTable(_)
            | O::DescribeBulkOperation(_)
            | O::DescribeContributorInsights(_)
            | O::DescribeGlobalTable(_)
            | O::DescribeGlobalTableSettings(_)
            | O::DescribeKinesisStreamingDestination(_)
            | O::DescribeTableReplicaAutoScaling(_)
            | O::DisableKinesisStreamingDestination(_)
            | O::EnableKinesisStreamingDestination(_)
            | O::ListBulkOperations(_)
            | O::ListContributorInsights(_)
            | O::ListGlobalTables(_)
            | O::SearchVectors(_)
            | O::StartBulkPutItems(_)
            | O::UpdateContributorInsights(_)
            | O::UpdateGlobalTable(_)
            | O::UpdateGlobalTableSettings(_)
            | O::UpdateKinesisStreamingDestination(_)
            | O::UpdateTableReplicaAutoScaling(_) => Row::NotServed,
        }
    }
}
