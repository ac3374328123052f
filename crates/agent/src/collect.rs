//! The collection loop: the configuration's files found by their glob, read from where the
//! last run stopped, cut into events (a line each, or several when `multi_line_start_pattern`
//! says where events start), timestamped by `timestamp_format`, sent in batches that respect
//! PutLogEvents' limits, and the positions saved once sent.
use crate::client::Logs;
use regex::Regex;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Options {
    pub config: PathBuf,
    pub endpoint: String,
    pub region: Option<String>,
    /// Where read positions are kept (default: the configuration's path with `.state`).
    pub state: Option<PathBuf>,
    /// Ship what the files hold now, then stop (instead of following them).
    pub once: bool,
}

/// One `collect_list` entry.
struct Source {
    file_path: String,
    group: String,
    stream: String,
    class: Option<String>,
    retention: Option<i64>,
    timestamp: Option<(Regex, String)>,
    /// Where an event starts: a pattern, or (`{timestamp_format}`) the timestamp itself.
    start: Option<Regex>,
    utc: bool,
}

const MAX_EVENTS: usize = 10_000;
const MAX_BYTES: usize = 1_048_576;
const OVERHEAD: usize = 26;
const DAY_MS: i64 = 86_400_000;

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The names' placeholders: `{instance_id}` (no EC2 instance here: `NUAGE_INSTANCE_ID`, or
/// one derived from the host name), `{hostname}`, `{local_hostname}`, `{ip_address}`.
fn expand(name: &str) -> String {
    use sha2::Digest;
    let host = hostname();
    let instance = std::env::var("NUAGE_INSTANCE_ID")
        .unwrap_or_else(|_| format!("i-{}", &hex::encode(sha2::Sha256::digest(host.as_bytes()))[..17]));
    name.replace("{instance_id}", &instance)
        .replace("{hostname}", &host)
        .replace("{local_hostname}", &host)
        .replace("{ip_address}", "127.0.0.1")
}

/// A strftime format as a regular expression that finds such a timestamp in a line.
fn format_regex(format: &str) -> Result<Regex, String> {
    let mut re = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            re.push_str(&regex::escape(&c.to_string()));
            continue;
        }
        let mut d = chars.next().ok_or("a timestamp_format ends with %")?;
        if d == '-' {
            d = chars.next().ok_or("a timestamp_format ends with %-")?;
        }
        re.push_str(match d {
            'Y' => r"\d{4}",
            'y' | 'm' | 'H' | 'M' | 'S' | 'I' => r"\d{1,2}",
            'd' | 'e' => r"\s?\d{1,2}",
            'j' => r"\d{3}",
            'f' => r"\d{1,9}",
            'b' | 'h' | 'a' => r"[A-Za-z]{3}",
            'B' | 'A' => r"[A-Za-z]+",
            'p' => r"(?:AM|PM|am|pm)",
            'z' => r"(?:Z|[+-]\d{2}:?\d{2})",
            'Z' => r"[A-Za-z]+",
            '%' => "%",
            other => return Err(format!("timestamp_format directive %{other} is not supported")),
        });
    }
    Regex::new(&re).map_err(|e| e.to_string())
}

fn source(entry: &Value, default_stream: &str, top_utc: bool) -> Result<Source, String> {
    let text = |k: &str| entry.get(k).and_then(Value::as_str).map(String::from);
    let file_path = text("file_path").ok_or("every collect_list entry needs a file_path")?;
    let group = expand(&text("log_group_name").unwrap_or_else(|| file_path.clone()));
    let stream = expand(&text("log_stream_name").unwrap_or_else(|| default_stream.to_string()));
    let timestamp = match text("timestamp_format") {
        Some(f) => Some((format_regex(&f)?, f)),
        None => None,
    };
    let start = match text("multi_line_start_pattern").as_deref() {
        None => None,
        Some("{timestamp_format}") => Some(
            timestamp
                .as_ref()
                .map(|(r, _)| r.clone())
                .ok_or("multi_line_start_pattern {timestamp_format} needs a timestamp_format")?,
        ),
        Some(p) => Some(Regex::new(p).map_err(|e| format!("invalid multi_line_start_pattern: {e}"))?),
    };
    let utc = match text("timezone").as_deref() {
        Some("UTC") => true,
        Some("Local") => false,
        None => top_utc,
        Some(other) => return Err(format!("timezone must be UTC or Local, not {other}")),
    };
    Ok(Source {
        file_path,
        group,
        stream,
        class: text("log_group_class"),
        retention: entry.get("retention_in_days").and_then(Value::as_i64).filter(|d| *d > 0),
        timestamp,
        start,
        utc,
    })
}

/// An event's time: the timestamp found in its first line, or now.
fn timestamp_of(line: &str, src: &Source, now: i64) -> i64 {
    let Some((re, format)) = &src.timestamp else { return now };
    let Some(m) = re.find(line) else { return now };
    let text = m.as_str().trim();
    let format = format.replace("%-", "%");
    if let Ok(t) = chrono::DateTime::parse_from_str(text, &format) {
        return t.timestamp_millis();
    }
    let naive = chrono::NaiveDateTime::parse_from_str(text, &format).or_else(|_| {
        chrono::NaiveDate::parse_from_str(text, &format).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
    });
    match naive {
        Ok(n) if src.utc => n.and_utc().timestamp_millis(),
        Ok(n) => n.and_local_timezone(chrono::Local).single().map(|t| t.timestamp_millis()).unwrap_or(now),
        Err(_) => now,
    }
}

/// Cuts complete lines into events. Returns the events and how many bytes they consumed (a
/// last line without its newline is left for later unless `all`).
fn events(data: &[u8], src: &Source, all: bool, now: i64) -> (Vec<(i64, String)>, usize) {
    let mut out: Vec<(i64, String)> = Vec::new();
    let mut used = 0;
    let mut rest = data;
    while !rest.is_empty() {
        let (raw, len) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], i + 1),
            None if all => (rest, rest.len()),
            None => break,
        };
        rest = &rest[len..];
        used += len;
        let decoded = String::from_utf8_lossy(raw);
        let line = decoded.trim_end_matches('\r');
        let starts = src.start.as_ref().is_none_or(|re| re.is_match(line));
        match out.last_mut() {
            Some((_, text)) if !starts => {
                text.push('\n');
                text.push_str(line);
            }
            _ if line.is_empty() => {}
            _ => out.push((timestamp_of(line, src, now), line.to_string())),
        }
    }
    (out, used)
}

/// Batches PutLogEvents accepts: in time order, at most 10,000 events and 1 MiB, over at
/// most 24 hours.
fn batches(mut evs: Vec<(i64, String)>) -> Vec<Vec<(i64, String)>> {
    evs.sort_by_key(|(t, _)| *t);
    let mut out: Vec<Vec<(i64, String)>> = Vec::new();
    let mut size = 0;
    for e in evs {
        let bytes = e.1.len().min(MAX_BYTES - OVERHEAD) + OVERHEAD;
        let full =
            out.last().is_none_or(|b| b.len() >= MAX_EVENTS || size + bytes > MAX_BYTES || e.0 - b[0].0 > DAY_MS);
        if full {
            out.push(Vec::new());
            size = 0;
        }
        size += bytes;
        out.last_mut().expect("a batch").push(e);
    }
    out
}

async fn ensure(
    logs: &Logs,
    src: &Source,
    made: &mut std::collections::HashSet<(String, String)>,
) -> Result<(), String> {
    if made.contains(&(src.group.clone(), src.stream.clone())) {
        return Ok(());
    }
    let mut group = json!({"logGroupName": src.group});
    if let Some(c) = &src.class {
        group["logGroupClass"] = json!(c);
    }
    match logs.call("CreateLogGroup", &group).await {
        Ok(_) => {
            if let Some(days) = src.retention {
                logs.call("PutRetentionPolicy", &json!({"logGroupName": src.group, "retentionInDays": days}))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Err(e) if e.code == "ResourceAlreadyExistsException" => {}
        Err(e) => return Err(format!("log group {}: {e}", src.group)),
    }
    match logs.call("CreateLogStream", &json!({"logGroupName": src.group, "logStreamName": src.stream})).await {
        Ok(_) => {}
        Err(e) if e.code == "ResourceAlreadyExistsException" => {}
        Err(e) => return Err(format!("log stream {}: {e}", src.stream)),
    }
    made.insert((src.group.clone(), src.stream.clone()));
    Ok(())
}

fn load_state(path: &Path) -> BTreeMap<String, u64> {
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn save_state(path: &Path, state: &BTreeMap<String, u64>) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(state).expect("positions serialise")).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// Runs the agent until interrupted (or once, with `Options::once`).
pub async fn run(o: Options) -> Result<(), String> {
    let raw = std::fs::read(&o.config).map_err(|e| format!("{}: {e}", o.config.display()))?;
    let config: Value = serde_json::from_slice(&raw).map_err(|e| format!("{}: not JSON: {e}", o.config.display()))?;
    let logs_section = config.get("logs").ok_or("the configuration has no logs section")?;
    let default_stream = logs_section.get("log_stream_name").and_then(Value::as_str).unwrap_or("{instance_id}");
    let utc = config.pointer("/agent/timezone").and_then(Value::as_str) == Some("UTC");
    let list = logs_section
        .pointer("/logs_collected/files/collect_list")
        .and_then(Value::as_array)
        .ok_or("the configuration has no logs.logs_collected.files.collect_list")?;
    let sources = list.iter().map(|e| source(e, default_stream, utc)).collect::<Result<Vec<_>, _>>()?;
    let region = o
        .region
        .clone()
        .or_else(|| config.pointer("/agent/region").and_then(Value::as_str).map(String::from))
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into());
    let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into());
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".into());
    let logs = Logs::new(&o.endpoint, &region, &key, &secret, std::env::var("AWS_SESSION_TOKEN").ok())?;
    let interval = logs_section.get("force_flush_interval").and_then(Value::as_u64).unwrap_or(5).clamp(1, 3600);
    let state_path = o.state.clone().unwrap_or_else(|| o.config.with_extension("state"));
    let mut state = load_state(&state_path);
    let mut made = std::collections::HashSet::new();
    let mut total = 0usize;
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let mut shipped = 0usize;
        let mut files = 0usize;
        for src in &sources {
            let paths = glob::glob(&src.file_path).map_err(|e| format!("file_path {}: {e}", src.file_path))?;
            for path in paths.flatten() {
                let key = path.display().to_string();
                let Ok(bytes) = std::fs::read(&path) else { continue };
                // A file shorter than where we stopped was truncated or replaced: read it again.
                let from = state.get(&key).copied().filter(|p| *p as usize <= bytes.len()).unwrap_or(0) as usize;
                if from == bytes.len() {
                    continue;
                }
                let (evs, used) = events(&bytes[from..], src, o.once, now);
                if evs.is_empty() && used == 0 {
                    continue;
                }
                ensure(&logs, src, &mut made).await?;
                files += 1;
                for batch in batches(evs) {
                    let n = batch.len();
                    let body = json!({"logGroupName": src.group, "logStreamName": src.stream,
                        "logEvents": batch.into_iter().map(|(t, m)| json!({"timestamp": t, "message": m})).collect::<Vec<_>>()});
                    let answer = logs
                        .call("PutLogEvents", &body)
                        .await
                        .map_err(|e| format!("PutLogEvents to {}: {e}", src.group))?;
                    if let Some(rejected) = answer.get("rejectedLogEventsInfo") {
                        eprintln!("nuage agent: {} rejected some events of {}: {rejected}", src.group, key);
                    }
                    shipped += n;
                }
                state.insert(key, (from + used) as u64);
            }
        }
        if shipped > 0 {
            save_state(&state_path, &state)?;
            total += shipped;
            eprintln!("nuage agent: shipped {shipped} events from {files} file(s) ({total} in all)");
        }
        if o.once {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(format: Option<&str>, start: Option<&str>) -> Source {
        let entry = json!({"file_path": "/x", "timestamp_format": format, "multi_line_start_pattern": start});
        source(&entry, "s", true).unwrap()
    }

    #[test]
    fn lines_timestamps_and_multiline_events() {
        let s = src(Some("%d/%b/%Y:%H:%M:%S %z"), None);
        let (evs, used) = events(b"1.1.1.1 - - [10/Oct/2025:13:55:36 -0700] \"GET /\"\npartial", &s, false, 7);
        assert_eq!(used, 49);
        assert_eq!(evs, vec![(1760129736000, "1.1.1.1 - - [10/Oct/2025:13:55:36 -0700] \"GET /\"".to_string())]);
        let s = src(Some("%Y-%m-%d %H:%M:%S"), Some("{timestamp_format}"));
        let text = "2025-01-02 03:04:05 error\n  at frame 1\n  at frame 2\n2025-01-02 03:04:06 ok\n";
        let (evs, _) = events(text.as_bytes(), &s, true, 0);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].1, "2025-01-02 03:04:05 error\n  at frame 1\n  at frame 2");
        assert_eq!(evs[1].0, 1735787046000);
        let (evs, _) = events(b"no time here\n", &s, true, 42);
        assert_eq!(evs[0].0, 42);
    }

    #[test]
    fn batches_keep_putlogevents_limits() {
        let evs: Vec<(i64, String)> = (0..25_000).map(|i| (i as i64, "x".repeat(10))).collect();
        let b = batches(evs);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![10_000, 10_000, 5_000]);
        let b = batches(vec![(0, "a".into()), (DAY_MS + 1, "b".into())]);
        assert_eq!(b.len(), 2);
    }
}
