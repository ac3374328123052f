//! The timestamp formats AWS protocols use.
use crate::Timestamp;
use time::format_description::well_known::{Iso8601, Rfc2822, Rfc3339};
use time::OffsetDateTime;

fn to_odt(t: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.0 as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2009-10-12T17:50:30.000Z`, as S3 writes times in XML bodies.
pub fn iso8601(t: Timestamp) -> String {
    let d = to_odt(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        d.year(),
        d.month() as u8,
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.millisecond()
    )
}

/// `Wed, 12 Oct 2009 17:50:00 GMT`, as in HTTP headers.
pub fn http_date(t: Timestamp) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.seconds().max(0) as u64))
}

/// Accepts any of the formats a client may send: ISO 8601 / RFC 3339, HTTP dates, epoch seconds.
pub fn parse(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(d) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(Timestamp((d.unix_timestamp_nanos() / 1_000_000) as i64));
    }
    if let Ok(d) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(Timestamp((d.unix_timestamp_nanos() / 1_000_000) as i64));
    }
    if let Ok(t) = httpdate::parse_http_date(s) {
        let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
        return Some(Timestamp(d.as_millis() as i64));
    }
    if let Ok(d) = OffsetDateTime::parse(s, &Rfc2822) {
        return Some(Timestamp(d.unix_timestamp() * 1000));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Some(Timestamp((f * 1000.0) as i64));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats_round_trip() {
        let t = Timestamp(1_255_369_830_123);
        assert_eq!(iso8601(t), "2009-10-12T17:50:30.123Z");
        assert_eq!(http_date(t), "Mon, 12 Oct 2009 17:50:30 GMT");
        assert_eq!(parse(&iso8601(t)), Some(t));
        assert_eq!(parse(&http_date(t)), Some(Timestamp(1_255_369_830_000)));
        assert_eq!(parse("1255369830"), Some(Timestamp(1_255_369_830_000)));
    }
}
