//! On-demand backups and point-in-time recovery. A backup is a copy of the table's items and
//! description, taken in one store transaction. Point-in-time recovery keeps, from the moment
//! it is enabled, a base copy of the items and a log of every change after it; a restore
//! replays the log up to the asked time over the base, and changes older than the recovery
//! period are folded into the base by the background pass. Both restore into a new table.
use crate::table::{Counts, Table};
use crate::value::{validation, Item};
use crate::{now_ms, DynamoDb};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::dynamodb as m;
use nuage_protocol::dynamodb::errors::Error as E;
use nuage_protocol::Timestamp;
use nuage_storage::redb::TableDefinition;
use nuage_storage::{BytesTable, JsonTable, WriteCtx};
use serde::{Deserialize, Serialize};

/// Backup records, by `account/region/backup id`.
pub(crate) const BACKUPS: JsonTable = TableDefinition::new("dynamodb_backups");
/// Backed-up items, by backup id and the item's key within its table.
const BACKUP_ITEMS: BytesTable = TableDefinition::new("dynamodb_backup_items");
/// Point-in-time recovery: the base copy, by table id and item key.
const PITR_BASE: BytesTable = TableDefinition::new("dynamodb_pitr_base");
/// Point-in-time recovery: every change since the base, by table id, time and sequence.
const PITR_LOG: BytesTable = TableDefinition::new("dynamodb_pitr_log");

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Backup {
    id: [u8; 16],
    arn: String,
    name: String,
    created_ms: i64,
    table: Table,
    items: i64,
    bytes: i64,
    deleted: bool,
}

/// A table's point-in-time recovery settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pitr {
    pub days: i32,
    /// When the base copy was taken: the earliest time a restore can reach.
    pub base_ms: i64,
}

/// A change as the recovery log keeps it.
#[derive(Serialize, Deserialize)]
struct Change {
    key: Vec<u8>,
    item: Option<Item>,
}

fn hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Logs a change for point-in-time recovery, in the change's own transaction.
pub fn log_change(w: &WriteCtx, table: &Table, stored_key: &[u8], new: Option<&Item>) -> AwsResult<()> {
    if table.pitr.is_none() {
        return Ok(());
    }
    let seq = w.get::<u64>(crate::streams::SEQUENCES, &format!("pitr/{}", hex(&table.id)))?.unwrap_or(0) + 1;
    w.put(crate::streams::SEQUENCES, &format!("pitr/{}", hex(&table.id)), &seq)?;
    let mut k = table.id.to_vec();
    k.extend_from_slice(&(now_ms() as u64).to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    let change = Change { key: stored_key[16..].to_vec(), item: new.cloned() };
    w.put_bytes(PITR_LOG, &k, serde_json::to_vec(&change).map_err(AwsError::internal)?);
    Ok(())
}

fn copy_prefix(
    w: &WriteCtx,
    from: BytesTable,
    from_prefix: &[u8],
    to: BytesTable,
    to_prefix: &[u8],
) -> AwsResult<(i64, i64)> {
    let (mut n, mut bytes) = (0, 0);
    for k in w.keys_with_prefix(from, from_prefix)? {
        let Some(v) = w.get_bytes(from, &k)? else { continue };
        let mut nk = to_prefix.to_vec();
        nk.extend_from_slice(&k[from_prefix.len()..]);
        let item: Item = crate::items::decode(&v)?;
        n += 1;
        bytes += crate::value::item_size(&item) as i64;
        w.put_bytes(to, &nk, v);
    }
    Ok((n, bytes))
}

fn delete_prefix(w: &WriteCtx, table: BytesTable, prefix: &[u8]) -> AwsResult<()> {
    for k in w.keys_with_prefix(table, prefix)? {
        w.delete_bytes(table, &k);
    }
    Ok(())
}

impl Backup {
    fn details(&self) -> m::BackupDetails {
        m::BackupDetails {
            backup_arn: Some(self.arn.clone()),
            backup_name: Some(self.name.clone()),
            backup_size_bytes: Some(self.bytes),
            backup_status: Some(if self.deleted { "DELETED" } else { "AVAILABLE" }.into()),
            backup_type: Some("USER".into()),
            backup_creation_date_time: Some(Timestamp::from_millis(self.created_ms)),
            backup_expiry_date_time: None,
        }
    }

    fn description(&self) -> m::BackupDescription {
        let t = &self.table;
        let d = t.describe(&Counts { items: self.items, bytes: self.bytes, ..Default::default() }, "ACTIVE");
        m::BackupDescription {
            backup_details: Some(self.details()),
            source_table_details: Some(m::SourceTableDetails {
                table_name: Some(t.name.clone()),
                table_id: Some(t.table_id.clone()),
                table_arn: Some(t.arn.clone()),
                table_size_bytes: Some(self.bytes),
                key_schema: d.key_schema.clone(),
                table_creation_date_time: Some(Timestamp::from_millis(t.created_ms)),
                provisioned_throughput: Some(m::ProvisionedThroughput {
                    read_capacity_units: Some(t.rcu),
                    write_capacity_units: Some(t.wcu),
                }),
                on_demand_throughput: d.on_demand_throughput.clone(),
                item_count: Some(self.items),
                billing_mode: Some(if t.on_demand { "PAY_PER_REQUEST" } else { "PROVISIONED" }.into()),
            }),
            source_table_feature_details: Some(m::SourceTableFeatureDetails {
                local_secondary_indexes: d.local_secondary_indexes.map(|l| {
                    l.into_iter()
                        .map(|i| m::LocalSecondaryIndexInfo {
                            index_name: i.index_name,
                            key_schema: i.key_schema,
                            projection: i.projection,
                        })
                        .collect()
                }),
                global_secondary_indexes: d.global_secondary_indexes.map(|l| {
                    l.into_iter()
                        .map(|i| m::GlobalSecondaryIndexInfo {
                            index_name: i.index_name,
                            key_schema: i.key_schema,
                            projection: i.projection,
                            provisioned_throughput: i.provisioned_throughput.map(|p| m::ProvisionedThroughput {
                                read_capacity_units: p.read_capacity_units,
                                write_capacity_units: p.write_capacity_units,
                            }),
                            on_demand_throughput: i.on_demand_throughput,
                        })
                        .collect()
                }),
                stream_description: d.stream_specification,
                time_to_live_description: Some(m::TimeToLiveDescription {
                    time_to_live_status: Some(if t.ttl_attribute.is_some() { "ENABLED" } else { "DISABLED" }.into()),
                    attribute_name: t.ttl_attribute.clone(),
                }),
                ..Default::default()
            }),
        }
    }
}

/// What a restore may change about the source table.
struct Overrides {
    billing_mode: Option<String>,
    throughput: Option<m::ProvisionedThroughput>,
    gsis: Option<Vec<m::GlobalSecondaryIndex>>,
    lsis: Option<Vec<m::LocalSecondaryIndex>>,
}

impl Overrides {
    fn new(
        billing_mode: Option<String>,
        throughput: Option<m::ProvisionedThroughput>,
        gsis: Option<Vec<m::GlobalSecondaryIndex>>,
        lsis: Option<Vec<m::LocalSecondaryIndex>>,
    ) -> Overrides {
        Overrides { billing_mode, throughput, gsis, lsis }
    }
}

impl DynamoDb {
    fn backup(&self, ctx: &RequestContext, arn: Option<&str>) -> AwsResult<Backup> {
        let arn = arn.unwrap_or_default();
        let id = arn.rsplit("/backup/").next().unwrap_or_default();
        let key = format!("{}/{}/{id}", ctx.account_id().unwrap_or_default(), ctx.region);
        let b: Option<Backup> = self.store.read()?.get(BACKUPS, &key)?;
        b.filter(|b| b.arn == arn && !b.deleted)
            .ok_or_else(|| E::BackupNotFoundException.msg(format!("Backup not found for arn {arn}")))
    }

    pub async fn create_backup(
        &self,
        ctx: &RequestContext,
        i: m::CreateBackupInput,
    ) -> AwsResult<m::CreateBackupOutput> {
        let t = self.table(ctx, i.table_name.as_deref())?;
        let name = i.backup_name.unwrap_or_default();
        if name.len() < 3 || name.len() > 255 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            return Err(validation(format!("1 validation error detected: Value '{name}' at 'backupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")));
        }
        let now = now_ms();
        let id = *uuid::Uuid::new_v4().as_bytes();
        let backup_id = format!("{now:014}-{}", &hex(&id)[..8]);
        let table = (*t).clone();
        let arn = format!("{}/backup/{backup_id}", t.arn);
        let key = format!("{}/{}/{backup_id}", t.account, t.region);
        let backup = self
            .store
            .write(move |w| {
                let (items, bytes) = copy_prefix(w, crate::ITEMS, &table.id, BACKUP_ITEMS, &id)?;
                let b = Backup { id, arn, name, created_ms: now, table, items, bytes, deleted: false };
                w.put(BACKUPS, &key, &b)?;
                Ok(b)
            })
            .await?;
        Ok(m::CreateBackupOutput { backup_details: Some(backup.details()) })
    }

    pub fn describe_backup(
        &self,
        ctx: &RequestContext,
        i: m::DescribeBackupInput,
    ) -> AwsResult<m::DescribeBackupOutput> {
        let b = self.backup(ctx, i.backup_arn.as_deref())?;
        Ok(m::DescribeBackupOutput { backup_description: Some(b.description()) })
    }

    pub fn list_backups(&self, ctx: &RequestContext, i: m::ListBackupsInput) -> AwsResult<m::ListBackupsOutput> {
        if i.backup_type.as_deref().is_some_and(|t| !["USER", "ALL"].contains(&t)) {
            // Only user backups exist here: SYSTEM and AWS_BACKUP lists are empty.
            return Ok(m::ListBackupsOutput { backup_summaries: Some(Vec::new()), last_evaluated_backup_arn: None });
        }
        let prefix = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let all: Vec<(String, Backup)> = self.store.read()?.scan(BACKUPS, &prefix)?;
        let lower = i.time_range_lower_bound.map(|t| t.0).unwrap_or(i64::MIN);
        let upper = i.time_range_upper_bound.map(|t| t.0).unwrap_or(i64::MAX);
        let mut list: Vec<Backup> = all
            .into_iter()
            .map(|(_, b)| b)
            .filter(|b| !b.deleted && i.table_name.as_ref().is_none_or(|n| *n == b.table.name))
            .filter(|b| b.created_ms >= lower && b.created_ms < upper)
            .filter(|b| i.exclusive_start_backup_arn.as_ref().is_none_or(|s| b.arn > *s))
            .collect();
        list.sort_by(|a, b| a.arn.cmp(&b.arn));
        let limit = i.limit.unwrap_or(100).clamp(1, 100) as usize;
        let more = list.len() > limit;
        list.truncate(limit);
        Ok(m::ListBackupsOutput {
            last_evaluated_backup_arn: if more { list.last().map(|b| b.arn.clone()) } else { None },
            backup_summaries: Some(
                list.iter()
                    .map(|b| m::BackupSummary {
                        table_name: Some(b.table.name.clone()),
                        table_id: Some(b.table.table_id.clone()),
                        table_arn: Some(b.table.arn.clone()),
                        backup_arn: Some(b.arn.clone()),
                        backup_name: Some(b.name.clone()),
                        backup_creation_date_time: Some(Timestamp::from_millis(b.created_ms)),
                        backup_expiry_date_time: None,
                        backup_status: Some("AVAILABLE".into()),
                        backup_type: Some("USER".into()),
                        backup_size_bytes: Some(b.bytes),
                    })
                    .collect(),
            ),
        })
    }

    pub async fn delete_backup(
        &self,
        ctx: &RequestContext,
        i: m::DeleteBackupInput,
    ) -> AwsResult<m::DeleteBackupOutput> {
        let mut b = self.backup(ctx, i.backup_arn.as_deref())?;
        b.deleted = true;
        let key =
            format!("{}/{}/{}", b.table.account, b.table.region, b.arn.rsplit("/backup/").next().unwrap_or_default());
        let id = b.id;
        self.store
            .write(move |w| {
                delete_prefix(w, BACKUP_ITEMS, &id)?;
                w.delete(BACKUPS, &key)
            })
            .await?;
        Ok(m::DeleteBackupOutput { backup_description: Some(b.description()) })
    }

    pub async fn restore_from_backup(
        &self,
        ctx: &RequestContext,
        i: m::RestoreTableFromBackupInput,
    ) -> AwsResult<m::RestoreTableFromBackupOutput> {
        let b = self.backup(ctx, i.backup_arn.as_deref())?;
        let overrides = Overrides::new(
            i.billing_mode_override,
            i.provisioned_throughput_override,
            i.global_secondary_index_override,
            i.local_secondary_index_override,
        );
        let target = i.target_table_name.unwrap_or_default();
        let summary = m::RestoreSummary {
            source_backup_arn: Some(b.arn.clone()),
            source_table_arn: Some(b.table.arn.clone()),
            restore_date_time: Some(Timestamp::from_millis(b.created_ms)),
            restore_in_progress: Some(false),
        };
        let id = b.id;
        let desc = self
            .restore(ctx, &b.table, &target, overrides, summary, move |w| {
                let mut items = Vec::new();
                for k in w.keys_with_prefix(BACKUP_ITEMS, &id)? {
                    if let Some(v) = w.get_bytes(BACKUP_ITEMS, &k)? {
                        items.push(crate::items::decode(&v)?);
                    }
                }
                Ok(items)
            })
            .await?;
        Ok(m::RestoreTableFromBackupOutput { table_description: Some(desc) })
    }

    /// A new table `target` shaped as `source` (with the overrides), holding the items
    /// `items` reads, all in one transaction.
    async fn restore(
        &self,
        ctx: &RequestContext,
        source: &Table,
        target: &str,
        o: Overrides,
        summary: m::RestoreSummary,
        items: impl FnOnce(&WriteCtx) -> AwsResult<Vec<Item>> + Send + 'static,
    ) -> AwsResult<m::TableDescription> {
        // The new table is made as CreateTable would make it, from the source's description.
        let d = source.describe(&Counts::default(), "ACTIVE");
        let on_demand = match o.billing_mode.as_deref() {
            Some("PAY_PER_REQUEST") => true,
            Some("PROVISIONED") => false,
            Some(other) => return Err(validation(format!("Unknown BillingMode: {other}"))),
            None => source.on_demand,
        };
        let throughput = o.throughput.or_else(|| {
            (!on_demand).then(|| m::ProvisionedThroughput {
                read_capacity_units: Some(source.rcu.max(1)),
                write_capacity_units: Some(source.wcu.max(1)),
            })
        });
        let gsis = o.gsis.or_else(|| {
            d.global_secondary_indexes.map(|l| {
                l.into_iter()
                    .map(|g| m::GlobalSecondaryIndex {
                        index_name: g.index_name,
                        key_schema: g.key_schema,
                        projection: g.projection,
                        provisioned_throughput: (!on_demand).then(|| {
                            let p = g.provisioned_throughput.unwrap_or_default();
                            m::ProvisionedThroughput {
                                read_capacity_units: Some(p.read_capacity_units.unwrap_or(1).max(1)),
                                write_capacity_units: Some(p.write_capacity_units.unwrap_or(1).max(1)),
                            }
                        }),
                        ..Default::default()
                    })
                    .collect()
            })
        });
        let lsis = o.lsis.or_else(|| {
            d.local_secondary_indexes.map(|l| {
                l.into_iter()
                    .map(|i| m::LocalSecondaryIndex {
                        index_name: i.index_name,
                        key_schema: i.key_schema,
                        projection: i.projection,
                    })
                    .collect()
            })
        });
        let input = m::CreateTableInput {
            attribute_definitions: d.attribute_definitions,
            table_name: Some(target.to_string()),
            key_schema: d.key_schema,
            local_secondary_indexes: lsis,
            global_secondary_indexes: gsis,
            billing_mode: Some(if on_demand { "PAY_PER_REQUEST" } else { "PROVISIONED" }.into()),
            provisioned_throughput: throughput,
            table_class: Some(source.table_class.clone()),
            ..Default::default()
        };
        if self.table(ctx, Some(target)).is_ok() {
            return Err(E::TableAlreadyExistsException.msg(format!("Table already exists: {target}")));
        }
        self.create_table(ctx, input).await?;
        let t = self.table(ctx, Some(target))?;
        let table = (*t).clone();
        self.store
            .write(move |w| {
                for item in items(w)? {
                    let key = table.key.key_of(&item).unwrap_or_default();
                    crate::items::write_item(w, &table, &key, false, Box::new(move |_| Ok(Some(item))))
                        .map_err(|r| r.error)?;
                }
                Ok(())
            })
            .await?;
        let mut desc = t.describe(&self.counts(&t)?, "ACTIVE");
        desc.restore_summary = Some(summary);
        Ok(desc)
    }

    pub async fn update_continuous_backups(
        &self,
        ctx: &RequestContext,
        i: m::UpdateContinuousBackupsInput,
    ) -> AwsResult<m::UpdateContinuousBackupsOutput> {
        let current = self.table(ctx, i.table_name.as_deref())?;
        let mut t = (*current).clone();
        let spec = i.point_in_time_recovery_specification.unwrap_or_default();
        let days = spec.recovery_period_in_days.unwrap_or(35);
        if !(1..=35).contains(&days) {
            return Err(validation("RecoveryPeriodInDays must be between 1 and 35"));
        }
        let enable = spec.point_in_time_recovery_enabled.unwrap_or(false);
        let fresh = enable && current.pitr.is_none();
        t.pitr =
            enable.then(|| Pitr { days, base_ms: current.pitr.as_ref().map(|p| p.base_ms).unwrap_or_else(now_ms) });
        let t2 = t.clone();
        self.store
            .write(move |w| {
                // Enabling takes the base copy; disabling drops the history; a new period
                // keeps both.
                if fresh || !enable {
                    delete_prefix(w, PITR_BASE, &t2.id)?;
                    delete_prefix(w, PITR_LOG, &t2.id)?;
                }
                if fresh {
                    copy_prefix(w, crate::ITEMS, &t2.id, PITR_BASE, &t2.id)?;
                }
                w.put(crate::TABLES, &t2.store_key(), &t2)
            })
            .await?;
        self.tables.forget();
        Ok(m::UpdateContinuousBackupsOutput { continuous_backups_description: Some(continuous(&t)) })
    }

    pub fn describe_continuous_backups(
        &self,
        ctx: &RequestContext,
        i: m::DescribeContinuousBackupsInput,
    ) -> AwsResult<m::DescribeContinuousBackupsOutput> {
        let t = self.table(ctx, i.table_name.as_deref())?;
        Ok(m::DescribeContinuousBackupsOutput { continuous_backups_description: Some(continuous(&t)) })
    }

    pub async fn restore_to_point_in_time(
        &self,
        ctx: &RequestContext,
        i: m::RestoreTableToPointInTimeInput,
    ) -> AwsResult<m::RestoreTableToPointInTimeOutput> {
        let source = self.table(ctx, i.source_table_arn.as_deref().or(i.source_table_name.as_deref()))?;
        let Some(p) = source.pitr.clone() else {
            return Err(E::PointInTimeRecoveryUnavailableException
                .msg(format!("Point in time recovery is not enabled for table '{}'", source.name)));
        };
        let now = now_ms();
        let earliest = p.base_ms.max(now - p.days as i64 * DAY_MS);
        let at = match (i.use_latest_restorable_time, i.restore_date_time) {
            (Some(true), Some(_)) => {
                return Err(validation("Only one of RestoreDateTime or UseLatestRestorableTime can be specified"))
            }
            (Some(true), None) => now,
            (_, Some(t)) => t.0,
            (_, None) => return Err(validation("Either RestoreDateTime or UseLatestRestorableTime must be specified")),
        };
        if at < earliest || at > now {
            return Err(E::InvalidRestoreTimeException
                .msg(format!("Restore time is not within the restorable range; earliest: {earliest}, latest: {now}")));
        }
        let overrides = Overrides::new(
            i.billing_mode_override,
            i.provisioned_throughput_override,
            i.global_secondary_index_override,
            i.local_secondary_index_override,
        );
        let target = i.target_table_name.unwrap_or_default();
        let summary = m::RestoreSummary {
            source_backup_arn: None,
            source_table_arn: Some(source.arn.clone()),
            restore_date_time: Some(Timestamp::from_millis(at)),
            restore_in_progress: Some(false),
        };
        let id = source.id;
        let desc = self
            .restore(ctx, &source, &target, overrides, summary, move |w| {
                Ok(items_at(w, &id, at)?.into_values().collect())
            })
            .await?;
        Ok(m::RestoreTableToPointInTimeOutput { table_description: Some(desc) })
    }

    /// Folds recovery-log entries older than each table's recovery period into its base.
    pub async fn roll_recovery_forward(&self, tables: &[Table]) -> AwsResult<()> {
        for t in tables {
            let Some(p) = &t.pitr else { continue };
            let horizon = now_ms() - p.days as i64 * DAY_MS;
            let id = t.id;
            let (table_key, days) = (t.store_key(), p.days);
            self.store
                .write(move |w| {
                    let mut moved = false;
                    for k in w.keys_with_prefix(PITR_LOG, &id)? {
                        let at = u64::from_be_bytes(k[16..24].try_into().unwrap_or_default()) as i64;
                        if at >= horizon {
                            break;
                        }
                        if let Some(v) = w.get_bytes(PITR_LOG, &k)? {
                            let c: Change = serde_json::from_slice(&v).map_err(AwsError::internal)?;
                            let mut bk = id.to_vec();
                            bk.extend_from_slice(&c.key);
                            match c.item {
                                Some(item) => {
                                    w.put_bytes(PITR_BASE, &bk, serde_json::to_vec(&item).map_err(AwsError::internal)?)
                                }
                                None => w.delete_bytes(PITR_BASE, &bk),
                            }
                        }
                        w.delete_bytes(PITR_LOG, &k);
                        moved = true;
                    }
                    if moved {
                        if let Some(mut t) = w.get::<Table>(crate::TABLES, &table_key)? {
                            t.pitr = Some(Pitr { days, base_ms: horizon });
                            w.put(crate::TABLES, &table_key, &t)?;
                        }
                    }
                    Ok(())
                })
                .await?;
        }
        self.tables.forget();
        Ok(())
    }
}

/// The items of a table with recovery enabled as they were at `at`: the base, then every
/// logged change up to that time.
pub fn items_at(w: &WriteCtx, id: &[u8; 16], at: i64) -> AwsResult<std::collections::BTreeMap<Vec<u8>, Item>> {
    let mut items = std::collections::BTreeMap::new();
    for k in w.keys_with_prefix(PITR_BASE, id)? {
        if let Some(v) = w.get_bytes(PITR_BASE, &k)? {
            items.insert(k[16..].to_vec(), crate::items::decode(&v)?);
        }
    }
    for k in w.keys_with_prefix(PITR_LOG, id)? {
        let when = u64::from_be_bytes(k[16..24].try_into().unwrap_or_default()) as i64;
        if when > at {
            break;
        }
        let Some(v) = w.get_bytes(PITR_LOG, &k)? else { continue };
        let c: Change = serde_json::from_slice(&v).map_err(AwsError::internal)?;
        match c.item {
            Some(item) => items.insert(c.key, item),
            None => items.remove(&c.key),
        };
    }
    Ok(items)
}

fn continuous(t: &Table) -> m::ContinuousBackupsDescription {
    let now = now_ms();
    m::ContinuousBackupsDescription {
        continuous_backups_status: Some("ENABLED".into()),
        point_in_time_recovery_description: Some(match &t.pitr {
            Some(p) => m::PointInTimeRecoveryDescription {
                point_in_time_recovery_status: Some("ENABLED".into()),
                recovery_period_in_days: Some(p.days),
                earliest_restorable_date_time: Some(Timestamp::from_millis(
                    p.base_ms.max(now - p.days as i64 * DAY_MS),
                )),
                latest_restorable_date_time: Some(Timestamp::from_millis(now)),
            },
            None => m::PointInTimeRecoveryDescription {
                point_in_time_recovery_status: Some("DISABLED".into()),
                ..Default::default()
            },
        }),
    }
}
