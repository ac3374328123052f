//! The settings of a cluster that describe where and how it runs rather than what it serves:
//! zone, maintenance window and track, snapshot retention, version, VPC routing, KMS key,
//! AQUA, Multi-AZ, subnet group. CreateCluster, ModifyCluster and RestoreFromClusterSnapshot
//! check them as Redshift does and DescribeClusters reports them; options that need what
//! nuage lacks (HSMs, Elastic IPs, Identity Center, snapshot schedules, sample loading) are
//! refused rather than kept and ignored.
use crate::api::{combination, invalid};
use nuage_core::AwsResult;
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::errors::Error as E;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterOptions {
    pub availability_zone: Option<String>,
    pub maintenance_window: String,
    pub automated_snapshot_retention: i32,
    pub manual_snapshot_retention: i32,
    pub allow_version_upgrade: bool,
    pub maintenance_track: String,
    pub kms_key_id: Option<String>,
    pub enhanced_vpc_routing: bool,
    pub aqua: String,
    pub multi_az: bool,
    pub availability_zone_relocation: bool,
    pub subnet_group: Option<String>,
    pub vpc_id: Option<String>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            availability_zone: None,
            maintenance_window: "sat:10:00-sat:10:30".into(),
            automated_snapshot_retention: 1,
            manual_snapshot_retention: -1,
            allow_version_upgrade: true,
            maintenance_track: "current".into(),
            kms_key_id: None,
            enhanced_vpc_routing: false,
            aqua: "auto".into(),
            multi_az: false,
            availability_zone_relocation: false,
            subnet_group: None,
            vpc_id: None,
        }
    }
}

const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `ddd:hh24:mi-ddd:hh24:mi`, at least 30 minutes long, stored in lower case.
fn check_window(w: &str) -> AwsResult<String> {
    let w = w.to_ascii_lowercase();
    let minute = |s: &str| -> Option<i32> {
        let mut p = s.split(':');
        let day = p.next()?;
        let d = DAYS.iter().position(|d| *d == day)? as i32;
        let h: i32 = p.next()?.parse().ok().filter(|h| (0..24).contains(h))?;
        let m: i32 = p.next()?.parse().ok().filter(|m| (0..60).contains(m))?;
        p.next().is_none().then_some(d * 1440 + h * 60 + m)
    };
    let (a, b) = w.split_once('-').ok_or_else(|| invalid(format!("Invalid maintenance window: {w}")))?;
    let (Some(start), Some(end)) = (minute(a), minute(b)) else {
        return Err(invalid(format!("Invalid maintenance window format: {w}. The format is ddd:hh24:mi-ddd:hh24:mi.")));
    };
    let length = (end - start).rem_euclid(7 * 1440);
    if length < 30 {
        return Err(invalid("The maintenance window must be at least 30 minutes."));
    }
    Ok(w)
}

fn check_automated_retention(days: i32) -> AwsResult<i32> {
    if !(0..=35).contains(&days) {
        return Err(
            E::InvalidRetentionPeriodFault.msg("Automated snapshot retention period must be between 0 and 35 days.")
        );
    }
    Ok(days)
}

fn check_manual_retention(days: i32) -> AwsResult<i32> {
    if !(days == -1 || (1..=3653).contains(&days)) {
        return Err(E::InvalidRetentionPeriodFault
            .msg("Manual snapshot retention period must be -1 or between 1 and 3653 days."));
    }
    Ok(days)
}

fn check_zone(zone: &str, region: &str) -> AwsResult<String> {
    let ok = zone.strip_prefix(region).is_some_and(|z| matches!(z, "a" | "b" | "c"));
    if !ok {
        return Err(E::InvalidVPCNetworkStateFault
            .msg(format!("The availability zone {zone} is not one of {region}a, {region}b, {region}c.")));
    }
    Ok(zone.to_string())
}

fn check_track(track: &str) -> AwsResult<String> {
    if !matches!(track, "current" | "trailing") {
        return Err(E::InvalidClusterTrackFault.msg(format!("The maintenance track {track} does not exist.")));
    }
    Ok(track.to_string())
}

fn check_aqua(status: &str) -> AwsResult<String> {
    if !matches!(status, "auto" | "enabled" | "disabled") {
        return Err(invalid(format!("Invalid AQUA configuration status: {status}")));
    }
    Ok(status.to_string())
}

fn unsupported(what: &str) -> nuage_core::AwsError {
    E::UnsupportedOperationFault.msg(format!("{what} is not supported by nuage."))
}

/// The settings CreateCluster, ModifyCluster and RestoreFromClusterSnapshot share, read from
/// any of their inputs (the same member names); `extra` adds the fields one of them has.
macro_rules! requested {
    ($i:expr, { $($extra:tt)* }) => {
        $crate::cluster_options::Requested {
            availability_zone: $i.availability_zone.as_deref(),
            maintenance_window: $i.preferred_maintenance_window.as_deref(),
            automated_snapshot_retention: $i.automated_snapshot_retention_period,
            manual_snapshot_retention: $i.manual_snapshot_retention_period,
            allow_version_upgrade: $i.allow_version_upgrade,
            maintenance_track: $i.maintenance_track_name.as_deref(),
            kms_key_id: $i.kms_key_id.as_deref(),
            enhanced_vpc_routing: $i.enhanced_vpc_routing,
            multi_az: $i.multi_az,
            availability_zone_relocation: $i.availability_zone_relocation,
            ip_address_type: $i.ip_address_type.as_deref(),
            hsm: $i.hsm_client_certificate_identifier.is_some() || $i.hsm_configuration_identifier.is_some(),
            elastic_ip: $i.elastic_ip.is_some(),
            cluster_security_groups: $i.cluster_security_groups.as_ref().is_some_and(|g| !g.is_empty()),
            $($extra)*
        }
    };
}
pub(crate) use requested;

/// What CreateCluster, ModifyCluster and RestoreFromClusterSnapshot may set, in one shape.
#[derive(Default)]
pub(crate) struct Requested<'a> {
    pub availability_zone: Option<&'a str>,
    pub maintenance_window: Option<&'a str>,
    pub automated_snapshot_retention: Option<i32>,
    pub manual_snapshot_retention: Option<i32>,
    pub allow_version_upgrade: Option<bool>,
    pub maintenance_track: Option<&'a str>,
    pub kms_key_id: Option<&'a str>,
    pub enhanced_vpc_routing: Option<bool>,
    pub aqua: Option<&'a str>,
    pub multi_az: Option<bool>,
    pub availability_zone_relocation: Option<bool>,
    pub cluster_version: Option<&'a str>,
    pub ip_address_type: Option<&'a str>,
    pub hsm: bool,
    pub elastic_ip: bool,
    pub cluster_security_groups: bool,
    pub identity_center: bool,
    pub catalog: bool,
    pub extra_compute: Option<bool>,
}

impl Requested<'_> {
    /// Applies what was asked to `o`, refusing what nuage cannot honour.
    pub(crate) fn apply(&self, o: &mut ClusterOptions, region: &str, node_type: &str) -> AwsResult<()> {
        if self.hsm {
            return Err(unsupported("HSM encryption"));
        }
        if self.elastic_ip {
            return Err(E::InvalidElasticIpFault.msg("nuage's EC2 has no Elastic IP addresses."));
        }
        if self.cluster_security_groups {
            return Err(combination("ClusterSecurityGroups are for EC2-Classic clusters; use VpcSecurityGroupIds."));
        }
        if self.identity_center {
            return Err(unsupported("IAM Identity Center integration"));
        }
        if self.catalog {
            return Err(unsupported("Registering with the AWS Glue Data Catalog (CatalogName)"));
        }
        if self.extra_compute == Some(true) {
            return Err(unsupported("ExtraComputeForAutomaticOptimization"));
        }
        if let Some(v) = self.cluster_version.filter(|v| *v != "1.0") {
            return Err(invalid(format!("Cluster version {v} is not available: the only version is 1.0.")));
        }
        if let Some(t) = self.ip_address_type.filter(|t| *t != "ipv4") {
            return Err(invalid(format!("IP address type {t} is not supported: nuage's SQL ports listen on IPv4.")));
        }
        if let Some(z) = self.availability_zone {
            o.availability_zone = Some(check_zone(z, region)?);
        }
        if let Some(w) = self.maintenance_window {
            o.maintenance_window = check_window(w)?;
        }
        if let Some(d) = self.automated_snapshot_retention {
            o.automated_snapshot_retention = check_automated_retention(d)?;
        }
        if let Some(d) = self.manual_snapshot_retention {
            o.manual_snapshot_retention = check_manual_retention(d)?;
        }
        if let Some(a) = self.allow_version_upgrade {
            o.allow_version_upgrade = a;
        }
        if let Some(t) = self.maintenance_track {
            o.maintenance_track = check_track(t)?;
        }
        if let Some(k) = self.kms_key_id {
            o.kms_key_id = Some(k.to_string());
        }
        if let Some(e) = self.enhanced_vpc_routing {
            o.enhanced_vpc_routing = e;
        }
        if let Some(a) = self.aqua {
            o.aqua = check_aqua(a)?;
        }
        let ra3 = node_type.starts_with("ra3.");
        if let Some(multi) = self.multi_az {
            if multi && !ra3 {
                return Err(invalid("Multi-AZ is only available for RA3 node types."));
            }
            o.multi_az = multi;
        }
        if let Some(r) = self.availability_zone_relocation {
            if r && !ra3 {
                return Err(invalid("Availability Zone relocation is only available for RA3 node types."));
            }
            o.availability_zone_relocation = r;
        }
        if o.multi_az && o.availability_zone.is_some() && self.availability_zone.is_some() {
            return Err(combination("A Multi-AZ cluster cannot be placed in one availability zone."));
        }
        Ok(())
    }
}

impl ClusterOptions {
    /// The fields of DescribeClusters that come from these options.
    pub(crate) fn fill(&self, out: &mut m::Cluster, region: &str) {
        out.availability_zone = Some(self.availability_zone.clone().unwrap_or_else(|| format!("{region}a")));
        out.preferred_maintenance_window = Some(self.maintenance_window.clone());
        out.automated_snapshot_retention_period = Some(self.automated_snapshot_retention);
        out.manual_snapshot_retention_period = Some(self.manual_snapshot_retention);
        out.allow_version_upgrade = Some(self.allow_version_upgrade);
        out.maintenance_track_name = Some(self.maintenance_track.clone());
        out.kms_key_id = self.kms_key_id.clone();
        out.enhanced_vpc_routing = Some(self.enhanced_vpc_routing);
        out.aqua_configuration = Some(m::AquaConfiguration {
            aqua_status: Some(if self.aqua == "enabled" { "enabled" } else { "disabled" }.into()),
            aqua_configuration_status: Some(self.aqua.clone()),
        });
        out.multi_az = Some(if self.multi_az { "Enabled" } else { "Disabled" }.into());
        out.availability_zone_relocation_status =
            Some(if self.availability_zone_relocation { "enabled" } else { "disabled" }.into());
        out.cluster_subnet_group_name = Some(self.subnet_group.clone().unwrap_or_else(|| "default".into()));
        out.ip_address_type = Some("ipv4".into());
    }
}
