//! IAM groups and their members.
use super::*;

// ---- groups ----

pub(super) async fn create_group(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateGroupRequest,
) -> AwsResult<m::CreateGroupResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.group_name, "GroupName")?.to_string();
    check_name(&name, "GroupName", 128)?;
    let path = input.path.unwrap_or_else(|| "/".into());
    check_path(&path)?;
    let acct = account.clone();
    let group = iam
        .update(&account, move |st| {
            if st.groups.keys().any(|g| g.eq_ignore_ascii_case(&name)) {
                return Err(already_exists(format!("Group with name {name} already exists.")));
            }
            let g = Group {
                arn: format!("arn:aws:iam::{acct}:group{path}{name}"),
                name: name.clone(),
                path,
                id: new_id("AGPA"),
                created: now_ms(),
                members: Vec::new(),
                attached: Vec::new(),
                inline: BTreeMap::new(),
            };
            st.groups.insert(ci(&name), g.clone());
            Ok(g)
        })
        .await?;
    Ok(m::CreateGroupResponse { group: Some(group_out(&group)) })
}

pub(super) async fn get_group(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetGroupRequest,
) -> AwsResult<m::GetGroupResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = required(&input.group_name, "GroupName")?;
    let g = st.groups.get(&ci(name)).ok_or_else(|| no_group(name))?;
    let users: Vec<m::User> =
        g.members.iter().filter_map(|u| st.users.get(&ci(u))).map(|u| m::User { tags: None, ..user_out(u) }).collect();
    let (users, truncated, marker) = page(users, input.marker.as_deref(), input.max_items)?;
    Ok(m::GetGroupResponse { group: Some(group_out(g)), users: Some(users), is_truncated: Some(truncated), marker })
}

pub(super) async fn list_groups(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListGroupsRequest,
) -> AwsResult<m::ListGroupsResponse> {
    let st = iam.account(caller_account(ctx)?);
    let groups: Vec<m::Group> =
        st.groups.values().filter(|g| path_prefix_ok(&g.path, &input.path_prefix)).map(group_out).collect();
    let (groups, truncated, marker) = page(groups, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListGroupsResponse { groups: Some(groups), is_truncated: Some(truncated), marker })
}

pub(super) async fn list_groups_for_user(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListGroupsForUserRequest,
) -> AwsResult<m::ListGroupsForUserResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = required(&input.user_name, "UserName")?;
    if !st.users.contains_key(&ci(name)) {
        return Err(no_user(name));
    }
    let groups: Vec<m::Group> =
        st.groups.values().filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(name))).map(group_out).collect();
    let (groups, truncated, marker) = page(groups, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListGroupsForUserResponse { groups: Some(groups), is_truncated: Some(truncated), marker })
}

pub(super) async fn delete_group(iam: &Iam, ctx: &RequestContext, input: m::DeleteGroupRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.group_name, "GroupName")?.to_string();
    iam.update(&account, move |st| {
        let g = st.groups.get(&ci(&name)).ok_or_else(|| no_group(&name))?;
        if !g.members.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must remove users from group first."));
        }
        if !g.attached.is_empty() || !g.inline.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must delete policies first."));
        }
        st.groups.remove(&ci(&name));
        Ok(())
    })
    .await
}

pub(super) async fn update_group(iam: &Iam, ctx: &RequestContext, input: m::UpdateGroupRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.group_name, "GroupName")?.to_string();
    if let Some(n) = &input.new_group_name {
        check_name(n, "NewGroupName", 128)?;
    }
    if let Some(p) = &input.new_path {
        check_path(p)?;
    }
    let acct = account.clone();
    iam.update(&account, move |st| {
        let mut g = st.groups.remove(&ci(&name)).ok_or_else(|| no_group(&name))?;
        if let Some(new) = input.new_group_name {
            if !new.eq_ignore_ascii_case(&name) && st.groups.contains_key(&ci(&new)) {
                return Err(already_exists(format!("Group with name {new} already exists.")));
            }
            g.name = new;
        }
        if let Some(p) = input.new_path {
            g.path = p;
        }
        g.arn = format!("arn:aws:iam::{acct}:group{}{}", g.path, g.name);
        st.groups.insert(ci(&g.name), g);
        Ok(())
    })
    .await
}

pub(super) async fn add_user_to_group(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::AddUserToGroupRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let group = required(&input.group_name, "GroupName")?.to_string();
    let user = required(&input.user_name, "UserName")?.to_string();
    iam.update(&account, move |st| {
        if !st.users.contains_key(&ci(&user)) {
            return Err(no_user(&user));
        }
        let g = group_mut(st, &group)?;
        if !g.members.iter().any(|m| m.eq_ignore_ascii_case(&user)) {
            g.members.push(ci(&user));
        }
        Ok(())
    })
    .await
}

pub(super) async fn remove_user_from_group(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::RemoveUserFromGroupRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let group = required(&input.group_name, "GroupName")?.to_string();
    let user = required(&input.user_name, "UserName")?.to_string();
    iam.update(&account, move |st| {
        if !st.users.contains_key(&ci(&user)) {
            return Err(no_user(&user));
        }
        let g = group_mut(st, &group)?;
        let before = g.members.len();
        g.members.retain(|m| !m.eq_ignore_ascii_case(&user));
        if g.members.len() == before {
            return Err(no_such_entity(format!("User {user} is not in group {group}.")));
        }
        Ok(())
    })
    .await
}
