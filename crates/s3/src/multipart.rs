//! Multipart uploads: create, upload (and copy) parts, complete, abort, list.
use crate::acl;
use crate::checksum;
use crate::error::S3Error;
use crate::list::enc;
use crate::meta::{bucket_prefix, upload_key, Bucket, Checksum, Completed, Part, Upload, BUCKETS, COMPLETED, UPLOADS};
use crate::object::{self, check_key, content_headers, install_version, parse_tagging_header, storage_class};
use crate::S3Service;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use md5::{Digest, Md5};
use nuage_core::{AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, Timestamp};

const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

fn new_upload_id() -> String {
    // Time-ordered, so uploads of one key list in the order they were initiated.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:024x}{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

fn part_number_ok(n: i32) -> AwsResult<()> {
    if !(1..=10000).contains(&n) {
        return Err(S3Error::InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive".into(),
            Some(("partNumber", n.to_string())),
        )
        .into());
    }
    Ok(())
}

fn load_upload(svc: &S3Service, bucket: &str, key: &str, upload_id: &str) -> AwsResult<Upload> {
    svc.bucket(bucket)?;
    svc.store
        .read()?
        .get(UPLOADS, &upload_key(bucket, key, upload_id))?
        .ok_or_else(|| S3Error::NoSuchUpload(upload_id.to_string()).into())
}

pub async fn create(
    svc: &S3Service,
    ctx: &RequestContext,
    mut input: m::CreateMultipartUploadRequest,
    req: &ServiceRequest,
) -> AwsResult<m::CreateMultipartUploadOutput> {
    let bucket_name = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    check_key(&key)?;
    let bucket = svc.bucket(&bucket_name)?;
    let initiator = S3Service::owner_of(ctx);
    let (owner, grants) = acl::new_object_acl(svc, Some(req), None, initiator.clone(), &bucket)?;
    let upload = Upload {
        upload_id: new_upload_id(),
        bucket: bucket_name.clone(),
        key: key.clone(),
        initiated: Timestamp::now().0,
        owner: owner.clone(),
        initiator,
        headers: content_headers(req),
        metadata: input.metadata.take().unwrap_or_default(),
        tags: parse_tagging_header(input.tagging.as_deref())?,
        grants,
        storage_class: storage_class(req)?,
        checksum_algorithm: input.checksum_algorithm.clone(),
        checksum_type: checksum_type_of(input.checksum_algorithm.as_deref(), input.checksum_type.as_deref())?,
        sse: Some(crate::sse::for_write(req, &bucket, &bucket.region)?),
        lock: crate::lock::for_write(req, &bucket)?,
        parts: Default::default(),
    };
    let sse = upload.sse.clone();
    let id = upload.upload_id.clone();
    let k = upload_key(&bucket_name, &key, &id);
    svc.store.write(move |w| w.put(UPLOADS, &k, &upload)).await?;
    let mut out = m::CreateMultipartUploadOutput {
        bucket: Some(bucket_name),
        key: Some(key),
        upload_id: Some(id),
        checksum_type: checksum_type_of(input.checksum_algorithm.as_deref(), input.checksum_type.as_deref())?,
        checksum_algorithm: input.checksum_algorithm,
        ..Default::default()
    };
    crate::report_sse!(out, &sse);
    Ok(out)
}

/// Stores `body` as part `number` of an upload, replacing an earlier part of that number.
/// Records a part whose body is staged; `(md5_hex, size)` describe it.
#[allow(clippy::too_many_arguments)]
async fn store_part(
    svc: &S3Service,
    bucket: String,
    key: String,
    upload_id: String,
    number: i32,
    staged: nuage_storage::StagedBlob,
    (etag, size): (String, u64),
    part_checksum: Option<String>,
) -> AwsResult<(String, i64)> {
    let part_etag = etag.clone();
    let modified = Timestamp::now().0;
    svc.store
        .write(move |w| {
            let k = upload_key(&bucket, &key, &upload_id);
            let mut u: Upload = w.get(UPLOADS, &k)?.ok_or_else(|| S3Error::NoSuchUpload(upload_id.clone()))?;
            let blob = w.commit_blob(staged)?;
            let part = Part { number, etag: part_etag, size, last_modified: modified, blob, checksum: part_checksum };
            if let Some(old) = u.parts.insert(number, part) {
                w.drop_blob(&old.blob)?;
            }
            w.put(UPLOADS, &k, &u)
        })
        .await?;
    Ok((format!("\"{etag}\""), modified))
}

pub async fn upload_part(
    svc: &S3Service,
    _ctx: &RequestContext,
    mut input: m::UploadPartRequest,
    req: &ServiceRequest,
) -> AwsResult<m::UploadPartOutput> {
    let bucket = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    let upload_id = input.upload_id.clone().unwrap_or_default();
    let number = input.part_number.unwrap_or(0);
    part_number_ok(number)?;
    let upload = load_upload(svc, &bucket, &key, &upload_id)?;
    let body = input.body.take().unwrap_or_default();
    let received = crate::payload::receive(req, &body, input.content_md5.as_deref()).await?;
    crate::payload::check_size(&received, req)?;
    let cs = received.checksum.clone();
    if let (Some(want), Some((got, _))) = (&upload.checksum_algorithm, &cs) {
        if !want.eq_ignore_ascii_case(got) {
            return Err(S3Error::InvalidRequest(format!(
                "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
                want.to_ascii_lowercase(),
                got.to_ascii_lowercase()
            ))
            .into());
        }
    }
    crate::sse::check_read(&upload.sse, req, "x-amz-")?;
    let part_cs = cs.as_ref().map(|(_, v)| v.clone());
    let staged = crate::payload::stage(&svc.store, req, body).await?;
    let received = (received.md5_hex, received.len);
    let (etag, _) = store_part(svc, bucket, key, upload_id, number, staged, received, part_cs).await?;
    let mut out = m::UploadPartOutput { e_tag: Some(etag), ..Default::default() };
    crate::report_sse!(out, &upload.sse);
    if let Some((alg, v)) = cs {
        match alg.as_str() {
            "CRC32" => out.checksum_crc32 = Some(v),
            "CRC32C" => out.checksum_crc32_c = Some(v),
            "CRC64NVME" => out.checksum_crc64_nvme = Some(v),
            "SHA1" => out.checksum_sha1 = Some(v),
            "SHA256" => out.checksum_sha256 = Some(v),
            _ => {}
        }
    }
    Ok(out)
}

pub async fn upload_part_copy(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::UploadPartCopyRequest,
    req: &ServiceRequest,
) -> AwsResult<m::UploadPartCopyOutput> {
    let bucket = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    let upload_id = input.upload_id.clone().unwrap_or_default();
    let number = input.part_number.unwrap_or(0);
    part_number_ok(number)?;
    let upload = load_upload(svc, &bucket, &key, &upload_id)?;
    crate::sse::check_read(&upload.sse, req, "x-amz-")?;
    let src = object::copy_source(svc, &input.copy_source.clone().unwrap_or_default(), req)?;
    let body = match &input.copy_source_range {
        Some(r) => {
            let spec = r.strip_prefix("bytes=").ok_or_else(|| {
                S3Error::InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy".into(), Some(("x-amz-copy-source-range", r.clone())))
            })?;
            let (a, b) = spec.split_once('-').unwrap_or(("", ""));
            let (a, b): (u64, u64) = match (a.parse(), b.parse()) {
                (Ok(a), Ok(b)) if a <= b => (a, b),
                _ => return Err(S3Error::InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy".into(), Some(("x-amz-copy-source-range", r.clone()))).into()),
            };
            if b >= src.size {
                return Err(S3Error::InvalidRange(src.size, r.clone()).into());
            }
            object::read_range(svc, &src, a, b).await?
        }
        None => object::read_all(svc, &src).await?,
    };
    let received = (checksum::md5_hex(&body), body.len() as u64);
    let staged = svc.store.stage(body).await?;
    let (etag, modified) = store_part(svc, bucket, key, upload_id, number, staged, received, None).await?;
    let mut out = m::UploadPartCopyOutput {
        copy_part_result: Some(m::CopyPartResult {
            e_tag: Some(etag),
            last_modified: Some(Timestamp(modified)),
            ..Default::default()
        }),
        copy_source_version_id: (src.version_id != "null").then(|| src.version_id.clone()),
        ..Default::default()
    };
    crate::report_sse!(out, &upload.sse);
    Ok(out)
}

pub async fn complete(
    svc: &S3Service,
    ctx: &RequestContext,
    input: m::CompleteMultipartUploadRequest,
    req: &ServiceRequest,
) -> AwsResult<m::CompleteMultipartUploadOutput> {
    let bucket_name = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    let upload_id = input.upload_id.clone().unwrap_or_default();
    let requested: Vec<(i32, String)> = input
        .multipart_upload
        .and_then(|u| u.parts)
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.part_number.unwrap_or(0), p.e_tag.unwrap_or_default().trim_matches('"').to_string()))
        .collect();
    if requested.is_empty() {
        return Err(nuage_core::AwsError::new(
            "MalformedXML",
            400,
            "The XML you provided was not well-formed or did not validate against our published schema",
        ));
    }
    let owner = S3Service::owner_of(ctx);
    let full_object = full_object_checksum(svc, &bucket_name, &key, &upload_id, &requested).await?;
    if let (Some((alg, value)), Some(given)) = (
        &full_object,
        req.header(&format!(
            "x-amz-checksum-{}",
            full_object.as_ref().map(|(a, _)| a.to_ascii_lowercase()).unwrap_or_default()
        )),
    ) {
        if given != value {
            return Err(
                S3Error::BadDigest(format!("The {alg} you specified did not match the calculated checksum.")).into()
            );
        }
    }
    let (if_match, if_none_match) = (input.if_match.clone(), input.if_none_match.clone());
    let location = format!("/{bucket_name}/{key}");
    // The checksum of checksums the client states for a COMPOSITE upload, checked below.
    let stated: Vec<(String, String)> = checksum::ALGORITHMS
        .iter()
        .filter_map(|a| {
            req.header(&format!("x-amz-checksum-{}", a.to_ascii_lowercase())).map(|v| (a.to_string(), v.to_string()))
        })
        .collect();
    let (etag, version_id, checksum, sse) = svc
        .store
        .write(move |w| {
            let bucket: Bucket =
                w.get(BUCKETS, &bucket_name)?.ok_or_else(|| S3Error::NoSuchBucket(bucket_name.clone()))?;
            let uk = upload_key(&bucket_name, &key, &upload_id);
            let Some(mut u) = w.get::<Upload>(UPLOADS, &uk)? else {
                let done: Completed = w.get(COMPLETED, &uk)?.ok_or_else(|| S3Error::NoSuchUpload(upload_id.clone()))?;
                return Ok((done.etag, done.version_id, done.checksum, done.sse));
            };
            object::check_write_conditions(w, &bucket_name, &key, if_match.as_deref(), if_none_match.as_deref())?;
            if requested.windows(2).any(|w| w[1].0 <= w[0].0) {
                return Err(S3Error::InvalidPartOrder.into());
            }
            let mut chosen = Vec::new();
            for (i, (n, etag)) in requested.iter().enumerate() {
                let part = u.parts.get(n).filter(|p| &p.etag == etag).ok_or(S3Error::InvalidPart)?;
                if i + 1 < requested.len() && part.size < MIN_PART_SIZE {
                    return Err(nuage_core::AwsError::from(S3Error::EntityTooSmall)
                        .with("ProposedSize", part.size.to_string())
                        .with("MinSizeAllowed", MIN_PART_SIZE.to_string())
                        .with("PartNumber", n.to_string())
                        .with("ETag", etag.clone()));
                }
                chosen.push(*n);
            }
            let mut md5s = Vec::new();
            let mut segments = Vec::new();
            let mut part_checksums = Vec::new();
            let mut size = 0;
            for n in &chosen {
                let p = u.parts.remove(n).expect("chosen part exists");
                md5s.extend(hex::decode(&p.etag).unwrap_or_default());
                size += p.size;
                part_checksums.push(p.checksum.clone());
                segments.push(p.blob);
            }
            for p in u.parts.values() {
                w.drop_blob(&p.blob)?;
            }
            let etag = format!("{}-{}", hex::encode(Md5::digest(&md5s)), chosen.len());
            let checksum = if let Some((alg, value)) = full_object {
                Some(Checksum { algorithm: alg, value, kind: "FULL_OBJECT".into() })
            } else {
                u.checksum_algorithm.as_ref().and_then(|alg| {
                    let mut joined = Vec::new();
                    for c in &part_checksums {
                        joined.extend(B64.decode(c.as_ref()?).ok()?);
                    }
                    let combined = checksum::compute(&alg.to_ascii_uppercase(), &joined)?;
                    Some(Checksum {
                        algorithm: alg.to_ascii_uppercase(),
                        value: format!("{combined}-{}", chosen.len()),
                        kind: "COMPOSITE".into(),
                    })
                })
            };
            if let Some(c) = checksum.as_ref().filter(|c| c.kind == "COMPOSITE") {
                let bare = c.value.rsplit_once('-').map(|(v, _)| v).unwrap_or(&c.value);
                if let Some((_, given)) = stated.iter().find(|(a, _)| *a == c.algorithm) {
                    if given != &c.value && given != bare {
                        return Err(S3Error::BadDigest(format!(
                            "The {} you specified did not match the calculated checksum.",
                            c.algorithm.to_ascii_lowercase()
                        ))
                        .into());
                    }
                }
            }
            let v = crate::meta::Version {
                version_id: String::new(),
                delete_marker: false,
                etag: etag.clone(),
                size,
                last_modified: Timestamp::now().0,
                owner: u.owner.clone(),
                headers: u.headers.clone(),
                metadata: u.metadata.clone(),
                segments,
                checksum: checksum.clone(),
                part_checksums,
                tags: u.tags.clone(),
                grants: u.grants.clone(),
                storage_class: u.storage_class.clone(),
                sse: u.sse.clone(),
                lock: u.lock.clone(),
                restore: None,
            };
            let _ = &owner;
            let sse = u.sse.clone();
            w.delete(UPLOADS, &uk)?;
            let vid = install_version(w, &bucket, &key, v)?;
            let done =
                Completed { etag: etag.clone(), version_id: vid.clone(), checksum: checksum.clone(), sse: sse.clone() };
            w.put(COMPLETED, &uk, &done)?;
            Ok((etag, vid, checksum, sse))
        })
        .await?;
    let mut out = m::CompleteMultipartUploadOutput {
        location: Some(location),
        bucket: input.bucket,
        key: input.key,
        e_tag: Some(format!("\"{etag}\"")),
        version_id,
        ..Default::default()
    };
    if let Some(s) = sse.filter(|s| s.customer_key_md5.is_none()) {
        out.server_side_encryption = s.algorithm;
        out.ssekms_key_id = s.kms_key_id;
        out.bucket_key_enabled = s.bucket_key;
    }
    if let Some(c) = checksum {
        out.checksum_type = Some(c.kind.clone());
        match c.algorithm.as_str() {
            "CRC32" => out.checksum_crc32 = Some(c.value),
            "CRC32C" => out.checksum_crc32_c = Some(c.value),
            "SHA1" => out.checksum_sha1 = Some(c.value),
            "SHA256" => out.checksum_sha256 = Some(c.value),
            "CRC64NVME" => out.checksum_crc64_nvme = Some(c.value),
            _ => {}
        }
    }
    Ok(out)
}

/// An upload's checksum type: CRC64NVME only checksums the full object, SHA-1 and SHA-256 only
/// the parts (COMPOSITE), CRC32 and CRC32C either (COMPOSITE unless asked).
fn checksum_type_of(algorithm: Option<&str>, asked: Option<&str>) -> AwsResult<Option<String>> {
    let Some(alg) = algorithm.map(str::to_ascii_uppercase) else {
        return match asked {
            Some(_) => Err(S3Error::InvalidRequest(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.".into(),
            )
            .into()),
            None => Ok(None),
        };
    };
    let default = if alg == "CRC64NVME" { "FULL_OBJECT" } else { "COMPOSITE" };
    let kind = asked.unwrap_or(default);
    let allowed = match alg.as_str() {
        "CRC64NVME" => kind == "FULL_OBJECT",
        "SHA1" | "SHA256" => kind == "COMPOSITE",
        _ => true,
    };
    if !allowed {
        return Err(S3Error::InvalidRequest(format!(
            "The {kind} checksum type cannot be used with the {} checksum algorithm.",
            alg.to_ascii_lowercase()
        ))
        .into());
    }
    Ok(Some(kind.to_string()))
}

/// For an upload created with `ChecksumType=FULL_OBJECT`, the checksum of the whole object,
/// computed over the requested parts in order.
async fn full_object_checksum(
    svc: &S3Service,
    bucket: &str,
    key: &str,
    upload_id: &str,
    requested: &[(i32, String)],
) -> AwsResult<Option<(String, String)>> {
    let Some(u) = svc.store.read()?.get::<Upload>(UPLOADS, &upload_key(bucket, key, upload_id))? else {
        return Ok(None);
    };
    if u.checksum_type.as_deref() != Some("FULL_OBJECT") {
        return Ok(None);
    }
    let Some(alg) = u.checksum_algorithm.as_deref().map(str::to_ascii_uppercase) else { return Ok(None) };
    let Some(mut hasher) = checksum::Hasher::new(&alg) else { return Ok(None) };
    for (n, _) in requested {
        let Some(p) = u.parts.get(n) else { return Ok(None) };
        hasher.update(&svc.store.read_blob(&p.blob).await?);
    }
    Ok(Some((alg, hasher.finish())))
}

pub async fn abort(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::AbortMultipartUploadRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::AbortMultipartUploadOutput> {
    let bucket = input.bucket.unwrap_or_default();
    let key = input.key.unwrap_or_default();
    let upload_id = input.upload_id.unwrap_or_default();
    svc.bucket(&bucket)?;
    svc.store
        .write(move |w| {
            let uk = upload_key(&bucket, &key, &upload_id);
            let u: Upload = w.get(UPLOADS, &uk)?.ok_or_else(|| S3Error::NoSuchUpload(upload_id.clone()))?;
            for p in u.parts.values() {
                w.drop_blob(&p.blob)?;
            }
            w.delete(UPLOADS, &uk)
        })
        .await?;
    Ok(m::AbortMultipartUploadOutput::default())
}

pub async fn list_parts(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::ListPartsRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::ListPartsOutput> {
    let bucket = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    let upload_id = input.upload_id.clone().unwrap_or_default();
    let u = load_upload(svc, &bucket, &key, &upload_id)?;
    let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
    let marker: i32 = input.part_number_marker.unwrap_or(0);
    let all: Vec<&Part> = u.parts.values().filter(|p| p.number > marker).collect();
    let truncated = all.len() > max;
    let parts: Vec<m::Part> = all
        .into_iter()
        .take(max)
        .map(|p| {
            let mut mp = m::Part {
                part_number: Some(p.number),
                last_modified: Some(Timestamp(p.last_modified)),
                e_tag: Some(format!("\"{}\"", p.etag)),
                size: Some(p.size as i64),
                ..Default::default()
            };
            if let (Some(alg), Some(c)) = (&u.checksum_algorithm, &p.checksum) {
                match alg.to_ascii_uppercase().as_str() {
                    "CRC32" => mp.checksum_crc32 = Some(c.clone()),
                    "CRC32C" => mp.checksum_crc32_c = Some(c.clone()),
                    "SHA1" => mp.checksum_sha1 = Some(c.clone()),
                    "SHA256" => mp.checksum_sha256 = Some(c.clone()),
                    _ => {}
                }
            }
            mp
        })
        .collect();
    Ok(m::ListPartsOutput {
        bucket: Some(bucket),
        key: Some(key),
        upload_id: Some(upload_id),
        part_number_marker: Some(marker),
        next_part_number_marker: parts.last().and_then(|p| p.part_number),
        max_parts: Some(max as i32),
        is_truncated: Some(truncated),
        parts: (!parts.is_empty()).then_some(parts),
        initiator: Some(m::Initiator {
            id: Some(u.initiator.canonical_id.clone()),
            display_name: Some(u.initiator.display_name.clone()),
        }),
        owner: Some(u.owner.to_model()),
        storage_class: Some(u.storage_class.clone()),
        checksum_algorithm: u.checksum_algorithm.clone(),
        checksum_type: u.checksum_type.clone(),
        ..Default::default()
    })
}

pub async fn list_uploads(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::ListMultipartUploadsRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::ListMultipartUploadsOutput> {
    let bucket = input.bucket.clone().unwrap_or_default();
    svc.bucket(&bucket)?;
    let url = input.encoding_type.as_deref() == Some("url");
    let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
    let prefix = input.prefix.clone().unwrap_or_default();
    let key_marker = input.key_marker.clone().unwrap_or_default();
    let id_marker = input.upload_id_marker.clone().unwrap_or_default();
    let all: Vec<(String, Upload)> =
        svc.store.read()?.scan(UPLOADS, &format!("{}{}", bucket_prefix(&bucket), prefix))?;
    let mut uploads = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut next: Option<(String, String)> = None;
    for (_, u) in all {
        let after_marker =
            u.key > key_marker || (u.key == key_marker && !id_marker.is_empty() && u.upload_id > id_marker);
        if !key_marker.is_empty() && !after_marker {
            continue;
        }
        let cp = input
            .delimiter
            .as_deref()
            .filter(|d| !d.is_empty())
            .and_then(|d| u.key[prefix.len()..].find(d).map(|i| u.key[..prefix.len() + i + d.len()].to_string()));
        if let Some(cp) = &cp {
            if prefixes.last() == Some(cp) {
                continue;
            }
        }
        if uploads.len() + prefixes.len() >= max {
            truncated = true;
            break;
        }
        match cp {
            Some(cp) => {
                next = Some((cp.clone(), String::new()));
                prefixes.push(cp);
            }
            None => {
                next = Some((u.key.clone(), u.upload_id.clone()));
                uploads.push(m::MultipartUpload {
                    upload_id: Some(u.upload_id.clone()),
                    key: Some(enc(url, &u.key)),
                    initiated: Some(Timestamp(u.initiated)),
                    storage_class: Some(u.storage_class.clone()),
                    owner: Some(u.owner.to_model()),
                    initiator: Some(m::Initiator {
                        id: Some(u.initiator.canonical_id.clone()),
                        display_name: Some(u.initiator.display_name.clone()),
                    }),
                    checksum_algorithm: u.checksum_algorithm.clone(),
                    checksum_type: u.checksum_type.clone(),
                    ..Default::default()
                });
            }
        }
    }
    let (nk, nu) = match (truncated, next) {
        (true, Some((k, u))) => (Some(enc(url, &k)), Some(u)),
        _ => (None, None),
    };
    Ok(m::ListMultipartUploadsOutput {
        bucket: Some(bucket),
        key_marker: Some(enc(url, &key_marker)),
        upload_id_marker: Some(id_marker),
        next_key_marker: nk,
        next_upload_id_marker: nu,
        prefix: Some(enc(url, &prefix)),
        delimiter: input.delimiter.clone(),
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        uploads: (!uploads.is_empty()).then_some(uploads),
        common_prefixes: (!prefixes.is_empty())
            .then(|| prefixes.into_iter().map(|p| m::CommonPrefix { prefix: Some(enc(url, &p)) }).collect()),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}
