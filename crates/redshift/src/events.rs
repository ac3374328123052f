//! Redshift events (what happened to clusters, snapshots and parameter groups, kept 14 days
//! as on AWS, DescribeEvents and DescribeEventCategories), resizes (ResizeCluster,
//! DescribeResize, CancelResize: nuage's clusters are one process, so a resize changes the
//! node type and count the cluster reports and completes at once), and the catalogue of what
//! nuage offers (cluster versions, maintenance tracks, orderable node types).
use crate::api::{account, bad_state, cluster_out, combination, invalid, missing, page, NODE_TYPES};
use crate::{key, now_ms, ClusterRecord, Redshift};
use nuage_core::{AwsResult, RequestContext};
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::errors::Error as E;
use nuage_protocol::Timestamp;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};

const EVENTS: JsonTable = TableDefinition::new("redshift_events");
const KEEP_MS: i64 = 14 * 86_400_000;

/// The events nuage records: (id, source type, category, severity, description).
const CATALOGUE: &[(&str, &str, &str, &str, &str)] = &[
    ("REDSHIFT-EVENT-2000", "cluster", "management", "INFO", "The cluster has been created and is ready for use."),
    ("REDSHIFT-EVENT-2001", "cluster", "management", "INFO", "The cluster has been deleted."),
    ("REDSHIFT-EVENT-2002", "cluster", "management", "INFO", "The cluster has been rebooted."),
    ("REDSHIFT-EVENT-2003", "cluster", "management", "INFO", "The cluster has been paused."),
    ("REDSHIFT-EVENT-2004", "cluster", "management", "INFO", "The cluster has been resumed."),
    ("REDSHIFT-EVENT-1000", "cluster", "configuration", "INFO", "The cluster has been modified."),
    ("REDSHIFT-EVENT-1001", "cluster", "configuration", "INFO", "The cluster has been resized."),
    ("REDSHIFT-EVENT-2008", "cluster", "management", "INFO", "The cluster has been restored from a snapshot."),
    ("REDSHIFT-EVENT-2005", "cluster-snapshot", "management", "INFO", "A snapshot of the cluster has been created."),
    ("REDSHIFT-EVENT-2006", "cluster-snapshot", "management", "INFO", "A snapshot of the cluster has been deleted."),
    (
        "REDSHIFT-EVENT-1002",
        "cluster-parameter-group",
        "configuration",
        "INFO",
        "The parameter group has been modified.",
    ),
];

#[derive(Clone, Debug, Serialize, Deserialize)]
struct EventRecord {
    source: String,
    source_type: String,
    message: String,
    id: String,
    time_ms: i64,
}

/// The last resize of a cluster, as DescribeResize reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResizeRecord {
    node_type: String,
    nodes: i32,
    cluster_type: String,
    classic: bool,
    tables: Vec<String>,
    bytes: u64,
    time_ms: i64,
}

impl Redshift {
    /// Records an event of a resource (an entry of CATALOGUE) with its message.
    pub(crate) async fn record_event(
        &self,
        account: &str,
        region: &str,
        id: &'static str,
        source: &str,
        message: String,
    ) {
        let source_type = CATALOGUE.iter().find(|e| e.0 == id).map(|e| e.1).unwrap_or("cluster");
        let now = now_ms();
        let e = EventRecord {
            source: source.to_string(),
            source_type: source_type.into(),
            message,
            id: id.into(),
            time_ms: now,
        };
        let k = key(account, region, &format!("{now:015}-{}", uuid::Uuid::new_v4()));
        let old = format!("{account}/{region}/");
        let result = self
            .store
            .write(move |w| {
                // Events older than 14 days go as new ones come.
                for (k, e) in w.scan::<EventRecord>(EVENTS, &old)? {
                    if now - e.time_ms < KEEP_MS {
                        break;
                    }
                    w.delete(EVENTS, &k)?;
                }
                w.put(EVENTS, &k, &e)
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e.message, "a Redshift event could not be recorded");
        }
    }

    pub(crate) fn describe_events(
        &self,
        ctx: &RequestContext,
        i: m::DescribeEventsMessage,
    ) -> AwsResult<m::EventsMessage> {
        let now = now_ms();
        let (start, end) = match (i.start_time, i.end_time, i.duration) {
            (Some(s), Some(e), _) => (s.0, e.0),
            (Some(s), None, d) => (s.0, d.map(|d| s.0 + d as i64 * 60_000).unwrap_or(now)),
            (None, Some(e), d) => (e.0 - d.unwrap_or(60) as i64 * 60_000, e.0),
            (None, None, d) => (now - d.unwrap_or(60) as i64 * 60_000, now),
        };
        if let Some(t) = &i.source_type {
            let known = [
                "cluster",
                "cluster-parameter-group",
                "cluster-security-group",
                "cluster-snapshot",
                "scheduled-action",
            ];
            if !known.contains(&t.as_str()) {
                return Err(invalid(format!("Invalid source type: {t}")));
            }
        }
        if i.source_identifier.is_some() && i.source_type.is_none() {
            return Err(combination("SourceType is required when SourceIdentifier is given."));
        }
        let all: Vec<EventRecord> = self
            .store
            .read()?
            .scan::<EventRecord>(EVENTS, &format!("{}/{}/", account(ctx)?, ctx.region))?
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| e.time_ms >= start && e.time_ms <= end && now - e.time_ms < KEEP_MS)
            .filter(|e| i.source_type.as_deref().is_none_or(|t| t == e.source_type))
            .filter(|e| i.source_identifier.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(&e.source)))
            .collect();
        let (items, marker) = page(all, i.marker.as_deref(), i.max_records)?;
        Ok(m::EventsMessage {
            events: Some(
                items
                    .into_iter()
                    .map(|e| {
                        let entry = CATALOGUE.iter().find(|c| c.0 == e.id);
                        m::Event {
                            source_identifier: Some(e.source),
                            source_type: Some(e.source_type),
                            message: Some(e.message),
                            event_categories: Some(vec![entry.map(|c| c.2).unwrap_or("management").into()]),
                            severity: Some(entry.map(|c| c.3).unwrap_or("INFO").into()),
                            date: Some(Timestamp(e.time_ms)),
                            event_id: Some(e.id),
                        }
                    })
                    .collect(),
            ),
            marker,
        })
    }

    pub(crate) fn describe_event_categories(
        &self,
        i: m::DescribeEventCategoriesMessage,
    ) -> AwsResult<m::EventCategoriesMessage> {
        let types = ["cluster", "cluster-parameter-group", "cluster-snapshot"];
        if let Some(t) = i.source_type.as_deref().filter(|t| !types.contains(t)) {
            return Err(invalid(format!("Invalid source type: {t}")));
        }
        let maps = types
            .iter()
            .filter(|t| i.source_type.as_deref().is_none_or(|s| s == **t))
            .map(|t| m::EventCategoriesMap {
                source_type: Some(t.to_string()),
                events: Some(
                    CATALOGUE
                        .iter()
                        .filter(|e| e.1 == *t)
                        .map(|e| m::EventInfoMap {
                            event_id: Some(e.0.into()),
                            event_categories: Some(vec![e.2.into()]),
                            event_description: Some(e.4.into()),
                            severity: Some(e.3.into()),
                        })
                        .collect(),
                ),
            })
            .collect();
        Ok(m::EventCategoriesMessage { event_categories_map_list: Some(maps) })
    }

    pub(crate) async fn resize_cluster(
        &self,
        ctx: &RequestContext,
        i: m::ResizeClusterMessage,
    ) -> AwsResult<m::ResizeClusterResult> {
        if i.reserved_node_id.is_some() || i.target_reserved_node_offering_id.is_some() {
            return Err(E::UnsupportedOperationFault.msg("Reserved nodes are not served by nuage."));
        }
        let _one = self.writes.lock().await;
        let mut c = self.cluster(ctx, i.cluster_identifier.as_deref())?;
        if c.status != "available" {
            return Err(bad_state(&c));
        }
        let node_type = i.node_type.clone().unwrap_or(c.node_type.clone());
        if !NODE_TYPES.contains(&node_type.as_str()) {
            return Err(invalid(format!("Invalid node type: {node_type}")));
        }
        let nodes = match (i.cluster_type.as_deref(), i.number_of_nodes) {
            (Some("single-node"), Some(n)) if n != 1 => {
                return Err(combination("Number of nodes for cluster type single-node must be 1."))
            }
            (Some("single-node"), _) => 1,
            (Some("multi-node"), None) => return Err(missing("NumberOfNodes")),
            (Some("multi-node"), Some(n)) if n < 2 => {
                return Err(combination(
                    "Number of nodes for cluster type multi-node must be greater than or equal to 2",
                ))
            }
            (Some(t), _) if !matches!(t, "single-node" | "multi-node") => {
                return Err(invalid(format!("Invalid cluster type: {t}. Valid types are single-node and multi-node.")))
            }
            (_, Some(n)) if !(1..=128).contains(&n) => {
                return Err(E::NumberOfNodesPerClusterLimitExceededFault
                    .msg("The operation would exceed the number of nodes allowed for a cluster."))
            }
            (_, n) => n.unwrap_or(c.number_of_nodes),
        };
        if node_type == c.node_type && nodes == c.number_of_nodes {
            return Err(
                E::UnsupportedOptionFault.msg("The requested resize does not change the cluster's configuration.")
            );
        }
        // Elastic resize keeps the node type; changing it (or asking for Classic) is classic.
        let classic = i.classic.unwrap_or(false) || node_type != c.node_type;
        self.record_resize(&mut c, node_type, nodes, classic);
        self.put(&c).await?;
        let message =
            format!("The cluster '{}' has been resized to {} {} nodes.", c.identifier, c.number_of_nodes, c.node_type);
        self.record_event(&c.account, &c.region, "REDSHIFT-EVENT-1001", &c.identifier, message).await;
        Ok(m::ResizeClusterResult { cluster: Some(cluster_out(&c, Some("resizing"))) })
    }

    /// Applies a new node type and count and remembers it for DescribeResize.
    pub(crate) fn record_resize(&self, c: &mut ClusterRecord, node_type: String, nodes: i32, classic: bool) {
        let (tables, bytes) = match self.warehouse(c) {
            Some(wh) => {
                let st = wh.committed();
                let tables = st
                    .catalog
                    .schemas
                    .iter()
                    .flat_map(|(s, m)| m.tables.keys().map(move |t| format!("{s}.{t}")))
                    .collect();
                (tables, crate::api::dir_size(wh.dir()))
            }
            None => (vec![], 0),
        };
        c.node_type = node_type.clone();
        c.number_of_nodes = nodes;
        c.last_resize = Some(ResizeRecord {
            node_type,
            nodes,
            cluster_type: if nodes > 1 { "multi-node" } else { "single-node" }.into(),
            classic,
            tables,
            bytes,
            time_ms: now_ms(),
        });
    }

    pub(crate) fn describe_resize(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
    ) -> AwsResult<m::ResizeProgressMessage> {
        let c = self.cluster(ctx, id)?;
        let r = c.last_resize.ok_or_else(|| {
            E::ResizeNotFoundFault.msg(format!("Resize operation not found for cluster {}.", c.identifier))
        })?;
        let mb = r.bytes as f64 / 1_048_576.0;
        Ok(m::ResizeProgressMessage {
            target_node_type: Some(r.node_type),
            target_number_of_nodes: Some(r.nodes),
            target_cluster_type: Some(r.cluster_type),
            status: Some("SUCCEEDED".into()),
            import_tables_completed: Some(r.tables),
            import_tables_in_progress: Some(vec![]),
            import_tables_not_started: Some(vec![]),
            avg_resize_rate_in_mega_bytes_per_second: Some(0.0),
            total_resize_data_in_mega_bytes: Some(mb as i64),
            progress_in_mega_bytes: Some(mb as i64),
            elapsed_time_in_seconds: Some(0),
            estimated_time_to_completion_in_seconds: Some(0),
            resize_type: Some(if r.classic { "ClassicResize" } else { "ElasticResize" }.into()),
            message: Some("Resize operation completed successfully.".into()),
            target_encryption_type: Some(if c.encrypted { "KMS" } else { "NONE" }.into()),
            data_transfer_progress_percent: Some(100.0),
        })
    }

    pub(crate) fn cancel_resize(&self, ctx: &RequestContext, id: Option<&str>) -> AwsResult<m::ResizeProgressMessage> {
        let c = self.cluster(ctx, id)?;
        if c.last_resize.is_none() {
            return Err(E::ResizeNotFoundFault.msg(format!("Resize operation not found for cluster {}.", c.identifier)));
        }
        Err(E::InvalidClusterStateFault.msg("The resize has already completed: there is nothing to cancel."))
    }
}

pub(crate) fn describe_cluster_versions(i: m::DescribeClusterVersionsMessage) -> AwsResult<m::ClusterVersionsMessage> {
    let versions = vec![m::ClusterVersion {
        cluster_version: Some("1.0".into()),
        cluster_parameter_group_family: Some("redshift-1.0".into()),
        description: Some("Amazon Redshift 1.0, as nuage serves it".into()),
    }];
    let kept: Vec<m::ClusterVersion> = versions
        .into_iter()
        .filter(|v| i.cluster_version.as_deref().is_none_or(|x| v.cluster_version.as_deref() == Some(x)))
        .filter(|v| {
            i.cluster_parameter_group_family
                .as_deref()
                .is_none_or(|x| v.cluster_parameter_group_family.as_deref() == Some(x))
        })
        .collect();
    let (items, marker) = page(kept, i.marker.as_deref(), i.max_records)?;
    Ok(m::ClusterVersionsMessage { cluster_versions: Some(items), marker })
}

pub(crate) fn describe_cluster_tracks(i: m::DescribeClusterTracksMessage) -> AwsResult<m::TrackListMessage> {
    let tracks: Vec<m::MaintenanceTrack> = ["current", "trailing"]
        .iter()
        .filter(|t| i.maintenance_track_name.as_deref().is_none_or(|x| x == **t))
        .map(|t| m::MaintenanceTrack {
            maintenance_track_name: Some(t.to_string()),
            database_version: Some("1.0.77467".into()),
            update_targets: Some(vec![]),
        })
        .collect();
    if tracks.is_empty() {
        return Err(E::InvalidClusterTrackFault
            .msg(format!("The maintenance track {} does not exist.", i.maintenance_track_name.unwrap_or_default())));
    }
    let (items, marker) = page(tracks, i.marker.as_deref(), i.max_records)?;
    Ok(m::TrackListMessage { maintenance_tracks: Some(items), marker })
}

pub(crate) fn describe_orderable_options(
    ctx: &RequestContext,
    i: m::DescribeOrderableClusterOptionsMessage,
) -> AwsResult<m::OrderableClusterOptionsMessage> {
    if let Some(v) = i.cluster_version.as_deref().filter(|v| *v != "1.0") {
        return Err(invalid(format!("Cluster version {v} is not available: the only version is 1.0.")));
    }
    let zones: Vec<m::AvailabilityZone> = ["a", "b", "c"]
        .iter()
        .map(|z| m::AvailabilityZone {
            name: Some(format!("{}{z}", ctx.region)),
            supported_platforms: Some(vec![m::SupportedPlatform { name: Some("VPC".into()) }]),
        })
        .collect();
    let options: Vec<m::OrderableClusterOption> = NODE_TYPES
        .iter()
        .filter(|t| i.node_type.as_deref().is_none_or(|x| x == **t))
        .flat_map(|t| {
            let zones = zones.clone();
            ["multi-node", "single-node"].into_iter().map(move |ct| m::OrderableClusterOption {
                cluster_version: Some("1.0".into()),
                cluster_type: Some(ct.into()),
                node_type: Some(t.to_string()),
                availability_zones: Some(zones.clone()),
            })
        })
        .collect();
    let (items, marker) = page(options, i.marker.as_deref(), i.max_records)?;
    Ok(m::OrderableClusterOptionsMessage { orderable_cluster_options: Some(items), marker })
}
