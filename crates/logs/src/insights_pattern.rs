//! Logs Insights' `pattern` command: events clustered by the text they share. Each word of
//! the field is kept as written, or, when it is a value that varies from event to event (a
//! time, an IP address, a number, an identifier), replaced by a dynamic token `<Type-N>`
//! (N counts the pattern's dynamic tokens); events with the same pattern form one row with
//! `@pattern`, `@ratio`, `@sampleCount` and `@severityLabel`, the most frequent first.
//! AWS clusters with a model of its own; this is a deterministic stand-in for it, whose
//! answers a reader can predict.
use crate::insights::{eval, Expr, Record, Val};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}:\d{2}:\d{2}([.,]\d+)?|\d{1,2}/[A-Za-z]{3}/\d{4}(:\d{2}:\d{2}:\d{2})?)$",
    )
    .expect("valid regex")
});
static IP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{1,3}(\.\d{1,3}){3}(:\d+)?$").expect("valid regex"));
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-+]?\d+([.,]\d+)?(ms|s|us|ns|%|KB|MB|GB|B)?$").expect("valid regex"));
static WORDS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\S+|\s+").expect("valid regex"));

/// What a dynamic token holds, if the core of a word is one.
fn kind(core: &str) -> Option<&'static str> {
    if core.is_empty() {
        return None;
    }
    if TIME.is_match(core) {
        return Some("Time");
    }
    if IP.is_match(core) {
        return Some("IP");
    }
    if NUMBER.is_match(core) {
        return Some("Number");
    }
    // Identifiers: request ids, UUIDs, hashes — long words mixing digits with letters.
    let digits = core.chars().filter(char::is_ascii_digit).count();
    let alnum = core.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if alnum && digits > 0 && core.len() >= 6 && core.chars().any(|c| c.is_ascii_alphabetic()) {
        return Some("ID");
    }
    None
}

const EDGES: &[char] = &['[', ']', '(', ')', '{', '}', '<', '>', '"', '\'', ',', ';'];

/// The pattern of one text.
fn pattern_of(text: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    // The previous word was a time, and only one space has come since: a date and a time of
    // day written apart are one token.
    let mut after_time = false;
    let mut pending_space = String::new();
    for piece in WORDS.find_iter(text).map(|m| m.as_str()) {
        if piece.starts_with(char::is_whitespace) {
            pending_space.push_str(piece);
            continue;
        }
        let start = piece.len() - piece.trim_start_matches(EDGES).len();
        let end = piece.trim_end_matches(EDGES).len().max(start);
        let (lead, core, trail) = (&piece[..start], &piece[start..end], &piece[end..]);
        // `key=value`: the key stays, the value may vary.
        let (key, value) = match core.split_once('=') {
            Some((k, v)) if !k.is_empty() => (&core[..=k.len()], v),
            _ => ("", core),
        };
        match kind(value) {
            Some("Time") if after_time && key.is_empty() && lead.is_empty() && pending_space == " " => {
                pending_space.clear();
                out.push_str(trail);
                after_time = trail.is_empty();
                continue;
            }
            Some(k) => {
                n += 1;
                out.push_str(&pending_space);
                out.push_str(&format!("{lead}{key}<{k}-{n}>{trail}"));
                after_time = k == "Time" && trail.is_empty() && key.is_empty();
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(piece);
                after_time = false;
            }
        }
        pending_space.clear();
    }
    out
}

/// The severity a text announces (its first level word), as `@severityLabel` gives it.
fn severity(text: &str) -> &'static str {
    for word in text.split(|c: char| !c.is_ascii_alphabetic()) {
        match word.to_ascii_lowercase().as_str() {
            "error" | "err" | "fatal" | "critical" | "crit" | "emerg" | "alert" | "severe" => return "Error",
            "warn" | "warning" => return "Warning",
            "info" | "notice" => return "Info",
            "debug" => return "Debug",
            "trace" => return "Trace",
            _ => {}
        }
    }
    "Unknown"
}

/// The records of `pattern <expr>`: one per pattern, the most frequent first.
pub(crate) fn cluster(source: &Expr, records: &[Record]) -> Vec<Record> {
    let mut groups: HashMap<String, (usize, &'static str, usize)> = HashMap::new();
    let mut total = 0usize;
    for (i, r) in records.iter().enumerate() {
        let v = eval(source, r);
        if v == Val::Null {
            continue;
        }
        let text = v.text();
        total += 1;
        let entry = groups.entry(pattern_of(&text)).or_insert((0, severity(&text), i));
        entry.0 += 1;
    }
    let mut rows: Vec<(String, (usize, &'static str, usize))> = groups.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
    rows.into_iter()
        .map(|(p, (count, label, _))| {
            let mut r = Record::new();
            r.insert("@pattern".into(), Val::Str(p));
            r.insert("@ratio".into(), Val::Str(format!("{:.2}", count as f64 / total as f64)));
            r.insert("@sampleCount".into(), Val::Num(count as f64));
            r.insert("@severityLabel".into(), Val::Str(label.into()));
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_that_vary_become_tokens() {
        assert_eq!(
            pattern_of("2023-01-01 19:00:01 [INFO] Calling DynamoDB to store for resource id 12342342k124-12345"),
            "<Time-1> [INFO] Calling DynamoDB to store for resource id <ID-2>"
        );
        assert_eq!(pattern_of("[INFO] Request time: 327 ms"), "[INFO] Request time: <Number-1> ms");
        assert_eq!(
            pattern_of("10.0.0.1 - - [12/Dec/2026:10:00:01 +0000] \"GET /menu HTTP/1.1\" status=200"),
            "<IP-1> - - [<Time-2> <Number-3>] \"GET /menu HTTP/1.1\" status=<Number-4>"
        );
        assert_eq!(severity("[php:error] [pid 12]"), "Error");
        assert_eq!(severity("all good"), "Unknown");
    }
}
