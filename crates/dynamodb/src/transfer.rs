//! The table's data-work route: ExportTableToPointInTime writes the table as it was at a
//! moment into S3, in DynamoDB's export layout (gzipped DynamoDB JSON data files, the
//! manifests with their MD5s); ImportTable creates a table from S3 files (DynamoDB JSON or
//! CSV, plain, gzip or zstd). Both run in the background, reaching S3 through the front door
//! with the caller's identity, as a forward access session of dynamodb.amazonaws.com.
use crate::table::Table;
use crate::value::{item_size, validation, Av, Item};
use crate::{now_ms, DynamoDb};
use bytes::Bytes;
use md5::Digest;
use nuage_core::{AwsError, AwsResult, Principal, RequestContext};
use nuage_protocol::dynamodb as m;
use nuage_protocol::dynamodb::errors::Error as E;
use nuage_protocol::s3;
use nuage_protocol::Timestamp;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use std::io::{Read, Write};
use std::sync::Arc;

/// Exports and imports, by ARN.
const EXPORTS: JsonTable = TableDefinition::new("dynamodb_exports");
const IMPORTS: JsonTable = TableDefinition::new("dynamodb_imports");
const VIA: &str = "dynamodb.amazonaws.com";
/// Items per data file.
const FILE_ITEMS: usize = 10_000;

fn job_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{:014}-{}", now_ms(), &id[..8])
}

fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

impl DynamoDb {
    fn principal(ctx: &RequestContext) -> AwsResult<Principal> {
        ctx.principal.clone().ok_or_else(|| validation("This operation needs a signed request"))
    }

    async fn put_object(
        &self,
        who: &Principal,
        region: &str,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        sse: Option<&str>,
    ) -> AwsResult<String> {
        let f = self.internal.frontend()?;
        let input = s3::PutObjectRequest {
            bucket: Some(bucket.to_string()),
            key: Some(key.to_string()),
            body: Some(Bytes::from(body)),
            server_side_encryption: sse.map(|s| s.to_string()),
            ..Default::default()
        };
        let out = f.call_via(who.clone(), region, Some(VIA), input).await?;
        Ok(out.e_tag.unwrap_or_default())
    }

    pub async fn export_table(
        self: &Arc<Self>,
        ctx: &RequestContext,
        i: m::ExportTableToPointInTimeInput,
    ) -> AwsResult<m::ExportTableToPointInTimeOutput> {
        let t = self.table(ctx, i.table_arn.as_deref())?;
        if i.table_arn.as_deref() != Some(t.arn.as_str()) {
            return Err(crate::table::not_found());
        }
        let Some(pitr) = t.pitr.clone() else {
            return Err(E::PointInTimeRecoveryUnavailableException
                .msg(format!("Point in time recovery is not enabled for table '{}'", t.name)));
        };
        let format = i.export_format.clone().unwrap_or_else(|| "DYNAMODB_JSON".into());
        if format != "DYNAMODB_JSON" {
            return Err(validation(format!(
                "nuage writes DYNAMODB_JSON exports; ExportFormat {format} is not served yet"
            )));
        }
        if i.export_type.as_deref().is_some_and(|t| t != "FULL_EXPORT") || i.incremental_export_specification.is_some()
        {
            return Err(validation("nuage serves FULL_EXPORT exports; incremental exports are not served yet"));
        }
        if i.filter_specification.is_some() {
            return Err(validation("nuage does not serve export filters yet"));
        }
        let bucket = i.s3_bucket.clone().ok_or_else(|| validation("S3Bucket is required"))?;
        let now = now_ms();
        let at = i.export_time.map(|t| t.0).unwrap_or(now);
        if at > now || at < pitr.base_ms.max(now - pitr.days as i64 * 86_400_000) {
            return Err(E::InvalidExportTimeException
                .msg("The specified ExportTime is outside of the point in time recovery window."));
        }
        let id = job_id();
        let arn = format!("{}/export/{id}", t.arn);
        let prefix = i.s3_prefix.clone().map(|p| format!("{}/", p.trim_end_matches('/'))).unwrap_or_default();
        let mut desc = m::ExportDescription {
            export_arn: Some(arn.clone()),
            export_status: Some("IN_PROGRESS".into()),
            start_time: Some(Timestamp::from_millis(now)),
            table_arn: Some(t.arn.clone()),
            table_id: Some(t.table_id.clone()),
            export_time: Some(Timestamp::from_millis(at)),
            client_token: i.client_token.clone(),
            s3_bucket: Some(bucket.clone()),
            s3_bucket_owner: i.s3_bucket_owner.clone(),
            s3_prefix: i.s3_prefix.clone(),
            s3_sse_algorithm: Some(i.s3_sse_algorithm.clone().unwrap_or_else(|| "AES256".into())),
            s3_sse_kms_key_id: i.s3_sse_kms_key_id.clone(),
            export_format: Some(format),
            export_type: Some("FULL_EXPORT".into()),
            ..Default::default()
        };
        let d = desc.clone();
        let key = arn.clone();
        self.store.write(move |w| w.put(EXPORTS, &key, &d)).await?;
        let (me, who, region, table) = (self.clone(), Self::principal(ctx)?, ctx.region.clone(), (*t).clone());
        let sse = i.s3_sse_algorithm.clone();
        let out = desc.clone();
        tokio::spawn(async move {
            let result = me.run_export(&who, &region, &table, at, &bucket, &prefix, &id, &arn, sse.as_deref()).await;
            let end = now_ms();
            desc.end_time = Some(Timestamp::from_millis(end));
            match result {
                Ok((manifest, items, bytes)) => {
                    desc.export_status = Some("COMPLETED".into());
                    desc.export_manifest = Some(manifest);
                    desc.item_count = Some(items);
                    desc.billed_size_bytes = Some(bytes);
                }
                Err(e) => {
                    desc.export_status = Some("FAILED".into());
                    desc.failure_code = Some(e.code.to_string());
                    desc.failure_message = Some(e.message);
                }
            }
            let d = desc.clone();
            if let Err(e) = me.store.write(move |w| w.put(EXPORTS, &arn, &d)).await {
                tracing::error!(error = %e.message, "recording an export's end failed");
            }
        });
        Ok(m::ExportTableToPointInTimeOutput { export_description: Some(out) })
    }

    /// Writes the data files and manifests; answers the manifest key, items and bytes.
    #[allow(clippy::too_many_arguments)]
    async fn run_export(
        &self,
        who: &Principal,
        region: &str,
        table: &Table,
        at: i64,
        bucket: &str,
        prefix: &str,
        id: &str,
        arn: &str,
        sse: Option<&str>,
    ) -> AwsResult<(String, i64, i64)> {
        let tid = table.id;
        let items: Vec<Item> =
            self.store.write(move |w| Ok(crate::backup::items_at(w, &tid, at)?.into_values().collect())).await?;
        let base = format!("{prefix}AWSDynamoDB/{id}");
        let mut manifest_files = String::new();
        let (mut total, mut bytes) = (0i64, 0i64);
        for chunk in items.chunks(FILE_ITEMS).chain(items.is_empty().then_some(&[][..])) {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            for item in chunk {
                let line = serde_json::json!({ "Item": item });
                writeln!(gz, "{line}").map_err(AwsError::internal)?;
                bytes += item_size(item) as i64;
            }
            let body = gz.finish().map_err(AwsError::internal)?;
            let key = format!("{base}/data/{}.json.gz", uuid::Uuid::new_v4().simple());
            let md5 = base64_md5(&body);
            let etag = self.put_object(who, region, bucket, &key, body, sse).await?;
            total += chunk.len() as i64;
            manifest_files.push_str(
                &serde_json::json!({"itemCount": chunk.len(), "md5Checksum": md5, "etag": etag.trim_matches('"'), "dataFileS3Key": key})
                    .to_string(),
            );
            manifest_files.push('\n');
        }
        let files_key = format!("{base}/manifest-files.json");
        let files_md5 = hex_md5(manifest_files.as_bytes());
        self.put_object(who, region, bucket, &files_key, manifest_files.into_bytes(), sse).await?;
        self.put_object(who, region, bucket, &format!("{base}/manifest-files.md5"), files_md5.into_bytes(), sse)
            .await?;
        let summary = serde_json::json!({
            "version": "2020-06-30",
            "exportArn": arn,
            "startTime": iso(now_ms()),
            "endTime": iso(now_ms()),
            "tableArn": table.arn,
            "tableId": table.table_id,
            "exportTime": iso(at),
            "s3Bucket": bucket,
            "s3Prefix": if prefix.is_empty() { serde_json::Value::Null } else { prefix.trim_end_matches('/').into() },
            "s3SseAlgorithm": sse.unwrap_or("AES256"),
            "s3SseKmsKeyId": serde_json::Value::Null,
            "manifestFilesS3Key": files_key,
            "billedSizeBytes": bytes,
            "itemCount": total,
            "outputFormat": "DYNAMODB_JSON",
            "exportType": "FULL_EXPORT",
        })
        .to_string();
        let summary_key = format!("{base}/manifest-summary.json");
        let summary_md5 = hex_md5(summary.as_bytes());
        self.put_object(who, region, bucket, &summary_key, summary.into_bytes(), sse).await?;
        self.put_object(who, region, bucket, &format!("{base}/manifest-summary.md5"), summary_md5.into_bytes(), sse)
            .await?;
        Ok((summary_key, total, bytes))
    }

    pub fn describe_export(&self, i: m::DescribeExportInput) -> AwsResult<m::DescribeExportOutput> {
        let arn = i.export_arn.unwrap_or_default();
        let d: Option<m::ExportDescription> = self.store.read()?.get(EXPORTS, &arn)?;
        let d = d.ok_or_else(|| E::ExportNotFoundException.msg(format!("Export not found: {arn}")))?;
        Ok(m::DescribeExportOutput { export_description: Some(d) })
    }

    pub fn list_exports(&self, ctx: &RequestContext, i: m::ListExportsInput) -> AwsResult<m::ListExportsOutput> {
        let prefix = format!("arn:aws:dynamodb:{}:{}:table/", ctx.region, ctx.account_id().unwrap_or_default());
        let all: Vec<(String, m::ExportDescription)> = self.store.read()?.scan(EXPORTS, &prefix)?;
        let mut list: Vec<m::ExportSummary> = all
            .into_iter()
            .filter(|(_, d)| i.table_arn.is_none() || d.table_arn == i.table_arn)
            .filter(|(k, _)| i.next_token.as_ref().is_none_or(|t| k > t))
            .map(|(_, d)| m::ExportSummary {
                export_arn: d.export_arn,
                export_status: d.export_status,
                export_type: d.export_type,
            })
            .collect();
        let max = i.max_results.unwrap_or(25).clamp(1, 25) as usize;
        let more = list.len() > max;
        list.truncate(max);
        Ok(m::ListExportsOutput {
            next_token: if more { list.last().and_then(|e| e.export_arn.clone()) } else { None },
            export_summaries: Some(list),
        })
    }

    pub async fn import_table(
        self: &Arc<Self>,
        ctx: &RequestContext,
        i: m::ImportTableInput,
    ) -> AwsResult<m::ImportTableOutput> {
        let source = i.s3_bucket_source.clone().ok_or_else(|| validation("S3BucketSource is required"))?;
        let format = i.input_format.clone().unwrap_or_default();
        if !["DYNAMODB_JSON", "CSV"].contains(&format.as_str()) {
            return Err(validation(format!(
                "nuage imports DYNAMODB_JSON and CSV; InputFormat {format} is not served yet"
            )));
        }
        let compression = i.input_compression_type.clone().unwrap_or_else(|| "NONE".into());
        if !["NONE", "GZIP", "ZSTD"].contains(&compression.as_str()) {
            return Err(validation(format!("Unknown InputCompressionType: {compression}")));
        }
        let params =
            i.table_creation_parameters.clone().ok_or_else(|| validation("TableCreationParameters is required"))?;
        let create = m::CreateTableInput {
            attribute_definitions: params.attribute_definitions.clone(),
            table_name: params.table_name.clone(),
            key_schema: params.key_schema.clone(),
            global_secondary_indexes: params.global_secondary_indexes.clone(),
            billing_mode: params.billing_mode.clone(),
            provisioned_throughput: params.provisioned_throughput.clone(),
            on_demand_throughput: params.on_demand_throughput.clone(),
            ..Default::default()
        };
        self.create_table(ctx, create).await?;
        let t = self.table(ctx, params.table_name.as_deref())?;
        let arn = format!("{}/import/{}", t.arn, job_id());
        let mut desc = m::ImportTableDescription {
            import_arn: Some(arn.clone()),
            import_status: Some("IN_PROGRESS".into()),
            table_arn: Some(t.arn.clone()),
            table_id: Some(t.table_id.clone()),
            client_token: i.client_token.clone(),
            s3_bucket_source: Some(source.clone()),
            error_count: Some(0),
            input_format: Some(format.clone()),
            input_format_options: i.input_format_options.clone(),
            input_compression_type: Some(compression.clone()),
            table_creation_parameters: Some(params),
            start_time: Some(Timestamp::from_millis(now_ms())),
            ..Default::default()
        };
        let (d, key) = (desc.clone(), arn.clone());
        self.store.write(move |w| w.put(IMPORTS, &key, &d)).await?;
        let (me, who, region, table) = (self.clone(), Self::principal(ctx)?, ctx.region.clone(), (*t).clone());
        let csv = i.input_format_options.and_then(|o| o.csv);
        let out = desc.clone();
        tokio::spawn(async move {
            let result = me.run_import(&who, &region, &table, &source, &format, &compression, csv).await;
            desc.end_time = Some(Timestamp::from_millis(now_ms()));
            match result {
                Ok(stats) => {
                    desc.import_status = Some("COMPLETED".into());
                    desc.processed_item_count = Some(stats.processed);
                    desc.imported_item_count = Some(stats.imported);
                    desc.processed_size_bytes = Some(stats.bytes);
                    desc.error_count = Some(stats.errors);
                }
                Err(e) => {
                    desc.import_status = Some("FAILED".into());
                    desc.failure_code = Some(e.code.to_string());
                    desc.failure_message = Some(e.message);
                }
            }
            let d = desc.clone();
            if let Err(e) = me.store.write(move |w| w.put(IMPORTS, &arn, &d)).await {
                tracing::error!(error = %e.message, "recording an import's end failed");
            }
        });
        Ok(m::ImportTableOutput { import_table_description: Some(out) })
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_import(
        &self,
        who: &Principal,
        region: &str,
        table: &Table,
        source: &m::S3BucketSource,
        format: &str,
        compression: &str,
        csv: Option<m::CsvOptions>,
    ) -> AwsResult<ImportStats> {
        let f = self.internal.frontend()?;
        let bucket = source.s3_bucket.clone().unwrap_or_default();
        let prefix = source.s3_key_prefix.clone().unwrap_or_default();
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let input = s3::ListObjectsV2Request {
                bucket: Some(bucket.clone()),
                prefix: Some(prefix.clone()),
                continuation_token: token.clone(),
                ..Default::default()
            };
            let page = f.call_via(who.clone(), region, Some(VIA), input).await?;
            keys.extend(
                page.contents.unwrap_or_default().into_iter().filter_map(|o| o.key).filter(|k| !k.ends_with('/')),
            );
            token = page.next_continuation_token;
            if token.is_none() {
                break;
            }
        }
        let mut stats = ImportStats::default();
        for key in keys {
            let input =
                s3::GetObjectRequest { bucket: Some(bucket.clone()), key: Some(key.clone()), ..Default::default() };
            let out = f.call_via(who.clone(), region, Some(VIA), input).await?;
            let raw = out.body.map(|b| b.to_vec()).unwrap_or_default();
            stats.bytes += raw.len() as i64;
            let text = decompress(&raw, compression)?;
            let items = match format {
                "CSV" => csv_items(&text, table, csv.as_ref(), &mut stats)?,
                _ => json_items(&text, &mut stats),
            };
            let mut valid = Vec::new();
            for item in items {
                stats.processed += 1;
                if table.check_item(&item).is_ok() {
                    valid.push(item);
                } else {
                    stats.errors += 1;
                }
            }
            stats.imported += valid.len() as i64;
            let t = table.clone();
            self.store
                .write(move |w| {
                    for item in valid {
                        let k = t.key.key_of(&item).unwrap_or_default();
                        crate::items::write_item(w, &t, &k, false, Box::new(move |_| Ok(Some(item))))
                            .map_err(|r| r.error)?;
                    }
                    Ok(())
                })
                .await?;
        }
        Ok(stats)
    }

    pub fn describe_import(&self, i: m::DescribeImportInput) -> AwsResult<m::DescribeImportOutput> {
        let arn = i.import_arn.unwrap_or_default();
        let d: Option<m::ImportTableDescription> = self.store.read()?.get(IMPORTS, &arn)?;
        let d = d.ok_or_else(|| E::ImportNotFoundException.msg(format!("Import not found: {arn}")))?;
        Ok(m::DescribeImportOutput { import_table_description: Some(d) })
    }

    pub fn list_imports(&self, ctx: &RequestContext, i: m::ListImportsInput) -> AwsResult<m::ListImportsOutput> {
        let prefix = format!("arn:aws:dynamodb:{}:{}:table/", ctx.region, ctx.account_id().unwrap_or_default());
        let all: Vec<(String, m::ImportTableDescription)> = self.store.read()?.scan(IMPORTS, &prefix)?;
        let mut list: Vec<m::ImportSummary> = all
            .into_iter()
            .filter(|(_, d)| i.table_arn.is_none() || d.table_arn == i.table_arn)
            .filter(|(k, _)| i.next_token.as_ref().is_none_or(|t| k > t))
            .map(|(_, d)| m::ImportSummary {
                import_arn: d.import_arn,
                import_status: d.import_status,
                table_arn: d.table_arn,
                s3_bucket_source: d.s3_bucket_source,
                cloud_watch_log_group_arn: None,
                input_format: d.input_format,
                start_time: d.start_time,
                end_time: d.end_time,
            })
            .collect();
        let max = i.page_size.unwrap_or(25).clamp(1, 25) as usize;
        let more = list.len() > max;
        list.truncate(max);
        Ok(m::ListImportsOutput {
            next_token: if more { list.last().and_then(|e| e.import_arn.clone()) } else { None },
            import_summary_list: Some(list),
        })
    }
}

#[derive(Default)]
struct ImportStats {
    processed: i64,
    imported: i64,
    errors: i64,
    bytes: i64,
}

fn base64_md5(body: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

fn hex_md5(body: &[u8]) -> String {
    md5::Md5::digest(body).iter().map(|b| format!("{b:02x}")).collect()
}

fn decompress(raw: &[u8], compression: &str) -> AwsResult<String> {
    let bad = |e: std::io::Error| validation(format!("The object could not be decompressed as {compression}: {e}"));
    let bytes = match compression {
        "GZIP" => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(raw).read_to_end(&mut out).map_err(bad)?;
            out
        }
        "ZSTD" => zstd::decode_all(raw).map_err(bad)?,
        _ => raw.to_vec(),
    };
    String::from_utf8(bytes).map_err(|_| validation("The object is not UTF-8 text"))
}

/// DynamoDB JSON lines: `{"Item": {...}}` each; a line that does not parse is an error.
fn json_items(text: &str, stats: &mut ImportStats) -> Vec<Item> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        #[derive(serde::Deserialize)]
        struct Line {
            #[serde(rename = "Item")]
            item: std::collections::BTreeMap<String, nuage_protocol::dynamodb::AttributeValue>,
        }
        match serde_json::from_str::<Line>(line)
            .map_err(|_| ())
            .and_then(|l| crate::value::item_from_wire(l.item).map_err(|_| ()))
        {
            Ok(item) => out.push(item),
            Err(()) => {
                stats.processed += 1;
                stats.errors += 1;
            }
        }
    }
    out
}

/// CSV rows: the header (first line, or HeaderList) names the attributes; key attributes take
/// their defined types, every other value is a string, as AWS imports CSV.
fn csv_items(
    text: &str,
    table: &Table,
    options: Option<&m::CsvOptions>,
    stats: &mut ImportStats,
) -> AwsResult<Vec<Item>> {
    let delimiter = options.and_then(|o| o.delimiter.as_deref()).unwrap_or(",");
    let delimiter = *delimiter.as_bytes().first().ok_or_else(|| validation("Delimiter must be one character"))?;
    let header_list = options.and_then(|o| o.header_list.clone());
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(header_list.is_none())
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match header_list {
        Some(h) => h,
        None => reader
            .headers()
            .map_err(|e| validation(format!("CSV header: {e}")))?
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let kinds: std::collections::BTreeMap<&str, &str> =
        table.attributes.iter().map(|a| (a.name.as_str(), a.kind.as_str())).collect();
    let mut out = Vec::new();
    for row in reader.records() {
        let Ok(row) = row else {
            stats.processed += 1;
            stats.errors += 1;
            continue;
        };
        let mut item = Item::new();
        for (name, value) in header.iter().zip(row.iter()) {
            if value.is_empty() {
                continue;
            }
            let v = match kinds.get(name.as_str()) {
                Some(&"N") => match crate::number::Number::parse(value) {
                    Ok(n) => Av::N(n.canonical()),
                    Err(_) => Av::S(value.to_string()),
                },
                _ => Av::S(value.to_string()),
            };
            item.insert(name.clone(), v);
        }
        out.push(item);
    }
    Ok(out)
}
