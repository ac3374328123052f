//! Query and Scan: one partition in sort-key order, or the whole table (optionally one
//! segment of a parallel scan); pages end at `Limit` items evaluated or 1 MB read, and read
//! capacity counts every item read, before the filter.
use crate::capacity::{self, Consumed, ReadKind};
use crate::eval;
use crate::expr::{self, Cmp, Cond, Operand, Path, Step};
use crate::items::{decode, wire, Substitutions};
use crate::legacy;
use crate::table::{Index, Table};
use crate::value::{item_from_wire, item_size, validation, Av, Item};
use crate::DynamoDb;
use nuage_core::{AwsResult, RequestContext};
use nuage_protocol::dynamodb as m;
use std::cmp::Ordering;
use std::ops::Bound;

/// DynamoDB stops a page once it has read this much.
const PAGE_BYTES: usize = 1024 * 1024;

pub(crate) fn as_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

pub use nuage_storage::prefix_end as successor;

/// A key condition's sort-key part.
enum SortCond {
    Cmp(Cmp, Av),
    Between(Av, Av),
    BeginsWith(Av),
}

/// Where a sort value lies relative to the condition, in the partition's order.
#[derive(PartialEq)]
enum Place {
    Below,
    In,
    Above,
}

impl SortCond {
    fn place(&self, v: &Av) -> Place {
        let cmp = |b: &Av| v.compare(b).unwrap_or(Ordering::Less);
        match self {
            SortCond::Cmp(op, b) => match (op, cmp(b)) {
                (Cmp::Eq, Ordering::Equal) => Place::In,
                (Cmp::Eq, Ordering::Less) => Place::Below,
                (Cmp::Eq, _) => Place::Above,
                (Cmp::Lt, Ordering::Less) | (Cmp::Le, Ordering::Less | Ordering::Equal) => Place::In,
                (Cmp::Lt | Cmp::Le, _) => Place::Above,
                (Cmp::Gt, Ordering::Greater) | (Cmp::Ge, Ordering::Greater | Ordering::Equal) => Place::In,
                (Cmp::Gt | Cmp::Ge, _) => Place::Below,
                (Cmp::Ne, _) => Place::In,
            },
            SortCond::Between(lo, hi) => match (cmp(lo), cmp(hi)) {
                (Ordering::Less, _) => Place::Below,
                (_, Ordering::Greater) => Place::Above,
                _ => Place::In,
            },
            SortCond::BeginsWith(p) => match (v, p) {
                (Av::S(s), Av::S(p)) if s.starts_with(p.as_str()) => Place::In,
                (Av::B(s), Av::B(p)) if s.starts_with(p) => Place::In,
                _ if cmp(p) == Ordering::Less => Place::Below,
                _ => Place::Above,
            },
        }
    }

    /// The value a forward scan may seek to.
    fn lower(&self) -> Option<&Av> {
        match self {
            SortCond::Cmp(Cmp::Eq | Cmp::Gt | Cmp::Ge, v) | SortCond::Between(v, _) | SortCond::BeginsWith(v) => {
                Some(v)
            }
            _ => None,
        }
    }
}

fn key_condition_error(msg: impl std::fmt::Display) -> nuage_core::AwsError {
    validation(format!("Invalid KeyConditionExpression: {msg}"))
}

/// Splits a key condition into the partition value and the sort condition, checking it names
/// the schema's keys as DynamoDB requires.
fn key_condition(cond: Cond, hash: &str, range: Option<&str>) -> AwsResult<(Av, Option<SortCond>)> {
    let mut parts = Vec::new();
    fn flatten(c: Cond, out: &mut Vec<Cond>) -> AwsResult<()> {
        match c {
            Cond::And(a, b) => {
                flatten(*a, out)?;
                flatten(*b, out)
            }
            Cond::Or(..) | Cond::Not(..) => {
                Err(key_condition_error("Invalid operator used in KeyConditionExpression: OR"))
            }
            other => {
                out.push(other);
                Ok(())
            }
        }
    }
    flatten(cond, &mut parts)?;
    if parts.len() > 2 {
        return Err(key_condition_error("The expression has too many conditions; conditions: 3"));
    }
    let name_of = |p: &Path| match p.as_slice() {
        [Step::Attr(a)] => Some(a.clone()),
        _ => None,
    };
    let mut hash_value = None;
    let mut sort = None;
    for part in parts {
        let (attr, sc) = match part {
            Cond::Cmp(Operand::Path(p), op, Operand::Value(v)) => (name_of(&p), SortCond::Cmp(op, v)),
            Cond::Cmp(Operand::Value(v), op, Operand::Path(p)) => {
                let flipped = match op {
                    Cmp::Lt => Cmp::Gt,
                    Cmp::Le => Cmp::Ge,
                    Cmp::Gt => Cmp::Lt,
                    Cmp::Ge => Cmp::Le,
                    o => o,
                };
                (name_of(&p), SortCond::Cmp(flipped, v))
            }
            Cond::Between(Operand::Path(p), Operand::Value(lo), Operand::Value(hi)) => {
                (name_of(&p), SortCond::Between(lo, hi))
            }
            Cond::BeginsWith(Operand::Path(p), Operand::Value(v)) => (name_of(&p), SortCond::BeginsWith(v)),
            _ => return Err(validation("Query key condition not supported")),
        };
        let attr = attr.ok_or_else(|| validation("Query key condition not supported"))?;
        if attr == hash {
            match sc {
                SortCond::Cmp(Cmp::Eq, v) if hash_value.is_none() => hash_value = Some(v),
                _ => return Err(validation("Query key condition not supported")),
            }
        } else if Some(attr.as_str()) == range && sort.is_none() {
            if let SortCond::Cmp(Cmp::Ne, _) = sc {
                return Err(key_condition_error("Unsupported operator in KeyConditionExpression: <>"));
            }
            sort = Some(sc);
        } else {
            return Err(validation(format!(
                "Query condition missed key schema element: {}",
                range.filter(|r| *r != attr).unwrap_or(hash)
            )));
        }
    }
    let hash_value =
        hash_value.ok_or_else(|| validation(format!("Query condition missed key schema element: {hash}")))?;
    Ok((hash_value, sort))
}

/// What a Query or Scan reads: the table, or one of its indexes.
pub(crate) struct Source<'t> {
    pub table: &'t Table,
    pub index: Option<&'t Index>,
}

impl Source<'_> {
    pub fn key(&self) -> &crate::table::KeySchema {
        self.index.map(|i| &i.key).unwrap_or(&self.table.key)
    }
    pub fn store(&self) -> nuage_storage::BytesTable {
        if self.index.is_some() {
            crate::INDEX_ENTRIES
        } else {
            crate::ITEMS
        }
    }
    pub fn prefix(&self) -> Vec<u8> {
        self.index.map(|i| i.id.to_vec()).unwrap_or_else(|| self.table.id.to_vec())
    }
    pub fn stored_key(&self, item: &Item) -> Option<Vec<u8>> {
        match self.index {
            Some(ix) => ix.entry_key(&self.table.key, item),
            None => Some(self.table.item_key(item)),
        }
    }
    /// The key attributes of an item as LastEvaluatedKey gives them.
    pub fn last_key(&self, item: &Item) -> Item {
        let mut names = self.table.key.names();
        if let Some(ix) = self.index {
            names.extend(ix.key.names());
        }
        item.iter().filter(|(k, _)| names.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
    }
    pub fn check_start(&self, start: &Item) -> AwsResult<()> {
        let bad =
            || validation("The provided starting key is invalid: The provided key element does not match the schema");
        self.table.key.key_of(start).ok_or_else(bad)?;
        if let Some(ix) = self.index {
            ix.key.key_of(start).ok_or_else(bad)?;
        }
        Ok(())
    }
}

/// One page's parameters, shared by Query and Scan.
pub(crate) struct Page {
    pub limit: Option<usize>,
    pub filter: Option<Cond>,
    pub projection: Option<Vec<Path>>,
    pub count_only: bool,
    /// Read the full item from the table (LSI queries asking for all attributes).
    pub fetch: bool,
}

pub(crate) struct PageResult {
    pub items: Vec<Item>,
    pub scanned: usize,
    pub bytes: usize,
    pub last: Option<Item>,
}

fn select(select: Option<&str>, projection: &Option<Vec<Path>>, index: Option<&Index>) -> AwsResult<(bool, bool)> {
    let sel = select.unwrap_or(if projection.is_some() {
        "SPECIFIC_ATTRIBUTES"
    } else if index.is_some() {
        "ALL_PROJECTED_ATTRIBUTES"
    } else {
        "ALL_ATTRIBUTES"
    });
    match sel {
        "SPECIFIC_ATTRIBUTES" if projection.is_none() => Err(validation(
            "One or more parameter values were invalid: Select type SPECIFIC_ATTRIBUTES requires ProjectionExpression or AttributesToGet",
        )),
        "SPECIFIC_ATTRIBUTES" => Ok((false, false)),
        _ if projection.is_some() => Err(validation(format!(
            "One or more parameter values were invalid: Cannot specify the ProjectionExpression when choosing to get {sel}"
        ))),
        "COUNT" => Ok((true, false)),
        "ALL_PROJECTED_ATTRIBUTES" if index.is_none() => Err(validation(
            "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is supported only for index queries",
        )),
        "ALL_PROJECTED_ATTRIBUTES" => Ok((false, false)),
        "ALL_ATTRIBUTES" => match index {
            Some(ix) if ix.projection.kind != "ALL" && ix.global => Err(validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                ix.name
            ))),
            Some(ix) if ix.projection.kind != "ALL" => Ok((false, true)),
            _ => Ok((false, false)),
        },
        other => Err(validation(format!(
            "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        ))),
    }
}

/// A read's filter (FilterExpression, or the legacy QueryFilter/ScanFilter joined by
/// ConditionalOperator) and projection (ProjectionExpression or AttributesToGet); the
/// placeholders are then all used, or refused.
fn filter_and_projection(
    ph: &expr::Placeholders,
    filter: Option<&String>,
    legacy_filter: Option<std::collections::BTreeMap<String, m::Condition>>,
    operator: Option<&str>,
    projection: Option<&String>,
    attributes_to_get: Option<Vec<String>>,
) -> AwsResult<(Option<Cond>, Option<Vec<Path>>)> {
    let filter = match (filter, legacy_filter) {
        (Some(f), _) => Some(expr::condition("FilterExpression", f, ph)?),
        (None, Some(q)) => legacy::conditions(q, operator)?,
        (None, None) => None,
    };
    let projection = match (projection, attributes_to_get) {
        (Some(p), _) => Some(expr::projection(p, ph)?),
        (None, Some(a)) => Some(a.into_iter().map(|n| vec![Step::Attr(n)]).collect()),
        _ => None,
    };
    ph.check_unused()?;
    Ok((filter, projection))
}

fn check_limit(limit: Option<i32>) -> AwsResult<Option<usize>> {
    match limit {
        Some(l) if l < 1 => Err(validation(format!(
            "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
        l => Ok(l.map(|l| l as usize)),
    }
}

impl DynamoDb {
    /// Runs a page over `lower..upper` of the source, `accept` deciding per item whether it
    /// is read (`Some(true)`), skipped unread (`Some(false)`), or ends the range (`None`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn page(
        &self,
        src: &Source,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        forward: bool,
        page: &Page,
        accept: impl Fn(&Item) -> Option<bool>,
    ) -> AwsResult<PageResult> {
        let snap = self.store.read()?;
        let mut out = PageResult { items: Vec::new(), scanned: 0, bytes: 0, last: None };
        let empty = Item::new();
        let mut stop_at_limit = false;
        snap.range_bytes(src.store(), as_slice(&lower), as_slice(&upper), forward, |_, v| {
            let item = decode(v)?;
            match accept(&item) {
                None => return Ok(false),
                Some(false) => return Ok(true),
                Some(true) => {}
            }
            let mut full = item;
            if page.fetch {
                if let Some(b) = snap.get_bytes(crate::ITEMS, &src.table.item_key(&full))? {
                    full = decode(&b)?;
                }
            }
            out.scanned += 1;
            out.bytes += item_size(&full);
            let keep = match &page.filter {
                Some(f) => eval::eval("FilterExpression", f, &full)?,
                None => true,
            };
            let last = src.last_key(&full);
            if keep && !page.count_only {
                out.items.push(match &page.projection {
                    Some(p) => eval::project(&full, p),
                    None => full,
                });
            } else if keep {
                out.items.push(empty.clone());
            }
            out.last = Some(last);
            if page.limit.is_some_and(|l| out.scanned >= l) || out.bytes >= PAGE_BYTES {
                stop_at_limit = true;
                return Ok(false);
            }
            Ok(true)
        })?;
        // Only a page cut short (by Limit or the 1 MB) says where to go on, even when nothing
        // follows, as DynamoDB does.
        if !stop_at_limit {
            out.last = None;
        }
        Ok(out)
    }

    /// What Query and Scan answer for a page: its items and counts, where to go on, and the
    /// read capacity it consumed (charged here).
    fn answer(
        &self,
        t: &Table,
        index: Option<&Index>,
        result: PageResult,
        kind: ReadKind,
        count_only: bool,
        mode: Option<&str>,
    ) -> m::QueryOutput {
        let consumed = read_consumed(index, result.bytes, kind);
        self.charge(t, &consumed, index.map(|ix| ix.name.as_str()));
        m::QueryOutput {
            count: Some(result.items.len() as i32),
            scanned_count: Some(result.scanned as i32),
            items: (!count_only).then(|| result.items.iter().map(wire).collect()),
            last_evaluated_key: result.last.as_ref().map(wire),
            consumed_capacity: consumed.render(&t.name, mode),
        }
    }

    pub fn query(&self, ctx: &RequestContext, i: m::QueryInput) -> AwsResult<m::QueryOutput> {
        legacy::not_both(
            &[
                ("KeyConditions", i.key_conditions.is_some()),
                ("QueryFilter", i.query_filter.is_some()),
                ("AttributesToGet", i.attributes_to_get.is_some()),
            ],
            &[
                ("KeyConditionExpression", i.key_condition_expression.is_some()),
                ("FilterExpression", i.filter_expression.is_some()),
                ("ProjectionExpression", i.projection_expression.is_some()),
            ],
        )?;
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let t = self.table(ctx, i.table_name.as_deref())?;
        let index = read_index(&t, i.index_name.as_deref(), i.consistent_read)?;
        let missing = || {
            validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
        };
        let subs = Substitutions::new(
            i.expression_attribute_names,
            i.expression_attribute_values,
            &[i.key_condition_expression.as_ref(), i.filter_expression.as_ref(), i.projection_expression.as_ref()],
        )?;
        let ph = subs.placeholders();
        let kc = match (i.key_condition_expression.as_ref(), i.key_conditions) {
            (Some(kce), _) => expr::condition("KeyConditionExpression", kce, &ph)?,
            (None, Some(kc)) => legacy::conditions(kc, None)?.ok_or_else(missing)?,
            (None, None) => return Err(missing()),
        };
        let (filter, projection) = filter_and_projection(
            &ph,
            i.filter_expression.as_ref(),
            i.query_filter,
            i.conditional_operator.as_deref(),
            i.projection_expression.as_ref(),
            i.attributes_to_get,
        )?;
        let src = Source { table: &t, index };
        let key = src.key();
        let (hash, sort) = key_condition(kc, &key.hash.name, key.range.as_ref().map(|r| r.name.as_str()))?;
        if hash.type_name() != key.hash.kind {
            return Err(validation(
                "One or more parameter values were invalid: Condition parameter type does not match schema type",
            ));
        }
        if let (Some(SortCond::BeginsWith(v)), Some(r)) = (&sort, &key.range) {
            if !matches!(v, Av::S(_) | Av::B(_)) || r.kind == "N" {
                return Err(key_condition_error(format!(
                    "Incorrect operand type for operator or function; operator or function: begins_with, operand type: {}",
                    if r.kind == "N" { "N" } else { v.type_name() }
                )));
            }
        }
        if let Some(Some(v)) = sort.as_ref().map(|s| s.lower()) {
            if Some(v.type_name()) != key.range.as_ref().map(|r| r.kind.as_str()) {
                return Err(validation(
                    "One or more parameter values were invalid: Condition parameter type does not match schema type",
                ));
            }
        }
        let (count_only, fetch) = select(i.select.as_deref(), &projection, index)?;
        let limit = check_limit(i.limit)?;
        if let Some(f) = &filter {
            for k in key.names() {
                if cond_mentions(f, k) {
                    return Err(validation(format!(
                        "Filter Expression can only contain non-primary key attributes: Primary key attribute: {k}"
                    )));
                }
            }
        }
        let kind = ReadKind::of(i.consistent_read);
        self.admit_read(&t, i.index_name.as_deref(), kind)?;

        let mut prefix = src.prefix();
        crate::value::encode_key_part(&hash, &mut prefix, true);
        let forward = i.scan_index_forward.unwrap_or(true);
        let start = i.exclusive_start_key.map(item_from_wire).transpose()?;
        if let Some(s) = &start {
            src.check_start(s)?;
        }
        let start_key = start.as_ref().and_then(|s| src.stored_key(s)).filter(|k| k.starts_with(&prefix));
        let mut lower = Bound::Included(prefix.clone());
        let mut upper = Bound::Excluded(successor(&prefix));
        if let Some(seek) = sort.as_ref().and_then(|s| s.lower()).filter(|_| forward) {
            let mut k = prefix.clone();
            crate::value::encode_key_part(seek, &mut k, index.is_some());
            if matches!(sort, Some(SortCond::BeginsWith(_))) && index.is_some() {
                // An escaped prefix has no terminator: seek to the escaped bytes alone.
                k.truncate(k.len() - 2);
            }
            lower = Bound::Included(k);
        }
        if let Some(s) = start_key {
            if forward {
                lower = Bound::Excluded(s);
            } else {
                upper = Bound::Excluded(s);
            }
        }
        let range_name = key.range.as_ref().map(|r| r.name.clone());
        let page = Page { limit, filter, projection, count_only, fetch };
        let result = self.page(&src, lower, upper, forward, &page, |item| {
            let (Some(sort), Some(name)) = (&sort, &range_name) else { return Some(true) };
            let Some(v) = item.get(name) else { return Some(false) };
            match (sort.place(v), forward) {
                (Place::In, _) => Some(true),
                (Place::Below, true) | (Place::Above, false) => Some(false),
                _ => None,
            }
        })?;
        let o = self.answer(&t, index, result, kind, count_only, i.return_consumed_capacity.as_deref());
        Ok(m::QueryOutput {
            count: o.count,
            scanned_count: o.scanned_count,
            items: o.items,
            last_evaluated_key: o.last_evaluated_key,
            consumed_capacity: o.consumed_capacity,
        })
    }

    pub fn scan(&self, ctx: &RequestContext, i: m::ScanInput) -> AwsResult<m::ScanOutput> {
        legacy::not_both(
            &[("ScanFilter", i.scan_filter.is_some()), ("AttributesToGet", i.attributes_to_get.is_some())],
            &[
                ("FilterExpression", i.filter_expression.is_some()),
                ("ProjectionExpression", i.projection_expression.is_some()),
            ],
        )?;
        capacity::check_mode(i.return_consumed_capacity.as_deref())?;
        let t = self.table(ctx, i.table_name.as_deref())?;
        let index = read_index(&t, i.index_name.as_deref(), i.consistent_read)?;
        let segments = match (i.segment, i.total_segments) {
            (None, None) => None,
            (Some(s), Some(n)) => {
                if !(1..=1_000_000).contains(&n) {
                    return Err(validation(format!("1 validation error detected: Value '{n}' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000")));
                }
                if s < 0 || s >= n {
                    return Err(validation(format!(
                        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {n}"
                    )));
                }
                Some((s as u64, n as u64))
            }
            (Some(_), None) => return Err(validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")),
            (None, Some(_)) => return Err(validation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")),
        };
        let subs = Substitutions::new(
            i.expression_attribute_names,
            i.expression_attribute_values,
            &[i.filter_expression.as_ref(), i.projection_expression.as_ref()],
        )?;
        let ph = subs.placeholders();
        let (filter, projection) = filter_and_projection(
            &ph,
            i.filter_expression.as_ref(),
            i.scan_filter,
            i.conditional_operator.as_deref(),
            i.projection_expression.as_ref(),
            i.attributes_to_get,
        )?;
        let (count_only, fetch) = select(i.select.as_deref(), &projection, index)?;
        let limit = check_limit(i.limit)?;
        let kind = ReadKind::of(i.consistent_read);
        self.admit_read(&t, i.index_name.as_deref(), kind)?;
        let src = Source { table: &t, index };
        let prefix = src.prefix();
        let start = i.exclusive_start_key.map(item_from_wire).transpose()?;
        if let Some(s) = &start {
            src.check_start(s)?;
        }
        let lower = match start.as_ref().and_then(|s| src.stored_key(s)) {
            Some(k) => Bound::Excluded(k),
            None => Bound::Included(prefix.clone()),
        };
        let upper = Bound::Excluded(successor(&prefix));
        let hash_name = src.key().hash.name.clone();
        let page = Page { limit, filter, projection, count_only, fetch };
        let result = self.page(&src, lower, upper, true, &page, |item| {
            let Some((segment, total)) = segments else { return Some(true) };
            Some(item.get(&hash_name).map(|h| segment_of(h, total)) == Some(segment))
        })?;
        let o = self.answer(&t, index, result, kind, count_only, i.return_consumed_capacity.as_deref());
        Ok(m::ScanOutput {
            count: o.count,
            scanned_count: o.scanned_count,
            items: o.items,
            last_evaluated_key: o.last_evaluated_key,
            consumed_capacity: o.consumed_capacity,
        })
    }
}

/// The parallel-scan segment a partition key belongs to (a stable hash of its value).
fn segment_of(hash: &Av, total: u64) -> u64 {
    let mut bytes = Vec::new();
    crate::value::encode_key_part(hash, &mut bytes, true);
    // FNV-1a: stable across runs and platforms.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h % total
}

/// The index a read names, if any: strongly consistent reads are refused on a GSI.
pub(crate) fn read_index<'t>(
    t: &'t Table,
    name: Option<&str>,
    consistent: Option<bool>,
) -> AwsResult<Option<&'t Index>> {
    let index = name.map(|n| t.index(n)).transpose()?;
    if index.is_some_and(|ix| ix.global) && consistent == Some(true) {
        return Err(validation("Consistent reads are not supported on global secondary indexes"));
    }
    Ok(index)
}

pub(crate) fn read_consumed(index: Option<&Index>, bytes: usize, kind: ReadKind) -> Consumed {
    let units = capacity::read_units(bytes, kind);
    let mut c = Consumed::default();
    match index {
        Some(ix) if ix.global => {
            c.gsi.insert(ix.name.clone(), (units, 0.0));
        }
        Some(ix) => {
            c.lsi.insert(ix.name.clone(), (units, 0.0));
        }
        None => c.read = units,
    }
    c
}

fn cond_mentions(c: &Cond, name: &str) -> bool {
    let op = |o: &Operand| match o {
        Operand::Path(p) | Operand::Size(p) => matches!(p.first(), Some(Step::Attr(a)) if a == name),
        _ => false,
    };
    let path = |p: &Path| matches!(p.first(), Some(Step::Attr(a)) if a == name);
    match c {
        Cond::Cmp(a, _, b) | Cond::BeginsWith(a, b) | Cond::Contains(a, b) => op(a) || op(b),
        Cond::Between(a, b, c2) => op(a) || op(b) || op(c2),
        Cond::In(a, l) => op(a) || l.iter().any(op),
        Cond::Exists(p) | Cond::NotExists(p) | Cond::Type(p, _) => path(p),
        Cond::And(a, b) | Cond::Or(a, b) => cond_mentions(a, name) || cond_mentions(b, name),
        Cond::Not(a) => cond_mentions(a, name),
    }
}
