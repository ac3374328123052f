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
    InvalidVpcRange,
    InvalidSubnetRange,
    InvalidSubnetConflict,
    DependencyViolation,
    InvalidInternetGatewayIdNotFound,
    InvalidRouteTableIdNotFound,
    InvalidNetworkAclIdNotFound,
    ResourceAlreadyAssociated,
    GatewayNotAttached,
    RouteAlreadyExists,
    InvalidRouteNotFound,
    InvalidAssociationIdNotFound,
    NetworkAclEntryAlreadyExists,
    InvalidNetworkAclEntryNotFound,
    InvalidId,
    TagLimitExceeded,
    InvalidParameterCombination,
    UnsupportedOperation,
    InvalidGatewayIdNotFound,
    NatGatewayNotFound,
    InvalidInstanceIdNotFound,
    InvalidNetworkInterfaceIdNotFound,
    InvalidVpcPeeringConnectionIdNotFound,
    InvalidTransitGatewayIdNotFound,
    InvalidVpcEndpointIdNotFound,
    InvalidPaginationToken,
    VpcIdNotSpecified,
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
            InvalidVpcRange => "InvalidVpc.Range",
            InvalidSubnetRange => "InvalidSubnet.Range",
            InvalidSubnetConflict => "InvalidSubnet.Conflict",
            DependencyViolation => "DependencyViolation",
            InvalidInternetGatewayIdNotFound => "InvalidInternetGatewayID.NotFound",
            InvalidRouteTableIdNotFound => "InvalidRouteTableID.NotFound",
            InvalidNetworkAclIdNotFound => "InvalidNetworkAclID.NotFound",
            ResourceAlreadyAssociated => "Resource.AlreadyAssociated",
            GatewayNotAttached => "Gateway.NotAttached",
            RouteAlreadyExists => "RouteAlreadyExists",
            InvalidRouteNotFound => "InvalidRoute.NotFound",
            InvalidAssociationIdNotFound => "InvalidAssociationID.NotFound",
            NetworkAclEntryAlreadyExists => "NetworkAclEntryAlreadyExists",
            InvalidNetworkAclEntryNotFound => "InvalidNetworkAclEntry.NotFound",
            InvalidId => "InvalidID",
            TagLimitExceeded => "TagLimitExceeded",
            InvalidParameterCombination => "InvalidParameterCombination",
            UnsupportedOperation => "UnsupportedOperation",
            InvalidGatewayIdNotFound => "InvalidGatewayID.NotFound",
            NatGatewayNotFound => "NatGatewayNotFound",
            InvalidInstanceIdNotFound => "InvalidInstanceID.NotFound",
            InvalidNetworkInterfaceIdNotFound => "InvalidNetworkInterfaceID.NotFound",
            InvalidVpcPeeringConnectionIdNotFound => "InvalidVpcPeeringConnectionID.NotFound",
            InvalidTransitGatewayIdNotFound => "InvalidTransitGatewayID.NotFound",
            InvalidVpcEndpointIdNotFound => "InvalidVpcEndpointId.NotFound",
            InvalidPaginationToken => "InvalidPaginationToken",
            VpcIdNotSpecified => "VPCIdNotSpecified",
        }
    }

    pub(crate) fn msg(self, message: impl Into<String>) -> AwsError {
        AwsError::new(self.code(), 400, message)
    }
}
