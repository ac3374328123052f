//! Cluster parameter groups: named sets of Redshift's parameters. A cluster runs with its
//! group's values: those that are session settings become the defaults of its sessions,
//! static parameters at the next reboot (the cluster shows `pending-reboot` until then),
//! dynamic ones at once. A value nuage cannot honour is refused, never kept and ignored.
use crate::api::{account, invalid, missing, page, tags_in, tags_out};
use crate::{key, ClusterRecord, Redshift};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::errors::Error as E;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Key and value pairs, as a resource's tags.
type Tags = Vec<(String, String)>;

const PARAMETER_GROUPS: JsonTable = TableDefinition::new("redshift_parameter_groups");

/// The group a cluster uses when it names none.
pub(crate) const DEFAULT_GROUP: &str = "default.redshift-1.0";
const FAMILIES: &[&str] = &["redshift-1.0", "redshift-2.0"];

/// One of Redshift's cluster parameters.
struct Definition {
    name: &'static str,
    default: &'static str,
    data_type: &'static str,
    allowed: &'static str,
    dynamic: bool,
    description: &'static str,
    /// Whether the value becomes a session setting's default.
    session: bool,
}

const PARAMETERS: &[Definition] = &[
    Definition {
        name: "auto_analyze",
        default: "true",
        data_type: "boolean",
        allowed: "true,false",
        dynamic: true,
        description: "Use auto analyze",
        session: false,
    },
    Definition {
        name: "auto_mv",
        default: "true",
        data_type: "boolean",
        allowed: "true,false",
        dynamic: true,
        description: "Use auto materialized views",
        session: false,
    },
    Definition {
        name: "datestyle",
        default: "ISO, MDY",
        data_type: "string",
        allowed: "",
        dynamic: false,
        description: "Sets the display format for date and time values.",
        session: true,
    },
    Definition {
        name: "enable_case_sensitive_identifier",
        default: "false",
        data_type: "boolean",
        allowed: "true,false",
        dynamic: false,
        description: "Preserve case sensitivity for database identifiers such as table or column names in parser",
        session: true,
    },
    Definition {
        name: "enable_user_activity_logging",
        default: "false",
        data_type: "boolean",
        allowed: "true,false",
        dynamic: false,
        description: "parameter for audit logging purpose",
        session: false,
    },
    Definition {
        name: "extra_float_digits",
        default: "0",
        data_type: "integer",
        allowed: "-15-2",
        dynamic: false,
        description: "Sets the number of digits displayed for floating-point values",
        session: true,
    },
    Definition {
        name: "max_concurrency_scaling_clusters",
        default: "1",
        data_type: "integer",
        allowed: "0-10",
        dynamic: true,
        description: "The maximum concurrency scaling clusters can be used.",
        session: false,
    },
    Definition {
        name: "max_cursor_result_set_size",
        default: "default",
        data_type: "integer",
        allowed: "0-14400000",
        dynamic: false,
        description: "Sets the max cursor result set size",
        session: false,
    },
    Definition {
        name: "query_group",
        default: "default",
        data_type: "string",
        allowed: "",
        dynamic: false,
        description:
            "This parameter applies a user-defined label to a group of queries that are run during the same session..",
        session: true,
    },
    Definition {
        name: "require_ssl",
        default: "false",
        data_type: "boolean",
        allowed: "true,false",
        dynamic: false,
        description: "require ssl for all databaseconnections",
        session: false,
    },
    Definition {
        name: "search_path",
        default: "$user, public",
        data_type: "string",
        allowed: "",
        dynamic: false,
        description: "Sets the schema search order for names that are not schema-qualified.",
        session: true,
    },
    Definition {
        name: "statement_timeout",
        default: "0",
        data_type: "integer",
        allowed: "0,100-2147483647",
        dynamic: false,
        description: "Aborts any statement that takes over the specified number of milliseconds.",
        session: true,
    },
    Definition {
        name: "use_fips_ssl",
        default: "false",
        data_type: "boolean",
        allowed: "true,false",
        dynamic: false,
        description: "Use fips ssl library",
        session: false,
    },
    Definition {
        name: "wlm_json_configuration",
        default: "[{\"auto_wlm\":true}]",
        data_type: "string",
        allowed: "",
        dynamic: false,
        description: "wlm json configuration",
        session: false,
    },
];

/// A group the account created (the default one is not stored).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ParameterGroupRecord {
    account: String,
    region: String,
    name: String,
    family: String,
    description: String,
    tags: Vec<(String, String)>,
    /// The parameters set by the user; the others have their defaults.
    values: BTreeMap<String, String>,
}

impl ParameterGroupRecord {
    pub(crate) fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
}

fn not_found(name: &str) -> AwsError {
    E::ClusterParameterGroupNotFoundFault.msg(format!("The parameter group {name} could not be found."))
}

fn definition(name: &str) -> AwsResult<&'static Definition> {
    PARAMETERS
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| invalid(format!("Could not find parameter with name: {name}")))
}

/// Refuses a value Redshift would refuse, and one nuage would have to keep and ignore.
fn check_value(d: &Definition, value: &str) -> AwsResult<()> {
    let v = value.trim().to_ascii_lowercase();
    let bad = |why: &str| invalid(format!("Could not set parameter {} to '{value}': {why}", d.name));
    match d.data_type {
        "boolean" if !matches!(v.as_str(), "true" | "false") => return Err(bad("the value must be true or false")),
        "integer" if d.name != "max_cursor_result_set_size" || v != "default" => {
            let n: i64 = v.parse().map_err(|_| bad("the value must be an integer"))?;
            let (lo, hi) = match d.name {
                "extra_float_digits" => (-15, 2),
                "max_concurrency_scaling_clusters" => (0, 10),
                _ => (0, i64::from(i32::MAX)),
            };
            if n < lo || n > hi {
                return Err(bad(&format!("the value must be between {lo} and {hi}")));
            }
        }
        _ => {}
    }
    let honoured = match d.name {
        "require_ssl" | "use_fips_ssl" => v == "false",
        "enable_case_sensitive_identifier" => v == "false",
        "statement_timeout" => v == "0",
        "max_cursor_result_set_size" => v == "default",
        "datestyle" => nuage_warehouse::functions::system::check_setting("datestyle", value).is_ok(),
        "search_path" | "query_group" => !v.is_empty(),
        "wlm_json_configuration" => {
            let queues: serde_json::Value = serde_json::from_str(value).map_err(|_| bad("the value is not JSON"))?;
            queues.as_array().and_then(|q| q.first()).and_then(|q| q.get("auto_wlm")).and_then(|a| a.as_bool())
                == Some(true)
        }
        _ => true,
    };
    if !honoured {
        return Err(bad(match d.name {
            "require_ssl" | "use_fips_ssl" => "nuage's SQL ports do not speak TLS",
            "statement_timeout" => "nuage does not time out statements",
            "wlm_json_configuration" => "nuage runs automatic WLM only; manual queues are not served",
            _ => "nuage cannot honour this value",
        }));
    }
    Ok(())
}

fn group_out(g: &ParameterGroupRecord) -> m::ClusterParameterGroup {
    m::ClusterParameterGroup {
        parameter_group_name: Some(g.name.clone()),
        parameter_group_family: Some(g.family.clone()),
        description: Some(g.description.clone()),
        tags: Some(tags_out(&g.tags)),
    }
}

fn default_group(family: &str) -> ParameterGroupRecord {
    ParameterGroupRecord {
        account: String::new(),
        region: String::new(),
        name: format!("default.{family}"),
        family: family.into(),
        description: format!("Default parameter group for {family}"),
        tags: vec![],
        values: BTreeMap::new(),
    }
}

fn parameters_out(values: &BTreeMap<String, String>, source: Option<&str>) -> Vec<m::Parameter> {
    PARAMETERS
        .iter()
        .map(|d| {
            let set = values.get(d.name);
            (d, set.is_some(), set.map(String::as_str).unwrap_or(d.default))
        })
        .filter(|(_, user, _)| match source {
            Some("user") => *user,
            Some("engine-default") => !*user,
            _ => true,
        })
        .map(|(d, user, value)| m::Parameter {
            parameter_name: Some(d.name.into()),
            parameter_value: Some(value.into()),
            description: Some(d.description.into()),
            source: Some(if user { "user" } else { "engine-default" }.into()),
            data_type: Some(d.data_type.into()),
            allowed_values: (!d.allowed.is_empty()).then(|| d.allowed.into()),
            apply_type: Some(if d.dynamic { "dynamic" } else { "static" }.into()),
            is_modifiable: Some(true),
            minimum_engine_version: Some("1.0".into()),
        })
        .collect()
}

impl Redshift {
    /// The group called `name`: the default one of a family, or one the account created.
    pub(crate) fn parameter_group(&self, account: &str, region: &str, name: &str) -> AwsResult<ParameterGroupRecord> {
        if let Some(family) = name.strip_prefix("default.").filter(|f| FAMILIES.contains(f)) {
            return Ok(default_group(family));
        }
        self.store.read()?.get(PARAMETER_GROUPS, &key(account, region, name))?.ok_or_else(|| not_found(name))
    }

    /// Sets the cluster's sessions' defaults from its group's values (at start, resume and
    /// reboot: when static parameters take effect).
    pub(crate) fn apply_parameters(&self, c: &mut ClusterRecord) -> AwsResult<()> {
        let name = c.parameter_group.clone().unwrap_or_else(|| DEFAULT_GROUP.into());
        let values = match self.parameter_group(&c.account, &c.region, &name) {
            Ok(g) => g.values,
            // A group deleted under a stopped cluster's feet: Redshift's defaults.
            Err(_) => BTreeMap::new(),
        };
        if let Some(wh) = self.warehouse(c) {
            let defaults =
                values.into_iter().filter(|(k, _)| PARAMETERS.iter().any(|d| d.name == k && d.session)).collect();
            wh.set_session_defaults(defaults).map_err(crate::sql_err)?;
        }
        c.parameters_pending_reboot = false;
        Ok(())
    }

    pub(crate) async fn create_parameter_group(
        &self,
        ctx: &RequestContext,
        i: m::CreateClusterParameterGroupMessage,
    ) -> AwsResult<m::CreateClusterParameterGroupResult> {
        let acct = account(ctx)?.to_string();
        let name = i.parameter_group_name.ok_or_else(|| missing("ParameterGroupName"))?.to_ascii_lowercase();
        if !crate::api::is_lowercase_name(&name, 255) {
            return Err(invalid(
                "The parameter group name must start with a letter, contain only lowercase letters, digits and hyphens, and not end with a hyphen or contain two consecutive hyphens.",
            ));
        }
        let family = i.parameter_group_family.ok_or_else(|| missing("ParameterGroupFamily"))?;
        if !FAMILIES.contains(&family.as_str()) {
            return Err(invalid(format!("Could not find parameter group family: {family}")));
        }
        let description = i.description.ok_or_else(|| missing("Description"))?;
        let _one = self.writes.lock().await;
        let k = key(&acct, &ctx.region, &name);
        if self.store.read()?.get::<ParameterGroupRecord>(PARAMETER_GROUPS, &k)?.is_some() {
            return Err(
                E::ClusterParameterGroupAlreadyExistsFault.msg(format!("Parameter group {name} already exists."))
            );
        }
        let g = ParameterGroupRecord {
            account: acct,
            region: ctx.region.clone(),
            name,
            family,
            description,
            tags: tags_in(i.tags),
            values: BTreeMap::new(),
        };
        let v = g.clone();
        self.store.write(move |w| w.put(PARAMETER_GROUPS, &k, &v)).await?;
        Ok(m::CreateClusterParameterGroupResult { cluster_parameter_group: Some(group_out(&g)) })
    }

    pub(crate) fn describe_parameter_groups(
        &self,
        ctx: &RequestContext,
        i: m::DescribeClusterParameterGroupsMessage,
    ) -> AwsResult<m::ClusterParameterGroupsMessage> {
        let acct = account(ctx)?;
        let mut all = match &i.parameter_group_name {
            Some(n) => vec![self.parameter_group(acct, &ctx.region, &n.to_ascii_lowercase())?],
            None => {
                let mut all: Vec<ParameterGroupRecord> = FAMILIES.iter().map(|f| default_group(f)).collect();
                all.extend(
                    self.store
                        .read()?
                        .scan::<ParameterGroupRecord>(PARAMETER_GROUPS, &format!("{acct}/{}/", ctx.region))?
                        .into_iter()
                        .map(|(_, g)| g),
                );
                all
            }
        };
        let keys = i.tag_keys.unwrap_or_default();
        let values = i.tag_values.unwrap_or_default();
        all.retain(|g| crate::api::tags_match(&g.tags, &keys, &values));
        let (items, marker) = page(all, i.marker.as_deref(), i.max_records)?;
        Ok(m::ClusterParameterGroupsMessage { parameter_groups: Some(items.iter().map(group_out).collect()), marker })
    }

    pub(crate) fn describe_parameters(
        &self,
        ctx: &RequestContext,
        i: m::DescribeClusterParametersMessage,
    ) -> AwsResult<m::ClusterParameterGroupDetails> {
        let name = i.parameter_group_name.ok_or_else(|| missing("ParameterGroupName"))?.to_ascii_lowercase();
        let g = self.parameter_group(account(ctx)?, &ctx.region, &name)?;
        if let Some(s) = i.source.as_deref().filter(|s| !matches!(*s, "user" | "engine-default")) {
            return Err(invalid(format!("Invalid source: {s}. Valid values are user and engine-default.")));
        }
        let (items, marker) = page(parameters_out(&g.values, i.source.as_deref()), i.marker.as_deref(), i.max_records)?;
        Ok(m::ClusterParameterGroupDetails { parameters: Some(items), marker })
    }

    pub(crate) fn describe_default_parameters(
        &self,
        i: m::DescribeDefaultClusterParametersMessage,
    ) -> AwsResult<m::DescribeDefaultClusterParametersResult> {
        let family = i.parameter_group_family.ok_or_else(|| missing("ParameterGroupFamily"))?;
        if !FAMILIES.contains(&family.as_str()) {
            return Err(invalid(format!("Could not find parameter group family: {family}")));
        }
        let (items, marker) = page(parameters_out(&BTreeMap::new(), None), i.marker.as_deref(), i.max_records)?;
        Ok(m::DescribeDefaultClusterParametersResult {
            default_cluster_parameters: Some(m::DefaultClusterParameters {
                parameter_group_family: Some(family),
                marker,
                parameters: Some(items),
            }),
        })
    }

    /// Sets (`reset` false) or resets parameters of a group; the clusters using it see the
    /// static ones after their next reboot.
    pub(crate) async fn modify_parameter_group(
        &self,
        ctx: &RequestContext,
        name: Option<String>,
        parameters: Option<Vec<m::Parameter>>,
        reset_all: bool,
    ) -> AwsResult<m::ClusterParameterGroupNameMessage> {
        let reset =
            parameters.is_none() || reset_all || parameters.iter().flatten().all(|p| p.parameter_value.is_none());
        let name = name.ok_or_else(|| missing("ParameterGroupName"))?.to_ascii_lowercase();
        let acct = account(ctx)?.to_string();
        let _one = self.writes.lock().await;
        let mut g = self.parameter_group(&acct, &ctx.region, &name)?;
        if g.account.is_empty() {
            return Err(E::InvalidClusterParameterGroupStateFault
                .msg(format!("Cannot modify the default parameter group {name}.")));
        }
        let given = parameters.unwrap_or_default();
        if !reset_all && given.is_empty() {
            return Err(missing("Parameters"));
        }
        if given.len() > 20 {
            return Err(invalid("You can modify at most 20 parameters in one request."));
        }
        let mut static_changed = false;
        if reset_all {
            static_changed = g.values.keys().any(|k| PARAMETERS.iter().any(|d| d.name == k && !d.dynamic));
            g.values.clear();
        }
        for p in given {
            let pname = p.parameter_name.ok_or_else(|| missing("ParameterName"))?;
            let d = definition(&pname)?;
            if let Some(t) = p.apply_type.as_deref() {
                let want = if d.dynamic { "dynamic" } else { "static" };
                if t != want {
                    return Err(invalid(format!("The parameter {pname} cannot be applied as {t}: it is {want}.")));
                }
            }
            let before = g.values.get(d.name).cloned();
            if reset {
                g.values.remove(d.name);
            } else {
                let value = p.parameter_value.ok_or_else(|| missing("ParameterValue"))?;
                check_value(d, &value)?;
                if value == d.default {
                    g.values.remove(d.name);
                } else {
                    g.values.insert(d.name.to_string(), value);
                }
            }
            static_changed |= !d.dynamic && before != g.values.get(d.name).cloned();
        }
        let (k, v) = (key(&g.account, &g.region, &g.name), g.clone());
        self.store.write(move |w| w.put(PARAMETER_GROUPS, &k, &v)).await?;
        let message = format!("The parameter group {} has been modified.", g.name);
        self.record_event(&acct, &ctx.region, "REDSHIFT-EVENT-1002", &g.name, message).await;
        if static_changed {
            for mut c in self.list(&acct, &ctx.region)? {
                if c.parameter_group.as_deref() == Some(g.name.as_str()) && !c.parameters_pending_reboot {
                    c.parameters_pending_reboot = true;
                    self.put(&c).await?;
                }
            }
        }
        Ok(m::ClusterParameterGroupNameMessage {
            parameter_group_name: Some(g.name),
            parameter_group_status: Some(
                "Your parameter group has been updated. If you changed only dynamic parameters, associated clusters are being modified now. If you changed static parameters, all updates, including dynamic parameters, will be applied when you reboot the associated clusters."
                    .into(),
            ),
        })
    }

    pub(crate) async fn delete_parameter_group(&self, ctx: &RequestContext, name: Option<String>) -> AwsResult<()> {
        let name = name.ok_or_else(|| missing("ParameterGroupName"))?.to_ascii_lowercase();
        let acct = account(ctx)?.to_string();
        let _one = self.writes.lock().await;
        let g = self.parameter_group(&acct, &ctx.region, &name)?;
        if g.account.is_empty() {
            return Err(E::InvalidClusterParameterGroupStateFault
                .msg(format!("Cannot delete the default parameter group {name}.")));
        }
        if let Some(c) =
            self.list(&acct, &ctx.region)?.into_iter().find(|c| c.parameter_group.as_deref() == Some(&name))
        {
            return Err(E::InvalidClusterParameterGroupStateFault.msg(format!(
                "The parameter group {name} cannot be deleted because it is in use by cluster {}.",
                c.identifier
            )));
        }
        let k = key(&acct, &ctx.region, &name);
        self.store.write(move |w| w.delete(PARAMETER_GROUPS, &k)).await
    }

    /// The tags of a parameter group, for tagging by ARN.
    pub(crate) async fn tag_parameter_group(
        &self,
        account: &str,
        region: &str,
        name: &str,
        edit: impl FnOnce(&mut Vec<(String, String)>),
    ) -> AwsResult<Vec<(String, String)>> {
        let mut g = self.parameter_group(account, region, name)?;
        if g.account.is_empty() {
            return Err(E::InvalidTagFault.msg("A default parameter group cannot be tagged."));
        }
        edit(&mut g.tags);
        let (k, v) = (key(&g.account, &g.region, &g.name), g.clone());
        self.store.write(move |w| w.put(PARAMETER_GROUPS, &k, &v)).await?;
        Ok(g.tags)
    }

    /// The parameter groups of an account and region, for DescribeTags.
    pub(crate) fn parameter_groups(&self, account: &str, region: &str) -> AwsResult<Vec<(String, Tags)>> {
        Ok(self
            .store
            .read()?
            .scan::<ParameterGroupRecord>(PARAMETER_GROUPS, &format!("{account}/{region}/"))?
            .into_iter()
            .map(|(_, g)| (format!("arn:aws:redshift:{region}:{account}:parametergroup:{}", g.name), g.tags))
            .collect())
    }
}

/// Checks that a cluster may use the group it names (it must exist).
pub(crate) fn check_cluster_group(rs: &Redshift, account: &str, region: &str, name: &str) -> AwsResult<String> {
    let name = name.to_ascii_lowercase();
    rs.parameter_group(account, region, &name)?;
    Ok(name)
}
