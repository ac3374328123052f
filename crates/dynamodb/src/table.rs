//! Tables and their indexes: the stored description, key schemas, the keys items are stored
//! under, and the control-plane operations (CreateTable, DescribeTable, UpdateTable,
//! DeleteTable, ListTables, tags, TTL).
use crate::value::{encode_key_part, validation, Av, Item};
use crate::{now_ms, DynamoDb};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::dynamodb as m;
use nuage_protocol::dynamodb::errors::Error as E;
use nuage_protocol::Timestamp;
use serde::{Deserialize, Serialize};

/// An attribute of a key schema: its name and scalar type (`S`, `N`, `B`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyAttr {
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeySchema {
    pub hash: KeyAttr,
    pub range: Option<KeyAttr>,
}

impl KeySchema {
    pub fn names(&self) -> Vec<&str> {
        let mut v = vec![self.hash.name.as_str()];
        if let Some(r) = &self.range {
            v.push(r.name.as_str());
        }
        v
    }

    /// The key attributes of `item`, if it has all of them with the right types.
    pub fn key_of(&self, item: &Item) -> Option<Item> {
        let mut key = Item::new();
        for a in std::iter::once(&self.hash).chain(self.range.as_ref()) {
            let v = item.get(&a.name)?;
            if v.type_name() != a.kind {
                return None;
            }
            key.insert(a.name.clone(), v.clone());
        }
        Some(key)
    }

    fn to_wire(&self) -> Vec<m::KeySchemaElement> {
        let mut v =
            vec![m::KeySchemaElement { attribute_name: Some(self.hash.name.clone()), key_type: Some("HASH".into()) }];
        if let Some(r) = &self.range {
            v.push(m::KeySchemaElement { attribute_name: Some(r.name.clone()), key_type: Some("RANGE".into()) });
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub kind: String,
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    /// Prefix of its entries in the index store.
    pub id: [u8; 16],
    pub key: KeySchema,
    pub projection: Projection,
    pub global: bool,
    pub rcu: i64,
    pub wcu: i64,
    /// A GSI added by UpdateTable is CREATING until its backfill has run.
    pub status: String,
    pub max_read: Option<i64>,
    pub max_write: Option<i64>,
}

impl Index {
    /// The entry `item` has in this index, if it has the index's key attributes (sparse
    /// indexes): the projected attributes, always with the table's and the index's keys.
    pub fn entry(&self, table_key: &KeySchema, item: &Item) -> Option<Item> {
        self.key.key_of(item)?;
        let keep = |name: &str| {
            table_key.names().contains(&name)
                || self.key.names().contains(&name)
                || self.projection.kind == "ALL"
                || (self.projection.kind == "INCLUDE" && self.projection.include.iter().any(|i| i == name))
        };
        Some(item.iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// The stored key of an entry: the index key, then the table key that makes it unique.
    pub fn entry_key(&self, table_key: &KeySchema, item: &Item) -> Option<Vec<u8>> {
        let mut out = self.id.to_vec();
        encode_key_part(item.get(&self.key.hash.name)?, &mut out, true);
        if let Some(r) = &self.key.range {
            encode_key_part(item.get(&r.name)?, &mut out, true);
        }
        encode_key_part(item.get(&table_key.hash.name)?, &mut out, true);
        if let Some(r) = &table_key.range {
            encode_key_part(item.get(&r.name)?, &mut out, false);
        }
        Some(out)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Table {
    pub account: String,
    pub region: String,
    pub name: String,
    pub arn: String,
    pub table_id: String,
    /// Prefix of its items in the item store.
    pub id: [u8; 16],
    pub created_ms: i64,
    pub key: KeySchema,
    pub attributes: Vec<KeyAttr>,
    pub on_demand: bool,
    pub rcu: i64,
    pub wcu: i64,
    pub max_read: Option<i64>,
    pub max_write: Option<i64>,
    pub indexes: Vec<Index>,
    pub table_class: String,
    pub deletion_protection: bool,
    pub tags: Vec<(String, String)>,
    pub ttl_attribute: Option<String>,
    /// The table's stream, enabled or (for 24 hours of reading) disabled.
    #[serde(default)]
    pub stream: Option<crate::streams::StreamInfo>,
    /// Point-in-time recovery, when enabled.
    #[serde(default)]
    pub pitr: Option<crate::backup::Pitr>,
    /// The resource-based policy: its document and revision.
    #[serde(default)]
    pub policy: Option<(String, String)>,
    pub last_increase_ms: Option<i64>,
    pub last_decrease_ms: Option<i64>,
    pub decreases_today: i64,
}

/// Item count and size, kept as items are written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub items: i64,
    pub bytes: i64,
    /// Per index: entries and bytes.
    pub indexes: std::collections::BTreeMap<String, (i64, i64)>,
}

impl Table {
    pub fn store_key(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.name)
    }

    pub fn index(&self, name: &str) -> AwsResult<&Index> {
        self.indexes
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| validation(format!("The table does not have the specified index: {name}")))
    }

    /// The stored key of the item whose key attributes are in `item`.
    pub fn item_key(&self, item: &Item) -> Vec<u8> {
        let mut out = self.id.to_vec();
        if let Some(h) = item.get(&self.key.hash.name) {
            encode_key_part(h, &mut out, true);
        }
        if let Some(r) = self.key.range.as_ref().and_then(|r| item.get(&r.name)) {
            encode_key_part(r, &mut out, false);
        }
        out
    }

    /// Checks a Key parameter: exactly the key attributes, with their types.
    pub fn check_key(&self, key: &Item) -> AwsResult<()> {
        let mismatch = || validation("The provided key element does not match the schema");
        if key.len() != self.key.names().len() {
            return Err(mismatch());
        }
        for a in std::iter::once(&self.key.hash).chain(self.key.range.as_ref()) {
            let v = key.get(&a.name).ok_or_else(mismatch)?;
            if v.type_name() != a.kind {
                return Err(mismatch());
            }
            check_key_value(&a.name, v, a.name == self.key.hash.name)?;
        }
        Ok(())
    }

    /// Checks an item to be written: the table's key attributes present with their types,
    /// and the index key attributes it has typed as the indexes declare them.
    pub fn check_item(&self, item: &Item) -> AwsResult<()> {
        for a in std::iter::once(&self.key.hash).chain(self.key.range.as_ref()) {
            let v = item.get(&a.name).ok_or_else(|| {
                validation(format!("One or more parameter values were invalid: Missing the key {} in the item", a.name))
            })?;
            if v.type_name() != a.kind {
                return Err(validation(format!(
                    "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {}",
                    a.name,
                    a.kind,
                    v.type_name()
                )));
            }
            check_key_value(&a.name, v, a.name == self.key.hash.name)?;
        }
        for index in &self.indexes {
            for a in std::iter::once(&index.key.hash).chain(index.key.range.as_ref()) {
                if let Some(v) = item.get(&a.name) {
                    if v.type_name() != a.kind {
                        return Err(validation(format!(
                            "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                            a.name,
                            a.kind,
                            v.type_name(),
                            index.name
                        )));
                    }
                    check_key_value(&a.name, v, a.name == index.key.hash.name)?;
                }
            }
        }
        let size = crate::value::item_size(item);
        if size > crate::value::MAX_ITEM_SIZE {
            return Err(validation("Item size has exceeded the maximum allowed size"));
        }
        Ok(())
    }

    pub fn describe(&self, counts: &Counts, status: &str) -> m::TableDescription {
        let pt = |r: i64, w: i64, t: &Table| m::ProvisionedThroughputDescription {
            read_capacity_units: Some(r),
            write_capacity_units: Some(w),
            number_of_decreases_today: Some(t.decreases_today),
            last_increase_date_time: t.last_increase_ms.map(Timestamp::from_millis),
            last_decrease_date_time: t.last_decrease_ms.map(Timestamp::from_millis),
        };
        let projection = |p: &Projection| m::Projection {
            projection_type: Some(p.kind.clone()),
            non_key_attributes: (p.kind == "INCLUDE").then(|| p.include.clone()),
        };
        let on_demand = |r: Option<i64>, w: Option<i64>| {
            (self.on_demand && (r.is_some() || w.is_some())).then(|| m::OnDemandThroughput {
                max_read_request_units: Some(r.unwrap_or(-1)),
                max_write_request_units: Some(w.unwrap_or(-1)),
            })
        };
        let gsis: Vec<m::GlobalSecondaryIndexDescription> = self
            .indexes
            .iter()
            .filter(|i| i.global)
            .map(|i| {
                let (n, b) = counts.indexes.get(&i.name).copied().unwrap_or_default();
                m::GlobalSecondaryIndexDescription {
                    index_name: Some(i.name.clone()),
                    key_schema: Some(i.key.to_wire()),
                    projection: Some(projection(&i.projection)),
                    index_status: Some(i.status.clone()),
                    backfilling: (i.status == "CREATING").then_some(true),
                    provisioned_throughput: Some(pt(i.rcu, i.wcu, self)),
                    index_size_bytes: Some(b),
                    item_count: Some(n),
                    index_arn: Some(format!("{}/index/{}", self.arn, i.name)),
                    on_demand_throughput: on_demand(i.max_read, i.max_write),
                    ..Default::default()
                }
            })
            .collect();
        let lsis: Vec<m::LocalSecondaryIndexDescription> = self
            .indexes
            .iter()
            .filter(|i| !i.global)
            .map(|i| {
                let (n, b) = counts.indexes.get(&i.name).copied().unwrap_or_default();
                m::LocalSecondaryIndexDescription {
                    index_name: Some(i.name.clone()),
                    key_schema: Some(i.key.to_wire()),
                    projection: Some(projection(&i.projection)),
                    index_size_bytes: Some(b),
                    item_count: Some(n),
                    index_arn: Some(format!("{}/index/{}", self.arn, i.name)),
                }
            })
            .collect();
        m::TableDescription {
            attribute_definitions: Some(
                self.attributes
                    .iter()
                    .map(|a| m::AttributeDefinition {
                        attribute_name: Some(a.name.clone()),
                        attribute_type: Some(a.kind.clone()),
                    })
                    .collect(),
            ),
            table_name: Some(self.name.clone()),
            key_schema: Some(self.key.to_wire()),
            table_status: Some(status.into()),
            creation_date_time: Some(Timestamp::from_millis(self.created_ms)),
            provisioned_throughput: Some(pt(self.rcu, self.wcu, self)),
            table_size_bytes: Some(counts.bytes),
            item_count: Some(counts.items),
            table_arn: Some(self.arn.clone()),
            table_id: Some(self.table_id.clone()),
            billing_mode_summary: Some(m::BillingModeSummary {
                billing_mode: Some(if self.on_demand { "PAY_PER_REQUEST" } else { "PROVISIONED" }.into()),
                last_update_to_pay_per_request_date_time: self
                    .on_demand
                    .then(|| Timestamp::from_millis(self.created_ms)),
            }),
            local_secondary_indexes: (!lsis.is_empty()).then_some(lsis),
            global_secondary_indexes: (!gsis.is_empty()).then_some(gsis),
            table_class_summary: Some(m::TableClassSummary {
                table_class: Some(self.table_class.clone()),
                last_update_date_time: None,
            }),
            deletion_protection_enabled: Some(self.deletion_protection),
            on_demand_throughput: on_demand(self.max_read, self.max_write),
            stream_specification: self
                .stream
                .as_ref()
                .filter(|s| s.enabled)
                .map(|s| m::StreamSpecification { stream_enabled: Some(true), stream_view_type: Some(s.view.clone()) }),
            latest_stream_label: self.stream.as_ref().map(|s| s.label.clone()),
            latest_stream_arn: self.stream.as_ref().map(|s| s.arn(&self.arn)),
            ..Default::default()
        }
    }
}

/// Key values: no empty strings or binaries; a partition key up to 2048 bytes, a sort key
/// up to 1024.
fn check_key_value(name: &str, v: &Av, hash: bool) -> AwsResult<()> {
    let len = match v {
        Av::S(s) => s.len(),
        Av::B(b) => b.len(),
        _ => return Ok(()),
    };
    if len == 0 {
        return Err(validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {name}",
            if matches!(v, Av::S(_)) { "string" } else { "binary" }
        )));
    }
    if hash && len > 2048 {
        return Err(validation(
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ));
    }
    if !hash && len > 1024 {
        return Err(validation(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ));
    }
    Ok(())
}

/// Table and index names: 3 to 255 of `[a-zA-Z0-9_.-]`.
fn check_name(what: &str, name: &str) -> AwsResult<()> {
    let broken = if name.len() < 3 {
        "Member must have length greater than or equal to 3"
    } else if name.len() > 255 {
        "Member must have length less than or equal to 255"
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    } else {
        return Ok(());
    };
    Err(validation(format!(
        "1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: {broken}"
    )))
}

/// A resource policy document, checked as IAM checks resource policies (20 KB at most).
pub fn check_policy(doc: &str) -> AwsResult<String> {
    if doc.len() > 20 * 1024 {
        return Err(validation("Resource-based policy document exceeds the maximum size of 20 KB"));
    }
    nuage_policy::Policy::parse(doc, nuage_policy::PolicyKind::Resource)
        .map_err(|e| validation(format!("Invalid policy document: {e}")))?;
    Ok(doc.to_string())
}

pub fn not_found() -> AwsError {
    E::ResourceNotFoundException.msg("Requested resource not found")
}

fn key_schema(elements: &[m::KeySchemaElement], attrs: &[KeyAttr], what: &str) -> AwsResult<KeySchema> {
    let kind_of = |name: &str| -> AwsResult<KeyAttr> {
        let a = attrs.iter().find(|a| a.name == name).ok_or_else(|| {
            validation(format!(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{name}], AttributeDefinitions: [{}]",
                attrs.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        Ok(a.clone())
    };
    let mut hash = None;
    let mut range = None;
    for (i, e) in elements.iter().enumerate() {
        let name = e.attribute_name.clone().unwrap_or_default();
        match (e.key_type.as_deref(), i) {
            (Some("HASH"), 0) => hash = Some(kind_of(&name)?),
            (Some("RANGE"), 1) => range = Some(kind_of(&name)?),
            _ => {
                return Err(validation(format!(
                    "Invalid KeySchema: The first KeySchemaElement is not a HASH key type ({what})"
                )))
            }
        }
    }
    if elements.len() > 2 {
        return Err(validation(format!("Too many KeySchemaElements; expected at most 2 ({what})")));
    }
    if let (Some(h), Some(r)) = (&hash, &range) {
        if h.name == r.name {
            return Err(validation("Both the Hash Key and the Range Key element in the KeySchema have the same name"));
        }
    }
    Ok(KeySchema {
        hash: hash.ok_or_else(|| {
            validation("No Hash Key specified in schema.  All Dynamo DB tables must have exactly one hash key")
        })?,
        range,
    })
}

fn projection(p: Option<m::Projection>) -> AwsResult<Projection> {
    let p = p.unwrap_or_default();
    let kind = p.projection_type.unwrap_or_else(|| "ALL".into());
    let include = p.non_key_attributes.unwrap_or_default();
    match kind.as_str() {
        "INCLUDE" if include.is_empty() => Err(validation(
            "One or more parameter values were invalid: ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
        )),
        "ALL" | "KEYS_ONLY" if !include.is_empty() => Err(validation(format!(
            "One or more parameter values were invalid: ProjectionType is {kind}, but NonKeyAttributes is specified"
        ))),
        "ALL" | "KEYS_ONLY" | "INCLUDE" => Ok(Projection { kind, include }),
        _ => Err(validation(format!("Unknown ProjectionType: {kind}"))),
    }
}

fn throughput(on_demand: bool, pt: Option<&m::ProvisionedThroughput>, what: &str) -> AwsResult<(i64, i64)> {
    match (on_demand, pt) {
        (true, Some(_)) => Err(validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (true, None) => Ok((0, 0)),
        (false, None) => Err(validation(format!(
            "One or more parameter values were invalid: ProvisionedThroughput must be specified for {what} when BillingMode is PROVISIONED"
        ))),
        (false, Some(pt)) => {
            let (r, w) = (pt.read_capacity_units.unwrap_or(0), pt.write_capacity_units.unwrap_or(0));
            if r < 1 || w < 1 {
                return Err(validation(
                    "One or more parameter values were invalid: Provisioned throughput must be at least 1 for both read and write",
                ));
            }
            Ok((r, w))
        }
    }
}

fn limits(o: Option<&m::OnDemandThroughput>) -> (Option<i64>, Option<i64>) {
    let pos = |v: Option<i64>| v.filter(|v| *v > 0);
    o.map(|o| (pos(o.max_read_request_units), pos(o.max_write_request_units))).unwrap_or_default()
}

fn new_id() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

/// Table descriptions in memory, read on every request: each entry is the stored one, and
/// any change to a table empties the cache after its commit. An epoch makes sure a read that
/// raced with a change never caches what it read.
#[derive(Default)]
pub struct TableCache {
    epoch: std::sync::atomic::AtomicU64,
    map: std::sync::RwLock<std::collections::HashMap<String, std::sync::Arc<Table>>>,
}

impl TableCache {
    fn get(&self, store: &nuage_storage::Store, key: &str) -> AwsResult<Option<std::sync::Arc<Table>>> {
        if let Some(t) = self.map.read().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(Some(t));
        }
        let epoch = self.epoch.load(std::sync::atomic::Ordering::SeqCst);
        let Some(t) = store.read()?.get::<Table>(crate::TABLES, key)? else { return Ok(None) };
        let t = std::sync::Arc::new(t);
        if let Ok(mut m) = self.map.write() {
            if self.epoch.load(std::sync::atomic::Ordering::SeqCst) == epoch {
                m.insert(key.to_string(), t.clone());
            }
        }
        Ok(Some(t))
    }

    /// Called after every committed change to a table.
    pub fn forget(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
    }
}

impl DynamoDb {
    /// A table by name (in the caller's account and region) or by ARN (any account: access
    /// across accounts is then for its resource policy to allow).
    pub fn table(&self, ctx: &RequestContext, name: Option<&str>) -> AwsResult<std::sync::Arc<Table>> {
        let name = name.unwrap_or_default();
        let key = match name.strip_prefix("arn:") {
            Some(rest) => {
                // aws:dynamodb:<region>:<account>:table/<name>[/...]
                let parts: Vec<&str> = rest.splitn(5, ':').collect();
                let table = parts.get(4).and_then(|r| r.strip_prefix("table/")).ok_or_else(not_found)?;
                let table = table.split('/').next().unwrap_or(table);
                format!("{}/{}/{table}", parts.get(3).unwrap_or(&""), parts.get(2).unwrap_or(&""))
            }
            None => format!("{}/{}/{name}", ctx.account_id().unwrap_or_default(), ctx.region),
        };
        self.tables.get(&self.store, &key)?.ok_or_else(not_found)
    }

    pub fn counts(&self, t: &Table) -> AwsResult<Counts> {
        Ok(self.store.read()?.get(crate::COUNTS, &t.table_id)?.unwrap_or_default())
    }

    pub async fn create_table(&self, ctx: &RequestContext, i: m::CreateTableInput) -> AwsResult<m::CreateTableOutput> {
        let name = i.table_name.unwrap_or_default();
        check_name("tableName", &name)?;
        if i.global_table_source_arn.is_some() || i.vector_indexes.is_some() {
            return Err(validation("nuage does not serve global tables or vector indexes on DynamoDB tables yet"));
        }
        let attributes: Vec<KeyAttr> = i
            .attribute_definitions
            .unwrap_or_default()
            .into_iter()
            .map(|a| KeyAttr { name: a.attribute_name.unwrap_or_default(), kind: a.attribute_type.unwrap_or_default() })
            .collect();
        let key = key_schema(&i.key_schema.unwrap_or_default(), &attributes, "table")?;
        let on_demand = match i.billing_mode.as_deref() {
            None | Some("PROVISIONED") => false,
            Some("PAY_PER_REQUEST") => true,
            Some(other) => return Err(validation(format!("Unknown BillingMode: {other}"))),
        };
        let (rcu, wcu) = throughput(on_demand, i.provisioned_throughput.as_ref(), "table")?;
        let (max_read, max_write) = limits(i.on_demand_throughput.as_ref());
        let mut indexes = Vec::new();
        let lsis = i.local_secondary_indexes.unwrap_or_default();
        if lsis.len() > 5 {
            return Err(validation("One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5"));
        }
        for l in lsis {
            let iname = l.index_name.unwrap_or_default();
            check_name("localSecondaryIndexes.indexName", &iname)?;
            let k = key_schema(&l.key_schema.unwrap_or_default(), &attributes, &iname)?;
            if k.hash != key.hash || k.range.is_none() || key.range.is_none() {
                return Err(validation(
                    "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
                ));
            }
            indexes.push(Index {
                name: iname,
                id: new_id(),
                key: k,
                projection: projection(l.projection)?,
                global: false,
                rcu: 0,
                wcu: 0,
                status: "ACTIVE".into(),
                max_read: None,
                max_write: None,
            });
        }
        let gsis = i.global_secondary_indexes.unwrap_or_default();
        if gsis.len() > 20 {
            return Err(validation("One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20"));
        }
        for g in gsis {
            let iname = g.index_name.unwrap_or_default();
            check_name("globalSecondaryIndexes.indexName", &iname)?;
            let k = key_schema(&g.key_schema.unwrap_or_default(), &attributes, &iname)?;
            let (r, w) = throughput(on_demand, g.provisioned_throughput.as_ref(), &format!("index {iname}"))?;
            let (mr, mw) = limits(g.on_demand_throughput.as_ref());
            indexes.push(Index {
                name: iname,
                id: new_id(),
                key: k,
                projection: projection(g.projection)?,
                global: true,
                rcu: r,
                wcu: w,
                status: "ACTIVE".into(),
                max_read: mr,
                max_write: mw,
            });
        }
        let mut names = std::collections::BTreeSet::new();
        for ix in &indexes {
            if !names.insert(ix.name.clone()) {
                return Err(validation(format!(
                    "One or more parameter values were invalid: Duplicate index name: {}",
                    ix.name
                )));
            }
        }
        // Every attribute defined must be used by a key.
        for a in &attributes {
            let used = key.names().contains(&a.name.as_str())
                || indexes.iter().any(|ix| ix.key.names().contains(&a.name.as_str()));
            if !used {
                return Err(validation(
                    "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
                ));
            }
        }
        let table_class = i.table_class.unwrap_or_else(|| "STANDARD".into());
        if !["STANDARD", "STANDARD_INFREQUENT_ACCESS"].contains(&table_class.as_str()) {
            return Err(validation(format!("Unknown TableClass: {table_class}")));
        }
        let account = ctx.account_id().unwrap_or_default().to_string();
        let table = Table {
            arn: format!("arn:aws:dynamodb:{}:{account}:table/{name}", ctx.region),
            account,
            region: ctx.region.clone(),
            name: name.clone(),
            table_id: uuid::Uuid::new_v4().to_string(),
            id: new_id(),
            created_ms: now_ms(),
            key,
            attributes,
            on_demand,
            rcu,
            wcu,
            max_read,
            max_write,
            indexes,
            table_class,
            deletion_protection: i.deletion_protection_enabled.unwrap_or(false),
            tags: i
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
                .collect(),
            ttl_attribute: None,
            stream: crate::streams::StreamInfo::from_spec(i.stream_specification.as_ref(), None)?,
            pitr: None,
            policy: match i.resource_policy {
                Some(doc) => Some((check_policy(&doc)?, now_ms().to_string())),
                None => None,
            },
            last_increase_ms: None,
            last_decrease_ms: None,
            decreases_today: 0,
        };
        let t = table.clone();
        self.store
            .write(move |w| {
                if w.get::<Table>(crate::TABLES, &t.store_key())?.is_some() {
                    return Err(E::ResourceInUseException.msg(format!("Table already exists: {}", t.name)));
                }
                w.put(crate::TABLES, &t.store_key(), &t)
            })
            .await?;
        self.tables.forget();
        // Tables are created at once: the answer says CREATING, as AWS's first answer does,
        // and the next DescribeTable says ACTIVE.
        Ok(m::CreateTableOutput { table_description: Some(table.describe(&Counts::default(), "CREATING")) })
    }

    pub fn describe_table(&self, ctx: &RequestContext, i: m::DescribeTableInput) -> AwsResult<m::DescribeTableOutput> {
        let t = self.table(ctx, i.table_name.as_deref())?;
        let counts = self.counts(&t)?;
        Ok(m::DescribeTableOutput { table: Some(t.describe(&counts, "ACTIVE")) })
    }

    pub fn list_tables(&self, ctx: &RequestContext, i: m::ListTablesInput) -> AwsResult<m::ListTablesOutput> {
        let limit = i.limit.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            return Err(validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
            )));
        }
        let prefix = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let start = format!("{prefix}{}", i.exclusive_start_table_name.unwrap_or_default());
        let rows: Vec<(String, Table)> =
            self.store.read()?.scan_from(crate::TABLES, &prefix, &start, limit as usize + 2)?;
        let mut names: Vec<String> =
            rows.into_iter().map(|(_, t)| t.name).filter(|n| format!("{prefix}{n}") > start).collect();
        let more = names.len() > limit as usize;
        names.truncate(limit as usize);
        Ok(m::ListTablesOutput {
            last_evaluated_table_name: if more { names.last().cloned() } else { None },
            table_names: Some(names),
        })
    }

    pub async fn delete_table(&self, ctx: &RequestContext, i: m::DeleteTableInput) -> AwsResult<m::DeleteTableOutput> {
        let t = self.table(ctx, i.table_name.as_deref())?;
        if t.deletion_protection {
            return Err(validation(format!(
                "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first. Resource: {}",
                t.arn
            )));
        }
        let counts = self.counts(&t)?;
        let desc = t.describe(&counts, "DELETING");
        let t2 = t.clone();
        self.store
            .write(move |w| {
                for k in w.keys_with_prefix(crate::ITEMS, &t2.id)? {
                    w.delete_bytes(crate::ITEMS, &k);
                }
                for ix in &t2.indexes {
                    for k in w.keys_with_prefix(crate::INDEX_ENTRIES, &ix.id)? {
                        w.delete_bytes(crate::INDEX_ENTRIES, &k);
                    }
                }
                w.delete(crate::COUNTS, &t2.table_id)?;
                w.delete(crate::TABLES, &t2.store_key())
            })
            .await?;
        self.tables.forget();
        self.capacity.forget(&t.arn);
        Ok(m::DeleteTableOutput { table_description: Some(desc) })
    }

    pub async fn update_table(&self, ctx: &RequestContext, i: m::UpdateTableInput) -> AwsResult<m::UpdateTableOutput> {
        let mut t = (*self.table(ctx, i.table_name.as_deref())?).clone();
        if i.replica_updates.is_some() || i.vector_index_updates.is_some() || i.global_table_witness_updates.is_some() {
            return Err(validation("nuage does not serve global tables or vector indexes yet"));
        }
        let mut changed = false;
        if let Some(spec) = i.stream_specification.as_ref() {
            t.stream = crate::streams::StreamInfo::from_spec(Some(spec), t.stream.as_ref())?;
            changed = true;
        }
        if let Some(mode) = i.billing_mode.as_deref() {
            let on_demand = match mode {
                "PAY_PER_REQUEST" => true,
                "PROVISIONED" => false,
                other => return Err(validation(format!("Unknown BillingMode: {other}"))),
            };
            if !on_demand && t.on_demand && i.provisioned_throughput.is_none() {
                return Err(validation(
                    "One or more parameter values were invalid: ProvisionedThroughput must be specified for table when BillingMode is PROVISIONED",
                ));
            }
            if on_demand {
                t.rcu = 0;
                t.wcu = 0;
                for ix in &mut t.indexes {
                    ix.rcu = 0;
                    ix.wcu = 0;
                }
            }
            changed |= t.on_demand != on_demand;
            t.on_demand = on_demand;
        }
        if let Some(pt) = &i.provisioned_throughput {
            let (r, w) = throughput(t.on_demand, Some(pt), "table")?;
            if (r, w) == (t.rcu, t.wcu) && i.billing_mode.is_none() {
                return Err(validation(format!(
                    "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {}. Requested ReadCapacityUnits: {r}. Current WriteCapacityUnits provisioned for the table: {}. Requested WriteCapacityUnits: {w}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
                    t.rcu, t.wcu
                )));
            }
            let now = now_ms();
            if r > t.rcu || w > t.wcu {
                t.last_increase_ms = Some(now);
            }
            if r < t.rcu || w < t.wcu {
                t.last_decrease_ms = Some(now);
                t.decreases_today += 1;
            }
            t.rcu = r;
            t.wcu = w;
            changed = true;
        }
        if let Some(o) = &i.on_demand_throughput {
            let (r, w) = limits(Some(o));
            t.max_read = r;
            t.max_write = w;
            changed = true;
        }
        if let Some(c) = i.table_class {
            if !["STANDARD", "STANDARD_INFREQUENT_ACCESS"].contains(&c.as_str()) {
                return Err(validation(format!("Unknown TableClass: {c}")));
            }
            t.table_class = c;
            changed = true;
        }
        if let Some(p) = i.deletion_protection_enabled {
            t.deletion_protection = p;
            changed = true;
        }
        for a in i.attribute_definitions.unwrap_or_default() {
            let a = KeyAttr { name: a.attribute_name.unwrap_or_default(), kind: a.attribute_type.unwrap_or_default() };
            if !t.attributes.iter().any(|x| x.name == a.name) {
                t.attributes.push(a);
            }
        }
        let mut backfill = Vec::new();
        for u in i.global_secondary_index_updates.unwrap_or_default() {
            changed = true;
            if let Some(c) = u.create {
                let iname = c.index_name.unwrap_or_default();
                check_name("indexName", &iname)?;
                if t.indexes.iter().any(|ix| ix.name == iname) {
                    return Err(validation(format!(
                        "One or more parameter values were invalid: Index {iname} already exists"
                    )));
                }
                let k = key_schema(&c.key_schema.unwrap_or_default(), &t.attributes, &iname)?;
                let (r, w) = throughput(t.on_demand, c.provisioned_throughput.as_ref(), &format!("index {iname}"))?;
                let (mr, mw) = limits(c.on_demand_throughput.as_ref());
                let ix = Index {
                    name: iname,
                    id: new_id(),
                    key: k,
                    projection: projection(c.projection)?,
                    global: true,
                    rcu: r,
                    wcu: w,
                    status: "CREATING".into(),
                    max_read: mr,
                    max_write: mw,
                };
                backfill.push(ix.name.clone());
                t.indexes.push(ix);
            } else if let Some(d) = u.delete {
                let iname = d.index_name.unwrap_or_default();
                let pos = t.indexes.iter().position(|ix| ix.global && ix.name == iname).ok_or_else(|| {
                    E::ResourceNotFoundException.msg(format!("Requested resource not found: Index: {iname} not found"))
                })?;
                let ix = t.indexes.remove(pos);
                let id = ix.id;
                self.store
                    .write(move |w| {
                        for k in w.keys_with_prefix(crate::INDEX_ENTRIES, &id)? {
                            w.delete_bytes(crate::INDEX_ENTRIES, &k);
                        }
                        Ok(())
                    })
                    .await?;
            } else if let Some(up) = u.update {
                let iname = up.index_name.unwrap_or_default();
                let on_demand = t.on_demand;
                let ix = t.indexes.iter_mut().find(|ix| ix.global && ix.name == iname).ok_or_else(|| {
                    E::ResourceNotFoundException.msg(format!("Requested resource not found: Index: {iname} not found"))
                })?;
                if let Some(pt) = up.provisioned_throughput.as_ref() {
                    let (r, w) = throughput(on_demand, Some(pt), &format!("index {iname}"))?;
                    ix.rcu = r;
                    ix.wcu = w;
                }
                if let Some(o) = up.on_demand_throughput.as_ref() {
                    (ix.max_read, ix.max_write) = limits(Some(o));
                }
            }
        }
        if !changed {
            return Err(validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"));
        }
        let t2 = t.clone();
        self.store.write(move |w| w.put(crate::TABLES, &t2.store_key(), &t2)).await?;
        self.tables.forget();
        self.capacity.forget(&t.arn);
        let counts = self.counts(&t)?;
        let desc = t.describe(&counts, "UPDATING");
        for name in backfill {
            self.spawn_backfill(t.clone(), name);
        }
        Ok(m::UpdateTableOutput { table_description: Some(desc) })
    }

    /// Fills a new GSI from the table's items, then marks it ACTIVE, as AWS does in the
    /// background while the index reports CREATING.
    fn spawn_backfill(&self, table: Table, index: String) {
        let (store, tables) = (self.store.clone(), self.tables.clone());
        tokio::spawn(async move {
            let result = crate::items::backfill(&store, &table, &index).await;
            tables.forget();
            if let Err(e) = result {
                tracing::error!(table = %table.name, index, error = %e.message, "GSI backfill failed");
            }
        });
    }

    pub async fn tag(
        &self,
        ctx: &RequestContext,
        arn: Option<&str>,
        add: Vec<(String, String)>,
        remove: Vec<String>,
    ) -> AwsResult<()> {
        let mut t = (*self.table(ctx, arn)?).clone();
        if arn.is_some_and(|a| a != t.arn) {
            return Err(not_found());
        }
        for (k, v) in add {
            t.tags.retain(|(x, _)| *x != k);
            t.tags.push((k, v));
        }
        t.tags.retain(|(k, _)| !remove.contains(k));
        if t.tags.len() > 50 {
            return Err(E::LimitExceededException.msg("The number of tags exceeds the limit of 50"));
        }
        self.store.write(move |w| w.put(crate::TABLES, &t.store_key(), &t)).await?;
        self.tables.forget();
        Ok(())
    }

    pub async fn put_policy(
        &self,
        ctx: &RequestContext,
        i: m::PutResourcePolicyInput,
    ) -> AwsResult<m::PutResourcePolicyOutput> {
        let mut t = self.policy_table(ctx, i.resource_arn.as_deref())?;
        let doc = check_policy(i.policy.as_deref().unwrap_or_default())?;
        if let Some(expected) = &i.expected_revision_id {
            if t.policy.as_ref().map(|(_, r)| r) != Some(expected) {
                return Err(E::PolicyNotFoundException.msg(format!(
                    "Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id {expected}, but the policy associated to target table {} has revision id {}.",
                    t.name,
                    t.policy.as_ref().map(|(_, r)| r.as_str()).unwrap_or("none")
                )));
            }
        }
        let revision = now_ms().to_string();
        t.policy = Some((doc, revision.clone()));
        self.store.write(move |w| w.put(crate::TABLES, &t.store_key(), &t)).await?;
        self.tables.forget();
        Ok(m::PutResourcePolicyOutput { revision_id: Some(revision) })
    }

    pub fn get_policy(
        &self,
        ctx: &RequestContext,
        i: m::GetResourcePolicyInput,
    ) -> AwsResult<m::GetResourcePolicyOutput> {
        let t = self.policy_table(ctx, i.resource_arn.as_deref())?;
        let (doc, revision) = t.policy.ok_or_else(|| {
            E::PolicyNotFoundException.msg(format!(
                "Resource-based policy not found for the provided ResourceArn: {}",
                i.resource_arn.unwrap_or_default()
            ))
        })?;
        Ok(m::GetResourcePolicyOutput { policy: Some(doc), revision_id: Some(revision) })
    }

    pub async fn delete_policy(
        &self,
        ctx: &RequestContext,
        i: m::DeleteResourcePolicyInput,
    ) -> AwsResult<m::DeleteResourcePolicyOutput> {
        let mut t = self.policy_table(ctx, i.resource_arn.as_deref())?;
        let Some((_, revision)) = t.policy.clone() else {
            return Err(E::PolicyNotFoundException.msg(format!(
                "Resource-based policy not found for the provided ResourceArn: {}",
                i.resource_arn.unwrap_or_default()
            )));
        };
        if i.expected_revision_id.as_ref().is_some_and(|e| *e != revision) {
            return Err(E::PolicyNotFoundException.msg(format!(
                "Resource-based policy not found for the provided ResourceArn: the policy has revision id {revision}"
            )));
        }
        t.policy = None;
        self.store.write(move |w| w.put(crate::TABLES, &t.store_key(), &t)).await?;
        self.tables.forget();
        Ok(m::DeleteResourcePolicyOutput { revision_id: Some(revision) })
    }

    /// The table a resource-policy operation names by ARN (tables only: streams' policies are
    /// not kept yet).
    fn policy_table(&self, ctx: &RequestContext, arn: Option<&str>) -> AwsResult<Table> {
        let arn = arn.unwrap_or_default();
        if arn.contains("/stream/") {
            return Err(validation(
                "nuage keeps resource-based policies on tables; stream policies are not served yet",
            ));
        }
        let t = self.table(ctx, Some(arn))?;
        if t.arn != arn {
            return Err(not_found());
        }
        Ok((*t).clone())
    }

    pub async fn update_ttl(
        &self,
        ctx: &RequestContext,
        i: m::UpdateTimeToLiveInput,
    ) -> AwsResult<m::UpdateTimeToLiveOutput> {
        let mut t = (*self.table(ctx, i.table_name.as_deref())?).clone();
        let spec = i.time_to_live_specification.unwrap_or_default();
        let enabled = spec.enabled.unwrap_or(false);
        let attr = spec.attribute_name.clone().unwrap_or_default();
        match (&t.ttl_attribute, enabled) {
            (Some(_), true) => return Err(validation("TimeToLive is already enabled")),
            (None, false) => return Err(validation("TimeToLive is already disabled")),
            (Some(a), false) if *a != attr => {
                return Err(validation(format!(
                    "TimeToLive is active on a different AttributeName: current AttributeName is {a}"
                )))
            }
            _ => {}
        }
        t.ttl_attribute = enabled.then_some(attr);
        self.store.write(move |w| w.put(crate::TABLES, &t.store_key(), &t)).await?;
        self.tables.forget();
        Ok(m::UpdateTimeToLiveOutput { time_to_live_specification: Some(spec) })
    }

    pub fn describe_ttl(
        &self,
        ctx: &RequestContext,
        i: m::DescribeTimeToLiveInput,
    ) -> AwsResult<m::DescribeTimeToLiveOutput> {
        let t = self.table(ctx, i.table_name.as_deref())?;
        Ok(m::DescribeTimeToLiveOutput {
            time_to_live_description: Some(m::TimeToLiveDescription {
                time_to_live_status: Some(if t.ttl_attribute.is_some() { "ENABLED" } else { "DISABLED" }.into()),
                attribute_name: t.ttl_attribute.clone(),
            }),
        })
    }
}
