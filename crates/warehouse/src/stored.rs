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
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug)]
pub struct StoredTable {
    pub schema: SchemaRef,
    /// Committed segments, as absolute paths of their Parquet files.
    pub files: Vec<PathBuf>,
    /// Rows held in memory: not yet committed, or of a temporary table.
    pub memory: Vec<RecordBatch>,
    /// The VARCHAR columns given a value that ends in a blank (see `trailing_blanks`).
    pub trailing_blanks: Vec<String>,
}

impl StoredTable {
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
