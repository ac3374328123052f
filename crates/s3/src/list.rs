//! Listing: ListObjects (v1, v2) and ListObjectVersions, with prefixes, delimiters and paging.
use crate::error::S3Error;
use crate::meta::{bucket_prefix, ObjectEntry, Version, OBJECTS};
use crate::S3Service;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use nuage_core::{AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, Timestamp};

const BATCH: usize = 1000;

/// One item of a listing page.
pub enum Item<T> {
    Entry(String, T),
    Prefix(String),
}

/// Walks the keys of `bucket` under `prefix`, strictly after `after`, rolling keys up into
/// common prefixes at `delimiter`, and hands each key's entry to `expand`, which yields the
/// listing items for it (none for a key whose latest version is a delete marker, one per
/// version for ListObjectVersions). Stops after `max` items; returns whether more remain.
pub fn walk<T>(
    svc: &S3Service,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    after: &str,
    max: usize,
    mut expand: impl FnMut(&str, ObjectEntry) -> Vec<T>,
) -> AwsResult<(Vec<Item<T>>, bool)> {
    if max == 0 {
        return Ok((Vec::new(), false));
    }
    let snap = svc.store.read()?;
    let table_prefix = format!("{}{}", bucket_prefix(bucket), prefix);
    let mut start =
        if after >= prefix { format!("{}{}\0", bucket_prefix(bucket), after) } else { table_prefix.clone() };
    let mut items: Vec<Item<T>> = Vec::new();
    let mut last_prefix: Option<String> = None;
    loop {
        let batch: Vec<(String, ObjectEntry)> = snap.scan_from(OBJECTS, &table_prefix, &start, BATCH)?;
        let done = batch.len() < BATCH;
        if let Some((k, _)) = batch.last() {
            start = format!("{k}\0");
        }
        for (full, entry) in batch {
            let key = &full[bucket.len() + 1..];
            if let Some(d) = delimiter.filter(|d| !d.is_empty()) {
                if let Some(idx) = key[prefix.len()..].find(d) {
                    let cp = &key[..prefix.len() + idx + d.len()];
                    if last_prefix.as_deref() == Some(cp) || (after.starts_with(cp) && after.len() >= cp.len()) {
                        continue;
                    }
                    if entry.latest().is_none() {
                        continue;
                    }
                    if items.len() >= max {
                        return Ok((items, true));
                    }
                    last_prefix = Some(cp.to_string());
                    items.push(Item::Prefix(cp.to_string()));
                    continue;
                }
            }
            let produced = expand(key, entry);
            for p in produced {
                if items.len() >= max {
                    return Ok((items, true));
                }
                items.push(Item::Entry(key.to_string(), p));
            }
        }
        if done {
            return Ok((items, false));
        }
    }
}

/// URL-encodes a listing value when `encoding-type=url` was asked for.
pub fn enc(url: bool, s: &str) -> String {
    if url {
        nuage_front::sigv4::uri_encode(s, true)
    } else {
        s.to_string()
    }
}

fn check_encoding(e: &Option<String>) -> AwsResult<bool> {
    match e.as_deref() {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(other) => Err(S3Error::InvalidArgument(
            "Invalid Encoding Method specified in Request".into(),
            Some(("encoding-type", other.into())),
        )
        .into()),
    }
}

fn max_keys(v: Option<i32>) -> AwsResult<usize> {
    match v {
        None => Ok(1000),
        Some(n) if n < 0 => Err(S3Error::InvalidArgument(
            "Argument maxKeys must be an integer between 0 and 2147483647".into(),
            Some(("maxKeys", n.to_string())),
        )
        .into()),
        Some(n) => Ok((n as usize).min(1000)),
    }
}

fn object_of(key: &str, v: &Version, url: bool, owner: bool) -> m::Object {
    m::Object {
        key: Some(enc(url, key)),
        last_modified: Some(Timestamp(v.last_modified)),
        e_tag: Some(v.quoted_etag()),
        size: Some(v.size as i64),
        storage_class: Some(v.storage_class.clone()),
        owner: owner.then(|| v.owner.to_model()),
        checksum_algorithm: v.checksum.as_ref().map(|c| vec![c.algorithm.clone()]),
        checksum_type: v.checksum.as_ref().map(|c| c.kind.clone()),
        ..Default::default()
    }
}

/// Splits a listing page into objects and common prefixes, and names its last item.
fn split_page(
    items: Vec<Item<Version>>,
    url: bool,
    owner: bool,
) -> (Vec<m::Object>, Vec<m::CommonPrefix>, Option<String>) {
    let mut contents = Vec::new();
    let mut prefixes = Vec::new();
    let mut last = None;
    for it in items {
        match it {
            Item::Entry(k, v) => {
                contents.push(object_of(&k, &v, url, owner));
                last = Some(k);
            }
            Item::Prefix(p) => {
                prefixes.push(m::CommonPrefix { prefix: Some(enc(url, &p)) });
                last = Some(p);
            }
        }
    }
    (contents, prefixes, last)
}

fn latest_live(_: &str, e: ObjectEntry) -> Vec<Version> {
    e.versions.into_iter().next().filter(|v| !v.delete_marker).into_iter().collect()
}

pub async fn list_objects(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::ListObjectsRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::ListObjectsOutput> {
    let bucket = input.bucket.clone().unwrap_or_default();
    svc.bucket(&bucket)?;
    let url = check_encoding(&input.encoding_type)?;
    let max = max_keys(input.max_keys)?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let marker = input.marker.clone().unwrap_or_default();
    let (items, truncated) = walk(svc, &bucket, &prefix, input.delimiter.as_deref(), &marker, max, latest_live)?;
    let (contents, prefixes, last) = split_page(items, url, true);
    Ok(m::ListObjectsOutput {
        is_truncated: Some(truncated),
        marker: Some(enc(url, &marker)),
        next_marker: (truncated && input.delimiter.is_some()).then(|| last.map(|l| enc(url, &l))).flatten(),
        contents: (!contents.is_empty()).then_some(contents),
        name: Some(bucket),
        prefix: Some(enc(url, &prefix)),
        delimiter: input.delimiter.as_deref().filter(|d| !d.is_empty()).map(|d| enc(url, d)),
        max_keys: Some(input.max_keys.unwrap_or(1000)),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}

pub async fn list_objects_v2(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::ListObjectsV2Request,
    _req: &ServiceRequest,
) -> AwsResult<m::ListObjectsV2Output> {
    let bucket = input.bucket.clone().unwrap_or_default();
    svc.bucket(&bucket)?;
    let url = check_encoding(&input.encoding_type)?;
    let max = max_keys(input.max_keys)?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let after = match &input.continuation_token {
        Some(t) => B64.decode(t).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| {
            S3Error::InvalidArgument(
                "The continuation token provided is incorrect".into(),
                Some(("continuation-token", t.clone())),
            )
        })?,
        None => input.start_after.clone().unwrap_or_default(),
    };
    let (items, truncated) = walk(svc, &bucket, &prefix, input.delimiter.as_deref(), &after, max, latest_live)?;
    let fetch_owner = input.fetch_owner.unwrap_or(false);
    let (contents, prefixes, last) = split_page(items, url, fetch_owner);
    let count = contents.len() + prefixes.len();
    Ok(m::ListObjectsV2Output {
        is_truncated: Some(truncated),
        contents: (!contents.is_empty()).then_some(contents),
        name: Some(bucket),
        prefix: Some(enc(url, &prefix)),
        delimiter: input.delimiter.as_deref().filter(|d| !d.is_empty()).map(|d| enc(url, d)),
        max_keys: Some(input.max_keys.unwrap_or(1000)),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        encoding_type: input.encoding_type,
        key_count: Some(count as i32),
        continuation_token: input.continuation_token,
        next_continuation_token: truncated.then(|| last.map(|l| B64.encode(l.as_bytes()))).flatten(),
        start_after: input.start_after.as_deref().map(|s| enc(url, s)),
        ..Default::default()
    })
}

pub async fn list_object_versions(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::ListObjectVersionsRequest,
    _req: &ServiceRequest,
) -> AwsResult<(m::ListObjectVersionsOutput, Vec<&'static str>)> {
    let bucket = input.bucket.clone().unwrap_or_default();
    svc.bucket(&bucket)?;
    let url = check_encoding(&input.encoding_type)?;
    let max = max_keys(input.max_keys)?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let key_marker = input.key_marker.clone().unwrap_or_default();
    let vid_marker = input.version_id_marker.clone().filter(|v| !v.is_empty());
    // With a version-id marker the walk resumes inside the marker key, after that version.
    let after = match &vid_marker {
        Some(_) if !key_marker.is_empty() => {
            let mut s = key_marker.clone();
            s.pop();
            s
        }
        _ => key_marker.clone(),
    };
    let expand = |key: &str, e: ObjectEntry| -> Vec<(Version, bool)> {
        let mut out: Vec<(Version, bool)> = e.versions.into_iter().enumerate().map(|(i, v)| (v, i == 0)).collect();
        if key < key_marker.as_str() || (key == key_marker && vid_marker.is_none()) {
            return Vec::new();
        }
        if key == key_marker {
            if let Some(vm) = &vid_marker {
                match out.iter().position(|(v, _)| &v.version_id == vm) {
                    Some(pos) => out = out.split_off(pos + 1),
                    None => out.clear(),
                }
            }
        }
        out
    };
    let (items, truncated) = walk(svc, &bucket, &prefix, input.delimiter.as_deref(), &after, max, expand)?;
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    let mut prefixes = Vec::new();
    // Versions and delete markers share one newest-first order per key in the document.
    let mut order = Vec::new();
    let mut next: Option<(String, Option<String>)> = None;
    for it in items {
        match it {
            Item::Entry(k, (v, latest)) => {
                next = Some((k.clone(), Some(v.version_id.clone())));
                order.push(if v.delete_marker { "DeleteMarkers" } else { "Versions" });
                if v.delete_marker {
                    markers.push(m::DeleteMarkerEntry {
                        owner: Some(v.owner.to_model()),
                        key: Some(enc(url, &k)),
                        version_id: Some(v.version_id.clone()),
                        is_latest: Some(latest),
                        last_modified: Some(Timestamp(v.last_modified)),
                    });
                } else {
                    versions.push(m::ObjectVersion {
                        e_tag: Some(v.quoted_etag()),
                        size: Some(v.size as i64),
                        storage_class: Some(v.storage_class.clone()),
                        key: Some(enc(url, &k)),
                        version_id: Some(v.version_id.clone()),
                        is_latest: Some(latest),
                        last_modified: Some(Timestamp(v.last_modified)),
                        owner: Some(v.owner.to_model()),
                        checksum_algorithm: v.checksum.as_ref().map(|c| vec![c.algorithm.clone()]),
                        checksum_type: v.checksum.as_ref().map(|c| c.kind.clone()),
                        ..Default::default()
                    });
                }
            }
            Item::Prefix(p) => {
                next = Some((p.clone(), None));
                prefixes.push(m::CommonPrefix { prefix: Some(enc(url, &p)) });
            }
        }
    }
    let (nk, nv) = match (truncated, next) {
        (true, Some((k, v))) => (Some(enc(url, &k)), v),
        _ => (None, None),
    };
    let out = m::ListObjectVersionsOutput {
        is_truncated: Some(truncated),
        key_marker: Some(enc(url, &key_marker)),
        version_id_marker: Some(input.version_id_marker.clone().unwrap_or_default()),
        next_key_marker: nk,
        next_version_id_marker: nv,
        versions: (!versions.is_empty()).then_some(versions),
        delete_markers: (!markers.is_empty()).then_some(markers),
        name: Some(bucket),
        prefix: Some(enc(url, &prefix)),
        delimiter: input.delimiter.as_deref().filter(|d| !d.is_empty()).map(|d| enc(url, d)),
        max_keys: Some(input.max_keys.unwrap_or(1000)),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    };
    Ok((out, order))
}
