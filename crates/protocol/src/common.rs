//! The errors every AWS service may answer that no service model declares: the "Common
//! Errors" of the AWS API references (authentication, throttling, validation of the request
//! itself), with the code and HTTP status each one is documented with. Errors a model does
//! declare live in that model's generated `errors` module.
use nuage_core::AwsError;

/// An error common to all query- and JSON-protocol services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Common {
    /// The query protocol's refusal by authorisation ("User: ... is not authorized to ...").
    AccessDenied,
    /// The JSON protocol's refusal by authorisation.
    AccessDeniedException,
    IncompleteSignature,
    InternalFailure,
    InvalidAction,
    InvalidClientTokenId,
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidQueryParameter,
    MalformedQueryString,
    MissingAction,
    MissingAuthenticationToken,
    MissingParameter,
    NotAuthorized,
    OptInRequired,
    RequestExpired,
    ServiceUnavailable,
    ThrottlingException,
    /// The query protocol's model validation error.
    ValidationError,
    /// The JSON protocol's model validation error.
    ValidationException,
    /// The JSON protocol's unknown `X-Amz-Target`.
    UnknownOperationException,
    /// The JSON protocol's unparsable body.
    SerializationException,
    /// A session token that has expired.
    ExpiredToken,
}

impl Common {
    /// The code AWS answers.
    pub const fn code(self) -> &'static str {
        use Common::*;
        match self {
            AccessDenied => "AccessDenied",
            AccessDeniedException => "AccessDeniedException",
            IncompleteSignature => "IncompleteSignature",
            InternalFailure => "InternalFailure",
            InvalidAction => "InvalidAction",
            InvalidClientTokenId => "InvalidClientTokenId",
            InvalidParameterCombination => "InvalidParameterCombination",
            InvalidParameterValue => "InvalidParameterValue",
            InvalidQueryParameter => "InvalidQueryParameter",
            MalformedQueryString => "MalformedQueryString",
            MissingAction => "MissingAction",
            MissingAuthenticationToken => "MissingAuthenticationToken",
            MissingParameter => "MissingParameter",
            NotAuthorized => "NotAuthorized",
            OptInRequired => "OptInRequired",
            RequestExpired => "RequestExpired",
            ServiceUnavailable => "ServiceUnavailable",
            ThrottlingException => "ThrottlingException",
            ValidationError => "ValidationError",
            ValidationException => "ValidationException",
            UnknownOperationException => "UnknownOperationException",
            SerializationException => "SerializationException",
            ExpiredToken => "ExpiredToken",
        }
    }

    /// The HTTP status AWS documents for it.
    pub const fn status(self) -> u16 {
        use Common::*;
        match self {
            AccessDenied | InvalidClientTokenId | MissingAuthenticationToken | OptInRequired => 403,
            MalformedQueryString => 404,
            InternalFailure => 500,
            ServiceUnavailable => 503,
            AccessDeniedException
            | IncompleteSignature
            | InvalidAction
            | InvalidParameterCombination
            | InvalidParameterValue
            | InvalidQueryParameter
            | MissingAction
            | MissingParameter
            | NotAuthorized
            | RequestExpired
            | ThrottlingException
            | ValidationError
            | ValidationException
            | UnknownOperationException
            | SerializationException
            | ExpiredToken => 400,
        }
    }

    /// This error with its message.
    pub fn msg(self, message: impl Into<String>) -> AwsError {
        AwsError::new(self.code(), self.status(), message)
    }

    /// `MissingAuthenticationToken` as AWS words it, for a request that reached an operation
    /// needing a principal without one.
    pub fn missing_token() -> AwsError {
        Common::MissingAuthenticationToken.msg("Request is missing Authentication Token")
    }
}

#[cfg(test)]
mod tests {
    use super::Common;

    #[test]
    fn model_errors_carry_the_models_code_and_status() {
        use crate::redshift::errors::Error;
        assert_eq!(Error::ClusterNotFoundFault.code(), "ClusterNotFound");
        assert_eq!(Error::ClusterNotFoundFault.status(), 404);
        // Where the model gives no code, the shape's name is the code.
        assert_eq!(Error::InvalidTagFault.code(), "InvalidTagFault");
        // JSON models mark server faults; those answer 500.
        use crate::secretsmanager::errors::Error as Sm;
        assert_eq!(Sm::InternalServiceError.status(), 500);
        assert_eq!(Sm::ResourceNotFoundException.status(), 400);
        assert!(!Error::ALL.is_empty());
    }

    #[test]
    fn common_errors_have_documented_statuses() {
        assert_eq!(Common::MissingAuthenticationToken.status(), 403);
        assert_eq!(Common::MalformedQueryString.status(), 404);
        assert_eq!(Common::ValidationError.msg("x").code, "ValidationError");
    }
}
