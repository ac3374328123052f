//! Browser-form uploads (POST Object): a multipart/form-data body carrying the key, the
//! object, a base64 policy document and its signature. The front door verifies the signature
//! (`embedded_credentials`); this module checks the policy and stores the object.
use crate::error::S3Error;
use crate::meta::{Bucket, Checksum, BUCKETS};
use crate::object::{install_version, storage_class};
use crate::{acl, checksum, S3Service};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use futures_util::FutureExt;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::{EmbeddedCredentials, ServiceRequest};
use nuage_protocol::{rest_xml, s3 as m, HttpResponse, Timestamp};

pub struct Form {
    /// Fields before the file, names as sent.
    pub fields: Vec<(String, String)>,
    pub file: Option<(Option<String>, Bytes)>,
}

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn is_form_post(req: &ServiceRequest) -> bool {
    req.method == "POST"
        && req.header("content-type").is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn malformed(msg: &str) -> AwsError {
    AwsError::new(
        "MalformedPOSTRequest",
        400,
        format!("The body of your POST request is not well-formed multipart/form-data. {msg}"),
    )
}

/// Parses the form. The body is already in memory, so the parse completes in one poll.
pub fn parse(req: &ServiceRequest) -> AwsResult<Form> {
    let boundary =
        multer::parse_boundary(req.header("content-type").unwrap_or("")).map_err(|e| malformed(&e.to_string()))?;
    let body = req.body.clone();
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let fut = async move {
        let mut form = Form { fields: Vec::new(), file: None };
        while let Some(field) = mp.next_field().await.map_err(|e| malformed(&e.to_string()))? {
            let name = field.name().unwrap_or("").to_string();
            if name.eq_ignore_ascii_case("file") {
                let filename = field.file_name().map(str::to_string);
                let data = field.bytes().await.map_err(|e| malformed(&e.to_string()))?;
                form.file = Some((filename, data));
                break; // S3 ignores fields after the file
            }
            let value = field.text().await.map_err(|e| malformed(&e.to_string()))?;
            form.fields.push((name, value));
        }
        Ok::<Form, AwsError>(form)
    };
    fut.now_or_never().unwrap_or_else(|| Err(malformed("incomplete body")))
}

/// The signature a form carries, for the front door to verify.
pub fn credentials(form: &Form) -> AwsResult<Option<EmbeddedCredentials>> {
    let policy = form.get("policy");
    if let Some(ak) = form.get("AWSAccessKeyId") {
        let policy = policy.ok_or_else(|| invalid_post("Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields."))?;
        let signature = form.get("signature").ok_or_else(|| invalid_post("Bucket POST must contain a field named 'signature'.  If it is specified, please check the order of the fields."))?;
        return Ok(Some(EmbeddedCredentials::V2 {
            access_key: ak.into(),
            signature: signature.into(),
            string_to_sign: policy.into(),
        }));
    }
    if let Some(cred) = form.get("x-amz-credential") {
        let policy = policy.ok_or_else(|| invalid_post("Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields."))?;
        let signature = form.get("x-amz-signature").ok_or_else(|| invalid_post("Bucket POST must contain a field named 'x-amz-signature'.  If it is specified, please check the order of the fields."))?;
        return Ok(Some(EmbeddedCredentials::V4 {
            credential: cred.into(),
            signature: signature.into(),
            string_to_sign: policy.into(),
        }));
    }
    Ok(None)
}

fn invalid_post(msg: &str) -> AwsError {
    AwsError::new("InvalidArgument", 400, msg.to_string())
}

fn policy_denied(msg: String) -> AwsError {
    AwsError::new("AccessDenied", 403, format!("Invalid according to Policy: {msg}"))
}

/// Fields that need no policy condition.
fn exempt(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "awsaccesskeyid" | "signature" | "policy" | "file" | "x-amz-signature")
        || n.starts_with("x-ignore-")
}

/// Checks the policy document: expiry, every condition, and that it covers every field.
fn check_policy(form: &Form, bucket: &str, key: &str, size: usize) -> AwsResult<()> {
    let Some(policy_b64) = form.get("policy") else { return Ok(()) };
    let raw = B64.decode(policy_b64.trim()).map_err(|_| invalid_post("Invalid Policy: Invalid Base64 Encoding"))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|_| invalid_post("Invalid Policy: Invalid JSON."))?;
    let expiration = doc
        .get("expiration")
        .and_then(|e| e.as_str())
        .ok_or_else(|| invalid_post("Invalid Policy: Policy missing expiration."))?;
    let exp = nuage_protocol::time_fmt::parse(expiration)
        .ok_or_else(|| invalid_post("Invalid Policy: Invalid 'expiration' value"))?;
    if exp < Timestamp::now() {
        return Err(policy_denied("Policy expired.".into()));
    }
    let conditions = doc
        .get("conditions")
        .and_then(|c| c.as_array())
        .ok_or_else(|| invalid_post("Invalid Policy: Policy missing conditions."))?;
    let value_of = |field: &str| -> String {
        match field.to_ascii_lowercase().as_str() {
            "bucket" => bucket.to_string(),
            "key" => key.to_string(),
            _ => form.get(field).unwrap_or("").to_string(),
        }
    };
    let mut covered: Vec<String> = vec!["bucket".into()];
    for c in conditions {
        match c {
            serde_json::Value::Object(o) => {
                if o.len() != 1 {
                    return Err(invalid_post(
                        "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
                    ));
                }
                for (k, v) in o {
                    let want = v.as_str().unwrap_or_default();
                    if value_of(k) != want {
                        return Err(policy_denied(format!("Policy Condition failed: [\"eq\", \"${k}\", \"{want}\"]")));
                    }
                    covered.push(k.to_ascii_lowercase());
                }
            }
            serde_json::Value::Array(a) if a.len() == 3 => {
                let op = a[0].as_str().unwrap_or_default().to_ascii_lowercase();
                if op == "content-length-range" {
                    let (min, max) = (a[1].as_i64().unwrap_or(0), a[2].as_i64().unwrap_or(i64::MAX));
                    if (size as i64) < min {
                        return Err(AwsError::new(
                            "EntityTooSmall",
                            400,
                            "Your proposed upload is smaller than the minimum allowed size",
                        ));
                    }
                    if size as i64 > max {
                        return Err(AwsError::new(
                            "EntityTooLarge",
                            400,
                            "Your proposed upload exceeds the maximum allowed size",
                        ));
                    }
                    continue;
                }
                let field = a[1].as_str().unwrap_or_default().trim_start_matches('$').to_string();
                let want = a[2].as_str().unwrap_or_default();
                let have = value_of(&field);
                let ok = match op.as_str() {
                    "eq" => have == want,
                    "starts-with" => have.starts_with(want),
                    _ => return Err(invalid_post("Invalid Policy: Invalid Condition.")),
                };
                if !ok {
                    return Err(policy_denied(format!(
                        "Policy Condition failed: [\"{op}\", \"${field}\", \"{want}\"]"
                    )));
                }
                covered.push(field.to_ascii_lowercase());
            }
            _ => return Err(invalid_post("Invalid Policy: Invalid Condition.")),
        }
    }
    for (name, _) in &form.fields {
        if !exempt(name) && !covered.contains(&name.to_ascii_lowercase()) {
            return Err(policy_denied(format!("Extra input fields: {name}")));
        }
    }
    Ok(())
}

pub async fn post_object(
    svc: &S3Service,
    ctx: &RequestContext,
    req: &ServiceRequest,
    bucket_name: &str,
) -> AwsResult<HttpResponse> {
    let form = parse(req)?;
    let bucket = svc.bucket(bucket_name)?;
    let key_template = form.get("key").ok_or_else(|| {
        invalid_post(
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        )
    })?;
    let (filename, body) =
        form.file.clone().ok_or_else(|| invalid_post("POST requires exactly one file upload per request."))?;
    let key = key_template.replace("${filename}", filename.as_deref().unwrap_or(""));
    if key.is_empty() {
        return Err(invalid_post("User key must have a length greater than 0."));
    }
    if ctx.principal.is_some() || form.get("policy").is_some() {
        check_policy(&form, bucket_name, &key, body.len())?;
    }
    let (owner, grants) = acl::new_object_acl(svc, None, form.get("acl"), S3Service::owner_of(ctx), &bucket)?;
    let mut headers = std::collections::BTreeMap::new();
    for h in ["content-type", "content-encoding", "content-disposition", "cache-control", "expires"] {
        if let Some(v) = form.get(h) {
            headers.insert(h.to_string(), v.to_string());
        }
    }
    let metadata = form
        .fields
        .iter()
        .filter_map(|(k, v)| k.to_ascii_lowercase().strip_prefix("x-amz-meta-").map(|m| (m.to_string(), v.clone())))
        .collect();
    let tags = match form.get("tagging") {
        Some(xml) => {
            let root = nuage_protocol::xml::parse(xml.as_bytes()).map_err(|_| S3Error::MalformedXml)?;
            let v = rest_xml::element_to_value(nuage_protocol::s3::model(), "Tagging", &root)?;
            let t: m::Tagging = serde_json::from_value(v).map_err(|_| S3Error::MalformedXml)?;
            let pairs = crate::bucket::tag_pairs(&t.tag_set.unwrap_or_default());
            crate::bucket::validate_tags(&pairs, 10)?;
            pairs
        }
        None => Vec::new(),
    };
    let etag = checksum::md5_hex(&body);
    // A checksum stated in the form is verified and kept, as with a PUT's header.
    let stated = checksum::requested(&form.fields)?
        .map(|(alg, given)| {
            let actual = checksum::compute(&alg, &body).unwrap_or_default();
            checksum::check_given(alg, given, actual)
        })
        .transpose()?
        .map(|(algorithm, value)| Checksum { algorithm, value, kind: "FULL_OBJECT".into() });
    let v = crate::meta::Version {
        version_id: String::new(),
        delete_marker: false,
        etag: etag.clone(),
        size: body.len() as u64,
        last_modified: Timestamp::now().0,
        owner,
        headers,
        metadata,
        segments: Vec::new(),
        checksum: stated,
        part_checksums: Vec::new(),
        tags,
        grants,
        storage_class: storage_class(req).unwrap_or_else(|_| "STANDARD".into()),
        sse: Some(crate::sse::Sse { algorithm: Some("AES256".into()), ..Default::default() }),
        lock: Default::default(),
        restore: None,
    };
    let staged = svc.store.stage(body).await?;
    let (b, k) = (bucket_name.to_string(), key.clone());
    let version_id = svc
        .store
        .write(move |w| {
            let bucket: Bucket = w.get(BUCKETS, &b)?.ok_or_else(|| S3Error::NoSuchBucket(b.clone()))?;
            let mut v = v;
            v.segments = vec![w.commit_blob(staged)?];
            install_version(w, &bucket, &k, v)
        })
        .await?;
    let quoted = format!("\"{etag}\"");
    let location = format!("/{bucket_name}/{key}");
    let mut resp = HttpResponse::default();
    resp.headers.push(("etag".into(), quoted.clone()));
    resp.headers.push(("location".into(), location.clone()));
    if let Some(v) = version_id {
        resp.headers.push(("x-amz-version-id".into(), v));
    }
    if let Some(redirect) = form.get("success_action_redirect").or(form.get("redirect")).filter(|r| !r.is_empty()) {
        let sep = if redirect.contains('?') { '&' } else { '?' };
        let enc = |s: &str| nuage_front::sigv4::uri_encode(s, false);
        resp.status = 303;
        resp.headers.retain(|(k, _)| k != "location");
        resp.headers.push((
            "location".into(),
            format!("{redirect}{sep}bucket={}&key={}&etag={}", enc(bucket_name), enc(&key), enc(&quoted)),
        ));
        return Ok(resp);
    }
    match form.get("success_action_status") {
        Some("200") => resp.status = 200,
        Some("201") => {
            let out = m::CompleteMultipartUploadOutput {
                location: Some(location),
                bucket: Some(bucket_name.to_string()),
                key: Some(key),
                e_tag: Some(quoted),
                ..Default::default()
            };
            // S3's PostResponse document carries no namespace.
            let mut doc = rest_xml::render_response(nuage_protocol::s3::model(), out, "PostResponse", "");
            doc.status = 201;
            doc.headers.extend(resp.headers);
            return Ok(doc);
        }
        _ => resp.status = 204,
    }
    Ok(resp)
}
