//! Log events: PutLogEvents with every documented rule (batch size and count, 26 bytes per
//! event, chronological order, the 24-hour span, too-old, expired and too-new events reported
//! in `rejectedLogEventsInfo`), GetLogEvents with forward and backward tokens, FilterLogEvents
//! across streams with a filter pattern.
use crate::insights_scan::{Scanned, Source};
use crate::{invalid, now_ms, stream_key, Group, Logs, Stream, EVENTS, STREAMS};
use base64::Engine;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::logs as m;
use nuage_storage::{prefix_end as successor, Store};
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// AWS counts 26 bytes of overhead per event in a batch.
const EVENT_OVERHEAD: usize = 26;
const MAX_BATCH_BYTES: usize = 1_048_576;
const MAX_BATCH_EVENTS: usize = 10_000;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Event {
    pub t: i64,
    pub m: String,
    pub i: i64,
}

/// Marks an event stored as `timestamp, ingestion time, message` bytes; events written before
/// this format are JSON documents, which start with `{`.
const BINARY_EVENT: u8 = 1;

impl Event {
    /// The stored form: the two times big-endian, then the message as it came.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(17 + self.m.len());
        v.push(BINARY_EVENT);
        v.extend_from_slice(&self.t.to_be_bytes());
        v.extend_from_slice(&self.i.to_be_bytes());
        v.extend_from_slice(self.m.as_bytes());
        v
    }

    /// A stored event, its message borrowed from the stored bytes.
    pub(crate) fn view(v: &[u8]) -> AwsResult<EventView<'_>> {
        if v.first() == Some(&BINARY_EVENT) && v.len() >= 17 {
            let t = i64::from_be_bytes(v[1..9].try_into().expect("8 bytes"));
            let i = i64::from_be_bytes(v[9..17].try_into().expect("8 bytes"));
            let m = std::str::from_utf8(&v[17..]).map_err(AwsError::internal)?;
            return Ok(EventView { t, i, m: std::borrow::Cow::Borrowed(m) });
        }
        let e: Event = serde_json::from_slice(v).map_err(AwsError::internal)?;
        Ok(EventView { t: e.t, i: e.i, m: std::borrow::Cow::Owned(e.m) })
    }

    pub(crate) fn decode(v: &[u8]) -> AwsResult<Event> {
        let e = Event::view(v)?;
        Ok(Event { t: e.t, i: e.i, m: e.m.into_owned() })
    }
}

/// A stored event read in place.
pub(crate) struct EventView<'a> {
    pub t: i64,
    pub i: i64,
    pub m: std::borrow::Cow<'a, str>,
}

/// A timestamp as key bytes that sort as the (signed) timestamps do.
/// Visits a stream's events from `lo` to `hi` (milliseconds, inclusive) in time order, with
/// their keys, until `visit` answers false.
pub(crate) fn scan_stream(
    snap: &nuage_storage::Snapshot,
    id: &[u8; 16],
    lo: i64,
    hi: i64,
    visit: impl FnMut(&[u8], &[u8]) -> AwsResult<bool>,
) -> AwsResult<()> {
    let lower = [id.as_slice(), &ts_bytes(lo)].concat();
    let upper = [id.as_slice(), &ts_bytes(hi), &[0xff; 8]].concat();
    snap.range_bytes(EVENTS, Bound::Included(&lower[..]), Bound::Included(&upper[..]), true, visit)
}

pub(crate) fn ts_bytes(ts: i64) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

fn event_key(stream: &[u8; 16], ts: i64, seq: u64) -> Vec<u8> {
    let mut k = stream.to_vec();
    k.extend_from_slice(&ts_bytes(ts));
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn seq_of(key: &[u8]) -> u64 {
    key.get(24..32).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0)
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl Logs {
    pub(crate) async fn put_events(
        &self,
        ctx: &RequestContext,
        i: m::PutLogEventsRequest,
    ) -> AwsResult<m::PutLogEventsResponse> {
        let g = self.group(ctx, i.log_group_name.as_deref())?;
        let s = self.stream(&g, i.log_stream_name.as_deref())?;
        let events = i.log_events.unwrap_or_default();
        if events.is_empty() {
            return Err(invalid("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        }
        if events.len() > MAX_BATCH_EVENTS {
            return Err(invalid(format!(
                "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to {MAX_BATCH_EVENTS}"
            )));
        }
        let size: usize = events.iter().map(|e| e.message.as_deref().unwrap_or_default().len() + EVENT_OVERHEAD).sum();
        if size > MAX_BATCH_BYTES {
            return Err(invalid(format!("Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")));
        }
        let stamps: Vec<i64> = events.iter().map(|e| e.timestamp.unwrap_or_default()).collect();
        if stamps.windows(2).any(|w| w[1] < w[0]) {
            return Err(invalid("Log events in a single PutLogEvents request must be in chronological order."));
        }
        if stamps.last().unwrap_or(&0) - stamps.first().unwrap_or(&0) > 24 * HOUR_MS {
            return Err(invalid(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        let now = now_ms();
        // Events more than 2 hours ahead are too new; more than 14 days behind too old; older
        // than the group's retention expired. Sorted, so each is a prefix or a suffix.
        let too_new_start = stamps.iter().position(|t| *t > now + 2 * HOUR_MS);
        let too_old_end = stamps.iter().rposition(|t| *t < now - 14 * DAY_MS);
        let expired_end = g.retention_days.and_then(|d| stamps.iter().rposition(|t| *t < now - d as i64 * DAY_MS));
        let first = too_old_end.max(expired_end).map(|e| e + 1).unwrap_or(0);
        let last = too_new_start.unwrap_or(events.len());
        let accepted = last.saturating_sub(first);
        if accepted > 0 {
            // Keys and values are built here, not in the store's single writer, which then only
            // inserts them.
            let id = s.id;
            let filtered = !self
                .store
                .read()?
                .scan::<serde_json::Value>(crate::METRIC_FILTERS, &format!("{}\u{0}", g.key()))?
                .is_empty();
            let mut for_metrics = Vec::new();
            let (mut low, mut high, mut bytes) = (i64::MAX, i64::MIN, 0i64);
            let mut rows = Vec::with_capacity(accepted);
            for e in events.into_iter().skip(first).take(accepted) {
                let e = Event { t: e.timestamp.unwrap_or_default(), m: e.message.unwrap_or_default(), i: now };
                let seq = self.sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                (low, high, bytes) = (low.min(e.t), high.max(e.t), bytes + e.m.len() as i64);
                if filtered {
                    for_metrics.push((e.t, e.m.clone()));
                }
                rows.push((event_key(&id, e.t, seq), e.encode()));
            }
            let key = stream_key(&g, &s.name);
            self.store
                .write(move |w| {
                    let mut s: Stream = w.get(STREAMS, &key)?.ok_or_else(crate::stream_missing)?;
                    for (k, v) in rows {
                        w.put_bytes(EVENTS, &k, v);
                    }
                    s.first_event = Some(s.first_event.map_or(low, |f| f.min(low)));
                    s.last_event = Some(s.last_event.map_or(high, |l| l.max(high)));
                    s.stored_bytes += bytes;
                    s.last_ingestion = Some(now);
                    w.put(STREAMS, &key, &s)
                })
                .await?;
            if filtered {
                self.publish_metrics(&g, &for_metrics)?;
            }
        }
        let rejected = (too_new_start.is_some() || too_old_end.is_some() || expired_end.is_some()).then(|| {
            m::RejectedLogEventsInfo {
                too_new_log_event_start_index: too_new_start.map(|i| i as i32),
                too_old_log_event_end_index: too_old_end.map(|i| i as i32),
                expired_log_event_end_index: expired_end.map(|i| i as i32),
            }
        });
        Ok(m::PutLogEventsResponse {
            next_sequence_token: None,
            rejected_log_events_info: rejected,
            rejected_entity_info: None,
        })
    }

    pub(crate) fn get_events(
        &self,
        ctx: &RequestContext,
        i: m::GetLogEventsRequest,
    ) -> AwsResult<m::GetLogEventsResponse> {
        let g = self.group_by(ctx, i.log_group_name.as_deref(), i.log_group_identifier.as_deref())?;
        let s = self.stream(&g, i.log_stream_name.as_deref())?;
        let limit = i.limit.unwrap_or(10_000).clamp(1, 10_000) as usize;
        let mut lower = s.id.to_vec();
        lower.extend_from_slice(&ts_bytes(i.start_time.unwrap_or(i64::MIN)));
        let mut upper = s.id.to_vec();
        match i.end_time {
            Some(end) => upper.extend_from_slice(&ts_bytes(end)),
            None => upper = successor(&s.id),
        }
        // Without a token, reading starts at the oldest event (startFromHead) or ends at the
        // newest; a token names a position and a direction.
        let (forward, pos) = match i.next_token.as_deref() {
            Some(t) => {
                let bad = || invalid("The specified nextToken is invalid.");
                let (dir, rest) = t.split_once('/').ok_or_else(bad)?;
                let pos = unhex(rest).filter(|p| p.starts_with(&s.id)).ok_or_else(bad)?;
                match dir {
                    "f" => (true, pos),
                    "b" => (false, pos),
                    _ => return Err(bad()),
                }
            }
            None if i.start_from_head == Some(true) => (true, lower.clone()),
            None => (false, upper.clone()),
        };
        let snap = self.store.read()?;
        let mut keys_events: Vec<(Vec<u8>, Event)> = Vec::new();
        let (lo, hi) = if forward { (pos.clone().max(lower), upper) } else { (lower, pos.clone().min(upper)) };
        if lo < hi {
            snap.range_bytes(EVENTS, Bound::Included(&lo[..]), Bound::Excluded(&hi[..]), forward, |k, v| {
                keys_events.push((k.to_vec(), Event::decode(v)?));
                Ok(keys_events.len() < limit)
            })?;
        }
        if !forward {
            keys_events.reverse();
        }
        let next_forward = match keys_events.last() {
            Some((k, _)) => [k.as_slice(), &[0]].concat(),
            None => pos.clone(),
        };
        let next_backward = match keys_events.first() {
            Some((k, _)) => k.clone(),
            None => pos,
        };
        Ok(m::GetLogEventsResponse {
            events: Some(
                keys_events
                    .into_iter()
                    .map(|(_, e)| m::OutputLogEvent {
                        timestamp: Some(e.t),
                        message: Some(e.m),
                        ingestion_time: Some(e.i),
                    })
                    .collect(),
            ),
            next_forward_token: Some(format!("f/{}", hex(&next_forward))),
            next_backward_token: Some(format!("b/{}", hex(&next_backward))),
        })
    }

    pub(crate) fn filter_events(
        &self,
        ctx: &RequestContext,
        i: m::FilterLogEventsRequest,
    ) -> AwsResult<m::FilterLogEventsResponse> {
        let g: Group = self.group_by(ctx, i.log_group_name.as_deref(), i.log_group_identifier.as_deref())?;
        if i.log_stream_names.is_some() && i.log_stream_name_prefix.is_some() {
            return Err(invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters."));
        }
        let pattern = crate::pattern::parse(i.filter_pattern.as_deref().unwrap_or_default()).map_err(invalid)?;
        let limit = i.limit.unwrap_or(10_000).clamp(1, 10_000) as usize;
        let (start, end) = (i.start_time.unwrap_or(i64::MIN), i.end_time.unwrap_or(i64::MAX));
        let prefix = format!("{}\u{0}{}", g.key(), i.log_stream_name_prefix.clone().unwrap_or_default());
        let snap = self.store.read()?;
        let streams: Vec<Stream> = snap
            .scan::<Stream>(STREAMS, &prefix)?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| i.log_stream_names.as_ref().is_none_or(|n| n.contains(&s.name)))
            .collect();
        // Where the previous page ended: (timestamp, sequence).
        let after: Option<(i64, u64)> = match &i.next_token {
            Some(t) => {
                let bad = || invalid("The specified nextToken is invalid.");
                let raw = base64::engine::general_purpose::STANDARD.decode(t).map_err(|_| bad())?;
                Some(serde_json::from_slice(&raw).map_err(|_| bad())?)
            }
            None => None,
        };
        let mut found: Vec<(i64, u64, String, Event)> = Vec::new();
        for s in &streams {
            let mut lo = s.id.to_vec();
            lo.extend_from_slice(&ts_bytes(start));
            let hi = match end {
                i64::MAX => successor(&s.id),
                e => [s.id.as_slice(), &ts_bytes(e)].concat(),
            };
            snap.range_bytes(EVENTS, Bound::Included(&lo[..]), Bound::Excluded(&hi[..]), true, |k, v| {
                let e = Event::decode(v)?;
                let seq = seq_of(k);
                if after.is_none_or(|a| (e.t, seq) > a) && pattern.matches(&e.m) {
                    found.push((e.t, seq, s.name.clone(), e));
                }
                Ok(true)
            })?;
        }
        found.sort_by_key(|a| (a.0, a.1));
        let more = found.len() > limit;
        found.truncate(limit);
        let token = match (more, found.last()) {
            (true, Some((t, seq, _, _))) => Some(
                base64::engine::general_purpose::STANDARD
                    .encode(serde_json::to_vec(&(t, seq)).map_err(AwsError::internal)?),
            ),
            _ => None,
        };
        Ok(m::FilterLogEventsResponse {
            events: Some(
                found
                    .into_iter()
                    .map(|(t, seq, stream, e)| m::FilteredLogEvent {
                        log_stream_name: Some(stream),
                        timestamp: Some(t),
                        message: Some(e.m),
                        ingestion_time: Some(e.i),
                        event_id: Some(format!("{:020}{:020}", t.max(0), seq)),
                    })
                    .collect(),
            ),
            searched_log_streams: Some(
                streams
                    .iter()
                    .map(|s| m::SearchedLogStream {
                        log_stream_name: Some(s.name.clone()),
                        searched_completely: Some(!more),
                    })
                    .collect(),
            ),
            next_token: token,
        })
    }
}

/// Deletes a stream's events older than `horizon`.
pub(crate) async fn expire_stream(store: &Store, key: String, s: Stream, horizon: i64) -> AwsResult<()> {
    let mut old = Vec::new();
    let mut dropped = 0i64;
    let hi = [s.id.as_slice(), &ts_bytes(horizon)].concat();
    store.read()?.range_bytes(EVENTS, Bound::Included(&s.id[..]), Bound::Excluded(&hi[..]), true, |k, v| {
        let e = Event::decode(v)?;
        dropped += e.m.len() as i64;
        old.push(k.to_vec());
        Ok(true)
    })?;
    if old.is_empty() {
        return Ok(());
    }
    store
        .write(move |w| {
            for k in &old {
                w.delete_bytes(EVENTS, k);
            }
            if let Some(mut s) = w.get::<Stream>(STREAMS, &key)? {
                s.stored_bytes = (s.stored_bytes - dropped).max(0);
                s.first_event = s.first_event.map(|f| f.max(horizon));
                w.put(STREAMS, &key, &s)?;
            }
            Ok(())
        })
        .await
}

/// A Logs Insights query, kept (in memory, like the service's 7 days of results) for
/// GetQueryResults and DescribeQueries.
#[derive(Clone)]
pub(crate) struct QueryRun {
    pub account: String,
    pub region: String,
    pub id: String,
    pub text: String,
    /// `CWLI`, `SQL` or `PPL`.
    pub language: String,
    pub group: String,
    pub created_ms: i64,
    pub status: String,
    pub rows: Vec<Vec<(String, String)>>,
    pub scanned: usize,
    pub bytes: usize,
    pub matched: usize,
    pub duration_ms: i64,
    /// Raised by StopQuery: the scan stops at its next check.
    pub cancel: Arc<AtomicBool>,
}

fn no_groups() -> AwsError {
    invalid("One of logGroupName, logGroupNames or logGroupIdentifiers must be specified")
}

impl Logs {
    /// The caller's log groups a SOURCE command selects (by name prefix, and class when given).
    pub(crate) fn source_groups(
        &self,
        ctx: &RequestContext,
        spec: &crate::insights::SourceSpec,
    ) -> AwsResult<Vec<String>> {
        let prefix = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let groups = self.store.read()?.scan::<Group>(crate::GROUPS, &prefix)?;
        Ok(groups
            .into_iter()
            .map(|(_, g)| g)
            .filter(|g| spec.prefixes.iter().any(|p| g.name.starts_with(p.as_str())))
            .filter(|g| spec.class.as_ref().is_none_or(|c| *c == g.class))
            .map(|g| g.name)
            .collect())
    }

    pub(crate) fn start_query(
        &self,
        ctx: &RequestContext,
        i: m::StartQueryRequest,
    ) -> AwsResult<m::StartQueryResponse> {
        let mut names: Vec<String> = i.log_group_names.clone().unwrap_or_default();
        names.extend(i.log_group_name.clone());
        names.extend(i.log_group_identifiers.iter().flatten().map(|id| crate::group_name_of_arn(id).to_string()));
        let text = i.query_string.clone().unwrap_or_default();
        let (start, end) = (i.start_time.unwrap_or(0) * 1000, i.end_time.unwrap_or(0) * 1000);
        if end < start {
            return Err(invalid("endTime must be greater than or equal to startTime"));
        }
        let end = end + 999;
        let limit = i.limit.map(|l| l.clamp(1, 10_000) as usize).unwrap_or(10_000);
        let language = i.query_language.clone().unwrap_or_else(|| "CWLI".into());
        let store = self.store.clone();
        match language.as_str() {
            "CWLI" => {
                let query = crate::insights::parse(&text).map_err(|e| {
                    nuage_protocol::logs::errors::Error::MalformedQueryException.msg(format!("Query is malformed: {e}"))
                })?;
                match (&query.source, names.is_empty()) {
                    (Some(_), false) => {
                        return Err(invalid("A query with the SOURCE command cannot also name log groups in the request."))
                    }
                    (Some(spec), true) => {
                        names = self.source_groups(ctx, spec)?;
                        if names.is_empty() {
                            return Err(invalid("The SOURCE command of the query selects no log group."));
                        }
                    }
                    (None, true) => return Err(no_groups()),
                    (None, false) => {}
                }
                let mut sources = self.sources(ctx, &names, start, end, false)?;
                if !query.index_fields.is_empty() {
                    sources = self.indexed_sources(ctx, &names, &query.index_fields, sources)?;
                }
                self.launch(ctx, text, language, &names, move |cancel| {
                    let done = crate::insights_scan::execute(&store, &query, &sources, start, end, cancel)?;
                    Ok(done.map(|mut d| {
                        d.outcome.rows.truncate(limit);
                        d
                    }))
                })
            }
            "SQL" => {
                if !names.is_empty() {
                    return Err(invalid("An SQL query names its log groups in its FROM clause, not in the request."));
                }
                let query = crate::sql::parse_sql(&text).map_err(|e| {
                    nuage_protocol::logs::errors::Error::MalformedQueryException.msg(format!("Query is malformed: {e}"))
                })?;
                let mut tables = Vec::new();
                for (table, groups) in &query.tables {
                    tables.push((table.clone(), self.sources(ctx, groups, start, end, true)?));
                }
                let names = query.groups();
                self.launch(ctx, text, language, &names, move |cancel| {
                    crate::sql::execute_sql(&store, &query, &tables, start, end, limit, cancel)
                })
            }
            "PPL" => {
                let query = crate::ppl::parse(&text)?;
                match (query.sources.is_empty(), names.is_empty()) {
                    (false, false) => {
                        return Err(invalid("A query with the source command cannot also name log groups in the request."))
                    }
                    (false, true) => names = query.sources.clone(),
                    (true, true) => return Err(no_groups()),
                    (true, false) => {}
                }
                let sources = self.sources(ctx, &names, start, end, true)?;
                self.launch(ctx, text, language, &names, move |cancel| {
                    crate::sql::execute_ppl(&store, &query, &sources, start, end, limit, cancel)
                })
            }
            other => Err(invalid(format!(
                "Value '{other}' at 'queryLanguage' failed to satisfy constraint: Member must satisfy enum value set: [CWLI, SQL, PPL]"
            ))),
        }
    }

    /// The streams of the named log groups holding events from `start` to `end`. OpenSearch
    /// SQL and PPL read only log groups of the Standard class.
    fn sources(
        &self,
        ctx: &RequestContext,
        names: &[String],
        start: i64,
        end: i64,
        standard_only: bool,
    ) -> AwsResult<Vec<Source>> {
        let groups = names.iter().map(|n| self.group(ctx, Some(n))).collect::<AwsResult<Vec<Group>>>()?;
        if let Some(g) = groups.iter().find(|g| standard_only && g.class != "STANDARD") {
            return Err(invalid(format!(
                "OpenSearch SQL and PPL query only log groups of the STANDARD class; {} is {}",
                g.name, g.class
            )));
        }
        let mut sources = Vec::new();
        for g in &groups {
            sources.extend(self.sources_of(g, start, end)?);
        }
        Ok(sources)
    }

    /// The streams of one log group holding events from `start` to `end`.
    pub(crate) fn sources_of(&self, g: &Group, start: i64, end: i64) -> AwsResult<Vec<Source>> {
        let snap = self.store.read()?;
        let mut sources = Vec::new();
        for (_, st) in snap.scan::<Stream>(STREAMS, &format!("{}\u{0}", g.key()))? {
            // A stream whose events all lie outside the range is not read.
            let overlaps = st.first_event.is_none_or(|f| f <= end) && st.last_event.is_none_or(|l| l >= start);
            if overlaps {
                let group = format!("{}:{}", g.account, g.name);
                sources.push(Source { id: st.id, stream: st.name, group, min_ingestion: i64::MIN });
            }
        }
        Ok(sources)
    }

    /// `filterIndex`: only the log groups whose index policy indexes every field named, and
    /// in them only the events ingested since the policy.
    fn indexed_sources(
        &self,
        ctx: &RequestContext,
        names: &[String],
        fields: &[String],
        sources: Vec<Source>,
    ) -> AwsResult<Vec<Source>> {
        let mut since = std::collections::HashMap::new();
        for n in names {
            let g = self.group(ctx, Some(n))?;
            if let Some(p) = self.index_policy(&g)?.filter(|p| fields.iter().all(|f| p.fields.contains(f))) {
                since.insert(format!("{}:{}", g.account, g.name), p.updated_ms);
            }
        }
        Ok(sources
            .into_iter()
            .filter_map(|mut s| {
                s.min_ingestion = *since.get(&s.group)?;
                Some(s)
            })
            .collect())
    }

    /// Records a query as Scheduled and runs `job` on its own thread: GetQueryResults reports
    /// Scheduled, Running, then Complete (or Failed, or Cancelled by StopQuery).
    fn launch(
        &self,
        ctx: &RequestContext,
        text: String,
        language: String,
        names: &[String],
        job: impl FnOnce(&AtomicBool) -> AwsResult<Option<Scanned>> + Send + 'static,
    ) -> AwsResult<m::StartQueryResponse> {
        let started = now_ms();
        let id = uuid::Uuid::new_v4().to_string();
        let cancel = Arc::new(AtomicBool::new(false));
        let run = QueryRun {
            account: ctx.account_id().unwrap_or_default().to_string(),
            region: ctx.region.clone(),
            id: id.clone(),
            text,
            language,
            group: names.join(","),
            created_ms: started,
            status: "Scheduled".into(),
            matched: 0,
            rows: Vec::new(),
            scanned: 0,
            bytes: 0,
            duration_ms: 0,
            cancel: cancel.clone(),
        };
        self.queries.lock().map_err(|_| AwsError::internal("query table poisoned"))?.insert(id.clone(), run);
        let (queries, qid) = (self.queries.clone(), id.clone());
        let set = move |f: &dyn Fn(&mut QueryRun)| {
            if let Some(q) = queries.lock().ok().as_mut().and_then(|q| q.get_mut(&qid)) {
                f(q)
            }
        };
        tokio::task::spawn_blocking(move || {
            set(&|q| {
                if q.status == "Scheduled" {
                    q.status = "Running".into()
                }
            });
            let result = job(&cancel);
            let elapsed = now_ms() - started;
            set(&move |q| {
                q.duration_ms = elapsed;
                match &result {
                    _ if q.status == "Cancelled" => {}
                    Ok(Some(done)) => {
                        q.rows = done.outcome.rows.clone();
                        q.matched = done.outcome.matched;
                        q.scanned = done.scanned;
                        q.bytes = done.bytes;
                        q.status = "Complete".into();
                    }
                    Ok(None) => q.status = "Cancelled".into(),
                    Err(e) => {
                        tracing::warn!(error = %e, "Logs Insights query failed");
                        q.status = "Failed".into();
                    }
                }
            });
        });
        Ok(m::StartQueryResponse { query_id: Some(id) })
    }

    pub(crate) fn query_results(
        &self,
        ctx: &RequestContext,
        i: m::GetQueryResultsRequest,
    ) -> AwsResult<m::GetQueryResultsResponse> {
        let id = i.query_id.unwrap_or_default();
        let run = self.query(ctx, &id)?;
        Ok(m::GetQueryResultsResponse {
            query_language: Some(run.language.clone()),
            results: Some(
                run.rows
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|(f, v)| m::ResultField { field: Some(f.clone()), value: Some(v.clone()) })
                            .collect()
                    })
                    .collect(),
            ),
            statistics: Some(m::QueryStatistics {
                records_matched: Some(run.matched as f64),
                records_scanned: Some(run.scanned as f64),
                bytes_scanned: Some(run.bytes as f64),
                ..Default::default()
            }),
            status: Some(run.status),
            encryption_key: None,
            next_token: None,
        })
    }

    fn query(&self, ctx: &RequestContext, id: &str) -> AwsResult<QueryRun> {
        let queries = self.queries.lock().map_err(|_| AwsError::internal("query table poisoned"))?;
        queries
            .get(id)
            .filter(|q| Some(q.account.as_str()) == ctx.account_id() && q.region == ctx.region)
            .cloned()
            .ok_or_else(|| {
                nuage_protocol::logs::errors::Error::ResourceNotFoundException
                    .msg(format!("Query does not exist: {id}"))
            })
    }

    pub(crate) fn stop_query(&self, ctx: &RequestContext, i: m::StopQueryRequest) -> AwsResult<m::StopQueryResponse> {
        let id = i.query_id.unwrap_or_default();
        self.query(ctx, &id)?;
        let mut queries = self.queries.lock().map_err(|_| AwsError::internal("query table poisoned"))?;
        let Some(q) = queries.get_mut(&id) else { return Ok(m::StopQueryResponse { success: Some(false) }) };
        let running = matches!(q.status.as_str(), "Scheduled" | "Running");
        if running {
            q.cancel.store(true, Ordering::Relaxed);
            q.status = "Cancelled".into();
        }
        Ok(m::StopQueryResponse { success: Some(running) })
    }

    pub(crate) fn describe_queries(
        &self,
        ctx: &RequestContext,
        i: m::DescribeQueriesRequest,
    ) -> AwsResult<m::DescribeQueriesResponse> {
        let queries = self.queries.lock().map_err(|_| AwsError::internal("query table poisoned"))?;
        let mut list: Vec<&QueryRun> = queries
            .values()
            .filter(|q| Some(q.account.as_str()) == ctx.account_id() && q.region == ctx.region)
            .filter(|q| i.log_group_name.as_ref().is_none_or(|g| q.group.split(',').any(|x| x == g)))
            .filter(|q| i.status.as_ref().is_none_or(|s| *s == q.status))
            .filter(|q| i.query_language.as_ref().is_none_or(|l| *l == q.language))
            .collect();
        list.sort_by_key(|q| std::cmp::Reverse(q.created_ms));
        list.truncate(i.max_results.unwrap_or(1000).clamp(1, 1000) as usize);
        Ok(m::DescribeQueriesResponse {
            queries: Some(
                list.into_iter()
                    .map(|q| m::QueryInfo {
                        query_language: Some(q.language.clone()),
                        query_id: Some(q.id.clone()),
                        query_string: Some(q.text.clone()),
                        status: Some(q.status.clone()),
                        create_time: Some(q.created_ms),
                        log_group_name: Some(q.group.clone()),
                        query_duration: Some(q.duration_ms),
                        bytes_scanned: Some(q.bytes as f64),
                        user_identity: None,
                    })
                    .collect(),
            ),
            next_token: None,
        })
    }

    /// The fields of the event an `@ptr` points to.
    pub(crate) fn log_record(
        &self,
        ctx: &RequestContext,
        i: m::GetLogRecordRequest,
    ) -> AwsResult<m::GetLogRecordResponse> {
        let bad = || invalid("The specified logRecordPointer is invalid.");
        let key =
            unhex(i.log_record_pointer.as_deref().unwrap_or_default()).filter(|k| k.len() == 32).ok_or_else(bad)?;
        let snap = self.store.read()?;
        let raw = snap.get_bytes(EVENTS, &key)?.ok_or_else(bad)?;
        let e = Event::decode(&raw)?;
        // The stream (and its group, which must be the caller's) the event belongs to.
        let prefix = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let (stream_key, s) =
            snap.scan::<Stream>(STREAMS, &prefix)?.into_iter().find(|(_, s)| s.id[..] == key[..16]).ok_or_else(bad)?;
        let group = stream_key[prefix.len()..].split('\u{0}').next().unwrap_or_default().to_string();
        let r = crate::insights::record(
            e.t,
            e.i,
            &e.m,
            &s.name,
            &format!("{}:{group}", ctx.account_id().unwrap_or_default()),
            hex(&key),
        );
        Ok(m::GetLogRecordResponse { log_record: Some(r.into_iter().map(|(k, v)| (k, v.text())).collect()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_in_both_stored_forms() {
        let e = Event { t: -5, i: 7, m: "{\"a\": \"é\"}".into() };
        let stored = e.encode();
        let v = Event::view(&stored).unwrap();
        assert_eq!((v.t, v.i, v.m.as_ref()), (-5, 7, "{\"a\": \"é\"}"));
        // Events stored before the binary form: JSON documents.
        let old = serde_json::to_vec(&e).unwrap();
        let v = Event::view(&old).unwrap();
        assert_eq!((v.t, v.i, v.m.as_ref()), (-5, 7, "{\"a\": \"é\"}"));
    }
}
