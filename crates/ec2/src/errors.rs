//! EC2's errors. The EC2 model declares no error shapes; these are the codes of the EC2 API
//! reference's "Error codes" page that the served operations answer, all with status 400.
use nuage_core::AwsError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ec2Error {
    InvalidParameterValue,
    MissingParameter,
    InvalidVpcIdNotFound,
    InvalidSubnetIdNotFound,
    InvalidGroupNotFound,
    InvalidGroupDuplicate,
    CannotDelete,
    InvalidPermissionDuplicate,
    InvalidPermissionNotFound,
    InvalidSecurityGroupRuleIdNotFound,
}

impl Ec2Error {
    pub(crate) const fn code(self) -> &'static str {
        use Ec2Error::*;
        match self {
            InvalidParameterValue => "InvalidParameterValue",
            MissingParameter => "MissingParameter",
            InvalidVpcIdNotFound => "InvalidVpcID.NotFound",
            InvalidSubnetIdNotFound => "InvalidSubnetID.NotFound",
            InvalidGroupNotFound => "InvalidGroup.NotFound",
            InvalidGroupDuplicate => "InvalidGroup.Duplicate",
            CannotDelete => "CannotDelete",
            InvalidPermissionDuplicate => "InvalidPermission.Duplicate",
            InvalidPermissionNotFound => "InvalidPermission.NotFound",
            InvalidSecurityGroupRuleIdNotFound => "InvalidSecurityGroupRuleId.NotFound",
        }
    }

    pub(crate) fn msg(self, message: impl Into<String>) -> AwsError {
        AwsError::new(self.code(), 400, message)
    }
}
