//! The `application/vnd.amazon.eventstream` framing: messages of string headers and a payload,
//! each with its prelude and message CRC32s, as S3's SelectObjectContent streams its answer.

/// One message: `headers` (all of string type) and `payload`, framed.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let header_len: usize = headers.iter().map(|(k, v)| 1 + k.len() + 1 + 2 + v.len()).sum();
    let total = 12 + header_len + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(header_len as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    for (k, v) in headers {
        out.push(k.len() as u8);
        out.extend_from_slice(k.as_bytes());
        // Header value type 7: a string with a 16-bit length.
        out.push(7);
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// An event of `event_type` carrying `payload` of `content_type` (none for empty events).
pub fn event(event_type: &str, content_type: Option<&str>, payload: &[u8]) -> Vec<u8> {
    let mut headers = vec![(":event-type", event_type)];
    if let Some(ct) = content_type {
        headers.push((":content-type", ct));
    }
    headers.push((":message-type", "event"));
    message(&headers, payload)
}

/// An error message ending the stream: what a client raises as the operation's error.
pub fn error(code: &str, message_text: &str) -> Vec<u8> {
    message(&[(":error-code", code), (":error-message", message_text), (":message-type", "error")], &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_lengths_and_crcs() {
        let m = event("Records", Some("application/octet-stream"), b"a,b\n");
        let total = u32::from_be_bytes(m[0..4].try_into().unwrap()) as usize;
        assert_eq!(total, m.len());
        let headers = u32::from_be_bytes(m[4..8].try_into().unwrap()) as usize;
        assert_eq!(u32::from_be_bytes(m[8..12].try_into().unwrap()), crc32fast::hash(&m[0..8]));
        assert_eq!(&m[12 + headers..total - 4], b"a,b\n");
        assert_eq!(u32::from_be_bytes(m[total - 4..].try_into().unwrap()), crc32fast::hash(&m[..total - 4]));
    }
}
