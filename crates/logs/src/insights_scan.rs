//! Reading events for a Logs Insights query: only the fields the query names are extracted
//! (JSON messages parsed once, the rest of their fields skipped); the commands before the first
//! `stats`, `sort`, `limit` or `dedup` run as each event is read, a first `stats` folds them
//! into its groups; the log streams are scanned in time slices by several threads, their
//! partial answers merged.
use crate::insights::{apply_fields, apply_parse, eval, Command, Expr, Groups, Outcome, Query, Record, Val};
use std::collections::HashMap;

/// The JSON fields a query names, as a tree of their dotted paths.
#[derive(Debug, Default)]
pub(crate) struct Wanted {
    children: HashMap<String, Wanted>,
    leaf: bool,
}

impl Wanted {
    fn add(&mut self, name: &str) {
        let mut node = self;
        for part in name.split('.') {
            node = node.children.entry(part.to_string()).or_default();
        }
        node.leaf = true;
    }
}

/// What reading an event must produce for a query: the system fields it names and the JSON
/// fields of the message it names (no other field is extracted).
#[derive(Debug, Default)]
pub(crate) struct Needs {
    pub message: bool,
    pub stream: bool,
    pub group: bool,
    pub ingestion: bool,
    pub ptr: bool,
    json: Wanted,
}

/// A query split for streaming: the commands applied as each event is read (`fields`,
/// `display`, `filter`, `parse`), then an optional `stats` folded as they come, then the rest.
pub(crate) struct Plan<'q> {
    query: &'q Query,
    prefix: usize,
    pub needs: Needs,
}

fn names_in(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Field(f) => out.push(f.clone()),
        Expr::Call(name, args) => {
            if name == "bin" {
                out.push("@timestamp".into());
            }
            args.iter().for_each(|a| names_in(a, out));
        }
        Expr::Bin(_, a, b) => {
            names_in(a, out);
            names_in(b, out);
        }
        Expr::Not(a) => names_in(a, out),
        Expr::In(a, list, _) => {
            names_in(a, out);
            list.iter().for_each(|x| names_in(x, out));
        }
        Expr::Lit(_) | Expr::Period(..) | Expr::Regex(_) => {}
    }
}

impl Query {
    pub(crate) fn plan(&self) -> Plan<'_> {
        let prefix = self
            .commands
            .iter()
            .position(|c| {
                !matches!(c, Command::Fields(_) | Command::Display(_) | Command::Filter(_) | Command::Parse { .. })
            })
            .unwrap_or(self.commands.len());
        let mut names = Vec::new();
        let mut shows = false;
        for c in &self.commands {
            match c {
                Command::Fields(list) => {
                    shows = true;
                    list.iter().for_each(|(e, _)| names_in(e, &mut names));
                    names.extend(list.iter().map(|(_, a)| a.clone()));
                }
                Command::Display(list) => {
                    shows = true;
                    names.extend(list.iter().cloned());
                }
                Command::Filter(e) => names_in(e, &mut names),
                Command::Parse { source, .. } => names_in(source, &mut names),
                Command::Stats { aggs, by } => {
                    shows = true;
                    aggs.iter().filter_map(|(a, _)| a.arg()).for_each(|e| names_in(e, &mut names));
                    by.iter().for_each(|(e, _)| names_in(e, &mut names));
                    names.push("@timestamp".into());
                }
                Command::Sort(keys) => keys.iter().for_each(|(e, _)| names_in(e, &mut names)),
                Command::Dedup(list) => names.extend(list.iter().cloned()),
                Command::Pattern(e) => {
                    shows = true;
                    names_in(e, &mut names);
                }
                Command::Limit(_) => {}
            }
        }
        let stats = self.commands.iter().any(|c| matches!(c, Command::Stats { .. } | Command::Pattern(_)));
        let mut needs = Needs { message: !shows, ptr: !stats, ..Default::default() };
        for n in names {
            match n.as_str() {
                "@message" => needs.message = true,
                "@logStream" => needs.stream = true,
                "@log" => needs.group = true,
                "@ingestionTime" => needs.ingestion = true,
                "@timestamp" | "@ptr" => {}
                other if other.starts_with('@') => {}
                other => needs.json.add(other),
            }
        }
        Plan { query: self, prefix, needs }
    }
}

impl Plan<'_> {
    /// The `stats` command folded as events are read, if one follows the streamed commands.
    pub(crate) fn stats(&self) -> Option<&Command> {
        self.query.commands.get(self.prefix).filter(|c| matches!(c, Command::Stats { .. }))
    }

    /// Where the commands run over all records at once begin.
    pub(crate) fn rest(&self) -> usize {
        self.prefix + self.stats().is_some() as usize
    }

    /// Applies the streamed commands to one record; false when a filter drops it.
    pub(crate) fn admit(&self, r: &mut Record) -> bool {
        for c in &self.query.commands[..self.prefix] {
            match c {
                Command::Fields(list) => apply_fields(list, r),
                Command::Filter(e) if !eval(e, r).truthy() => return false,
                Command::Parse { source, pattern, names } => apply_parse(source, pattern, names, r),
                _ => {}
            }
        }
        true
    }

    /// The record of one event with the fields the query needs.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        timestamp: i64,
        ingestion: i64,
        message: &str,
        stream: &str,
        group: &str,
        ptr: impl FnOnce() -> String,
    ) -> Record {
        let mut r = Record::new();
        r.insert("@timestamp".into(), Val::Num(timestamp as f64));
        let n = &self.needs;
        if n.ingestion {
            r.insert("@ingestionTime".into(), Val::Num(ingestion as f64));
        }
        if n.message {
            r.insert("@message".into(), Val::Str(message.to_string()));
        }
        if n.stream {
            r.insert("@logStream".into(), Val::Str(stream.to_string()));
        }
        if n.group {
            r.insert("@log".into(), Val::Str(group.to_string()));
        }
        if n.ptr {
            r.insert("@ptr".into(), Val::Str(ptr()));
        }
        if !n.json.children.is_empty() && message.trim_start().starts_with('{') {
            let mut path = String::new();
            let mut de = serde_json::Deserializer::from_str(message);
            let _ = serde::de::DeserializeSeed::deserialize(
                Extract { wanted: &n.json, path: &mut path, out: &mut r },
                &mut de,
            );
        }
        r
    }
}

/// Pulls the wanted fields out of a JSON message as it is parsed, skipping the rest.
struct Extract<'a> {
    wanted: &'a Wanted,
    path: &'a mut String,
    out: &'a mut Record,
}

impl Extract<'_> {
    fn leaf(self, v: Val) {
        if self.wanted.leaf {
            self.out.insert(self.path.clone(), v);
        }
    }

    fn child<'b>(&'b mut self, name: &str) -> Option<(Extract<'b>, usize)> {
        let w = self.wanted.children.get(name)?;
        let len = self.path.len();
        if len > 0 {
            self.path.push('.');
        }
        self.path.push_str(name);
        Some((Extract { wanted: w, path: self.path, out: self.out }, len))
    }
}

/// A map key, borrowed from the message when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Extract<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Extract<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = map.next_key::<Key>()? {
            match self.child(&k) {
                Some((inner, len)) => {
                    map.next_value_seed(inner)?;
                    self.path.truncate(len);
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let more = match self.child(&i.to_string()) {
                Some((inner, len)) => {
                    let more = seq.next_element_seed(inner)?.is_some();
                    self.path.truncate(len);
                    more
                }
                None => seq.next_element::<serde::de::IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            i += 1;
        }
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.leaf(Val::Str(v.to_string()));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.leaf(Val::Num(v as f64));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.leaf(Val::Num(v as f64));
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.leaf(Val::Num(v));
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.leaf(Val::Str(v.to_string()));
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// One log stream a query reads: its id, its name (`@logStream`), its group (`@log`).
pub(crate) struct Source {
    pub id: [u8; 16],
    pub stream: String,
    pub group: String,
    /// Events ingested before this (ms) are not read: `filterIndex` reads only what a log
    /// group's index policy has indexed.
    pub min_ingestion: i64,
}

/// A query's answer with what it read.
pub(crate) struct Scanned {
    pub outcome: Outcome,
    pub scanned: usize,
    pub bytes: usize,
}

/// What one worker gathered: a stats query's groups, or the admitted records (with the
/// event key that orders them).
struct Partial {
    groups: Groups,
    records: Vec<(i64, Vec<u8>, Record)>,
    scanned: usize,
    bytes: usize,
}

/// Runs `query` over the events of `sources` from `start` to `end` (milliseconds, inclusive).
/// `None` when `cancel` was raised midway.
pub(crate) fn execute(
    store: &nuage_storage::Store,
    query: &Query,
    sources: &[Source],
    start: i64,
    end: i64,
    cancel: &std::sync::atomic::AtomicBool,
) -> nuage_core::AwsResult<Option<Scanned>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let plan = query.plan();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    // Each stream in time slices, so that one busy stream still spreads over the threads.
    let slices = (threads * 4) as i64;
    let width = ((end - start + 1) / slices).max(1);
    let mut units = Vec::new();
    for s in 0..sources.len() {
        let mut lo = start;
        while lo <= end {
            let hi = if lo + width > end || end - (lo + width) < width / 2 { end } else { lo + width - 1 };
            units.push((s, lo, hi));
            lo = hi + 1;
        }
    }
    let next = AtomicUsize::new(0);
    let work = || -> nuage_core::AwsResult<Partial> {
        let mut p = Partial { groups: Groups::new(), records: Vec::new(), scanned: 0, bytes: 0 };
        let snap = store.read()?;
        loop {
            let Some(&(s, lo, hi)) = units.get(next.fetch_add(1, Ordering::Relaxed)) else { return Ok(p) };
            if cancel.load(Ordering::Relaxed) {
                return Ok(p);
            }
            let src = &sources[s];
            let mut seen = 0u32;
            crate::events::scan_stream(&snap, &src.id, lo, hi, |k, v| {
                seen += 1;
                if seen.is_multiple_of(8192) && cancel.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                let e = crate::events::Event::view(v)?;
                if e.i < src.min_ingestion {
                    return Ok(true);
                }
                p.scanned += 1;
                p.bytes += e.m.len();
                let mut r = plan.record(e.t, e.i, &e.m, &src.stream, &src.group, || crate::events::hex(k));
                if !plan.admit(&mut r) {
                    return Ok(true);
                }
                match plan.stats() {
                    Some(stats) => p.groups.fold(stats, &r),
                    None => p.records.push((e.t, k.to_vec(), r)),
                }
                Ok(true)
            })?;
        }
    };
    let partials: Vec<nuage_core::AwsResult<Partial>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(units.len()).max(1)).map(|_| scope.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(nuage_core::AwsError::internal("a query thread panicked"))))
            .collect()
    });
    if cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let mut total = Partial { groups: Groups::new(), records: Vec::new(), scanned: 0, bytes: 0 };
    for p in partials {
        let p = p?;
        total.scanned += p.scanned;
        total.bytes += p.bytes;
        total.records.extend(p.records);
        if let Some(stats) = plan.stats() {
            total.groups.merge(stats, p.groups);
        }
    }
    let records = match plan.stats() {
        Some(stats) => total.groups.records(stats),
        None => {
            total.records.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            total.records.into_iter().map(|(_, _, r)| r).collect()
        }
    };
    Ok(Some(Scanned { outcome: query.run_from(plan.rest(), records), scanned: total.scanned, bytes: total.bytes }))
}
