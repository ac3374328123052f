//! Service last accessed: GenerateServiceLastAccessedDetails (a report of the services an
//! entity's policies allow and when its users and roles last used each),
//! GetServiceLastAccessedDetails(WithEntities), ListPoliciesGrantingServiceAccess.
use super::*;
use crate::access_advisor::SERVICES;
use crate::api::simulate::{entity_policies, Named};
use nuage_policy::matching::glob;

/// A user or role a report covers: ARN, name, `USER` or `ROLE`, unique id, path.
type Entity = (String, String, &'static str, String, String);

/// One generated report, kept for reading.
pub(crate) struct AdvisorJob {
    created: i64,
    /// The users and roles whose requests count: (ARN, name, type, id, path).
    entities: Vec<Entity>,
    /// The namespaces the policies allow, in IAM's order.
    namespaces: Vec<&'static str>,
}

/// The namespaces an Allow of `policy` reaches.
fn allowed(policy: &Policy, into: &mut Vec<&'static str>) {
    for s in policy.statements.iter().filter(|s| s.effect == nuage_policy::Effect::Allow) {
        for (ns, _) in SERVICES {
            let reaches = if s.action.negated {
                // NotAction allows every service it does not name whole.
                !s.action.items.iter().any(|a| a == "*" || a.as_str() == format!("{ns}:*"))
            } else {
                s.action.items.iter().any(|a| match a.split_once(':') {
                    Some((prefix, _)) => glob(prefix, ns, true),
                    None => a == "*",
                })
            };
            if reaches && !into.contains(ns) {
                into.push(ns);
            }
        }
    }
}

/// What an ARN names: (`user` | `role` | `group` | `policy`, name).
fn target(arn: &str, account: &str) -> AwsResult<(&'static str, String)> {
    let rest = arn
        .strip_prefix(&format!("arn:aws:iam::{account}:"))
        .ok_or_else(|| invalid_input(format!("Invalid ARN: {arn}")))?;
    let (kind, path_name) = rest.split_once('/').ok_or_else(|| invalid_input(format!("Invalid ARN: {arn}")))?;
    let name = path_name.rsplit('/').next().unwrap_or(path_name).to_string();
    Ok((
        match kind {
            "user" => "user",
            "role" => "role",
            "group" => "group",
            "policy" => "policy",
            _ => return Err(invalid_input(format!("Invalid ARN: {arn}"))),
        },
        name,
    ))
}

fn user_entity(u: &User) -> Entity {
    (u.arn.clone(), u.name.clone(), "USER", u.id.clone(), u.path.clone())
}

fn role_entity(r: &Role) -> Entity {
    (r.arn.clone(), r.name.clone(), "ROLE", r.id.clone(), r.path.clone())
}

/// The policies of the ARN's entity (or the policy itself) and the users and roles it covers.
fn scope(iam: &Iam, st: &AccountState, arn: &str, account: &str) -> AwsResult<(Vec<Named>, Vec<Entity>)> {
    let (kind, name) = target(arn, account)?;
    let members = |group: &str| -> Vec<Entity> {
        st.groups
            .get(&ci(group))
            .map(|g| g.members.iter().filter_map(|m| st.users.get(&ci(m))).map(user_entity).collect())
            .unwrap_or_default()
    };
    Ok(match kind {
        "user" => {
            let (policies, _) = entity_policies(iam, st, "user", &name)?;
            (policies, st.users.get(&ci(&name)).map(user_entity).into_iter().collect())
        }
        "role" => {
            let (policies, _) = entity_policies(iam, st, "role", &name)?;
            (policies, st.roles.get(&ci(&name)).map(role_entity).into_iter().collect())
        }
        "group" => {
            let (policies, _) = entity_policies(iam, st, "group", &name)?;
            (policies, members(&name))
        }
        _ => {
            let policy = iam.managed(st, arn).ok_or_else(|| no_policy(arn))?;
            let mut entities: Vec<_> =
                st.users.values().filter(|u| u.attached.contains(&arn.to_string())).map(user_entity).collect();
            entities.extend(st.roles.values().filter(|r| r.attached.contains(&arn.to_string())).map(role_entity));
            for g in st.groups.values().filter(|g| g.attached.contains(&arn.to_string())) {
                for e in members(&g.name) {
                    if !entities.iter().any(|x| x.0 == e.0) {
                        entities.push(e);
                    }
                }
            }
            let named = Named { id: name, kind: "user-managed", policy, arn: Some(arn.to_string()), inline_of: None };
            (vec![named], entities)
        }
    })
}

pub(super) async fn generate_service_last_accessed_details(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::GenerateServiceLastAccessedDetailsRequest,
) -> AwsResult<m::GenerateServiceLastAccessedDetailsResponse> {
    let account = caller_account(ctx)?;
    let arn = required(&i.arn, "Arn")?;
    // Requests are recorded per service, not per action.
    if i.granularity.as_deref().is_some_and(|g| g != "SERVICE_LEVEL") {
        return Err(invalid_input("nuage records service-level access only: ACTION_LEVEL reports are not served."));
    }
    let st = iam.account(account);
    let (policies, entities) = scope(iam, &st, arn, account)?;
    let mut namespaces = Vec::new();
    for p in &policies {
        allowed(&p.policy, &mut namespaces);
    }
    namespaces.sort_unstable();
    let id = uuid::Uuid::new_v4().to_string();
    let job = AdvisorJob { created: now_ms(), entities, namespaces };
    iam.advisor_jobs.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), Arc::new(job));
    Ok(m::GenerateServiceLastAccessedDetailsResponse { job_id: Some(id) })
}

fn job(iam: &Iam, id: &Option<String>) -> AwsResult<Arc<AdvisorJob>> {
    let id = required(id, "JobId")?;
    iam.advisor_jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_entity(format!("No such job: {id}")))
}

pub(super) async fn get_service_last_accessed_details(
    iam: &Iam,
    _ctx: &RequestContext,
    i: m::GetServiceLastAccessedDetailsRequest,
) -> AwsResult<m::GetServiceLastAccessedDetailsResponse> {
    let job = job(iam, &i.job_id)?;
    let rows: Vec<m::ServiceLastAccessed> = job
        .namespaces
        .iter()
        .map(|ns| {
            let accesses: Vec<_> = job.entities.iter().filter_map(|e| iam.service_access(&e.0, ns)).collect();
            let last = accesses.iter().max_by_key(|a| a.at_ms);
            m::ServiceLastAccessed {
                service_name: SERVICES.iter().find(|(n, _)| n == ns).map(|(_, name)| name.to_string()),
                service_namespace: Some(ns.to_string()),
                last_authenticated: last.map(|a| Timestamp(a.at_ms)),
                last_authenticated_entity: last.map(|a| a.entity.clone()),
                last_authenticated_region: last.map(|a| a.region.clone()),
                total_authenticated_entities: Some(accesses.len() as i32),
                tracked_actions_last_accessed: None,
            }
        })
        .collect();
    let (items, truncated, marker) = page(rows, i.marker.as_deref(), i.max_items)?;
    Ok(m::GetServiceLastAccessedDetailsResponse {
        job_status: Some("COMPLETED".into()),
        job_type: Some("SERVICE_LEVEL".into()),
        job_creation_date: Some(Timestamp(job.created)),
        services_last_accessed: Some(items),
        job_completion_date: Some(Timestamp(job.created)),
        is_truncated: Some(truncated),
        marker,
        error: None,
    })
}

pub(super) async fn get_service_last_accessed_details_with_entities(
    iam: &Iam,
    _ctx: &RequestContext,
    i: m::GetServiceLastAccessedDetailsWithEntitiesRequest,
) -> AwsResult<m::GetServiceLastAccessedDetailsWithEntitiesResponse> {
    let job = job(iam, &i.job_id)?;
    let ns = required(&i.service_namespace, "ServiceNamespace")?;
    let details: Vec<m::EntityDetails> = job
        .entities
        .iter()
        .map(|(arn, name, kind, id, path)| m::EntityDetails {
            entity_info: Some(m::EntityInfo {
                arn: Some(arn.clone()),
                name: Some(name.clone()),
                r#type: Some(kind.to_string()),
                id: Some(id.clone()),
                path: Some(path.clone()),
            }),
            last_authenticated: iam.service_access(arn, ns).map(|a| Timestamp(a.at_ms)),
        })
        .collect();
    let (items, truncated, marker) = page(details, i.marker.as_deref(), i.max_items)?;
    Ok(m::GetServiceLastAccessedDetailsWithEntitiesResponse {
        job_status: Some("COMPLETED".into()),
        job_creation_date: Some(Timestamp(job.created)),
        job_completion_date: Some(Timestamp(job.created)),
        entity_details_list: Some(items),
        is_truncated: Some(truncated),
        marker,
        error: None,
    })
}

pub(super) async fn list_policies_granting_service_access(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::ListPoliciesGrantingServiceAccessRequest,
) -> AwsResult<m::ListPoliciesGrantingServiceAccessResponse> {
    let account = caller_account(ctx)?;
    let arn = required(&i.arn, "Arn")?;
    let (kind, _) = target(arn, account)?;
    if kind == "policy" {
        return Err(invalid_input("Arn must name a user, group or role."));
    }
    let st = iam.account(account);
    let (policies, _) = scope(iam, &st, arn, account)?;
    let entries = i
        .service_namespaces
        .unwrap_or_default()
        .into_iter()
        .map(|ns| {
            let granting = policies
                .iter()
                .filter(|p| {
                    let mut reached = Vec::new();
                    allowed(&p.policy, &mut reached);
                    reached.contains(&ns.as_str())
                })
                .map(|p| m::PolicyGrantingServiceAccess {
                    policy_name: Some(p.id.clone()),
                    policy_type: Some(if p.inline_of.is_some() { "INLINE" } else { "MANAGED" }.into()),
                    policy_arn: p.arn.clone(),
                    entity_type: p.inline_of.as_ref().map(|(k, _)| k.to_string()),
                    entity_name: p.inline_of.as_ref().map(|(_, n)| n.clone()),
                })
                .collect();
            m::ListPoliciesGrantingServiceAccessEntry { service_namespace: Some(ns), policies: Some(granting) }
        })
        .collect();
    Ok(m::ListPoliciesGrantingServiceAccessResponse {
        policies_granting_service_access: Some(entries),
        is_truncated: Some(false),
        marker: None,
    })
}
