//! Managed policies and their versions; policies attached to, and inline in, users, groups and roles.
use super::*;

// ---- managed policies ----

pub(super) const MANAGED_QUOTA: usize = 6144;

pub(super) fn managed_quota() -> AwsError {
    limit_exceeded(format!("Cannot exceed quota for PolicySize: {MANAGED_QUOTA}"))
}

pub(super) async fn create_policy(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreatePolicyRequest,
) -> AwsResult<m::CreatePolicyResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.policy_name, "PolicyName")?.to_string();
    check_name(&name, "PolicyName", 128)?;
    let path = input.path.unwrap_or_else(|| "/".into());
    check_path(&path)?;
    let doc = required(&input.policy_document, "PolicyDocument")?.to_string();
    let parsed = parse_document(&doc, PolicyKind::Identity, MANAGED_QUOTA, managed_quota)?;
    let tags = tags_in(input.tags)?;
    let (description, acct) = (input.description, account.clone());
    let (st_after, policy) = iam
        .update(&account, move |st| {
            let arn = format!("arn:aws:iam::{acct}:policy{path}{name}");
            if st.policies.values().any(|p| p.name == name) {
                return Err(already_exists(format!(
                    "A policy called {name} already exists. Duplicate names are not allowed."
                )));
            }
            let now = now_ms();
            let p = ManagedPolicy {
                arn: arn.clone(),
                name,
                path,
                id: new_id("ANPA"),
                created: now,
                updated: now,
                description,
                default_version: "v1".into(),
                versions: vec![PolicyVersion { id: "v1".into(), document: doc, created: now }],
                next_version: 2,
                tags,
                parsed: Some(Arc::new(parsed)),
            };
            st.policies.insert(arn, p.clone());
            Ok((st.clone(), p))
        })
        .await?;
    Ok(m::CreatePolicyResponse { policy: Some(policy_out(&st_after, &policy)) })
}

pub(super) async fn get_policy(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetPolicyRequest,
) -> AwsResult<m::GetPolicyResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.policy_arn, "PolicyArn")?;
    let policy = match (st.policies.get(arn), managed::by_arn(arn)) {
        (Some(p), _) => policy_out(&st, p),
        (None, Some(p)) => aws_policy_out(&st, p),
        (None, None) => return Err(no_such_entity(format!("Policy {arn} was not found."))),
    };
    Ok(m::GetPolicyResponse { policy: Some(policy) })
}

pub(super) async fn list_policies(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListPoliciesRequest,
) -> AwsResult<m::ListPoliciesResponse> {
    let st = iam.account(caller_account(ctx)?);
    let scope = input.scope.as_deref().unwrap_or("All");
    let mut out: Vec<m::Policy> = Vec::new();
    if scope != "Local" {
        out.extend(managed::all().iter().map(|p| aws_policy_out(&st, p)));
    }
    if scope != "AWS" {
        out.extend(st.policies.values().map(|p| policy_out(&st, p)));
    }
    let only_attached = input.only_attached.unwrap_or(false);
    out.retain(|p| {
        path_prefix_ok(p.path.as_deref().unwrap_or("/"), &input.path_prefix)
            && (!only_attached || p.attachment_count.unwrap_or(0) > 0)
    });
    let (policies, truncated, marker) = page(out, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListPoliciesResponse { policies: Some(policies), is_truncated: Some(truncated), marker })
}

pub(super) fn policy_mut<'a>(st: &'a mut AccountState, arn: &str) -> AwsResult<&'a mut ManagedPolicy> {
    st.policies.get_mut(arn).ok_or_else(|| no_such_entity(format!("Policy {arn} was not found.")))
}

pub(super) async fn delete_policy(iam: &Iam, ctx: &RequestContext, input: m::DeletePolicyRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.policy_arn, "PolicyArn")?.to_string();
    iam.update(&account, move |st| {
        policy_mut(st, &arn)?;
        if st.attachment_count(&arn) > 0 || st.boundary_count(&arn) > 0 {
            return Err(delete_conflict("Cannot delete a policy attached to entities."));
        }
        if st.policies[&arn].versions.len() > 1 {
            return Err(delete_conflict(
                "Cannot delete a policy with non-default versions. Delete all non-default versions first.",
            ));
        }
        st.policies.remove(&arn);
        Ok(())
    })
    .await
}

pub(super) fn version_out(p: &ManagedPolicy, v: &PolicyVersion, with_document: bool) -> m::PolicyVersion {
    m::PolicyVersion {
        document: with_document.then(|| encode_doc(&v.document)),
        version_id: Some(v.id.clone()),
        is_default_version: Some(v.id == p.default_version),
        create_date: Some(Timestamp(v.created)),
    }
}

pub(super) async fn create_policy_version(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreatePolicyVersionRequest,
) -> AwsResult<m::CreatePolicyVersionResponse> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.policy_arn, "PolicyArn")?.to_string();
    let doc = required(&input.policy_document, "PolicyDocument")?.to_string();
    let parsed = parse_document(&doc, PolicyKind::Identity, MANAGED_QUOTA, managed_quota)?;
    let set_default = input.set_as_default.unwrap_or(false);
    let (p, v) = iam
        .update(&account, move |st| {
            let p = policy_mut(st, &arn)?;
            if p.versions.len() >= 5 {
                return Err(limit_exceeded(
                    "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
                ));
            }
            let now = now_ms();
            let v = PolicyVersion { id: format!("v{}", p.next_version), document: doc, created: now };
            p.next_version += 1;
            p.versions.push(v.clone());
            p.updated = now;
            if set_default {
                p.default_version = v.id.clone();
                p.parsed = Some(Arc::new(parsed));
            }
            Ok((p.clone(), v))
        })
        .await?;
    Ok(m::CreatePolicyVersionResponse { policy_version: Some(version_out(&p, &v, false)) })
}

pub(super) async fn get_policy_version(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetPolicyVersionRequest,
) -> AwsResult<m::GetPolicyVersionResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.policy_arn, "PolicyArn")?;
    let id = required(&input.version_id, "VersionId")?;
    if let Some(aws) = managed::by_arn(arn) {
        if aws.version != id {
            return Err(no_such_entity(format!("Policy {arn} version {id} does not exist or is not attachable.")));
        }
        return Ok(m::GetPolicyVersionResponse {
            policy_version: Some(m::PolicyVersion {
                document: Some(encode_doc(&aws.document)),
                version_id: Some(aws.version.clone()),
                is_default_version: Some(true),
                create_date: Some(Timestamp(aws.updated)),
            }),
        });
    }
    let p = st.policies.get(arn).ok_or_else(|| no_such_entity(format!("Policy {arn} was not found.")))?;
    let v = p
        .versions
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| no_such_entity(format!("Policy {arn} version {id} does not exist or is not attachable.")))?;
    Ok(m::GetPolicyVersionResponse { policy_version: Some(version_out(p, v, true)) })
}

pub(super) async fn list_policy_versions(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListPolicyVersionsRequest,
) -> AwsResult<m::ListPolicyVersionsResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.policy_arn, "PolicyArn")?;
    let p = st.policies.get(arn).ok_or_else(|| no_such_entity(format!("Policy {arn} was not found.")))?;
    let versions: Vec<m::PolicyVersion> = p.versions.iter().rev().map(|v| version_out(p, v, false)).collect();
    let (versions, truncated, marker) = page(versions, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListPolicyVersionsResponse { versions: Some(versions), is_truncated: Some(truncated), marker })
}

pub(super) async fn delete_policy_version(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeletePolicyVersionRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.policy_arn, "PolicyArn")?.to_string();
    let id = required(&input.version_id, "VersionId")?.to_string();
    iam.update(&account, move |st| {
        let p = policy_mut(st, &arn)?;
        if p.default_version == id {
            return Err(delete_conflict("Cannot delete the default version of a policy."));
        }
        let before = p.versions.len();
        p.versions.retain(|v| v.id != id);
        if p.versions.len() == before {
            return Err(no_such_entity(format!("Policy {arn} version {id} does not exist or is not attachable.")));
        }
        Ok(())
    })
    .await
}

pub(super) async fn set_default_policy_version(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::SetDefaultPolicyVersionRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.policy_arn, "PolicyArn")?.to_string();
    let id = required(&input.version_id, "VersionId")?.to_string();
    iam.update(&account, move |st| {
        let p = policy_mut(st, &arn)?;
        let v =
            p.versions.iter().find(|v| v.id == id).ok_or_else(|| {
                no_such_entity(format!("Policy {arn} version {id} does not exist or is not attachable."))
            })?;
        let parsed = Policy::parse(&v.document, PolicyKind::Identity).map_err(malformed_policy)?;
        p.default_version = id;
        p.parsed = Some(Arc::new(parsed));
        p.updated = now_ms();
        Ok(())
    })
    .await
}

pub(super) async fn list_entities_for_policy(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListEntitiesForPolicyRequest,
) -> AwsResult<m::ListEntitiesForPolicyResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.policy_arn, "PolicyArn")?;
    if !st.policies.contains_key(arn) && managed::by_arn(arn).is_none() {
        return Err(no_such_entity(format!("Policy {arn} was not found.")));
    }
    let has = |a: &[String]| a.iter().any(|x| x == arn);
    Ok(m::ListEntitiesForPolicyResponse {
        policy_groups: Some(
            st.groups
                .values()
                .filter(|g| has(&g.attached))
                .map(|g| m::PolicyGroup { group_name: Some(g.name.clone()), group_id: Some(g.id.clone()) })
                .collect(),
        ),
        policy_users: Some(
            st.users
                .values()
                .filter(|u| has(&u.attached))
                .map(|u| m::PolicyUser { user_name: Some(u.name.clone()), user_id: Some(u.id.clone()) })
                .collect(),
        ),
        policy_roles: Some(
            st.roles
                .values()
                .filter(|r| has(&r.attached))
                .map(|r| m::PolicyRole { role_name: Some(r.name.clone()), role_id: Some(r.id.clone()) })
                .collect(),
        ),
        is_truncated: Some(false),
        marker: None,
    })
}

// ---- attached and inline policies of users, groups and roles ----

/// A user, group or role: the holders of policies.
#[derive(Clone, Copy)]
pub(super) enum Holder {
    User,
    Group,
    Role,
}

impl Holder {
    fn lists<'a>(
        self,
        st: &'a mut AccountState,
        name: &str,
    ) -> AwsResult<(&'a mut Vec<String>, &'a mut BTreeMap<String, Inline>)> {
        Ok(match self {
            Holder::User => {
                let u = user_mut(st, name)?;
                (&mut u.attached, &mut u.inline)
            }
            Holder::Group => {
                let g = group_mut(st, name)?;
                (&mut g.attached, &mut g.inline)
            }
            Holder::Role => {
                let r = role_mut(st, name)?;
                (&mut r.attached, &mut r.inline)
            }
        })
    }

    fn read<'a>(self, st: &'a AccountState, name: &str) -> AwsResult<(&'a Vec<String>, &'a BTreeMap<String, Inline>)> {
        Ok(match self {
            Holder::User => st.users.get(&ci(name)).map(|u| (&u.attached, &u.inline)).ok_or_else(|| no_user(name))?,
            Holder::Group => {
                st.groups.get(&ci(name)).map(|g| (&g.attached, &g.inline)).ok_or_else(|| no_group(name))?
            }
            Holder::Role => st.roles.get(&ci(name)).map(|r| (&r.attached, &r.inline)).ok_or_else(|| no_role(name))?,
        })
    }

    /// Inline policy quotas: users 2,048, groups 5,120, roles 10,240 characters.
    fn inline_quota(self) -> usize {
        match self {
            Holder::User => 2048,
            Holder::Group => 5120,
            Holder::Role => 10240,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Holder::User => "user",
            Holder::Group => "group",
            Holder::Role => "role",
        }
    }
}

pub(super) async fn attach(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: &Option<String>,
    arn: &Option<String>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.clone().ok_or_else(|| validation("The entity name must be specified."))?;
    let arn = required(arn, "PolicyArn")?.to_string();
    iam.update(&account, move |st| {
        check_attachable(st, &arn)?;
        let (attached, _) = holder.lists(st, &name)?;
        if !attached.contains(&arn) {
            if attached.len() >= 10 {
                return Err(limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPer{}: 10",
                    match holder {
                        Holder::User => "User",
                        Holder::Group => "Group",
                        Holder::Role => "Role",
                    }
                )));
            }
            attached.push(arn);
        }
        Ok(())
    })
    .await
}

pub(super) async fn detach(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: &Option<String>,
    arn: &Option<String>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.clone().ok_or_else(|| validation("The entity name must be specified."))?;
    let arn = required(arn, "PolicyArn")?.to_string();
    iam.update(&account, move |st| {
        let (attached, _) = holder.lists(st, &name)?;
        let before = attached.len();
        attached.retain(|a| *a != arn);
        if attached.len() == before {
            return Err(no_such_entity(format!("Policy {arn} was not found.")));
        }
        Ok(())
    })
    .await
}

pub(super) fn attached_out(
    st: &AccountState,
    holder: Holder,
    name: &str,
    prefix: &Option<String>,
) -> AwsResult<Vec<m::AttachedPolicy>> {
    let (attached, _) = holder.read(st, name)?;
    Ok(attached
        .iter()
        .filter(|arn| {
            let path =
                st.policies.get(*arn).map(|p| p.path.clone()).or_else(|| managed::by_arn(arn).map(|p| p.path.clone()));
            path_prefix_ok(path.as_deref().unwrap_or("/"), prefix)
        })
        .map(|arn| m::AttachedPolicy {
            policy_name: Some(arn.rsplit('/').next().unwrap_or_default().to_string()),
            policy_arn: Some(arn.clone()),
        })
        .collect())
}

macro_rules! attach_ops {
    ($attach:ident, $detach:ident, $list:ident, $holder:expr, $field:ident, $AttachReq:ident, $DetachReq:ident, $ListReq:ident, $ListResp:ident) => {
        pub(super) async fn $attach(iam: &Iam, ctx: &RequestContext, input: m::$AttachReq) -> AwsResult<()> {
            attach(iam, ctx, $holder, &input.$field, &input.policy_arn).await
        }
        pub(super) async fn $detach(iam: &Iam, ctx: &RequestContext, input: m::$DetachReq) -> AwsResult<()> {
            detach(iam, ctx, $holder, &input.$field, &input.policy_arn).await
        }
        pub(super) async fn $list(iam: &Iam, ctx: &RequestContext, input: m::$ListReq) -> AwsResult<m::$ListResp> {
            let st = iam.account(caller_account(ctx)?);
            let name = required(&input.$field, stringify!($field))?;
            let all = attached_out(&st, $holder, name, &input.path_prefix)?;
            let (attached, truncated, marker) = page(all, input.marker.as_deref(), input.max_items)?;
            Ok(m::$ListResp { attached_policies: Some(attached), is_truncated: Some(truncated), marker })
        }
    };
}

attach_ops!(
    attach_user_policy,
    detach_user_policy,
    list_attached_user_policies,
    Holder::User,
    user_name,
    AttachUserPolicyRequest,
    DetachUserPolicyRequest,
    ListAttachedUserPoliciesRequest,
    ListAttachedUserPoliciesResponse
);
attach_ops!(
    attach_group_policy,
    detach_group_policy,
    list_attached_group_policies,
    Holder::Group,
    group_name,
    AttachGroupPolicyRequest,
    DetachGroupPolicyRequest,
    ListAttachedGroupPoliciesRequest,
    ListAttachedGroupPoliciesResponse
);
attach_ops!(
    attach_role_policy,
    detach_role_policy,
    list_attached_role_policies,
    Holder::Role,
    role_name,
    AttachRolePolicyRequest,
    DetachRolePolicyRequest,
    ListAttachedRolePoliciesRequest,
    ListAttachedRolePoliciesResponse
);

pub(super) async fn put_inline(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: &Option<String>,
    policy: &Option<String>,
    doc: &Option<String>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.clone().ok_or_else(|| validation("The entity name must be specified."))?;
    let policy = required(policy, "PolicyName")?.to_string();
    check_name(&policy, "PolicyName", 128)?;
    let doc = required(doc, "PolicyDocument")?.to_string();
    let quota = holder.inline_quota();
    let parsed = parse_document(&doc, PolicyKind::Identity, quota, || {
        limit_exceeded(format!("Maximum policy size of {quota} bytes exceeded for {} {name}", holder.noun()))
    })?;
    iam.update(&account, move |st| {
        let (_, inline) = holder.lists(st, &name)?;
        inline.insert(policy, Inline::new(doc, parsed));
        Ok(())
    })
    .await
}

pub(super) async fn delete_inline(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: &Option<String>,
    policy: &Option<String>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.clone().ok_or_else(|| validation("The entity name must be specified."))?;
    let policy = required(policy, "PolicyName")?.to_string();
    iam.update(&account, move |st| {
        let (_, inline) = holder.lists(st, &name)?;
        if inline.remove(&policy).is_none() {
            return Err(no_such_entity(format!("The {} policy with name {policy} cannot be found.", holder.noun())));
        }
        Ok(())
    })
    .await
}

pub(super) fn inline_doc(st: &AccountState, holder: Holder, name: &str, policy: &str) -> AwsResult<String> {
    let (_, inline) = holder.read(st, name)?;
    inline
        .get(policy)
        .map(|i| encode_doc(&i.document))
        .ok_or_else(|| no_such_entity(format!("The {} policy with name {policy} cannot be found.", holder.noun())))
}

macro_rules! inline_ops {
    ($put:ident, $get:ident, $delete:ident, $list:ident, $holder:expr, $field:ident, $PutReq:ident, $GetReq:ident, $GetResp:ident, $DeleteReq:ident, $ListReq:ident, $ListResp:ident) => {
        pub(super) async fn $put(iam: &Iam, ctx: &RequestContext, input: m::$PutReq) -> AwsResult<()> {
            put_inline(iam, ctx, $holder, &input.$field, &input.policy_name, &input.policy_document).await
        }
        pub(super) async fn $delete(iam: &Iam, ctx: &RequestContext, input: m::$DeleteReq) -> AwsResult<()> {
            delete_inline(iam, ctx, $holder, &input.$field, &input.policy_name).await
        }
        pub(super) async fn $get(iam: &Iam, ctx: &RequestContext, input: m::$GetReq) -> AwsResult<m::$GetResp> {
            let st = iam.account(caller_account(ctx)?);
            let name = required(&input.$field, stringify!($field))?;
            let policy = required(&input.policy_name, "PolicyName")?;
            let doc = inline_doc(&st, $holder, name, policy)?;
            Ok(m::$GetResp {
                $field: Some(name.to_string()),
                policy_name: Some(policy.to_string()),
                policy_document: Some(doc),
            })
        }
        pub(super) async fn $list(iam: &Iam, ctx: &RequestContext, input: m::$ListReq) -> AwsResult<m::$ListResp> {
            let st = iam.account(caller_account(ctx)?);
            let name = required(&input.$field, stringify!($field))?;
            let (_, inline) = $holder.read(&st, name)?;
            let (names, truncated, marker) =
                page(inline.keys().cloned().collect(), input.marker.as_deref(), input.max_items)?;
            Ok(m::$ListResp { policy_names: Some(names), is_truncated: Some(truncated), marker })
        }
    };
}

inline_ops!(
    put_user_policy,
    get_user_policy,
    delete_user_policy,
    list_user_policies,
    Holder::User,
    user_name,
    PutUserPolicyRequest,
    GetUserPolicyRequest,
    GetUserPolicyResponse,
    DeleteUserPolicyRequest,
    ListUserPoliciesRequest,
    ListUserPoliciesResponse
);
inline_ops!(
    put_group_policy,
    get_group_policy,
    delete_group_policy,
    list_group_policies,
    Holder::Group,
    group_name,
    PutGroupPolicyRequest,
    GetGroupPolicyRequest,
    GetGroupPolicyResponse,
    DeleteGroupPolicyRequest,
    ListGroupPoliciesRequest,
    ListGroupPoliciesResponse
);
inline_ops!(
    put_role_policy,
    get_role_policy,
    delete_role_policy,
    list_role_policies,
    Holder::Role,
    role_name,
    PutRolePolicyRequest,
    GetRolePolicyRequest,
    GetRolePolicyResponse,
    DeleteRolePolicyRequest,
    ListRolePoliciesRequest,
    ListRolePoliciesResponse
);
