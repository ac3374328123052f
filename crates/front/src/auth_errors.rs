//! Authentication failures in the words of the service that was called. The signature
//! checks speak S3's language (`InvalidAccessKeyId`, `RequestTimeTooSkewed`, ...); every
//! other AWS service answers the same failures with its protocol family's codes, which SDKs
//! and tests match on (`InvalidClientTokenId` from STS for unknown keys, DynamoDB's
//! `UnrecognizedClientException`, EC2's `AuthFailure`).
use nuage_core::AwsError;
use nuage_protocol::Protocol;

/// `e`, a failure of authentication raised in S3's terms, as `protocol`'s services answer it.
/// Anything that is not an authentication failure passes through unchanged.
pub(crate) fn for_protocol(protocol: Protocol, e: AwsError) -> AwsError {
    let family = match protocol {
        Protocol::RestXml => return e,
        // CloudWatch, the CBOR service, kept its query-protocol codes.
        Protocol::Query | Protocol::Cbor => Family::Query,
        Protocol::Ec2 => Family::Ec2,
        Protocol::Json => Family::Json(400),
        Protocol::RestJson => Family::Json(403),
    };
    const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
    const BAD_SIGNATURE: &str = "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
    const EC2_AUTH: &str = "AWS was not able to validate the provided access credentials";
    let (code, status, message): (&'static str, u16, String) = match (e.code.as_ref(), family) {
        ("InvalidAccessKeyId" | "InvalidToken", Family::Query) => ("InvalidClientTokenId", 403, INVALID_TOKEN.into()),
        ("InvalidAccessKeyId" | "InvalidToken", Family::Json(s)) => {
            ("UnrecognizedClientException", s, INVALID_TOKEN.into())
        }
        ("SignatureDoesNotMatch", Family::Query) => ("SignatureDoesNotMatch", 403, BAD_SIGNATURE.into()),
        ("SignatureDoesNotMatch", Family::Json(s)) => ("InvalidSignatureException", s, BAD_SIGNATURE.into()),
        ("InvalidAccessKeyId" | "InvalidToken" | "SignatureDoesNotMatch", Family::Ec2) => {
            ("AuthFailure", 401, EC2_AUTH.into())
        }
        ("ExpiredToken", Family::Query | Family::Ec2) => {
            ("ExpiredToken", 403, "The security token included in the request is expired".into())
        }
        ("ExpiredToken", Family::Json(s)) => {
            ("ExpiredTokenException", s, "The security token included in the request is expired".into())
        }
        // A signature dated too far from now: "Signature expired" in every family but S3.
        ("RequestTimeTooSkewed", Family::Query) => ("SignatureDoesNotMatch", 403, skew_message(&e)),
        ("RequestTimeTooSkewed", Family::Ec2) => ("RequestExpired", 400, skew_message(&e)),
        ("RequestTimeTooSkewed", Family::Json(s)) => ("InvalidSignatureException", s, skew_message(&e)),
        ("AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError", _) => {
            ("IncompleteSignature", 400, e.message.clone())
        }
        _ => return e,
    };
    let mut out = AwsError::new(code, status, message);
    out.headers = e.headers;
    out
}

#[derive(Clone, Copy)]
enum Family {
    Query,
    Ec2,
    /// JSON services: the status they answer authentication failures with.
    Json(u16),
}

fn skew_message(e: &AwsError) -> String {
    let field = |n: &str| e.fields.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str()).unwrap_or("");
    // `2024-01-01T00:30:00.000Z` -> `20240101T003000Z`, the form of the request's own date.
    let server: String =
        field("ServerTime").split('.').next().unwrap_or("").chars().filter(|c| *c != '-' && *c != ':').collect();
    format!("Signature expired: {} is now earlier than {server}Z ({server}Z - 15 min.)", field("RequestTime"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_answers_in_its_own_words() {
        let unknown = || AwsError::new("InvalidAccessKeyId", 403, "x");
        assert_eq!(for_protocol(Protocol::RestXml, unknown()).code, "InvalidAccessKeyId");
        assert_eq!(for_protocol(Protocol::Query, unknown()).code, "InvalidClientTokenId");
        let json = for_protocol(Protocol::Json, unknown());
        assert_eq!((json.code.as_ref(), json.status), ("UnrecognizedClientException", 400));
        let ec2 = for_protocol(Protocol::Ec2, AwsError::new("SignatureDoesNotMatch", 403, "x"));
        assert_eq!((ec2.code.as_ref(), ec2.status), ("AuthFailure", 401));
        // Not an authentication failure: unchanged.
        assert_eq!(for_protocol(Protocol::Json, AwsError::new("AccessDenied", 403, "x")).code, "AccessDenied");
    }
}
