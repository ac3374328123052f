//! S3's errors: each with the code, status and message S3 gives.
use nuage_core::AwsError;

#[derive(Debug)]
pub enum S3Error {
    NoSuchBucket(String),
    NoSuchKey(String),
    NoSuchVersion(String, String),
    NoSuchUpload(String),
    BucketAlreadyExists(String),
    BucketAlreadyOwnedByYou(String),
    BucketNotEmpty(String),
    InvalidBucketName(String),
    InvalidArgument(String, Option<(&'static str, String)>),
    InvalidRequest(String),
    InvalidRange(u64, String),
    InvalidPart,
    InvalidPartOrder,
    EntityTooSmall,
    EntityTooLarge,
    BadDigest(String),
    InvalidDigest,
    PreconditionFailed(&'static str),
    NotModified,
    MalformedXml,
    MethodNotAllowed,
    NoSuchTagSet,
    NoSuchCors,
    NoSuchOwnershipControls,
    InvalidTag(String),
    NotImplemented(String),
    InvalidLocationConstraint,
    IllegalLocationConstraint(String, String),
    InvalidStorageClass,
    KeyTooLong,
    AccessControlListNotSupported,
    InvalidObjectState,
}

impl From<S3Error> for AwsError {
    fn from(e: S3Error) -> AwsError {
        use S3Error::*;
        match e {
            NoSuchBucket(b) => AwsError::new("NoSuchBucket", 404, "The specified bucket does not exist").with("BucketName", b),
            NoSuchKey(k) => AwsError::new("NoSuchKey", 404, "The specified key does not exist.").with("Key", k),
            NoSuchVersion(k, v) => AwsError::new("NoSuchVersion", 404, "The specified version does not exist.")
                .with("Key", k)
                .with("VersionId", v),
            NoSuchUpload(u) => AwsError::new(
                "NoSuchUpload",
                404,
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            )
            .with("UploadId", u),
            BucketAlreadyExists(b) => AwsError::new(
                "BucketAlreadyExists",
                409,
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            )
            .with("BucketName", b),
            BucketAlreadyOwnedByYou(b) => AwsError::new(
                "BucketAlreadyOwnedByYou",
                409,
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
            .with("BucketName", b),
            BucketNotEmpty(b) => {
                AwsError::new("BucketNotEmpty", 409, "The bucket you tried to delete is not empty").with("BucketName", b)
            }
            InvalidBucketName(b) => {
                AwsError::new("InvalidBucketName", 400, "The specified bucket is not valid.").with("BucketName", b)
            }
            InvalidArgument(msg, arg) => {
                let e = AwsError::new("InvalidArgument", 400, msg);
                match arg {
                    Some((n, v)) => e.with("ArgumentName", n).with("ArgumentValue", v),
                    None => e,
                }
            }
            InvalidRequest(msg) => AwsError::new("InvalidRequest", 400, msg),
            InvalidRange(size, range) => AwsError::new("InvalidRange", 416, "The requested range is not satisfiable")
                .with("RangeRequested", range)
                .with("ActualObjectSize", size.to_string())
                .with_header("content-range", format!("bytes */{size}")),
            InvalidPart => AwsError::new(
                "InvalidPart",
                400,
                "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            ),
            InvalidPartOrder => AwsError::new(
                "InvalidPartOrder",
                400,
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
            ),
            EntityTooSmall => {
                AwsError::new("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
            }
            EntityTooLarge => AwsError::new("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"),
            BadDigest(msg) => AwsError::new("BadDigest", 400, msg),
            InvalidDigest => AwsError::new("InvalidDigest", 400, "The Content-MD5 you specified is not valid."),
            PreconditionFailed(cond) => {
                AwsError::new("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
                    .with("Condition", cond)
            }
            NotModified => AwsError::new("NotModified", 304, "Not Modified"),
            MalformedXml => AwsError::new(
                "MalformedXML",
                400,
                "The XML you provided was not well-formed or did not validate against our published schema",
            ),
            MethodNotAllowed => AwsError::new("MethodNotAllowed", 405, "The specified method is not allowed against this resource."),
            NoSuchTagSet => AwsError::new("NoSuchTagSet", 404, "The TagSet does not exist"),
            NoSuchCors => AwsError::new("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"),
            NoSuchOwnershipControls => AwsError::new(
                "OwnershipControlsNotFoundError",
                404,
                "The bucket ownership controls were not found",
            ),
            InvalidTag(msg) => AwsError::new("InvalidTag", 400, msg),
            NotImplemented(what) => {
                AwsError::new("NotImplemented", 501, format!("A header or operation you provided implies functionality that is not implemented: {what}"))
            }
            InvalidLocationConstraint => {
                AwsError::new("InvalidLocationConstraint", 400, "The specified location-constraint is not valid")
            }
            IllegalLocationConstraint(constraint, region) => AwsError::new(
                "IllegalLocationConstraintException",
                400,
                format!("The {constraint} location constraint is incompatible for the region specific endpoint this request was sent to ({region})."),
            ),
            InvalidStorageClass => AwsError::new("InvalidStorageClass", 400, "The storage class you specified is not valid"),
            KeyTooLong => AwsError::new("KeyTooLongError", 400, "Your key is too long"),
            AccessControlListNotSupported => {
                AwsError::new("AccessControlListNotSupported", 400, "The bucket does not allow ACLs")
            }
            InvalidObjectState => {
                AwsError::new("InvalidObjectState", 403, "The operation is not valid for the object's storage class")
            }
        }
    }
}

pub type S3Result<T> = Result<T, AwsError>;
