//! Single-item operations (PutItem, GetItem, UpdateItem, DeleteItem) and the write path
//! every write shares: the condition checked and the item, its index entries and the
//! table's counts changed in one store transaction, with the capacity each part consumed.
use crate::capacity::{self, Consumed, ReadKind};
use crate::eval;
use crate::expr::{self, Cond, Path, Placeholders, Update};
use crate::legacy;
use crate::table::{Counts, Table};
use crate::value::{item_from_wire, item_size, item_to_wire, validation, Item};
use crate::DynamoDb;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::dynamodb as m;
use nuage_protocol::dynamodb::errors::Error as E;
use nuage_protocol::dynamodb::AttributeValue;
use nuage_storage::{Store, WriteCtx};
use std::collections::BTreeMap;

/// A request's expression attribute names and values, checked as DynamoDB checks them.
pub struct Substitutions {
    pub names: BTreeMap<String, String>,
    pub values: Item,
}

impl Substitutions {
    pub fn new(
        names: Option<BTreeMap<String, String>>,
        values: Option<BTreeMap<String, AttributeValue>>,
        expressions: &[Option<&String>],
    ) -> AwsResult<Substitutions> {
        let any = expressions.iter().any(|e| e.is_some());
        if names.as_ref().is_some_and(|n| n.is_empty()) {
            return Err(validation("ExpressionAttributeNames must not be empty"));
        }
        if values.as_ref().is_some_and(|v| v.is_empty()) {
            return Err(validation("ExpressionAttributeValues must not be empty"));
        }
        if !any && names.is_some() {
            return Err(validation("ExpressionAttributeNames can only be specified when using expressions"));
        }
        if !any && values.is_some() {
            return Err(validation("ExpressionAttributeValues can only be specified when using expressions"));
        }
        let values = match values {
            Some(v) => {
                for k in v.keys() {
                    if !k.starts_with(':') {
                        return Err(validation(format!(
                            "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{k}\""
                        )));
                    }
                }
                item_from_wire(v).map_err(|e| {
                    validation(format!("ExpressionAttributeValues contains invalid value: {} for key", e.message))
                })?
            }
            None => Item::new(),
        };
        let names = names.unwrap_or_default();
        for k in names.keys() {
            if !k.starts_with('#') {
                return Err(validation(format!(
                    "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{k}\""
                )));
            }
        }
        Ok(Substitutions { names, values })
    }

    pub fn placeholders(&self) -> Placeholders<'_> {
        Placeholders::new(&self.names, &self.values)
    }
}

pub fn conditional_failed(old: Option<&Item>, return_old: bool) -> AwsError {
    let e = E::ConditionalCheckFailedException.msg("The conditional request failed");
    match (old, return_old) {
        (Some(item), true) => e.with("Item", serde_json::to_string(item).unwrap_or_default()),
        _ => e,
    }
}

/// What a write did.
pub struct Written {
    pub old: Option<Item>,
    pub new: Option<Item>,
    pub consumed: Consumed,
}

/// A write's change: from the current item (if any) to the new one (`None` deletes), or
/// the error that refuses it (a failed condition).
pub type Change<'c> = Box<dyn FnOnce(Option<&Item>) -> AwsResult<Option<Item>> + 'c>;

pub fn read_item(w: &WriteCtx, _table: &Table, key: &[u8]) -> AwsResult<Option<Item>> {
    w.get_bytes(crate::ITEMS, key)?.map(|v| decode(&v)).transpose()
}

pub fn decode(bytes: &[u8]) -> AwsResult<Item> {
    serde_json::from_slice(bytes).map_err(|e| AwsError::internal(format!("stored item: {e}")))
}

/// A write that did not happen, and the capacity its attempt consumed.
pub struct Refused {
    pub error: AwsError,
    pub consumed: Consumed,
}

impl Refused {
    pub fn new(error: AwsError, consumed: Consumed) -> Box<Refused> {
        Box::new(Refused { error, consumed })
    }
}

/// Applies one write inside a store transaction. A refused change makes no writes; the
/// capacity of the attempt is reported either way.
pub fn write_item(
    w: &WriteCtx,
    table: &Table,
    key: &Item,
    transactional: bool,
    change: Change,
) -> Result<Written, Box<Refused>> {
    write_item_as(w, table, key, transactional, false, change)
}

/// `write_item`, saying whether the write is the TTL process's (its stream records say so).
pub fn write_item_as(
    w: &WriteCtx,
    table: &Table,
    key: &Item,
    transactional: bool,
    by_ttl: bool,
    change: Change,
) -> Result<Written, Box<Refused>> {
    let stored_key = table.item_key(key);
    let old = read_item(w, table, &stored_key).map_err(|e| Refused::new(e, Consumed::default()))?;
    let old_size = old.as_ref().map(item_size).unwrap_or(0);
    let new = match change(old.as_ref()) {
        Ok(n) => n,
        Err(e) => {
            // A refused conditional write still consumes: at least one unit.
            let consumed = Consumed { write: capacity::write_units(old_size, transactional), ..Default::default() };
            return Err(Refused::new(e, consumed));
        }
    };
    let new_size = new.as_ref().map(item_size).unwrap_or(0);
    let mut consumed =
        Consumed { write: capacity::write_units(old_size.max(new_size), transactional), ..Default::default() };
    let fail = |e: AwsError| Refused::new(e, Consumed::default());
    match &new {
        Some(item) => {
            w.put_bytes(crate::ITEMS, &stored_key, serde_json::to_vec(item).map_err(|e| fail(AwsError::internal(e)))?)
        }
        None if old.is_some() => w.delete_bytes(crate::ITEMS, &stored_key),
        None => {}
    }
    let mut counts: Counts = w.get(crate::COUNTS, &table.table_id).map_err(fail)?.unwrap_or_default();
    counts.items += new.is_some() as i64 - old.is_some() as i64;
    counts.bytes += new_size as i64 - old_size as i64;
    for ix in &table.indexes {
        let before = old.as_ref().and_then(|o| ix.entry(&table.key, o));
        let after = new.as_ref().and_then(|n| ix.entry(&table.key, n));
        let before_key = old.as_ref().and_then(|o| ix.entry_key(&table.key, o)).filter(|_| before.is_some());
        let after_key = new.as_ref().and_then(|n| ix.entry_key(&table.key, n)).filter(|_| after.is_some());
        let size = |e: &Option<Item>| e.as_ref().map(item_size).unwrap_or(0);
        let units = match (&before_key, &after_key) {
            (None, None) => 0.0,
            (Some(a), Some(b)) if a == b => {
                if before == after {
                    0.0
                } else {
                    capacity::write_units(size(&before).max(size(&after)), transactional)
                }
            }
            (Some(_), Some(_)) => {
                capacity::write_units(size(&before), transactional) + capacity::write_units(size(&after), transactional)
            }
            (Some(_), None) => capacity::write_units(size(&before), transactional),
            (None, Some(_)) => capacity::write_units(size(&after), transactional),
        };
        if let Some(k) = &before_key {
            if after_key.as_ref() != Some(k) {
                w.delete_bytes(crate::INDEX_ENTRIES, k);
            }
        }
        if let (Some(k), Some(entry)) = (&after_key, &after) {
            if before.as_ref() != Some(entry) || before_key.as_ref() != Some(k) {
                w.put_bytes(
                    crate::INDEX_ENTRIES,
                    k,
                    serde_json::to_vec(entry).map_err(|e| fail(AwsError::internal(e)))?,
                );
            }
        }
        let c = counts.indexes.entry(ix.name.clone()).or_default();
        c.0 += after.is_some() as i64 - before.is_some() as i64;
        c.1 += size(&after) as i64 - size(&before) as i64;
        if units > 0.0 {
            let slot = if ix.global { &mut consumed.gsi } else { &mut consumed.lsi };
            slot.entry(ix.name.clone()).or_default().1 += units;
        }
    }
    w.put(crate::COUNTS, &table.table_id, &counts).map_err(fail)?;
    crate::streams::record(w, table, old.as_ref(), new.as_ref(), by_ttl).map_err(fail)?;
    if old.is_some() || new.is_some() {
        crate::backup::log_change(w, table, &stored_key, new.as_ref()).map_err(fail)?;
    }
    Ok(Written { old, new, consumed })
}

/// The parsed condition of a write, if it has one.
pub fn condition(text: Option<&String>, ph: &Placeholders) -> AwsResult<Option<Cond>> {
    text.map(|t| expr::condition("ConditionExpression", t, ph)).transpose()
}

pub fn check_condition(cond: &Option<Cond>, old: Option<&Item>, return_old: bool) -> AwsResult<()> {
    if let Some(c) = cond {
        let empty = Item::new();
        if !eval::eval("ConditionExpression", c, old.unwrap_or(&empty))? {
            return Err(conditional_failed(old, return_old));
        }
    }
    Ok(())
}

fn return_old_on_failure(v: Option<&str>) -> AwsResult<bool> {
    match v {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(validation(format!(
            "1 validation error detected: Value '{other}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        ))),
    }
}

/// What PutItem and DeleteItem share: their condition (ConditionExpression or the legacy
/// Expected), and what they return (ALL_OLD, on success or on a failed condition).
struct Guarded {
    return_old: bool,
    fail_old: bool,
    cond: Option<Cond>,
}

type Legacy = (Option<BTreeMap<String, m::ExpectedAttributeValue>>, Option<String>);
type Placeholder = (Option<BTreeMap<String, String>>, Option<BTreeMap<String, AttributeValue>>);

impl Guarded {
    fn new(
        (expected, operator): Legacy,
        expression: Option<String>,
        (names, values): Placeholder,
        (return_values, on_failure): (Option<String>, Option<String>),
        consumed: Option<&str>,
    ) -> AwsResult<Guarded> {
        legacy::not_both(&[("Expected", expected.is_some())], &[("ConditionExpression", expression.is_some())])?;
        capacity::check_mode(consumed)?;
        let return_old = match return_values.as_deref() {
            None | Some("NONE") => false,
            Some("ALL_OLD") => true,
            Some(_) => return Err(validation("Return values set to invalid value")),
        };
        let fail_old = return_old_on_failure(on_failure.as_deref())?;
        let subs = Substitutions::new(names, values, &[expression.as_ref()])?;
        let ph = subs.placeholders();
        let cond = match expected {
            Some(e) => legacy::expected(e, operator.as_deref())?,
            None => condition(expression.as_ref(), &ph)?,
        };
        ph.check_unused()?;
        Ok(Guarded { return_old, fail_old, cond })
    }
}

/// Checks `ReturnItemCollectionMetrics` before anything is written.
pub fn check_metrics_mode(mode: Option<&str>) -> AwsResult<()> {
    match mode {
        None | Some("NONE" | "SIZE") => Ok(()),
        Some(other) => Err(validation(format!(
            "1 validation error detected: Value '{other}' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member must satisfy enum value set: [SIZE, NONE]"
        ))),
    }
}

/// Projects `item` for GetItem and friends.
pub fn projected(item: Item, projection: &Option<Vec<Path>>) -> Item {
    match projection {
        Some(p) => eval::project(&item, p),
        None => item,
    }
}

pub fn wire(item: &Item) -> BTreeMap<String, AttributeValue> {
    item_to_wire(item)
}

impl DynamoDb {
    /// Admits a write to `table` (and its GSIs) or refuses it as throttled.
    pub fn admit_write(&self, t: &Table) -> AwsResult<()> {
        let (rate, burst) = if t.on_demand { (t.max_write, false) } else { (Some(t.wcu), true) };
        if !self.capacity.admit(&t.arn, true, rate, 1.0, burst) {
            self.metrics.record(t, None, "WriteThrottleEvents", 1.0, None);
            return Err(capacity::throttled(&t.arn, true, false, t.on_demand));
        }
        for ix in t.indexes.iter().filter(|i| i.global) {
            let arn = format!("{}/index/{}", t.arn, ix.name);
            let (rate, burst) = if t.on_demand { (ix.max_write, false) } else { (Some(ix.wcu), true) };
            if !self.capacity.admit(&arn, true, rate, 0.0, burst) {
                self.metrics.record(t, Some(&ix.name), "WriteThrottleEvents", 1.0, None);
                return Err(capacity::throttled(&arn, true, true, t.on_demand));
            }
        }
        Ok(())
    }

    pub fn admit_read(&self, t: &Table, index: Option<&str>, kind: ReadKind) -> AwsResult<()> {
        let minimum = if kind == ReadKind::Eventual { 0.5 } else { 1.0 };
        let gsi = index.and_then(|n| t.indexes.iter().find(|i| i.name == n && i.global));
        let (arn, rate, burst) = match gsi {
            Some(ix) => (
                format!("{}/index/{}", t.arn, ix.name),
                if t.on_demand { ix.max_read } else { Some(ix.rcu) },
                !t.on_demand,
            ),
            None => (t.arn.clone(), if t.on_demand { t.max_read } else { Some(t.rcu) }, !t.on_demand),
        };
        if !self.capacity.admit(&arn, false, rate, minimum, burst) {
            self.metrics.record(t, gsi.map(|ix| ix.name.as_str()), "ReadThrottleEvents", 1.0, None);
            return Err(capacity::throttled(&arn, false, gsi.is_some(), t.on_demand));
        }
        Ok(())
    }

    /// Debits what a request consumed from the buckets it drew on.
    pub fn charge(&self, t: &Table, c: &Consumed, read_index: Option<&str>) {
        let lsi_total: (f64, f64) = c.lsi.values().fold((0.0, 0.0), |a, (r, w)| (a.0 + r, a.1 + w));
        let gsi_read = read_index.filter(|n| t.indexes.iter().any(|i| i.name == *n && i.global));
        if c.read + lsi_total.0 > 0.0 {
            self.metrics.record(t, gsi_read, "ConsumedReadCapacityUnits", c.read + lsi_total.0, None);
        }
        if c.write + lsi_total.1 > 0.0 {
            self.metrics.record(t, None, "ConsumedWriteCapacityUnits", c.write + lsi_total.1, None);
        }
        for (name, (_, w)) in c.gsi.iter().filter(|(_, (_, w))| *w > 0.0) {
            self.metrics.record(t, Some(name), "ConsumedWriteCapacityUnits", *w, None);
        }
        match read_index.and_then(|n| t.indexes.iter().find(|i| i.name == n && i.global)) {
            Some(ix) => self.capacity.consume(&format!("{}/index/{}", t.arn, ix.name), false, c.read),
            None => self.capacity.consume(&t.arn, false, c.read + lsi_total.0),
        }
        self.capacity.consume(&t.arn, true, c.write + lsi_total.1);
        for (name, (_, w)) in &c.gsi {
            self.capacity.consume(&format!("{}/index/{name}", t.arn), true, *w);
        }
    }

    /// `ItemCollectionMetrics` for a write to `key`'s partition, when asked for (`SIZE`) and
    /// the table has local secondary indexes (the only tables with item collections): the
    /// size of the partition's items and their LSI entries, as a range in GB.
    pub fn collection_metrics(
        &self,
        t: &Table,
        key: &Item,
        mode: Option<&str>,
    ) -> AwsResult<Option<m::ItemCollectionMetrics>> {
        check_metrics_mode(mode)?;
        if mode != Some("SIZE") || t.indexes.iter().all(|ix| ix.global) {
            return Ok(None);
        }
        let Some(hash) = key.get(&t.key.hash.name) else { return Ok(None) };
        let snap = self.store.read()?;
        let mut bytes = 0usize;
        let mut sum = |table, prefix: Vec<u8>| {
            snap.range_bytes(
                table,
                std::ops::Bound::Included(&prefix[..]),
                std::ops::Bound::Excluded(&crate::query::successor(&prefix)[..]),
                true,
                |_, v| {
                    bytes += item_size(&decode(v)?);
                    Ok(true)
                },
            )
        };
        let mut prefix = t.id.to_vec();
        crate::value::encode_key_part(hash, &mut prefix, true);
        sum(crate::ITEMS, prefix)?;
        for ix in t.indexes.iter().filter(|ix| !ix.global) {
            let mut prefix = ix.id.to_vec();
            crate::value::encode_key_part(hash, &mut prefix, true);
            sum(crate::INDEX_ENTRIES, prefix)?;
        }
        let gb = (bytes as f64 / (1u64 << 30) as f64).floor();
        Ok(Some(m::ItemCollectionMetrics {
            item_collection_key: Some(wire(&[(t.key.hash.name.clone(), hash.clone())].into())),
            size_estimate_range_gb: Some(vec![gb, gb + 1.0]),
        }))
    }

    pub async fn put_item(&self, ctx: &RequestContext, i: m::PutItemInput) -> AwsResult<m::PutItemOutput> {
        let t = self.table(ctx, i.table_name.as_deref())?;
        let item = item_from_wire(i.item.unwrap_or_default())?;
        t.check_item(&item)?;
        let Guarded { return_old, fail_old, cond } = Guarded::new(
            (i.expected, i.conditional_operator),
            i.condition_expression,
            (i.expression_attribute_names, i.expression_attribute_values),
            (i.return_values, i.return_values_on_condition_check_failure),
            i.return_consumed_capacity.as_deref(),
        )?;
        self.admit_write(&t)?;
        let key = t.key.key_of(&item).unwrap_or_default();
        let metrics_mode = i.return_item_collection_metrics.clone();
        check_metrics_mode(metrics_mode.as_deref())?;
        let written = self
            .write_one(&t, key.clone(), move |old| {
                check_condition(&cond, old, fail_old)?;
                Ok(Some(item))
            })
            .await?;
        Ok(m::PutItemOutput {
            attributes: if return_old { written.old.as_ref().map(wire) } else { None },
            consumed_capacity: written.consumed.render(&t.name, i.return_consumed_capacity.as_deref()),
            item_collection_metrics: self.collection_metrics(&t, &key, metrics_mode.as_deref())?,
        })
    }

    /// Runs one write in its own transaction and charges its capacity, refused or not.
    pub async fn write_one(
        &self,
        t: &Table,
        key: Item,
        change: impl FnOnce(Option<&Item>) -> AwsResult<Option<Item>> + Send + 'static,
    ) -> AwsResult<Written> {
        let table = t.clone();
        let outcome = self.store.write(move |w| Ok(write_item(w, &table, &key, false, Box::new(change)))).await?;
        match outcome {
            Ok(written) => {
                self.charge(t, &written.consumed, None);
                Ok(written)
            }
            Err(refused) => {
                self.charge(t, &refused.consumed, None);
                Err(refused.error)
            }
        }
    }

    pub async fn delete_item(&self, ctx: &RequestContext, i: m::DeleteItemInput) -> AwsResult<m::DeleteItemOutput> {
        let t = self.table(ctx, i.table_name.as_deref())?;
        let key = item_from_wire(i.key.unwrap_or_default())?;
        t.check_key(&key)?;
        let Guarded { return_old, fail_old, cond } = Guarded::new(
            (i.expected, i.conditional_operator),
            i.condition_expression,
            (i.expression_attribute_names, i.expression_attribute_values),
            (i.return_values, i.return_values_on_condition_check_failure),
            i.return_consumed_capacity.as_deref(),
        )?;
        check_metrics_mode(i.return_item_collection_metrics.as_deref())?;
        self.admit_write(&t)?;
        let written = self
            .write_one(&t, key.clone(), move |old| {
                check_condition(&cond, old, fail_old)?;
                Ok(None)
            })
            .await?;
        Ok(m::DeleteItemOutput {
            attributes: if return_old { written.old.as_ref().map(wire) } else { None },
            consumed_capacity: written.consumed.render(&t.name, i.return_consumed_capacity.as_deref()),
            item_collection_metrics: self.collection_metrics(&t, &key, i.return_item_collection_metrics.as_deref())?,
        })
    }

    pub async fn update_item(&self, ctx: &RequestContext, i: m::UpdateItemInput) -> AwsResult<m::UpdateItemOutput> {
        legacy::not_both(
            &[("AttributeUpdates", i.attribute_updates.is_some()), ("Expected", i.expected.is_some())],
            &[
                ("UpdateExpression", i.update_expression.is_some()),
                ("ConditionExpression", i.condition_expression.is_some()),
            ],
        )?;
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let t = self.table(ctx, i.table_name.as_deref())?;
        let key = item_from_wire(i.key.unwrap_or_default())?;
        t.check_key(&key)?;
        let mode = i.return_values.clone().unwrap_or_else(|| "NONE".into());
        if !["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"].contains(&mode.as_str()) {
            return Err(validation("Return values set to invalid value"));
        }
        let fail_old = return_old_on_failure(i.return_values_on_condition_check_failure.as_deref())?;
        let subs = Substitutions::new(
            i.expression_attribute_names,
            i.expression_attribute_values,
            &[i.condition_expression.as_ref(), i.update_expression.as_ref()],
        )?;
        let ph = subs.placeholders();
        let update: Update = match (i.update_expression.as_ref(), i.attribute_updates) {
            (Some(u), _) => expr::update(u, &ph)?,
            (None, Some(a)) => legacy::attribute_updates(a)?,
            (None, None) => Update::default(),
        };
        let cond = match i.expected {
            Some(e) => legacy::expected(e, i.conditional_operator.as_deref())?,
            None => condition(i.condition_expression.as_ref(), &ph)?,
        };
        ph.check_unused()?;
        check_metrics_mode(i.return_item_collection_metrics.as_deref())?;
        self.admit_write(&t)?;
        let touched: Vec<Path> = update
            .set
            .iter()
            .map(|(p, _)| p.clone())
            .chain(update.remove.iter().cloned())
            .chain(update.add.iter().map(|(p, _)| p.clone()))
            .chain(update.delete.iter().map(|(p, _)| p.clone()))
            .collect();
        let table = t.clone();
        let key2 = key.clone();
        let written = self
            .write_one(&t, key.clone(), move |old| {
                check_condition(&cond, old, fail_old)?;
                let mut item = old.cloned().unwrap_or(key2);
                let names = table.key.names();
                eval::apply_update(&mut item, &update, &names)?;
                table.check_item(&item)?;
                Ok(Some(item))
            })
            .await?;
        let attributes = match mode.as_str() {
            "ALL_OLD" => written.old.clone(),
            "ALL_NEW" => written.new.clone(),
            "UPDATED_OLD" => written.old.as_ref().map(|o| eval::project(o, &touched)),
            "UPDATED_NEW" => written.new.as_ref().map(|n| eval::project(n, &touched)),
            _ => None,
        }
        .filter(|a| !a.is_empty());
        Ok(m::UpdateItemOutput {
            attributes: attributes.as_ref().map(wire),
            consumed_capacity: written.consumed.render(&t.name, i.return_consumed_capacity.as_deref()),
            item_collection_metrics: self.collection_metrics(&t, &key, i.return_item_collection_metrics.as_deref())?,
        })
    }

    pub fn get_item(&self, ctx: &RequestContext, i: m::GetItemInput) -> AwsResult<m::GetItemOutput> {
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let t = self.table(ctx, i.table_name.as_deref())?;
        let key = item_from_wire(i.key.unwrap_or_default())?;
        t.check_key(&key)?;
        let projection =
            self.projection(i.projection_expression.as_ref(), i.attributes_to_get, i.expression_attribute_names)?;
        let kind = ReadKind::of(i.consistent_read);
        self.admit_read(&t, None, kind)?;
        let item = self.store.read()?.get_bytes(crate::ITEMS, &t.item_key(&key))?.map(|b| decode(&b)).transpose()?;
        let consumed = Consumed {
            read: capacity::read_units(item.as_ref().map(item_size).unwrap_or(0), kind),
            ..Default::default()
        };
        self.charge(&t, &consumed, None);
        Ok(m::GetItemOutput {
            item: item.map(|it| wire(&projected(it, &projection))),
            consumed_capacity: consumed.render(&t.name, i.return_consumed_capacity.as_deref()),
        })
    }

    /// A read's projection from ProjectionExpression or the legacy AttributesToGet (a list
    /// of top-level names), never both.
    pub fn projection(
        &self,
        expression: Option<&String>,
        attributes_to_get: Option<Vec<String>>,
        names: Option<BTreeMap<String, String>>,
    ) -> AwsResult<Option<Vec<Path>>> {
        if expression.is_some() && attributes_to_get.is_some() {
            return Err(validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"));
        }
        if let Some(a) = attributes_to_get {
            let mut seen = std::collections::BTreeSet::new();
            if !a.iter().all(|x| seen.insert(x)) {
                return Err(validation(format!(
                    "One or more parameter values were invalid: Duplicate value in attribute name: {}",
                    a.join(", ")
                )));
            }
            return Ok(Some(a.into_iter().map(|n| vec![expr::Step::Attr(n)]).collect()));
        }
        let subs = Substitutions::new(names, None, &[expression])?;
        let ph = subs.placeholders();
        let p = expression.map(|e| expr::projection(e, &ph)).transpose()?;
        ph.check_unused()?;
        Ok(p)
    }
}

/// Fills a new global secondary index from its table's items, then marks it ACTIVE: in one
/// transaction, so that no write in between is missed or undone.
pub async fn backfill(store: &Store, table: &Table, index: &str) -> AwsResult<()> {
    let Some(ix) = table.indexes.iter().find(|i| i.name == index).cloned() else { return Ok(()) };
    let (table, name) = (table.clone(), ix.name.clone());
    store
        .write(move |w| {
            let mut counts: Counts = w.get(crate::COUNTS, &table.table_id)?.unwrap_or_default();
            let mut c = (0, 0);
            for k in w.keys_with_prefix(crate::ITEMS, &table.id)? {
                let Some(item) = read_item(w, &table, &k)? else { continue };
                if let (Some(e), Some(k)) = (ix.entry(&table.key, &item), ix.entry_key(&table.key, &item)) {
                    c.0 += 1;
                    c.1 += item_size(&e) as i64;
                    w.put_bytes(crate::INDEX_ENTRIES, &k, serde_json::to_vec(&e).map_err(AwsError::internal)?);
                }
            }
            counts.indexes.insert(name.clone(), c);
            w.put(crate::COUNTS, &table.table_id, &counts)?;
            // The table may have changed meanwhile: only the index's status is ours to set.
            if let Some(mut t) = w.get::<Table>(crate::TABLES, &table.store_key())? {
                if let Some(i) = t.indexes.iter_mut().find(|i| i.name == name) {
                    i.status = "ACTIVE".into();
                }
                w.put(crate::TABLES, &t.store_key(), &t)?;
            }
            Ok(())
        })
        .await
}
