//! DynamoDB Streams (the `dynamodbstreams` API, signed as `dynamodb`): every change to a
//! table with a stream is recorded in the same store transaction as the change itself, with
//! the keys and images its view type asks for, and read back through shard iterators.
//! A stream has one shard; records are kept 24 hours, as on AWS.
use crate::table::Table;
use crate::value::{item_size, validation, Item};
use crate::{now_ms, DynamoDb};
use base64::Engine;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::{Row, TypedService};
use nuage_protocol::dynamodb as ddb;
use nuage_protocol::dynamodbstreams as m;
use nuage_protocol::dynamodbstreams::errors::Error as E;
use nuage_protocol::{Protocol, Timestamp};
use nuage_storage::redb::TableDefinition;
use nuage_storage::{BytesTable, JsonTable, WriteCtx};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Records, by stream id and sequence number.
const RECORDS: BytesTable = TableDefinition::new("dynamodb_stream_records");
/// Each stream's last sequence number.
pub(crate) const SEQUENCES: JsonTable = TableDefinition::new("dynamodb_stream_sequences");

const RETENTION_MS: i64 = 24 * 3600 * 1000;
const ITERATOR_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// A table's stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamInfo {
    pub id: [u8; 16],
    /// Its creation time, as AWS labels streams (`2026-12-06T23:05:00.123`).
    pub label: String,
    /// KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES.
    pub view: String,
    pub enabled: bool,
    pub created_ms: i64,
}

impl StreamInfo {
    pub fn arn(&self, table_arn: &str) -> String {
        format!("{table_arn}/stream/{}", self.label)
    }

    fn hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The stream a StreamSpecification asks for, given the current one.
    pub fn from_spec(
        spec: Option<&ddb::StreamSpecification>,
        current: Option<&StreamInfo>,
    ) -> AwsResult<Option<StreamInfo>> {
        let Some(spec) = spec else { return Ok(current.cloned()) };
        match spec.stream_enabled {
            Some(true) => {
                if current.is_some_and(|c| c.enabled) {
                    return Err(validation("Table already has an enabled stream"));
                }
                let view = spec.stream_view_type.clone().ok_or_else(|| {
                    validation("1 validation error detected: StreamViewType is required when StreamEnabled is true")
                })?;
                if !["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"].contains(&view.as_str()) {
                    return Err(validation(format!("Unknown StreamViewType: {view}")));
                }
                let created_ms = now_ms();
                let label = time::OffsetDateTime::from_unix_timestamp_nanos(created_ms as i128 * 1_000_000)
                    .map(|t| {
                        format!(
                            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
                            t.year(),
                            t.month() as u8,
                            t.day(),
                            t.hour(),
                            t.minute(),
                            t.second(),
                            t.millisecond()
                        )
                    })
                    .unwrap_or_default();
                Ok(Some(StreamInfo { id: *uuid::Uuid::new_v4().as_bytes(), label, view, enabled: true, created_ms }))
            }
            _ => {
                if spec.stream_view_type.is_some() {
                    return Err(validation("StreamViewType cannot be specified when StreamEnabled is false"));
                }
                match current {
                    Some(c) if c.enabled => Ok(Some(StreamInfo { enabled: false, ..c.clone() })),
                    Some(_) | None => Err(validation("Table does not have an enabled stream")),
                }
            }
        }
    }
}

/// A change as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    seq: u64,
    event: String,
    at_ms: i64,
    keys: Item,
    new: Option<Item>,
    old: Option<Item>,
    view: String,
    /// Deleted by TTL, on the service's own authority.
    by_ttl: bool,
}

fn record_key(id: &[u8; 16], seq: u64) -> Vec<u8> {
    let mut k = id.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn seq_text(seq: u64) -> String {
    format!("{seq:021}")
}

/// Records a change to `table` in its stream, inside the change's own transaction.
pub fn record(w: &WriteCtx, table: &Table, old: Option<&Item>, new: Option<&Item>, by_ttl: bool) -> AwsResult<()> {
    let Some(s) = table.stream.as_ref().filter(|s| s.enabled) else { return Ok(()) };
    let event = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
        (None, None) => return Ok(()),
    };
    let seq = w.get::<u64>(SEQUENCES, &s.hex())?.unwrap_or(0) + 1;
    w.put(SEQUENCES, &s.hex(), &seq)?;
    let keys = table.key.key_of(new.or(old).unwrap_or(&Item::new())).unwrap_or_default();
    let (with_new, with_old) = match s.view.as_str() {
        "NEW_IMAGE" => (true, false),
        "OLD_IMAGE" => (false, true),
        "NEW_AND_OLD_IMAGES" => (true, true),
        _ => (false, false),
    };
    let rec = Stored {
        seq,
        event: event.into(),
        at_ms: now_ms(),
        keys,
        new: new.filter(|_| with_new).cloned(),
        old: old.filter(|_| with_old).cloned(),
        view: s.view.clone(),
        by_ttl,
    };
    w.put_bytes(RECORDS, &record_key(&s.id, seq), serde_json::to_vec(&rec).map_err(AwsError::internal)?);
    Ok(())
}

/// Drops records older than the 24-hour retention.
pub async fn trim(store: &nuage_storage::Store, tables: &[Table]) -> AwsResult<()> {
    let horizon = now_ms() - RETENTION_MS;
    for t in tables {
        let Some(s) = &t.stream else { continue };
        let mut old = Vec::new();
        store.read()?.range_bytes(
            RECORDS,
            std::ops::Bound::Included(&s.id[..]),
            std::ops::Bound::Excluded(&crate::query::successor(&s.id)[..]),
            true,
            |k, v| {
                let r: Stored = serde_json::from_slice(v).map_err(AwsError::internal)?;
                if r.at_ms >= horizon {
                    return Ok(false);
                }
                old.push(k.to_vec());
                Ok(true)
            },
        )?;
        if !old.is_empty() {
            store
                .write(move |w| {
                    old.iter().for_each(|k| w.delete_bytes(RECORDS, k));
                    Ok(())
                })
                .await?;
        }
    }
    Ok(())
}

/// Where a shard iterator points: opaque to clients, valid 15 minutes.
#[derive(Serialize, Deserialize)]
struct Iterator {
    arn: String,
    next: u64,
    issued_ms: i64,
}

fn encode(it: &Iterator) -> String {
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(it).unwrap_or_default())
}

fn decode_iterator(text: &str) -> AwsResult<Iterator> {
    let bad = || validation("Invalid ShardIterator");
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

fn not_found(arn: &str) -> AwsError {
    E::ResourceNotFoundException.msg(format!("Requested resource not found: Stream: {arn} not found"))
}

fn shard_id(s: &StreamInfo) -> String {
    format!("shardId-{:020}-{}", s.created_ms, &s.hex()[..8])
}

/// DynamoDB Streams behind the front door.
pub struct DynamoDbStreamsService(pub Arc<DynamoDb>);

impl DynamoDbStreamsService {
    /// The table and stream a stream ARN names.
    fn stream(&self, ctx: &RequestContext, arn: Option<&str>) -> AwsResult<(Arc<Table>, StreamInfo)> {
        let arn = arn.unwrap_or_default();
        let (table_part, label) = arn.split_once("/stream/").ok_or_else(|| not_found(arn))?;
        let table = self.0.table(ctx, Some(table_part)).map_err(|_| not_found(arn))?;
        let s = table
            .stream
            .clone()
            .filter(|s| s.label == label && table.arn == table_part)
            .ok_or_else(|| not_found(arn))?;
        Ok((table, s))
    }

    fn last_seq(&self, s: &StreamInfo) -> AwsResult<u64> {
        Ok(self.0.store.read()?.get::<u64>(SEQUENCES, &s.hex())?.unwrap_or(0))
    }

    fn first_seq(&self, s: &StreamInfo) -> AwsResult<Option<u64>> {
        let mut first = None;
        self.0.store.read()?.range_bytes(
            RECORDS,
            std::ops::Bound::Included(&s.id[..]),
            std::ops::Bound::Excluded(&crate::query::successor(&s.id)[..]),
            true,
            |k, _| {
                first = k[16..].try_into().ok().map(u64::from_be_bytes);
                Ok(false)
            },
        )?;
        Ok(first)
    }

    fn describe(&self, ctx: &RequestContext, i: m::DescribeStreamInput) -> AwsResult<m::DescribeStreamOutput> {
        let (t, s) = self.stream(ctx, i.stream_arn.as_deref())?;
        let first = self.first_seq(&s)?.unwrap_or(self.last_seq(&s)? + 1);
        let shard = m::Shard {
            shard_id: Some(shard_id(&s)),
            sequence_number_range: Some(m::SequenceNumberRange {
                starting_sequence_number: Some(seq_text(first)),
                ending_sequence_number: (!s.enabled).then(|| seq_text(self.last_seq(&s).unwrap_or(0))),
            }),
            parent_shard_id: None,
        };
        let wanted = i.exclusive_start_shard_id.is_none() && i.shard_filter.is_none();
        Ok(m::DescribeStreamOutput {
            stream_description: Some(m::StreamDescription {
                stream_arn: Some(s.arn(&t.arn)),
                stream_label: Some(s.label.clone()),
                stream_status: Some(if s.enabled { "ENABLED" } else { "DISABLED" }.into()),
                stream_view_type: Some(s.view.clone()),
                creation_request_date_time: Some(Timestamp::from_millis(s.created_ms)),
                table_name: Some(t.name.clone()),
                key_schema: Some(
                    t.key
                        .names()
                        .iter()
                        .enumerate()
                        .map(|(n, k)| m::KeySchemaElement {
                            attribute_name: Some(k.to_string()),
                            key_type: Some(if n == 0 { "HASH" } else { "RANGE" }.into()),
                        })
                        .collect(),
                ),
                shards: Some(if wanted { vec![shard] } else { Vec::new() }),
                last_evaluated_shard_id: None,
            }),
        })
    }

    fn shard_iterator(
        &self,
        ctx: &RequestContext,
        i: m::GetShardIteratorInput,
    ) -> AwsResult<m::GetShardIteratorOutput> {
        let (t, s) = self.stream(ctx, i.stream_arn.as_deref())?;
        if i.shard_id.as_deref() != Some(shard_id(&s).as_str()) {
            return Err(E::ResourceNotFoundException.msg(format!(
                "Requested resource not found: Shard does not exist: {}",
                i.shard_id.unwrap_or_default()
            )));
        }
        let sequence = || -> AwsResult<u64> {
            let text = i.sequence_number.as_deref().ok_or_else(|| {
                validation("SequenceNumber must be provided for AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER")
            })?;
            text.parse().map_err(|_| validation(format!("Invalid SequenceNumber: {text}")))
        };
        let next = match i.shard_iterator_type.as_deref() {
            Some("TRIM_HORIZON") => self.first_seq(&s)?.unwrap_or(self.last_seq(&s)? + 1),
            Some("LATEST") => self.last_seq(&s)? + 1,
            Some("AT_SEQUENCE_NUMBER") => sequence()?,
            Some("AFTER_SEQUENCE_NUMBER") => sequence()? + 1,
            other => return Err(validation(format!("Unknown ShardIteratorType: {}", other.unwrap_or("null")))),
        };
        if let Some(first) = self.first_seq(&s)? {
            if next < first
                && matches!(i.shard_iterator_type.as_deref(), Some("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER"))
            {
                return Err(E::TrimmedDataAccessException.msg("The data you are trying to access has been trimmed."));
            }
        }
        let it = Iterator { arn: s.arn(&t.arn), next, issued_ms: now_ms() };
        Ok(m::GetShardIteratorOutput { shard_iterator: Some(encode(&it)) })
    }

    fn records(&self, ctx: &RequestContext, i: m::GetRecordsInput) -> AwsResult<m::GetRecordsOutput> {
        let it = decode_iterator(i.shard_iterator.as_deref().unwrap_or_default())?;
        let now = now_ms();
        if now - it.issued_ms > ITERATOR_LIFETIME_MS {
            return Err(
                E::ExpiredIteratorException.msg("Iterator expired. The iterator was created more than 15 minutes ago.")
            );
        }
        let limit = i.limit.unwrap_or(1000);
        if !(1..=1000).contains(&limit) {
            return Err(validation(format!("1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000")));
        }
        let (t, s) = self.stream(ctx, Some(&it.arn))?;
        let mut out = Vec::new();
        let mut next = it.next;
        self.0.store.read()?.range_bytes(
            RECORDS,
            std::ops::Bound::Included(&record_key(&s.id, it.next)[..]),
            std::ops::Bound::Excluded(&crate::query::successor(&s.id)[..]),
            true,
            |_, v| {
                let r: Stored = serde_json::from_slice(v).map_err(AwsError::internal)?;
                next = r.seq + 1;
                out.push(r);
                Ok(out.len() < limit as usize)
            },
        )?;
        let records = out
            .into_iter()
            .map(|r| -> AwsResult<m::Record> {
                let to_wire = |item: &Item| -> AwsResult<std::collections::BTreeMap<String, m::AttributeValue>> {
                    serde_json::from_value(serde_json::to_value(item).map_err(AwsError::internal)?)
                        .map_err(AwsError::internal)
                };
                let size = item_size(&r.keys)
                    + r.new.as_ref().map(item_size).unwrap_or(0)
                    + r.old.as_ref().map(item_size).unwrap_or(0);
                Ok(m::Record {
                    event_id: Some(format!("{}{:016x}", &s.hex()[..16], r.seq)),
                    event_name: Some(r.event.clone()),
                    event_version: Some("1.1".into()),
                    event_source: Some("aws:dynamodb".into()),
                    aws_region: Some(t.region.clone()),
                    dynamodb: Some(m::StreamRecord {
                        approximate_creation_date_time: Some(Timestamp::from_millis(r.at_ms / 1000 * 1000)),
                        keys: Some(to_wire(&r.keys)?),
                        new_image: r.new.as_ref().map(to_wire).transpose()?,
                        old_image: r.old.as_ref().map(to_wire).transpose()?,
                        sequence_number: Some(seq_text(r.seq)),
                        size_bytes: Some(size as i64),
                        stream_view_type: Some(r.view.clone()),
                    }),
                    user_identity: r.by_ttl.then(|| m::Identity {
                        principal_id: Some("dynamodb.amazonaws.com".into()),
                        r#type: Some("Service".into()),
                    }),
                })
            })
            .collect::<AwsResult<Vec<_>>>()?;
        // A disabled stream's shard is closed: once read to its end, there is no next iterator.
        let closed = !s.enabled && next > self.last_seq(&s)?;
        Ok(m::GetRecordsOutput {
            records: Some(records),
            next_shard_iterator: (!closed).then(|| encode(&Iterator { arn: it.arn.clone(), next, issued_ms: now })),
        })
    }

    fn list(&self, ctx: &RequestContext, i: m::ListStreamsInput) -> AwsResult<m::ListStreamsOutput> {
        let limit = i.limit.unwrap_or(100).clamp(1, 100) as usize;
        let prefix = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let tables: Vec<(String, Table)> = self.0.store.read()?.scan(crate::TABLES, &prefix)?;
        let mut streams: Vec<m::Stream> = tables
            .into_iter()
            .filter(|(_, t)| i.table_name.as_ref().is_none_or(|n| *n == t.name))
            .filter_map(|(_, t)| {
                let s = t.stream.as_ref()?;
                Some(m::Stream {
                    stream_arn: Some(s.arn(&t.arn)),
                    table_name: Some(t.name.clone()),
                    stream_label: Some(s.label.clone()),
                })
            })
            .collect();
        if let Some(start) = &i.exclusive_start_stream_arn {
            streams.retain(|s| s.stream_arn.as_ref() > Some(start));
        }
        let more = streams.len() > limit;
        streams.truncate(limit);
        Ok(m::ListStreamsOutput {
            last_evaluated_stream_arn: if more { streams.last().and_then(|s| s.stream_arn.clone()) } else { None },
            streams: Some(streams),
        })
    }

    fn on_stream(&self, ctx: &RequestContext, action: &'static str, arn: Option<&str>) -> nuage_front::Authorization {
        let mut a =
            nuage_front::Authorization { action, resource: arn.unwrap_or("*").to_string(), ..Default::default() };
        if let Ok((t, _)) = self.stream(ctx, arn) {
            for (k, v) in &t.tags {
                a.context.set(&format!("aws:ResourceTag/{k}"), v.clone());
            }
        }
        a
    }
}

impl TypedService for DynamoDbStreamsService {
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

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: m::ops::Operation) -> Row<'a> {
        use m::ops::Operation as O;
        match op {
            O::DescribeStream(i) => {
                let a = self.on_stream(ctx, "dynamodb:DescribeStream", i.stream_arn.as_deref());
                Row::authorized(a, async move { self.describe(ctx, i) })
            }
            O::GetShardIterator(i) => {
                let a = self.on_stream(ctx, "dynamodb:GetShardIterator", i.stream_arn.as_deref());
                Row::authorized(a, async move { self.shard_iterator(ctx, i) })
            }
            O::GetRecords(i) => {
                let arn = i.shard_iterator.as_deref().and_then(|t| decode_iterator(t).ok()).map(|it| it.arn);
                let a = self.on_stream(ctx, "dynamodb:GetRecords", arn.as_deref());
                Row::authorized(a, async move { self.records(ctx, i) })
            }
            O::ListStreams(i) => Row::serve("dynamodb:ListStreams", "*", async move { self.list(ctx, i) }),
        }
    }
}
