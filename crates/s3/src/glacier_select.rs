//! Glacier Select: RestoreObject of type SELECT queries an archived (S3 Glacier Flexible
//! Retrieval) object in place, with S3 Select's engine, once the retrieval tier's time has
//! passed (shortened by `--restore-speedup`), and writes the answer to the request's output
//! location: `<prefix>/<job id>/job.txt` (the request) when accepted, then
//! `<prefix>/<job id>/results/<n>.csv` (or `.json`, a file per 64 MiB of output) and
//! `<prefix>/<job id>/result_manifest.txt` (the result files, one per line) when done. S3
//! Glacier Select reads uncompressed CSV only; the caller needs s3:PutObject on the output
//! location, checked when the job is accepted; the results are written as the caller's account.
use crate::meta::{object_key, ObjectEntry, Version, OBJECTS};
use crate::S3Service;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::s3 as m;
use nuage_s3select as sel;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};

/// Accepted jobs not yet run, by id.
const SELECT_JOBS: JsonTable = TableDefinition::new("s3_glacier_select_jobs");
/// How much output one result file holds.
const RESULT_FILE_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    id: String,
    account: String,
    region: String,
    bucket: String,
    key: String,
    version_id: String,
    ready_ms: i64,
    select: m::SelectParameters,
    output: m::S3Location,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn malformed() -> AwsError {
    AwsError::new(
        "MalformedXML",
        400,
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
}

/// The select request S3 Select's engine takes, from a job's parameters.
fn select_request(p: &m::SelectParameters, bucket: &str, key: &str) -> m::SelectObjectContentRequest {
    m::SelectObjectContentRequest {
        bucket: Some(bucket.into()),
        key: Some(key.into()),
        expression: p.expression.clone(),
        expression_type: p.expression_type.clone(),
        input_serialization: p.input_serialization.clone(),
        output_serialization: p.output_serialization.clone(),
        ..Default::default()
    }
}

/// Accepts a SELECT restore: checks it as S3 does and records the job; the output path.
pub async fn accept(
    svc: &S3Service,
    ctx: &RequestContext,
    input: m::RestoreObjectRequest,
    req: &ServiceRequest,
) -> AwsResult<m::RestoreObjectOutput> {
    let bucket = svc.bucket(&input.bucket.clone().unwrap_or_default())?;
    let key = input.key.clone().unwrap_or_default();
    let request = input.restore_request.clone().unwrap_or_default();
    if request.days.is_some() || request.glacier_job_parameters.is_some() {
        return Err(AwsError::new(
            "InvalidArgument",
            400,
            "Days and GlacierJobParameters must not be given with a SELECT restore request",
        ));
    }
    let select = request.select_parameters.clone().ok_or_else(malformed)?;
    let output = request.output_location.clone().and_then(|o| o.s3).ok_or_else(malformed)?;
    let (out_bucket, prefix) = match (&output.bucket_name, &output.prefix) {
        (Some(b), Some(p)) => (b.clone(), p.clone()),
        _ => return Err(malformed()),
    };
    let tier = request.tier.clone().unwrap_or_else(|| "Standard".into());
    let entry: ObjectEntry = svc
        .store
        .read()?
        .get(OBJECTS, &object_key(&bucket.name, &key))?
        .ok_or_else(|| AwsError::from(crate::error::S3Error::NoSuchKey(key.clone())))?;
    let v: &Version = match &input.version_id {
        Some(id) => entry
            .versions
            .iter()
            .find(|v| v.version_id == *id)
            .ok_or_else(|| AwsError::from(crate::error::S3Error::NoSuchVersion(key.clone(), id.clone())))?,
        None => entry
            .versions
            .first()
            .filter(|v| !v.delete_marker)
            .ok_or_else(|| AwsError::from(crate::error::S3Error::NoSuchKey(key.clone())))?,
    };
    if v.storage_class != "GLACIER" {
        return Err(AwsError::new(
            "InvalidObjectState",
            403,
            format!("Glacier Select queries objects of the GLACIER storage class; this one is {}", v.storage_class),
        ));
    }
    let ins = select.input_serialization.as_ref().ok_or_else(malformed)?;
    let compressed = ins.compression_type.as_deref().is_some_and(|c| !c.eq_ignore_ascii_case("NONE"));
    if ins.csv.is_none() || compressed {
        return Err(AwsError::new("InvalidArgument", 400, "S3 Glacier Select reads uncompressed CSV objects only"));
    }
    let (engine_req, _) = crate::select::request(&select_request(&select, &bucket.name, &key), v.size)?;
    sel::prepare(&engine_req).map_err(crate::select::from_select)?;
    // The caller must be able to write where the results go.
    svc.bucket(&out_bucket)?;
    svc.permits_put(ctx, req, &out_bucket, &prefix)?;
    let took = crate::restore::retrieval_seconds("GLACIER", &tier)? as f64 * 1000.0 / svc.restore_speedup;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let job = Job {
        id: id.clone(),
        account: ctx.account_id().unwrap_or_default().to_string(),
        region: bucket.region.clone(),
        bucket: bucket.name.clone(),
        key: key.clone(),
        version_id: v.version_id.clone(),
        ready_ms: now_ms() + took.max(0.0) as i64,
        select,
        output,
    };
    let path = format!("{prefix}/{id}");
    // job.txt: the request, as the job's record in the output location.
    let described = serde_json::json!({
        "JobId": id, "Bucket": job.bucket, "Key": job.key, "VersionId": job.version_id, "Tier": tier,
        "Description": request.description, "Expression": job.select.expression,
    });
    svc.write_output(&job, &format!("{path}/job.txt"), serde_json::to_vec_pretty(&described).unwrap_or_default())
        .await?;
    let stored = job.clone();
    svc.store.write(move |w| w.put(SELECT_JOBS, &stored.id, &stored)).await?;
    Ok(m::RestoreObjectOutput { restore_output_path: Some(path), request_charged: None })
}

/// Collects the engine's output into result files of at most [`RESULT_FILE_BYTES`].
struct ResultFiles {
    done: Vec<Vec<u8>>,
    current: Vec<u8>,
}

impl sel::Sink for ResultFiles {
    fn records(&mut self, data: &[u8]) -> sel::Result<()> {
        if self.current.len() + data.len() > RESULT_FILE_BYTES && !self.current.is_empty() {
            self.done.push(std::mem::take(&mut self.current));
        }
        self.current.extend_from_slice(data);
        Ok(())
    }
    fn progress(&mut self, _stats: &sel::Stats) -> sel::Result<()> {
        Ok(())
    }
    fn keep_alive(&mut self) -> sel::Result<()> {
        Ok(())
    }
}

impl S3Service {
    /// Whether the caller may put objects under `prefix` in `bucket`.
    fn permits_put(&self, ctx: &RequestContext, req: &ServiceRequest, bucket: &str, prefix: &str) -> AwsResult<()> {
        let route = crate::ROUTES.iter().find(|r| r.name == "PutObject").expect("PutObject is routed");
        let addressed = crate::Addressed { bucket: Some(bucket.to_string()), key: Some(prefix.to_string()) };
        let authorization = self.authorization_of(ctx, route, req, &addressed, None);
        self.internal
            .frontend()?
            .permits(ctx, &authorization)
            .map_err(|_| AwsError::new("AccessDenied", 403, "Access Denied"))
    }

    /// Writes one object of a job's output, as the job's account.
    async fn write_output(&self, job: &Job, key: &str, body: Vec<u8>) -> AwsResult<()> {
        let f = self.internal.frontend()?;
        let root = f.identities.root(&job.account).ok_or_else(|| AwsError::internal("the job's account is gone"))?;
        let o = &job.output;
        let put = m::PutObjectRequest {
            bucket: o.bucket_name.clone(),
            key: Some(key.to_string()),
            body: Some(body.into()),
            acl: o.canned_acl.clone(),
            storage_class: o.storage_class.clone(),
            server_side_encryption: o.encryption.as_ref().and_then(|e| e.encryption_type.clone()),
            ssekms_key_id: o.encryption.as_ref().and_then(|e| e.kms_key_id.clone()),
            tagging: o.tagging.as_ref().map(|t| {
                t.tag_set
                    .iter()
                    .flatten()
                    .map(|t| format!("{}={}", t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("&")
            }),
            metadata: o.user_metadata.as_ref().map(|m| {
                m.iter().filter_map(|e| Some((e.name.clone()?, e.value.clone().unwrap_or_default()))).collect()
            }),
            ..Default::default()
        };
        f.call(root, &job.region, put).await.map(|_| ())
    }

    /// Runs the jobs whose time has come, every `interval`.
    pub async fn run_glacier_select(self: std::sync::Arc<Self>, interval: std::time::Duration) {
        loop {
            tokio::time::sleep(interval).await;
            let due: Vec<Job> = match self.store.read().and_then(|r| r.scan::<Job>(SELECT_JOBS, "")) {
                Ok(all) => all.into_iter().map(|(_, j)| j).filter(|j| j.ready_ms <= now_ms()).collect(),
                Err(e) => {
                    tracing::warn!(error = %e.message, "Glacier Select jobs could not be read");
                    continue;
                }
            };
            for job in due {
                if let Err(e) = self.run_job(&job).await {
                    tracing::warn!(job = %job.id, error = %e.message, "Glacier Select job failed");
                }
                let id = job.id.clone();
                if let Err(e) = self.store.write(move |w| w.delete(SELECT_JOBS, &id)).await {
                    tracing::warn!(error = %e.message, "Glacier Select job could not be cleared");
                }
            }
        }
    }

    async fn run_job(&self, job: &Job) -> AwsResult<()> {
        let entry: Option<ObjectEntry> = self.store.read()?.get(OBJECTS, &object_key(&job.bucket, &job.key))?;
        let v = entry
            .and_then(|e| e.versions.into_iter().find(|v| v.version_id == job.version_id))
            .ok_or_else(|| AwsError::internal("the archived object is gone"))?;
        let (engine_req, _) = crate::select::request(&select_request(&job.select, &job.bucket, &job.key), v.size)?;
        let stmt = sel::prepare(&engine_req).map_err(crate::select::from_select)?;
        let body = crate::object::open_range(self, &v, 0, v.size)?;
        let source = sel::Source::Stream(Box::new(body.into_reader()));
        let files = tokio::task::spawn_blocking(move || {
            let mut sink = ResultFiles { done: Vec::new(), current: Vec::new() };
            sel::run(&engine_req, stmt, source, &mut sink).map(|_| {
                if !sink.current.is_empty() || sink.done.is_empty() {
                    sink.done.push(sink.current);
                }
                sink.done
            })
        })
        .await
        .map_err(AwsError::internal)?
        .map_err(crate::select::from_select)?;
        let prefix = job.output.prefix.clone().unwrap_or_default();
        let ext =
            if job.select.output_serialization.as_ref().is_some_and(|o| o.json.is_some()) { "json" } else { "csv" };
        let mut manifest = Vec::new();
        for (n, data) in files.into_iter().enumerate() {
            let key = format!("{prefix}/{}/results/{:05}.{ext}", job.id, n + 1);
            self.write_output(job, &key, data).await?;
            manifest.push(format!("{}/{key}", job.output.bucket_name.clone().unwrap_or_default()));
        }
        let list = manifest.join("\n") + "\n";
        self.write_output(job, &format!("{prefix}/{}/result_manifest.txt", job.id), list.into_bytes()).await
    }
}
