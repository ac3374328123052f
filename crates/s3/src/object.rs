//! Object operations: put, get, head, delete, copy, tagging, attributes; versioning semantics.
use crate::acl;
use crate::bucket::{tag_pairs, validate_tags};
use crate::checksum;
use crate::error::{S3Error, S3Result};
use crate::meta::{object_key, Bucket, Checksum, ObjectEntry, Owner, Version, BUCKETS, OBJECTS};
use crate::S3Service;
use bytes::Bytes;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, Timestamp};
use nuage_storage::WriteCtx;
use std::collections::BTreeMap;

pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
const STANDARD_HEADERS: &[&str] =
    &["content-type", "content-encoding", "content-disposition", "content-language", "cache-control", "expires"];

pub fn new_version_id() -> String {
    // Later versions sort first when listed newest-first; the id itself is opaque.
    uuid::Uuid::new_v4().simple().to_string()
}

/// The standard headers an upload stores, with `aws-chunked` removed from Content-Encoding.
pub fn content_headers(req: &ServiceRequest) -> BTreeMap<String, String> {
    let mut h = BTreeMap::new();
    for name in STANDARD_HEADERS {
        if let Some(v) = req.header(name) {
            let v = if *name == "content-encoding" {
                v.split(',')
                    .map(str::trim)
                    .filter(|e| *e != "aws-chunked" && !e.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                v.to_string()
            };
            if !v.is_empty() {
                h.insert(name.to_string(), v);
            }
        }
    }
    if let Some(v) = req.header("x-amz-website-redirect-location") {
        h.insert("x-amz-website-redirect-location".into(), v.to_string());
    }
    h
}

pub fn parse_tagging_header(h: Option<&str>) -> S3Result<Vec<(String, String)>> {
    let Some(h) = h else { return Ok(Vec::new()) };
    let mut tags: Vec<(String, String)> = form_urlencoded::parse(h.as_bytes()).into_owned().collect();
    validate_tags(&tags, 10)?;
    tags.sort();
    Ok(tags)
}

pub fn check_key(key: &str) -> S3Result<()> {
    if key.len() > 1024 {
        return Err(S3Error::KeyTooLong.into());
    }
    Ok(())
}

pub fn storage_class(req: &ServiceRequest) -> S3Result<String> {
    let sc = req.header("x-amz-storage-class").unwrap_or("STANDARD");
    const CLASSES: &[&str] = &[
        "STANDARD",
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "DEEP_ARCHIVE",
        "GLACIER_IR",
        "OUTPOSTS",
        "SNOW",
        "EXPRESS_ONEZONE",
    ];
    if !CLASSES.contains(&sc) {
        return Err(S3Error::InvalidStorageClass.into());
    }
    Ok(sc.to_string())
}

/// Picks the addressed version. `None` asks for the latest; a delete marker there is a 404.
pub fn select_version<'a>(
    entry: &'a ObjectEntry,
    key: &str,
    version_id: Option<&str>,
    read: bool,
) -> S3Result<&'a Version> {
    match version_id {
        None => {
            let v = entry.latest().ok_or_else(|| S3Error::NoSuchKey(key.to_string()))?;
            if v.delete_marker {
                return Err(AwsError::from(S3Error::NoSuchKey(key.to_string()))
                    .with_header("x-amz-delete-marker", "true")
                    .with_header("x-amz-version-id", v.version_id.clone()));
            }
            Ok(v)
        }
        Some(id) => {
            let v = entry.versions.iter().find(|v| v.version_id == id).ok_or_else(|| version_error(key, id))?;
            if v.delete_marker && read {
                return Err(AwsError::from(S3Error::MethodNotAllowed)
                    .with("Method", "GET")
                    .with("ResourceType", "DeleteMarker")
                    .with_header("x-amz-delete-marker", "true")
                    .with_header("x-amz-version-id", v.version_id.clone())
                    .with_header("last-modified", nuage_protocol::time_fmt::http_date(Timestamp(v.last_modified)))
                    .with_header("allow", "DELETE"));
            }
            Ok(v)
        }
    }
}

fn version_error(key: &str, id: &str) -> AwsError {
    if id == "null" || (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())) {
        S3Error::NoSuchVersion(key.to_string(), id.to_string()).into()
    } else {
        S3Error::InvalidArgument("Invalid version id specified".into(), Some(("versionId", id.to_string()))).into()
    }
}

/// Adds `v` as the newest version of `key` under the bucket's versioning state, dropping
/// the version it replaces. Returns the version id to report, if the bucket is versioned.
pub fn install_version(w: &WriteCtx, bucket: &Bucket, key: &str, mut v: Version) -> AwsResult<Option<String>> {
    let ok = object_key(&bucket.name, key);
    let mut entry: ObjectEntry = w.get(OBJECTS, &ok)?.unwrap_or_default();
    if bucket.versioning.as_deref() == Some("Enabled") {
        v.version_id = new_version_id();
    } else {
        v.version_id = "null".into();
        if let Some(pos) = entry.versions.iter().position(|x| x.version_id == "null") {
            let old = entry.versions.remove(pos);
            for s in &old.segments {
                w.drop_blob(s)?;
            }
        }
    }
    let reported = (bucket.versioning.as_deref() == Some("Enabled")).then(|| v.version_id.clone());
    entry.versions.insert(0, v);
    w.put(OBJECTS, &ok, &entry)?;
    Ok(reported)
}

/// Conditional write headers, checked against the current latest version inside the commit.
pub fn check_write_conditions(
    w: &WriteCtx,
    bucket: &str,
    key: &str,
    if_match: Option<&str>,
    if_none_match: Option<&str>,
) -> AwsResult<()> {
    if if_match.is_none() && if_none_match.is_none() {
        return Ok(());
    }
    let entry: Option<ObjectEntry> = w.get(OBJECTS, &object_key(bucket, key))?;
    let current = entry.as_ref().and_then(|e| e.latest()).filter(|v| !v.delete_marker);
    if let Some(inm) = if_none_match {
        if current.is_some_and(|v| inm.trim() == "*" || etag_matches(inm, &v.etag)) {
            return Err(S3Error::PreconditionFailed("If-None-Match").into());
        }
    }
    if let Some(im) = if_match {
        match current {
            None => return Err(S3Error::NoSuchKey(key.to_string()).into()),
            Some(v) if !etag_matches(im, &v.etag) => return Err(S3Error::PreconditionFailed("If-Match").into()),
            _ => {}
        }
    }
    Ok(())
}

pub fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(|e| e.trim().trim_start_matches("W/").trim_matches('"')).any(|e| e == "*" || e == etag)
}

fn new_version(ctx: &RequestContext, etag: String, size: u64) -> Version {
    Version {
        version_id: String::new(),
        delete_marker: false,
        etag,
        size,
        last_modified: Timestamp::now().0,
        owner: S3Service::owner_of(ctx),
        headers: BTreeMap::new(),
        metadata: BTreeMap::new(),
        segments: Vec::new(),
        checksum: None,
        part_checksums: Vec::new(),
        tags: Vec::new(),
        grants: Vec::new(),
        storage_class: "STANDARD".into(),
        sse: None,
        lock: Default::default(),
        restore: None,
    }
}

fn checksum_fields(c: &Option<Checksum>) -> [Option<String>; 5] {
    let mut out: [Option<String>; 5] = Default::default();
    if let Some(c) = c {
        if let Some(i) = checksum::ALGORITHMS.iter().position(|a| *a == c.algorithm) {
            out[i] = Some(c.value.clone());
        }
    }
    out
}

pub async fn put_object(
    svc: &S3Service,
    ctx: &RequestContext,
    mut input: m::PutObjectRequest,
    req: &ServiceRequest,
) -> AwsResult<m::PutObjectOutput> {
    let bucket_name = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    check_key(&key)?;
    let bucket = svc.bucket(&bucket_name)?;
    let body = input.body.take().unwrap_or_default();
    let received = crate::payload::receive(req, &body, input.content_md5.as_deref()).await?;
    crate::payload::check_size(&received, req)?;
    let cs = received.checksum.clone();
    let (owner, grants) = acl::new_object_acl(svc, Some(req), None, S3Service::owner_of(ctx), &bucket)?;
    let tags = parse_tagging_header(input.tagging.as_deref())?;
    let mut v = new_version(ctx, received.md5_hex, received.len);
    v.owner = owner;
    v.headers = content_headers(req);
    v.metadata = input.metadata.take().unwrap_or_default();
    v.checksum = cs.map(|(algorithm, value)| Checksum { algorithm, value, kind: "FULL_OBJECT".into() });
    v.tags = tags;
    v.grants = grants;
    v.storage_class = storage_class(req)?;
    v.sse = Some(crate::sse::for_write(req, &bucket, &bucket.region)?);
    v.lock = crate::lock::for_write(req, &bucket)?;
    let etag = v.quoted_etag();
    let checksum = v.checksum.clone();
    let sse = v.sse.clone();
    let expiration = crate::lifecycle::expiration_header(&bucket, &key, &v.tags, v.last_modified);
    let staged = crate::payload::stage(&svc.store, req, body).await?;
    let (if_match, if_none_match) = (input.if_match.clone(), input.if_none_match.clone());
    let version_id = svc
        .store
        .write(move |w| {
            let bucket: Bucket =
                w.get(BUCKETS, &bucket_name)?.ok_or_else(|| S3Error::NoSuchBucket(bucket_name.clone()))?;
            check_write_conditions(w, &bucket_name, &key, if_match.as_deref(), if_none_match.as_deref())?;
            v.segments = vec![w.commit_blob(staged)?];
            install_version(w, &bucket, &key, v)
        })
        .await?;
    let [crc32, crc32c, crc64, sha1, sha256] = checksum_fields(&checksum);
    let mut out = m::PutObjectOutput {
        e_tag: Some(etag),
        version_id,
        expiration,
        checksum_crc32: crc32,
        checksum_crc32_c: crc32c,
        checksum_crc64_nvme: crc64,
        checksum_sha1: sha1,
        checksum_sha256: sha256,
        checksum_type: checksum.map(|c| c.kind),
        ..Default::default()
    };
    crate::report_sse!(out, &sse);
    Ok(out)
}

/// Evaluates If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since for reads.
fn check_read_conditions(
    v: &Version,
    if_match: Option<&str>,
    if_none_match: Option<&str>,
    ims: Option<Timestamp>,
    ius: Option<Timestamp>,
) -> AwsResult<()> {
    let modified_secs = Timestamp(v.last_modified).seconds();
    match if_match {
        Some(im) if !etag_matches(im, &v.etag) => return Err(S3Error::PreconditionFailed("If-Match").into()),
        Some(_) => {}
        None => {
            if ius.is_some_and(|t| modified_secs > t.seconds()) {
                return Err(S3Error::PreconditionFailed("If-Unmodified-Since").into());
            }
        }
    }
    match if_none_match {
        Some(inm) if etag_matches(inm, &v.etag) => {
            return Err(AwsError::from(S3Error::NotModified).with_header("etag", v.quoted_etag()))
        }
        Some(_) => {}
        None => {
            if ims.is_some_and(|t| modified_secs <= t.seconds()) {
                return Err(AwsError::from(S3Error::NotModified).with_header("etag", v.quoted_etag()));
            }
        }
    }
    Ok(())
}

/// Parses a single `bytes=` range against `size`; `Ok(None)` means the whole object.
pub fn parse_range(range: &str, size: u64) -> S3Result<Option<(u64, u64)>> {
    let Some(spec) = range.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else { return Ok(None) };
    let (a, b) = (a.trim(), b.trim());
    let bad = || -> AwsError { S3Error::InvalidRange(size, range.to_string()).into() };
    let r = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        (size.saturating_sub(n), size.saturating_sub(1))
    } else {
        let start: u64 = a.parse().map_err(|_| bad())?;
        let end: u64 = if b.is_empty() { size.saturating_sub(1) } else { b.parse().map_err(|_| bad())? };
        if end < start {
            return Ok(None);
        }
        (start, end.min(size.saturating_sub(1)))
    };
    if size == 0 || r.0 >= size {
        return Err(bad());
    }
    Ok(Some(r))
}

/// Reads the bytes [start, end] of a version, touching only the segments that hold them.
/// The pieces of bytes `start..=end` of a version, its blobs opened to be streamed.
pub fn open_range(svc: &S3Service, v: &Version, start: u64, end: u64) -> AwsResult<nuage_protocol::Streamed> {
    use nuage_protocol::Piece;
    let mut pieces = Vec::new();
    let mut offset = 0u64;
    for seg in &v.segments {
        let (seg_start, seg_end) = (offset, offset + seg.len);
        offset = seg_end;
        if seg_end <= start || seg_start > end {
            continue;
        }
        let from = start.saturating_sub(seg_start);
        let to = (end + 1).min(seg_end) - seg_start;
        pieces.push(match svc.store.open_blob(seg)? {
            nuage_storage::BlobSource::Bytes(b) => Piece::Bytes(b.slice(from as usize..to as usize)),
            nuage_storage::BlobSource::File(file) => Piece::File { file, offset: from, len: to - from },
        });
    }
    Ok(nuage_protocol::Streamed(pieces))
}

/// Bytes `start..=end` of a version, in memory (a copy's source).
pub async fn read_range(svc: &S3Service, v: &Version, start: u64, end: u64) -> AwsResult<Bytes> {
    open_range(svc, v, start, end)?.read_all().await.map_err(AwsError::internal)
}

pub async fn read_all(svc: &S3Service, v: &Version) -> AwsResult<Bytes> {
    if v.size == 0 {
        return Ok(Bytes::new());
    }
    if v.segments.len() == 1 {
        return svc.store.read_blob(&v.segments[0]).await;
    }
    read_range(svc, v, 0, v.size - 1).await
}

/// The byte range of part `n` of a multipart object (or the whole object for part 1 of a
/// single-part one).
fn part_range(v: &Version, n: i32) -> S3Result<(u64, u64, i32)> {
    let count = v.segments.len().max(1) as i32;
    let multipart = v.etag.contains('-');
    if n < 1 || n > count || (!multipart && n != 1) {
        return Err(AwsError::new("InvalidPart", 400, "The requested partnumber is not satisfiable")
            .with("PartNumberRequested", n.to_string()));
    }
    if !multipart {
        return Ok((0, v.size.saturating_sub(1), 1));
    }
    let start: u64 = v.segments[..(n - 1) as usize].iter().map(|s| s.len).sum();
    let len = v.segments[(n - 1) as usize].len;
    Ok((start, start + len.saturating_sub(1), count))
}

pub(crate) struct Located {
    pub bucket: Bucket,
    pub key: String,
    pub version: Version,
}

pub(crate) fn locate(
    svc: &S3Service,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    read: bool,
) -> AwsResult<Located> {
    let b = svc.bucket(bucket)?;
    let entry: ObjectEntry =
        svc.store.read()?.get(OBJECTS, &object_key(bucket, key))?.ok_or_else(|| S3Error::NoSuchKey(key.to_string()))?;
    let v = select_version(&entry, key, version_id, read)?.clone();
    Ok(Located { bucket: b, key: key.to_string(), version: v })
}

/// Fills the response fields GetObject and HeadObject share.
macro_rules! object_view {
    ($out:ident, $loc:expr, $checksum_mode:expr, $part:expr) => {{
        let v = &$loc.version;
        $out.e_tag = Some(v.quoted_etag());
        $out.last_modified = Some(Timestamp(v.last_modified));
        $out.accept_ranges = Some("bytes".into());
        $out.content_type =
            Some(v.headers.get("content-type").cloned().unwrap_or_else(|| "binary/octet-stream".into()));
        $out.content_encoding = v.headers.get("content-encoding").cloned();
        $out.content_disposition = v.headers.get("content-disposition").cloned();
        $out.content_language = v.headers.get("content-language").cloned();
        $out.cache_control = v.headers.get("cache-control").cloned();
        $out.expires = v.headers.get("expires").cloned();
        $out.website_redirect_location = v.headers.get("x-amz-website-redirect-location").cloned();
        $out.metadata = (!v.metadata.is_empty()).then(|| v.metadata.clone());
        crate::report_sse!($out, &v.sse);
        $out.expiration = crate::lifecycle::expiration_header(&$loc.bucket, &$loc.key, &v.tags, v.last_modified);
        if $loc.bucket.object_lock {
            $out.object_lock_mode = v.lock.mode.clone();
            $out.object_lock_retain_until_date = v.lock.retain_until.map(Timestamp);
            $out.object_lock_legal_hold_status = Some(if v.lock.legal_hold { "ON" } else { "OFF" }.into());
        }
        $out.storage_class = (v.storage_class != "STANDARD").then(|| v.storage_class.clone());
        $out.version_id = ($loc.bucket.versioning.is_some() || v.version_id != "null").then(|| v.version_id.clone());
        if $checksum_mode {
            // A part of a multipart object shows that part's checksum.
            let shown = match $part {
                Some(n) if !v.part_checksums.is_empty() => v.checksum.as_ref().and_then(|c| {
                    let value = v.part_checksums.get((n as usize).checked_sub(1)?).cloned().flatten()?;
                    Some(Checksum { algorithm: c.algorithm.clone(), value, kind: c.kind.clone() })
                }),
                _ => v.checksum.clone(),
            };
            let [a, b, c, d, e] = checksum_fields(&shown);
            $out.checksum_crc32 = a;
            $out.checksum_crc32_c = b;
            $out.checksum_crc64_nvme = c;
            $out.checksum_sha1 = d;
            $out.checksum_sha256 = e;
            $out.checksum_type = shown.as_ref().map(|c| c.kind.clone());
        }
    }};
}

/// The version a GET or HEAD reads, once its read conditions and SSE-C key have passed.
macro_rules! readable_version {
    ($svc:ident, $input:ident, $req:ident) => {{
        let key = $input.key.clone().unwrap_or_default();
        let loc = locate($svc, &$input.bucket.clone().unwrap_or_default(), &key, $input.version_id.as_deref(), true)?;
        check_read_conditions(
            &loc.version,
            $input.if_match.as_deref(),
            $input.if_none_match.as_deref(),
            $input.if_modified_since,
            $input.if_unmodified_since,
        )?;
        crate::sse::check_read(&loc.version.sse, $req, "x-amz-")?;
        loc
    }};
}

/// What a GET or HEAD asks for by `Range` or `partNumber`: the inclusive byte range, whether
/// the answer carries a Content-Range, and the part count to report.
struct Requested {
    range: Option<(u64, u64)>,
    content_range: bool,
    parts_count: Option<i32>,
}

fn requested(v: &Version, part_number: Option<i32>, range: Option<&str>) -> AwsResult<Requested> {
    let multipart = v.etag.contains('-');
    match (part_number, range) {
        (Some(n), _) => {
            let (s, e, count) = part_range(v, n)?;
            Ok(Requested {
                range: (v.size > 0).then_some((s, e)),
                content_range: multipart,
                parts_count: multipart.then_some(count),
            })
        }
        (None, Some(r)) => {
            let range = parse_range(r, v.size)?;
            Ok(Requested { range, content_range: range.is_some(), parts_count: None })
        }
        (None, None) => Ok(Requested { range: None, content_range: false, parts_count: None }),
    }
}

pub async fn get_object(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetObjectRequest,
    req: &ServiceRequest,
) -> AwsResult<(m::GetObjectOutput, nuage_protocol::Streamed)> {
    let loc = readable_version!(svc, input, req);
    let v = &loc.version;
    crate::restore::check_readable(v)?;
    let mut out = m::GetObjectOutput { restore: crate::restore::header(v), ..Default::default() };
    // A range has no checksum of its own; the whole object or one part has.
    let whole = input.range.is_none();
    object_view!(out, loc, input.checksum_mode.as_deref() == Some("ENABLED") && whole, input.part_number);
    let r = requested(v, input.part_number, input.range.as_deref())?;
    out.parts_count = r.parts_count;
    let body = match r.range {
        Some((s, e)) => {
            if r.content_range {
                out.content_range = Some(format!("bytes {s}-{e}/{}", v.size));
            }
            open_range(svc, v, s, e)?
        }
        None if v.size == 0 => nuage_protocol::Streamed::default(),
        None => open_range(svc, v, 0, v.size - 1)?,
    };
    out.content_length = Some(body.len() as i64);
    out.tag_count = (!v.tags.is_empty()).then_some(v.tags.len() as i32);
    out.response_overrides(&input);
    Ok((out, body))
}

trait ResponseOverrides {
    fn response_overrides(&mut self, input: &m::GetObjectRequest);
}

impl ResponseOverrides for m::GetObjectOutput {
    /// The `response-*` query parameters replace the stored headers in the answer.
    fn response_overrides(&mut self, input: &m::GetObjectRequest) {
        if let Some(v) = &input.response_content_type {
            self.content_type = Some(v.clone());
        }
        if let Some(v) = &input.response_content_language {
            self.content_language = Some(v.clone());
        }
        if let Some(v) = &input.response_content_disposition {
            self.content_disposition = Some(v.clone());
        }
        if let Some(v) = &input.response_content_encoding {
            self.content_encoding = Some(v.clone());
        }
        if let Some(v) = &input.response_cache_control {
            self.cache_control = Some(v.clone());
        }
        if let Some(v) = &input.response_expires {
            self.expires = Some(nuage_protocol::time_fmt::http_date(*v));
        }
    }
}

pub async fn head_object(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::HeadObjectRequest,
    req: &ServiceRequest,
) -> AwsResult<m::HeadObjectOutput> {
    let loc = readable_version!(svc, input, req);
    let v = &loc.version;
    let mut out = m::HeadObjectOutput { restore: crate::restore::header(v), ..Default::default() };
    object_view!(out, loc, input.checksum_mode.as_deref() == Some("ENABLED"), input.part_number);
    let r = requested(v, input.part_number, input.range.as_deref())?;
    out.parts_count = r.parts_count;
    let len = match r.range {
        Some((s, e)) => {
            if r.content_range {
                out.content_range = Some(format!("bytes {s}-{e}/{}", v.size));
            }
            e + 1 - s
        }
        None => v.size,
    };
    out.content_length = Some(len as i64);
    Ok(out)
}

/// What deleting one key (or one version) did.
pub struct Deleted {
    pub version_id: Option<String>,
    pub delete_marker: bool,
}

/// Deletes `key` (or one version of it) inside a transaction, per the bucket's versioning.
pub fn delete_in_txn(
    w: &WriteCtx,
    bucket: &Bucket,
    key: &str,
    version_id: Option<&str>,
    owner: &Owner,
    bypass_governance: bool,
) -> AwsResult<Deleted> {
    let ok = object_key(&bucket.name, key);
    let mut entry: ObjectEntry = w.get(OBJECTS, &ok)?.unwrap_or_default();
    let result = match version_id {
        Some(id) => {
            let Some(pos) = entry.versions.iter().position(|v| v.version_id == id) else {
                if id != "null" && !(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())) {
                    return Err(version_error(key, id));
                }
                return Ok(Deleted { version_id: Some(id.to_string()), delete_marker: false });
            };
            crate::lock::check_delete(&entry.versions[pos], bypass_governance)?;
            let v = entry.versions.remove(pos);
            for s in &v.segments {
                w.drop_blob(s)?;
            }
            Deleted { version_id: Some(id.to_string()), delete_marker: v.delete_marker }
        }
        None => match bucket.versioning.as_deref() {
            None => {
                for v in entry.versions.drain(..) {
                    for s in &v.segments {
                        w.drop_blob(s)?;
                    }
                }
                Deleted { version_id: None, delete_marker: false }
            }
            Some(state) => {
                let id = if state == "Enabled" {
                    new_version_id()
                } else {
                    if let Some(pos) = entry.versions.iter().position(|v| v.version_id == "null") {
                        let old = entry.versions.remove(pos);
                        for s in &old.segments {
                            w.drop_blob(s)?;
                        }
                    }
                    "null".to_string()
                };
                let marker = Version {
                    version_id: id.clone(),
                    delete_marker: true,
                    etag: String::new(),
                    size: 0,
                    last_modified: Timestamp::now().0,
                    owner: owner.clone(),
                    headers: BTreeMap::new(),
                    metadata: BTreeMap::new(),
                    segments: Vec::new(),
                    checksum: None,
                    part_checksums: Vec::new(),
                    tags: Vec::new(),
                    grants: Vec::new(),
                    storage_class: "STANDARD".into(),
                    sse: None,
                    lock: Default::default(),
                    restore: None,
                };
                entry.versions.insert(0, marker);
                Deleted { version_id: Some(id), delete_marker: true }
            }
        },
    };
    if entry.versions.is_empty() {
        w.delete(OBJECTS, &ok)?;
    } else {
        w.put(OBJECTS, &ok, &entry)?;
    }
    Ok(result)
}

pub async fn delete_object(
    svc: &S3Service,
    ctx: &RequestContext,
    input: m::DeleteObjectRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::DeleteObjectOutput> {
    let bucket_name = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    let owner = S3Service::owner_of(ctx);
    let version_id = input.version_id.clone();
    let if_match = input.if_match.clone();
    let bypass = input.bypass_governance_retention.unwrap_or(false);
    let d = svc
        .store
        .write(move |w| {
            let bucket: Bucket =
                w.get(BUCKETS, &bucket_name)?.ok_or_else(|| S3Error::NoSuchBucket(bucket_name.clone()))?;
            if let Some(im) = &if_match {
                check_write_conditions(w, &bucket_name, &key, Some(im), None)?;
            }
            delete_in_txn(w, &bucket, &key, version_id.as_deref(), &owner, bypass)
        })
        .await?;
    Ok(m::DeleteObjectOutput {
        delete_marker: d.delete_marker.then_some(true),
        version_id: d.version_id,
        ..Default::default()
    })
}

pub async fn delete_objects(
    svc: &S3Service,
    ctx: &RequestContext,
    input: m::DeleteObjectsRequest,
    req: &ServiceRequest,
) -> AwsResult<m::DeleteObjectsOutput> {
    let bucket_name = input.bucket.clone().unwrap_or_default();
    let delete = input.delete.ok_or(S3Error::MalformedXml)?;
    let objects = delete.objects.unwrap_or_default();
    if objects.is_empty() || objects.len() > 1000 {
        return Err(S3Error::MalformedXml.into());
    }
    checksum::check_content_md5(req.header("content-md5"), &req.body)?;
    let quiet = delete.quiet.unwrap_or(false);
    let bypass = input.bypass_governance_retention.unwrap_or(false);
    let owner = S3Service::owner_of(ctx);
    svc.bucket(&bucket_name)?;
    let (deleted, errors) = svc
        .store
        .write(move |w| {
            let bucket: Bucket =
                w.get(BUCKETS, &bucket_name)?.ok_or_else(|| S3Error::NoSuchBucket(bucket_name.clone()))?;
            let mut deleted = Vec::new();
            let mut errors = Vec::new();
            for o in objects {
                let key = o.key.clone().unwrap_or_default();
                match delete_in_txn(w, &bucket, &key, o.version_id.as_deref(), &owner, bypass) {
                    Ok(d) => deleted.push(m::DeletedObject {
                        key: Some(key),
                        version_id: o.version_id.clone(),
                        delete_marker: d.delete_marker.then_some(true),
                        delete_marker_version_id: if o.version_id.is_none() && d.delete_marker {
                            d.version_id
                        } else {
                            None
                        },
                    }),
                    Err(e) => errors.push(m::Error {
                        key: Some(key),
                        version_id: o.version_id.clone(),
                        code: Some(e.code.to_string()),
                        message: Some(e.message),
                    }),
                }
            }
            Ok((deleted, errors))
        })
        .await?;
    Ok(m::DeleteObjectsOutput {
        deleted: (!quiet && !deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    })
}

/// Parses `x-amz-copy-source`: `[/]bucket/key[?versionId=id]`, URL-encoded.
pub fn parse_copy_source(s: &str) -> S3Result<(String, String, Option<String>)> {
    let (path, version) = match s.split_once("?versionId=") {
        Some((p, v)) => (p, Some(v.to_string())),
        None => (s, None),
    };
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned();
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    match decoded.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.to_string(), k.to_string(), version)),
        _ => Err(S3Error::InvalidArgument(
            "Invalid copy source object key".into(),
            Some(("x-amz-copy-source", s.to_string())),
        )
        .into()),
    }
}

/// Looks up a copy source, checking that the caller may read it and its copy conditions.
pub fn copy_source(svc: &S3Service, src: &str, req: &ServiceRequest) -> AwsResult<Version> {
    let (b, k, vid) = parse_copy_source(src)?;
    let loc = match locate(svc, &b, &k, vid.as_deref(), false) {
        Ok(l) => l,
        Err(e) if e.code == "MethodNotAllowed" => {
            return Err(S3Error::InvalidRequest(
                "The source of a copy request may not specifically refer to a delete marker by version id.".into(),
            )
            .into())
        }
        Err(e) => return Err(e),
    };
    if loc.version.delete_marker {
        return Err(S3Error::InvalidRequest(
            "The source of a copy request may not specifically refer to a delete marker by version id.".into(),
        )
        .into());
    }
    // Reading the source was authorised by the front door, with the destination write.
    let v = &loc.version;
    if crate::restore::archived(v) && !crate::restore::restored(v) {
        return Err(AwsError::new(
            "InvalidObjectState",
            403,
            "Operation is not valid for the source object's storage class",
        ));
    }
    crate::sse::check_read(&v.sse, req, "x-amz-copy-source-")?;
    let h = |n: &str| req.header(n);
    let ims = h("x-amz-copy-source-if-modified-since").and_then(nuage_protocol::time_fmt::parse);
    let ius = h("x-amz-copy-source-if-unmodified-since").and_then(nuage_protocol::time_fmt::parse);
    let secs = Timestamp(v.last_modified).seconds();
    if let Some(im) = h("x-amz-copy-source-if-match") {
        if !etag_matches(im, &v.etag) {
            return Err(S3Error::PreconditionFailed("x-amz-copy-source-If-Match").into());
        }
    } else if ius.is_some_and(|t| secs > t.seconds()) {
        return Err(S3Error::PreconditionFailed("x-amz-copy-source-If-Unmodified-Since").into());
    }
    if let Some(inm) = h("x-amz-copy-source-if-none-match") {
        if etag_matches(inm, &v.etag) {
            return Err(S3Error::PreconditionFailed("x-amz-copy-source-If-None-Match").into());
        }
    } else if ims.is_some_and(|t| secs <= t.seconds()) {
        return Err(S3Error::PreconditionFailed("x-amz-copy-source-If-Modified-Since").into());
    }
    Ok(v.clone())
}

pub async fn copy_object(
    svc: &S3Service,
    ctx: &RequestContext,
    mut input: m::CopyObjectRequest,
    req: &ServiceRequest,
) -> AwsResult<m::CopyObjectOutput> {
    let bucket_name = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    check_key(&key)?;
    let bucket = svc.bucket(&bucket_name)?;
    let src_header = input.copy_source.clone().unwrap_or_default();
    let src = copy_source(svc, &src_header, req)?;
    let (sb, sk, _) = parse_copy_source(&src_header)?;
    let replace_meta = input.metadata_directive.as_deref() == Some("REPLACE");
    if let Some(d) = input.metadata_directive.as_deref() {
        if d != "COPY" && d != "REPLACE" {
            return Err(S3Error::InvalidArgument(
                "Unknown metadata directive.".into(),
                Some(("x-amz-metadata-directive", d.into())),
            )
            .into());
        }
    }
    let same = sb == bucket_name && sk == key;
    let changes_something = replace_meta
        || req.header("x-amz-storage-class").is_some()
        || req.header("x-amz-server-side-encryption").is_some()
        || req.header("x-amz-website-redirect-location").is_some()
        || bucket.versioning.as_deref() == Some("Enabled");
    if same && !changes_something {
        return Err(S3Error::InvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into()).into());
    }
    let body = read_all(svc, &src).await?;
    let (owner, grants) = acl::new_object_acl(svc, Some(req), None, S3Service::owner_of(ctx), &bucket)?;
    let mut v = new_version(ctx, src.etag.clone(), src.size);
    v.owner = owner.clone();
    if replace_meta {
        v.headers = content_headers(req);
        v.metadata = input.metadata.take().unwrap_or_default();
    } else {
        v.headers = src.headers.clone();
        v.metadata = src.metadata.clone();
    }
    v.tags = if input.tagging_directive.as_deref() == Some("REPLACE") {
        parse_tagging_header(input.tagging.as_deref())?
    } else {
        src.tags.clone()
    };
    v.grants = grants;
    v.storage_class = match req.header("x-amz-storage-class") {
        Some(_) => storage_class(req)?,
        None => src.storage_class.clone(),
    };
    v.sse = Some(crate::sse::for_write(req, &bucket, &bucket.region)?);
    v.lock = crate::lock::for_write(req, &bucket)?;
    let sse = v.sse.clone();
    if src.etag.contains('-') {
        // A copy is stored as one piece; S3 reports the MD5 of the new single-part object.
        v.etag = checksum::md5_hex(&body);
    }
    v.checksum = match input.checksum_algorithm.as_deref() {
        Some(alg) => checksum::compute(alg, &body).map(|value| Checksum {
            algorithm: alg.into(),
            value,
            kind: "FULL_OBJECT".into(),
        }),
        None => src.checksum.clone().filter(|c| c.kind == "FULL_OBJECT"),
    };
    let etag = v.quoted_etag();
    let modified = v.last_modified;
    let checksum = v.checksum.clone();
    let staged = svc.store.stage(body).await?;
    let (if_match, if_none_match) = (input.if_match.clone(), input.if_none_match.clone());
    let version_id = svc
        .store
        .write(move |w| {
            let bucket: Bucket =
                w.get(BUCKETS, &bucket_name)?.ok_or_else(|| S3Error::NoSuchBucket(bucket_name.clone()))?;
            check_write_conditions(w, &bucket_name, &key, if_match.as_deref(), if_none_match.as_deref())?;
            v.segments = vec![w.commit_blob(staged)?];
            install_version(w, &bucket, &key, v)
        })
        .await?;
    let [crc32, crc32c, crc64, sha1, sha256] = checksum_fields(&checksum);
    let mut out = m::CopyObjectOutput {
        copy_object_result: Some(m::CopyObjectResult {
            e_tag: Some(etag),
            last_modified: Some(Timestamp(modified)),
            checksum_crc32: crc32,
            checksum_crc32_c: crc32c,
            checksum_crc64_nvme: crc64,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            checksum_type: checksum.map(|c| c.kind),
            ..Default::default()
        }),
        version_id,
        copy_source_version_id: (src.version_id != "null").then(|| src.version_id.clone()),
        ..Default::default()
    };
    crate::report_sse!(out, &sse);
    Ok(out)
}

/// Applies `change` to one version's record in one transaction; returns its version id.
async fn update_version(
    svc: &S3Service,
    bucket: String,
    key: String,
    version_id: Option<String>,
    change: impl FnOnce(&mut Version) -> AwsResult<()> + Send + 'static,
) -> AwsResult<String> {
    svc.store
        .write(move |w| {
            w.get::<Bucket>(BUCKETS, &bucket)?.ok_or_else(|| S3Error::NoSuchBucket(bucket.clone()))?;
            let ok = object_key(&bucket, &key);
            let mut e: ObjectEntry = w.get(OBJECTS, &ok)?.ok_or_else(|| S3Error::NoSuchKey(key.clone()))?;
            let id = select_version(&e, &key, version_id.as_deref(), true)?.version_id.clone();
            let v = e.versions.iter_mut().find(|v| v.version_id == id).expect("selected version exists");
            change(v)?;
            w.put(OBJECTS, &ok, &e)?;
            Ok(id)
        })
        .await
}

pub async fn put_object_tagging(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutObjectTaggingRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::PutObjectTaggingOutput> {
    let tags = tag_pairs(&input.tagging.and_then(|t| t.tag_set).unwrap_or_default());
    validate_tags(&tags, 10)?;
    let id = update_version(
        svc,
        input.bucket.unwrap_or_default(),
        input.key.unwrap_or_default(),
        input.version_id,
        move |v| {
            v.tags = tags;
            Ok(())
        },
    )
    .await?;
    Ok(m::PutObjectTaggingOutput { version_id: Some(id) })
}

pub async fn get_object_tagging(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetObjectTaggingRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetObjectTaggingOutput> {
    let key = input.key.unwrap_or_default();
    let loc = locate(svc, &input.bucket.unwrap_or_default(), &key, input.version_id.as_deref(), true)?;
    Ok(m::GetObjectTaggingOutput {
        version_id: Some(loc.version.version_id.clone()),
        tag_set: Some(
            loc.version.tags.iter().map(|(k, v)| m::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect(),
        ),
    })
}

pub async fn delete_object_tagging(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteObjectTaggingRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::DeleteObjectTaggingOutput> {
    let id =
        update_version(svc, input.bucket.unwrap_or_default(), input.key.unwrap_or_default(), input.version_id, |v| {
            v.tags.clear();
            Ok(())
        })
        .await?;
    Ok(m::DeleteObjectTaggingOutput { version_id: Some(id) })
}

pub async fn get_object_attributes(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetObjectAttributesRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetObjectAttributesOutput> {
    let key = input.key.clone().unwrap_or_default();
    let loc = locate(svc, &input.bucket.clone().unwrap_or_default(), &key, input.version_id.as_deref(), true)?;
    let v = &loc.version;
    let want: Vec<String> = input.object_attributes.clone().unwrap_or_default();
    let has = |a: &str| want.iter().any(|w| w == a);
    let mut out = m::GetObjectAttributesOutput {
        last_modified: Some(Timestamp(v.last_modified)),
        version_id: (v.version_id != "null").then(|| v.version_id.clone()),
        ..Default::default()
    };
    if has("ETag") {
        out.e_tag = Some(v.etag.clone());
    }
    if has("ObjectSize") {
        out.object_size = Some(v.size as i64);
    }
    if has("StorageClass") {
        out.storage_class = Some(v.storage_class.clone());
    }
    if has("Checksum") {
        if let Some(c) = &v.checksum {
            let [a, b, c5, d, e] = checksum_fields(&Some(c.clone()));
            out.checksum = Some(m::Checksum {
                checksum_crc32: a,
                checksum_crc32_c: b,
                checksum_crc64_nvme: c5,
                checksum_sha1: d,
                checksum_sha256: e,
                checksum_type: Some(c.kind.clone()),
                ..Default::default()
            });
        }
    }
    if has("ObjectParts") && v.etag.contains('-') {
        let max = input.max_parts.unwrap_or(1000).max(0) as usize;
        let marker = input.part_number_marker.unwrap_or(0).max(0) as usize;
        let all: Vec<m::ObjectPart> = v
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut p =
                    m::ObjectPart { part_number: Some(i as i32 + 1), size: Some(s.len as i64), ..Default::default() };
                // Each part's own checksum, in the object's algorithm.
                let value = v.part_checksums.get(i).cloned().flatten();
                match v.checksum.as_ref().map(|c| c.algorithm.as_str()) {
                    Some("CRC32") => p.checksum_crc32 = value,
                    Some("CRC32C") => p.checksum_crc32_c = value,
                    Some("CRC64NVME") => p.checksum_crc64_nvme = value,
                    Some("SHA1") => p.checksum_sha1 = value,
                    Some("SHA256") => p.checksum_sha256 = value,
                    _ => {}
                }
                p
            })
            .filter(|p| p.part_number.unwrap_or(0) as usize > marker)
            .collect();
        let truncated = all.len() > max;
        let parts: Vec<_> = all.into_iter().take(max).collect();
        out.object_parts = Some(m::GetObjectAttributesParts {
            total_parts_count: Some(v.segments.len() as i32),
            part_number_marker: Some(marker as i32),
            next_part_number_marker: parts.last().and_then(|p| p.part_number),
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            parts: Some(parts),
        });
    }
    Ok(out)
}
