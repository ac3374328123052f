//! A table as DataFusion sees it: its committed Parquet segments, read lazily through
//! DataFusion's Parquet scan (projection, row-group and page pruning on min/max statistics,
//! file statistics for join planning), plus the rows not yet committed, still in memory.
use crate::engine::partitioned;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{MemTable, Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use datafusion::parquet::file::statistics::Statistics as ParquetStatistics;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct StoredTable {
    pub schema: SchemaRef,
    /// Committed segments, as absolute paths of their Parquet files.
    pub files: Vec<PathBuf>,
    /// Rows held in memory: not yet committed, or of a temporary table.
    pub memory: Vec<RecordBatch>,
    /// The VARCHAR columns given a value that ends in a blank (see `trailing_blanks`).
    pub trailing_blanks: Vec<String>,
    /// How many rows it holds, in its files and in memory.
    pub rows: usize,
}

impl StoredTable {
    /// The smallest and largest value of each integer-valued column (integers, dates,
    /// decimals as their unscaled integers) over the committed segments, from their Parquet
    /// statistics: what the join-order rule estimates distinct values and ranges with. A
    /// column some segment has no statistics for, or that has rows only in memory, is absent.
    pub fn ranges(&self) -> Ranges {
        let mut out = Ranges::new();
        if !self.memory.is_empty() {
            return out;
        }
        let mut first = true;
        for file in &self.files {
            let Some(ranges) = file_ranges(file) else { return HashMap::new() };
            if first {
                out = ranges.as_ref().clone();
                first = false;
            } else {
                out.retain(|c, r| match ranges.get(c) {
                    Some((lo, hi)) => {
                        *r = (r.0.min(*lo), r.1.max(*hi));
                        true
                    }
                    None => false,
                });
            }
        }
        out
    }

    /// Whether no value of the column ends in a blank, so that comparisons need not trim it.
    pub fn blank_free(&self, column: &str) -> bool {
        !self.trailing_blanks.iter().any(|c| c == column)
    }

    fn listing(&self, state: &dyn Session) -> Result<ListingTable> {
        let urls =
            self.files.iter().map(|p| ListingTableUrl::parse(p.to_string_lossy())).collect::<Result<Vec<_>>>()?;
        // DataFusion's defaults: evaluating filters while decoding (pushdown_filters) and
        // reading strings as the table's Utf8 were measured on TPC-H SF1 and lost 3% overall
        // (Q8 and Q9 twice as slow, Q18 faster): bench/tpch/last-run-sf1.txt.
        let format = ParquetFormat::default().with_options(state.default_table_options().parquet);
        let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(self.schema.clone());
        // Segment files never change once written (a rewrite is a new file), so their
        // statistics are cached for the life of the runtime.
        Ok(ListingTable::try_new(config)?.with_cache(state.runtime_env().cache_manager.get_file_statistic_cache()))
    }
}

#[async_trait::async_trait]
impl TableProvider for StoredTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters reach the Parquet scan, which prunes row groups and pages with them; they are
    /// applied again above it, since pruning is by ranges, not rows.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut plans = Vec::with_capacity(2);
        if !self.files.is_empty() {
            plans.push(self.listing(state)?.scan(state, projection, filters, limit).await?);
        }
        if !self.memory.is_empty() || plans.is_empty() {
            let mem = MemTable::try_new(self.schema.clone(), partitioned(self.memory.clone(), 4))?;
            plans.push(mem.scan(state, projection, filters, limit).await?);
        }
        UnionExec::try_new(plans)
    }
}

/// Column name → (min, max) of its integer values.
type Ranges = HashMap<String, (i64, i64)>;

/// The integer ranges of one segment file, read once from its footer: segment files never
/// change, so they are kept for the life of the process (a bounded cache).
fn file_ranges(path: &Path) -> Option<Arc<Ranges>> {
    static CACHE: std::sync::LazyLock<Mutex<HashMap<PathBuf, Arc<Ranges>>>> =
        std::sync::LazyLock::new(Default::default);
    if let Some(hit) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
        return Some(hit.clone());
    }
    let file = std::fs::File::open(path).ok()?;
    let meta = ParquetMetaDataReader::new().parse_and_finish(&file).ok()?;
    let schema = meta.file_metadata().schema_descr();
    let mut ranges = Ranges::new();
    let mut missing = vec![false; schema.num_columns()];
    for rg in meta.row_groups() {
        for (i, col) in rg.columns().iter().enumerate() {
            let range = match col.statistics() {
                Some(ParquetStatistics::Int32(v)) => v.min_opt().zip(v.max_opt()).map(|(a, b)| (*a as i64, *b as i64)),
                Some(ParquetStatistics::Int64(v)) => v.min_opt().zip(v.max_opt()).map(|(a, b)| (*a, *b)),
                _ => None,
            };
            let name = schema.column(i).name().to_string();
            match range {
                Some((lo, hi)) => {
                    let r = ranges.entry(name).or_insert((lo, hi));
                    *r = (r.0.min(lo), r.1.max(hi));
                }
                None => missing[i] = true,
            }
        }
    }
    for (i, m) in missing.iter().enumerate() {
        if *m {
            ranges.remove(schema.column(i).name());
        }
    }
    let ranges = Arc::new(ranges);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() > 100_000 {
        cache.clear();
    }
    cache.insert(path.to_path_buf(), ranges.clone());
    Some(ranges)
}
