//! Service-linked roles: roles an AWS service defines (name, path `/aws-service-role/<service>/`,
//! a trust policy for that service alone), created and deleted through
//! Create/DeleteServiceLinkedRole and protected from every other change (UnmodifiableEntity),
//! as IAM protects them. The service's own permissions policy is not attached: nuage's
//! services act through the roles their users give them, never through these.
use super::*;

/// The services whose service-linked roles nuage knows: (service principal, role name,
/// whether a custom suffix is allowed).
const SERVICES: &[(&str, &str, bool)] = &[
    ("redshift.amazonaws.com", "AWSServiceRoleForRedshift", false),
    ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling", true),
    ("elasticloadbalancing.amazonaws.com", "AWSServiceRoleForElasticLoadBalancing", false),
    ("ecs.amazonaws.com", "AWSServiceRoleForECS", false),
    ("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS", false),
    ("rds.amazonaws.com", "AWSServiceRoleForRDS", false),
    ("elasticache.amazonaws.com", "AWSServiceRoleForElastiCache", false),
    ("es.amazonaws.com", "AWSServiceRoleForAmazonElasticsearchService", false),
    ("opensearchservice.amazonaws.com", "AWSServiceRoleForAmazonOpenSearchService", false),
    ("spot.amazonaws.com", "AWSServiceRoleForEC2Spot", false),
    ("replication.dynamodb.amazonaws.com", "AWSServiceRoleForDynamoDBReplication", false),
    ("dynamodb.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable", false),
    ("cloudtrail.amazonaws.com", "AWSServiceRoleForCloudTrail", false),
    ("config.amazonaws.com", "AWSServiceRoleForConfig", false),
    ("elasticmapreduce.amazonaws.com", "AWSServiceRoleForEMRCleanup", false),
    ("kafka.amazonaws.com", "AWSServiceRoleForKafka", false),
    ("lakeformation.amazonaws.com", "AWSServiceRoleForLakeFormationDataAccess", false),
    ("elasticbeanstalk.amazonaws.com", "AWSServiceRoleForElasticBeanstalk", true),
    ("ssm.amazonaws.com", "AWSServiceRoleForAmazonSSM", false),
    ("guardduty.amazonaws.com", "AWSServiceRoleForAmazonGuardDuty", false),
    ("securityhub.amazonaws.com", "AWSServiceRoleForSecurityHub", false),
];

const PATH_PREFIX: &str = "/aws-service-role/";

/// Whether a role is service-linked (IAM protects it).
pub(super) fn is_service_linked(role: &Role) -> bool {
    role.path.starts_with(PATH_PREFIX)
}

/// IAM's refusal of a change to a service-linked role.
pub(super) fn protected(role: &str) -> AwsError {
    nuage_protocol::iam::errors::Error::UnmodifiableEntityException.msg(format!(
        "Cannot perform the operation on the protected role '{role}' - this role is only modifiable by AWS"
    ))
}

/// The role CreateServiceLinkedRole makes for `service`: (name, path).
pub(super) fn role_for(service: &str, suffix: Option<&str>) -> AwsResult<(String, String)> {
    let (_, name, suffix_allowed) = SERVICES.iter().find(|(s, ..)| *s == service).ok_or_else(|| {
        invalid_input(format!(
            "Service name {service} is not a valid service name or does not support service-linked roles."
        ))
    })?;
    let name = match suffix {
        None => name.to_string(),
        Some(_) if !suffix_allowed => {
            return Err(invalid_input(format!("Custom suffix is not allowed for {service}")));
        }
        Some(s) => {
            check_name(s, "CustomSuffix", 64 - name.len() - 1)?;
            format!("{name}_{s}")
        }
    };
    Ok((name, format!("{PATH_PREFIX}{service}/")))
}

pub(super) async fn create_service_linked_role(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateServiceLinkedRoleRequest,
) -> AwsResult<m::CreateServiceLinkedRoleResponse> {
    let account = caller_account(ctx)?.to_string();
    let service = required(&input.aws_service_name, "AWSServiceName")?.to_string();
    let (name, path) = role_for(&service, input.custom_suffix.as_deref())?;
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": [service]}, "Action": ["sts:AssumeRole"]}]
    })
    .to_string();
    let trust = parse_document(&doc, PolicyKind::Trust, super::roles::TRUST_QUOTA, super::roles::trust_quota)?;
    let description = input.description;
    let acct = account.clone();
    let role = iam
        .update(&account, move |st| {
            if st.roles.contains_key(&ci(&name)) {
                return Err(invalid_input(format!(
                    "Service role name {name} has been taken in this account, please try a different suffix."
                )));
            }
            let role = super::roles::new_role(&acct, &name, path, Inline::new(doc, trust), description);
            st.roles.insert(ci(&name), role.clone());
            Ok(role)
        })
        .await?;
    Ok(m::CreateServiceLinkedRoleResponse { role: Some(role_out(&role)) })
}

pub(super) async fn delete_service_linked_role(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteServiceLinkedRoleRequest,
) -> AwsResult<m::DeleteServiceLinkedRoleResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.role_name, "RoleName")?.to_string();
    let task = iam
        .update(&account, move |st| {
            let role = st.roles.get(&ci(&name)).ok_or_else(|| no_role(&name))?;
            if !is_service_linked(role) {
                return Err(invalid_input(format!("The role {name} is not a service-linked role.")));
            }
            let service = role.path.trim_start_matches(PATH_PREFIX).trim_end_matches('/').to_string();
            let task = format!("task{PATH_PREFIX}{service}/{}/{}", role.name, uuid::Uuid::new_v4());
            st.roles.remove(&ci(&name));
            st.slr_deletions.insert(task.clone(), "SUCCEEDED".into());
            Ok(task)
        })
        .await?;
    Ok(m::DeleteServiceLinkedRoleResponse { deletion_task_id: Some(task) })
}

pub(super) async fn get_service_linked_role_deletion_status(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetServiceLinkedRoleDeletionStatusRequest,
) -> AwsResult<m::GetServiceLinkedRoleDeletionStatusResponse> {
    let task = required(&input.deletion_task_id, "DeletionTaskId")?;
    if !task.starts_with("task/aws-service-role/") {
        return Err(invalid_input(format!("Invalid deletion task id: {task}")));
    }
    let st = iam.account(caller_account(ctx)?);
    let status =
        st.slr_deletions.get(task).ok_or_else(|| no_such_entity(format!("Deletion task {task} not found.")))?;
    Ok(m::GetServiceLinkedRoleDeletionStatusResponse { status: Some(status.clone()), reason: None })
}
