//! Many items at once: BatchGetItem and BatchWriteItem (each item on its own, throttled
//! items handed back as unprocessed), TransactGetItems and TransactWriteItems (all or
//! nothing, with cancellation reasons and idempotency tokens).
use crate::capacity::{self, Consumed, ReadKind};
use crate::eval;
use crate::expr::{self, Cond, Update};
use crate::items::{check_condition, decode, projected, wire, write_item, Change, Refused, Substitutions};
use crate::table::Table;
use crate::value::{item_from_wire, item_size, validation, Item};
use crate::DynamoDb;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::dynamodb as m;
use nuage_protocol::dynamodb::errors::Error as E;
use std::collections::{BTreeMap, BTreeSet};

/// A table and the writes to make in it: keys with the new item, or none for a delete.
type TableWrites = (std::sync::Arc<Table>, Vec<(Item, Option<Item>)>);

fn duplicates() -> AwsError {
    validation("Provided list of item keys contains duplicates")
}

/// Per-table totals, rendered as the list batch operations answer with.
fn render_all(consumed: &BTreeMap<String, Consumed>, mode: Option<&str>) -> Option<Vec<m::ConsumedCapacity>> {
    let v: Vec<m::ConsumedCapacity> = consumed.iter().filter_map(|(t, c)| c.render(t, mode)).collect();
    (!v.is_empty()).then_some(v)
}

/// Per-table totals of a transaction, read and write units apart.
pub(crate) fn render_split(
    consumed: &BTreeMap<String, Consumed>,
    mode: Option<&str>,
) -> Option<Vec<m::ConsumedCapacity>> {
    let v: Vec<m::ConsumedCapacity> = consumed.iter().filter_map(|(t, c)| c.render_split(t, mode)).collect();
    (!v.is_empty()).then_some(v)
}

/// One action of a write transaction, checked before anything runs.
pub(crate) enum Action {
    Check(Option<Cond>),
    /// PartiQL's INSERT: a put refused when the item exists.
    Insert(Item),
    Put(Item, Option<Cond>),
    Delete(Option<Cond>),
    Update(Update, Option<Cond>),
}

pub(crate) struct Planned {
    pub table: std::sync::Arc<Table>,
    pub key: Item,
    pub action: Action,
    pub return_old: bool,
}

/// The change a transaction's Put, Delete or Update makes; `None` for a ConditionCheck.
fn change_of(action: &Action, table: &Table, key: &Item, ret: bool) -> Option<Change<'static>> {
    Some(match action {
        Action::Check(_) => return None,
        Action::Insert(item) => {
            let item = item.clone();
            Box::new(move |old| match old {
                Some(_) => Err(E::DuplicateItemException.msg("Duplicate primary key exists in table")),
                None => Ok(Some(item)),
            })
        }
        Action::Put(item, cond) => {
            let (item, cond) = (item.clone(), cond.clone());
            Box::new(move |old| {
                check_condition(&cond, old, ret)?;
                Ok(Some(item))
            })
        }
        Action::Delete(cond) => {
            let cond = cond.clone();
            Box::new(move |old| {
                check_condition(&cond, old, ret)?;
                Ok(None)
            })
        }
        Action::Update(update, cond) => {
            let (update, cond, table, key) = (update.clone(), cond.clone(), table.clone(), key.clone());
            Box::new(move |old| {
                check_condition(&cond, old, ret)?;
                let mut item = old.cloned().unwrap_or(key);
                eval::apply_update(&mut item, &update, &table.key.names())?;
                table.check_item(&item)?;
                Ok(Some(item))
            })
        }
    })
}

fn fail_old(v: Option<&str>) -> AwsResult<bool> {
    match v {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(validation(format!("Invalid ReturnValuesOnConditionCheckFailure: {other}"))),
    }
}

impl DynamoDb {
    pub fn batch_get(&self, ctx: &RequestContext, i: m::BatchGetItemInput) -> AwsResult<m::BatchGetItemOutput> {
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let requests = i.request_items.unwrap_or_default();
        let total: usize = requests.values().map(|k| k.keys.as_ref().map_or(0, |k| k.len())).sum();
        if total > 100 {
            return Err(validation("Too many items requested for the BatchGetItem call"));
        }
        if requests.is_empty() || total == 0 {
            return Err(validation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        }
        // Every table and key is checked before anything is read.
        let mut plans = Vec::new();
        for (name, ka) in requests {
            let t = self.table(ctx, Some(&name))?;
            let projection = self.projection(
                ka.projection_expression.as_ref(),
                ka.attributes_to_get.clone(),
                ka.expression_attribute_names.clone(),
            )?;
            let mut seen = BTreeSet::new();
            let mut keys = Vec::new();
            for k in ka.keys.clone().unwrap_or_default() {
                let key = item_from_wire(k)?;
                t.check_key(&key)?;
                if !seen.insert(t.item_key(&key)) {
                    return Err(duplicates());
                }
                keys.push(key);
            }
            plans.push((name, t, ka, projection, keys));
        }
        let snap = self.store.read()?;
        let mut responses = BTreeMap::new();
        let mut unprocessed: BTreeMap<String, m::KeysAndAttributes> = BTreeMap::new();
        let mut consumed = BTreeMap::new();
        let mut processed_any = false;
        for (name, t, ka, projection, keys) in plans {
            let kind = ReadKind::of(ka.consistent_read);
            let mut items = Vec::new();
            let mut c = Consumed::default();
            for key in keys {
                if self.admit_read(&t, None, kind).is_err() {
                    let u = unprocessed
                        .entry(name.clone())
                        .or_insert_with(|| m::KeysAndAttributes { keys: Some(Vec::new()), ..ka.clone() });
                    u.keys.get_or_insert_with(Vec::new).push(wire(&key));
                    continue;
                }
                processed_any = true;
                let item = snap.get_bytes(crate::ITEMS, &t.item_key(&key))?.map(|b| decode(&b)).transpose()?;
                // Each item is rounded up on its own.
                let units = capacity::read_units(item.as_ref().map(item_size).unwrap_or(0), kind);
                self.charge(&t, &Consumed { read: units, ..Default::default() }, None);
                c.read += units;
                if let Some(item) = item {
                    items.push(wire(&projected(item, &projection)));
                }
            }
            responses.insert(name.clone(), items);
            consumed.insert(name, c);
        }
        if !processed_any {
            return Err(E::ProvisionedThroughputExceededException.msg("The level of configured provisioned throughput for one or more tables was exceeded. Consider increasing your provisioning level with the UpdateTable API."));
        }
        Ok(m::BatchGetItemOutput {
            responses: Some(responses),
            unprocessed_keys: Some(unprocessed),
            consumed_capacity: render_all(&consumed, i.return_consumed_capacity.as_deref()),
        })
    }

    pub async fn batch_write(
        &self,
        ctx: &RequestContext,
        i: m::BatchWriteItemInput,
    ) -> AwsResult<m::BatchWriteItemOutput> {
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        crate::items::check_metrics_mode(i.return_item_collection_metrics.as_deref())?;
        let requests = i.request_items.unwrap_or_default();
        let total: usize = requests.values().map(|r| r.len()).sum();
        if total > 25 {
            return Err(validation("Too many items requested for the BatchWriteItem call"));
        }
        if total == 0 {
            return Err(validation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        }
        let mut plans = Vec::new();
        for (name, reqs) in requests {
            let t = self.table(ctx, Some(&name))?;
            let mut seen = BTreeSet::new();
            let mut writes = Vec::new();
            for r in reqs {
                let (key, item) = match (&r.put_request, &r.delete_request) {
                    (Some(p), None) => {
                        let item = item_from_wire(p.item.clone().unwrap_or_default())?;
                        t.check_item(&item)?;
                        (t.key.key_of(&item).unwrap_or_default(), Some(item))
                    }
                    (None, Some(d)) => {
                        let key = item_from_wire(d.key.clone().unwrap_or_default())?;
                        t.check_key(&key)?;
                        (key, None)
                    }
                    _ => return Err(validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")),
                };
                if !seen.insert(t.item_key(&key)) {
                    return Err(duplicates());
                }
                writes.push((key, item, r));
            }
            plans.push((name, t, writes));
        }
        let mut unprocessed: BTreeMap<String, Vec<m::WriteRequest>> = BTreeMap::new();
        let mut runs = Vec::new();
        for (name, t, writes) in plans {
            let mut admitted = Vec::new();
            for (key, item, r) in writes {
                if self.admit_write(&t).is_ok() {
                    admitted.push((key, item));
                } else {
                    unprocessed.entry(name.clone()).or_default().push(r);
                }
            }
            runs.push((name, t, admitted));
        }
        if runs.iter().all(|(_, _, a)| a.is_empty()) {
            return Err(E::ProvisionedThroughputExceededException.msg("The level of configured provisioned throughput for one or more tables was exceeded. Consider increasing your provisioning level with the UpdateTable API."));
        }
        let to_run: Vec<TableWrites> = runs.iter().map(|(_, t, a)| (t.clone(), a.clone())).collect();
        let results = self
            .store
            .write(move |w| {
                let mut out = Vec::new();
                for (t, writes) in &to_run {
                    let mut c = Consumed::default();
                    for (key, item) in writes {
                        let item = item.clone();
                        let written = write_item(w, t, key, false, Box::new(move |_| Ok(item))).map_err(|r| r.error)?;
                        c.add(&written.consumed);
                    }
                    out.push(c);
                }
                Ok(out)
            })
            .await?;
        let mut consumed = BTreeMap::new();
        for ((name, t, _), c) in runs.iter().zip(results) {
            self.charge(t, &c, None);
            consumed.insert(name.clone(), c);
        }
        let written = runs.iter().flat_map(|(_, t, a)| a.iter().map(move |(k, _)| (&**t, k)));
        Ok(m::BatchWriteItemOutput {
            unprocessed_items: Some(unprocessed),
            item_collection_metrics: self.metrics_for(written, i.return_item_collection_metrics.as_deref())?,
            consumed_capacity: render_all(&consumed, i.return_consumed_capacity.as_deref()),
        })
    }

    pub fn transact_get(
        &self,
        ctx: &RequestContext,
        i: m::TransactGetItemsInput,
    ) -> AwsResult<m::TransactGetItemsOutput> {
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let gets = i.transact_items.unwrap_or_default();
        if gets.is_empty() || gets.len() > 100 {
            return Err(validation(format!("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1 (it has {})", gets.len())));
        }
        let mut plans = Vec::new();
        let mut seen = BTreeSet::new();
        for g in gets {
            let g = g.get.unwrap_or_default();
            let t = self.table(ctx, g.table_name.as_deref())?;
            let key = item_from_wire(g.key.unwrap_or_default())?;
            t.check_key(&key)?;
            if !seen.insert((t.arn.clone(), t.item_key(&key))) {
                return Err(validation("Transaction request cannot include multiple operations on one item"));
            }
            let projection = self.projection(g.projection_expression.as_ref(), None, g.expression_attribute_names)?;
            self.admit_read(&t, None, ReadKind::Transactional)?;
            plans.push((t, key, projection));
        }
        // One snapshot: every item as of the same instant.
        let snap = self.store.read()?;
        let mut responses = Vec::new();
        let mut consumed: BTreeMap<String, Consumed> = BTreeMap::new();
        for (t, key, projection) in plans {
            let item = snap.get_bytes(crate::ITEMS, &t.item_key(&key))?.map(|b| decode(&b)).transpose()?;
            let units = capacity::read_units(item.as_ref().map(item_size).unwrap_or(0), ReadKind::Transactional);
            let c = Consumed { read: units, ..Default::default() };
            self.charge(&t, &c, None);
            consumed.entry(t.name.clone()).or_default().add(&c);
            responses.push(m::ItemResponse { item: item.map(|it| wire(&projected(it, &projection))) });
        }
        Ok(m::TransactGetItemsOutput {
            consumed_capacity: render_split(&consumed, i.return_consumed_capacity.as_deref()),
            responses: Some(responses),
        })
    }

    pub async fn transact_write(
        &self,
        ctx: &RequestContext,
        i: m::TransactWriteItemsInput,
    ) -> AwsResult<m::TransactWriteItemsOutput> {
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        crate::items::check_metrics_mode(i.return_item_collection_metrics.as_deref())?;
        let items = i.transact_items.clone().unwrap_or_default();
        if items.is_empty() || items.len() > 100 {
            return Err(validation(format!("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1 (it has {})", items.len())));
        }
        if let Some(token) = &i.client_request_token {
            let fingerprint = format!("{:?}", i.transact_items);
            if self.tokens.seen(token, &fingerprint)? {
                return Ok(m::TransactWriteItemsOutput::default());
            }
        }
        let mut plans = Vec::new();
        let mut seen = BTreeSet::new();
        for it in items {
            let set = [it.condition_check.is_some(), it.put.is_some(), it.delete.is_some(), it.update.is_some()];
            if set.iter().filter(|s| **s).count() != 1 {
                return Err(validation("TransactItems can only contain one of Check, Put, Update or Delete"));
            }
            let (table, key, action, ret) = if let Some(c) = it.condition_check {
                let t = self.table(ctx, c.table_name.as_deref())?;
                let key = item_from_wire(c.key.unwrap_or_default())?;
                t.check_key(&key)?;
                let subs = Substitutions::new(
                    c.expression_attribute_names,
                    c.expression_attribute_values,
                    &[c.condition_expression.as_ref()],
                )?;
                let ph = subs.placeholders();
                let cond = c
                    .condition_expression
                    .as_ref()
                    .map(|e| expr::condition("ConditionExpression", e, &ph))
                    .transpose()?;
                ph.check_unused()?;
                if cond.is_none() {
                    return Err(validation("The ConditionExpression of a ConditionCheck is required"));
                }
                (t, key, Action::Check(cond), fail_old(c.return_values_on_condition_check_failure.as_deref())?)
            } else if let Some(p) = it.put {
                let t = self.table(ctx, p.table_name.as_deref())?;
                let item = item_from_wire(p.item.unwrap_or_default())?;
                t.check_item(&item)?;
                let subs = Substitutions::new(
                    p.expression_attribute_names,
                    p.expression_attribute_values,
                    &[p.condition_expression.as_ref()],
                )?;
                let ph = subs.placeholders();
                let cond = p
                    .condition_expression
                    .as_ref()
                    .map(|e| expr::condition("ConditionExpression", e, &ph))
                    .transpose()?;
                ph.check_unused()?;
                let key = t.key.key_of(&item).unwrap_or_default();
                (t, key, Action::Put(item, cond), fail_old(p.return_values_on_condition_check_failure.as_deref())?)
            } else if let Some(d) = it.delete {
                let t = self.table(ctx, d.table_name.as_deref())?;
                let key = item_from_wire(d.key.unwrap_or_default())?;
                t.check_key(&key)?;
                let subs = Substitutions::new(
                    d.expression_attribute_names,
                    d.expression_attribute_values,
                    &[d.condition_expression.as_ref()],
                )?;
                let ph = subs.placeholders();
                let cond = d
                    .condition_expression
                    .as_ref()
                    .map(|e| expr::condition("ConditionExpression", e, &ph))
                    .transpose()?;
                ph.check_unused()?;
                (t, key, Action::Delete(cond), fail_old(d.return_values_on_condition_check_failure.as_deref())?)
            } else {
                let u = it.update.unwrap_or_default();
                let t = self.table(ctx, u.table_name.as_deref())?;
                let key = item_from_wire(u.key.unwrap_or_default())?;
                t.check_key(&key)?;
                let subs = Substitutions::new(
                    u.expression_attribute_names,
                    u.expression_attribute_values,
                    &[u.condition_expression.as_ref(), u.update_expression.as_ref()],
                )?;
                let ph = subs.placeholders();
                let update = expr::update(u.update_expression.as_deref().unwrap_or_default(), &ph)?;
                let cond = u
                    .condition_expression
                    .as_ref()
                    .map(|e| expr::condition("ConditionExpression", e, &ph))
                    .transpose()?;
                ph.check_unused()?;
                (t, key, Action::Update(update, cond), fail_old(u.return_values_on_condition_check_failure.as_deref())?)
            };
            if !seen.insert((table.arn.clone(), table.item_key(&key))) {
                return Err(validation("Transaction request cannot include multiple operations on one item"));
            }
            self.admit_write(&table)?;
            plans.push(Planned { table, key, action, return_old: ret });
        }
        let keys: Vec<(std::sync::Arc<Table>, Item)> = plans.iter().map(|p| (p.table.clone(), p.key.clone())).collect();
        let per_table = self.run_transaction(plans).await?;
        if let Some(token) = &i.client_request_token {
            self.tokens.remember(token, &format!("{:?}", i.transact_items));
        }
        Ok(m::TransactWriteItemsOutput {
            consumed_capacity: render_split(&per_table, i.return_consumed_capacity.as_deref()),
            item_collection_metrics: self
                .metrics_for(keys.iter().map(|(t, k)| (&**t, k)), i.return_item_collection_metrics.as_deref())?,
        })
    }

    /// ItemCollectionMetrics of many writes: one per table and partition written.
    fn metrics_for<'w>(
        &self,
        writes: impl Iterator<Item = (&'w Table, &'w Item)>,
        mode: Option<&str>,
    ) -> AwsResult<Option<BTreeMap<String, Vec<m::ItemCollectionMetrics>>>> {
        if mode != Some("SIZE") {
            return Ok(None);
        }
        let mut out: BTreeMap<String, Vec<m::ItemCollectionMetrics>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (t, key) in writes {
            let Some(hash) = key.get(&t.key.hash.name) else { continue };
            let mut partition = t.id.to_vec();
            crate::value::encode_key_part(hash, &mut partition, true);
            if !seen.insert(partition) {
                continue;
            }
            if let Some(metrics) = self.collection_metrics(t, key, mode)? {
                out.entry(t.name.clone()).or_default().push(metrics);
            }
        }
        Ok(Some(out))
    }

    /// Runs a write transaction: every action's condition checked and its write made in one
    /// store transaction, or none of them (TransactionCanceledException with a reason per
    /// action). Capacity is charged either way; the answer is what each table consumed.
    pub(crate) async fn run_transaction(&self, plans: Vec<Planned>) -> AwsResult<BTreeMap<String, Consumed>> {
        let plans = std::sync::Arc::new(plans);
        let run = plans.clone();
        // What each action consumed, kept even when the transaction is cancelled.
        let spent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let spent_in = spent.clone();
        let outcome = self
            .store
            .write(move |w| {
                let mut reasons = Vec::new();
                let mut consumed: Vec<Consumed> = Vec::new();
                let mut failed = false;
                for p in run.iter() {
                    let key = p.key.clone();
                    let result = match change_of(&p.action, &p.table, &key, p.return_old) {
                        Some(change) => write_item(w, &p.table, &key, true, change).map(|written| written.consumed),
                        None => {
                            // A ConditionCheck reads and checks, and writes nothing.
                            let old = crate::items::read_item(w, &p.table, &p.table.item_key(&key))?;
                            let size = old.as_ref().map(item_size).unwrap_or(0);
                            let c = Consumed { write: capacity::write_units(size, true), ..Default::default() };
                            let cond = match &p.action {
                                Action::Check(cond) => cond,
                                _ => &None,
                            };
                            match check_condition(cond, old.as_ref(), p.return_old) {
                                Ok(()) => Ok(c),
                                Err(e) => Err(Refused::new(e, c)),
                            }
                        }
                    };
                    match result {
                        Ok(c) => {
                            reasons.push(serde_json::json!({"Code": "None"}));
                            consumed.push(c);
                        }
                        Err(refused) => {
                            let (e, c) = (refused.error, refused.consumed);
                            failed = true;
                            let code = match e.code.as_ref() {
                                "ConditionalCheckFailedException" => "ConditionalCheckFailed",
                                "DuplicateItemException" => "DuplicateItem",
                                _ => "ValidationError",
                            };
                            let mut r = serde_json::json!({"Code": code, "Message": e.message});
                            if let Some((_, item)) = e.fields.iter().find(|(n, _)| *n == "Item") {
                                r["Item"] = serde_json::from_str(item).unwrap_or_default();
                            }
                            reasons.push(r);
                            consumed.push(c);
                        }
                    }
                }
                if let Ok(mut s) = spent_in.lock() {
                    *s = consumed.clone();
                }
                if failed {
                    // Nothing of a cancelled transaction is kept.
                    let codes: Vec<&str> = reasons.iter().map(|r| r["Code"].as_str().unwrap_or("None")).collect();
                    return Err(E::TransactionCanceledException
                        .msg(format!(
                            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                            codes.join(", ")
                        ))
                        .with("CancellationReasons", serde_json::Value::Array(reasons).to_string()));
                }
                Ok(consumed)
            })
            .await;
        let consumed = match outcome {
            Ok(c) => c,
            Err(e) => {
                // A cancelled transaction still consumed capacity.
                let spent = spent.lock().map(|s| s.clone()).unwrap_or_default();
                for (p, c) in plans.iter().zip(&spent) {
                    self.charge(&p.table, c, None);
                }
                return Err(e);
            }
        };
        let mut per_table: BTreeMap<String, Consumed> = BTreeMap::new();
        for (p, c) in plans.iter().zip(&consumed) {
            self.charge(&p.table, c, None);
            per_table.entry(p.table.name.clone()).or_default().add(c);
        }
        Ok(per_table)
    }
}

/// ClientRequestTokens of TransactWriteItems, remembered for the ten minutes AWS honours
/// them: the same token with the same request is not run twice; with another request it
/// is refused.
#[derive(Default)]
pub struct Tokens {
    seen: std::sync::Mutex<std::collections::HashMap<String, (String, std::time::Instant)>>,
}

const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);

impl Tokens {
    pub(crate) fn seen(&self, token: &str, fingerprint: &str) -> AwsResult<bool> {
        let mut seen = self.seen.lock().map_err(|_| AwsError::internal("token table poisoned"))?;
        seen.retain(|_, (_, at)| at.elapsed() < TOKEN_LIFETIME);
        match seen.get(token) {
            Some((f, _)) if f == fingerprint => Ok(true),
            Some(_) => Err(E::IdempotentParameterMismatchException
                .msg("The request uses the same client token as a previous, but non-identical request.")),
            None => Ok(false),
        }
    }

    pub fn clear(&self) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.clear();
        }
    }

    pub(crate) fn remember(&self, token: &str, fingerprint: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(token.to_string(), (fingerprint.to_string(), std::time::Instant::now()));
        }
    }
}
