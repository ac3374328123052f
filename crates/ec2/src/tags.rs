//! Tags on the network's pieces and security groups: given at creation (TagSpecifications),
//! added and removed by CreateTags/DeleteTags on any mix of resources at once (all or none),
//! listed by DescribeTags with its filters.
use super::filters::{check, page, Facts};
use super::network::*;
use super::*;
use nuage_front::NoOutput;

const MAX_TAGS: usize = 50;

fn check_tag(key: &str, value: &str) -> AwsResult<()> {
    if key.is_empty() || key.chars().count() > 127 {
        return Err(Ec2Error::InvalidParameterValue
            .msg(format!("Tag key '{key}' is invalid: a key has between 1 and 127 characters.")));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(Ec2Error::InvalidParameterValue.msg("Tag keys starting with 'aws:' are reserved for internal use"));
    }
    if value.chars().count() > 255 {
        return Err(Ec2Error::InvalidParameterValue
            .msg(format!("Tag value for key '{key}' is invalid: a value has at most 255 characters.")));
    }
    Ok(())
}

/// The tags a Create request asks to put on its new resource of type `kind`.
pub(crate) fn tags_for(specs: &Option<Vec<m::TagSpecification>>, kind: &str) -> AwsResult<Tags> {
    for spec in specs.iter().flatten() {
        if let Some(other) = spec.resource_type.as_deref().filter(|k| *k != kind) {
            return Err(Ec2Error::InvalidParameterValue
                .msg(format!("'{other}' is not a valid taggable resource type for this operation.")));
        }
    }
    let tags = crate::routes::requested_tags(specs);
    for (k, v) in &tags {
        check_tag(k, v)?;
    }
    if tags.len() > MAX_TAGS {
        return Err(Ec2Error::TagLimitExceeded.msg("The maximum number of Tags for a resource has been reached."));
    }
    Ok(tags)
}

/// The error EC2 gives for a resource id that names nothing.
fn unknown(id: &str) -> nuage_core::AwsError {
    let (code, what) = match id.split('-').next().unwrap_or_default() {
        "vpc" => (Ec2Error::InvalidVpcIdNotFound, "vpc"),
        "subnet" => (Ec2Error::InvalidSubnetIdNotFound, "subnet"),
        "igw" => (Ec2Error::InvalidInternetGatewayIdNotFound, "internetGateway"),
        "rtb" => (Ec2Error::InvalidRouteTableIdNotFound, "routeTable"),
        "acl" => (Ec2Error::InvalidNetworkAclIdNotFound, "networkAcl"),
        "sg" => return Ec2Error::InvalidGroupNotFound.msg(format!("The security group '{id}' does not exist")),
        _ => return Ec2Error::InvalidId.msg(format!("The ID '{id}' is not valid")),
    };
    code.msg(format!("The {what} ID '{id}' does not exist"))
}

/// The ARN of a resource named by id, for authorisation.
pub(crate) fn resource_arn(account: &str, region: &str, id: &str) -> String {
    let kind = match id.split('-').next().unwrap_or_default() {
        "vpc" => "vpc",
        "subnet" => "subnet",
        "igw" => "internet-gateway",
        "rtb" => "route-table",
        "acl" => "network-acl",
        "sg" => "security-group",
        _ => "*",
    };
    format!("arn:aws:ec2:{region}:{account}:{kind}/{id}")
}

/// Applies `change` to the tags of every resource in `ids` (network pieces and security
/// groups), failing as a whole if one is unknown or would hold too many tags.
fn retag(n: &mut Network, w: &nuage_storage::WriteCtx, ids: &[String], change: impl Fn(&mut Tags)) -> AwsResult<()> {
    let (account, region) = (n.account.clone(), n.region.clone());
    let default_group = (n.default_vpc().is_some()).then(|| default_vpc_group(&account, &region));
    for id in ids {
        let tags = if id.starts_with("sg-") {
            let key = format!("{account}/{region}/{id}");
            let mut g = match w.get::<Group>(GROUPS, &key)? {
                Some(g) => g,
                None => default_group.clone().filter(|g| g.id == *id).ok_or_else(|| unknown(id))?,
            };
            change(&mut g.tags);
            let len = g.tags.len();
            w.put(GROUPS, &key, &g)?;
            len
        } else {
            let t = n.tags_mut(id).ok_or_else(|| unknown(id))?;
            change(t);
            t.len()
        };
        if tags > MAX_TAGS {
            return Err(Ec2Error::TagLimitExceeded.msg("The maximum number of Tags for a resource has been reached."));
        }
    }
    Ok(())
}

impl Ec2Service {
    pub(crate) async fn create_tags(&self, ctx: &RequestContext, i: m::CreateTagsRequest) -> AwsResult<NoOutput> {
        let ids = i.resources.unwrap_or_default();
        let tags: Tags = i
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        for (k, v) in &tags {
            check_tag(k, v)?;
        }
        self.change_network(ctx, move |n, w| {
            retag(n, w, &ids, |have| {
                for (k, v) in &tags {
                    match have.iter_mut().find(|(hk, _)| hk == k) {
                        Some(slot) => slot.1 = v.clone(),
                        None => have.push((k.clone(), v.clone())),
                    }
                }
            })?;
            Ok(NoOutput)
        })
        .await
    }

    /// DeleteTags: a tag given with a value is removed only if it has that value; without
    /// any tags, all of the resource's tags go.
    pub(crate) async fn delete_tags(&self, ctx: &RequestContext, i: m::DeleteTagsRequest) -> AwsResult<NoOutput> {
        let ids = i.resources.unwrap_or_default();
        let tags: Option<Vec<(String, Option<String>)>> =
            i.tags.map(|ts| ts.into_iter().map(|t| (t.key.unwrap_or_default(), t.value)).collect());
        self.change_network(ctx, move |n, w| {
            retag(n, w, &ids, |have| match &tags {
                None => have.clear(),
                Some(gone) => {
                    have.retain(|(k, v)| !gone.iter().any(|(gk, gv)| gk == k && gv.as_ref().is_none_or(|gv| gv == v)))
                }
            })?;
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn describe_tags(
        &self,
        ctx: &RequestContext,
        i: m::DescribeTagsRequest,
    ) -> AwsResult<m::DescribeTagsResult> {
        let filters = i.filters.unwrap_or_default();
        check(&filters, &["key", "value", "resource-id", "resource-type"])?;
        let n = self.network(ctx)?;
        let groups = self.groups(&n.account, &n.region)?;
        let mut resources = n.tagged();
        resources.extend(groups.iter().map(|g| ("security-group", g.id.as_str(), &g.tags)));
        let mut out: Vec<m::TagDescription> = resources
            .into_iter()
            .flat_map(|(kind, id, tags)| {
                tags.iter().map(move |(k, v)| m::TagDescription {
                    resource_id: Some(id.to_string()),
                    resource_type: Some(kind.to_string()),
                    key: Some(k.clone()),
                    value: Some(v.clone()),
                })
            })
            .filter(|t| {
                Facts::default()
                    .with("key", t.key.as_deref().unwrap_or_default())
                    .with("value", t.value.as_deref().unwrap_or_default())
                    .with("resource-id", t.resource_id.as_deref().unwrap_or_default())
                    .with("resource-type", t.resource_type.as_deref().unwrap_or_default())
                    .keep(&filters)
            })
            .collect();
        out.sort_by(|a, b| (&a.resource_id, &a.key).cmp(&(&b.resource_id, &b.key)));
        // The page token is the last (resource, key) returned.
        let keyed: Vec<(String, m::TagDescription)> = out
            .into_iter()
            .map(|t| {
                (
                    format!(
                        "{}\u{1}{}",
                        t.resource_id.as_deref().unwrap_or_default(),
                        t.key.as_deref().unwrap_or_default()
                    ),
                    t,
                )
            })
            .collect();
        let (tags, next) = page(keyed, |(k, _)| k, i.max_results, i.next_token.as_deref())?;
        Ok(m::DescribeTagsResult { tags: Some(tags.into_iter().map(|(_, t)| t).collect()), next_token: next })
    }
}
