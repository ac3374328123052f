//! Bucket settings that change who may call and how: Transfer Acceleration (the accelerate
//! endpoint answers only for buckets that enabled it), Requester Pays (requests from other
//! accounts must acknowledge the charge with `x-amz-request-payer`; anonymous ones are
//! refused), event notifications (validated and kept; an event whose destination nuage does
//! not serve is reported in the log, never dropped silently), and the read side of the
//! configurations nuage cannot create yet (replication, analytics, metrics, inventory,
//! Intelligent-Tiering), which answer as S3 does for a bucket without them.
use crate::bucket::update_bucket;
use crate::error::S3Error;
use crate::meta::Bucket;
use crate::S3Service;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::s3 as m;

/// The buckets whose settings every request must consult (Requester Pays, notifications),
/// kept in memory so that the requests to the other buckets pay one set lookup, not a read.
#[derive(Default)]
pub struct Marked {
    requester_pays: std::sync::RwLock<std::collections::HashSet<String>>,
    notifying: std::sync::RwLock<std::collections::HashSet<String>>,
}

impl Marked {
    /// The marks the store holds (at start-up, after a reset).
    pub fn load(&self, buckets: &[Bucket]) {
        let pick = |f: fn(&Bucket) -> bool| buckets.iter().filter(|b| f(b)).map(|b| b.name.clone()).collect();
        *self.requester_pays.write().unwrap_or_else(|e| e.into_inner()) = pick(|b| b.requester_pays);
        *self.notifying.write().unwrap_or_else(|e| e.into_inner()) = pick(|b| b.notification.is_some());
    }

    pub(crate) fn set(set: &std::sync::RwLock<std::collections::HashSet<String>>, bucket: &str, on: bool) {
        let mut s = set.write().unwrap_or_else(|e| e.into_inner());
        if on {
            s.insert(bucket.to_string());
        } else {
            s.remove(bucket);
        }
    }

    pub fn requester_pays(&self, bucket: &str) -> bool {
        self.requester_pays.read().unwrap_or_else(|e| e.into_inner()).contains(bucket)
    }

    fn notifying(&self, bucket: &str) -> bool {
        self.notifying.read().unwrap_or_else(|e| e.into_inner()).contains(bucket)
    }
}

fn invalid(msg: impl Into<String>) -> AwsError {
    S3Error::InvalidArgument(msg.into(), None).into()
}

/// The bucket an accelerate-endpoint host names (`<bucket>.s3-accelerate.amazonaws.com`).
pub fn accelerate_bucket(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (bucket, _) = host.split_once(".s3-accelerate.")?;
    (!bucket.is_empty()).then(|| bucket.to_string())
}

/// Refuses a request on the accelerate endpoint for a bucket that has not enabled it.
pub fn check_accelerate(svc: &S3Service, req: &ServiceRequest) -> AwsResult<()> {
    let Some(bucket) = accelerate_bucket(&req.host) else { return Ok(()) };
    let enabled = svc.bucket(&bucket).ok().and_then(|b| b.accelerate).is_some_and(|s| s == "Enabled");
    if !enabled {
        return Err(S3Error::InvalidRequest("S3 Transfer Acceleration is not configured on this bucket".into()).into());
    }
    Ok(())
}

pub async fn put_accelerate(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketAccelerateConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let status = input.accelerate_configuration.and_then(|c| c.status).ok_or(S3Error::MalformedXml)?;
    if !matches!(status.as_str(), "Enabled" | "Suspended") {
        return Err(S3Error::MalformedXml.into());
    }
    let name = input.bucket.clone().unwrap_or_default();
    if name.contains('.') {
        return Err(S3Error::InvalidRequest(
            "S3 Transfer Acceleration is not supported for buckets with periods (.) in their names".into(),
        )
        .into());
    }
    update_bucket(svc, input.bucket, move |b| {
        b.accelerate = Some(status);
        Ok(())
    })
    .await
}

pub async fn get_accelerate(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketAccelerateConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketAccelerateConfigurationOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(m::GetBucketAccelerateConfigurationOutput { status: b.accelerate, request_charged: None })
}

pub async fn put_request_payment(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketRequestPaymentRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let payer = input.request_payment_configuration.and_then(|c| c.payer).ok_or(S3Error::MalformedXml)?;
    if !matches!(payer.as_str(), "Requester" | "BucketOwner") {
        return Err(S3Error::MalformedXml.into());
    }
    let requester = payer == "Requester";
    let name = input.bucket.clone().unwrap_or_default();
    update_bucket(svc, input.bucket, move |b| {
        b.requester_pays = requester;
        Ok(())
    })
    .await?;
    Marked::set(&svc.marked.requester_pays, &name, requester);
    Ok(())
}

pub async fn get_request_payment(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketRequestPaymentRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketRequestPaymentOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(m::GetBucketRequestPaymentOutput {
        payer: Some(if b.requester_pays { "Requester" } else { "BucketOwner" }.into()),
    })
}

/// Requester Pays: a request from outside the owner's account must say it pays; an
/// anonymous one cannot. Answers whether the response says the requester was charged.
pub fn check_requester_pays(ctx: &RequestContext, req: &ServiceRequest, b: &Bucket) -> AwsResult<bool> {
    if !b.requester_pays || ctx.account_id() == Some(b.owner.account_id.as_str()) {
        return Ok(false);
    }
    let acknowledged = req.header("x-amz-request-payer").is_some_and(|v| v.eq_ignore_ascii_case("requester"));
    if ctx.principal.is_none() || !acknowledged {
        return Err(AwsError::new("AccessDenied", 403, "Access Denied"));
    }
    Ok(true)
}

/// The event types S3 notifications name.
const EVENTS: &[&str] = &[
    "s3:ReducedRedundancyLostObject",
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:Replication:*",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectAcl:Put",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
];

/// One destination of a notification configuration: (kind, ARN, events, prefix, suffix).
type Destination = (&'static str, String, Vec<String>, String, String);

fn destinations(c: &m::NotificationConfiguration) -> AwsResult<Vec<Destination>> {
    let mut out = Vec::new();
    let mut add = |kind: &'static str,
                   arn: Option<&String>,
                   events: &Option<Vec<String>>,
                   filter: &Option<m::NotificationConfigurationFilter>|
     -> AwsResult<()> {
        let arn = arn.cloned().ok_or(S3Error::MalformedXml)?;
        let events = events.clone().filter(|e| !e.is_empty()).ok_or(S3Error::MalformedXml)?;
        for e in &events {
            if !EVENTS.contains(&e.as_str()) {
                return Err(invalid("The event is not supported for notifications"));
            }
        }
        let (mut prefix, mut suffix) = (None, None);
        for r in
            filter.as_ref().and_then(|f| f.key.as_ref()).and_then(|k| k.filter_rules.as_ref()).into_iter().flatten()
        {
            let slot = match r.name.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("prefix") => &mut prefix,
                Some("suffix") => &mut suffix,
                _ => return Err(invalid("filter rule name must be either prefix or suffix")),
            };
            if slot.is_some() {
                return Err(invalid("Cannot specify more than one prefix rule in a filter."));
            }
            *slot = Some(r.value.clone().unwrap_or_default());
        }
        out.push((kind, arn, events, prefix.unwrap_or_default(), suffix.unwrap_or_default()));
        Ok(())
    };
    for t in c.topic_configurations.iter().flatten() {
        add("sns", t.topic_arn.as_ref(), &t.events, &t.filter)?;
    }
    for q in c.queue_configurations.iter().flatten() {
        add("sqs", q.queue_arn.as_ref(), &q.events, &q.filter)?;
    }
    for l in c.lambda_function_configurations.iter().flatten() {
        add("lambda", l.lambda_function_arn.as_ref(), &l.events, &l.filter)?;
    }
    Ok(out)
}

/// Whether an event type named in a configuration covers `event` (`s3:ObjectCreated:*`).
fn covers(pattern: &str, event: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event.starts_with(prefix),
        None => pattern == event,
    }
}

fn overlapping(a: &Destination, b: &Destination) -> bool {
    let events = a.2.iter().any(|x| b.2.iter().any(|y| covers(x, y) || covers(y, x)));
    let prefixes = a.3.starts_with(&b.3) || b.3.starts_with(&a.3);
    let suffixes = a.4.ends_with(&b.4) || b.4.ends_with(&a.4);
    events && prefixes && suffixes
}

pub async fn put_notification(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketNotificationConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let c = input.notification_configuration.ok_or(S3Error::MalformedXml)?;
    let all = destinations(&c)?;
    for (i, a) in all.iter().enumerate() {
        if all[..i].iter().any(|b| overlapping(a, b)) {
            return Err(invalid(
                "Configurations overlap. Configurations on the same bucket cannot share a common event type.",
            ));
        }
    }
    // S3 checks that it may deliver to each destination; nuage serves no SNS, SQS or Lambda
    // yet, so a destination can only be kept when the caller skips that check.
    if input.skip_destination_validation != Some(true) {
        if let Some((kind, arn, ..)) = all.first() {
            return Err(S3Error::InvalidArgument(
                "Unable to validate the following destination configurations".into(),
                Some((arn_name(kind), format!("{arn}: nuage does not serve {} yet", service_name(kind)))),
            )
            .into());
        }
    }
    let name = input.bucket.clone().unwrap_or_default();
    let on = c.topic_configurations.as_ref().is_some_and(|v| !v.is_empty())
        || c.queue_configurations.as_ref().is_some_and(|v| !v.is_empty())
        || c.lambda_function_configurations.as_ref().is_some_and(|v| !v.is_empty())
        || c.event_bridge_configuration.is_some();
    update_bucket(svc, input.bucket, move |b| {
        let empty = c.topic_configurations.as_ref().is_none_or(Vec::is_empty)
            && c.queue_configurations.as_ref().is_none_or(Vec::is_empty)
            && c.lambda_function_configurations.as_ref().is_none_or(Vec::is_empty)
            && c.event_bridge_configuration.is_none();
        b.notification = (!empty).then_some(c);
        Ok(())
    })
    .await?;
    Marked::set(&svc.marked.notifying, &name, on);
    Ok(())
}

fn arn_name(kind: &str) -> &'static str {
    match kind {
        "sns" => "TopicArn",
        "sqs" => "QueueArn",
        _ => "LambdaFunctionArn",
    }
}

fn service_name(kind: &str) -> &'static str {
    match kind {
        "sns" => "Amazon SNS",
        "sqs" => "Amazon SQS",
        _ => "AWS Lambda",
    }
}

pub async fn get_notification(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketNotificationConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::NotificationConfiguration> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(b.notification.unwrap_or_default())
}

/// The event a completed request raised, if it raised one.
fn event_of(operation: &str, versioned: bool) -> Option<&'static str> {
    Some(match operation {
        "PutObject" => "s3:ObjectCreated:Put",
        "PostObject" => "s3:ObjectCreated:Post",
        "CopyObject" => "s3:ObjectCreated:Copy",
        "CompleteMultipartUpload" => "s3:ObjectCreated:CompleteMultipartUpload",
        "DeleteObject" | "DeleteObjects" if versioned => "s3:ObjectRemoved:DeleteMarkerCreated",
        "DeleteObject" | "DeleteObjects" => "s3:ObjectRemoved:Delete",
        "RestoreObject" => "s3:ObjectRestore:Post",
        "PutObjectAcl" => "s3:ObjectAcl:Put",
        "PutObjectTagging" => "s3:ObjectTagging:Put",
        "DeleteObjectTagging" => "s3:ObjectTagging:Delete",
        _ => return None,
    })
}

/// Reports the events a completed request raised for destinations nuage cannot reach yet.
pub fn report_events(svc: &S3Service, bucket: &str, key: Option<&str>, operation: &str) {
    if !matches!(
        operation,
        "PutObject"
            | "PostObject"
            | "CopyObject"
            | "CompleteMultipartUpload"
            | "DeleteObject"
            | "DeleteObjects"
            | "RestoreObject"
            | "PutObjectAcl"
            | "PutObjectTagging"
            | "DeleteObjectTagging"
    ) {
        return;
    }
    if !svc.marked.notifying(bucket) {
        return;
    }
    let Ok(b) = svc.bucket(bucket) else { return };
    let Some(c) = &b.notification else { return };
    let Some(event) = event_of(operation, b.versioning.as_deref() == Some("Enabled")) else { return };
    let key = key.unwrap_or_default();
    for (kind, arn, events, prefix, suffix) in destinations(c).unwrap_or_default() {
        if events.iter().any(|e| covers(e, event)) && key.starts_with(&prefix) && key.ends_with(&suffix) {
            tracing::warn!(bucket, key, event, destination = %arn, "S3 event notification not delivered: nuage does not serve {} yet", service_name(kind));
        }
    }
    if c.event_bridge_configuration.is_some() {
        tracing::warn!(
            bucket,
            key,
            event,
            "S3 event not delivered to Amazon EventBridge: nuage does not serve EventBridge yet"
        );
    }
}

pub async fn get_replication(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketReplicationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketReplicationOutput> {
    svc.bucket(&input.bucket.unwrap_or_default())?;
    Err(AwsError::new("ReplicationConfigurationNotFoundError", 404, "The replication configuration was not found"))
}

pub async fn delete_replication(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketReplicationRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(())
}

/// Analytics, metrics, inventory and Intelligent-Tiering configurations: none can be made
/// in nuage yet, so a bucket's lists are empty and a named one does not exist.
pub fn no_configuration(svc: &S3Service, bucket: Option<String>) -> AwsResult<()> {
    svc.bucket(&bucket.unwrap_or_default())?;
    Err(no_such_configuration())
}

/// A bucket's configurations kept by id (metrics, inventory): the list handling their
/// Put/Get/Delete/List operations share.
pub(crate) trait Configured: Clone {
    fn id(&self) -> Option<&str>;
}

impl Configured for m::MetricsConfiguration {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl Configured for m::InventoryConfiguration {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

pub(crate) fn no_such_configuration() -> AwsError {
    AwsError::new("NoSuchConfiguration", 404, "The specified configuration does not exist.")
}

/// Puts `item` in place of the configuration `id`, keeping the list sorted; 1,000 at most.
pub(crate) fn insert_configuration<T: Configured>(list: &mut Vec<T>, id: &str, item: T) -> AwsResult<()> {
    list.retain(|c| c.id() != Some(id));
    if list.len() >= 1000 {
        return Err(AwsError::new(
            "TooManyConfigurations",
            400,
            "You are attempting to create a new configuration but have already reached the 1,000-configuration limit.",
        ));
    }
    list.push(item);
    list.sort_by(|a, b| a.id().cmp(&b.id()));
    Ok(())
}

pub(crate) fn remove_configuration<T: Configured>(list: &mut Vec<T>, id: &str) -> AwsResult<()> {
    let before = list.len();
    list.retain(|c| c.id() != Some(id));
    if list.len() == before {
        return Err(no_such_configuration());
    }
    Ok(())
}

pub(crate) fn find_configuration<T: Configured>(list: Vec<T>, id: &str) -> AwsResult<T> {
    list.into_iter().find(|c| c.id() == Some(id)).ok_or_else(no_such_configuration)
}

/// A page of 100 configurations after the continuation token (the last id of the page before):
/// the page, whether more follow, and the next token.
pub(crate) fn page_configurations<T: Configured>(list: Vec<T>, after: Option<&str>) -> (Vec<T>, bool, Option<String>) {
    let rest: Vec<T> = list.into_iter().filter(|c| after.is_none_or(|a| c.id() > Some(a))).collect();
    let truncated = rest.len() > 100;
    let page: Vec<T> = rest.into_iter().take(100).collect();
    let next = if truncated { page.last().and_then(|c| c.id().map(str::to_string)) } else { None };
    (page, truncated, next)
}
